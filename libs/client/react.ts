/**
 * @tradewire/client/react: React hooks over a `TradewireClient`. Wrap the tree in `<TradewireProvider client={client}>`;
 * each hook subscribes when its component mounts and lets go when it unmounts (subscriptions made in the same render
 * go out as one request).
 */
import { createContext, createElement, useContext, useEffect, useMemo, useReducer, useState, type ReactNode } from 'react';
import {
  InvalidArgumentError,
  type AccountStore,
  type AccountStreamClient,
  type Book,
  type ConnectionState,
  type ConnectionStateInfo,
  type FeedStatusInfo,
  type MarketDataSubscribeOptions,
  type Order,
  type Portfolio,
  type Position,
  type Quote,
  type Trade,
  type TradewireClient,
} from './index.js';
import type { AccountEvent, AccountKind, MdSubscribeChannel } from '#libs/contracts';

const ClientContext = createContext<TradewireClient | null>(null);

export interface TradewireProviderProps {
  client: TradewireClient;
  children?: ReactNode;
}

/** Makes `client` available to the hooks below it. */
export function TradewireProvider({ client, children }: TradewireProviderProps): ReactNode {
  return createElement(ClientContext.Provider, { value: client }, children);
}

/** The client of the nearest `TradewireProvider`. */
export function useTradewireClient(): TradewireClient {
  const client = useContext(ClientContext);
  if (!client) throw new InvalidArgumentError('TradewireProvider', 'the hooks need a <TradewireProvider client={client}> above them');
  return client;
}

export interface ConnectionStateValue {
  state: ConnectionState;
  /** Why it last changed (null before the first change seen). */
  info: ConnectionStateInfo | null;
}

/** The connection state, re-rendered at every change (e.g. for a "reconnecting…" banner). */
export function useConnectionState(): ConnectionStateValue {
  const client = useTradewireClient();
  const [value, setValue] = useState<ConnectionStateValue>(() => ({ state: client.state, info: null }));
  useEffect(() => {
    setValue((previous) => (previous.state === client.state ? previous : { state: client.state, info: null }));
    return client.on('state', (state, info) => setValue({ state, info }));
  }, [client]);
  return value;
}

type MarketDataHookOptions = Pick<MarketDataSubscribeOptions, 'throttleMs' | 'depth'>;

/** Subscribes `channel` of `instruments` while mounted; re-renders at each message of it. */
function useMarketDataStream(instruments: readonly string[], channel: MdSubscribeChannel, options: MarketDataHookOptions): TradewireClient {
  const client = useTradewireClient();
  const [, rerender] = useReducer((n: number) => n + 1, 0);
  const key = instruments.join(',');
  useEffect(() => {
    if (key === '') return;
    const subscription = client.marketData.subscribe({
      instruments: key.split(','),
      channels: [channel],
      ...(options.throttleMs !== undefined ? { throttleMs: options.throttleMs } : {}),
      ...(options.depth !== undefined ? { depth: options.depth } : {}),
    });
    subscription.on(channel, rerender);
    subscription.on('resync', rerender);
    return () => subscription.unsubscribe();
  }, [client, key, channel, options.throttleMs, options.depth]);
  return client;
}

/** The latest quote of `instrument` (undefined until the first arrives). */
export function useQuote(instrument: string, options: { throttleMs?: number } = {}): Quote | undefined {
  const client = useMarketDataStream([instrument], 'quote', options);
  return client.marketData.quote(instrument);
}

/** The latest quote of each instrument, by instrument. */
export function useQuotes(instruments: readonly string[], options: { throttleMs?: number } = {}): Record<string, Quote | undefined> {
  const client = useMarketDataStream(instruments, 'quote', options);
  const quotes: Record<string, Quote | undefined> = {};
  for (const instrument of instruments) quotes[instrument] = client.marketData.quote(instrument);
  return quotes;
}

/** The book of `instrument` as the SDK keeps it (`verified`: its checksum matched), undefined until the snapshot. */
export function useBook(instrument: string, options: MarketDataHookOptions = {}): Book | undefined {
  const client = useMarketDataStream([instrument], 'book', options);
  return client.marketData.book(instrument);
}

/** The instrument's recent trades, newest last (at most `limit`, default the client's tape size). */
export function useTrades(instrument: string, options: { throttleMs?: number; limit?: number } = {}): readonly Trade[] {
  const client = useMarketDataStream([instrument], 'trade', { ...(options.throttleMs !== undefined ? { throttleMs: options.throttleMs } : {}) });
  const tape = client.marketData.trades(instrument);
  return options.limit !== undefined && tape.length > options.limit ? tape.slice(tape.length - options.limit) : tape;
}

/**
 * The feed status of each instrument (the `status` channel: `live`, `stale`, `halted`, `closed`), by instrument;
 * re-renders on each change only, never per tick.
 */
export function useFeedStatus(instruments: readonly string[]): Record<string, FeedStatusInfo | undefined> {
  const client = useMarketDataStream(instruments, 'status', {});
  const statuses: Record<string, FeedStatusInfo | undefined> = {};
  for (const instrument of instruments) statuses[instrument] = client.marketData.feedStatus(instrument);
  return statuses;
}

interface ListStore<E extends { seq: number }> extends AccountStore<E> {

  list(): readonly E[];
}

/** Follows an account stream while mounted and returns its store's items (of `accounts`, or all). */
function useAccountStream<K extends AccountKind>(
  stream: AccountStreamClient<K, ListStore<AccountEvent<K>>>,
  accounts: readonly string[] | undefined,
): readonly AccountEvent<K>[] {
  const [, rerender] = useReducer((n: number) => n + 1, 0);
  const key = accounts?.join(',') ?? '';
  useEffect(() => {
    const subscription = stream.subscribe(key === '' ? {} : { accounts: key.split(',') });
    subscription.on('event', rerender);
    subscription.on('snapshot', rerender);
    subscription.on('revalued', rerender);
    return () => subscription.unsubscribe();
  }, [stream, key]);
  const version = stream.store.version;
  return useMemo(() => {
    const all = stream.store.list();
    if (key === '') return all;
    const wanted = new Set(key.split(','));
    return all.filter((item) => wanted.has(item.account));
    // `version` changes with every store change: the list is recomputed only then.
  }, [stream, key, version]);
}

/** Orders by `orderId` (open and done), oldest first; each update re-renders. */
export function useOrders(options: { accounts?: string[] } = {}): readonly Order[] {
  return useAccountStream(useTradewireClient().orders, options.accounts);
}

/** Positions (one per account and symbol). */
export function usePositions(options: { accounts?: string[] } = {}): readonly Position[] {
  return useAccountStream(useTradewireClient().positions, options.accounts);
}

/** Every followed account's portfolio. */
export function usePortfolios(options: { accounts?: string[] } = {}): readonly Portfolio[] {
  return useAccountStream(useTradewireClient().portfolio, options.accounts);
}

/** One account's portfolio (the first one followed when `account` is left out). */
export function usePortfolio(account?: string): Portfolio | undefined {
  const portfolios = useAccountStream(useTradewireClient().portfolio, account === undefined ? undefined : [account]);
  return portfolios[0];
}
