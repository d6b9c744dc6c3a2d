import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AckResponse, WireError } from '#libs/contracts';
import { NAMESPACES } from '#libs/contracts';
import { connectClient, GatewayProcess, request } from './support/gateway.js';
import { hsToken } from './support/tokens.js';

/** Deferred requests a user may have answered before the store counted them (libs/rate-limit MAX_UNCOUNTED_DEFERRED). */
const MAX_UNCOUNTED_DEFERRED = 4;
const BURST = 6;

function refusal(response: AckResponse<unknown>): WireError {
  if (response.ok) throw new Error(`expected a refusal, got ${JSON.stringify(response)}`);
  return response.error;
}

/** `ping`, answered without waiting for the rate-limit store, with the real socket.io-client (docs/protocol.md §3.6). */
describe('rate limits on ping', () => {
  let gateway: GatewayProcess;

  beforeAll(async () => {
    gateway = await GatewayProcess.start({
      ENGINE_TRANSPORT: 'simulator',
      // A burst bucket that refills one request per 10 s (less than the block), and no other limit in the way.
      RATE_LIMIT_REQUEST_BURST: `${BURST}/1m`,
      RATE_LIMIT_REQUESTS: '10000/1m',
      RATE_LIMIT_BLOCK_AFTER: '30/1m',
      RATE_LIMIT_BLOCK_MS: '60000',
    });
  });
  afterAll(async () => {
    await gateway.stop();
  });

  it('lets at most a few pings of a burst through beyond the bucket, however many arrive at once', async () => {
    const { socket } = await connectClient(gateway.url, NAMESPACES.marketData, { auth: { token: await hsToken({ sub: 'ping-burst' }) } });
    // Sent in one go: the gateway reads them faster than its store decides the first.
    const answers = await Promise.all(Array.from({ length: 200 }, () => request(socket, 'ping', {}, 10_000)));
    const answered = answers.filter((a) => a.ok).length;
    expect(answered).toBeGreaterThanOrEqual(BURST);
    expect(answered).toBeLessThanOrEqual(BURST + MAX_UNCOUNTED_DEFERRED);
    for (const error of answers.filter((a) => !a.ok).map(refusal)) {
      // The refusals past the block threshold (30) say so.
      expect(error).toMatchObject({ code: 'RATE_LIMITED', status: 429 });
      expect(error.message).toMatch(/^too many (requests|refused requests: blocked for 60 s)$/);
      expect(error.retryAfterMs).toBeGreaterThan(0);
    }
    expect(socket.connected).toBe(true);
    socket.close();
  });

  it('tells a blocked user it is blocked on every request, ping included', async () => {
    const { socket } = await connectClient(gateway.url, NAMESPACES.marketData, { auth: { token: await hsToken({ sub: 'ping-blocked' }) } });
    // The bucket empties, then 30 refusals within a minute block the user for 60 s.
    const answers: AckResponse<unknown>[] = [];
    for (let i = 0; i < BURST + 30; i += 1) answers.push(await request(socket, 'unsubscribe', { instruments: ['NASDAQ:AAPL'] }));
    expect(refusal(answers[answers.length - 1]).message).toMatch(/^too many refused requests: blocked for (59|60) s$/);
    for (const event of ['ping', 'unsubscribe', 'subscribe', 'ping'] as const) {
      const answer = event === 'ping' ? request(socket, event, {}) : request(socket, event, { instruments: ['NASDAQ:AAPL'], channels: ['quote'] });
      const error = refusal(await answer);
      expect(error.code, event).toBe('RATE_LIMITED');
      expect(error.message, event).toMatch(/^too many refused requests: blocked for (5\d|60) s$/);
      expect(error.retryAfterMs, event).toBeGreaterThan(50_000);
    }
    // Another namespace of the same user: blocked too, with the same words.
    const { socket: orders } = await connectClient(gateway.url, NAMESPACES.orders, { auth: { token: await hsToken({ sub: 'ping-blocked' }) } });
    expect(refusal(await request(orders, 'ping', {})).message).toMatch(/^too many refused requests: blocked for/);
    expect(socket.connected && orders.connected).toBe(true);
    expect(await gateway.metric('tradewire_rate_limited_total', { namespace: NAMESPACES.marketData, event: 'ping', rule: 'blocked' })).toBeGreaterThanOrEqual(2);
    socket.close();
    orders.close();
  });
});
