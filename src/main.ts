import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { MicroserviceOptions } from '@nestjs/microservices';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Redis, RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import { ENGINE_SUBJECTS, SERVER_EVENTS, type SystemPayload } from '#libs/contracts';
import type { Server } from 'node:http';
import type { Express } from 'express';
import { createLogger, GatewayMetrics, PinoNestLogger } from '#libs/observability';
import { TrustedProxies } from '#libs/rate-limit';
import {
  ConnectionRegistry,
  CONTROL_SUBJECTS,
  EngineEventIntake,
  EngineFastPath,
  EngineInterestRegistry,
  EngineMessageDeserializer,
  EngineRedisServer,
  GatewayIoAdapter,
  InProcessEngineTransport,
  InterestNatsServer,
  JetStreamAccountLog,
  RedisStreamsAccountLog,
  type AccountLogAttachment,
  type AccountLogReader,
} from '#libs/realtime';
import { AppModule } from './app.module.js';
import { GatewayErrorHttpFilter } from './common/gateway-error-http.filter.js';
import { redisConnection } from '#libs/redis';
import { AppConfig, ConfigurationError } from './config/index.js';
import { EngineLinks } from './engine/engine-links.js';
import { applyControlLog, attachEngineFeedback, controlLogKind, jetStreamControlLog, redisControlLog } from './engine/control-log.js';
import { DASHBOARD_DIR } from './dashboard/dashboard-assets.js';
import { ReadinessState } from './health/readiness.state.js';
import { METRICS_PATH, metricsEndpoint, metricsServer } from './http/metrics-endpoint.js';
import { securityHeaders } from './http/security-headers.js';
import { InstrumentCatalog } from './market-data/instrument-catalog.js';
import { NatsOrderChannel } from './orders/nats-order.channel.js';
import { OrderCommandsService } from './orders/order-commands.service.js';
import { OrdersService } from './orders/orders.service.js';
import { RedisOrderChannel } from './orders/redis-order.channel.js';
import { PortfolioService } from './portfolio/portfolio.service.js';
import { PositionsService } from './positions/positions.service.js';
import { AccountDirectory } from '#libs/auth';
import { mintDevelopmentToken } from './simulator/dev-token.js';
import { MarketSimulator } from './simulator/market-simulator.js';
import { SimulatorOrderChannel } from './simulator/simulator-order.channel.js';
import { TradewirePublisher } from '#libs/publisher';
import { inProcessPublisherTransport } from './simulator/in-process-publisher.transport.js';

/** Clients are told to come back after this: long enough for the load balancer to take this replica out. */
const RECONNECT_IN_MS = 2_000;

