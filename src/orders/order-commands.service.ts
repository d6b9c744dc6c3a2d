import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { Counter, Histogram } from 'prom-client';
import { AccountDirectory, type AuthenticatedUser } from '#libs/auth';
import {
  GatewayError,
  wireError,
  type EngineOrderCancelRequest,
  type EngineOrderSubmitRequest,
  type ErrorCode,
  type OrderCancelRequest,
  type OrderCancelResponse,
  type OrderSubmitRequest,
  type OrderSubmitResponse,
  type WireError,
} from '#libs/contracts';
import { METRICS, PINO_LOGGER, type Logger } from '#libs/observability';
import { AppConfig } from '../config/index.js';
import { parseCancelReply, parseSubmitReply } from './engine-order-reply.js';
import type { OrderCommand, OrderEngineChannel } from './order-engine.channel.js';
import { idempotencyKey, isZeroDecimal, orderFingerprint } from './order-fingerprint.js';
import { ORDER_IDEMPOTENCY_STORE, type IdempotencyRecord, type OrderIdempotencyStore, type StoredOrderAnswer } from './order-idempotency.store.js';

/** How often a replica waiting for another replica's answer to the same `clientOrderId` looks for it. */
const POLL_MS = 50;
/** How much longer than the engine's timeout it waits, for the other replica to write the answer down. */
const POLL_GRACE_MS = 2_000;

interface Outcome {
  answer: StoredOrderAnswer;
  /** The first answer of an earlier request with the same `clientOrderId`, not a new one. */
  replayed: boolean;
}

interface EngineResult {
  answer: StoredOrderAnswer;
  /** False only when the command certainly never reached the engine: the key is then given up so a retry may send it. */
  reached: boolean;
}

/**
 * `order:submit` and `order:cancel`: the account check, `clientOrderId` idempotency (the same key again gets the
 * first answer and the engine sees the order once, across replicas with Redis), and the request to the engine.
 */
@Injectable()
export class OrderCommandsService implements OnModuleDestroy {
  private channel: OrderEngineChannel | undefined;
  /** Submits in flight in this process, by key: a concurrent repeat waits for the first instead of asking the store. */
  private readonly inflight = new Map<string, { fingerprint: string; outcome: Promise<Outcome> }>();
  private readonly timeoutMs: number;

  constructor(
    config: AppConfig,
    @Inject(ORDER_IDEMPOTENCY_STORE) private readonly store: OrderIdempotencyStore,
    private readonly directory: AccountDirectory,
    @InjectMetric(METRICS.orders) private readonly outcomes: Counter<string>,
    @InjectMetric(METRICS.orderEngineLatency) private readonly engineLatency: Histogram<string>,
    @Inject(PINO_LOGGER) private readonly logger: Logger,
  ) {
    this.timeoutMs = config.orders.timeoutMs;
  }

  /** Called at start: NATS when the engine transport is NATS, else the built-in simulator when it runs. */
  attachEngine(channel: OrderEngineChannel): void {
    this.channel = channel;
    this.logger.info({ engine: channel.name, idempotencyStore: this.store.kind, timeoutMs: this.timeoutMs }, 'order commands enabled');
  }

  async onModuleDestroy(): Promise<void> {
    await this.store.close();
  }

  async submit(user: AuthenticatedUser, order: OrderSubmitRequest): Promise<OrderSubmitResponse> {
    let outcome: Outcome;
    try {
      this.checkAccount(user, order.account);
      if (isZeroDecimal(order.quantity)) throw new GatewayError('INVALID_REQUEST', 'quantity must be more than 0');
      if (order.price !== undefined && isZeroDecimal(order.price)) throw new GatewayError('INVALID_REQUEST', 'price must be more than 0');
      outcome = await this.answerOnce(user, order);
    } catch (error) {
      this.count('submit', error instanceof GatewayError ? error.code : 'INTERNAL');
      throw error;
    }
    const { answer, replayed } = outcome;
    this.count('submit', replayed ? 'replayed' : answer.ok ? 'ok' : answer.error.code);
    if (answer.ok) return answer.data;
    throw toGatewayError(answer.error);
  }

