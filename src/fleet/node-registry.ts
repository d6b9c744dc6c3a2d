import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { Inject, Injectable, Optional, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { PINO_LOGGER, SharedStoreStatus, type Logger } from '#libs/observability';
import { ConnectionRegistry } from '#libs/realtime';
import { AppConfig } from '../config/index.js';
import { ReadinessState } from '../health/readiness.state.js';
import { SERVER_VERSION } from '../version.js';
import { FLEET_KEYS, FLEET_REDIS, type FleetRedis } from './fleet-redis.js';

/** What a replica says of itself at each heartbeat (GET /admin/nodes). */
export interface NodeRecord {
  id: string;
  /** host:port where operators reach it (NODE_ADDRESS). */
  address: string;
  version: string;
  pid: number;
  startedAt: string;
  heartbeatAt: string;
  state: 'starting' | 'ready' | 'draining';
  connections: number;
  /** Distinct users connected to this replica (a user on two replicas counts on each). */
  users: number;
  namespaces: Record<string, { connections: number; uniqueUsers: number }>;
  /** Event-loop delay since the previous heartbeat, ms. */
  eventLoopLagMs: { mean: number; p99: number; max: number };
}

export interface FleetTotals {
  /** Where the figures come from: `redis` (every replica's last heartbeat) or `local` (this replica alone). */
  source: 'redis' | 'local';
  nodes: number;
  connections: number;
  users: number;
  namespaces: Record<string, { connections: number; uniqueUsers: number }>;
}

const round = (value: number) => Math.round(value * 100) / 100;

/**
 * This replica's entry in the node registry: a record in Redis renewed every third of NODE_TTL_MS, expiring by itself
 * when the replica stops (a SIGKILL, a partition), deleted at a graceful shutdown. Without Redis the registry is this
 * replica alone, answered from memory.
 */
@Injectable()
export class NodeRegistry implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly startedAt = new Date().toISOString();
  private readonly loopDelay: IntervalHistogram = monitorEventLoopDelay({ resolution: 20 });
  private lastLag = { mean: 0, p99: 0, max: 0 };
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly config: AppConfig,
    private readonly connections: ConnectionRegistry,
    private readonly readiness: ReadinessState,
    private readonly stores: SharedStoreStatus,
    @Inject(PINO_LOGGER) private readonly logger: Logger,
    @Optional() @Inject(FLEET_REDIS) private readonly redis?: FleetRedis,
  ) {
    this.loopDelay.enable();
  }

  get nodeId(): string {
    return this.config.nodeId;
  }

  get shared(): boolean {
    return this.redis !== undefined;
  }

  onApplicationBootstrap(): void {
    if (!this.redis) return;
    const everyMs = Math.max(250, Math.floor(this.config.fleet.nodeTtlMs / 3));
    this.timer = setInterval(() => void this.heartbeat(), everyMs);
    this.timer.unref();
    void this.heartbeat();
  }

  /**
   * At shutdown, once the drain is over (GracefulShutdown told the clients to leave; until then the registry lists this
   * replica as `draining`): out of the registry at once, not after the TTL. Before FleetRedis quits (it is a dependency).
   */
  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.loopDelay.disable();
    if (!this.redis) return;
    try {
      await this.redis.commands.multi().del(FLEET_KEYS.node(this.nodeId)).srem(FLEET_KEYS.nodes, this.nodeId).exec();
    } catch (error) {
      this.logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'node registry: could not deregister; the entry expires by itself');
    }
  }

  /** This replica as it is now (the heartbeat's lag figures are the last interval's). */
  self(): NodeRecord {
    const stats = this.connections.stats();
    return {
      id: this.nodeId,
      address: this.config.fleet.address,
      version: SERVER_VERSION,
      pid: process.pid,
      startedAt: this.startedAt,
      heartbeatAt: new Date().toISOString(),
      state: this.readiness.isDraining ? 'draining' : this.readiness.isReady ? 'ready' : 'starting',
      connections: stats.connections,
      users: stats.uniqueUsers,
      namespaces: stats.namespaces,
      eventLoopLagMs: this.sampleLag(),
    };
  }

  /** Every live replica (this one included), by id. Without Redis, or while it cannot be read: this replica alone. */
  async list(): Promise<{ source: 'redis' | 'local'; nodes: NodeRecord[]; error?: string }> {
    if (!this.redis) return { source: 'local', nodes: [this.self()] };
    try {
      const ids = await this.redis.commands.smembers(FLEET_KEYS.nodes);
      const records = ids.length > 0 ? await this.redis.commands.mget(...ids.map((id) => FLEET_KEYS.node(id))) : [];
      const nodes: NodeRecord[] = [];
      const expired: string[] = [];
      ids.forEach((id, index) => {
        const record = parseRecord(records[index]);
        if (record) nodes.push(record);
        else expired.push(id);
      });
      // Members whose record expired (a replica that died): gone from the index too. A replica that heartbeats again
      // adds itself back, so a race with its renewal costs it one interval at most.
      if (expired.length > 0) await this.redis.commands.srem(FLEET_KEYS.nodes, ...expired);
      // This replica's own figures are fresher than its last heartbeat.
      const self = this.self();
      const others = nodes.filter((node) => node.id !== self.id);
      return { source: 'redis', nodes: [self, ...others].sort((a, b) => a.id.localeCompare(b.id)) };
    } catch (error) {
      return { source: 'local', nodes: [this.self()], error: `node registry unreadable: ${error instanceof Error ? error.message : String(error)}` };
    }
  }

  /** The fleet's connections and users, summed over the replicas listed. */
  async totals(): Promise<FleetTotals & { error?: string }> {
    const { source, nodes, error } = await this.list();
    const namespaces: FleetTotals['namespaces'] = {};
    for (const node of nodes) {
      for (const [name, figures] of Object.entries(node.namespaces)) {
        const sum = (namespaces[name] ??= { connections: 0, uniqueUsers: 0 });
        sum.connections += figures.connections;
        sum.uniqueUsers += figures.uniqueUsers;
      }
    }
    return {
      source,
      nodes: nodes.length,
      connections: nodes.reduce((sum, node) => sum + node.connections, 0),
      users: nodes.reduce((sum, node) => sum + node.users, 0),
      namespaces,
      ...(error ? { error } : {}),
    };
  }

  /** Ids of the replicas expected to answer a fleet request: those listed, this one always among them. */
  async liveNodeIds(): Promise<string[]> {
    return (await this.list()).nodes.map((node) => node.id);
  }

  private async heartbeat(): Promise<void> {
    if (!this.redis || this.stopped) return;
    const record = this.self();
    this.lastLag = record.eventLoopLagMs;
    this.loopDelay.reset();
    try {
      await this.redis.commands
        .multi()
        .set(FLEET_KEYS.node(this.nodeId), JSON.stringify(record), 'PX', this.config.fleet.nodeTtlMs)
        .sadd(FLEET_KEYS.nodes, this.nodeId)
        .exec();
      this.stores.recovered('fleet');
    } catch (error) {
      // One log line per outage, and tradewire_store_degraded{store="fleet"} (the SharedStoreDegraded alert).
      this.stores.degraded('fleet', error, 'this replica drops out of the node registry and may miss operator actions and limit changes until Redis is back');
    }
  }

  /** The delay histogram since the last heartbeat; between heartbeats, the last interval's figures. */
  private sampleLag(): NodeRecord['eventLoopLagMs'] {
    if (this.loopDelay.count === 0) return this.lastLag;
    return { mean: round(this.loopDelay.mean / 1e6), p99: round(this.loopDelay.percentile(99) / 1e6), max: round(this.loopDelay.max / 1e6) };
  }
}

function parseRecord(text: string | null | undefined): NodeRecord | undefined {
  if (!text) return undefined;
  try {
    const value = JSON.parse(text) as unknown;
    if (typeof value === 'object' && value !== null && typeof (value as NodeRecord).id === 'string' && typeof (value as NodeRecord).connections === 'number') return value as NodeRecord;
  } catch {
    // A record that is not ours is skipped.
  }
  return undefined;
}
