import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { Counter, Histogram } from 'prom-client';
import { AccountDirectory, type AuthenticatedUser } from '#libs/auth';
import {
  GatewayError,
  wireError,
  type EngineOrderAmendRequest,
  type EngineOrderCancelAllRequest,
  type EngineOrderCancelRequest,
  type EngineOrderSubmitRequest,
  type ErrorCode,
  type OrderAmendRequest,
  type OrderAmendResponse,
  type OrderCancelAllRequest,
  type OrderCancelAllResponse,
  type OrderCancelRequest,
  type OrderCancelResponse,
  type OrderSubmitRequest,
  type OrderSubmitResponse,
  type WireError,
} from '#libs/contracts';
import { METRICS, PINO_LOGGER, type Logger } from '#libs/observability';
import { AppConfig } from '../config/index.js';
import { parseCancelAllReply, parseCancelReply, parseSubmitReply, type EngineAnswer } from './engine-order-reply.js';
import { OrderEngine, type OrderCommand, type OrderEngineChannel, type OrderEngineRequests } from '../engine/order-engine.channel.js';
import { amendFingerprint, cancelAllFingerprint, cancelAllKey, idempotencyKey, isZeroDecimal, orderFingerprint } from './order-fingerprint.js';
import { ORDER_IDEMPOTENCY_STORE, type IdempotencyRecord, type OrderCommandData, type OrderIdempotencyStore, type StoredOrderAnswer } from './order-idempotency.store.js';

/** How often a replica waiting for another replica's answer to the same `clientOrderId` looks for it. */
const POLL_MS = 50;
/** How much longer than the engine's timeout it waits, for the other replica to write the answer down. */
const POLL_GRACE_MS = 2_000;

interface Outcome<T extends OrderCommandData = OrderCommandData> {
  answer: StoredOrderAnswer<T>;
  /** The first answer of an earlier request with the same `clientOrderId`, not a new one. */
  replayed: boolean;
}

interface EngineResult<T extends OrderCommandData> {
  answer: StoredOrderAnswer<T>;
  /** False only when the command certainly never reached the engine: the key is then given up so a retry may send it. */
  reached: boolean;
}

/**
 * `order:submit`, `order:amend`, `order:cancel` and `order:cancel-all`: the account check, idempotency (the same
 * `clientOrderId`, or cancel-all `requestId`, again gets the first answer and the engine sees the command once, across
 * replicas with Redis), and the request to the engine.
 */