  async cancel(user: AuthenticatedUser, command: OrderCancelRequest): Promise<OrderCancelResponse> {
    try {
      const answer = await this.cancelOnce(user, command);
      this.count('cancel', 'ok');
      return answer;
    } catch (error) {
      this.count('cancel', error instanceof GatewayError ? error.code : 'INTERNAL');
      throw error;
    }
  }

  private async cancelOnce(user: AuthenticatedUser, command: OrderCancelRequest): Promise<OrderCancelResponse> {
    this.checkAccount(user, command.account);
    if (command.orderId === undefined && command.clientOrderId === undefined) throw new GatewayError('INVALID_REQUEST', 'orderId or clientOrderId is required');
    let orderId = command.orderId;
    if (orderId === undefined && command.clientOrderId !== undefined) {
      // The engine gets the orderId too when this gateway's store still holds the submit's answer.
      const submitted = (await this.store.peek(idempotencyKey(command.account, command.clientOrderId)).catch(() => null))?.answer;
      if (submitted?.ok) orderId = submitted.data.orderId;
    }
    const body: EngineOrderCancelRequest = {
      account: command.account,
      ...(orderId !== undefined ? { orderId } : {}),
      ...(command.clientOrderId !== undefined ? { clientOrderId: command.clientOrderId } : {}),
      userId: user.userId,
      tenant: user.tenant,
      ts: Date.now(),
    };
    const channel = this.requireChannel();
    let reply: unknown;
    try {
      reply = await this.timed('cancel', () => channel.request('cancel', body, this.timeoutMs));
    } catch (error) {
      if (error instanceof GatewayError) throw error;
      throw this.unreadable('cancel', error);
    }
    const answer = parseCancelReply(reply);
    if (!answer) throw this.unreadable('cancel', reply);
    if (!answer.ok) throw toGatewayError(answer.error);
    return answer.data;
  }

  /** Coalesces concurrent repeats in this process, then asks the store (which coalesces across replicas). */
  private async answerOnce(user: AuthenticatedUser, order: OrderSubmitRequest): Promise<Outcome> {
    const key = idempotencyKey(order.account, order.clientOrderId);
    const fingerprint = orderFingerprint(order);
    const local = this.inflight.get(key);
    if (local) {
      if (local.fingerprint !== fingerprint) throw duplicate(order.clientOrderId);
      const first = await local.outcome;
      return { answer: first.answer, replayed: true };
    }
    const outcome = this.claimAndSend(key, fingerprint, user, order);
    // Waiters attach their own handlers; this one only keeps a failure nobody waits for from going unhandled.
    outcome.catch(() => undefined);
    this.inflight.set(key, { fingerprint, outcome });
    try {
      return await outcome;
    } finally {
      this.inflight.delete(key);
    }
  }

  private async claimAndSend(key: string, fingerprint: string, user: AuthenticatedUser, order: OrderSubmitRequest): Promise<Outcome> {
    let existing: IdempotencyRecord | null;
    try {
      existing = await this.store.claim(key, fingerprint);
    } catch (error) {
      this.logger.warn({ err: error, store: this.store.kind }, 'order idempotency store unavailable: order refused');
      throw new GatewayError('ENGINE_UNAVAILABLE', 'orders cannot be accepted right now (the order store is unreachable); retry with the same clientOrderId');
    }
    if (existing) {
      if (existing.fingerprint !== fingerprint) throw duplicate(order.clientOrderId);
      return { answer: existing.answer ?? (await this.awaitAnswer(key, fingerprint, order.clientOrderId)), replayed: true };
    }
    const { answer, reached } = await this.sendSubmit(user, order);
    try {
      if (reached) await this.store.complete(key, fingerprint, answer);
      else await this.store.release(key);
    } catch (error) {
      // The client still gets its answer; a repeat then waits for one that never comes, and gets ENGINE_TIMEOUT.
      this.logger.warn({ err: error, store: this.store.kind }, 'order idempotency store unavailable: answer not recorded');
    }
    return { answer, replayed: false };
  }

  /** Another replica claimed the key and is waiting for the engine: its answer is written to the store. */
  private async awaitAnswer(key: string, fingerprint: string, clientOrderId: string): Promise<StoredOrderAnswer> {
    const deadline = Date.now() + this.timeoutMs + POLL_GRACE_MS;
    while (Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      const record = await this.store.peek(key).catch(() => undefined);
      if (record === undefined) continue;
      if (record === null) return failed('ENGINE_UNAVAILABLE', 'the first request with this clientOrderId did not reach the engine; send it again');
      if (record.fingerprint !== fingerprint) throw duplicate(clientOrderId);
      if (record.answer) return record.answer;
    }
    return failed('ENGINE_TIMEOUT', 'the first request with this clientOrderId is still waiting for the engine');
  }

