import { spawn } from 'node:child_process';
import { connect } from '@nats-io/transport-node';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TradewireClient, type FeedStatusInfo, type TradewireError } from '#libs/client';
import { GatewayProcess } from './support/gateway.js';
import { ManagedProcess, NatsServer, waitFor } from './support/processes.js';
import { FULL_LICENCE, hsToken } from './support/tokens.js';

const repoRoot = fileURLToPath(new URL('../', import.meta.url));
const STALE_AFTER_MS = 1_500;

/**
 * Feed health as a dashboard sees it: the simulator (the `npm run simulate` CLI, publishing into a real nats-server)
 * is told on its control input to let an instrument go quiet, resume, lose events and halt its exchange; a real
 * gateway tracks it; the client SDK reports each change.
 */
describe('status channel: the simulator goes quiet, the SDK shows it', () => {
  let nats: NatsServer;
  let gateway: GatewayProcess;
  let simulator: ManagedProcess;

  beforeAll(async () => {
    nats = await NatsServer.start();
    gateway = await GatewayProcess.start({ NATS_URL: nats.url, ENGINE_TRANSPORT: 'nats', FEED_STALE_AFTER_MS_BY_EXCHANGE: `BINANCE=${STALE_AFTER_MS}`, FEED_HEALTH_CHECK_MS: '100' });
    // 23 instruments at 700 events/s: each one publishes every 30-40 ms on average, far inside the cadence.
    simulator = new ManagedProcess(
      spawn(process.execPath, ['dist/src/simulator/simulate.cli.js', '--transport', 'nats', '--url', nats.url, '--rate', '700', '--channels', 'quote,trade', '--order-rate', '0', '--md-seq', '--control', '--tick-ms', '10'], {
        cwd: repoRoot,
        stdio: 'pipe',
      }),
    );
    // The simulator is publishing (seen on the broker itself) before anyone watches: a slow start is not a stale feed.
    const probe = await connect({ servers: nats.url });
    await new Promise<void>((resolve) => probe.subscribe('md.quote.BINANCE.*', { max: 1, callback: () => resolve() }));
    await probe.close();
  });
  afterAll(async () => {
    await simulator?.stop();
    await gateway?.stop();
    await nats?.stop();
  });

  /** Sends one control command and waits for the simulator's `ok` (it answers after flushing to NATS). */
  async function control(command: string): Promise<void> {
    const before = simulator.output.length;
    simulator.child.stdin?.write(`${command}\n`);
    await waitFor(`simulator: ok ${command}`, () => (simulator.output.slice(before).includes(`ok ${command}`) ? true : undefined), 5_000);
  }

  it('reports stale when the instrument goes quiet, live when it resumes, a seq gap, and halted on an engine halt', async () => {
    const client = new TradewireClient({ url: gateway.url, getToken: () => hsToken({ sub: 'sdk-feed', lic: FULL_LICENCE }), transports: ['websocket'] });
    const errors: TradewireError[] = [];
    client.on('error', (error) => errors.push(error));
    try {
      const md = client.marketData.subscribe({ instruments: ['BINANCE:BTCUSDT', 'BINANCE:ETHUSDT'], channels: ['status'] });
      const changes: FeedStatusInfo[] = [];
      md.on('status', (status) => changes.push(status));
      await waitFor('both statuses', () => (md.feedStatus('BINANCE:BTCUSDT') && md.feedStatus('BINANCE:ETHUSDT') ? true : undefined));
      expect(md.feedStatus('BINANCE:BTCUSDT')).toMatchObject({ instrument: 'BINANCE:BTCUSDT', state: 'live', reason: null });
      const states = (instrument: string) => changes.filter((c) => c.instrument === instrument).map((c) => c.state);
      const stateOf = (instrument: string) => client.marketData.feedStatus(instrument)?.state;

      await control('quiet BINANCE:BTCUSDT');
      await waitFor('BTCUSDT stale', () => (stateOf('BINANCE:BTCUSDT') === 'stale' ? true : undefined), 5_000);
      expect(client.marketData.feedStatus('BINANCE:BTCUSDT')).toMatchObject({ state: 'stale', reason: 'no_events' });
      expect(stateOf('BINANCE:ETHUSDT')).toBe('live'); // one instrument's silence is its own

      await control('resume BINANCE:BTCUSDT');
      await waitFor('BTCUSDT live', () => (stateOf('BINANCE:BTCUSDT') === 'live' ? true : undefined), 5_000);

      await control('gap BINANCE:ETHUSDT 4');
      await waitFor('ETHUSDT seq gap', () => (client.marketData.feedStatus('BINANCE:ETHUSDT')?.reason === 'seq_gap' ? true : undefined), 5_000);
      await waitFor('ETHUSDT live after the gap', () => (stateOf('BINANCE:ETHUSDT') === 'live' ? true : undefined), 5_000);

      await control('halt BINANCE');
      await waitFor('both halted', () => (stateOf('BINANCE:BTCUSDT') === 'halted' && stateOf('BINANCE:ETHUSDT') === 'halted' ? true : undefined), 5_000);
      await control('open BINANCE');
      await waitFor('both live', () => (stateOf('BINANCE:BTCUSDT') === 'live' && stateOf('BINANCE:ETHUSDT') === 'live' ? true : undefined), 5_000);

      expect(states('BINANCE:BTCUSDT')).toEqual(['live', 'stale', 'live', 'halted', 'live']);
      expect(states('BINANCE:ETHUSDT')).toEqual(['live', 'stale', 'live', 'halted', 'live']);
      expect(errors).toEqual([]);
      md.unsubscribe();
    } finally {
      client.close();
    }
  });
});
