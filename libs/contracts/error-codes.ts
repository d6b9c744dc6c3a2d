/** Error codes of the wire contract (PROTOCOL.md §1), each with its HTTP-like status. */
export const ERROR_STATUS = {
  INVALID_REQUEST: 400,
  UNAUTHORIZED: 401,
  TOKEN_EXPIRED: 401,
  FORBIDDEN: 403,
  NOT_ENTITLED: 403,
  UNKNOWN_SYMBOL: 404,
  SUBSCRIPTION_LIMIT: 405,
  CONNECTION_LIMIT: 406,
  SLOW_CLIENT: 407,
  DUPLICATE_ORDER: 409,
  RATE_LIMITED: 429,
  NOT_COMPLIANT: 451,
  INTERNAL: 500,
  ENGINE_UNAVAILABLE: 503,
  ENGINE_TIMEOUT: 504,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export const ERROR_CODES = Object.keys(ERROR_STATUS) as ErrorCode[];

/** The `error` payload: in a refused ack, in an `error` event, and as `connect_error`'s `data`. */
export interface WireError {
  code: ErrorCode;
  status: number;
  message: string;
  retryAfterMs?: number;
  details?: Record<string, unknown>;
}

/**
 * Thrown anywhere a client request is refused; the gateways' exception filter turns it into the contract's answer.
 * It is also what a handshake middleware hands to `next(err)`: Socket.IO sends `err.message` (the code) and
 * `err.data` to the client as `connect_error`.
 */
export class GatewayError extends Error {
  readonly status: number;
  readonly data: WireError;

  constructor(
    readonly code: ErrorCode,
    readonly detailMessage: string,
    extra: { retryAfterMs?: number; details?: Record<string, unknown> } = {},
  ) {
    // Socket.IO uses `message` as connect_error's message: the contract says that is the code itself.
    super(code);
    this.name = 'GatewayError';
    this.status = ERROR_STATUS[code];
    this.data = { code, status: this.status, message: detailMessage, ...extra };
  }

  toWire(): WireError {
    return this.data;
  }
}

export function wireError(code: ErrorCode, message: string, extra: Partial<Omit<WireError, 'code' | 'status' | 'message'>> = {}): WireError {
  return { code, status: ERROR_STATUS[code], message, ...extra };
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(ERROR_STATUS, value);
}
