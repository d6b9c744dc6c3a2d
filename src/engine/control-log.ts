import { NatsContext, RedisContext, type BaseRpcContext, type ReadPacket } from '@nestjs/microservices';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { redisConnection } from '#libs/redis';
import { EngineEventIntake, EngineRejectionFeedback, JetStreamControlLog, RedisStreamsControlLog, type ControlEventLog } from '#libs/realtime';
import type { AppConfig } from '../config/index.js';
import type { EngineLinks } from './engine-links.js';
import type { ReadinessState } from '../health/readiness.state.js';

/**
 * Wiring of the publisher-facing pieces of the engine side (docs/publishing.md): the durable control log that every
 * replica applies before it takes clients, and the feedback on `gateway.rejected.<kind>`. Kept apart from main.ts,
 * which only calls these.
 */

/** Which log keeps control events: JetStream when the NATS transport is on, else Redis Streams with Redis, else none. */
export function controlLogKind(config: AppConfig): 'jetstream' | 'redis-streams' | undefined {
  if (config.engineTransports.includes('nats') && config.natsUrl) return 'jetstream';
  if (config.engineTransports.includes('redis') && config.redisUrl) return 'redis-streams';
  return undefined;
}

/** The Redis Streams control log (Redis engine transport without NATS), on two connections of its own. */
export function redisControlLog(config: AppConfig, logger: Logger, links: EngineLinks): RedisStreamsControlLog | undefined {
  if (controlLogKind(config) !== 'redis-streams' || !config.redisUrl) return undefined;
  const url = config.redisUrl;
  const writer = redisConnection(url, config.nodeId, 'control-log', logger, { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: config.controlLog.startTimeoutMs });
  const reader = redisConnection(url, config.nodeId, 'control-log-reader', logger, { maxRetriesPerRequest: null });
  links.addRedisClient(writer);
  return new RedisStreamsControlLog(writer, reader, controlLogOptions(config, logger));
}

export function jetStreamControlLog(config: AppConfig, logger: Logger, connection: () => NatsConnection): JetStreamControlLog {
  return new JetStreamControlLog(connection, controlLogOptions(config, logger));
}

function controlLogOptions(config: AppConfig, logger: Logger) {
  const { stream, maxEvents, startTimeoutMs } = config.controlLog;
  return { stream, maxEvents, requestTimeoutMs: startTimeoutMs, warn: (details: Record<string, unknown>, message: string) => logger.warn(details, message) };
}

/** What the replay needs of a transport server: Nest's `handleEvent` (every Server has it). */
interface EventHandlingServer {
  handleEvent(pattern: string, packet: ReadPacket, context: BaseRpcContext): Promise<unknown>;
}

/**
 * Applies the control log through the transport's own handlers (the same validation, metrics and feedback as a live
 * event), everything retained first. Waits up to CONTROL_LOG_START_TIMEOUT_MS, or until a first failure to read the log;
 * then the replica starts not ready and becomes ready once the replay is done (retrying while the log cannot be read).
 */
export async function applyControlLog(log: ControlEventLog, server: EventHandlingServer, transport: 'nats' | 'redis', deps: { config: AppConfig; logger: Logger; readiness: ReadinessState }): Promise<void> {
  const { config, logger, readiness } = deps;
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
  // A log that cannot be read at all (JetStream off, Redis away) does not hold up the start: the replica opens its port
  // not ready, and says why on /health/ready, at once; a slow replay holds it up to the timeout.
  const outcome = await Promise.race([done, timedOut, failedOnce]);
  if (outcome !== undefined) logger.warn({ stream: config.controlLog.stream, outcome }, 'control log not applied yet: starting not ready');
  clearTimeout(timer);
}

/**
 * Reports dropped engine events on `gateway.rejected.<kind>` over each engine transport (a publisher listens where it
 * publishes). With the built-in simulator there is no one to tell: drops are logged and counted only.
 */
export function attachEngineFeedback(intake: EngineEventIntake, config: AppConfig, logger: Logger, links: EngineLinks, nats?: () => NatsConnection): void {
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
    const client: Redis = redisConnection(config.redisUrl, config.nodeId, 'feedback', logger, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    links.addRedisClient(client);
    senders.push((subject, text) => void client.publish(subject, text).catch(() => undefined));
  }
  if (senders.length === 0) return;
  intake.attachFeedback(
    new EngineRejectionFeedback({
      nodeId: config.nodeId,
      perKindPerSecond: config.engineFeedbackPerSecond,
      send: (subject, text) => {
        for (const send of senders) send(subject, text);
      },
    }),
  );
}