function loadConfig(): AppConfig {
  try {
    return AppConfig.fromEnvironment();
  } catch (error) {
    if (error instanceof ConfigurationError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}

/** How long a replica's Redis Streams account log remembers that an event was stored (the other replicas' copies). */
const ACCOUNT_LOG_DEDUP_WINDOW_MS = 600_000;

/** A connection that waits for Redis to come back rather than failing its commands (the adapter, subscribers). */
function redisClient(url: string, config: AppConfig, logger: Logger, purpose: string, overrides: RedisOptions = {}): Redis {
  return redisConnection(url, config.nodeId, purpose, logger, { maxRetriesPerRequest: null, ...overrides });
}

function redisTransportOptions(url: string): Record<string, unknown> {
  const parsed = new URL(url);
  return {
    host: parsed.hostname,
    port: Number(parsed.port || 6379),
    username: parsed.username ? decodeURIComponent(parsed.username) : undefined,
    password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
    db: parsed.pathname.length > 1 ? Number(parsed.pathname.slice(1)) : undefined,
    tls: parsed.protocol === 'rediss:' ? {} : undefined,
  };
}

async function bootstrap(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel, nodeId: config.nodeId });
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config, logger), {
    logger: new PinoNestLogger(logger),
    cors: { origin: config.corsOrigins, credentials: true },
  });
  const links = app.get(EngineLinks);
  const readiness = app.get(ReadinessState);
  app.useGlobalFilters(new GatewayErrorHttpFilter());
  app.disable('x-powered-by');
  const headers = securityHeaders(new TrustedProxies(config.rateLimits.trustedProxies));
  // /metrics on the main port unless it has a port of its own (then it is not served here at all).
  const express: Express = app.getHttpAdapter().getInstance();
  if (config.metrics.port === undefined) express.get(METRICS_PATH, metricsEndpoint(config.metrics.token));

  let redis: { pub: Redis; sub: Redis } | undefined;
  if (config.redisUrl) {
    redis = { pub: redisClient(config.redisUrl, config, logger, 'pub'), sub: redisClient(config.redisUrl, config, logger, 'sub') };
    links.addRedisClient(redis.pub);
    links.addRedisClient(redis.sub);
  }
  const ioAdapter = new GatewayIoAdapter(app, { corsOrigins: config.corsOrigins, transportMaxBytes: config.transportMaxBytes, maxFrameBytes: config.maxFrameBytes, redis, compression: config.wsCompression !== 'off', compressMarketData: config.wsCompression === 'all' });
  app.useWebSocketAdapter(ioAdapter);
  app.useStaticAssets(DASHBOARD_DIR, { index: 'index.html' });

  // With the Redis engine transport and no NATS, account events are kept in Redis Streams (docs/operations.md, "Durable
  // account log"). Every replica appends what it receives, so the log comes before the transport that feeds it.
  const natsConfigured = config.engineTransports.includes('nats') && Boolean(config.natsUrl);
  const redisAccountLog = !natsConfigured && config.engineTransports.includes('redis') && config.redisUrl ? await redisStreamsAccountLog(app, config.redisUrl, config, logger, links) : undefined;

  // Engine transports: a hybrid app, one microservice listener per transport, all dispatching to the same controllers
  // (market data through their fast-path handlers, outside Nest's per-message pipeline).
  const fastPath = app.get(EngineFastPath);
  // Control events (licence.changed, compliance.screen) come from their durable log, not straight off the transport.
  const redisControl = redisControlLog(config, logger, links);
  let redisEngine: EngineRedisServer | undefined;
  let inProcess: InProcessEngineTransport | undefined;
  let natsEngine: InterestNatsServer | undefined;
  for (const transport of config.engineTransports) {
    if (transport === 'nats' && config.natsUrl) {
      // Market data is subscribed per instrument while local clients want it; the rest as the patterns say.
      const nats = new InterestNatsServer(
        {
          servers: config.natsUrl.split(','),
          name: `tradewire-${config.nodeId}`,
          deserializer: new EngineMessageDeserializer(),
          reconnect: true,
          maxReconnectAttempts: -1,
          reconnectTimeWait: 500,
        },
        [ENGINE_SUBJECTS.quote, ENGINE_SUBJECTS.trade, ENGINE_SUBJECTS.book],
        fastPath,
        CONTROL_SUBJECTS,
      );
      app.connectMicroservice<MicroserviceOptions>({ strategy: nats });
      app.get(EngineInterestRegistry).attach(nats);
      natsEngine = nats;
      links.trackTransport('nats', nats.status);
    } else if (transport === 'redis' && config.redisUrl) {
      const server = new EngineRedisServer({
        ...redisTransportOptions(config.redisUrl),
        wildcards: true,
        deserializer: new EngineMessageDeserializer(),
        retryAttempts: Number.MAX_SAFE_INTEGER,
        retryDelay: 500,
      }, fastPath, redisAccountLog, logger, natsConfigured ? undefined : redisControl);
      app.connectMicroservice<MicroserviceOptions>({ strategy: server });
      redisEngine = server;
      links.trackTransport('redis', server.status);
    } else if (transport === 'simulator') {
      inProcess = new InProcessEngineTransport(fastPath);
      app.connectMicroservice<MicroserviceOptions>({ strategy: inProcess });
      links.trackTransport('simulator', inProcess.status);
    }
  }
  await app.startAllMicroservices();
  // --- publisher feedback and the durable control log (src/engine/control-log.ts, docs/publishing.md) ---
  const natsForFeedback = natsEngine;
  attachEngineFeedback(app.get(EngineEventIntake), config, logger, links, natsForFeedback ? () => natsForFeedback.unwrap<NatsConnection>() : undefined);
  const controlLog = controlLogKind(config);
  if (controlLog === 'jetstream' && natsEngine) {
    const nats = natsEngine;
    await applyControlLog(jetStreamControlLog(config, logger, () => nats.unwrap<NatsConnection>()), nats, 'nats', { config, logger, readiness });
  } else if (controlLog === 'redis-streams' && redisControl && redisEngine) {
    await applyControlLog(redisControl, redisEngine, 'redis', { config, logger, readiness });
  }
  // --- end publisher feedback and control log ---
  await app.listen(config.port, '0.0.0.0');
  // Before every other listener of the server, Socket.IO's included (it takes over the listeners present when it
  // attaches, during listen), so that its answers get the headers too. Added in the same turn as the listen completes,
  // before any request can be read.
  app.getHttpServer().prependListener('request', (request, response) => headers(request, response, () => undefined));
  const metricsHttp = config.metrics.port === undefined ? undefined : await listenForMetrics(metricsServer(config.metrics.token, headers), config.metrics.port);
  if (config.isProduction && config.metrics.port === undefined && config.metrics.token === undefined) {
    logger.warn('/metrics is served on the main port without a token and names tenants: set METRICS_PORT or METRICS_TOKEN (docs/operations.md §4)');
  }

  let simulator: MarketSimulator | undefined;
  if (config.simulatorEnabled && inProcess) {
    const target = inProcess;
    simulator = new MarketSimulator(
      app.get(InstrumentCatalog).all(),
      { rate: config.simulatorRate, channels: ['quote', 'trade', 'book'], accounts: app.get(AccountDirectory).accountsOf('acme-capital'), orderRate: config.simulatorOrderRate, bookDepth: 25, seed: Date.now() },
      new TradewirePublisher(inProcessPublisherTransport(target)),
    );
    simulator.start();
  }

  // Order commands go to the engine transport's broker (NATS request/reply, preferred; else Redis with a reply channel),
  // or to the built-in simulator in the embedded default (docs/protocol.md §7.3).
  const orderCommands = app.get(OrderCommandsService);
  if (natsEngine) {
    const nats = natsEngine;
    orderCommands.attachEngine(new NatsOrderChannel(() => nats.unwrap<NatsConnection>(), () => links.transports().nats === 'connected'));
  } else if (config.engineTransports.includes('redis') && config.redisUrl) {
    // The publisher does not queue while Redis is away: an order then fails at once (ENGINE_UNAVAILABLE) instead of
    // reaching the engine after its client was told ENGINE_TIMEOUT.
    const publisher = redisClient(config.redisUrl, config, logger, 'orders-pub', { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    const subscriber = redisClient(config.redisUrl, config, logger, 'orders-sub');
    links.addRedisClient(publisher);
    links.addRedisClient(subscriber);
    const channel = new RedisOrderChannel(publisher, subscriber, config.nodeId);
    await channel.start();
    orderCommands.attachEngine(channel);
  } else if (simulator) {
    orderCommands.attachEngine(new SimulatorOrderChannel(simulator));
  }

  // With NATS, account events are also kept in a JetStream stream that replicas rebuild account state from
  // (docs/operations.md, "Durable account log"); with Redis alone, in Redis Streams; with the built-in simulator, each
  // replica's replay log is its own memory.
  if (natsEngine) {
    const nats = natsEngine;
    const { stream, maxPerSubject, maxAgeMs, hydrateTimeoutMs } = config.accountLog;
    const log = new JetStreamAccountLog(() => nats.unwrap<NatsConnection>(), { stream, maxPerSubject, maxAgeMs, requestTimeoutMs: hydrateTimeoutMs });
    // Set up now and checked every few seconds: readiness fails while the stream cannot be reached or set up.
    await readiness.watchAccountLog('jetstream', () => log.ensureStream(), (status, first) => {
      if (status.reachable) logger.info({ stream, maxPerSubject, maxAgeMs }, first ? 'account log stream ready' : 'account log stream reachable again: ready');
      else logger.warn({ stream, reason: status.message }, 'account log stream cannot be reached or set up (is JetStream enabled?): not ready until it is; replicas serve their own account state meanwhile');
    });
    attachAccountLog(app, log, config, logger);
  } else if (redisAccountLog) {
    const { stream, maxPerSubject, maxAgeMs } = config.accountLog;
    const log = redisAccountLog;
    logger.info({ prefix: stream, maxPerSubject, maxAgeMs }, 'account log: redis streams');
    await readiness.watchAccountLog('redis-streams', () => log.probe(), (status, first) => {
      if (!status.reachable) logger.warn({ prefix: stream, reason: status.message }, 'account log (Redis Streams) cannot be reached: not ready until it is');
      else if (!first) logger.warn({ prefix: stream }, 'account log (Redis Streams) reachable again: ready');
    });
    attachAccountLog(app, redisAccountLog, config, logger);
  }

  readiness.markStarted();
  const address = `http://localhost:${config.port}`;
  const metricsAddress = config.metrics.port === undefined ? `${address}${METRICS_PATH}` : `http://localhost:${config.metrics.port}${METRICS_PATH}`;
  logger.info({ port: config.port, metricsPort: config.metrics.port, engineTransports: config.engineTransports, node: config.nodeId, adapter: redis ? 'redis' : 'memory' }, 'gateway ready');
  if (config.jwtIsDevelopmentSecret && config.jwt.kind === 'secret') {
    const directory = app.get(AccountDirectory);
    const { secret, issuer, audience, maxLifetimeMs } = config.jwt;
    const token = await mintDevelopmentToken(secret, { tenant: 'acme-capital', accounts: directory.accountsOf('acme-capital') }, { issuer, audience, maxLifetimeMs });
    // The development token goes to the terminal, never into the structured log.
    process.stdout.write(`\nTradewire is running on the built-in simulator.\n  Dashboard: ${address}/?token=${token}\n  Health:    ${address}/health/ready\n  Metrics:   ${metricsAddress}\n\n`);
  }

  installShutdown(app, { config, logger, readiness, links, simulator, metricsHttp });
}

function listenForMetrics(server: Server, port: number): Promise<Server> {
  return new Promise((resolveListening, rejectListening) => {
    server.once('error', rejectListening);
    server.listen(port, '0.0.0.0', () => {
      server.off('error', rejectListening);
      resolveListening(server);
    });
  });
}

/** The account streams (orders, positions, portfolio) hydrate accounts from the durable log from now on. */
function attachAccountLog(app: NestExpressApplication, log: AccountLogReader, config: AppConfig, logger: Logger): void {
  const attachment: AccountLogAttachment = { log, timeoutMs: config.accountLog.hydrateTimeoutMs, warn: (details, message) => logger.warn(details, message) };
  app.get(OrdersService).stream.attachLog(attachment);
  app.get(PositionsService).stream.attachLog(attachment);
  app.get(PortfolioService).stream.attachLog(attachment);
}

/**
 * The Redis Streams account log, on a client of its own. It never queues while Redis is away and bounds each command:
 * an append then fails at once (counted, never holding up the live path) and a hydration fails instead of waiting.
 * It waits (at most the hydration timeout) for that client to be ready, so the first events received are kept.
 */
async function redisStreamsAccountLog(app: NestExpressApplication, url: string, config: AppConfig, logger: Logger, links: EngineLinks): Promise<RedisStreamsAccountLog> {
  const { stream, maxPerSubject, maxAgeMs, hydrateTimeoutMs } = config.accountLog;
  // Failures surface as failed appends and hydrations; the connection's outages are logged once each.
  const client = redisClient(url, config, logger, 'account-log', { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: hydrateTimeoutMs });
  links.addRedisClient(client);
  await new Promise<void>((resolveReady) => {
    const timer = setTimeout(resolveReady, hydrateTimeoutMs);
    client.once('ready', () => {
      clearTimeout(timer);
      resolveReady();
    });
  });
  const metrics = app.get(GatewayMetrics);
  return new RedisStreamsAccountLog(client, {
    prefix: stream,
    maxPerSubject,
    maxAgeMs,
    dedupWindowMs: ACCOUNT_LOG_DEDUP_WINDOW_MS,
    counted: (outcome) => metrics.accountLogAppend(outcome),
    warn: (details, message) => logger.warn(details, message),
  });
}

function installShutdown(
  app: NestExpressApplication,
  deps: { config: AppConfig; logger: Logger; readiness: ReadinessState; links: EngineLinks; simulator?: MarketSimulator; metricsHttp?: Server },
): void {
  let shuttingDown = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (shuttingDown) return;
    shuttingDown = true;
    const { config, logger, readiness, links, simulator, metricsHttp } = deps;
    const deadline = setTimeout(() => {
      logger.error({ timeoutMs: config.shutdownTimeoutMs }, 'graceful shutdown timed out; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs);
    deadline.unref();
    logger.info({ signal }, 'shutting down: not ready');
    readiness.beginDraining();
    await new Promise((resolveDrain) => setTimeout(resolveDrain, config.drainDelayMs));
    simulator?.stop();
    const registry = app.get(ConnectionRegistry);
    const notice: SystemPayload = { type: 'shutdown', message: 'gateway is restarting; reconnect shortly', reconnectInMs: RECONNECT_IN_MS };
    // Local only: the other replicas are not going anywhere.
    for (const namespace of registry.allNamespaces()) namespace.local.emit(SERVER_EVENTS.system, notice);
    const io = registry.allNamespaces()[0]?.server;
    // Stop accepting, then disconnect whoever is left; the notice above went out first on every connection.
    app.getHttpServer().close();
    // A DISCONNECT packet per socket first (the client sees "io server disconnect" and follows reconnectInMs), then
    // io.close() closes the connections behind them.
    for (const namespace of registry.allNamespaces()) namespace.local.disconnectSockets(false);
    await new Promise((resolveFlush) => setTimeout(resolveFlush, 100));
    try {
      if (io) await io.close();
      await app.close();
      await links.close();
      // Last: the scrape sees the replica until it is gone.
      metricsHttp?.close();
      logger.info('shutdown complete');
      logger.flush();
      process.exit(0);
    } catch (error) {
      logger.error({ err: error }, 'shutdown failed');
      process.exit(1);
    }
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void shutdown(signal));
}

bootstrap().catch((error: unknown) => {
  process.stderr.write(`Tradewire failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
