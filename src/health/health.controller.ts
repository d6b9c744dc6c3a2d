import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Controller, Get, ServiceUnavailableException, type OnModuleDestroy } from '@nestjs/common';
import { HealthCheck, HealthCheckService, HealthIndicatorService, MemoryHealthIndicator, type HealthCheckResult, type HealthIndicatorResult } from '@nestjs/terminus';
import { ConnectionRegistry } from '#libs/realtime';
import { AppConfig } from '../config/index.js';
import { EngineLinks } from '../engine/engine-links.js';
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

  /** Should the load balancer send new clients here: engine links up, loop not stalled, heap sane, not draining. */
  @Get('ready')
  @HealthCheck()
  ready(): Promise<HealthCheckResult> {
    if (!this.readiness.isReady) {
      throw new ServiceUnavailableException({ status: 'shutting_down', info: {}, error: { readiness: { status: 'down', draining: this.readiness.isDraining } }, details: {} });
    }
    return this.health.check([
      () => this.engineTransports(),
      ...(this.config.redisUrl ? [() => this.redis()] : []),
      () => this.eventLoop(),
      () => this.memory.checkHeap('heap', HEAP_LIMIT_BYTES),
    ]);
  }

  /** Socket-server figures for operators: connections per namespace, unique users, the adapter, uptime. */
  @Get('websocket')
  websocket(): Record<string, unknown> {
    const stats = this.registry.stats();
    return {
      status: 'ok',
      node: this.config.nodeId,
      adapter: this.config.redisUrl ? 'redis' : 'memory',
      engineTransports: this.links.transports(),
      ...stats,
    };
  }

  private engineTransports(): HealthIndicatorResult {
    const transports = this.links.transports();
    const session = this.indicators.check('engine');
    const down = Object.entries(transports).filter(([, status]) => status !== 'connected');
    return down.length === 0 ? session.up({ transports }) : session.down({ transports });
  }

  private async redis(): Promise<HealthIndicatorResult> {
    const session = this.indicators.check('redis');
    const client = this.links.redis;
    if (!client) return session.down({ message: 'no client' });
    try {
      const started = performance.now();
      await Promise.race([client.ping(), new Promise((_, reject) => setTimeout(() => reject(new Error('ping timed out')), 1_000).unref())]);
      return session.up({ pingMs: Math.round((performance.now() - started) * 100) / 100 });
    } catch (error) {
      return session.down({ message: error instanceof Error ? error.message : String(error) });
    }
  }

  private eventLoop(): HealthIndicatorResult {
    const p99Ms = this.loopDelay.percentile(99) / 1e6;
    this.loopDelay.reset();
    const session = this.indicators.check('eventLoop');
    const data = { p99Ms: Math.round(p99Ms * 100) / 100, limitMs: EVENT_LOOP_P99_LIMIT_MS };
    return p99Ms <= EVENT_LOOP_P99_LIMIT_MS ? session.up(data) : session.down(data);
  }
}
