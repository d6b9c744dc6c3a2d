import { connect, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import type { BookLevel, EngineOrderAmendRequest, EngineOrderCancelAllRequest, EngineOrderCancelRequest, EngineOrderSubmitRequest } from '#libs/contracts';

export interface TestEngineOptions {
  /** How long the engine takes to answer a submit: long enough that repeats (or a replica's death) can come first. */
  submitReplyDelayMs?: number;
  /** Publish each accepted order's `new` event on `acct.{account}.order`, numbered by the engine, as a real engine does. */
  publishOrderEvents?: boolean;
  /** Refuse (INVALID_REQUEST) a cancel of an order that is not working, as a real engine does; else answer every cancel. */
  strictCancels?: boolean;
}

/**
 * A test engine on NATS, with the real client. It answers `engine.order.submit` (docs/protocol.md §7.3) after a
 * delay and records every request it sees; `silent-*` orders get no answer and `refuse-*` orders are refused with
 * UNKNOWN_SYMBOL, as an engine would. It also publishes what an engine publishes — account events numbered per
 * account, market data — so that a test drives the gateway from the engine's side of the wire only.
 */
export class TestEngine {
  readonly submits: EngineOrderSubmitRequest[] = [];
  readonly cancels: EngineOrderCancelRequest[] = [];
  readonly cancelAlls: EngineOrderCancelAllRequest[] = [];
  readonly amends: EngineOrderAmendRequest[] = [];
  /** Working orders by orderId, as accepted: what cancel-all and amend act on. */
  private readonly working = new Map<string, EngineOrderSubmitRequest & { orderId: string }>();
  /** How long the engine takes to answer a submit; a test may change it between orders. */
  submitReplyDelayMs: number;
  private subscriptions: Subscription[] = [];
  private nextOrder = 1;
  /** The engine's own per-account seq: the same on every replica, so a client resuming elsewhere misses nothing. */
  private readonly accountSeqs = new Map<string, number>();

  private constructor(
    readonly nc: NatsConnection,
    private readonly options: TestEngineOptions,
  ) {
    this.submitReplyDelayMs = options.submitReplyDelayMs ?? 150;
  }

  static async start(url: string, options: TestEngineOptions = {}): Promise<TestEngine> {
    const engine = new TestEngine(await connect({ servers: url }), options);
    await engine.listen();
    return engine;
  }

  async listen(): Promise<void> {
    this.subscriptions = [
      this.nc.subscribe('engine.order.submit', { callback: (_error, msg) => this.onSubmit(msg) }),
      this.nc.subscribe('engine.order.cancel', { callback: (_error, msg) => this.onCancel(msg) }),
      this.nc.subscribe('engine.order.cancel-all', { callback: (_error, msg) => this.onCancelAll(msg) }),
      this.nc.subscribe('engine.order.amend', { callback: (_error, msg) => this.onAmend(msg) }),
    ];
    await this.nc.flush();
  }

  async stopListening(): Promise<void> {
    for (const subscription of this.subscriptions) subscription.unsubscribe();
    this.subscriptions = [];
    await this.nc.flush();
  }

  submitsOf(clientOrderId: string): EngineOrderSubmitRequest[] {
    return this.submits.filter((s) => s.clientOrderId === clientOrderId);
  }

  /** Publishes an `order` event for `account` with the engine's next seq for it; returns that seq. */
  publishOrder(account: string, fields: Record<string, unknown>): number {
    const seq = (this.accountSeqs.get(account) ?? 0) + 1;
    this.accountSeqs.set(account, seq);
    this.nc.publish(`acct.${account}.order`, JSON.stringify({ ...fields, seq, ts: Date.now() }));
    return seq;
  }

  /** An engine book event (`md.book.{EXCHANGE}.{SYMBOL}`, docs/protocol.md §7.1). */
  publishBook(instrument: string, type: 'snapshot' | 'delta', bids: BookLevel[], asks: BookLevel[]): void {
    this.nc.publish(`md.book.${instrument.replace(':', '.')}`, JSON.stringify({ type, bids, asks, ts: Date.now() }));
  }

  /** An engine quote; `seq` is the engine's own number of the subject, when the test numbers them (feed health). */
  publishQuote(instrument: string, bid: string, ask: string, seq?: number): void {
    const quote = { bid, ask, bidSize: '100', askSize: '100', last: bid, lastSize: '1', volume: '1000', ts: Date.now(), ...(seq === undefined ? {} : { seq }) };
    this.nc.publish(`md.quote.${instrument.replace(':', '.')}`, JSON.stringify(quote));
  }

  /** An engine session event (`md.session.{EXCHANGE}`): a halt, a resume. */
  publishSession(exchange: string, status: 'PRE_OPEN' | 'OPEN' | 'CLOSED' | 'HALTED'): void {
    this.nc.publish(`md.session.${exchange}`, JSON.stringify({ status, ts: Date.now() }));
  }

  async flush(): Promise<void> {
    await this.nc.flush();
  }

  async close(): Promise<void> {
    await this.nc.close();
  }

  private onSubmit(msg: Msg): void {
    const order = msg.json<EngineOrderSubmitRequest>();
    this.submits.push(order);
    if (order.clientOrderId.startsWith('silent-')) return;
    if (order.clientOrderId.startsWith('refuse-')) {
      msg.respond(JSON.stringify({ code: 'UNKNOWN_SYMBOL', message: `${order.instrument} is not traded on this venue` }));
      return;
    }
    const orderId = `O-${this.nextOrder++}`;
    this.working.set(orderId, { ...order, orderId });
    if (this.options.publishOrderEvents) {
      this.publishOrder(order.account, this.orderFields({ ...order, orderId }));
    }
    setTimeout(() => msg.respond(JSON.stringify({ orderId, status: 'new' })), this.submitReplyDelayMs);
  }

  /** The orders still working (accepted, not canceled), by orderId. */
  workingOrderIds(): string[] {
    return [...this.working.keys()];
  }

  /** Cancels a working order named by orderId or clientOrderId (publishing its `canceled` event when it publishes events). */
  private onCancel(msg: Msg): void {
    const request = msg.json<EngineOrderCancelRequest>();
    this.cancels.push(request);
    const order = [...this.working.values()].find(
      (candidate) => candidate.account === request.account && (request.orderId !== undefined ? candidate.orderId === request.orderId : candidate.clientOrderId === request.clientOrderId),
    );
    if (order) {
      this.working.delete(order.orderId);
      if (this.options.publishOrderEvents) this.publishOrder(order.account, { ...this.orderFields(order), status: 'canceled', execType: 'canceled', leavesQuantity: '0' });
    } else if (this.options.strictCancels) {
      msg.respond(JSON.stringify({ code: 'INVALID_REQUEST', message: 'no working order of this account has that id' }));
      return;
    }
    msg.respond(JSON.stringify({ status: 'pending_cancel' }));
  }

  /** Cancels the account's working orders that match; publishes each one's `canceled` event when it publishes events. */
  private onCancelAll(msg: Msg): void {
    const request = msg.json<EngineOrderCancelAllRequest>();
    this.cancelAlls.push(request);
    const matching = [...this.working.values()].filter(
      (order) => order.account === request.account && (request.instrument === undefined || order.instrument === request.instrument) && (request.side === undefined || order.side === request.side),
    );
    for (const order of matching) {
      this.working.delete(order.orderId);
      if (this.options.publishOrderEvents) this.publishOrder(order.account, { ...this.orderFields(order), status: 'canceled', execType: 'canceled', leavesQuantity: '0' });
    }
    setTimeout(() => msg.respond(JSON.stringify({ orderIds: matching.map((order) => order.orderId) })), this.submitReplyDelayMs);
  }

  /** Replaces a working order's quantity and/or price and clientOrderId (FIX OrderCancelReplace). */
  private onAmend(msg: Msg): void {
    const request = msg.json<EngineOrderAmendRequest>();
    this.amends.push(request);
    const order = [...this.working.values()].find(
      (candidate) => candidate.account === request.account && (request.orderId !== undefined ? candidate.orderId === request.orderId : candidate.clientOrderId === request.origClientOrderId),
    );
    if (!order) {
      msg.respond(JSON.stringify({ code: 'INVALID_REQUEST', message: 'no working order of this account has that id' }));
      return;
    }
    const replaced = { ...order, clientOrderId: request.clientOrderId, quantity: request.quantity ?? order.quantity, ...(request.price !== undefined ? { price: request.price } : {}) };
    this.working.set(order.orderId, replaced);
    if (this.options.publishOrderEvents) this.publishOrder(order.account, { ...this.orderFields(replaced), execType: 'replaced' });
    setTimeout(() => msg.respond(JSON.stringify({ orderId: order.orderId, status: 'new' })), this.submitReplyDelayMs);
  }

  private orderFields(order: EngineOrderSubmitRequest & { orderId: string }): Record<string, unknown> {
    return {
      orderId: order.orderId,
      clientOrderId: order.clientOrderId,
      symbol: order.instrument,
      side: order.side,
      type: order.type,
      status: 'new',
      execType: 'new',
      quantity: order.quantity,
      filledQuantity: '0',
      leavesQuantity: order.quantity,
      ...(order.price === undefined ? {} : { price: order.price }),
    };
  }
}
