import type { AuditOutcome, OrderCommandName, OrderCommandRecord } from './audit-records.js';
import { listed } from './audit-trail.js';

/** Client text kept in a record: a field longer than this is cut (an id or a decimal never is). */
const MAX_TEXT = 128;
/** Accounts listed in one subscription record. */
const MAX_ACCOUNTS = 100;

/** The order command of each audited client event. */
export const ORDER_COMMAND_EVENTS: Readonly<Record<string, OrderCommandName>> = {
  'order:submit': 'submit',
  'order:cancel': 'cancel',
  'order:cancel-all': 'cancel-all',
  'order:amend': 'amend',
  'order:deadman': 'deadman',
};

/** The fields of an order command a record keeps, each only when the client sent it as a string. */
const ORDER_TEXT_FIELDS = ['account', 'clientOrderId', 'origClientOrderId', 'orderId', 'requestId', 'instrument', 'side', 'type', 'quantity', 'price', 'timeInForce'] as const;

type OrderCommandFields = Pick<OrderCommandRecord, (typeof ORDER_TEXT_FIELDS)[number] | 'timeoutMs'>;

/**
 * What an order command asked for, read from the payload as the client sent it: the request may be refused for being
 * malformed, so nothing about its shape is assumed, and only named string fields (and a deadman's `timeoutMs`) are kept.
 */
export function orderCommandFields(payload: unknown): OrderCommandFields {
  if (!isRecord(payload)) return {};
  const fields: OrderCommandFields = {};
  for (const name of ORDER_TEXT_FIELDS) {
    const value = text(payload[name]);
    if (value !== undefined) fields[name] = value;
  }
  if (typeof payload.timeoutMs === 'number' && Number.isFinite(payload.timeoutMs)) fields.timeoutMs = payload.timeoutMs;
  return fields;
}

/** The accounts a subscription request names; undefined when it names none (every account the token sees). */
export function requestedAccounts(payload: unknown): string[] | undefined {
  if (!isRecord(payload) || !Array.isArray(payload.accounts)) return undefined;
  return payload.accounts
    .slice(0, MAX_ACCOUNTS)
    .map((account) => text(account))
    .filter((account) => account !== undefined);
}

export interface AnswerSummary {
  outcome: AuditOutcome;
  code?: string;
  data?: Record<string, unknown>;
}

/** A contract answer `{ ok: true, data }` or `{ ok: false, error: { code } }`; anything else is read as a rejection. */
export function answerSummary(answer: unknown): AnswerSummary {
  if (!isRecord(answer)) return { outcome: 'rejected', code: 'UNKNOWN' };
  if (answer.ok === true) return { outcome: 'accepted', ...(isRecord(answer.data) ? { data: answer.data } : {}) };
  const error = answer.error;
  return { outcome: 'rejected', code: (isRecord(error) ? text(error.code) : undefined) ?? 'UNKNOWN' };
}

/** What an accepted order command's answer adds to its record: the order's status, or the orders a cancel-all cancelled. */
export function orderAnswerFields(data: Record<string, unknown> | undefined): Pick<OrderCommandRecord, 'orderId' | 'status' | 'orderIds' | 'canceled'> {
  if (!data) return {};
  const fields: Pick<OrderCommandRecord, 'orderId' | 'status' | 'orderIds' | 'canceled'> = {};
  const orderId = text(data.orderId);
  if (orderId !== undefined) fields.orderId = orderId;
  const status = text(data.status);
  if (status !== undefined) fields.status = status;
  if (Array.isArray(data.orderIds)) Object.assign(fields, listed(data.orderIds.map((id) => text(id)).filter((id) => id !== undefined)));
  return fields;
}

/** The accounts an accepted subscription answer names (`subscribe`: `{ account }` entries; `unsubscribe`: strings). */
export function answeredAccounts(data: Record<string, unknown> | undefined): string[] | undefined {
  if (!data || !Array.isArray(data.accounts)) return undefined;
  return data.accounts
    .slice(0, MAX_ACCOUNTS)
    .map((entry) => (isRecord(entry) ? text(entry.account) : text(entry)))
    .filter((account) => account !== undefined);
}

function text(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  return value.length > MAX_TEXT ? `${value.slice(0, MAX_TEXT)}…` : value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Parameter names never recorded, whatever endpoint sends them: credentials of any spelling. */
const CREDENTIAL_NAME = /token|secret|password|passwd|authori[sz]ation|api[-_]?key|credential|cookie|session/i;
/** Parameters kept per admin request. */
const MAX_PARAMS = 20;

/**
 * The parameters of an admin request (its query, then the top level of a JSON body) a record keeps: scalars only,
 * text cut at 128 characters, and never a parameter whose name looks like a credential.
 */
export function adminParams(...sources: unknown[]): Record<string, string | number | boolean> | undefined {
  const params: Record<string, string | number | boolean> = {};
  let count = 0;
  for (const source of sources) {
    if (!isRecord(source)) continue;
    for (const [name, value] of Object.entries(source)) {
      if (count >= MAX_PARAMS) break;
      if (CREDENTIAL_NAME.test(name) || name.length > 64 || name in params) continue;
      const kept = typeof value === 'number' || typeof value === 'boolean' ? value : text(value);
      if (kept === undefined) continue;
      params[name] = kept;
      count += 1;
    }
  }
  return count > 0 ? params : undefined;
}
