import { NAMESPACES } from '#libs/contracts';
import { sleep } from '../lib/clock.js';
import { totalRssBytes } from '../lib/proc-stats.js';
import { clientAccount } from '../lib/universe.js';
import { describeCounts, integer, MB, milliseconds, percent, usToMs } from '../report/format.js';
import { engineDuration, loadSideNotes, measureWindow } from './measure-window.js';
import type { Scenario } from './scenario.js';
import { withScenarioEnv } from './scenario-env.js';

/**
 * Account streams: C clients on /orders, each entitled to (and subscribed to) one of A accounts, while the engine
 * publishes order events round-robin over the accounts at R per second. Measures delivery and engine→client latency
 * of `order` events, which go through the gateway's durable per-account log.
 */
export const accountsScenario: Scenario = {
  name: 'accounts',
  title: ({ accounts }) =>
    `Account streams: ${integer(accounts.clients)} clients on /orders over ${integer(accounts.accounts)} accounts, ` +
    `${integer(accounts.orderRate)} order events/s, ${accounts.windowSeconds} s window`,
  columns: [
    { key: 'ordersPerSecond', header: 'order events/s delivered', format: integer },
    { key: 'deliveryPercent', header: 'delivered', format: percent },
    { key: 'latencyP50', header: 'e2e p50 ms', format: milliseconds },
    { key: 'latencyP99', header: 'p99 ms', format: milliseconds },
    { key: 'latencyP999', header: 'p99.9 ms', format: milliseconds },
    { key: 'latencyMax', header: 'max ms', format: milliseconds },
    { key: 'serverCpu', header: 'server CPU', format: percent },
    { key: 'rssMb', header: 'RSS MB', format: integer },
  ],
  async run(context, target) {
    const { accounts: sizes, setupConnectRate } = context.options.profile;
    return withScenarioEnv(context, 'accounts', target, { instruments: 1, accounts: sizes.accounts }, async (env) => {
      const clients = Array.from({ length: sizes.clients }, (_, index) => ({
        index,
        sub: `bench-user-${index}`,
        accounts: [clientAccount(index, env.accounts)],
      }));
      const connect = await env.pool.connect({
        baseUrl: env.server.baseUrl,
        namespace: NAMESPACES.orders,
        client: env.client,
        jwtSecret: context.jwtSecret,
        clients,
        ratePerSecond: setupConnectRate,
        localAddresses: env.localAddresses,
      });
      context.log(`  ${connect.connected} clients connected`);
      const subscribe = await env.pool.subscribeAccounts();
      context.log(`  ${subscribe.accepted} accounts subscribed; engine load for ${sizes.warmupSeconds} + ${sizes.windowSeconds} s`);
      const engine = env.startEngine({
        quoteRate: 0,
        instruments: 1,
        orderRate: sizes.orderRate,
        accounts: sizes.accounts,
        durationSeconds: engineDuration(sizes),
      });
      await sleep(sizes.warmupSeconds * 1000);
      const window = await measureWindow(env, engine, sizes.windowSeconds);
      const rss = totalRssBytes(env.server.pids);
      await engine.stop();

      // Each event is owed to every client watching its account.
      const watchersPerAccount = Math.min(connect.connected, sizes.clients) / sizes.accounts;
      const owedPerSecond = window.publishedOrdersPerSecond * watchersPerAccount;
      const { clients: received } = window;
      const notes = loadSideNotes(window, context.layout.loadCoreCount);
      const failedConnections = connect.attempted - connect.connected;
      if (failedConnections) notes.push(`${failedConnections} clients failed to connect: ${describeCounts(connect.failures)}`);
      if (Object.keys(subscribe.failures).length) notes.push(`subscribe failures: ${describeCounts(subscribe.failures)}`);
      if (received.orders === 0) {
        notes.push(`no order event reached a client: does the ${context.engineSource} engine load publish to the scenario's accounts (BENCH-…)?`);
      }
      return {
        figures: {
          ordersPerSecond: received.ordersPerSecond,
          deliveryPercent: owedPerSecond > 0 ? (received.ordersPerSecond / owedPerSecond) * 100 : Number.NaN,
          latencyP50: usToMs(received.orderLatency.percentile(50)),
          latencyP99: usToMs(received.orderLatency.percentile(99)),
          latencyP999: usToMs(received.orderLatency.percentile(99.9)),
          latencyMax: usToMs(received.orderLatency.percentile(100)),
          serverCpu: window.server.percent,
          rssMb: rss / MB,
        },
        notes,
      };
    });
  },
};
