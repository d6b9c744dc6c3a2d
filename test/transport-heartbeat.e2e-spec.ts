import { afterEach, describe, expect, it } from 'vitest';
import { GatewayProcess } from './support/gateway.js';

/** The engine.io handshake (a long-polling open) of a gateway: the heartbeat it announces to its clients. */
async function announcedHeartbeat(gateway: GatewayProcess): Promise<{ pingInterval: number; pingTimeout: number }> {
  const response = await fetch(`${gateway.url}/socket.io/?EIO=4&transport=polling`);
  const body = await response.text();
  // An engine.io v4 OPEN packet: "0" and the session's JSON.
  expect(body[0]).toBe('0');
  return JSON.parse(body.slice(1)) as { pingInterval: number; pingTimeout: number };
}

describe('transport heartbeat (WS_PING_INTERVAL_MS, WS_PING_TIMEOUT_MS)', () => {
  let gateway: GatewayProcess | undefined;
  afterEach(async () => {
    await gateway?.stop();
    gateway = undefined;
  });

  it('announces ping 25 s / timeout 20 s by default', async () => {
    gateway = await GatewayProcess.start({ ENGINE_TRANSPORT: 'simulator' });
    expect(await announcedHeartbeat(gateway)).toMatchObject({ pingInterval: 25_000, pingTimeout: 20_000 });
  });

  it('announces and applies the configured heartbeat: a client that stops answering pings is closed after interval + timeout', async () => {
    gateway = await GatewayProcess.start({ ENGINE_TRANSPORT: 'simulator', WS_PING_INTERVAL_MS: '1000', WS_PING_TIMEOUT_MS: '1000' });
    const open = await announcedHeartbeat(gateway);
    expect(open).toMatchObject({ pingInterval: 1_000, pingTimeout: 1_000 });
    // A polling session that never polls again never receives the ping, so it never answers: the server ends it.
    const { sid } = open as unknown as { sid: string };
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const after = await fetch(`${gateway.url}/socket.io/?EIO=4&transport=polling&sid=${sid}`);
    expect(after.status).toBe(400);
  });

  it('refuses a heartbeat out of range at start', async () => {
    const refused = await GatewayProcess.start({ ENGINE_TRANSPORT: 'simulator', WS_PING_INTERVAL_MS: '10', WS_PING_TIMEOUT_MS: '700000' }, { waitReady: false });
    expect((await refused.process.exited).code).toBe(1);
    expect(refused.process.output).toMatch(/WS_PING_INTERVAL_MS/);
    expect(refused.process.output).toMatch(/WS_PING_TIMEOUT_MS/);
  });
});
