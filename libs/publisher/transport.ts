import type { AccountKind, EngineRejection } from '#libs/contracts';

/** Where an event goes, beyond its subject: account events and control events have a durable log behind them. */
export type EventRoute = { kind: 'market' } | { kind: 'account'; account: string; accountKind: AccountKind } | { kind: 'control' };

/**
 * A broker connection the publisher sends through. `send` never waits: a transport buffers (NATS) or pipelines (Redis)
 * what is sent in one turn of the event loop and reports failures through `flush`.
 */
export interface PublisherTransport {
  readonly name: string;
  send(subject: string, event: object, route: EventRoute): void;
  /** Resolves once everything sent so far has reached the broker; rejects with the first failure since the last flush. */
  flush(): Promise<void>;
  /** `gateway.rejected.*` reports, for `onRejected`. */
  subscribeRejections?(listener: (rejection: EngineRejection, subject: string) => void): Promise<() => Promise<void>>;
  /** Answers requests on `subject` (order commands); resolves once subscribed, with what stops it. */
  serveRequests?(subject: string, answer: (request: unknown) => Promise<object>, queue: string): Promise<() => Promise<void>>;
  close(): Promise<void>;
}
