import {
  ACCOUNT_STREAM_EVENTS,
  NAMESPACES,
  type AccountEvent,
  type AccountKind,
  type AccountSubscribeRequest,
  type AccountSubscribeResponse,
  type OrderStatus,
  type PortfolioValuation,
  type PositionsValuation,
  VALUATION_EVENTS,
} from '#libs/contracts';
import { checkAccountSubscribe } from './argument-checks.js';
import type { ConnectionHub, NamespaceChannel } from './connection.js';
import { TypedEmitter, type ListenerArgs } from './emitter.js';
import { BadFrameError, listenerFailed, TradewireError } from './errors.js';
import { asTradewireError, isRestoredOnReconnect } from './market-data.js';
import type { AccountSnapshotInfo, AccountSubscribeOptions, AccountSubscriptionEvents, Order, OrderEvents, Portfolio, PortfolioEvents, Position, PositionEvents, StreamDiagnostics } from './types.js';
import { isAccountEvent, isObject, isValuation } from './wire-checks.js';
import { oncePerTurn } from './once-per-turn.js';

const KIND_NAMESPACE = { order: NAMESPACES.orders, position: NAMESPACES.positions, portfolio: NAMESPACES.portfolio } as const;
type AccountNamespace = (typeof KIND_NAMESPACE)[AccountKind];

/** How long an account `subscribe` may take: longer than the longest log hydration a gateway may be configured for. */
const ACCOUNT_SUBSCRIBE_TIMEOUT_MS = 65_000;

const DONE_STATUSES: readonly OrderStatus[] = ['filled', 'canceled', 'rejected', 'expired'];

/** The client-side state of one account stream kind; every store counts its changes in `version`. */
export abstract class AccountStore<E extends { seq: number }> {
  /** Grows by one at every change: cheap change detection for UI frameworks. */
  version = 0;
  abstract apply(event: E): void;
  abstract replace(account: string, items: E[]): void;
  abstract clear(account?: string): void;
  /** The held item that `item` would replace. */
  protected abstract held(item: E): E | undefined;
  protected abstract put(item: E): void;

  /**
   * Gateway valuations: each item replaces the held one only while that is still the engine state it revalued (the
   * same seq); a valuation of an older state, or of an item the store does not hold, is ignored. True when any applied.
   */
  applyValuation(items: readonly E[]): boolean {
    let applied = false;
    for (const item of items) {
      if (this.held(item)?.seq !== item.seq) continue;
      this.put(item);
      applied = true;
    }
    if (applied) this.version++;
    return applied;
  }
}

/** Orders by `orderId`, open and done. */
export class OrderStore extends AccountStore<Order> {
  private readonly orders = new Map<string, Order>();
  private cache: { version: number; list: Order[] } | null = null;

  get(orderId: string): Order | undefined {
    return this.orders.get(orderId);
  }

  byClientOrderId(clientOrderId: string, account?: string): Order | undefined {
    for (const order of this.orders.values()) if (order.clientOrderId === clientOrderId && (account === undefined || order.account === account)) return order;
    return undefined;
  }

  /** Every order, newest event last; the same array until the next change. */
  list(): readonly Order[] {
    if (this.cache?.version !== this.version) this.cache = { version: this.version, list: [...this.orders.values()].sort((a, b) => a.ts - b.ts || a.seq - b.seq) };
    return this.cache.list;
  }

  open(): Order[] {
    return this.list().filter((o) => !DONE_STATUSES.includes(o.status));
  }

  done(): Order[] {
    return this.list().filter((o) => DONE_STATUSES.includes(o.status));
  }

  apply(order: Order): void {
    this.orders.set(order.orderId, order);
    this.version++;
  }

  protected held(order: Order): Order | undefined {
    return this.orders.get(order.orderId);
  }

  protected put(order: Order): void {
    this.orders.set(order.orderId, order);
  }

  replace(account: string, items: Order[]): void {
    for (const [id, order] of this.orders) if (order.account === account) this.orders.delete(id);
    for (const item of items) this.orders.set(item.orderId, item);
    this.version++;
  }

