import { isPlausibleEngineTime, type EngineComplianceScreenChange } from './engine-subjects.js';
import { parseLicence } from './licence-parser.js';
import type { Licence } from './licence.js';
import { INSTRUMENT_PATTERN } from './wire.js';

/**
 * The validators of the engine's control events, `licence.changed` and `compliance.screen`: the gateway applies what
 * they accept, and the publisher library (`@tradewire/publisher`) runs the same ones before it sends.
 */

export type LicenceScopeKind = 'user' | 'tenant';

/** Whose licence changed: one user, or every user of a tenant. */
export interface LicenceScope {
  kind: LicenceScopeKind;
  id: string;
}

export interface LicenceChangeCommand {
  scope: LicenceScope;
  /** The new licence, 'revoked', or null: the override is cleared and the registry or token applies again. */
  licence: Licence | 'revoked' | null;
  ts: number;
}

/** Validates a `licence.changed` engine event (EngineLicenceChanged) into what the resolver applies. */
export function validateLicenceChanged(payload: unknown): { ok: true; value: LicenceChangeCommand } | { ok: false; reason: string } {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return { ok: false, reason: 'not an object' };
  const event = payload as Record<string, unknown>;
  if (!isPlausibleEngineTime(event.ts)) return { ok: false, reason: 'ts is not plausible epoch milliseconds' };
  const userId = event.userId;
  const tenant = event.tenant;
  const validId = (value: unknown) => typeof value === 'string' && value.length > 0 && value.length <= 256;
  if ((userId === undefined) === (tenant === undefined)) return { ok: false, reason: 'exactly one of userId and tenant is required' };
  if (userId !== undefined && !validId(userId)) return { ok: false, reason: 'userId is not a string' };
  if (tenant !== undefined && !validId(tenant)) return { ok: false, reason: 'tenant is not a string' };
  const scope: LicenceScope = userId !== undefined ? { kind: 'user', id: userId as string } : { kind: 'tenant', id: tenant as string };
  if (event.revoked !== undefined && typeof event.revoked !== 'boolean') return { ok: false, reason: 'revoked is not a boolean' };
  if (event.revoked === true) {
    if (event.licence !== undefined && event.licence !== null) return { ok: false, reason: 'a revocation carries no licence' };
    return { ok: true, value: { scope, licence: 'revoked', ts: event.ts } };
  }
  if (event.licence === undefined || event.licence === null) return { ok: true, value: { scope, licence: null, ts: event.ts } };
  const parsed = parseLicence(event.licence);
  if (!parsed.ok) return { ok: false, reason: `licence: ${parsed.reason}` };
  return { ok: true, value: { scope, licence: parsed.licence, ts: event.ts } };
}

export type ComplianceStatus = 'compliant' | 'non_compliant';

/**
 * Why a board finds an instrument non-compliant. A closed set: the codes are metric labels and part of the data
 * set's format (docs/operations.md).
 */
export const COMPLIANCE_REASONS = [
  'prohibited_business',
  'non_permissible_revenue',
  'debt',
  'cash',
  'receivables',
  'receivables_and_cash',
  'not_an_equity',
  'board_decision',
] as const;
export type ComplianceReason = (typeof COMPLIANCE_REASONS)[number];

export interface ValidScreenChange {
  instrument: string;
  board: string;
  status: ComplianceStatus;
  reasons: ComplianceReason[];
  version?: string;
  ts: number;
}

export const COMPLIANCE_BOARD_PATTERN = /^[A-Za-z0-9_&-]{1,32}$/;

/** Board ids are matched without regard to case: a claim's `aaoifi` is the screen's `AAOIFI`. */
export function normalizeBoard(board: string): string {
  return board.toUpperCase();
}

/** What is wrong with a verdict's reasons for its status (a screen file's or an engine event's), if anything. */
export function complianceReasonsProblem(reasons: unknown, status: ComplianceStatus): string | undefined {
  if (!Array.isArray(reasons) || !reasons.every((r) => (COMPLIANCE_REASONS as readonly unknown[]).includes(r))) {
    return `reasons must be a list of ${COMPLIANCE_REASONS.join(', ')}`;
  }
  if (status === 'non_compliant' && reasons.length === 0) return 'a non_compliant verdict needs at least one reason';
  if (status === 'compliant' && reasons.length > 0) return 'a compliant verdict has no reasons';
  return undefined;
}

/** Validates an engine `compliance.screen` payload (the same result shape as the market-data validators). */
export function validateScreenChange(payload: unknown): { ok: true; value: ValidScreenChange } | { ok: false; reason: string } {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return { ok: false, reason: 'not an object' };
  const p = payload as Partial<Record<keyof EngineComplianceScreenChange, unknown>>;
  if (typeof p.instrument !== 'string' || !INSTRUMENT_PATTERN.test(p.instrument)) return { ok: false, reason: 'instrument must be EXCHANGE:SYMBOL' };
  if (typeof p.board !== 'string' || !COMPLIANCE_BOARD_PATTERN.test(p.board)) return { ok: false, reason: 'board must be a board id such as AAOIFI' };
  if (p.status !== 'compliant' && p.status !== 'non_compliant') return { ok: false, reason: 'status must be compliant or non_compliant' };
  if (!isPlausibleEngineTime(p.ts)) return { ok: false, reason: 'ts must be plausible epoch milliseconds' };
  if (p.version !== undefined && (typeof p.version !== 'string' || p.version.length === 0 || p.version.length > 64)) return { ok: false, reason: 'version must be a short string' };
  const reasons = p.reasons ?? (p.status === 'non_compliant' ? ['board_decision'] : []);
  const problem = complianceReasonsProblem(reasons, p.status);
  if (problem) return { ok: false, reason: problem };
  return { ok: true, value: { instrument: p.instrument, board: normalizeBoard(p.board), status: p.status, reasons: reasons as ComplianceReason[], version: p.version, ts: p.ts } };
}
