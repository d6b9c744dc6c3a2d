import { isErrorCode, type ErrorCode } from '#libs/contracts';

/**
 * What the SDK does when the server refuses a connection (`connect_error`), or closes one after an `error` event:
 * - `retry`: try again after the backoff delay (or the server's `retryAfterMs` when it gives one);
 * - `refresh`: call `getToken()` again, then retry (`UNAUTHORIZED` only once in a row: a fresh token that is still
 *   refused is terminal);
 * - `terminal`: stop; the client goes to `disconnected` with the error, and only the application can fix the cause.
 */
export type RefusalAction = 'retry' | 'refresh' | 'terminal';

/** The refusal table, by the contract's error codes (docs/client.md shows it). Network errors are `retry`. */
export const REFUSAL_POLICY: Readonly<Record<ErrorCode, RefusalAction>> = {
  RATE_LIMITED: 'retry',
  CONNECTION_LIMIT: 'retry',
  ENGINE_UNAVAILABLE: 'retry',
  ENGINE_TIMEOUT: 'retry',
  INTERNAL: 'retry',
  SLOW_CLIENT: 'retry',
  TOKEN_EXPIRED: 'refresh',
  UNAUTHORIZED: 'refresh',
  FORBIDDEN: 'terminal',
  NOT_ENTITLED: 'terminal',
  NOT_COMPLIANT: 'terminal',
  INVALID_REQUEST: 'terminal',
  UNKNOWN_SYMBOL: 'terminal',
  SUBSCRIPTION_LIMIT: 'terminal',
  DUPLICATE_ORDER: 'terminal',
};

export interface RefusalContext {
  /** The previous attempt already fetched a fresh token because of `UNAUTHORIZED`. */
  refreshedForUnauthorized?: boolean;
}

/**
 * Classifies a refusal: `code` is the contract's code from the refusal's data, or undefined for a network error (no
 * server answer at all). Unknown codes, from a newer server, are retried with backoff.
 */
export function classifyRefusal(code: string | undefined, context: RefusalContext = {}): RefusalAction {
  if (code === undefined || !isErrorCode(code)) return 'retry';
  const action = REFUSAL_POLICY[code];
  if (code === 'UNAUTHORIZED' && context.refreshedForUnauthorized) return 'terminal';
  return action;
}
