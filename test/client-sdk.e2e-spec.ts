import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TradewireClient, type Book, type ConnectionState, type Order, type TradewireError } from '#libs/client';
import { GatewayProcess } from './support/gateway.js';
import { waitFor } from './support/processes.js';
import { hsToken } from './support/tokens.js';

/** The client SDK against a real gateway process on its embedded simulator: the quick path a dashboard takes. */
describe('client SDK against a real gateway', () => {
  let gateway: GatewayProcess;

  beforeAll(async () => {
    gateway = await GatewayProcess.start({ ENGINE_TRANSPORT: 'simulator', SIMULATOR: 'on', SIMULATOR_RATE: '400', TOKEN_EXPIRY_WARNING_MS: '58000' });
  });
  afterAll(async () => {
    await gateway?.stop();
  });

  it('connects, keeps quotes and a verified book, and submits an order that shows in the blotter', async () => {
    const client = new TradewireClient({ url: gateway.url, getToken: () => hsToken({ sub: 'sdk-trader' }), transports: ['websocket'] });
    const states: ConnectionState[] = [];
    const errors: TradewireError[] = [];
    client.on('state', (state) => states.push(state));
    client.on('error', (error) => errors.push(error));
    try {
      const md = client.marketData.subscribe({ instruments: ['NASDAQ:AAPL', 'NASDAQ:MSFT'], channels: ['quote', 'trade', 'book'], depth: 10 });
      const books: Book[] = [];
      md.on('book', (book) => books.push(book));
      await waitFor('quotes of both instruments', () => (md.quote('NASDAQ:AAPL') && md.quote('NASDAQ:MSFT') ? true : undefined));
      // A snapshot and then updates, each checked against the server's checksum by the SDK.
      await waitFor('a verified book after updates', () => (books.filter((b) => b.verified).length >= 5 ? true : undefined));
      expect(books.every((b) => b.verified)).toBe(true);
      expect(client.diagnostics()).toMatchObject({ state: 'connected', gaps: 0, checksumMismatches: 0, badFrames: 0 });
      expect(client.diagnostics().streams.map((s) => s.stream).sort()).toEqual(
        ['book:NASDAQ:AAPL', 'book:NASDAQ:MSFT', 'quote:NASDAQ:AAPL', 'quote:NASDAQ:MSFT', 'trade:NASDAQ:AAPL', 'trade:NASDAQ:MSFT'],
      );

      const blotter = client.orders.subscribe({ accounts: ['ACC-1001'] });
      const mine: Order[] = [];
      const snapshot = new Promise((resolve) => blotter.once('snapshot', resolve));
      await snapshot;
      const answer = await client.orders.submit({ account: 'ACC-1001', instrument: 'NASDAQ:AAPL', side: 'buy', type: 'limit', quantity: '10', price: '150.00' });
      blotter.on('order', (order) => {
        if (order.clientOrderId === answer.clientOrderId) mine.push(order);
      });
      expect(answer).toMatchObject({ orderId: expect.stringMatching(/^SIM-/) as string, status: 'new' });
      await waitFor('the order in the store', () => client.orders.store.get(answer.orderId));
      expect(client.orders.store.get(answer.orderId)).toMatchObject({ account: 'ACC-1001', clientOrderId: answer.clientOrderId, symbol: 'NASDAQ:AAPL' });

      await client.ping();
      expect(client.diagnostics().rttMs).toBeGreaterThanOrEqual(0);
      expect(states).toEqual(['connecting', 'connected']);
      expect(errors).toEqual([]);
      md.unsubscribe();
      blotter.unsubscribe();
    } finally {
      client.close();
    }
    expect(client.state).toBe('disconnected');
  });
});
