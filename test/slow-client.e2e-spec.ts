import { readFileSync } from 'node:fs';
import { createConnection, type Socket as TcpSocket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { NAMESPACES, type MdMessage } from '#libs/contracts';
import { collect, connectClient, GatewayProcess, request, sleep } from './support/gateway.js';
import { waitFor } from './support/processes.js';
import { hsToken } from './support/tokens.js';

const instruments = (JSON.parse(readFileSync(new URL('../data/instruments.json', import.meta.url), 'utf8')) as { exchange: string; symbol: string }[]).map(
  (i) => `${i.exchange}:${i.symbol}`,
);

/**
 * A dashboard that subscribes and then stops reading: the Socket.IO protocol spoken by hand over ws, on a TCP socket
 * we hold, so that reading can be paused the way a frozen browser tab or a saturated link stops it.
 */
async function openStalledClient(baseUrl: string, token: string): Promise<{ ws: WebSocket; tcp: () => TcpSocket | undefined }> {
  let tcp: TcpSocket | undefined;
  const ws = new WebSocket(`${baseUrl.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`, {
    perMessageDeflate: false,
    createConnection: ((...args: Parameters<typeof createConnection>) => {
      tcp = createConnection(...args);
      return tcp;
    }) as typeof createConnection,
  });
  await new Promise<void>((resolve, reject) => {
    ws.on('message', (raw: Buffer) => {
      const text = raw.toString();
      if (text.startsWith('0')) ws.send(`40${NAMESPACES.marketData},${JSON.stringify({ token })}`);
      else if (text.startsWith(`42${NAMESPACES.marketData},["welcome"`)) resolve();
      else if (text.startsWith(`44${NAMESPACES.marketData}`)) reject(new Error(text));
    });
    ws.once('error', reject);
  });
  ws.send(`42${NAMESPACES.marketData},${JSON.stringify(['subscribe', { instruments, channels: ['quote', 'trade', 'book'] }])}`);
  return { ws, tcp: () => tcp };
}

describe('slow clients', () => {
  let gateway: GatewayProcess;

  beforeAll(async () => {
    gateway = await GatewayProcess.start({ ENGINE_TRANSPORT: 'simulator', SIMULATOR: 'on', SIMULATOR_RATE: '20000', SLOW_CLIENT_GRACE_MS: '1500' });
  });
  afterAll(async () => {
    await gateway.stop();
  });

  it('holds back, then disconnects a client that reads nothing, while the others miss nothing', async () => {
    const token = await hsToken();
    const fast = await connectClient(gateway.url, NAMESPACES.marketData, { auth: { token } });
    const frames = collect<MdMessage[]>(fast.socket, 'md');
    const subscribed = await request(fast.socket, 'subscribe', { instruments, channels: ['trade'] });
    expect(subscribed.ok && subscribed.data.subscribed.length).toBe(instruments.length);

    const stalled = await openStalledClient(gateway.url, token);
    await sleep(200);
    stalled.tcp()?.pause();

    await waitFor('the stalled client to be disconnected', async () => ((await gateway.metric('tradewire_slow_client_events_total', { namespace: NAMESPACES.marketData, action: 'disconnected' })) >= 1 ? true : undefined), 25_000, 200);
    expect(await gateway.metric('tradewire_slow_client_events_total', { namespace: NAMESPACES.marketData, action: 'behind' })).toBeGreaterThanOrEqual(1);
    const health = (await (await fetch(`${gateway.url}/health/websocket`)).json()) as { namespaces: Record<string, { connections: number }> };
    expect(health.namespaces[NAMESPACES.marketData]?.connections).toBe(1);

    // The fast client got every trade of every stream, in order: no gap in any stream's seq.
    const lastSeq = new Map<string, number>();
    let gaps = 0;
    for (const message of frames.flat()) {
      const previous = lastSeq.get(message.stream);
      if (previous !== undefined && message.seq !== previous + 1) gaps++;
      lastSeq.set(message.stream, message.seq);
    }
    expect(frames.flat().length).toBeGreaterThan(1000);
    expect(gaps).toBe(0);
    expect(fast.socket.connected).toBe(true);
    fast.socket.close();
    stalled.ws.terminate();
  });
});

describe('slow clients: the grace changed at runtime', () => {
  let gateway: GatewayProcess;

  beforeAll(async () => {
    // Five minutes as configured: a disconnect within the test's wait is the runtime grace at work.
    gateway = await GatewayProcess.start({ ENGINE_TRANSPORT: 'simulator', SIMULATOR: 'on', SIMULATOR_RATE: '20000', SLOW_CLIENT_GRACE_MS: '300000' });
  });
  afterAll(async () => {
    await gateway.stop();
  });

  it('disconnects a stalled client after the grace an operator set with PATCH /admin/limits, and tells new clients', async () => {
    const admin = { authorization: `Bearer ${await hsToken({ sub: 'ops', roles: ['admin'] })}`, 'content-type': 'application/json' };
    const changed = await fetch(`${gateway.url}/admin/limits`, { method: 'PATCH', headers: admin, body: JSON.stringify({ slowClientGraceMs: 1_500 }) });
    expect(changed.status).toBe(200);
    const token = await hsToken();
    const { socket, welcome } = await connectClient(gateway.url, NAMESPACES.marketData, { auth: { token } });
    expect(welcome.limits.slowClientGraceMs).toBe(1_500);
    socket.close();

    const stalled = await openStalledClient(gateway.url, token);
    await sleep(200);
    stalled.tcp()?.pause();
    await waitFor('the stalled client to be disconnected', async () => ((await gateway.metric('tradewire_slow_client_events_total', { namespace: NAMESPACES.marketData, action: 'disconnected' })) >= 1 ? true : undefined), 25_000, 200);
    stalled.ws.terminate();
  });
});
