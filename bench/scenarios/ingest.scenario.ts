import { sleep } from '../lib/clock.js';
import { describeCounts, integer, percent } from '../report/format.js';
import { engineDuration, measureWindow, type WindowMeasurement } from './measure-window.js';
import type { Scenario } from './scenario.js';
import { type ScenarioEnv, connectMarketDataClients, withScenarioEnv } from './scenario-env.js';

/**
 * Ingest: how many engine events the server absorbs, first with no client connected, then with a few subscribed
 * clients, at the same offered rate. "Absorbed" is the server's own consumed-events counter
 * (`tradewire_engine_events_total` for the gateway); "per core" divides it by the server's CPU share, which gives the
 * rate one core would sustain at that efficiency even when the offered rate does not saturate it.
 */
export const ingestScenario: Scenario = {
  name: 'ingest',
  title: ({ ingest }) =>
    `Ingest: ${integer(ingest.quoteRate)} quotes/s offered over ${integer(ingest.instruments)} instruments; ` +
    `idle, then ${integer(ingest.subscribers)} clients × ${ingest.perClient}; ${ingest.windowSeconds} s windows`,
  columns: [
    { key: 'offeredPerSecond', header: 'offered/s', format: integer },
    { key: 'idleAbsorbed', header: 'absorbed/s, no clients', format: integer },
    { key: 'idleCpu', header: 'CPU', format: percent },
    { key: 'idlePerCore', header: 'events/s per core', format: integer },
    { key: 'subscribedAbsorbed', header: 'absorbed/s, subscribed', format: integer },
    { key: 'subscribedCpu', header: 'CPU', format: percent },
    { key: 'subscribedPerCore', header: 'events/s per core', format: integer },
    { key: 'subscribedUpdates', header: 'updates/s delivered', format: integer },
  ],
  async run(context, target) {
    const { ingest } = context.options.profile;
    return withScenarioEnv(context, 'ingest', target, { instruments: ingest.instruments, accounts: 1 }, async (env) => {
      const notes: string[] = [];
      context.log(`  no clients: engine load for ${ingest.warmupSeconds} + ${ingest.windowSeconds} s`);
      const idle = await offeredLoadWindow(env, ingest);

      const connect = await connectMarketDataClients(context, env, ingest.subscribers);
      if (connect.connected < connect.attempted) notes.push(`connect failures: ${describeCounts(connect.failures)}`);
      const subscribe = await env.pool.subscribeMarketData(env.universe, ingest.perClient, 0);
      if (Object.keys(subscribe.failures).length) notes.push(`subscribe rejections: ${describeCounts(subscribe.failures)}`);
      context.log(`  ${connect.connected} clients, ${subscribe.accepted} streams: engine load for ${ingest.warmupSeconds} + ${ingest.windowSeconds} s`);
      const subscribed = await offeredLoadWindow(env, ingest);

      const slowConsumers = await env.nats.slowConsumers();
      if (slowConsumers) notes.push(`nats-server cut ${slowConsumers} slow consumer(s): the server fell behind the engine`);
      if (Number.isNaN(idle.absorbedPerSecond)) notes.push('the target exposes no engine-event counter in /metrics');
      return {
        figures: {
          offeredPerSecond: idle.publishedQuotesPerSecond,
          idleAbsorbed: idle.absorbedPerSecond,
          idleCpu: idle.server.percent,
          idlePerCore: perCore(idle),
          subscribedAbsorbed: subscribed.absorbedPerSecond,
          subscribedCpu: subscribed.server.percent,
          subscribedPerCore: perCore(subscribed),
          subscribedUpdates: subscribed.clients.updatesPerSecond,
        },
        notes,
      };
    });
  },
};

async function offeredLoadWindow(
  env: ScenarioEnv,
  ingest: { quoteRate: number; instruments: number; warmupSeconds: number; windowSeconds: number },
): Promise<WindowMeasurement> {
  const engine = env.startEngine({
    quoteRate: ingest.quoteRate,
    instruments: ingest.instruments,
    orderRate: 0,
    accounts: 0,
    durationSeconds: engineDuration(ingest),
  });
  await sleep(ingest.warmupSeconds * 1000);
  const window = await measureWindow(env, engine, ingest.windowSeconds);
  await engine.stop();
  return window;
}

function perCore(window: WindowMeasurement): number {
  return window.server.percent > 0 ? window.absorbedPerSecond / (window.server.percent / 100) : Number.NaN;
}
