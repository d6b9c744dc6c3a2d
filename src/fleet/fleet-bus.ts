import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Optional, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { errorSummary, PINO_LOGGER, type Logger } from '#libs/observability';
import { AppConfig } from '../config/index.js';
import { FLEET_KEYS, FLEET_REDIS, type FleetRedis } from './fleet-redis.js';
import { NodeRegistry } from './node-registry.js';

/** What one replica does with a fleet request of a kind: its answer goes back to the asking replica. */
export type FleetHandler = (body: unknown) => unknown;

/** Every replica's answer to one fleet request. */
export interface FleetAnswers<R> {
  /** Answers by replica id. */
  nodes: Record<string, R>;
  /** Replicas that could not carry it out, and why. */
  failed: Record<string, string>;
  /** Replicas listed in the registry that did not answer within the deadline (cut off from Redis, stalled, dying). */
  missing: string[];
  /** Set when the request could not be sent through Redis: it was carried out on this replica only. */
  error?: string;
}

interface FleetRequest {
  v: 1;
  requestId: string;
  from: string;
  kind: string;
  body: unknown;
}

interface FleetReply {
  requestId: string;
  node: string;
  ok: boolean;
  result?: unknown;
  error?: string;
}

/** Operator actions must be seen applied within a second on every replica: a replica slower than that is `missing`. */
export const FLEET_REQUEST_DEADLINE_MS = 1_000;

interface Pending {
  expected: Set<string>;
  answers: FleetAnswers<unknown>;
  done: () => void;
}

/**
 * Operator actions and fleet-wide queries: a request goes to every replica on one Redis channel, each carries it out
 * on its own connections and answers the asking replica on that replica's reply channel. The asker waits for every
 * replica the node registry lists, at most FLEET_REQUEST_DEADLINE_MS, and reports who answered what and who did not.
 *
 * Why not the Socket.IO Redis adapter: none of these is a plain broadcast (a disconnect tells each connection its
 * reason first; an unblock, runtime limits and usage totals are not socket events at all), and answers are wanted from
 * the replicas the registry knows, with a deadline, rather than from however many subscribers Redis counts.
 * Without Redis this replica is the fleet: requests are carried out here directly.
 */
