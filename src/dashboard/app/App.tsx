import { useCallback, useEffect, useMemo, useState, useSyncExternalStore } from 'react';
import type { ConnectionState, ConnectionStateInfo, TradewireClient, WelcomePayload } from '@tradewire/client';
import { useConnectionState, useOrders, usePortfolios, usePositions } from '@tradewire/client/react';
import { useAccountActivity } from './account-activity.js';
import type { EventLog } from './event-log.js';
import { FeedMeter, useBookFeed, useWatchlistFeed } from './feeds.js';
import { describeError, formatClock, formatDuration } from './format.js';
import { Banner, type BannerView } from './panels/Banner.js';
import { BlotterPanel, type OrderView } from './panels/Blotter.js';
import { BookPanel } from './panels/Book.js';
import { EventsPanel } from './panels/Events.js';
import { OrderTicket, type TicketOrder } from './panels/OrderTicket.js';
import { PortfolioPanel } from './panels/Portfolio.js';
import { PositionsPanel } from './panels/Positions.js';
import { TokenDialog } from './panels/TokenDialog.js';
import { TopBar, type PillState, type StatsView, type StreamPill, type WhoView } from './panels/TopBar.js';
import { TradesPanel } from './panels/Trades.js';
import { WatchListPanel, type WatchRow } from './panels/WatchList.js';
import { isInstrument, loadWatchlist, saveWatchlist } from './storage.js';
import type { TokenSource } from './token-source.js';

const RTT_POINTS = 40;
const NOTICE_SHOWN_MS = 15_000;
const NAMESPACE_PILLS = [
  { name: 'market', namespace: '/market-data' },
  { name: 'orders', namespace: '/orders' },
  { name: 'positions', namespace: '/positions' },
  { name: 'portfolio', namespace: '/portfolio' },
] as const;
/** Refusals a new token can cure. */
const TOKEN_CODES = new Set(['UNAUTHORIZED', 'TOKEN_EXPIRED', 'FORBIDDEN']);

interface Props {
  client: TradewireClient;
  tokens: TokenSource;
  log: EventLog;
}

function useTokenDialog(tokens: TokenSource): string | null {
  return useSyncExternalStore(tokens.subscribe, () => tokens.reason);
}

/** The connection banner: what the trader must know about the connection now, or null when all is well. */
function bannerFor(
  state: ConnectionState,
  info: ConnectionStateInfo | null,
  options: { everConnected: boolean; replaying: number; waitingForToken: string | null; notice: string | null; askToken: () => void; restart: () => void },
): BannerView | null {
  if (options.waitingForToken !== null) return { text: options.waitingForToken, level: 'error', action: { label: 'Paste a token', run: options.askToken } };
  if (state === 'disconnected' && info?.error) {
    const text = `The gateway refused the connection: ${describeError(info.error)}`;
    return TOKEN_CODES.has(info.error.code) ? { text, level: 'error', action: { label: 'Paste a token', run: options.askToken } } : { text, level: 'error', action: { label: 'Retry', run: options.restart } };
  }
  if (state === 'reconnecting') {
    const when = info?.retryInMs !== undefined ? ` in ${formatDuration(info.retryInMs)}` : '';
    const attempt = info?.attempt !== undefined && info.attempt > 1 ? ` (attempt ${info.attempt})` : '';
    if (info?.reason === 'shutdown') return { text: `The gateway is restarting: reconnecting${when}${attempt}…`, level: 'warn' };
    const why = info?.error ? describeError(info.error) : (info?.reason ?? 'connection lost');
    return { text: `Connection lost (${why}): reconnecting${when}${attempt}… The data shown is the last received.`, level: 'warn' };
  }
  if (state === 'connecting' && !options.everConnected) return { text: 'Connecting to the gateway…', level: 'info' };
  if (state === 'connected' && options.replaying > 0) return { text: `Reconnected: replaying ${options.replaying} missed account events…`, level: 'info' };
  if (options.notice) return { text: options.notice, level: 'warn' };
  return null;
}

