import type { ErrorCode, WireError } from '#libs/contracts';

/** Codes of errors the SDK raises itself, beside the wire contract's codes. */
export type ClientErrorCode =
  /** A public method was called with arguments it cannot use. */
  | 'INVALID_ARGUMENT'
  /** A frame from the server the SDK cannot understand; it was skipped. */
  | 'BAD_FRAME'
  /** A request got no answer in time, or its connection was lost too many times while it waited. */
  | 'REQUEST_TIMEOUT'
  /** The connection went down before the request was answered (a request that is not safe to repeat is not resent). */
  | 'CONNECTION_LOST'
  /** The client was closed, or refused for good, before the request could be answered. */
  | 'CLIENT_CLOSED'
  /** The application's `getToken()` failed or returned something that is not a token. */
  | 'TOKEN_UNAVAILABLE'
  /** An application listener threw; the SDK caught it and went on. */
  | 'LISTENER_FAILED'
  /**
   * An operator disconnected the client (`system` `{ type: 'disconnect' }`) without leave to come back: it stays
   * disconnected until the application calls `reconnect()`. The message is the operator's reason.
   */
  | 'DISCONNECTED_BY_OPERATOR';

/** Every error the SDK throws, rejects with or reports on an `error` event. */
export class TradewireError extends Error {
  override readonly name: string = 'TradewireError';

  constructor(
    readonly code: ErrorCode | ClientErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

/** A public method was called with bad arguments: thrown synchronously, before anything is sent. */
export class InvalidArgumentError extends TradewireError {
  override readonly name = 'InvalidArgumentError';

  constructor(
    readonly argument: string,
    message: string,
  ) {
    super('INVALID_ARGUMENT', `${argument}: ${message}`, { argument });
  }
}

/** The server refused a request (the ack's `error`), or a connection (`connect_error`): the contract's error object. */
export class RequestError extends TradewireError {
  override readonly name = 'RequestError';
  readonly status: number;
  readonly retryAfterMs?: number;

  constructor(
    readonly wire: WireError,
    readonly event?: string,
  ) {
    super(wire.code, wire.message, wire.details);
    this.status = wire.status;
    if (wire.retryAfterMs !== undefined) this.retryAfterMs = wire.retryAfterMs;
  }
}

/** A frame the SDK could not understand: reported on `error` events, never thrown. */
export class BadFrameError extends TradewireError {
  override readonly name = 'BadFrameError';

  constructor(
    readonly event: string,
    message: string,
    readonly frame: unknown,
  ) {
    super('BAD_FRAME', `${event}: ${message}`, { event });
  }
}

/** An application listener threw: reported on the client's `error` event, never rethrown into the SDK's stream. */
export function listenerFailed(error: unknown, event: string): TradewireError {
  return new TradewireError('LISTENER_FAILED', `a listener of ${event} threw: ${error instanceof Error ? error.message : String(error)}`, { event });
}