@Injectable()
export class FleetBus implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly handlers = new Map<string, FleetHandler>();
  private readonly pending = new Map<string, Pending>();

  constructor(
    private readonly config: AppConfig,
    private readonly registry: NodeRegistry,
    @Inject(PINO_LOGGER) private readonly logger: Logger,
    @Optional() @Inject(FLEET_REDIS) private readonly redis?: FleetRedis,
  ) {}

  get nodeId(): string {
    return this.config.nodeId;
  }

  /** Registers what this replica does with requests of `kind` (one handler per kind). */
  handle(kind: string, handler: FleetHandler): void {
    this.handlers.set(kind, handler);
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.redis) return;
    const { subscriber } = this.redis;
    subscriber.on('message', (channel: string, message: string) => {
      if (channel === FLEET_KEYS.requests) void this.serve(message);
      else if (channel === FLEET_KEYS.replies(this.config.nodeId)) this.collect(message);
    });
    // Not awaited past a short wait: a replica starts without Redis and subscribes once it is back (ioredis resubscribes).
    await Promise.race([
      subscriber.subscribe(FLEET_KEYS.requests, FLEET_KEYS.replies(this.config.nodeId)).catch((error: unknown) => this.logger.warn({ err: errorSummary(error) }, 'fleet: could not subscribe to operator actions yet')),
      new Promise((resolve) => setTimeout(resolve, 2_000).unref()),
    ]);
  }

  /** After the drain (operator actions are still carried out while clients leave): nobody waits on an answer any more. */
  onApplicationShutdown(): void {
    for (const pending of this.pending.values()) pending.done();
  }

  /** Sends a request of `kind` to every replica and gathers their answers (see the class comment). */
  async request<R>(kind: string, body: unknown): Promise<FleetAnswers<R>> {
    if (!this.redis) return this.local<R>(kind, body);
    let expected: string[];
    try {
      expected = await this.registry.liveNodeIds();
    } catch {
      expected = [this.config.nodeId];
    }
    const requestId = randomUUID();
    const answers: FleetAnswers<unknown> = { nodes: {}, failed: {}, missing: [] };
    const finished = new Promise<void>((resolve) => {
      const timer = setTimeout(() => settle(), FLEET_REQUEST_DEADLINE_MS);
      const settle = () => {
        clearTimeout(timer);
        this.pending.delete(requestId);
        resolve();
      };
      this.pending.set(requestId, { expected: new Set(expected), answers, done: settle });
    });
    const request: FleetRequest = { v: 1, requestId, from: this.config.nodeId, kind, body };
    try {
      await this.redis.commands.publish(FLEET_KEYS.requests, JSON.stringify(request));
    } catch (error) {
      this.pending.get(requestId)?.done();
      const local = await this.local<R>(kind, body);
      return { ...local, error: `Redis unreachable (${errorSummary(error).message}): carried out on this replica only` };
    }
    await finished;
    answers.missing = expected.filter((node) => !(node in answers.nodes) && !(node in answers.failed));
    return answers as FleetAnswers<R>;
  }

  private async local<R>(kind: string, body: unknown): Promise<FleetAnswers<R>> {
    const reply = await this.run(kind, body);
    const answers: FleetAnswers<R> = { nodes: {}, failed: {}, missing: [] };
    if (reply.ok) answers.nodes[this.config.nodeId] = reply.result as R;
    else answers.failed[this.config.nodeId] = reply.error ?? 'failed';
    return answers;
  }

  private async run(kind: string, body: unknown): Promise<{ ok: boolean; result?: unknown; error?: string }> {
    const handler = this.handlers.get(kind);
    if (!handler) return { ok: false, error: `this replica does not serve ${kind}` };
    try {
      return { ok: true, result: await handler(body) };
    } catch (error) {
      return { ok: false, error: error instanceof Error ? error.message : String(error) };
    }
  }

  /** A request from some replica (this one included): carry it out, answer the asker. */
  private async serve(message: string): Promise<void> {
    const request = parseRequest(message);
    if (!request) {
      this.logger.warn({ channel: FLEET_KEYS.requests, bytes: message.length }, 'fleet: a message that is not a fleet request was ignored');
      return;
    }
    const outcome = await this.run(request.kind, request.body);
    const reply: FleetReply = { requestId: request.requestId, node: this.config.nodeId, ...outcome };
    try {
      await this.redis?.commands.publish(FLEET_KEYS.replies(request.from), JSON.stringify(reply));
    } catch (error) {
      this.logger.warn({ err: errorSummary(error), kind: request.kind, from: request.from }, 'fleet: carried out a request but could not answer it');
    }
  }

  private collect(message: string): void {
    let reply: FleetReply;
    try {
      reply = JSON.parse(message) as FleetReply;
    } catch {
      return;
    }
    if (typeof reply !== 'object' || reply === null || typeof reply.requestId !== 'string' || typeof reply.node !== 'string') return;
    const pending = this.pending.get(reply.requestId);
    if (!pending) return; // after the deadline: the asker has answered already
    if (reply.ok) pending.answers.nodes[reply.node] = reply.result;
    else pending.answers.failed[reply.node] = typeof reply.error === 'string' ? reply.error : 'failed';
    // A replica that joined after the registry was read answers too, and is kept; the wait is for the expected ones.
    pending.expected.delete(reply.node);
    if (pending.expected.size === 0) pending.done();
  }
}

function parseRequest(message: string): FleetRequest | undefined {
  try {
    const value = JSON.parse(message) as Partial<FleetRequest>;
    if (value.v === 1 && typeof value.requestId === 'string' && typeof value.from === 'string' && typeof value.kind === 'string') return value as FleetRequest;
  } catch {
    // not JSON
  }
  return undefined;
}