  clear(account?: string): void {
    if (account === undefined) this.orders.clear();
    else for (const [id, order] of this.orders) if (order.account === account) this.orders.delete(id);
    this.version++;
  }
}

/** Positions by account and symbol. */
export class PositionStore extends AccountStore<Position> {
  private readonly positions = new Map<string, Map<string, Position>>();
  private cache: { version: number; list: Position[] } | null = null;

  get(account: string, symbol: string): Position | undefined {
    return this.positions.get(account)?.get(symbol);
  }

  /** The positions of one account, by symbol. */
  ofAccount(account: string): ReadonlyMap<string, Position> {
    return this.positions.get(account) ?? new Map();
  }

  list(): readonly Position[] {
    if (this.cache?.version !== this.version) this.cache = { version: this.version, list: [...this.positions.values()].flatMap((m) => [...m.values()]) };
    return this.cache.list;
  }

  apply(position: Position): void {
    this.put(position);
    this.version++;
  }

  protected held(position: Position): Position | undefined {
    return this.get(position.account, position.symbol);
  }

  protected put(position: Position): void {
    let account = this.positions.get(position.account);
    if (!account) this.positions.set(position.account, (account = new Map<string, Position>()));
    account.set(position.symbol, position);
  }

  replace(account: string, items: Position[]): void {
    this.positions.set(account, new Map(items.map((p) => [p.symbol, p])));
    this.version++;
  }

  clear(account?: string): void {
    if (account === undefined) this.positions.clear();
    else this.positions.delete(account);
    this.version++;
  }
}

/** The portfolio of each account. */
export class PortfolioStore extends AccountStore<Portfolio> {
  private readonly portfolios = new Map<string, Portfolio>();
  private cache: { version: number; list: Portfolio[] } | null = null;

  get(account: string): Portfolio | undefined {
    return this.portfolios.get(account);
  }

  list(): readonly Portfolio[] {
    if (this.cache?.version !== this.version) this.cache = { version: this.version, list: [...this.portfolios.values()] };
    return this.cache.list;
  }

  apply(portfolio: Portfolio): void {
    this.portfolios.set(portfolio.account, portfolio);
    this.version++;
  }

  protected held(portfolio: Portfolio): Portfolio | undefined {
    return this.portfolios.get(portfolio.account);
  }

  protected put(portfolio: Portfolio): void {
    this.portfolios.set(portfolio.account, portfolio);
  }

  replace(account: string, items: Portfolio[]): void {
    this.portfolios.delete(account);
    for (const item of items) this.portfolios.set(item.account, item);
    this.version++;
  }

  clear(account?: string): void {
    if (account === undefined) this.portfolios.clear();
    else this.portfolios.delete(account);
    this.version++;
  }
}

type EventsOf<K extends AccountKind> = K extends 'order' ? OrderEvents : K extends 'position' ? PositionEvents : PortfolioEvents;

/** One `subscribe()` on an account stream: its events, for its accounts (or all the token's). */
export class AccountSubscription<K extends AccountKind> extends TypedEmitter<EventsOf<K>> {
  private active = true;

  constructor(
    private readonly owner: AccountStreamClient<K, AccountStore<AccountEvent<K>>>,
    /** The accounts asked for; null: every account of the token. */
    readonly accounts: readonly string[] | null,
    onListenerError: (error: unknown, event: string) => void,
  ) {
    super(onListenerError);
  }

  get isActive(): boolean {
    return this.active;
  }

  /** @internal */
  follows(account: string): boolean {
    return this.accounts === null || this.accounts.includes(account);
  }

  unsubscribe(): void {
    if (!this.active) return;
    this.active = false;
    this.owner.release(this);
    this.removeAllListeners();
  }

  /** @internal A gateway valuation (positions and portfolio only). */
  deliverValuation(valuation: PositionsValuation | PortfolioValuation): void {
    if (!this.active) return;
    (this.emit as (event: string, ...rest: unknown[]) => void)('valuation', valuation);
    (this.emit as (event: string, ...rest: unknown[]) => void)('revalued', valuation.account);
  }

