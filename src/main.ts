import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AccountDirectory } from '#libs/auth';
import { createLogger, errorSummary, PinoNestLogger } from '#libs/observability';
import { TrustedProxies } from '#libs/rate-limit';
import { GatewayIoAdapter } from '#libs/realtime';
import { AppModule } from './app.module.js';
import { runClusterPrimary } from './cluster/cluster-primary.js';
import { ClusterWorker } from './cluster/cluster-worker.js';
import { GatewayErrorHttpFilter } from './common/gateway-error-http.filter.js';
import { AppConfig, ConfigurationError } from './config/index.js';
import { DASHBOARD_DIR } from './dashboard/dashboard-assets.js';
import { ReadinessState } from './health/readiness.state.js';
import { METRICS_PATH } from './http/metrics-endpoint.js';
import { securityHeaders } from './http/security-headers.js';
import { mintDevelopmentToken } from './simulator/dev-token.js';

/**
 * Bootstrap only: read the configuration, create the app, give it its HTTP and Socket.IO surface, listen. The engine
 * (transports, account log, order channel) is EngineModule's, the graceful drain GracefulShutdown's, /metrics
 * MetricsPort's: all providers of AppModule, started and stopped by Nest's lifecycle. With WORKERS > 1 this process
 * is the cluster's primary and runs no app (src/cluster/cluster-primary.ts), or one of its workers, which shares PORT
 * with the others (src/cluster/cluster-worker.ts).
 */
function loadConfig(worker: ClusterWorker | undefined): AppConfig {
  try {
    return AppConfig.fromEnvironment(process.env, worker?.identity);
  } catch (error) {
    if (error instanceof ConfigurationError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}

async function bootstrap(): Promise<void> {
  // A worker of WORKERS > 1, or undefined: one process alone, or the primary.
  const worker = ClusterWorker.inThisProcess();
  const config = loadConfig(worker);
  const logger = createLogger({ level: config.logLevel, nodeId: config.nodeId });
  if (config.workers > 1 && !worker) return runClusterPrimary(config, logger);
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config, logger), {
    logger: new PinoNestLogger(logger),
    cors: { origin: config.corsOrigins, credentials: true },
    // A provider that cannot be built (a malformed INSTRUMENTS_FILE, COMPLIANCE_FILE, …) stops the start with its
    // message and exit code 1 below, rather than Nest's default process.abort().
    abortOnError: false,
  });
  // SIGTERM / SIGINT run the graceful drain (GracefulShutdown), then the providers' release, then exit 0.
  app.enableShutdownHooks(['SIGTERM', 'SIGINT'], { useProcessExit: true });
  worker?.keepDrainingOnRepeatedSignals();
  app.useGlobalFilters(new GatewayErrorHttpFilter());
  app.disable('x-powered-by');
  const headers = securityHeaders(new TrustedProxies(config.rateLimits.trustedProxies));

  // No Socket.IO Redis adapter: what crosses replicas (operator actions, notices) goes through src/fleet.
  const socketAdapter = new GatewayIoAdapter(app, {
    corsOrigins: config.corsOrigins,
    transportMaxBytes: config.transportMaxBytes,
    maxFrameBytes: config.maxFrameBytes,
    compression: config.wsCompression !== 'off',
    compressMarketData: config.wsCompression === 'all',
    pingIntervalMs: config.heartbeat.pingIntervalMs,
    pingTimeoutMs: config.heartbeat.pingTimeoutMs,
  });
  app.useWebSocketAdapter(socketAdapter);
  app.useStaticAssets(DASHBOARD_DIR, { index: 'index.html' });

  // A worker names its Socket.IO sessions and relays other workers' (src/cluster) before it takes requests, and listens
  // on PORT when the primary says so.
  if (worker) {
    await app.init();
    const io = socketAdapter.ioServer;
    if (!io) throw new Error('Socket.IO did not start');
    await worker.routeSessions(app.getHttpServer(), io);
  } else {
    await app.listen(config.port, '0.0.0.0');
  }
  // Before every other listener of the server, Socket.IO's included (it takes over the listeners present when it
  // attaches, during listen), so that its answers get the headers too. Added in the same turn as the listen completes,
  // before any request can be read.
  app.getHttpServer().prependListener('request', (request, response) => headers(request, response, () => undefined));

  app.get(ReadinessState).markStarted();
  if (worker) await worker.serve(config.nodeId, config.port, (error) => logger.warn({ err: errorSummary(error), port: config.port }, 'listener on PORT failed'));
  const address = `http://localhost:${config.port}`;
  const metricsAddress = config.metrics.port === undefined ? `${address}${METRICS_PATH}` : `http://localhost:${config.metrics.port}${METRICS_PATH}`;
  logger.info({ port: config.port, metricsPort: config.metrics.port, engineTransports: config.engineTransports, node: config.nodeId, worker: worker?.identity.slot, fleet: config.redisUrl ? 'redis' : 'local' }, 'gateway ready');
  if (config.jwtIsDevelopmentSecret && config.jwt.kind === 'secret') {
    const { secret, issuer, audience, maxLifetimeMs } = config.jwt;
    const token = await mintDevelopmentToken(secret, { tenant: 'acme-capital', accounts: app.get(AccountDirectory).accountsOf('acme-capital') }, { issuer, audience, maxLifetimeMs });
    // The development token goes to the terminal, never into the structured log.
    process.stdout.write(`\nTradewire is running on the built-in simulator.\n  Dashboard: ${address}/?token=${token}\n  Health:    ${address}/health/ready\n  Metrics:   ${metricsAddress}\n\n`);
  }
}

bootstrap().catch((error: unknown) => {
  process.stderr.write(`Tradewire failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
