import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { Observable } from 'rxjs';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Redis, RedisOptions } from 'ioredis';
import { AccountDirectory } from '#libs/auth';
import type { AccountKind } from '#libs/contracts';
import { GatewayMetrics, PINO_LOGGER, type Logger } from '#libs/observability';
import {
  EngineEventIntake,
  EngineInterestRegistry,
  EngineMessageDeserializer,
  EngineRedisServer,
  EngineRoutes,
  InProcessEngineTransport,
  InterestNatsServer,
  JetStreamAccountLog,
  RedisStreamsAccountLog,
  type AccountLogAttachment,
  type AccountLogReader,
  type AccountStream,
} from '#libs/realtime';
import { TradewirePublisher } from '#libs/publisher';
import { redisConnection } from '#libs/redis';
import { accountStreamToken } from '../account-streams/account-stream-events.js';
import { AppConfig } from '../config/index.js';
import { ReadinessState } from '../health/readiness.state.js';
import { InstrumentCatalog } from '../market-data/instrument-catalog.js';
import { MarketSimulator } from '../simulator/market-simulator.js';
import { SimulatorOrderChannel } from '../simulator/simulator-order.channel.js';
import { inProcessPublisherTransport } from '../simulator/in-process-publisher.transport.js';
import { EngineLinks } from './engine-links.js';
import { NatsOrderChannel } from './nats-order.channel.js';
import { OrderEngine } from './order-engine.channel.js';
import { RedisOrderChannel } from './redis-order.channel.js';
import { EngineEventTaps } from './engine-event-taps.js';
import { EngineControlLog } from './control-log.js';
import { STREAM_KIND_REGISTRY, type RegisteredStreamKind } from './stream-kinds.js';

/** How long a replica's Redis Streams account log remembers that an event was stored (the other replicas' copies). */
const ACCOUNT_LOG_DEDUP_WINDOW_MS = 600_000;

/** What this module needs of a Nest microservice server (ServerNats, ServerRedis, the in-process one). */
interface EngineServer {
  listen(callback: (error?: unknown) => void): unknown;
  close(): unknown;
  readonly status: Observable<string>;
}

/**
 * The engine side of the process, in one place: the routes (from the registry of stream kinds), the transports chosen
 * by ENGINE_TRANSPORT (Nest microservice servers: NATS, Redis, the in-process simulator), the durable account log
 * (JetStream with NATS, Redis Streams with Redis alone) attached to every durable kind's stream, and the order channel.
 * All started once every module is initialised (so every handler exists) and before the HTTP server listens; closed
 * after the connections have been drained (GracefulShutdown runs before).
 */
