import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NAMESPACES, type AccountSubscribeResponse, type AckResponse } from '#libs/contracts';
import { connectClient, GatewayProcess, request, sleep } from './support/gateway.js';
import { hsToken } from './support/tokens.js';

const ROUNDS = 40;

/**
 * A client that subscribes and unsubscribes back to back must end up where the last request says, however the two
 * requests travel through the gateway (the subscribe passes more guards than the unsubscribe, and both often arrive
 * in one network read).
 */
describe('subscription requests of one socket take effect in the order they were sent', () => {
  let gateway: GatewayProcess;

  beforeAll(async () => {
    gateway = await GatewayProcess.start({
      ENGINE_TRANSPORT: 'simulator',
      RATE_LIMIT_EVENTS: 'subscribe=1000/1m',
      RATE_LIMIT_REQUESTS: '10000/1m',
      RATE_LIMIT_REQUEST_BURST: '1000/1s',
    });
  });
  afterAll(async () => {
    await gateway.stop();
  });

  it('market data: subscribe then unsubscribe leaves nothing subscribed, every round', async () => {
    const { socket } = await connectClient(gateway.url, NAMESPACES.marketData, { auth: { token: await hsToken({ sub: 'order-md' }) } });
    for (let round = 0; round < ROUNDS; round++) {
      const subscribed = request(socket, 'subscribe', { instruments: ['NASDAQ:AAPL'], channels: ['quote', 'book'] });
      const unsubscribed = request(socket, 'unsubscribe', { instruments: ['NASDAQ:AAPL'] });
      const [subscribeAck, unsubscribeAck] = await Promise.all([subscribed, unsubscribed]);
      expect(subscribeAck.ok && subscribeAck.data.subscribed.map((s) => s.stream).sort()).toEqual(['book:NASDAQ:AAPL', 'quote:NASDAQ:AAPL']);
      // The unsubscribe saw what the subscribe had done.
      expect(unsubscribeAck.ok && [...unsubscribeAck.data.unsubscribed].sort()).toEqual(['book:NASDAQ:AAPL', 'quote:NASDAQ:AAPL']);
    }
    expect(await gateway.metric('tradewire_subscriptions', { namespace: NAMESPACES.marketData })).toBe(0);
    // ...and nothing is streamed to it afterwards.
    let frames = 0;
    socket.on('md', () => frames++);
    await sleep(300);
    expect(frames).toBe(0);
    expect(socket.connected).toBe(true);
    socket.close();
  });

  it('accounts: subscribe then unsubscribe leaves nothing watched, every round', async () => {
    const account = 'ACC-ORDER-1';
    const { socket } = await connectClient(gateway.url, NAMESPACES.orders, { auth: { token: await hsToken({ sub: 'order-acct', accounts: [account] }) } });
    for (let round = 0; round < ROUNDS; round++) {
      const subscribed = request(socket, 'subscribe', {});
      const unsubscribed = request(socket, 'unsubscribe', { accounts: [account] });
      const [subscribeAck, unsubscribeAck]: [AckResponse<AccountSubscribeResponse>, AckResponse<{ accounts: string[] }>] = await Promise.all([subscribed, unsubscribed]);
      expect(subscribeAck.ok && subscribeAck.data.accounts.map((a) => a.account)).toEqual([account]);
      expect(unsubscribeAck).toEqual({ ok: true, data: { accounts: [account] } });
    }
    expect(await gateway.metric('tradewire_subscriptions', { namespace: NAMESPACES.orders })).toBe(0);
    socket.close();
  });
});
