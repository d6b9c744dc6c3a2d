import type { TradewirePublisher } from '#libs/publisher';
import {
  MD_CHANNELS,
  type EngineOrderAmendReply,
  type EngineOrderAmendRequest,
  type EngineOrderCancelAllReply,
  type EngineOrderCancelAllRequest,
  type EngineOrderCancelReply,
  type EngineOrderCancelRequest,
  type EngineOrderSubmitReply,
  type EngineOrderSubmitRequest,
  type MdChannel,
  type OrderFields,
  type OrderSide,
} from '#libs/contracts';
import type { Instrument } from '../market-data/instrument-catalog.js';
import { mulberry32 } from './seeded-random.js';


export interface SimulatorOptions {
  /** Market-data events per second across all instruments. */
  rate: number;
  channels: MdChannel[];
  accounts: string[];
  /** Order events per second across all accounts (each fill also moves a position and the portfolio). */
  orderRate: number;
  bookDepth: number;
  /** Pseudo-random seed, so that a benchmark's load is the same run to run. */
  seed: number;
  /** Number market-data events per subject (`seq`), as engines that let the gateway see lost events do. */
  mdSeq?: boolean;
}

const BOOK_SNAPSHOT_EVERY_MS = 5_000;

function decimalsOf(step: string): number {
  const dot = step.indexOf('.');
  return dot < 0 ? 0 : step.length - dot - 1;
}

/** Prices are kept as integer ticks and formatted once: no float drift in what the engine publishes. */
class SimulatedInstrument {
  readonly tick: number;
  readonly decimals: number;
  readonly sizeDecimals: number;
  ticks: number;
  readonly openTicks: number;
  highTicks: number;
  lowTicks: number;
  volume = 0;
  tradeSeq = 0;
  /** Gone quiet (a dead feed handler, a stuck line): nothing of this instrument is published until it resumes. */
  quiet = false;
  /** The engine's seq per market-data channel (with `mdSeq`). */
  readonly mdSeqs: Record<MdChannel, number> = { quote: 0, trade: 0, book: 0 };
  /**
   * Seq numbers to skip at each channel's next market-data event: events "lost" on the way, as the gateway will see.
   * Per channel, so that the loss shows on whichever channels the gateway receives (over NATS, only those it wants).
   */
  readonly skipSeq: Record<MdChannel, number> = { quote: 0, trade: 0, book: 0 };
  readonly book = { bids: new Map<number, number>(), asks: new Map<number, number>() };

  constructor(
    readonly instrument: Instrument,
    random: () => number,
  ) {
    this.tick = Number(instrument.tickSize);
    this.decimals = decimalsOf(instrument.tickSize);
    this.sizeDecimals = decimalsOf(instrument.lotSize);
    this.ticks = Math.max(1, Math.round(Number(instrument.refPrice) / this.tick));
    this.openTicks = this.ticks;
    this.highTicks = this.ticks;
    this.lowTicks = this.ticks;
    this.volume = Math.round(random() * 1_000_000);
  }

  price(ticks = this.ticks): string {
    return (ticks * this.tick).toFixed(this.decimals);
  }

  size(lots: number): string {
    return (lots * Number(this.instrument.lotSize)).toFixed(this.sizeDecimals);
  }

  /** `EXCHANGE:SYMBOL`. */
  get key(): string {
    return `${this.instrument.exchange}:${this.instrument.symbol}`;
  }

  get subjectParts(): [string, string] {
    return [this.instrument.exchange, this.instrument.symbol];
  }
}

interface SimulatedOrder {
  fields: OrderFields;
  account: string;
  instrument: SimulatedInstrument;
  remainingLots: number;
  filledLots: number;
  priceTicks: number;
}

interface SimulatedPosition {
  lots: number;
  costTicks: number;
  realized: number;
}

/**
 * The built-in engine: random-walk quotes, trades and order-book deltas for the reference instruments, and order,
 * position and portfolio flows for demo accounts. The embedded default's engine, the demo's data and the benchmarks'
 * load source; it publishes exactly what a real engine would, on the contract's subjects.
 */