@Injectable()
export class OrderCommandsService implements OnApplicationShutdown {
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
    /** Chosen by the engine module at start (EngineModule): NATS, Redis or the built-in simulator. */
    private readonly engine: OrderEngine,
  ) {
    this.timeoutMs = config.orders.timeoutMs;
  }

  /** After the drain: commands of clients still connected while draining are served. */
  async onApplicationShutdown(): Promise<void> {
    await this.store.close();
  }

  submit(user: AuthenticatedUser, order: OrderSubmitRequest): Promise<OrderSubmitResponse> {
    return this.idempotent({
      command: 'submit',
      check: () => {
        this.checkAccount(user, order.account);
        if (isZeroDecimal(order.quantity)) throw new GatewayError('INVALID_REQUEST', 'quantity must be more than 0');
        if (order.price !== undefined && isZeroDecimal(order.price)) throw new GatewayError('INVALID_REQUEST', 'price must be more than 0');
      },
      key: idempotencyKey(order.account, order.clientOrderId),
      fingerprint: orderFingerprint(order),
      duplicate: () => duplicate(order.clientOrderId),
      send: () => this.sendSubmit(user, order),
    });
  }

  /**
   * FIX OrderCancelReplace: the replacement has its own `clientOrderId`, idempotent like a submit's (they share the
   * account's key space). The engine answers `{ orderId, status }` and publishes the order with `execType: 'replaced'`.
   */
  amend(user: AuthenticatedUser, amend: OrderAmendRequest): Promise<OrderAmendResponse> {
    return this.idempotent({
      command: 'amend',
      check: () => {
        this.checkAccount(user, amend.account);
        if (amend.orderId === undefined && amend.origClientOrderId === undefined) throw new GatewayError('INVALID_REQUEST', 'orderId or origClientOrderId is required');
        if (amend.quantity === undefined && amend.price === undefined) throw new GatewayError('INVALID_REQUEST', 'quantity or price is required');
        if (amend.origClientOrderId === amend.clientOrderId) throw new GatewayError('INVALID_REQUEST', 'clientOrderId must be new: it names the replacement, origClientOrderId the order it replaces');
        if (amend.quantity !== undefined && isZeroDecimal(amend.quantity)) throw new GatewayError('INVALID_REQUEST', 'quantity must be more than 0');
        if (amend.price !== undefined && isZeroDecimal(amend.price)) throw new GatewayError('INVALID_REQUEST', 'price must be more than 0');
      },
      key: idempotencyKey(amend.account, amend.clientOrderId),
      fingerprint: amendFingerprint(amend),
      duplicate: () => duplicate(amend.clientOrderId),
      send: async () => {
        const orderId = amend.orderId ?? (amend.origClientOrderId === undefined ? undefined : await this.submittedOrderId(amend.account, amend.origClientOrderId));
        const body: EngineOrderAmendRequest = {
          clientOrderId: amend.clientOrderId,
          account: amend.account,
          ...(orderId !== undefined ? { orderId } : {}),
          ...(amend.origClientOrderId !== undefined ? { origClientOrderId: amend.origClientOrderId } : {}),
          ...(amend.quantity !== undefined ? { quantity: amend.quantity } : {}),
          ...(amend.price !== undefined ? { price: amend.price } : {}),
          ...origin(user),
        };
        return this.sendCommand('amend', body, parseSubmitReply);
      },
    });
  }

  /** Every working order of an account, or those of one instrument and/or side; idempotent by `requestId`. */
  cancelAll(user: AuthenticatedUser, request: OrderCancelAllRequest): Promise<OrderCancelAllResponse> {
    return this.idempotent({
      command: 'cancel-all',
      check: () => this.checkAccount(user, request.account),
      key: cancelAllKey(request.account, request.requestId),
      fingerprint: cancelAllFingerprint(request),
      duplicate: () => new GatewayError('DUPLICATE_ORDER', `requestId ${request.requestId} was already used for a different cancel-all`, { details: { requestId: request.requestId } }),
      send: () => {
        const body: EngineOrderCancelAllRequest = {
          requestId: request.requestId,
          account: request.account,
          ...(request.instrument !== undefined ? { instrument: request.instrument } : {}),
          ...(request.side !== undefined ? { side: request.side } : {}),
          ...origin(user),
        };
        return this.sendCommand('cancel-all', body, parseCancelAllReply);
      },
    });
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
    const orderId = command.orderId ?? (command.clientOrderId === undefined ? undefined : await this.submittedOrderId(command.account, command.clientOrderId));
    const body: EngineOrderCancelRequest = {
      account: command.account,
      ...(orderId !== undefined ? { orderId } : {}),
      ...(command.clientOrderId !== undefined ? { clientOrderId: command.clientOrderId } : {}),
      ...origin(user),
    };
    return this.requestCancel(body);
  }

  /**
   * A cancel the gateway sends on its own, for a user (the dead-man's switch, which names orders that user submitted:
   * the account was checked then, and taking an order off the market needs no check now). Counted by its caller.
   */
  cancelOnBehalf(owner: { userId: string; tenant: string }, order: { account: string; orderId?: string; clientOrderId: string }): Promise<OrderCancelResponse> {
    const body: EngineOrderCancelRequest = {
      account: order.account,
      ...(order.orderId !== undefined ? { orderId: order.orderId } : {}),
      clientOrderId: order.clientOrderId,
      userId: owner.userId,
      tenant: owner.tenant,
      ts: Date.now(),
    };
    return this.requestCancel(body);
  }

  private async requestCancel(body: EngineOrderCancelRequest): Promise<OrderCancelResponse> {
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

  /** The engine's `orderId` of an order this gateway's store still holds the submit (or amend) answer of. */
  private async submittedOrderId(account: string, clientOrderId: string): Promise<string | undefined> {
    const answer = (await this.store.peek(idempotencyKey(account, clientOrderId)).catch(() => null))?.answer;
    return answer?.ok && 'orderId' in answer.data ? answer.data.orderId : undefined;
  }

  /** An idempotent command: checks, then the first answer for its key (sent once), counted and thrown as the client gets it. */
  private async idempotent<T extends OrderCommandData>(spec: IdempotentCommand<T>): Promise<T> {
    let outcome: Outcome<T>;
    try {
      spec.check();
      outcome = await this.answerOnce(spec);
    } catch (error) {
      this.count(spec.command, error instanceof GatewayError ? error.code : 'INTERNAL');
      throw error;
    }
    const { answer, replayed } = outcome;
    this.count(spec.command, replayed ? 'replayed' : answer.ok ? 'ok' : answer.error.code);
    if (answer.ok) return answer.data;
    throw toGatewayError(answer.error);
  }

  /** Coalesces concurrent repeats in this process, then asks the store (which coalesces across replicas). */
  private async answerOnce<T extends OrderCommandData>(spec: IdempotentCommand<T>): Promise<Outcome<T>> {
    const { key, fingerprint } = spec;
    const local = this.inflight.get(key);
    if (local) {
      if (local.fingerprint !== fingerprint) throw spec.duplicate();
      // The same fingerprint is the same command (it starts with the command), so the answer is of this type.
      const first = (await local.outcome) as Outcome<T>;
      return { answer: first.answer, replayed: true };
    }
    const outcome = this.claimAndSend(spec);
    // Waiters attach their own handlers; this one only keeps a failure nobody waits for from going unhandled.
    outcome.catch(() => undefined);
    this.inflight.set(key, { fingerprint, outcome });
    try {
      return await outcome;
    } finally {
      this.inflight.delete(key);
    }
  }

  private async claimAndSend<T extends OrderCommandData>(spec: IdempotentCommand<T>): Promise<Outcome<T>> {
    const { key, fingerprint } = spec;
    let existing: IdempotencyRecord | null;
    try {
      existing = await this.store.claim(key, fingerprint);
    } catch (error) {
      this.logger.warn({ err: error, store: this.store.kind, command: spec.command }, 'order idempotency store unavailable: order refused');
      throw new GatewayError('ENGINE_UNAVAILABLE', 'orders cannot be accepted right now (the order store is unreachable); retry with the same clientOrderId');
    }
    if (existing) {
      if (existing.fingerprint !== fingerprint) throw spec.duplicate();
      const answer = existing.answer ?? (await this.awaitAnswer(key, fingerprint, spec.duplicate));
      // As above: an equal fingerprint is the same command.
      return { answer: answer as StoredOrderAnswer<T>, replayed: true };
    }
    const { answer, reached } = await spec.send();
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
  private async awaitAnswer(key: string, fingerprint: string, duplicateError: () => GatewayError): Promise<StoredOrderAnswer> {
    const deadline = Date.now() + this.timeoutMs + POLL_GRACE_MS;
    while (Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      const record = await this.store.peek(key).catch(() => undefined);
      if (record === undefined) continue;
      if (record === null) return failed('ENGINE_UNAVAILABLE', 'the first request with this id did not reach the engine; send it again');
      if (record.fingerprint !== fingerprint) throw duplicateError();
      if (record.answer) return record.answer;
    }
    return failed('ENGINE_TIMEOUT', 'the first request with this id is still waiting for the engine');
  }

  private sendSubmit(user: AuthenticatedUser, order: OrderSubmitRequest): Promise<EngineResult<OrderSubmitResponse>> {
    const body: EngineOrderSubmitRequest = {
      clientOrderId: order.clientOrderId,
      account: order.account,
      instrument: order.instrument,
      side: order.side,
      type: order.type,
      quantity: order.quantity,
      ...(order.price !== undefined ? { price: order.price } : {}),
      ...(order.timeInForce !== undefined ? { timeInForce: order.timeInForce } : {}),
      ...origin(user),
    };
    return this.sendCommand('submit', body, parseSubmitReply);
  }

  /** An idempotent command's request to the engine, and whether it certainly never reached it. */
  private async sendCommand<C extends OrderCommand, T extends OrderCommandData>(
    command: C,
    body: OrderEngineRequests[C],
    parse: (reply: unknown) => EngineAnswer<T> | null,
  ): Promise<EngineResult<T>> {
    const channel = this.engine.channel;
    if (!channel) return { reached: false, answer: failed('ENGINE_UNAVAILABLE', NO_ENGINE) };
    let reply: unknown;
    try {
      reply = await this.timed(command, () => channel.request(command, body, this.timeoutMs));
    } catch (error) {
      // ENGINE_TIMEOUT is an answer like any other: the command may have reached the engine, so it is never sent again.
      if (error instanceof GatewayError) return { reached: error.code !== 'ENGINE_UNAVAILABLE', answer: { ok: false, error: error.toWire() } };
      return { reached: true, answer: { ok: false, error: this.unreadable(command, error).toWire() } };
    }
    const answer = parse(reply);
    return { reached: true, answer: answer ?? { ok: false, error: this.unreadable(command, reply).toWire() } };
  }

  private requireChannel(): OrderEngineChannel {
    const channel = this.engine.channel;
    if (!channel) throw new GatewayError('ENGINE_UNAVAILABLE', NO_ENGINE);
    return channel;
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

/** One idempotent command, as `idempotent` runs it. */
interface IdempotentCommand<T extends OrderCommandData> {
  command: OrderCommand;
  /** The checks before anything is claimed: a refusal here is not remembered. */
  check: () => void;
  key: string;
  fingerprint: string;
  /** The refusal of the same key used for a different command. */
  duplicate: () => GatewayError;
  send: () => Promise<EngineResult<T>>;
}

function origin(user: AuthenticatedUser): { userId: string; tenant: string; ts: number } {
  return { userId: user.userId, tenant: user.tenant, ts: Date.now() };
}

const NO_ENGINE = 'no engine serves order commands on this gateway (they need the NATS engine transport or the built-in simulator)';

function failed(code: ErrorCode, message: string): StoredOrderAnswer<never> {
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
