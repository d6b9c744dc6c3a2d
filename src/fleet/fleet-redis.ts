import type { OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';

/**
 * The fleet's two Redis connections: commands (the registry's heartbeats, runtime limits, publishing operator actions)
 * and a subscriber (operator actions and their answers). Absent without `REDIS_URL`: the fleet is this replica alone.
 *
 * The fleet closes them itself, last of its providers: Nest shuts a module's providers down dependents first, so the
 * node registry has deregistered (and the bus and limits have stopped) before these quit. Health pings `commands`.
 */
export class FleetRedis implements OnApplicationShutdown {
  constructor(
    readonly commands: Redis,
    readonly subscriber: Redis,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await Promise.allSettled([this.commands.quit(), this.subscriber.quit()]);
  }
}

export const FLEET_REDIS = Symbol('FLEET_REDIS');

/** Every key and channel of the fleet, in one place, under one prefix. */
export const FLEET_KEYS = {
  /** A replica's heartbeat record (JSON), expiring after NODE_TTL_MS. */
  node: (nodeId: string) => `tradewire:fleet:node:${nodeId}`,
  /** The ids of every replica that has heartbeated; a member whose record expired is dropped when listed. */
  nodes: 'tradewire:fleet:nodes',
  /** The runtime limit overrides (JSON with a version). */
  limits: 'tradewire:fleet:limits',
  /** Operator actions and fleet queries, to every replica. */
  requests: 'tradewire:fleet:requests',
  /** Answers to one replica's requests. */
  replies: (nodeId: string) => `tradewire:fleet:replies:${nodeId}`,
} as const;
