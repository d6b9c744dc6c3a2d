import { Injectable } from '@nestjs/common';
import type { BaseRpcContext, Server } from '@nestjs/microservices';
import type { AccountKind, EngineEventKind } from '#libs/contracts';

/** A kind's direct handler: the decoded payload and the event's context (its concrete subject, its transport). */
export type EngineEventHandler = (payload: unknown, context: BaseRpcContext<unknown>) => void;

/** How the events of a kind travel, which decides how every transport and the account log treat them. */
export type EngineDelivery =
  /** Market data: tens of thousands a second, subscribed per subject while local clients want it (NATS), handed by
   * the transports straight to the handler, outside Nest's per-message pipeline; best effort, gaps are visible. */
  | 'hot'
  /** Account streams: every replica subscribes the whole pattern, and the account log keeps them for `since`. Handed
   * by the transports straight to the handler too (after the account log's capture, where the transport keeps it): an
   * order event's way to its watcher is latency a trader sees, and Nest's per-message promise chain was part of it. */
  | 'durable'
  /** Low-rate control events (sessions, licence and screen changes): subscribed whole, never kept. */
  | 'control';

export interface EngineRoute {
  kind: EngineEventKind;
  /** The engine subject pattern (NATS wildcards; the same name is the Redis PSUBSCRIBE pattern). */
  subject: string;
  delivery: EngineDelivery;
  /** The account stream this kind feeds (durable kinds only): the account log keeps and replays it. */
  accountKind?: AccountKind;
  /**
   * Control kinds kept in the durable control log (licence and screen changes): every replica applies them from that
   * log only, everything retained before it takes clients, so a restart forgets none (control-event-log.ts).
   */
  controlLog?: boolean;
  handle: EngineEventHandler;
}

/**
 * The engine routes of this process, filled from the registry of stream kinds (src/engine/stream-kinds.ts) before the
 * transports start, and read by them: which patterns to subscribe whole and which on interest, which handler to call
 * directly, which subjects the account log keeps. Nothing here is declared twice; see the registry for the decision.
 */
@Injectable()
export class EngineRoutes {
  private readonly routes = new Map<string, EngineRoute>();
  private readonly directHandlers = new Map<string, EngineEventHandler>();

  add(route: EngineRoute): void {
    if (this.routes.has(route.subject)) throw new Error(`engine subject ${route.subject} is registered twice`);
    this.routes.set(route.subject, route);
    if (route.delivery !== 'control') this.directHandlers.set(route.subject, route.handle);
  }

  all(): EngineRoute[] {
    return [...this.routes.values()];
  }

  /**
   * The direct handler of a hot or durable pattern: the transports call it synchronously with the decoded payload,
   * without Nest's per-message pipeline. Control patterns (a few events a minute) keep Nest's.
   */
  handlerFor(pattern: string): EngineEventHandler | undefined {
    return this.directHandlers.get(pattern);
  }

  /** Patterns a selective transport (NATS) subscribes per concrete subject, while local clients want them. */
  interestPatterns(): string[] {
    return this.all().filter((route) => route.delivery === 'hot').map((route) => route.subject);
  }

  /** The account log's subjects and the account stream each one feeds. */
  durableRoutes(): { subject: string; accountKind: AccountKind }[] {
    return this.all().flatMap((route) => (route.delivery === 'durable' && route.accountKind ? [{ subject: route.subject, accountKind: route.accountKind }] : []));
  }

  /** Subjects kept in the durable control log and applied from it, never straight off a transport. */
  controlLogPatterns(): string[] {
    return this.all().filter((route) => route.delivery === 'control' && route.controlLog === true).map((route) => route.subject);
  }

  accountKindOf(pattern: string): AccountKind | undefined {
    return this.routes.get(pattern)?.accountKind;
  }

  /**
   * Gives every route to a Nest microservice transport as an event handler (`Server.addHandler`, what `@EventPattern`
   * does under the hood): the transport subscribes the patterns and serves the events with its own connection
   * handling, deserializer and status, and the handler is called without pipes, guards or interceptors.
   */
  bindTo(server: Pick<Server, 'addHandler'>): void {
    for (const route of this.routes.values()) {
      const handle = route.handle;
      server.addHandler(
        route.subject,
        (payload: unknown, context: BaseRpcContext<unknown>) => {
          handle(payload, context);
          return Promise.resolve();
        },
        true,
      );
    }
  }
}
