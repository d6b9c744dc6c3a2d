import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { GatewayError } from '#libs/contracts';
import { ORDER_COMMAND_SUBJECTS, type OrderCommand, type OrderEngineChannel, type OrderEngineRequests } from './order-engine.channel.js';


interface Waiting {
  resolve: (reply: unknown) => void;
  timer: NodeJS.Timeout;
}

/**
 * Order commands over Redis pub/sub, which has no request/reply of its own: the request is published on
 * `engine.order.submit`, `.cancel`, `.cancel-all` and `.amend` with this replica's reply channel and a correlation id, and the engine
 * publishes its answer, with that id, on the reply channel. PUBLISH says how many subscribers got the request:
 * none is NATS's "no responders" (ENGINE_UNAVAILABLE).
 */
export class RedisOrderChannel implements OrderEngineChannel {
  readonly name = 'redis';
  readonly replyChannel: string;
  private readonly waiting = new Map<string, Waiting>();

  constructor(
    private readonly publisher: Redis,
    /** A client of its own: it is put in subscriber mode. */
    private readonly subscriber: Redis,
    nodeId: string,
  ) {
    this.replyChannel = `tradewire.order.reply.${nodeId}`;
  }

  async start(): Promise<void> {
    this.subscriber.on('message', (channel: string, message: string) => {
      if (channel === this.replyChannel) this.onReply(message);
    });
    await this.subscriber.subscribe(this.replyChannel);
  }

  async request<C extends OrderCommand>(command: C, body: OrderEngineRequests[C], timeoutMs: number): Promise<unknown> {
    const correlationId = randomUUID();
    const reply = new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(correlationId);
        reject(new GatewayError('ENGINE_TIMEOUT', `the engine did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(correlationId, { resolve, timer });
    });
    // Settled below or by its timer; a rejection nobody awaits (the request failed first) must not go unhandled.
    reply.catch(() => undefined);
    let receivers: number;
    try {
      receivers = await this.publisher.publish(ORDER_COMMAND_SUBJECTS[command], JSON.stringify({ ...body, replyTo: this.replyChannel, correlationId }));
    } catch {
      this.forget(correlationId);
      throw new GatewayError('ENGINE_UNAVAILABLE', 'the engine cannot be reached');
    }
    if (receivers === 0) {
      this.forget(correlationId);
      throw new GatewayError('ENGINE_UNAVAILABLE', 'no engine is serving order commands');
    }
    return reply;
  }

  private onReply(message: string): void {
    let reply: unknown;
    try {
      reply = JSON.parse(message);
    } catch {
      return; // no correlation id to answer: the request times out
    }
    const correlationId = typeof reply === 'object' && reply !== null ? (reply as { correlationId?: unknown }).correlationId : undefined;
    if (typeof correlationId !== 'string') return;
    const waiting = this.waiting.get(correlationId);
    if (!waiting) return; // timed out already, or another replica's
    this.forget(correlationId);
    const { correlationId: _id, ...answer } = reply as Record<string, unknown>;
    waiting.resolve(answer);
  }

  private forget(correlationId: string): void {
    const waiting = this.waiting.get(correlationId);
    if (waiting) clearTimeout(waiting.timer);
    this.waiting.delete(correlationId);
  }
}
