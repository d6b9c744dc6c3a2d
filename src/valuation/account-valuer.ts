import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { Counter, Gauge } from 'prom-client';
import { instrumentFromMdSubject, NAMESPACES, streamName, VALUATION_EVENTS, type AccountEvent, type AccountKind, type Decimal, type Licence, type PortfolioValuation, type PositionsValuation, type QuoteData, type ValuedPosition } from '#libs/contracts';
import { checkMarketDataEntitlement, exchangeAccess } from '#libs/licensing';
import { PINO_LOGGER, type Logger } from '#libs/observability';
import { engineMessage, eventPacket, eventPacketPrefix, type AccountStream, type GatewaySocket } from '#libs/realtime';
import { accountStreamToken } from '../account-streams/account-stream-events.js';
import { AppConfig } from '../config/index.js';
import { EngineEventTaps } from '../engine/engine-event-taps.js';
import { QuoteChannel } from '../market-data/channels/quote.channel.js';
import { InstrumentCatalog, type Instrument } from '../market-data/instrument-catalog.js';
import { MarketDataService } from '../market-data/market-data.service.js';
import { isZero, revaluePortfolio, revaluePosition, samePrice, type Mark, type PortfolioContribution } from './mark-to-market.js';
import { VALUATION_METRICS } from './valuation.metrics.js';

/** How a watcher may see an exchange's prices: the licence's quote entitlement, as market data applies it. */
type PriceAccess = 'realtime' | 'delayed' | 'none';

/** What the watchers of one pricing view were last sent for an account. */
interface ViewState {
  /** Per symbol: the engine position's seq and the price of the last valuation sent for it. */
  prices: Map<string, { seq: number; price: Decimal }>;
  /** The seq of the engine portfolio event the view last looked at. */
  portfolioSeq: number | undefined;
}

interface AccountState {
  /** Keyed by the view's signature (`LSE=delayed;NASDAQ=realtime`). */
  views: Map<string, ViewState>;
  /**
   * The view each watcher was in at the last valuation: one that was not (new, subscribed again, or its licence
   * changed) is sent all of the view's valuation, not only what moved.
   */
  known: Map<GatewaySocket, string>;
  /** The positions of an account watched on /portfolio alone were asked for from the account log once. */
  positionsPrepared: boolean;
}

/** The watchers of one account that price it alike, split by namespace and by whether they are new to the view. */
interface ViewGroup {
  access: Map<string, PriceAccess>;
  positionWatchers: GatewaySocket[];
  newPositionWatchers: GatewaySocket[];
  portfolioWatchers: GatewaySocket[];
  newPortfolioWatchers: GatewaySocket[];
}

/** One held position of an account as one view prices it. */
interface PricedPosition {
  position: AccountEvent<'position'>;
  instrument: Instrument;
  mark: Mark;
  /** The price differs from the engine's own mark (what a new watcher's snapshot shows); worked out when needed. */
  offEngine: () => boolean;
  /** The price differs from what this view's watchers were last shown. */
  moved: boolean;
  revalued?: ReturnType<typeof revaluePosition>;
}

/**
 * Live mark-to-market (docs/protocol.md §6.8). While an account is watched on /positions or /portfolio, at most once
 * per VALUATION_INTERVAL_MS, its positions and portfolio are revalued from the quotes this replica holds, and only
 * when a price moved; the valuation goes to the account's watchers as a `positions:valuation` / `portfolio:valuation`
 * event: derived, never sequenced, logged or replayed. The work is per account, not per client: watchers who price
 * the account alike (the same real-time or delayed access to its exchanges) share one valuation, serialized once.
 *
 * Quotes: the instruments held in watched accounts are kept coming in through the market-data service like one more
 * local subscriber of their quote streams (engine interest over NATS), and released when nobody watches any more; each
 * quote is observed through EngineEventTaps once the quote channel applied it. A watcher whose licence has an exchange
 * `delayed` is shown the delayed price (the delay line's latest release, none in the first MD_DELAY_MS); one with no
 * quote entitlement for the exchange keeps the engine's figures for those positions.
 *
 * Valuations go to the watchers through each account stream's own delivery (`sendDerived`): a watcher that is behind
 * gets them conflated to the latest per account, after the events it is owed, like the stream's own events.
 */
