import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { NatsContext, RedisContext, type BaseRpcContext, type ReadPacket } from '@nestjs/microservices';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Redis } from 'ioredis';
import { GatewayMetrics, PINO_LOGGER, type Logger } from '#libs/observability';
import { EngineEventIntake, EngineRejectionFeedback, EngineRoutes, JetStreamControlLog, RedisStreamsControlLog, type ControlEventLog, type ControlLogOptions } from '#libs/realtime';
import { redisConnection } from '#libs/redis';
import { AppConfig } from '../config/index.js';
import { ReadinessState } from '../health/readiness.state.js';
import { EngineLinks } from './engine-links.js';

/** What the replay needs of a transport server: Nest's `handleEvent` (every Server has it). */
interface EventHandlingServer {
  handleEvent(pattern: string, packet: ReadPacket, context: BaseRpcContext): Promise<unknown>;
}

/**
 * The publisher-facing pieces of the engine side (docs/publishing.md), used by EngineTransports as it starts the
 * transports: the durable control log that every replica applies before it takes clients (the registry's control kinds
 * marked `controlLog`: licence and screen changes), and the feedback on `gateway.rejected.<kind>`.
 *
 * The log is applied inside EngineTransports' `onApplicationBootstrap`, so before the HTTP server listens: a replica
 * opens its port with every retained licence change and screen applied, or not ready (readiness check `controlLog`)
 * when the log could not be read in CONTROL_LOG_START_TIMEOUT_MS.
 */
@Injectable()
export class EngineControlLog implements OnApplicationShutdown {
  private redisLog: RedisStreamsControlLog | undefined;
  private readonly logs: ControlEventLog[] = [];

  constructor(
    private readonly config: AppConfig,
    @Inject(PINO_LOGGER) private readonly logger: Logger,
    private readonly routes: EngineRoutes,
    private readonly intake: EngineEventIntake,
    private readonly links: EngineLinks,
    private readonly readiness: ReadinessState,
    private readonly metrics: GatewayMetrics,
  ) {}

  /** Which log keeps control events: JetStream when the NATS transport is on, else Redis Streams with Redis, else none. */
  get kind(): 'jetstream' | 'redis-streams' | undefined {
    const config = this.config;
    if (config.engineTransports.includes('nats') && config.natsUrl) return 'jetstream';
    if (config.engineTransports.includes('redis') && config.redisUrl) return 'redis-streams';
    return undefined;
  }

  /**
   * The Redis Streams control log, on two connections of its own, for the Redis transport to capture control events
   * into (EngineRedisServer's `controlCapture`): created before that transport, since it feeds it.
   */
  redisCapture(): RedisStreamsControlLog | undefined {
    if (this.kind !== 'redis-streams' || !this.config.redisUrl) return undefined;
    const url = this.config.redisUrl;
    const { nodeId, controlLog } = this.config;
    const writer = redisConnection(url, nodeId, 'control-log', this.logger, { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: controlLog.startTimeoutMs });
    const reader = redisConnection(url, nodeId, 'control-log-reader', this.logger, { maxRetriesPerRequest: null });
    this.links.addRedisClient(writer);
    this.redisLog ??= new RedisStreamsControlLog(writer, reader, this.options());
    return this.redisLog;
  }

  /** Applies the log through the transport that carries control events (NATS: JetStream; Redis: its streams). */
  async apply(transports: { nats?: { server: EventHandlingServer; connection: () => NatsConnection }; redis?: EventHandlingServer }): Promise<void> {
    if (this.kind === 'jetstream' && transports.nats) {
      const log = new JetStreamControlLog(transports.nats.connection, this.options());
      this.logs.push(log);
      await this.follow(log, transports.nats.server, 'nats');
    } else if (this.kind === 'redis-streams' && this.redisLog && transports.redis) {
      this.logs.push(this.redisLog);
      await this.follow(this.redisLog, transports.redis, 'redis');
    }
  }