export class MarketSimulator {
  private readonly random: () => number;
  private readonly instruments: SimulatedInstrument[];
  private readonly byInstrument = new Map<string, SimulatedInstrument>();
  private readonly openOrders: SimulatedOrder[] = [];
  private readonly positions = new Map<string, Map<SimulatedInstrument, SimulatedPosition>>();
  private readonly cash = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private mdCredit = 0;
  private orderCredit = 0;
  /** Book snapshots are re-published round-robin, each instrument about every BOOK_SNAPSHOT_EVERY_MS, as real feeds do:
   * a gateway that starts listening to an instrument late gets a whole book within that time. */
  private bookSnapshotCredit = 0;
  private nextBookSnapshot = 0;
  private orderSeq = 0;
  private lastTickAt = 0;

  constructor(
    instruments: Instrument[],
    private readonly options: SimulatorOptions,
    /** Where the events go (the in-process transport, NATS or Redis): typed, and checked as the gateway checks them. */
    private readonly publisher: TradewirePublisher,
  ) {
    this.random = mulberry32(options.seed);
    this.instruments = instruments.map((instrument) => new SimulatedInstrument(instrument, this.random));
    for (const sim of this.instruments) this.byInstrument.set(`${sim.instrument.exchange}:${sim.instrument.symbol}`, sim);
    for (const account of options.accounts) this.cash.set(account, 1_000_000);
  }

