import {
  answeredAccounts,
  answerSummary,
  ORDER_COMMAND_EVENTS,
  orderAnswerFields,
  orderCommandFields,
  requestedAccounts,
  type AuditConnection,
  type AuditTrail,
} from '#libs/audit';
import { CLIENT_EVENTS, SERVER_EVENTS, type WireError } from '#libs/contracts';
import type { GatewaySocket } from './gateway-socket.js';

/**
 * The client events of a namespace that the audit trail records: `auth:refresh`, the order commands, and on the
 * account namespaces `subscribe` / `unsubscribe` (market-data subscriptions are counted by the usage meter instead).
 */
export function auditedEvents(served: ReadonlySet<string>, accountStreams: boolean): ReadonlySet<string> {
  const events = [CLIENT_EVENTS.authRefresh, ...Object.keys(ORDER_COMMAND_EVENTS), ...(accountStreams ? [CLIENT_EVENTS.subscribe, CLIENT_EVENTS.unsubscribe] : [])];
  return new Set(events.filter((event) => served.has(event)));
}

/**
 * The first step of a socket's middleware: an audited request (its event in `events`) is recorded with the answer the
 * client gets, whatever gives it (the rate limiter, a guard, validation, the handler, the engine). The audit stands in
 * the ack's place and records before handing the answer on; a request sent without an ack gets one, and a refusal is
 * then sent as the `error` event, as the gateway does for such requests. Other packets are left untouched (a Set
 * lookup).
 */
export function auditRequest(trail: AuditTrail, socket: GatewaySocket, events: ReadonlySet<string>, packet: unknown[]): void {
  const event = packet[0];
  if (typeof event !== 'string' || !events.has(event)) return;
  const startedAt = Date.now();
  const last: unknown = packet[packet.length - 1];
  const ack = typeof last === 'function' ? (last as (response: unknown) => void) : undefined;
  const payload: unknown = packet.length > (ack ? 2 : 1) ? packet[1] : undefined;
  let recorded = false;
  const answered = (response: unknown): void => {
    if (!recorded) {
      recorded = true;
      recordRequest(trail, event, connectionOf(socket), payload, response, Date.now() - startedAt);
    }
    if (ack) return ack(response);
    const refusal = (response as { ok?: unknown; error?: WireError } | null)?.ok === false ? (response as { error: WireError }).error : undefined;
    if (refusal) socket.emit(SERVER_EVENTS.error, refusal);
  };
  if (ack) packet[packet.length - 1] = answered;
  else packet.push(answered);
}

/** Who a record is about, read when it is written: `auth:refresh` may have replaced the user's token since. */
export function connectionOf(socket: GatewaySocket): AuditConnection {
  const { user, connectionId, address } = socket.data;
  return { user: user.userId, tenant: user.tenant, connection: connectionId, namespace: socket.nsp.name, address };
}

function recordRequest(trail: AuditTrail, event: string, who: AuditConnection, payload: unknown, response: unknown, durationMs: number): void {
  const { outcome, code, data } = answerSummary(response);
  const answer = { outcome, ...(code !== undefined ? { code } : {}), durationMs };
  const command = ORDER_COMMAND_EVENTS[event];
  if (command) {
    trail.orderCommand({ ...who, command, ...orderCommandFields(payload), ...answer, ...orderAnswerFields(data) });
  } else if (event === CLIENT_EVENTS.subscribe || event === CLIENT_EVENTS.unsubscribe) {
    const accounts = outcome === 'accepted' ? answeredAccounts(data) : requestedAccounts(payload);
    trail.accountSubscription({ ...who, action: event, ...(accounts !== undefined ? { accounts } : {}), ...answer });
  } else if (event === CLIENT_EVENTS.authRefresh) {
    // The new token is in the payload: only the answer is read.
    const expiresAt = typeof data?.expiresAt === 'number' ? data.expiresAt : undefined;
    trail.authRefresh({ ...who, ...answer, ...(expiresAt !== undefined ? { expiresAt } : {}) });
  }
}
