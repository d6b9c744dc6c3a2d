// @vitest-environment happy-dom
import { act, cleanup, renderHook } from '@testing-library/react';
import { createElement, StrictMode, type ReactNode } from 'react';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bookChecksum, NAMESPACES, type AccountEvent, type BookLevel } from '#libs/contracts';
import { ScriptedGateway, until } from './spec-support/scripted-gateway.js';
import { TradewireClient } from './index.js';
import { TradewireProvider, useBook, useConnectionState, useOrders, usePortfolio, usePositions, useQuote, useQuotes, useTrades } from './react.js';

const MD = NAMESPACES.marketData;

const quote = (instrument: string, seq: number, bid: string) => ({
  stream: `quote:${instrument}`,
  type: seq === 1 ? 'snapshot' : 'update',
  seq,
  ts: seq,
  data: { bid, ask: '2', bidSize: '1', askSize: '1', last: '1', lastSize: '1', volume: '1' },
});

describe('React hooks', () => {
  let gateway: ScriptedGateway;
  let client: TradewireClient;
  let wrapper: (props: { children: ReactNode }) => ReactNode;

  beforeEach(async () => {
    gateway = await ScriptedGateway.start();
    client = new TradewireClient({ url: gateway.url, getToken: () => 'token', transports: ['websocket'], pingIntervalMs: 0, backoff: { minDelayMs: 20, maxDelayMs: 100 } });
    wrapper = ({ children }) => createElement(StrictMode, null, createElement(TradewireProvider, { client }, children));
  });
  afterEach(async () => {
    cleanup();
    client.close();
    await gateway.close();
  });

  it('useConnectionState follows the client, useQuote and useQuotes re-render with each quote', async () => {
    const state = renderHook(() => useConnectionState(), { wrapper });
    expect(state.result.current.state).toBe('disconnected');
    const one = renderHook(() => useQuote('NASDAQ:AAPL'), { wrapper });
    const many = renderHook(() => useQuotes(['NASDAQ:AAPL', 'NASDAQ:MSFT']), { wrapper });
    expect(one.result.current).toBeUndefined();
    await act(() => until('subscribed', () => gateway.requestsOf(MD, 'subscribe').length >= 1));
    expect(state.result.current.state).toBe('connected');
    // StrictMode mounts, unmounts and mounts again: the subscriptions of one render still go out as one request.
    expect(gateway.requestsOf(MD, 'subscribe').map((r) => r.payload)).toEqual([{ instruments: ['NASDAQ:AAPL', 'NASDAQ:MSFT'], channels: ['quote'] }]);
    await act(async () => {
      gateway.emit(MD, 'md', [quote('NASDAQ:AAPL', 1, '1.10'), quote('NASDAQ:MSFT', 1, '3.10')]);
      await until('the quotes', () => client.marketData.quote('NASDAQ:MSFT'));
    });
    expect(one.result.current).toMatchObject({ instrument: 'NASDAQ:AAPL', bid: '1.10' });
    expect(many.result.current['NASDAQ:MSFT']).toMatchObject({ bid: '3.10' });
    await act(async () => {
      gateway.emit(MD, 'md', [quote('NASDAQ:AAPL', 2, '1.20')]);
      await until('the update', () => client.marketData.quote('NASDAQ:AAPL')?.bid === '1.20');
    });
    expect(one.result.current?.bid).toBe('1.20');
    one.unmount();
    many.unmount();
    await act(() => until('unsubscribed', () => gateway.requestsOf(MD, 'unsubscribe').length === 1));
  });

  it('useBook gives the verified book and useTrades the tape', async () => {
    const book = renderHook(() => useBook('NASDAQ:AAPL', { depth: 10 }), { wrapper });
    const trades = renderHook(() => useTrades('NASDAQ:AAPL', { limit: 2 }), { wrapper });
    // One request: the book and the tape are of the same instrument, asked for in the same turn.
    await act(() => until('subscribed', () => gateway.requestsOf(MD, 'subscribe').length === 1));
    const bids: BookLevel[] = [['10.0', '1']];
    const asks: BookLevel[] = [['10.5', '2']];
    await act(async () => {
      gateway.emit(MD, 'md', [
        { stream: 'book:NASDAQ:AAPL', type: 'snapshot', seq: 1, ts: 1, data: { bids, asks, checksum: bookChecksum(asks, bids) } },
        ...['T1', 'T2', 'T3'].map((tradeId, i) => ({ stream: 'trade:NASDAQ:AAPL', type: 'update', seq: i + 1, ts: 1, data: { price: '10.2', size: '1', side: 'buy', tradeId } })),
      ]);
      await until('the book', () => client.marketData.book('NASDAQ:AAPL'));
    });
    expect(book.result.current).toMatchObject({ verified: true, bids, asks });
    expect(trades.result.current.map((t) => t.tradeId)).toEqual(['T2', 'T3']);
  });

  it('useOrders, usePositions and usePortfolio follow the account streams', async () => {
    const orders = renderHook(() => useOrders(), { wrapper });
    const positions = renderHook(() => usePositions({ accounts: ['ACC-1'] }), { wrapper });
    const portfolio = renderHook(() => usePortfolio('ACC-1'), { wrapper });
    await act(() => until('subscribed', () => [NAMESPACES.orders, NAMESPACES.positions, NAMESPACES.portfolio].every((ns) => gateway.requestsOf(ns, 'subscribe').length === 1)));
    const order: AccountEvent<'order'> = {
      account: 'ACC-1', seq: 2, ts: 2, orderId: 'O-1', clientOrderId: 'c-1', symbol: 'NASDAQ:AAPL', side: 'buy', type: 'market',
      status: 'filled', execType: 'trade', quantity: '1', filledQuantity: '1', leavesQuantity: '0',
    };
    await act(async () => {
      gateway.emit(NAMESPACES.orders, 'orders:snapshot', { account: 'ACC-1', seq: 1, items: [] });
      gateway.emit(NAMESPACES.orders, 'order', order);
      gateway.emit(NAMESPACES.positions, 'positions:snapshot', {
        account: 'ACC-1', seq: 2, items: [{ account: 'ACC-1', seq: 2, ts: 2, symbol: 'NASDAQ:AAPL', quantity: '1', avgPrice: '1', marketPrice: '1', marketValue: '1', unrealizedPnl: '0', realizedPnl: '0', dayPnl: '0' }],
      });
      gateway.emit(NAMESPACES.portfolio, 'portfolio:snapshot', {
        account: 'ACC-1', seq: 2, portfolio: { account: 'ACC-1', seq: 2, ts: 2, currency: 'USD', equity: '9', cash: '8', buyingPower: '8', marketValue: '1', dayPnl: '0', totalPnl: '0' },
      });
      await until('the stores', () => client.orders.store.get('O-1') && client.portfolio.store.get('ACC-1') && client.positions.store.list().length === 1);
    });
    expect(orders.result.current).toEqual([order]);
    expect(positions.result.current.map((p) => p.symbol)).toEqual(['NASDAQ:AAPL']);
    expect(portfolio.result.current?.equity).toBe('9');
  });

  it('tells a component outside the provider what is missing', () => {
    expect(() => renderHook(() => useQuote('NASDAQ:AAPL'))).toThrow(/TradewireProvider/);
  });
});
