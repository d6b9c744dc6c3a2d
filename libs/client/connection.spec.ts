import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NAMESPACES, type OrderAmendRequest, type OrderCancelAllRequest, type OrderSubmitRequest } from '#libs/contracts';
import { refusal, ScriptedGateway, until } from './spec-support/scripted-gateway.js';
import { RequestError, TradewireClient, type ConnectionState, type ConnectionStateInfo, type TradewireClientOptions, type TradewireError } from './index.js';

const MD = NAMESPACES.marketData;
const ORDERS = NAMESPACES.orders;

describe('the SDK connection: tokens, reconnects, refusals, requests', () => {
  let gateway: ScriptedGateway;
  let client: TradewireClient | null;
  let tokens: number;
  let states: [ConnectionState, ConnectionStateInfo][];
  let errors: TradewireError[];

  const start = (options: Partial<TradewireClientOptions> = {}) => {
    client = new TradewireClient({
      url: gateway.url,
      getToken: () => `token-${++tokens}`,
      transports: ['websocket'],
      pingIntervalMs: 0,
      backoff: { minDelayMs: 20, maxDelayMs: 100 },
      ...options,
    });
    client.on('state', (state, info) => states.push([state, info]));
    client.on('error', (error) => errors.push(error));
    return client;
  };

  beforeEach(async () => {
    gateway = await ScriptedGateway.start();
    client = null;
    tokens = 0;
    states = [];
    errors = [];
  });
  afterEach(async () => {
    client?.close();
    await gateway.close();
  });

  it('opens only the namespaces it uses, over one connection, with the token from getToken()', async () => {
    const c = start();
    expect(c.state).toBe('disconnected');
    c.marketData.subscribe({ instruments: ['NASDAQ:AAPL'], channels: ['quote'] });
    c.orders.subscribe();
    await until('connected', () => c.diagnostics().namespaces.every((n) => n.connected) && c.diagnostics().namespaces.length === 2);
    expect(gateway.handshakes).toEqual([
      { namespace: MD, token: 'token-1' },
      { namespace: ORDERS, token: 'token-1' },
    ]);
    expect(gateway.io.engine.clientsCount).toBe(1);
    expect(states.map(([s]) => s)).toEqual(['connecting', 'connected']);
    expect(c.diagnostics().namespaces.map((n) => n.node)).toEqual(['scripted-1', 'scripted-1']);
  });

  it('on auth:expiring gets a fresh token and sends auth:refresh on every open namespace, without reconnecting', async () => {
    gateway.on(MD, 'auth:refresh', () => ({ ok: true, data: { expiresAt: 2_000 } }));
    gateway.on(ORDERS, 'auth:refresh', () => ({ ok: true, data: { expiresAt: 2_000 } }));
    const c = start();
    const refreshed: number[] = [];
    c.on('tokenRefreshed', ({ expiresAt }) => refreshed.push(expiresAt));
    c.marketData.subscribe({ instruments: ['NASDAQ:AAPL'], channels: ['quote'] });
    c.orders.subscribe();
    await until('connected', () => c.diagnostics().namespaces.filter((n) => n.connected).length === 2);
    // The warning comes on each namespace: one fresh token serves them all.
    gateway.emit(MD, 'auth:expiring', { expiresAt: 1_000 });
    gateway.emit(ORDERS, 'auth:expiring', { expiresAt: 1_000 });
    await until('both refreshed', () => refreshed.length === 2);
    expect(gateway.requests.filter((r) => r.event === 'auth:refresh').map((r) => [r.namespace, r.payload])).toEqual(
      expect.arrayContaining([
        [MD, { token: 'token-2' }],
        [ORDERS, { token: 'token-2' }],
      ]),
    );
    expect(gateway.requests.filter((r) => r.event === 'auth:refresh')).toHaveLength(2);
    expect(gateway.handshakes).toHaveLength(2);
    expect(c.diagnostics().reconnects).toBe(0);
  });

  it('passes welcome, licence and system notices to the application', async () => {
    const c = start();
    const seen: string[] = [];
    c.on('welcome', (w) => seen.push(`welcome ${w.namespace} ${w.node}`));
    c.on('licence', (l) => seen.push(`licence ${l.entitlements.tier}`));
    c.on('system', (n) => seen.push(`system ${n.type} ${n.message}`));
    c.orders.subscribe();
    await until('connected', () => c.state === 'connected');
    gateway.emit(ORDERS, 'licence', { limits: { maxSubscriptions: 1, maxConnections: 1, minThrottleMs: 0, maxFrameBytes: 1 }, entitlements: { tier: 'pro', exchanges: {}, channels: [], features: [] } });
    gateway.emit(ORDERS, 'system', { type: 'notice', message: 'LSE feed degraded' });
    gateway.emit(ORDERS, 'licence', 'garbage');
    await until('all three', () => seen.length === 3 && errors.length === 1);
    expect(seen).toEqual([`welcome ${ORDERS} scripted-1`, 'licence pro', 'system notice LSE feed degraded']);
    expect(errors[0]).toMatchObject({ code: 'BAD_FRAME', message: 'licence: not a licence payload' });
  });

  it('refreshes the token after a TOKEN_EXPIRED refusal and connects with the fresh one', async () => {
    gateway.refusals.push(refusal('TOKEN_EXPIRED', 'token expired'));
    const c = start();
    c.orders.subscribe();
    await until('connected', () => c.state === 'connected');
    expect(gateway.handshakes.map((h) => h.token)).toEqual(['token-1', 'token-2']);
    expect(states.map(([s, i]) => [s, i.reason, i.error?.code])).toEqual([
      ['connecting', 'connect', undefined],
      ['connecting', 'refused', 'TOKEN_EXPIRED'],
      ['connected', 'connect', undefined],
    ]);
  });

  it('asks for a token once more after UNAUTHORIZED, then stops: disconnected with the error', async () => {
    gateway.refusals.push(refusal('UNAUTHORIZED', 'bad signature'), refusal('UNAUTHORIZED', 'bad signature'));
    const c = start();
    const pending = c.orders.submit({ account: 'ACC-1', instrument: 'NASDAQ:AAPL', side: 'buy', type: 'market', quantity: '1' });
    await expect(pending).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    expect(c.state).toBe('disconnected');
    expect(states.at(-1)?.[1]).toMatchObject({ reason: 'refused', namespace: ORDERS, error: { code: 'UNAUTHORIZED' } });
    expect(gateway.handshakes.map((h) => h.token)).toEqual(['token-1', 'token-2']);
    expect(errors.map((e) => e.code)).toEqual(['UNAUTHORIZED']);
    // The application got the user to sign in again: reconnect() starts over with a fresh token.
    c.reconnect();
    await until('connected', () => c.state === 'connected');
    expect(gateway.handshakes.map((h) => h.token)).toEqual(['token-1', 'token-2', 'token-3']);
  });

  it('reports a getToken() that fails and tries again with backoff', async () => {
    let calls = 0;
    const c = start({
      getToken: () => {
        calls++;
        if (calls === 1) return Promise.reject(new Error('identity provider down'));
        return 'token-ok';
      },
    });
    c.orders.subscribe();
    await until('connected', () => c.state === 'connected');
    expect(errors.map((e) => [e.code, e.message])).toEqual([['TOKEN_UNAVAILABLE', 'getToken() failed: Error: identity provider down']]);
    expect(gateway.handshakes.map((h) => h.token)).toEqual(['token-ok']);
  });

  it('stops on a terminal refusal such as NOT_ENTITLED', async () => {
    gateway.refusals.push(refusal('NOT_ENTITLED', 'licence has been revoked'));
    const c = start();
    c.positions.subscribe();
    await until('disconnected', () => states.some(([s]) => s === 'disconnected'));
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(gateway.handshakes).toHaveLength(1);
  });

  it("waits the refusal's retryAfterMs before trying again (CONNECTION_LIMIT, RATE_LIMITED)", async () => {
    gateway.refusals.push(refusal('CONNECTION_LIMIT', 'every seat is in use', { retryAfterMs: 300 }));
    const c = start({ random: () => 0 });
    const started = Date.now();
    c.portfolio.subscribe();
    await until('connected', () => c.state === 'connected');
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(states.find(([, i]) => i.reason === 'refused')?.[1]).toMatchObject({ retryInMs: 300, error: { code: 'CONNECTION_LIMIT' } });
  });

  it('reconnects with full-jitter backoff after a dropped connection, and says so', async () => {
    const c = start({ random: () => 0.5 });
    c.marketData.subscribe({ instruments: ['NASDAQ:AAPL'], channels: ['quote'] });
    await until('connected', () => c.state === 'connected');
    gateway.setNode('scripted-2');
    gateway.dropAll();
    await until('reconnected', () => c.diagnostics().reconnects === 1);
    const reconnecting = states.find(([s]) => s === 'reconnecting');
    // First retry: half (random 0.5) of the 20 ms window.
    expect(reconnecting?.[1]).toMatchObject({ namespace: MD, retryInMs: 10, attempt: 1 });
    expect(states.at(-1)).toEqual(['connected', { reason: 'connect', namespace: MD, node: 'scripted-2' }]);
  });

  it("reconnects inside a shutdown notice's reconnectInMs, with jitter", async () => {
    const c = start({ random: () => 0.5, backoff: { minDelayMs: 10_000, maxDelayMs: 20_000 } });
    const notices: unknown[] = [];
    c.on('system', (notice) => notices.push(notice));
    c.marketData.subscribe({ instruments: ['NASDAQ:AAPL'], channels: ['quote'] });
    c.orders.subscribe();
    await until('connected', () => c.diagnostics().namespaces.filter((n) => n.connected).length === 2);
    gateway.shutdown(400);
    await until('reconnected', () => c.diagnostics().reconnects === 1, 2_000);
    // Both namespaces got the notice; the application hears it once.
    expect(notices).toEqual([{ type: 'shutdown', message: 'restarting', reconnectInMs: 400 }]);
    expect(states.filter(([, i]) => i.reason === 'shutdown').map(([, i]) => i.retryInMs)).toEqual([200, 200]);
  });

  it("reports an operator's notice once, though it comes on every namespace", async () => {
    const c = start();
    const notices: unknown[] = [];
    c.on('system', (notice) => notices.push(notice));
    c.marketData.subscribe({ instruments: ['NASDAQ:AAPL'], channels: ['quote'] });
    c.orders.subscribe();
    await until('connected', () => c.diagnostics().namespaces.filter((n) => n.connected).length === 2);
    const notice = { type: 'notice', id: 'n-1', message: 'LSE feed degraded', severity: 'warning' };
    gateway.emit(MD, 'system', notice);
    gateway.emit(ORDERS, 'system', notice);
    gateway.emit(ORDERS, 'system', { ...notice, id: 'n-2', message: 'all clear', severity: 'info' });
    await until('both notices', () => notices.length === 2);
    expect(notices).toEqual([notice, { ...notice, id: 'n-2', message: 'all clear', severity: 'info' }]);
  });

  it("after an operator's disconnect with reconnectInMs, comes back inside it", async () => {
    const c = start({ random: () => 0.5, backoff: { minDelayMs: 10_000, maxDelayMs: 20_000 } });
    c.marketData.subscribe({ instruments: ['NASDAQ:AAPL'], channels: ['quote'] });
    await until('connected', () => c.state === 'connected');
    for (const socket of gateway.sockets(MD)) {
      socket.emit('system', { type: 'disconnect', id: 'd-1', message: 'moving you to another replica', reconnectInMs: 300 });
      socket.disconnect(true);
    }
    await until('reconnected', () => c.diagnostics().reconnects === 1, 2_000);
    expect(states.filter(([, i]) => i.reason === 'operator disconnect').map(([, i]) => i.retryInMs)).toEqual([150]);
  });

  it("after an operator's disconnect without reconnectInMs, stays disconnected with the reason until reconnect()", async () => {
    const c = start();
    c.marketData.subscribe({ instruments: ['NASDAQ:AAPL'], channels: ['quote'] });
    c.orders.subscribe();
    await until('connected', () => c.diagnostics().namespaces.filter((n) => n.connected).length === 2);
    for (const namespace of [MD, ORDERS]) {
      for (const socket of gateway.sockets(namespace)) {
        socket.emit('system', { type: 'disconnect', id: 'd-2', message: 'account under review' });
        socket.disconnect(true);
      }
    }
    await until('disconnected', () => c.state === 'disconnected');
    const last = states.at(-1);
    expect(last?.[1]).toMatchObject({ reason: 'operator disconnect', error: { code: 'DISCONNECTED_BY_OPERATOR', message: 'account under review' } });
    expect(errors.map((e) => e.code)).toContain('DISCONNECTED_BY_OPERATOR');
    const handshakes = gateway.handshakes.length;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(gateway.handshakes.length).toBe(handshakes);
    c.reconnect();
    await until('connected again', () => c.state === 'connected');
  });

  it('with several URLs, moves to the next one when its replica dies or announces its shutdown', async () => {
    const second = await ScriptedGateway.start();
    second.setNode('scripted-2');
    try {
      const c = start({ url: [gateway.url, second.url] });
      const md = c.marketData.subscribe({ instruments: ['NASDAQ:AAPL'], channels: ['quote'] });
      c.orders.subscribe();
      await until('connected to the first', () => c.state === 'connected' && c.diagnostics().namespaces.every((n) => n.node === 'scripted-1'));
      await gateway.close(); // the replica is gone: the next attempt is refused by the network
      await until('connected to the second', () => c.state === 'connected' && c.diagnostics().namespaces.length === 2 && c.diagnostics().namespaces.every((n) => n.node === 'scripted-2'));
      await until('resubscribed there', () => second.requestsOf(MD, 'subscribe').length === 1 && second.requestsOf(ORDERS, 'subscribe').length === 1);
      expect(second.requestsOf(MD, 'subscribe').map((r) => r.payload)).toEqual([{ instruments: ['NASDAQ:AAPL'], channels: ['quote'] }]);
      gateway = await ScriptedGateway.start(); // a first replica back, on another port: not in the list, so unused
      second.shutdown(100);
      // Back to the first URL, which is down now: the client keeps trying both in turn.
      await until('reconnecting', () => c.state === 'reconnecting');
      expect(md.isActive).toBe(true);
    } finally {
      client?.close();
      await second.close();
    }
  });

  it('refreshes and reconnects when the server closes the connection after TOKEN_EXPIRED', async () => {
    const c = start();
    c.orders.subscribe();
    await until('connected', () => c.state === 'connected');
    for (const socket of gateway.sockets(ORDERS)) {
      socket.emit('error', refusal('TOKEN_EXPIRED', 'token has expired; reconnect with a fresh token'));
      socket.disconnect(true);
    }
    await until('reconnected', () => c.diagnostics().reconnects === 1);
    expect(gateway.handshakes.map((h) => h.token)).toEqual(['token-1', 'token-2']);
    expect(errors.map((e) => e.code)).toEqual(['TOKEN_EXPIRED']);
  });

  it('waits out RATE_LIMITED on a request (retryAfterMs) a bounded number of times', async () => {
    let refusals = 2;
    gateway.on(ORDERS, 'order:submit', (_socket, payload) =>
      refusals-- > 0
        ? { ok: false, error: refusal('RATE_LIMITED', 'too many order:submit requests', { retryAfterMs: 50 }) }
        : { ok: true, data: { orderId: 'O-1', status: 'new', echo: (payload as OrderSubmitRequest).clientOrderId } },
    );
    const c = start();
    const answer = await c.orders.submit({ account: 'ACC-1', instrument: 'NASDAQ:AAPL', side: 'buy', type: 'limit', quantity: '10', price: '189.50' });
    expect(answer).toMatchObject({ orderId: 'O-1', status: 'new' });
    const sent = gateway.requestsOf(ORDERS, 'order:submit').map((r) => (r.payload as OrderSubmitRequest).clientOrderId);
    expect(sent).toHaveLength(3);
    expect(new Set(sent).size).toBe(1);
    expect(sent[0]).toBe(answer.clientOrderId);
    expect(c.diagnostics().rateLimitedRetries).toBe(2);

    refusals = 10;
    const refused = c.orders.submit({ account: 'ACC-1', instrument: 'NASDAQ:AAPL', side: 'sell', type: 'market', quantity: '1' });
    await expect(refused).rejects.toBeInstanceOf(RequestError);
    await expect(refused).rejects.toMatchObject({ code: 'RATE_LIMITED', retryAfterMs: 50 });
    expect(gateway.requestsOf(ORDERS, 'order:submit')).toHaveLength(3 + 4); // the first try and 3 retries
  });

  it('sends an order again with the same clientOrderId when its answer is lost to a reconnect', async () => {
    let first = true;
    gateway.on(ORDERS, 'order:submit', (socket) => {
      if (first) {
        first = false;
        socket.conn.close(); // the answer never comes: the connection is gone
        return new Promise(() => undefined);
      }
      return { ok: true, data: { orderId: 'O-7', status: 'new' } };
    });
    const c = start();
    const answer = await c.orders.submit({ account: 'ACC-1', instrument: 'NASDAQ:AAPL', side: 'buy', type: 'limit', quantity: '10', price: '1.5', clientOrderId: 'my-key-1' });
    expect(answer).toEqual({ orderId: 'O-7', status: 'new', clientOrderId: 'my-key-1' });
    expect(gateway.requestsOf(ORDERS, 'order:submit').map((r) => (r.payload as OrderSubmitRequest).clientOrderId)).toEqual(['my-key-1', 'my-key-1']);
    expect(c.diagnostics().reconnects).toBe(1);
  });

  it('cancels by orderId or clientOrderId, and refusals are typed', async () => {
    gateway.on(ORDERS, 'order:cancel', (_socket, payload) =>
      (payload as { orderId?: string }).orderId === 'O-404' ? { ok: false, error: refusal('FORBIDDEN', 'account not in token', { details: { account: 'ACC-9' } }) } : { ok: true, data: { status: 'pending_cancel' } },
    );
    const c = start();
    expect(await c.orders.cancel({ account: 'ACC-1', orderId: 'O-1' })).toEqual({ status: 'pending_cancel' });
    await expect(c.orders.cancel({ account: 'ACC-1', orderId: 'O-404' })).rejects.toMatchObject({ name: 'RequestError', code: 'FORBIDDEN', status: 403, details: { account: 'ACC-9' } });
    expect(gateway.requestsOf(ORDERS, 'order:cancel').map((r) => r.payload)).toEqual([
      { account: 'ACC-1', orderId: 'O-1' },
      { account: 'ACC-1', orderId: 'O-404' },
    ]);
  });

  it('cancels all (filters, a requestId reused on retry) and amends (a new clientOrderId), typed', async () => {
    let lose = true;
    gateway.on(ORDERS, 'order:cancel-all', (socket) => {
      if (lose) {
        lose = false;
        socket.conn.close(); // the answer is lost: the SDK sends the same requestId again
        return new Promise(() => undefined);
      }
      return { ok: true, data: { orderIds: ['O-1', 'O-2'] } };
    });
    gateway.on(ORDERS, 'order:amend', (_socket, payload) =>
      (payload as OrderAmendRequest).orderId === 'O-404' ? { ok: false, error: refusal('INVALID_REQUEST', 'no working order of this account has that id') } : { ok: true, data: { orderId: 'O-1', status: 'new' } },
    );
    const c = start();
    const all = await c.orders.cancelAll({ account: 'ACC-1', instrument: 'NASDAQ:AAPL', side: 'sell' });
    expect(all.orderIds).toEqual(['O-1', 'O-2']);
    const sent = gateway.requestsOf(ORDERS, 'order:cancel-all').map((r) => r.payload as OrderCancelAllRequest);
    expect(sent).toEqual([
      { requestId: all.requestId, account: 'ACC-1', instrument: 'NASDAQ:AAPL', side: 'sell' },
      { requestId: all.requestId, account: 'ACC-1', instrument: 'NASDAQ:AAPL', side: 'sell' },
    ]);
    expect(await c.orders.cancelAll({ account: 'ACC-1', requestId: 'panic-1' })).toEqual({ orderIds: ['O-1', 'O-2'], requestId: 'panic-1' });

    expect(await c.orders.amend({ account: 'ACC-1', origClientOrderId: 'c-1', quantity: '20', clientOrderId: 'c-2' })).toEqual({ orderId: 'O-1', status: 'new', clientOrderId: 'c-2' });
    const generated = await c.orders.amend({ account: 'ACC-1', orderId: 'O-1', price: '1.25' });
    expect(generated.clientOrderId).toMatch(/^[A-Za-z0-9._:-]{1,64}$/);
    await expect(c.orders.amend({ account: 'ACC-1', orderId: 'O-404', price: '1' })).rejects.toMatchObject({ name: 'RequestError', code: 'INVALID_REQUEST' });
    expect(gateway.requestsOf(ORDERS, 'order:amend').map((r) => r.payload)).toEqual([
      { clientOrderId: 'c-2', account: 'ACC-1', origClientOrderId: 'c-1', quantity: '20' },
      { clientOrderId: generated.clientOrderId, account: 'ACC-1', orderId: 'O-1', price: '1.25' },
      { clientOrderId: expect.any(String) as string, account: 'ACC-1', orderId: 'O-404', price: '1' },
    ]);
  });

  it('checks cancel-all and amend arguments before sending anything', () => {
    const c = start();
    expect(() => c.orders.cancelAll({ account: 'bad account' })).toThrow(/account/);
    expect(() => c.orders.cancelAll({ account: 'ACC-1', instrument: 'AAPL' })).toThrow(/instrument/);
    expect(() => c.orders.cancelAll({ account: 'ACC-1', side: 'BUY' as 'buy' })).toThrow(/side/);
    expect(() => c.orders.cancelAll({ account: 'ACC-1', requestId: '' })).toThrow(/requestId/);
    expect(() => c.orders.amend({ account: 'ACC-1', price: '1' })).toThrow(/orderId: give orderId or origClientOrderId/);
    expect(() => c.orders.amend({ account: 'ACC-1', orderId: 'O-1' })).toThrow(/quantity: give quantity or price/);
    expect(() => c.orders.amend({ account: 'ACC-1', orderId: 'O-1', quantity: '0' })).toThrow(/quantity/);
    expect(() => c.orders.amend({ account: 'ACC-1', orderId: 'O-1', price: '-1' })).toThrow(/price/);
    expect(() => c.orders.amend({ account: 'ACC-1', origClientOrderId: 'c-1', clientOrderId: 'c-1', price: '1' })).toThrow(/clientOrderId: must be new/);
    expect(() => c.orders.amend({ account: 'ACC-1', orderId: 'has spaces', price: '1' })).toThrow(/orderId/);
    expect(gateway.requests).toEqual([]);
  });

  it('checks order arguments before sending anything', () => {
    const c = start();
    const base = { account: 'ACC-1', instrument: 'NASDAQ:AAPL', side: 'buy', type: 'limit', quantity: '10', price: '1.00' } as const;
    expect(() => c.orders.submit({ ...base, price: undefined })).toThrow(/price: is required for a limit order/);
    expect(() => c.orders.submit({ ...base, quantity: '0' })).toThrow(/quantity/);
    expect(() => c.orders.submit({ ...base, quantity: 10 as unknown as string })).toThrow(/quantity/);
    expect(() => c.orders.submit({ ...base, side: 'long' as 'buy' })).toThrow(/side/);
    expect(() => c.orders.submit({ ...base, clientOrderId: 'has spaces' })).toThrow(/clientOrderId/);
    expect(() => c.orders.cancel({ account: 'ACC-1' })).toThrow(/orderId: give orderId or clientOrderId/);
    expect(() => new TradewireClient({ url: 'gateway', getToken: () => 't' })).toThrow(/url/);
    expect(() => new TradewireClient({ url: 'http://x', getToken: 'token' as unknown as () => string })).toThrow(/getToken/);
    expect(gateway.requests).toEqual([]);
  });

  it('measures RTT and clock offset with one background ping per interval per connection', async () => {
    const c = start({ pingIntervalMs: 100 });
    c.marketData.subscribe({ instruments: ['NASDAQ:AAPL'], channels: ['quote'] });
    c.orders.subscribe();
    await until('connected', () => c.diagnostics().namespaces.filter((n) => n.connected).length === 2);
    const before = c.diagnostics().pingsSent;
    await until('two pings', () => c.diagnostics().pingsSent >= before + 2 && c.diagnostics().rttMs !== null);
    const pings = gateway.requests.filter((r) => r.event === 'ping').slice(-2);
    // One namespace pings for the connection, not each of them.
    expect(new Set(pings.map((p) => p.namespace)).size).toBe(1);
    expect(c.diagnostics().rttMs).toBeGreaterThanOrEqual(0);
    expect(Math.abs(c.diagnostics().clockOffsetMs ?? Infinity)).toBeLessThan(1_000);
  });

  it('sends its logs to the logger hook as a message and JSON fields', async () => {
    const lines: { level: string; message: string; fields?: Record<string, unknown> }[] = [];
    const log = (level: string) => (message: string, fields?: Record<string, unknown>) => lines.push({ level, message, ...(fields ? { fields } : {}) });
    const c = start({ logger: { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') } });
    c.orders.subscribe();
    await until('connected', () => c.state === 'connected');
    expect(lines).toEqual(expect.arrayContaining([expect.objectContaining({ level: 'info', message: 'connection state', fields: expect.objectContaining({ state: 'connected' }) as unknown })]));
    for (const line of lines) expect(JSON.parse(JSON.stringify(line))).toEqual(line);
  });
});