  start(tickMs = 10): void {
    this.publishInitialState();
    this.lastTickAt = performance.now();
    this.timer = setInterval(() => this.tick(), tickMs);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Events published so far. */
  get published(): number {
    return this.publisher.published;
  }

  get running(): boolean {
    return this.timer !== undefined;
  }

  // ---- feed faults, for trying the gateway's feed health (the `status` channel); see simulate.cli.ts --control

  /** The instrument publishes nothing until `resume`. Returns false for an instrument the simulator does not have. */
  quiet(instrument: string): boolean {
    const sim = this.byInstrument.get(instrument);
    if (sim) sim.quiet = true;
    return sim !== undefined;
  }

  resume(instrument: string): boolean {
    const sim = this.byInstrument.get(instrument);
    if (sim) sim.quiet = false;
    return sim !== undefined;
  }

  /** The next market-data event of each channel of the instrument skips `count` seq numbers (with `mdSeq`): lost events. */
  skipSeq(instrument: string, count: number): boolean {
    const sim = this.byInstrument.get(instrument);
    if (sim) for (const channel of MD_CHANNELS) sim.skipSeq[channel] += count;
    return sim !== undefined;
  }

  /** An engine session event for the exchange: `HALTED` halts it, `OPEN` resumes it (docs/protocol.md §7.1). */
  session(exchange: string, status: 'HALTED' | 'OPEN' | 'CLOSED' | 'PRE_OPEN'): void {
    this.publisher.session(exchange, { status, ts: Date.now() });
  }

  /**
   * A quote and a book snapshot per instrument and a first portfolio per account, so dashboards have state at once.
   * Sessions come from the gateway's trading calendars; the simulator, like a real engine, only sends overrides.
   */
  publishInitialState(): void {
    const now = Date.now();
    for (const sim of this.instruments) {
      if (this.options.channels.includes('quote')) this.emitQuote(sim, now);
      if (this.options.channels.includes('book')) this.emitBookSnapshot(sim, now);
    }
    for (const account of this.options.accounts) this.emitPortfolio(account, now);
  }

  /**
   * `engine.order.submit`, answered as an engine would: an order for a listed instrument in whole lots is accepted
   * (`new`, and its `order` event is published), anything else is refused with the contract's codes. Accepted orders
   * then fill and cancel at random like the simulator's own.
   */
  submitOrder(request: EngineOrderSubmitRequest): EngineOrderSubmitReply {
    const sim = this.byInstrument.get(request.instrument);
    if (!sim) return { code: 'UNKNOWN_SYMBOL', message: `${request.instrument} is not traded here` };
    const lotSize = Number(sim.instrument.lotSize);
    // Rounded, then checked: 0.015 / 0.001 is not exactly 15 in binary floating point.
    const lots = Math.round(Number(request.quantity) / lotSize);
    if (lots < 1 || Math.abs(lots * lotSize - Number(request.quantity)) > lotSize * 1e-6) return { code: 'INVALID_REQUEST', message: `quantity must be a whole number of lots of ${sim.instrument.lotSize}` };
    const priceTicks = request.type === 'market' || request.price === undefined ? sim.ticks : Math.round(Number(request.price) / sim.tick);
    if (!(priceTicks >= 1)) return { code: 'INVALID_REQUEST', message: 'price must be at least one tick' };
    this.orderSeq += 1;
    const order: SimulatedOrder = {
      account: request.account,
      instrument: sim,
      remainingLots: lots,
      filledLots: 0,
      priceTicks,
      fields: {
        orderId: `SIM-${this.orderSeq}`,
        clientOrderId: request.clientOrderId,
        symbol: request.instrument,
        side: request.side,
        type: request.type,
        status: 'new',
        execType: 'new',
        quantity: sim.size(lots),
        filledQuantity: sim.size(0),
        leavesQuantity: sim.size(lots),
        ...(request.type === 'market' ? {} : { price: sim.price(priceTicks) }),
      },
    };
    this.openOrders.push(order);
    this.emitOrder(order, Date.now(), {});
    return { orderId: order.fields.orderId, status: 'new' };
  }

  /** `engine.order.cancel`: a working order of the account, by `orderId` or `clientOrderId`, is canceled at once. */
  cancelOrder(request: EngineOrderCancelRequest): EngineOrderCancelReply {
    const index = this.openOrders.findIndex(
      (order) =>
        order.account === request.account &&
        (request.orderId !== undefined ? order.fields.orderId === request.orderId : order.fields.clientOrderId === request.clientOrderId),
    );
    const order = this.openOrders[index];
    if (!order) return { code: 'INVALID_REQUEST', message: 'no working order of this account has that id' };
    this.openOrders.splice(index, 1);
    this.emitOrder(order, Date.now(), { status: 'canceled', execType: 'canceled' });
    return { status: 'canceled' };
  }

  /** `engine.order.cancel-all`: every working order of the account (of `instrument` and/or `side` when given), at once. */
  cancelAllOrders(request: EngineOrderCancelAllRequest): EngineOrderCancelAllReply {
    const now = Date.now();
    const matches = (order: SimulatedOrder) =>
      order.account === request.account && (request.instrument === undefined || order.fields.symbol === request.instrument) && (request.side === undefined || order.fields.side === request.side);
    const canceled = this.openOrders.filter(matches);
    for (const order of canceled) {
      this.openOrders.splice(this.openOrders.indexOf(order), 1);
      this.emitOrder(order, now, { status: 'canceled', execType: 'canceled' });
    }
    return { orderIds: canceled.map((order) => order.fields.orderId) };
  }

  /**
   * `engine.order.amend` (FIX OrderCancelReplace): a working order of the account, by `orderId` or
   * `origClientOrderId`, gets its new total quantity (more than what has filled, in whole lots) and/or price, and the
   * replacement's `clientOrderId`; its `order` event says `execType: 'replaced'`. It keeps its `orderId`.
   */
  amendOrder(request: EngineOrderAmendRequest): EngineOrderAmendReply {
    const order = this.openOrders.find(
      (candidate) =>
        candidate.account === request.account &&
        (request.orderId !== undefined ? candidate.fields.orderId === request.orderId : candidate.fields.clientOrderId === request.origClientOrderId),
    );
    if (!order) return { code: 'INVALID_REQUEST', message: 'no working order of this account has that id' };
    const sim = order.instrument;
    let totalLots = order.filledLots + order.remainingLots;
    if (request.quantity !== undefined) {
      const lotSize = Number(sim.instrument.lotSize);
      totalLots = Math.round(Number(request.quantity) / lotSize);
      if (Math.abs(totalLots * lotSize - Number(request.quantity)) > lotSize * 1e-6) return { code: 'INVALID_REQUEST', message: `quantity must be a whole number of lots of ${sim.instrument.lotSize}` };
      if (totalLots <= order.filledLots) return { code: 'INVALID_REQUEST', message: `quantity must be more than the ${sim.size(order.filledLots)} already filled` };
    }
    let priceTicks = order.priceTicks;
    if (request.price !== undefined) {
      if (order.fields.type === 'market') return { code: 'INVALID_REQUEST', message: 'a market order has no price to amend' };
      priceTicks = Math.round(Number(request.price) / sim.tick);
      if (!(priceTicks >= 1)) return { code: 'INVALID_REQUEST', message: 'price must be at least one tick' };
    }
    order.remainingLots = totalLots - order.filledLots;
    order.priceTicks = priceTicks;
    this.emitOrder(order, Date.now(), {
      clientOrderId: request.clientOrderId,
      quantity: sim.size(totalLots),
      ...(order.fields.type === 'market' ? {} : { price: sim.price(priceTicks) }),
      status: order.filledLots > 0 ? 'partially_filled' : 'new',
      execType: 'replaced',
    });
    return { orderId: order.fields.orderId, status: order.fields.status };
  }

  private tick(): void {
    const nowPerf = performance.now();
    const elapsed = (nowPerf - this.lastTickAt) / 1000;
    this.lastTickAt = nowPerf;
    // Credits carry fractions over, and are capped so that a stalled loop does not answer with a burst.
    this.mdCredit = Math.min(this.mdCredit + this.options.rate * elapsed, this.options.rate);
    this.orderCredit = Math.min(this.orderCredit + this.options.orderRate * elapsed, Math.max(1, this.options.orderRate));
    const now = Date.now();
    while (this.mdCredit >= 1) {
      this.mdCredit -= 1;
      this.marketEvent(now);
    }
    if (this.options.channels.includes('book') && this.instruments.length > 0) {
      this.bookSnapshotCredit += (this.instruments.length * elapsed * 1000) / BOOK_SNAPSHOT_EVERY_MS;
      while (this.bookSnapshotCredit >= 1) {
        this.bookSnapshotCredit -= 1;
        const sim = this.instruments[this.nextBookSnapshot++ % this.instruments.length];
        if (sim) this.emitBookSnapshot(sim, now);
      }
    }
    while (this.orderCredit >= 1 && this.options.accounts.length > 0) {
      this.orderCredit -= 1;
      this.orderEvent(now);
    }
  }

  private marketEvent(now: number): void {
    const sim = this.instruments[Math.floor(this.random() * this.instruments.length)];
    if (!sim) return;
    const roll = this.random();
    const channels = this.options.channels;
    const wantsTrade = channels.includes('trade') && roll < 0.2;
    const wantsBook = channels.includes('book') && roll >= 0.2 && roll < 0.35;
    if (wantsTrade) this.emitTrade(sim, now);
    else if (wantsBook) this.emitBookDelta(sim, now);
    else if (channels.includes('quote')) {
      this.walk(sim);
      this.emitQuote(sim, now);
    } else if (channels.includes('trade')) this.emitTrade(sim, now);
    else this.emitBookDelta(sim, now);
  }

  private walk(sim: SimulatedInstrument): void {
    const step = Math.floor(this.random() * 5) - 2;
    sim.ticks = Math.max(1, sim.ticks + step);
    sim.highTicks = Math.max(sim.highTicks, sim.ticks);
    sim.lowTicks = Math.min(sim.lowTicks, sim.ticks);
  }

  private emitQuote(sim: SimulatedInstrument, now: number): void {
    const spread = 1 + Math.floor(this.random() * 3);
    const numbered = this.numbered(sim, 'quote');
    if (!numbered) return;
    this.publisher.quote(sim.key, {
      ...numbered,
      bid: sim.price(sim.ticks - spread),
      ask: sim.price(sim.ticks + spread),
      bidSize: sim.size(1 + Math.floor(this.random() * 500)),
      askSize: sim.size(1 + Math.floor(this.random() * 500)),
      last: sim.price(),
      lastSize: sim.size(1 + Math.floor(this.random() * 100)),
      volume: sim.size(sim.volume),
      open: sim.price(sim.openTicks),
      high: sim.price(sim.highTicks),
      low: sim.price(sim.lowTicks),
      prevClose: sim.price(sim.openTicks),
      ts: now,
    });
  }

  private emitTrade(sim: SimulatedInstrument, now: number): void {
    this.walk(sim);
    const lots = 1 + Math.floor(this.random() * 200);
    sim.volume += lots;
    sim.tradeSeq += 1;
    const [, symbol] = sim.subjectParts;
    const numbered = this.numbered(sim, 'trade');
    if (!numbered) return;
    this.publisher.trade(sim.key, {
      ...numbered,
      price: sim.price(),
      size: sim.size(lots),
      side: this.random() < 0.5 ? 'buy' : 'sell',
      tradeId: `${symbol}-${sim.tradeSeq}`,
      ts: now,
    });
  }

  private emitBookSnapshot(sim: SimulatedInstrument, now: number): void {
    sim.book.bids.clear();
    sim.book.asks.clear();
    for (let level = 1; level <= this.options.bookDepth; level++) {
      sim.book.bids.set(sim.ticks - level, 1 + Math.floor(this.random() * 1000));
      sim.book.asks.set(sim.ticks + level, 1 + Math.floor(this.random() * 1000));
    }
    const side = (levels: Map<number, number>) => [...levels].map(([ticks, lots]): [string, string] => [sim.price(ticks), sim.size(lots)]);
    const numbered = this.numbered(sim, 'book');
    if (!numbered) return;
    this.publisher.book(sim.key, { ...numbered, type: 'snapshot', bids: side(sim.book.bids), asks: side(sim.book.asks), ts: now });
  }

  private emitBookDelta(sim: SimulatedInstrument, now: number): void {
    if (sim.book.bids.size === 0) return this.emitBookSnapshot(sim, now);
    const isBid = this.random() < 0.5;
    const levels = isBid ? sim.book.bids : sim.book.asks;
    const keys = [...levels.keys()];
    const ticks = keys[Math.floor(this.random() * keys.length)] ?? sim.ticks;
    // Mostly size changes; now and then a level empties and a new one appears further out.
    const changes: [string, string][] = [];
    if (this.random() < 0.15 && levels.size > 2) {
      levels.delete(ticks);
      changes.push([sim.price(ticks), '0']);
      const outer = isBid ? Math.min(...levels.keys()) - 1 : Math.max(...levels.keys()) + 1;
      const lots = 1 + Math.floor(this.random() * 1000);
      levels.set(outer, lots);
      changes.push([sim.price(outer), sim.size(lots)]);
    } else {
      const lots = 1 + Math.floor(this.random() * 1000);
      levels.set(ticks, lots);
      changes.push([sim.price(ticks), sim.size(lots)]);
    }
    const numbered = this.numbered(sim, 'book');
    if (!numbered) return;
    this.publisher.book(sim.key, { ...numbered, type: 'delta', bids: isBid ? changes : [], asks: isBid ? [] : changes, ts: now });
  }

  private orderEvent(now: number): void {
    const working = this.openOrders.length;
    if (working === 0 || (working < 20 && this.random() < 0.4)) return this.newOrder(now);
    const index = Math.floor(this.random() * working);
    const order = this.openOrders[index];
    if (!order) return;
    if (this.random() < 0.1) {
      this.openOrders.splice(index, 1);
      return this.emitOrder(order, now, { status: 'canceled', execType: 'canceled' });
    }
    const lots = Math.min(order.remainingLots, 1 + Math.floor(this.random() * order.remainingLots));
    order.remainingLots -= lots;
    order.filledLots += lots;
    const done = order.remainingLots === 0;
    if (done) this.openOrders.splice(index, 1);
    this.emitOrder(order, now, {
      status: done ? 'filled' : 'partially_filled',
      execType: 'trade',
      lastFillPrice: order.instrument.price(order.priceTicks),
      lastFillQuantity: order.instrument.size(lots),
      avgPrice: order.instrument.price(order.priceTicks),
    });
    this.applyFill(order, lots, now);
  }

  private newOrder(now: number): void {
    const account = this.options.accounts[Math.floor(this.random() * this.options.accounts.length)];
    const sim = this.instruments[Math.floor(this.random() * this.instruments.length)];
    if (!account || !sim) return;
    this.orderSeq += 1;
    const side: OrderSide = this.random() < 0.5 ? 'buy' : 'sell';
    const lots = 10 * (1 + Math.floor(this.random() * 20));
    const order: SimulatedOrder = {
      account,
      instrument: sim,
      remainingLots: lots,
      filledLots: 0,
      priceTicks: sim.ticks,
      fields: {
        orderId: `SIM-${this.orderSeq}`,
        clientOrderId: `sim-${this.orderSeq}`,
        symbol: `${sim.instrument.exchange}:${sim.instrument.symbol}`,
        side,
        type: 'limit',
        status: 'new',
        execType: 'new',
        quantity: sim.size(lots),
        filledQuantity: sim.size(0),
        leavesQuantity: sim.size(lots),
        price: sim.price(),
      },
    };
    this.openOrders.push(order);
    this.emitOrder(order, now, {});
  }

  private emitOrder(order: SimulatedOrder, now: number, change: Partial<OrderFields>): void {
    const sim = order.instrument;
    const leaves = change.status === 'canceled' ? 0 : order.remainingLots;
    order.fields = { ...order.fields, ...change, filledQuantity: sim.size(order.filledLots), leavesQuantity: sim.size(leaves) };
    this.publisher.order(order.account, { ...order.fields, ts: now });
  }

  private applyFill(order: SimulatedOrder, lots: number, now: number): void {
    const sim = order.instrument;
    let book = this.positions.get(order.account);
    if (!book) {
      book = new Map();
      this.positions.set(order.account, book);
    }
    const position = book.get(sim) ?? { lots: 0, costTicks: 0, realized: 0 };
    const signed = order.fields.side === 'buy' ? lots : -lots;
    const lotValue = Number(sim.instrument.lotSize) * sim.tick;
    if (position.lots === 0 || Math.sign(position.lots) === Math.sign(signed)) {
      position.costTicks += signed * order.priceTicks;
    } else {
      const avg = position.costTicks / position.lots;
      position.realized += (order.priceTicks - avg) * -signed * lotValue;
      position.costTicks += signed * avg;
    }
    position.lots += signed;
    if (position.lots === 0) position.costTicks = 0;
    book.set(sim, position);
    this.cash.set(order.account, (this.cash.get(order.account) ?? 0) - signed * order.priceTicks * lotValue);
    const avgTicks = position.lots === 0 ? 0 : position.costTicks / position.lots;
    const marketValue = position.lots * sim.ticks * lotValue;
    const unrealized = (sim.ticks - avgTicks) * position.lots * lotValue;
    this.publisher.position(order.account, {
      symbol: `${sim.instrument.exchange}:${sim.instrument.symbol}`,
      quantity: sim.size(position.lots),
      avgPrice: (avgTicks * sim.tick).toFixed(sim.decimals),
      marketPrice: sim.price(),
      marketValue: marketValue.toFixed(2),
      unrealizedPnl: unrealized.toFixed(2),
      realizedPnl: position.realized.toFixed(2),
      dayPnl: (unrealized + position.realized).toFixed(2),
      ts: now,
    });
    this.emitPortfolio(order.account, now);
  }

  private emitPortfolio(account: string, now: number): void {
    let marketValue = 0;
    let pnl = 0;
    for (const [sim, position] of this.positions.get(account) ?? []) {
      const lotValue = Number(sim.instrument.lotSize) * sim.tick;
      marketValue += position.lots * sim.ticks * lotValue;
      const avgTicks = position.lots === 0 ? 0 : position.costTicks / position.lots;
      pnl += (sim.ticks - avgTicks) * position.lots * lotValue + position.realized;
    }
    const cash = this.cash.get(account) ?? 0;
    this.publisher.portfolio(account, {
      currency: 'USD',
      equity: (cash + marketValue).toFixed(2),
      cash: cash.toFixed(2),
      buyingPower: Math.max(0, cash * 2).toFixed(2),
      marketValue: marketValue.toFixed(2),
      dayPnl: pnl.toFixed(2),
      totalPnl: pnl.toFixed(2),
      ts: now,
    });
  }

  /**
   * Whether `sim` publishes now (undefined: it is quiet) and, with `mdSeq`, the engine seq of its next event on
   * `channel` (numbered per subject, skipping what `skipSeq` lost).
   */
  private numbered(sim: SimulatedInstrument, channel: MdChannel): { seq?: number } | undefined {
    if (sim.quiet) return undefined;
    if (!this.options.mdSeq) return {};
    sim.mdSeqs[channel] += 1 + sim.skipSeq[channel];
    sim.skipSeq[channel] = 0;
    return { seq: sim.mdSeqs[channel] };
  }
}