  private async sendSubmit(user: AuthenticatedUser, order: OrderSubmitRequest): Promise<EngineResult> {
    const channel = this.channel;
    if (!channel) return { reached: false, answer: failed('ENGINE_UNAVAILABLE', NO_ENGINE) };
    const body: EngineOrderSubmitRequest = {
      clientOrderId: order.clientOrderId,
      account: order.account,
      instrument: order.instrument,
      side: order.side,
      type: order.type,
      quantity: order.quantity,
      ...(order.price !== undefined ? { price: order.price } : {}),
      ...(order.timeInForce !== undefined ? { timeInForce: order.timeInForce } : {}),
      userId: user.userId,
      tenant: user.tenant,
      ts: Date.now(),
    };
    let reply: unknown;
    try {
      reply = await this.timed('submit', () => channel.request('submit', body, this.timeoutMs));
    } catch (error) {
      // ENGINE_TIMEOUT is an answer like any other: the order may have reached the engine, so it is never sent again.
      if (error instanceof GatewayError) return { reached: error.code !== 'ENGINE_UNAVAILABLE', answer: { ok: false, error: error.toWire() } };
      return { reached: true, answer: { ok: false, error: this.unreadable('submit', error).toWire() } };
    }
    const answer = parseSubmitReply(reply);
    return { reached: true, answer: answer ?? { ok: false, error: this.unreadable('submit', reply).toWire() } };
  }

  private requireChannel(): OrderEngineChannel {
    if (!this.channel) throw new GatewayError('ENGINE_UNAVAILABLE', NO_ENGINE);
    return this.channel;
  }

  private checkAccount(user: AuthenticatedUser, account: string): void {
    if (!this.directory.canSee(user, account)) throw new GatewayError('FORBIDDEN', `not permitted to trade account ${account}`, { details: { account } });
  }

  private async timed<T>(command: OrderCommand, run: () => Promise<T>): Promise<T> {
    const end = this.engineLatency.startTimer({ command });
    try {
      return await run();
    } finally {
      end();
    }
  }

  private unreadable(command: OrderCommand, reply: unknown): GatewayError {
    this.logger.warn({ command, reply: replySummary(reply) }, 'unreadable engine answer to an order command');
    return new GatewayError('INTERNAL', 'the engine sent an unreadable answer; check the order events before sending it again');
  }

  private count(command: OrderCommand, outcome: string): void {
    this.outcomes.labels(command, outcome).inc();
  }
}

const NO_ENGINE = 'no engine serves order commands on this gateway (they need the NATS engine transport or the built-in simulator)';

function failed(code: ErrorCode, message: string): StoredOrderAnswer {
  return { ok: false, error: wireError(code, message) };
}

function duplicate(clientOrderId: string): GatewayError {
  return new GatewayError('DUPLICATE_ORDER', `clientOrderId ${clientOrderId} was already used for a different order`, { details: { clientOrderId } });
}

function toGatewayError(error: WireError): GatewayError {
  return new GatewayError(error.code, error.message, {
    ...(error.details !== undefined ? { details: error.details } : {}),
    ...(error.retryAfterMs !== undefined ? { retryAfterMs: error.retryAfterMs } : {}),
  });
}

/**
 * What the log says about an unreadable engine reply: its shape, never the whole of it. A reply can be as large as the
 * transport allows (1 MB over NATS) and nested thousands deep, and a log line must stay short and serializable.
 */
function replySummary(reply: unknown): Record<string, unknown> {
  if (reply instanceof Error) return { error: reply.message.slice(0, 200) };
  if (typeof reply === 'string') return { type: 'string', length: reply.length, start: reply.slice(0, 200) };
  if (typeof reply !== 'object' || reply === null) return { type: reply === null ? 'null' : typeof reply, value: String(reply).slice(0, 200) };
  if (Array.isArray(reply)) return { type: 'array', length: reply.length };
  return { type: 'object', keys: Object.keys(reply).slice(0, 20).map((key) => key.slice(0, 64)) };
}
