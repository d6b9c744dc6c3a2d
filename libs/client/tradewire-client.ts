import { AccountStreamClient, PortfolioStore, PositionStore } from './account-streams.js';
import { checkClientOptions } from './argument-checks.js';
import { ConnectionHub } from './connection.js';
import { TypedEmitter } from './emitter.js';
import { listenerFailed, type TradewireError } from './errors.js';
import { MarketDataClient } from './market-data.js';
import { OrdersClient } from './order-commands.js';
import type { ConnectionState, Diagnostics, TradewireClientEvents, TradewireClientOptions, TradewireLogger } from './types.js';

/**
 * The Tradewire client: one multiplexed Socket.IO connection to the gateway, with a namespace opened the first time
 * it is used (`marketData`, `orders`, `positions`, `portfolio`). It reconnects by itself (full-jitter backoff, the
 * shutdown notice's window, the refusal table), refreshes its token without reconnecting, restores subscriptions and
 * replays account streams with `since`.
 */
export class TradewireClient extends TypedEmitter<TradewireClientEvents> {
  readonly marketData: MarketDataClient;
  readonly orders: OrdersClient;
  readonly positions: AccountStreamClient<'position', PositionStore>;
  readonly portfolio: AccountStreamClient<'portfolio', PortfolioStore>;
  private readonly hub: ConnectionHub;
  private readonly logger: TradewireLogger;

  constructor(options: TradewireClientOptions) {
    checkClientOptions(options);
    const logger = options.logger ?? {};
    // A throwing `error` listener must not loop back into `error`: it is only logged.
    super((error, event) => {
      if (event === 'error') logger.error?.('an error listener threw', { error: error instanceof Error ? error.message : String(error) });
      else this.reportError(listenerFailed(error, event));
    });
    this.logger = logger;
    const report = (error: TradewireError) => this.reportError(error);
    this.hub = new ConnectionHub(options, {
      state: (state, info) => {
        logger.info?.('connection state', { state, reason: info.reason, namespace: info.namespace, retryInMs: info.retryInMs, code: info.error?.code });
        this.emit('state', state, info);
      },
      error: report,
      welcome: (welcome) => this.emit('welcome', welcome),
      licence: (licence) => this.emit('licence', licence),
      system: (notice) => this.emit('system', notice),
      tokenRefreshed: (expiresAt) => this.emit('tokenRefreshed', { expiresAt }),
      log: logger,
    });
    this.marketData = new MarketDataClient(this.hub, report);
    this.orders = new OrdersClient(this.hub, report);
    this.positions = new AccountStreamClient('position', new PositionStore(), this.hub, report);
    this.portfolio = new AccountStreamClient('portfolio', new PortfolioStore(), this.hub, report);
  }

  /** `connecting` until the first connect, `connected`, `reconnecting`, or `disconnected` (not used yet, closed, refused for good). */
  get state(): ConnectionState {
    return this.hub.state;
  }

  /** RTT and clock offset, data age per stream, and counts of gaps, resyncs, reconnects. */
  diagnostics(): Diagnostics {
    const now = Date.now();
    const md = this.marketData.counters;
    return {
      state: this.hub.state,
      rttMs: this.hub.counters.rttMs,
      clockOffsetMs: this.hub.counters.clockOffsetMs,
      reconnects: this.hub.counters.reconnects,
      gaps: md.gaps,
      resyncs: md.resyncs,
      checksumMismatches: md.checksumMismatches,
      badFrames: md.badFrames,
      duplicatesDropped: this.orders.duplicatesDropped.count + this.positions.duplicatesDropped.count + this.portfolio.duplicatesDropped.count,
      rateLimitedRetries: this.hub.counters.rateLimitedRetries,
      pingsSent: this.hub.counters.pingsSent,
      namespaces: [...this.hub.channels.values()].map((c) => ({ namespace: c.namespace, connected: c.connected, node: c.welcome?.node ?? null })),
      streams: this.marketData.streamDiagnostics(now),
      accounts: [...this.orders.streamDiagnostics(now), ...this.positions.streamDiagnostics(now), ...this.portfolio.streamDiagnostics(now)],
    };
  }

  /** Measures RTT and clock offset now (the SDK also does it in the background, every `pingIntervalMs`). */
  ping(): Promise<void> {
    return this.hub.pingOnce();
  }

  /**
   * Tries again now, with a fresh `getToken()`: after a terminal refusal the application has fixed (the user signed in
   * again, the licence was renewed), or to cut a backoff wait short. Connected namespaces are left as they are.
   */
  reconnect(): void {
    this.hub.reconnect();
  }

  /** Closes every namespace and the connection; the client cannot be used again. */
  close(): void {
    this.orders.deadman.stop();
    this.hub.close();
  }

  private reportError(error: TradewireError): void {
    this.logger.warn?.('tradewire client error', { code: error.code, message: error.message });
    this.emit('error', error);
  }
}