  /**
   * Reports dropped engine events on `gateway.rejected.<kind>` over each engine transport (a publisher listens where it
   * publishes). With the built-in simulator there is no one to tell: drops are logged and counted only.
   */
  attachFeedback(nats?: () => NatsConnection): void {
    const config = this.config;
    if (config.engineFeedbackPerSecond === 0) return;
    const senders: ((subject: string, text: string) => void)[] = [];
    if (nats) {
      senders.push((subject, text) => {
        try {
          nats().publish(subject, text);
        } catch {
          // Not connected: feedback is best-effort, the drop is counted and logged anyway.
        }
      });
    }
    if (config.engineTransports.includes('redis') && config.redisUrl) {
      const client: Redis = redisConnection(config.redisUrl, config.nodeId, 'feedback', this.logger, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
      this.links.addRedisClient(client);
      senders.push((subject, text) => void client.publish(subject, text).catch(() => undefined));
    }
    if (senders.length === 0) return;
    this.intake.attachFeedback(
      new EngineRejectionFeedback({
        nodeId: config.nodeId,
        perKindPerSecond: config.engineFeedbackPerSecond,
        send: (subject, text) => {
          for (const send of senders) send(subject, text);
        },
        // One report counts once, whatever the number of transports it goes out on.
        counted: (kind, outcome) => this.metrics.engineFeedback(kind, outcome),
      }),
    );
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.allSettled(this.logs.map((log) => log.close()));
  }

  private options(): ControlLogOptions {
    const { stream, maxEvents, startTimeoutMs } = this.config.controlLog;
    return { subjects: this.routes.controlLogPatterns(), stream, maxEvents, requestTimeoutMs: startTimeoutMs, warn: (details, message) => this.logger.warn(details, message) };
  }

  /**
   * Applies the control log through the transport's own handlers (the same validation, metrics and feedback as a live
   * event), everything retained first. Waits up to CONTROL_LOG_START_TIMEOUT_MS, or until a first failure to read the
   * log; then the replica starts not ready and becomes ready once the replay is done (retrying while it cannot be read).
   */
  private async follow(log: ControlEventLog, server: EventHandlingServer, transport: 'nats' | 'redis'): Promise<void> {
    const { config, logger, readiness } = this;
    readiness.controlLogReplaying();
    let replaying: Promise<unknown>[] | undefined = [];
    const deliver = (subject: string, payload: unknown): void => {
      const context = transport === 'nats' ? new NatsContext([subject, undefined]) : new RedisContext([subject, undefined]);
      const handled = server.handleEvent(subject, { pattern: subject, data: payload }, context).catch((error: unknown) => logger.error({ err: error, subject }, 'control event handler failed'));
      replaying?.push(handled);
    };
    let firstFailure: (() => void) | undefined;
    const failedOnce = new Promise<'failed'>((resolve) => (firstFailure = () => resolve('failed')));
    const replay = async (): Promise<void> => {
      for (let attempt = 1; ; attempt++) {
        try {
          const retained = await log.follow(deliver);
          await Promise.all(replaying ?? []);
          replaying = undefined;
          readiness.controlLogReplayed();
          logger.info({ stream: config.controlLog.stream, retained }, 'control log applied (licence changes, compliance screens)');
          return;
        } catch (error) {
          replaying = [];
          firstFailure?.();
          if (attempt === 1 || attempt % 10 === 0) logger.warn({ err: error, stream: config.controlLog.stream, attempt }, 'control log cannot be read: not ready until it is applied');
          await new Promise((resolve) => setTimeout(resolve, 2_000));
        }
      }
    };
    const done = replay();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), config.controlLog.startTimeoutMs)));
    // A log that cannot be read at all (JetStream off, Redis away) does not hold up the start: the replica opens its
    // port not ready, and says why on /health/ready, at once; a slow replay holds it up to the timeout.
    const outcome = await Promise.race([done, timedOut, failedOnce]);
    if (outcome !== undefined) logger.warn({ stream: config.controlLog.stream, outcome }, 'control log not applied yet: starting not ready');
    clearTimeout(timer);
  }
}
