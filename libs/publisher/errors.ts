import type { EngineEventKind } from '#libs/contracts';

/** Every error the publisher throws or rejects with: `code` says which, for a `switch`. */
export abstract class PublisherError extends Error {
  abstract readonly code: 'INVALID_EVENT' | 'INVALID_SUBJECT' | 'TRANSPORT_FAILED' | 'PUBLISHER_CLOSED';
}

/**
 * The event would be dropped by the gateway: the gateway's own validator refused it (`reason` in its words, the same
 * as the `detail` of a `gateway.rejected.<kind>` report). Nothing was sent.
 */
export class InvalidEventError extends PublisherError {
  readonly code = 'INVALID_EVENT';
  constructor(
    readonly kind: EngineEventKind,
    readonly reason: string,
  ) {
    super(`invalid ${kind} event: ${reason}`);
    this.name = 'InvalidEventError';
  }
}

/** An exchange, symbol or account that cannot be a subject token (empty, or with `.`, `*`, `>` or whitespace). */
export class InvalidSubjectError extends PublisherError {
  readonly code = 'INVALID_SUBJECT';
  constructor(
    readonly part: string,
    readonly value: string,
  ) {
    super(`${part} ${JSON.stringify(value)} cannot be a subject token (no dots, wildcards or spaces)`);
    this.name = 'InvalidSubjectError';
  }
}

/** The broker refused or could not take events (a failed Redis append, a JetStream publish with no stream…). */
export class TransportError extends PublisherError {
  readonly code = 'TRANSPORT_FAILED';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TransportError';
  }
}

export class PublisherClosedError extends PublisherError {
  readonly code = 'PUBLISHER_CLOSED';
  constructor() {
    super('the publisher is closed');
    this.name = 'PublisherClosedError';
  }
}
