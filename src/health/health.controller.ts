import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Controller, Get, Inject, Optional, ServiceUnavailableException, type OnModuleDestroy } from '@nestjs/common';
import { HealthCheck, HealthCheckService, HealthIndicatorService, MemoryHealthIndicator, type HealthCheckResult, type HealthIndicatorResult } from '@nestjs/terminus';
import { SharedStoreStatus } from '#libs/observability';
import { ConnectionRegistry } from '#libs/realtime';
import { AppConfig } from '../config/index.js';
import { EngineLinks } from '../engine/engine-links.js';
import { FLEET_REDIS, type FleetRedis } from '../fleet/fleet-redis.js';
import { NodeRegistry } from '../fleet/node-registry.js';
import { ReadinessState } from './readiness.state.js';

const EVENT_LOOP_P99_LIMIT_MS = 1_000;
const HEAP_LIMIT_BYTES = 3 * 1024 ** 3;

@Controller('health')
export class HealthController implements OnModuleDestroy {
  private readonly loopDelay = monitorEventLoopDelay({ resolution: 20 });

  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly memory: MemoryHealthIndicator,
    private readonly readiness: ReadinessState,
    private readonly links: EngineLinks,
    private readonly registry: ConnectionRegistry,
    private readonly config: AppConfig,
    private readonly stores: SharedStoreStatus,
    private readonly fleet: NodeRegistry,
    @Optional() @Inject(FLEET_REDIS) private readonly fleetRedis?: FleetRedis,
  ) {
    this.loopDelay.enable();
  }

  onModuleDestroy(): void {
    this.loopDelay.disable();
  }

  /** The process is up and its event loop turns: restart it if not. Deliberately no dependency checks here. */
  @Get('live')
  @HealthCheck()
  live(): Promise<HealthCheckResult> {
    return this.health.check([() => this.indicators.check('process').up({ pid: process.pid, uptimeSeconds: Math.round(process.uptime()) })]);
  }

  /**
   * Should the load balancer send new clients here: engine links up, the account log reachable, loop not stalled, heap
   * sane, not draining. Redis is not a reason to say no: every replica shares it, so failing on it would take the whole
   * fleet out at once; while it is away the replica runs degraded (status `degraded`, HTTP 200, with the detail).
   */
  @Get('ready')
  @HealthCheck()
  ready(): Promise<HealthCheckResult> {
    if (!this.readiness.isReady) {
      throw new ServiceUnavailableException({ status: 'shutting_down', info: {}, error: { readiness: { status: 'down', draining: this.readiness.isDraining } }, details: {} });
    }
    return this.health.check([
      () => this.engineTransports(),
      ...(this.readiness.accountLog ? [() => this.accountLog()] : []),
      // Licence changes and compliance screens not applied yet: a client let in now could get what it lost.
      ...(this.readiness.isReplayingControlLog ? [() => this.indicators.check('controlLog').down({ state: 'replaying' })] : []),
      ...(this.config.redisUrl ? [() => this.redis()] : []),
      () => this.eventLoop(),
      () => this.memory.checkHeap('heap', HEAP_LIMIT_BYTES),
    ]);
  }

  /** Socket-server figures for operators: connections per namespace, unique users, uptime; `cluster`: the fleet's. */
  @Get('websocket')
  async websocket(): Promise<Record<string, unknown>> {
    const stats = this.registry.stats();
    return {
      status: 'ok',
      node: this.config.nodeId,
      engineTransports: this.links.transports(),
      ...stats,
      cluster: await this.fleet.totals(),
    };
  }

  private engineTransports(): HealthIndicatorResult {
    const transports = this.links.transports();
    const session = this.indicators.check('engine');
    const down = Object.entries(transports).filter(([, status]) => status !== 'connected');
    return down.length === 0 ? session.up({ transports }) : session.down({ transports });
  }

  private accountLog(): HealthIndicatorResult {
    const session = this.indicators.check('accountLog');
    const status = this.readiness.accountLog;
    if (!status) return session.up();
    const { reachable, ...detail } = status;
    return reachable ? session.up(detail) : session.down(detail);
  }

  /** Up, or degraded (never down): which shared stores this replica runs without, and since when. */
  private async redis(): Promise<HealthIndicatorResult> {
    const session = this.indicators.check('redis');
    const degradedStores = this.stores.snapshot();
    // The fleet's command connection: the one Redis link every replica with REDIS_URL has, whatever its transports.
    const client = this.fleetRedis?.commands;
    let connection: Record<string, unknown>;
    if (!client) connection = { reachable: false, message: 'no client' };
    else if (client.status !== 'ready') connection = { reachable: false, message: `connection ${client.status}` };
    else {
      try {
        const started = performance.now();
        await Promise.race([client.ping(), new Promise((_, reject) => setTimeout(() => reject(new Error('ping timed out')), 1_000).unref())]);
        connection = { reachable: true, pingMs: Math.round((performance.now() - started) * 100) / 100 };
      } catch (error) {
        connection = { reachable: false, message: error instanceof Error ? error.message : String(error) };
      }
    }
    const degraded = connection.reachable !== true || Object.keys(degradedStores).length > 0;
    return degraded ? session.degraded({ ...connection, degradedStores }) : session.up(connection);
  }

  private eventLoop(): HealthIndicatorResult {
    const p99Ms = this.loopDelay.percentile(99) / 1e6;
    this.loopDelay.reset();
    const session = this.indicators.check('eventLoop');
    const data = { p99Ms: Math.round(p99Ms * 100) / 100, limitMs: EVENT_LOOP_P99_LIMIT_MS };
    return p99Ms <= EVENT_LOOP_P99_LIMIT_MS ? session.up(data) : session.down(data);
  }
}