  /** @internal */
  deliver<E extends keyof AccountSubscriptionEvents<AccountEvent<K>>>(event: E | K, ...args: ListenerArgs<AccountSubscriptionEvents<AccountEvent<K>>[E]>): void {
    if (!this.active) return;
    // The kind's own event (`order`, `position`, `portfolio`) carries the same argument as `event`.
    (this.emit as (event: string, ...rest: unknown[]) => void)(event, ...args);
  }
}

interface AccountCursor {
  /** The seq of the last event (or snapshot) applied; null before the first. */
  seq: number | null;
  receivedAt: number | null;
  /** The subscribe answer said `resetRequired`: the snapshot that follows replaces the state. */
  resetPending: boolean;
}

/**
 * `client.orders`, `client.positions`, `client.portfolio`: an account stream over its namespace. The SDK tracks each
 * account's `seq`; after a reconnect (to the same replica or another) it subscribes with `since`, drops what it
 * already has, and so the application sees every event once, in seq order. `resetRequired` reloads the snapshot.
 */
export class AccountStreamClient<K extends AccountKind, S extends AccountStore<AccountEvent<K>>> {
  readonly duplicatesDropped = { count: 0 };
  protected readonly namespace: AccountNamespace;
  private readonly cursors = new Map<string, AccountCursor>();
  private readonly subscriptions = new Set<AccountSubscription<K>>();
  private channelRef: NamespaceChannel<AccountNamespace> | null = null;
  /** What the server holds on this connection: null: nothing; 'all': every account; else those accounts. */
  private serverHolds: 'all' | Set<string> | null = null;
  private readonly scheduleFlush = oncePerTurn(() => this.flush());
  /** Counts disconnects: an answer that arrives for an older connection changes nothing. */
  private connectionEpoch = 0;

  constructor(
    readonly kind: K,
    readonly store: S,
    protected readonly hub: ConnectionHub,
    protected readonly reportError: (error: TradewireError) => void,
  ) {
    this.namespace = KIND_NAMESPACE[kind];
  }

  /** Follows the token's accounts (or the given ones): a snapshot, then live events. */
  subscribe(options?: AccountSubscribeOptions): AccountSubscription<K> {
    checkAccountSubscribe(options);
    const subscription = new AccountSubscription<K>(this, options?.accounts ? [...new Set(options.accounts)] : null, (error, event) => this.reportError(listenerFailed(error, event)));
    this.subscriptions.add(subscription);
    this.channel();
    this.scheduleFlush();
    return subscription;
  }