@Injectable()
export class EngineTransports implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly servers: EngineServer[] = [];
  private simulatorInstance: MarketSimulator | undefined;

  constructor(
    private readonly config: AppConfig,
    @Inject(PINO_LOGGER) private readonly logger: Logger,
    private readonly moduleRef: ModuleRef,
    private readonly routes: EngineRoutes,
    private readonly intake: EngineEventIntake,
    private readonly interest: EngineInterestRegistry,
    private readonly links: EngineLinks,
    private readonly readiness: ReadinessState,
    private readonly metrics: GatewayMetrics,
    private readonly orderEngine: OrderEngine,
    private readonly catalog: InstrumentCatalog,
    private readonly directory: AccountDirectory,
    private readonly taps: EngineEventTaps,
    private readonly controlLog: EngineControlLog,
  ) {}

  /** The built-in simulator, when it runs (the embedded default). */
  get simulator(): MarketSimulator | undefined {
    return this.simulatorInstance;
  }

  async onApplicationBootstrap(): Promise<void> {
    this.registerRoutes();
    const config = this.config;
    // With the Redis engine transport and no NATS, account events are kept in Redis Streams (docs/operations.md,
    // "Durable account log"). Every replica appends what it receives, so the log comes before the transport that feeds it.
    const natsConfigured = config.engineTransports.includes('nats') && Boolean(config.natsUrl);
    const redisAccountLog = !natsConfigured && config.engineTransports.includes('redis') && config.redisUrl ? await this.redisStreamsAccountLog(config.redisUrl) : undefined;
    // Control events kept in the durable control log (the registry's `controlLog` kinds) come from that log, not
    // straight off the transport: with Redis alone, the transport appends them to it.
    const redisControlLog = this.controlLog.redisCapture();

    let inProcess: InProcessEngineTransport | undefined;
    let nats: InterestNatsServer | undefined;
    let redis: EngineRedisServer | undefined;
    for (const transport of config.engineTransports) {
      if (transport === 'nats' && config.natsUrl) {
        // Market data is subscribed per instrument while local clients want it; the rest as the registry says.
        nats = new InterestNatsServer(
          {
            servers: config.natsUrl.split(','),
            name: `tradewire-${config.nodeId}`,
            deserializer: new EngineMessageDeserializer(),
            reconnect: true,
            maxReconnectAttempts: -1,
            reconnectTimeWait: 500,
          },
          this.routes,
        );
        this.interest.attach(nats);
        await this.start('nats', nats);
      } else if (transport === 'redis' && config.redisUrl) {
        const server = new EngineRedisServer(
          { ...redisTransportOptions(config.redisUrl), wildcards: true, deserializer: new EngineMessageDeserializer(), retryAttempts: Number.MAX_SAFE_INTEGER, retryDelay: 500 },
          this.routes,
          redisAccountLog,
          this.logger,
          redisControlLog,
        );
        redis = server;
        await this.start('redis', server);
      } else if (transport === 'simulator') {
        inProcess = new InProcessEngineTransport(this.routes);
        await this.start('simulator', inProcess);
      }
    }

    if (config.simulatorEnabled && inProcess) {
      const target = inProcess;
      this.simulatorInstance = new MarketSimulator(
        this.catalog.all(),
        { rate: config.simulatorRate, channels: ['quote', 'trade', 'book'], accounts: this.directory.accountsOf('acme-capital'), orderRate: config.simulatorOrderRate, bookDepth: 25, seed: Date.now() },
        // Through the publisher library, as any engine publisher: checked as the gateway checks them.
        new TradewirePublisher(inProcessPublisherTransport(target)),
      );
      this.simulatorInstance.start();
    }

    // Dropped engine events are reported to their publishers on `gateway.rejected.<kind>` (docs/publishing.md).
    const natsServer = nats;
    this.controlLog.attachFeedback(natsServer ? () => natsServer.unwrap<NatsConnection>() : undefined);

    await this.attachOrderChannel(nats);

    // With NATS, account events are also kept in a JetStream stream that replicas rebuild account state from; with
    // Redis alone, in Redis Streams; with the built-in simulator, each replica's replay log is its own memory.
    if (nats) {
      const connection = nats;
      const { stream, maxPerSubject, maxAgeMs, hydrateTimeoutMs } = config.accountLog;
      const subjects = this.routes.durableRoutes().map((route) => route.subject);
      const log = new JetStreamAccountLog(() => connection.unwrap<NatsConnection>(), { stream, subjects, maxPerSubject, maxAgeMs, requestTimeoutMs: hydrateTimeoutMs });
      // Set up now and checked every few seconds: readiness fails while the stream cannot be reached or set up.
      await this.readiness.watchAccountLog('jetstream', () => log.ensureStream(), (status, first) => {
        if (status.reachable) this.logger.info({ stream, maxPerSubject, maxAgeMs }, first ? 'account log stream ready' : 'account log stream reachable again: ready');
        else this.logger.warn({ stream, reason: status.message }, 'account log stream cannot be reached or set up (is JetStream enabled?): not ready until it is; replicas serve their own account state meanwhile');
      });
      this.attachAccountLog(log);
    } else if (redisAccountLog) {
      const { stream, maxPerSubject, maxAgeMs } = config.accountLog;
      const log = redisAccountLog;
      this.logger.info({ prefix: stream, maxPerSubject, maxAgeMs }, 'account log: redis streams');
      await this.readiness.watchAccountLog('redis-streams', () => log.probe(), (status, first) => {
        if (!status.reachable) this.logger.warn({ prefix: stream, reason: status.message }, 'account log (Redis Streams) cannot be reached: not ready until it is');
        else if (!first) this.logger.warn({ prefix: stream }, 'account log (Redis Streams) reachable again: ready');
      });
      this.attachAccountLog(log);
    }

    // Licence changes and screens from the durable control log, everything retained applied before the HTTP server
    // listens (this hook runs before it); a log that cannot be read leaves the replica not ready (control-log.ts).
    await this.controlLog.apply({ nats: natsServer && { server: natsServer, connection: () => natsServer.unwrap<NatsConnection>() }, redis });
  }

  /** Stops the simulator's flow: the drain's first step once readiness has gone down. */
  stopSimulator(): void {
    this.simulatorInstance?.stop();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopSimulator();
    await Promise.allSettled(this.servers.map((server) => Promise.resolve(server.close())));
    await this.links.close();
  }

  /** Every kind of the registry becomes a route: validated once by the intake, then handed to its provider. */
  private registerRoutes(): void {
    for (const descriptor of STREAM_KIND_REGISTRY as readonly RegisteredStreamKind[]) {
      if (descriptor.delivery === 'derived') continue; // computed in the gateway: nothing comes from the engine
      const handler: unknown = this.moduleRef.get(descriptor.handler, { strict: false });
      const { kind, subject, delivery, validate } = descriptor;
      const intake = this.intake;
      // The live list of this kind's observers (EngineEventTaps): empty, as it usually is, it costs one length check.
      const observers = this.taps.observersOf(kind);
      this.routes.add({
        kind,
        subject,
        delivery,
        accountKind: descriptor.account?.kind,
        controlLog: descriptor.controlLog === true,
        handle: (payload, context) => {
          const event = intake.accept(kind, context, payload, validate);
          if (!event) return;
          const outcome = descriptor.deliver(handler, event.subject, event.value);
          if (outcome) intake.drop(kind, event.subject, outcome.drop, outcome.detail);
          else if (observers.length > 0) for (const observe of observers) observe(event.subject, event.value);
        },
      });
    }
  }

  private async start(name: string, server: EngineServer): Promise<void> {
    this.links.trackTransport(name, server.status);
    await new Promise<void>((resolveListening, rejectListening) => {
      server.listen((error?: unknown) => (error ? rejectListening(error instanceof Error ? error : new Error(`engine transport ${name} failed to start`)) : resolveListening()));
    });
    this.servers.push(server);
  }

  /**
   * Order commands go to the engine transport's broker (NATS request/reply, preferred; else Redis with a reply
   * channel), or to the built-in simulator in the embedded default (docs/protocol.md §7.3).
   */
  private async attachOrderChannel(nats: InterestNatsServer | undefined): Promise<void> {
    const config = this.config;
    if (nats) {
      const connection = nats;
      this.orderEngine.attach(new NatsOrderChannel(() => connection.unwrap<NatsConnection>(), () => this.links.transports().nats === 'connected'));
    } else if (config.engineTransports.includes('redis') && config.redisUrl) {
      // The publisher does not queue while Redis is away: an order then fails at once (ENGINE_UNAVAILABLE) instead of
      // reaching the engine after its client was told ENGINE_TIMEOUT.
      const publisher = this.redisClient(config.redisUrl, 'orders-pub', { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
      const subscriber = this.redisClient(config.redisUrl, 'orders-sub');
      const channel = new RedisOrderChannel(publisher, subscriber, config.nodeId);
      await channel.start();
      this.orderEngine.attach(channel);
    } else if (this.simulatorInstance) {
      this.orderEngine.attach(new SimulatorOrderChannel(this.simulatorInstance));
    }
    const channel = this.orderEngine.channel;
    if (channel) this.logger.info({ engine: channel.name, timeoutMs: config.orders.timeoutMs }, 'order commands enabled');
  }

  /** Every durable kind's account stream hydrates accounts from the log from now on. */
  private attachAccountLog(log: AccountLogReader): void {
    const attachment: AccountLogAttachment = { log, timeoutMs: this.config.accountLog.hydrateTimeoutMs, warn: (details, message) => this.logger.warn(details, message) };
    for (const { accountKind } of this.routes.durableRoutes()) {
      this.moduleRef.get<AccountStream<AccountKind>>(accountStreamToken(accountKind), { strict: false }).attachLog(attachment);
    }
  }

  /** A connection that waits for Redis to come back rather than failing its commands (subscribers), closed at shutdown. */
  private redisClient(url: string, purpose: string, overrides: RedisOptions = {}): Redis {
    const client = redisConnection(url, this.config.nodeId, purpose, this.logger, { maxRetriesPerRequest: null, ...overrides });
    this.links.addRedisClient(client);
    return client;
  }

  /**
   * The Redis Streams account log, on a client of its own. It never queues while Redis is away and bounds each command:
   * an append then fails at once (counted, never holding up the live path) and a hydration fails instead of waiting.
   * It waits (at most the hydration timeout) for that client to be ready, so the first events received are kept.
   */
  private async redisStreamsAccountLog(url: string): Promise<RedisStreamsAccountLog> {
    const { stream, maxPerSubject, maxAgeMs, hydrateTimeoutMs } = this.config.accountLog;
    // Failures surface as failed appends and hydrations; the connection's outages are logged once each.
    const client = this.redisClient(url, 'account-log', { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: hydrateTimeoutMs });
    await new Promise<void>((resolveReady) => {
      const timer = setTimeout(resolveReady, hydrateTimeoutMs);
      client.once('ready', () => {
        clearTimeout(timer);
        resolveReady();
      });
    });
    return new RedisStreamsAccountLog(client, {
      prefix: stream,
      maxPerSubject,
      maxAgeMs,
      dedupWindowMs: ACCOUNT_LOG_DEDUP_WINDOW_MS,
      counted: (outcome) => this.metrics.accountLogAppend(outcome),
      warn: (details, message) => this.logger.warn(details, message),
    });
  }
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