@Injectable()
export class AccountValuer implements OnModuleInit, OnApplicationBootstrap, OnModuleDestroy {
  private timer: NodeJS.Timeout | undefined;
  /** Real-time quotes of the held instruments: the last price (`last`) and its engine time. */
  private readonly quotes = new Map<string, { price: Decimal; ts: number }>();
  private readonly heldLive = new Set<string>();
  private readonly heldDelayed = new Set<string>();
  private readonly accounts = new Map<string, AccountState>();
  private readonly positionsPrefix = eventPacketPrefix(NAMESPACES.positions, VALUATION_EVENTS.positions);
  private readonly portfolioPrefix = eventPacketPrefix(NAMESPACES.portfolio, VALUATION_EVENTS.portfolio);
  private readonly intervalMs: number;
  /** The /positions and /portfolio streams (AccountStreamModule.forKind), found once every module is instantiated. */
  private positions!: AccountStream<'position'>;
  private portfolio!: AccountStream<'portfolio'>;

  constructor(
    config: AppConfig,
    private readonly moduleRef: ModuleRef,
    private readonly marketData: MarketDataService,
    private readonly quoteChannel: QuoteChannel,
    private readonly taps: EngineEventTaps,
    private readonly catalog: InstrumentCatalog,
    @Inject(PINO_LOGGER) private readonly logger: Logger,
    @InjectMetric(VALUATION_METRICS.valuations) private readonly valuations: Counter<string>,
    @InjectMetric(VALUATION_METRICS.accounts) private readonly valuedAccounts: Gauge<string>,
    @InjectMetric(VALUATION_METRICS.instruments) private readonly heldInstruments: Gauge<string>,
  ) {
    this.intervalMs = config.valuationIntervalMs;
  }

  onModuleInit(): void {
    this.positions = this.accountStream<'position'>('position');
    this.portfolio = this.accountStream<'portfolio'>('portfolio');
  }