  /** The last seq applied per account (what `since` will be after a reconnect). */
  seqs(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [account, cursor] of this.cursors) if (cursor.seq !== null) out[account] = cursor.seq;
    return out;
  }

  streamDiagnostics(now = Date.now()): StreamDiagnostics[] {
    return [...this.cursors].map(([account, c]) => ({ stream: `${this.kind}:${account}`, seq: c.seq ?? 0, ageMs: c.receivedAt === null ? null : now - c.receivedAt, delayed: false }));
  }

  /** @internal */
  release(subscription: AccountSubscription<K>): void {
    this.subscriptions.delete(subscription);
    this.scheduleFlush();
  }

  protected channel(): NamespaceChannel<AccountNamespace> {
    if (this.channelRef) return this.channelRef;
    const channel = this.hub.channel(this.namespace);
    this.channelRef = channel;
    const events = ACCOUNT_STREAM_EVENTS[this.kind];
    channel.listen(events.live, (event: unknown) => this.onLive(event));
    channel.listen(events.snapshot, (snapshot: unknown) => this.onSnapshot(snapshot));
    if (this.kind === 'position') channel.listen(VALUATION_EVENTS.positions, (valuation: unknown) => this.onValuation(valuation));
    if (this.kind === 'portfolio') channel.listen(VALUATION_EVENTS.portfolio, (valuation: unknown) => this.onValuation(valuation));
    channel.onDisconnected(() => {
      this.serverHolds = null;
      this.connectionEpoch++;
    });
    // Every connect (the first included: subscriptions made before it waited) sends what the handles hold.
    channel.onConnected(() => this.scheduleFlush());
    return channel;
  }

  /** Which accounts the live subscriptions want: 'all', a set, or null for none. */
  private wanted(): 'all' | Set<string> | null {
    if (this.subscriptions.size === 0) return null;
    const accounts = new Set<string>();
    for (const subscription of this.subscriptions) {
      if (subscription.accounts === null) return 'all';
      for (const account of subscription.accounts) accounts.add(account);
    }
    return accounts;
  }

  private flush(): void {
    const channel = this.channelRef;
    if (!channel?.connected) return; // the next connect flushes
    const wanted = this.wanted();
    const held = this.serverHolds;
    if (wanted === null) {
      if (held === null) return;
      this.serverHolds = null;
      const accounts = held === 'all' ? [...this.cursors.keys()] : [...held];
      this.forgetAccounts(held === 'all' ? null : accounts);
      channel.request('unsubscribe', held === 'all' ? {} : { accounts }).catch((error: unknown) => this.failed(error, []));
      return;
    }
    if (held !== null && held !== 'all' && wanted !== 'all') {
      const dropped = [...held].filter((a) => !wanted.has(a));
      if (dropped.length > 0) {
        for (const account of dropped) held.delete(account);
        this.forgetAccounts(dropped);
        channel.request('unsubscribe', { accounts: dropped }).catch((error: unknown) => this.failed(error, []));
      }
    }
    let request: AccountSubscribeRequest;
    if (wanted === 'all') {
      if (held === 'all') return;
      request = {};
    } else {
      const missing = held === 'all' ? [] : [...wanted].filter((a) => !(held?.has(a) ?? false));
      if (missing.length === 0) return;
      request = { accounts: missing };
    }
    const since = this.sinceFor(request.accounts ?? null);
    if (Object.keys(since).length > 0) request.since = since;
    this.serverHolds = wanted === 'all' ? 'all' : new Set([...(held === null || held === 'all' ? [] : held), ...(request.accounts ?? [])]);
    const epoch = this.connectionEpoch;
    // A replica may read an account's events back from the durable log before it answers (up to a minute when so
    // configured): the answer is worth waiting for.
    channel.request('subscribe', request, { minTimeoutMs: ACCOUNT_SUBSCRIBE_TIMEOUT_MS }).then(
      (answer) => this.onSubscribed(answer, since),
      (error: unknown) => {
        if (epoch === this.connectionEpoch) this.serverHolds = held;
        this.failed(error, this.subscriptions);
      },
    );
  }

  /** A request failed: the subscriptions and the client hear it, unless the next connect sends it again anyway. */
  private failed(error: unknown, subscriptions: Iterable<AccountSubscription<K>>): void {
    const failure = asTradewireError(error);
    if (isRestoredOnReconnect(failure)) return;
    for (const subscription of subscriptions) subscription.deliver('error', failure);
    this.reportError(failure);
  }

  private sinceFor(accounts: string[] | null): Record<string, number> {
    const since: Record<string, number> = {};
    for (const [account, cursor] of this.cursors) {
      if (cursor.seq !== null && (accounts === null || accounts.includes(account))) since[account] = cursor.seq;
    }
    return since;
  }

  private forgetAccounts(accounts: string[] | null): void {
    for (const account of accounts ?? [...this.cursors.keys()]) this.cursors.delete(account);
    if (accounts === null) this.store.clear();
    else for (const account of accounts) this.store.clear(account);
  }

  private cursor(account: string): AccountCursor {
    let cursor = this.cursors.get(account);
    if (!cursor) this.cursors.set(account, (cursor = { seq: null, receivedAt: null, resetPending: false }));
    return cursor;
  }

  private onSubscribed(answer: AccountSubscribeResponse, since: Record<string, number>): void {
    if (!isObject(answer) || !Array.isArray(answer.accounts)) {
      this.reportError(new BadFrameError('subscribe', 'the answer has no accounts list', answer));
      return;
    }
    for (const item of answer.accounts) {
      if (!isObject(item) || typeof item.account !== 'string') continue;
      const cursor = this.cursor(item.account);
      const sent = since[item.account];
      if (item.resetRequired) {
        cursor.resetPending = true;
        const info: AccountSnapshotInfo = { account: item.account, seq: item.seq, resetRequired: true };
        this.hub.sink.log.warn?.('account stream reset', { namespace: this.namespace, account: item.account, since: sent, seq: item.seq });
        for (const subscription of this.subscriptions) if (subscription.follows(item.account)) subscription.deliver('reset', info);
      } else if (sent !== undefined) {
        for (const subscription of this.subscriptions) {
          if (subscription.follows(item.account)) subscription.deliver('replay', { account: item.account, replayed: item.replayed, since: sent });
        }
      }
    }
  }

  private onSnapshot(snapshot: unknown): void {
    if (!isObject(snapshot) || typeof snapshot.account !== 'string' || typeof snapshot.seq !== 'number') {
      this.reportError(new BadFrameError(ACCOUNT_STREAM_EVENTS[this.kind].snapshot, 'not a snapshot', snapshot));
      return;
    }
    const items = this.snapshotItems(snapshot);
    if (items === null) {
      this.reportError(new BadFrameError(ACCOUNT_STREAM_EVENTS[this.kind].snapshot, 'snapshot items are malformed', snapshot));
      return;
    }
    const cursor = this.cursor(snapshot.account);
    const resetRequired = cursor.resetPending;
    cursor.resetPending = false;
    cursor.seq = snapshot.seq;
    cursor.receivedAt = Date.now();
    this.store.replace(snapshot.account, items);
    const info: AccountSnapshotInfo = { account: snapshot.account, seq: snapshot.seq, resetRequired };
    for (const subscription of this.subscriptions) if (subscription.follows(snapshot.account)) subscription.deliver('snapshot', info);
  }

  private snapshotItems(snapshot: Record<string, unknown>): AccountEvent<K>[] | null {
    if (this.kind === 'portfolio') {
      const portfolio = snapshot.portfolio;
      if (portfolio === null || portfolio === undefined) return [];
      return isAccountEvent(this.kind, portfolio) ? [portfolio] : null;
    }
    const items = snapshot.items;
    if (!Array.isArray(items)) return null;
    return items.every((item) => isAccountEvent(this.kind, item)) ? (items) : null;
  }

  /**
   * A gateway valuation (docs/protocol.md §6.8): derived from the gateway's quotes, not an engine event. It changes the
   * store's figures but never the account's seq (so `since` and duplicate detection stay the engine's), and is not
   * replayed after a reconnect: the next one comes with the next price move.
   */
  private onValuation(valuation: unknown): void {
    const event = this.kind === 'position' ? VALUATION_EVENTS.positions : VALUATION_EVENTS.portfolio;
    let items: AccountEvent<K>[];
    if (this.kind === 'position' && isValuation('position', valuation)) items = valuation.items as unknown as AccountEvent<K>[];
    else if (this.kind === 'portfolio' && isValuation('portfolio', valuation)) items = [valuation.portfolio as unknown as AccountEvent<K>];
    else {
      this.reportError(new BadFrameError(event, 'not a gateway valuation', valuation));
      return;
    }
    // Valuations of an account the SDK is not following (or no longer holds) change nothing.
    if (!this.cursors.has(valuation.account) || !this.store.applyValuation(items)) return;
    for (const subscription of this.subscriptions) if (subscription.follows(valuation.account)) subscription.deliverValuation(valuation);
  }

  private onLive(event: unknown): void {
    if (!isAccountEvent(this.kind, event)) {
      this.reportError(new BadFrameError(ACCOUNT_STREAM_EVENTS[this.kind].live, `not ${this.kind === 'order' ? 'an' : 'a'} ${this.kind} event`, event));
      return;
    }
    const cursor = this.cursor(event.account);
    if (cursor.seq !== null && event.seq <= cursor.seq) {
      // Already applied (a replay overlapping what arrived live, or a snapshot that included it).
      this.duplicatesDropped.count++;
      return;
    }
    cursor.seq = event.seq;
    cursor.receivedAt = Date.now();
    this.store.apply(event);
    for (const subscription of this.subscriptions) {
      if (!subscription.follows(event.account)) continue;
      subscription.deliver<'event'>(this.kind, event);
      subscription.deliver('event', event);
    }
  }
}