export function App({ client, tokens, log }: Props) {
  // After a refusal for good (a token or licence the gateway does not accept) the SDK waits to be told to try again.
  const restart = useCallback(() => client.reconnect(), [client]);
  const meter = useMemo(() => new FeedMeter(), []);
  const { state, info } = useConnectionState();
  const connected = state === 'connected';
  const [connectedAt, setConnectedAt] = useState(0);
  const [everConnected, setEverConnected] = useState(false);
  const [welcome, setWelcome] = useState<WelcomePayload | null>(null);
  const [notice, setNotice] = useState<{ text: string; at: number } | null>(null);
  const [stats, setStats] = useState<StatsView>({ rtts: [], dataAgeMs: null, messagesPerSecond: 0, counters: '' });
  const [pillStates, setPillStates] = useState<Record<string, boolean>>({});
  const tokenReason = useTokenDialog(tokens);

  // ---------------------------------------------------------------- the connection, as the event log tells it
  useEffect(() => {
    // Each namespace reports its own retries; the log keeps the changes of the connection's state (the banner shows
    // the latest retry).
    let logged: ConnectionState | null = null;
    const offs = [
      client.on('state', (next, why) => {
        if (next === logged) return;
        logged = next;
        const detail = [why.reason, why.node ? `node ${why.node}` : '', why.retryInMs !== undefined ? `retry in ${why.retryInMs} ms` : '', why.error ? describeError(why.error) : ''].filter(Boolean).join(' · ');
        log.add(next === 'connected' ? 'ok' : next === 'disconnected' ? 'error' : 'warn', next, detail);
      }),
      client.on('welcome', (w) => {
        setWelcome(w);
        log.add('ok', 'welcome', `${w.namespace}: ${w.userId} on ${w.node}, tier ${w.entitlements.tier}, connection ${w.connectionId}`);
      }),
      client.on('licence', (licence) => {
        setWelcome((previous) => (previous ? { ...previous, limits: licence.limits, entitlements: licence.entitlements } : previous));
        log.add('system', 'licence', `tier ${licence.entitlements.tier}, features ${licence.entitlements.features.join(', ') || 'none'}`);
      }),
      client.on('system', (notice) => {
        const when = typeof notice.reconnectInMs === 'number' ? ` (reconnect in ${notice.reconnectInMs} ms)` : '';
        log.add('system', notice.type, `${notice.message}${when}`);
        if (notice.type === 'notice' && !notice.stream) setNotice({ text: `Gateway notice: ${notice.message}`, at: Date.now() });
      }),
      client.on('tokenRefreshed', ({ expiresAt }) => log.add('ok', 'auth', `token refreshed, valid until ${formatClock(expiresAt)}`)),
      client.on('error', (error) => log.add(error.code === 'SLOW_CLIENT' ? 'warn' : 'error', 'error', describeError(error))),
    ];
    return () => {
      for (const off of offs) off();
    };
  }, [client, log]);

  useEffect(() => {
    if (!connected) return;
    setConnectedAt(Date.now());
    setEverConnected(true);
    // A first round trip at once; the SDK measures again in the background.
    client.ping().catch(() => undefined);
  }, [client, connected]);

  useEffect(() => {
    if (!notice) return;
    const timer = setTimeout(() => setNotice(null), NOTICE_SHOWN_MS - (Date.now() - notice.at));
    return () => clearTimeout(timer);
  }, [notice]);

  // ---------------------------------------------------------------- latency, data age, rate, namespaces (each second)
  useEffect(() => {
    let lastRtt: number | null = null;
    const timer = setInterval(() => {
      const diagnostics = client.diagnostics();
      meter.clockOffsetMs = diagnostics.clockOffsetMs;
      const { messages, medianAgeMs } = meter.take();
      // A new measurement is a new point of the sparkline (two pings never take exactly as long).
      const rtt = diagnostics.rttMs !== lastRtt ? diagnostics.rttMs : null;
      lastRtt = diagnostics.rttMs;
      setStats((previous) => ({
        rtts: rtt === null ? previous.rtts : [...previous.rtts, rtt].slice(-RTT_POINTS),
        dataAgeMs: medianAgeMs ?? (messages === 0 ? null : previous.dataAgeMs),
        messagesPerSecond: messages,
        counters: `reconnects ${diagnostics.reconnects} · gaps ${diagnostics.gaps} · resyncs ${diagnostics.resyncs} · checksum mismatches ${diagnostics.checksumMismatches} · duplicates dropped ${diagnostics.duplicatesDropped} · bad frames ${diagnostics.badFrames}`,
      }));
      setPillStates(Object.fromEntries(diagnostics.namespaces.map((n) => [n.namespace, n.connected])));
    }, 1_000);
    return () => clearInterval(timer);
  }, [client, meter]);

  // ---------------------------------------------------------------- watch list and selection
  const [watchlist, setWatchlist] = useState<string[]>(loadWatchlist);
  const [selected, setSelected] = useState<string | null>(() => watchlist[0] ?? null);
  useEffect(() => saveWatchlist(watchlist), [watchlist]);
  const feed = useWatchlistFeed(client, watchlist, meter, log);
  const book = useBookFeed(client, selected, connected, meter, log);

  const addInstrument = useCallback(
    (instrument: string) => {
      if (!isInstrument(instrument)) {
        log.add('warn', 'watch list', `${instrument}: use EXCHANGE:SYMBOL, e.g. NASDAQ:TSLA`);
        return;
      }
      setWatchlist((list) => (list.includes(instrument) ? list : [...list, instrument]));
      setSelected(instrument);
    },
    [log],
  );
  const removeInstrument = useCallback((instrument: string) => {
    setWatchlist((list) => list.filter((s) => s !== instrument));
    setSelected((current) => (current === instrument ? null : current));
  }, []);

  const rows: WatchRow[] = watchlist.map((instrument) => {
    const quote = client.marketData.quote(instrument);
    return {
      instrument,
      quote: quote ?? null,
      delayed: (quote?.delayed ?? false) || feed.delayMs.has(instrument),
      rejected: feed.refused.get(instrument) ?? null,
      delayMs: feed.delayMs.get(instrument) ?? 0,
      // Values from before the last (re)connect are marked until a fresh one replaces them.
      stale: quote !== undefined && (!connected || quote.receivedAt < connectedAt),
      // The gateway's view of the instrument's feed (the `status` channel): a stale feed greys the row.
      feed: client.marketData.feedStatus(instrument) ?? null,
    };
  });
  const selectedQuote = selected ? client.marketData.quote(selected) : undefined;

  // ---------------------------------------------------------------- account streams (the SDK's React hooks)
  const orders = useOrders();
  const positions = usePositions();
  const portfolios = usePortfolios();
  const activity = useAccountActivity(client, log);
  const accountsStale = !connected || activity.replaying > 0;
  const trading = welcome ? welcome.entitlements.features.includes('trading') : null;

  const submit = useCallback(
    async (order: TicketOrder): Promise<string> => {
      const answer = await client.orders.submit(order);
      log.add('ok', 'order', `${order.side} ${order.quantity} ${order.instrument} → ${answer.orderId} ${answer.status}`);
      return `Accepted: ${answer.orderId} (${answer.status})`;
    },
    [client, log],
  );
  const cancel = useCallback(
    (order: OrderView) => {
      client.orders.cancel({ account: order.account, orderId: order.orderId }).then(
        (answer) => log.add('ok', 'cancel', `${order.orderId}: ${answer.status}`),
        (error: unknown) => log.add('error', 'cancel', `${order.orderId}: ${describeError(error)}`),
      );
    },
    [client, log],
  );

  // ---------------------------------------------------------------- top bar and banner
  const pills: StreamPill[] = NAMESPACE_PILLS.map(({ name, namespace }) => {
    const open = pillStates[namespace];
    const pill: PillState = open ? 'live' : state === 'disconnected' ? (info?.error ? 'refused' : 'down') : 'connecting';
    return { name, title: namespace, state: pill, detail: open ? undefined : (info?.error?.code ?? info?.reason) };
  });
  const who: WhoView | null = welcome
    ? {
        userId: welcome.userId,
        tier: welcome.entitlements.tier,
        node: welcome.node,
        serverVersion: welcome.serverVersion,
        limitsTitle: `max subscriptions ${welcome.limits.maxSubscriptions}, max connections ${welcome.limits.maxConnections}, min throttle ${welcome.limits.minThrottleMs} ms, max frame ${welcome.limits.maxFrameBytes} bytes`,
      }
    : null;
  const askToken = useCallback(() => tokens.ask('Paste a token the gateway accepts (the development token it printed at startup, or your own).'), [tokens]);
  const banner = bannerFor(state, info, {
    everConnected,
    replaying: activity.replaying,
    // The dialog was closed without a token while the SDK waits for one: the banner keeps saying why.
    waitingForToken: tokens.isWaiting && tokenReason === null ? (tokens.lastReason ?? 'No access token.') : null,
    notice: notice?.text ?? null,
    askToken,
    restart,
  });

  return (
    <>
      <TopBar connection={state} pills={pills} sessions={feed.sessions} stats={stats} who={who} />
      <Banner banner={banner} />
      <main className="grid">
        <WatchListPanel rows={rows} selected={selected} rejections={feed.rejections} onAdd={addInstrument} onRemove={removeInstrument} onSelect={setSelected} />
        <BookPanel instrument={selected} book={book.book} status={book.status} stale={book.stale || (!connected && book.book !== null)} />
        <TradesPanel trades={feed.tape} seen={feed.tradesSeen} stale={!connected} />
        <PortfolioPanel portfolios={portfolios} stale={accountsStale} loading={activity.loading} />
        <BlotterPanel orders={orders} stale={accountsStale} onCancel={trading ? cancel : undefined} />
        <OrderTicket accounts={activity.accounts} instrument={selected} bestBid={selectedQuote?.bid} bestAsk={selectedQuote?.ask} trading={trading} submit={submit} />
        <PositionsPanel positions={positions} stale={accountsStale} />
        <EventsPanel log={log} />
      </main>
      <TokenDialog
        reason={tokenReason}
        onToken={(token) => {
          tokens.provide(token);
          if (client.state === 'disconnected') client.reconnect();
        }}
        onCancel={() => tokens.dismiss()}
      />
    </>
  );
}