  onApplicationBootstrap(): void {
    if (this.intervalMs === 0) return;
    // A quote the quote channel applied (EngineEventTaps): a map lookup for instruments not held, on the hot path.
    this.taps.observe('quote', (subject, value) => this.onQuote(subject, value as { ts: number; data: QuoteData }));
    // A socket that (re)subscribes holds the engine's figures again: the next round treats it as new to its view.
    const forget = (socket: GatewaySocket, account: string) => this.accounts.get(account)?.known.delete(socket);
    this.positions.observeWatches(forget);
    this.portfolio.observeWatches(forget);
    // One timer for every account: two valuations of an account are at least one interval apart.
    this.timer = setInterval(() => this.valueWatchedAccounts(), this.intervalMs);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    // Only the rounds stop: the engine subscriptions end with the transports, the delay line with market data.
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private onQuote(subject: string, quote: { ts: number; data: QuoteData }): void {
    if (this.heldLive.size === 0) return;
    const instrument = instrumentFromMdSubject(subject);
    if (instrument && this.heldLive.has(instrument)) this.quotes.set(instrument, { price: quote.data.last, ts: quote.ts });
  }

  /** The account stream of a kind, made by AccountStreamModule.forKind in another module (its own instance). */
  private accountStream<K extends AccountKind>(kind: K): AccountStream<K> {
    // The token of kind K provides that kind's stream (accountStreamToken erases K).
    return this.moduleRef.get<AccountStream<AccountKind>, AccountStream<K>>(accountStreamToken(kind), { strict: false });
  }

  /** One round: every watched account, then the quotes the round needed are held and the others released. */
  private valueWatchedAccounts(): void {
    try {
      const now = Date.now();
      const wantLive = new Set<string>();
      const wantDelayed = new Set<string>();
      const watched = new Set([...this.positions.watchedAccounts(), ...this.portfolio.watchedAccounts()]);
      for (const account of watched) this.valueAccount(account, now, wantLive, wantDelayed);
      for (const account of this.accounts.keys()) if (!watched.has(account)) this.accounts.delete(account);
      this.followQuotes(wantLive, wantDelayed);
      this.valuedAccounts.set(watched.size);
    } catch (error) {
      // A bug here must not take the process down from a timer; the next round starts afresh.
      this.logger.error({ err: error }, 'account valuation round failed');
    }
  }

  private valueAccount(account: string, now: number, wantLive: Set<string>, wantDelayed: Set<string>): void {
    let state = this.accounts.get(account);
    if (!state) {
      state = { views: new Map(), known: new Map(), positionsPrepared: false };
      this.accounts.set(account, state);
    }
    const positionWatchers = this.positions.watchersOf(account);
    if (!state.positionsPrepared) {
      state.positionsPrepared = true;
      // Watched on /portfolio alone, the positions may never have been read back from the account log on this
      // replica: read them now (never rejects; a failure leaves this replica's own state).
      if (positionWatchers.size === 0) void this.positions.prepare(account);
    }
    const held: { position: AccountEvent<'position'>; instrument: Instrument; exchange: string }[] = [];
    for (const position of this.positions.itemsOf(account)) {
      const instrument = this.catalog.get(position.symbol);
      if (instrument && !isZero(position.quantity)) held.push({ position, instrument, exchange: instrument.exchange });
    }
    const exchanges = [...new Set(held.map((h) => h.exchange))].sort();

    const groups = new Map<string, ViewGroup>();
    const known = new Map<GatewaySocket, string>();
    const place = (socket: GatewaySocket, namespace: 'positions' | 'portfolio') => {
      const access = new Map<string, PriceAccess>();
      let priced = false;
      for (const exchange of exchanges) {
        const mode = priceAccess(socket.data.licence, exchange, now);
        access.set(exchange, mode);
        priced ||= mode !== 'none';
      }
      const signature = exchanges.map((exchange) => `${exchange}=${access.get(exchange)}`).join(';');
      const isNew = state.known.get(socket) !== signature;
      known.set(socket, signature);
      if (!priced) return;
      let group = groups.get(signature);
      if (!group) {
        group = { access, positionWatchers: [], newPositionWatchers: [], portfolioWatchers: [], newPortfolioWatchers: [] };
        groups.set(signature, group);
      }
      if (namespace === 'positions') (isNew ? group.newPositionWatchers : group.positionWatchers).push(socket);
      else (isNew ? group.newPortfolioWatchers : group.portfolioWatchers).push(socket);
    };
    for (const socket of positionWatchers) place(socket, 'positions');
    for (const socket of this.portfolio.watchersOf(account)) place(socket, 'portfolio');
    state.known = known;

    for (const [signature, group] of groups) {
      for (const { instrument, exchange } of held) {
        const mode = group.access.get(exchange);
        const id = `${exchange}:${instrument.symbol}`;
        if (mode === 'realtime' || mode === 'delayed') wantLive.add(id); // a delayed price is recorded from live quotes
        if (mode === 'delayed') wantDelayed.add(id);
      }
      let view = state.views.get(signature);
      if (!view) {
        view = { prices: new Map(), portfolioSeq: undefined };
        state.views.set(signature, view);
      }
      this.valueView(account, now, held, group, view);
    }
    for (const signature of state.views.keys()) if (!groups.has(signature)) state.views.delete(signature);
  }

  /** Values the account for one view and sends what moved to its watchers, and everything off the engine's marks to its new ones. */
  private valueView(account: string, now: number, held: { position: AccountEvent<'position'>; instrument: Instrument; exchange: string }[], group: ViewGroup, view: ViewState): void {
    const priced: PricedPosition[] = [];
    for (const { position, instrument, exchange } of held) {
      const mode = group.access.get(exchange) ?? 'none';
      const mark = mode === 'none' ? undefined : this.markOf(position.symbol, mode === 'delayed');
      if (!mark) continue;
      let off: boolean | undefined;
      const offEngine = () => (off ??= !samePrice(mark.price, position.marketPrice));
      const last = view.prices.get(position.symbol);
      // After a new engine event for the position, its watchers hold the engine's mark: compare with that.
      const moved = last !== undefined && last.seq === position.seq ? !samePrice(mark.price, last.price) : offEngine();
      if (moved) view.prices.set(position.symbol, { seq: position.seq, price: mark.price });
      priced.push({ position, instrument, mark, offEngine, moved });
    }
    if (view.prices.size > held.length) {
      const symbols = new Set(held.map((h) => h.position.symbol));
      for (const symbol of view.prices.keys()) if (!symbols.has(symbol)) view.prices.delete(symbol);
    }
    const revalued = (entry: PricedPosition) => (entry.revalued ??= revaluePosition(entry.position, entry.mark, entry.instrument.multiplier ?? '1'));

    const seq = this.positions.seqOf(account);
    if (group.positionWatchers.length > 0) {
      const items = priced.filter((entry) => entry.moved).map((entry) => revalued(entry).position);
      if (items.length > 0) this.sendPositions(group.positionWatchers, { account, seq, ts: now, source: 'gateway', items });
    }
    if (group.newPositionWatchers.length > 0) {
      const items = priced.filter((entry) => entry.offEngine()).map((entry) => revalued(entry).position);
      if (items.length > 0) this.sendPositions(group.newPositionWatchers, { account, seq, ts: now, source: 'gateway', items });
    }

    const portfolio = this.portfolio.itemsOf(account).next().value ?? undefined;
    const portfolioChanged = portfolio?.seq !== view.portfolioSeq;
    view.portfolioSeq = portfolio?.seq;
    if (!portfolio || (group.portfolioWatchers.length === 0 && group.newPortfolioWatchers.length === 0)) return;
    // The gateway has no exchange rates: only positions in the portfolio's currency move it.
    const inCurrency = priced.filter((entry) => entry.instrument.currency === portfolio.currency);
    const offEngine = () => inCurrency.some((entry) => entry.offEngine());
    const sendToWatchers = group.portfolioWatchers.length > 0 && (inCurrency.some((entry) => entry.moved) || (portfolioChanged && offEngine()));
    const sendToNew = group.newPortfolioWatchers.length > 0 && offEngine();
    if (!sendToWatchers && !sendToNew) return;
    const contributions: PortfolioContribution[] = inCurrency.map((entry) => ({ delta: revalued(entry).delta, quoteTs: entry.mark.quoteTs, delayed: entry.mark.delayed }));
    const valued = revaluePortfolio(portfolio, contributions);
    if (!valued) return;
    const payload: PortfolioValuation = { account, seq: this.portfolio.seqOf(account), ts: now, source: 'gateway', portfolio: valued };
    const frame = engineMessage(eventPacket(this.portfolioPrefix, JSON.stringify(payload)));
    this.valuations.labels(NAMESPACES.portfolio).inc();
    const recipients = [...(sendToWatchers ? group.portfolioWatchers : []), ...(sendToNew ? group.newPortfolioWatchers : [])];
    for (const socket of recipients) this.portfolio.sendDerived(socket, account, payload.seq, frame, VALUATION_EVENTS.portfolio);
  }

  private sendPositions(sockets: GatewaySocket[], payload: PositionsValuation & { items: ValuedPosition[] }): void {
    const frame = engineMessage(eventPacket(this.positionsPrefix, JSON.stringify(payload)));
    this.valuations.labels(NAMESPACES.positions).inc();
    for (const socket of sockets) this.positions.sendDerived(socket, payload.account, payload.seq, frame, VALUATION_EVENTS.positions);
  }

  /** The price an instrument is marked at: its last real-time quote, or the delay line's latest release. */
  private markOf(instrument: string, delayed: boolean): Mark | undefined {
    if (!delayed) {
      const quote = this.quotes.get(instrument);
      return quote && { price: quote.price, quoteTs: quote.ts, delayed: false };
    }
    const entry = this.quoteChannel.delayedQuote(instrument);
    return entry && { price: entry.payload.last, quoteTs: entry.ts, delayed: true };
  }

  /** Holds the quotes the round wants (engine interest; the delay line for delayed ones) and releases the rest. */
  private followQuotes(wantLive: Set<string>, wantDelayed: Set<string>): void {
    for (const instrument of wantLive) {
      if (this.heldLive.has(instrument)) continue;
      this.heldLive.add(instrument);
      // The quote this replica already holds (a client subscribed to it, or a transport that delivers everything).
      const current = this.quoteChannel.currentQuote(instrument);
      if (current) this.quotes.set(instrument, { price: current.data.last, ts: current.ts });
      this.marketData.holdStream(streamName('quote', instrument)).catch((error: unknown) => this.logger.warn({ err: error, instrument }, 'valuation: engine subscription to quotes failed'));
    }
    for (const instrument of this.heldLive) {
      if (wantLive.has(instrument)) continue;
      this.heldLive.delete(instrument);
      this.quotes.delete(instrument);
      this.marketData.releaseStream(streamName('quote', instrument));
    }
    for (const instrument of wantDelayed) {
      if (this.heldDelayed.has(instrument)) continue;
      this.heldDelayed.add(instrument);
      this.quoteChannel.holdDelayedQuotes(instrument);
    }
    for (const instrument of this.heldDelayed) {
      if (wantDelayed.has(instrument)) continue;
      this.heldDelayed.delete(instrument);
      this.quoteChannel.releaseDelayedQuotes(instrument);
    }
    this.heldInstruments.labels('realtime').set(this.heldLive.size);
    this.heldInstruments.labels('delayed').set(this.heldDelayed.size);
  }
}

/**
 * How a licence lets its holder see an exchange's prices: its quote entitlement, checked as a market-data subscription
 * is (revoked or expired licence, the quote channel, the exchange), then real time or delayed.
 */
function priceAccess(licence: Licence, exchange: string, now: number): PriceAccess {
  if (checkMarketDataEntitlement(licence, exchange, 'quote', now) !== null) return 'none';
  return exchangeAccess(licence, exchange) === 'delayed' ? 'delayed' : 'realtime';
}
