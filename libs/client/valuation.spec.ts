import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NAMESPACES, type AccountEvent, type PositionsValuation, type ValuedPosition } from '#libs/contracts';
import { ScriptedGateway, until } from './spec-support/scripted-gateway.js';
import { PositionStore, TradewireClient, type TradewireError } from './index.js';

const position = (seq: number, marketPrice = '10.00'): AccountEvent<'position'> => ({
  account: 'ACC-1',
  seq,
  ts: 1000 + seq,
  symbol: 'NASDAQ:AAPL',
  quantity: '10',
  avgPrice: '9.00',
  marketPrice,
  marketValue: '100.00',
  unrealizedPnl: '10.00',
  realizedPnl: '0.00',
  dayPnl: '1.00',
});
const valued = (seq: number, marketPrice: string): ValuedPosition => ({ ...position(seq, marketPrice), marketValue: '105.00', source: 'gateway', quoteTs: 2000, delayed: false });

describe('gateway valuations in the SDK', () => {
  it('replace a held position only while it is the engine state they revalued', () => {
    const store = new PositionStore();
    store.apply(position(3));
    const version = store.version;
    expect(store.applyValuation([valued(2, '10.50')])).toBe(false); // of an older engine event
    expect(store.applyValuation([{ ...valued(3, '10.50'), symbol: 'NASDAQ:MSFT' }])).toBe(false); // not held
    expect(store.version).toBe(version);
    expect(store.applyValuation([valued(3, '10.50')])).toBe(true);
    expect(store.get('ACC-1', 'NASDAQ:AAPL')).toMatchObject({ marketPrice: '10.50', source: 'gateway', seq: 3 });
    expect(store.version).toBe(version + 1);
    store.apply(position(4, '10.20')); // the engine's next event wins, and carries no source
    expect(store.get('ACC-1', 'NASDAQ:AAPL')?.source).toBeUndefined();
  });

  describe('over a connection', () => {
    let gateway: ScriptedGateway;
    let client: TradewireClient;
    beforeEach(async () => {
      gateway = await ScriptedGateway.start();
      client = new TradewireClient({ url: gateway.url, getToken: () => 'token', transports: ['websocket'], pingIntervalMs: 0 });
    });
    afterEach(async () => {
      client.close();
      await gateway.close();
    });

    it('applies positions:valuation to the store without touching the seq, and reports a malformed one', async () => {
      gateway.on(NAMESPACES.positions, 'subscribe', () => ({ ok: true, data: { accounts: [{ account: 'ACC-1', seq: 3, replayed: 0, resetRequired: false }] } }));
      const errors: TradewireError[] = [];
      client.on('error', (error) => errors.push(error));
      const subscription = client.positions.subscribe();
      const seen: PositionsValuation[] = [];
      subscription.on('valuation', (valuation) => seen.push(valuation));
      await until('subscribe', () => gateway.requestsOf(NAMESPACES.positions, 'subscribe').length === 1);
      gateway.emit(NAMESPACES.positions, 'positions:snapshot', { account: 'ACC-1', seq: 3, items: [position(3)] });
      const valuation: PositionsValuation = { account: 'ACC-1', seq: 3, ts: 3000, source: 'gateway', items: [valued(3, '10.50')] };
      gateway.emit(NAMESPACES.positions, 'positions:valuation', valuation);
      await until('the valuation', () => seen.length === 1);
      expect(client.positions.store.get('ACC-1', 'NASDAQ:AAPL')?.marketPrice).toBe('10.50');
      expect(client.positions.seqs()).toEqual({ 'ACC-1': 3 });
      gateway.emit(NAMESPACES.positions, 'positions:valuation', { ...valuation, items: [{ ...valued(3, '11.00'), source: 'engine' }] });
      await until('the bad frame', () => errors.length === 1);
      expect(errors[0]?.code).toBe('BAD_FRAME');
      expect(client.positions.store.get('ACC-1', 'NASDAQ:AAPL')?.marketPrice).toBe('10.50');
    });
  });
});
