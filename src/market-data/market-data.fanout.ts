import { Inject, Injectable } from '@nestjs/common';
import { SERVER_EVENTS } from '#libs/contracts';
import { GatewayMetrics, UsageMeter } from '#libs/observability';
import { GATEWAY_RUNTIME_OPTIONS, StreamFanout, type GatewayNamespace, type GatewayRuntimeOptions, type GatewaySocket } from '#libs/realtime';
import { AppConfig } from '../config/index.js';

/**
 * The `/market-data` namespace's fan-out core, shared by every channel: channels publish their streams' updates into
 * it and queue snapshots through it; the service adds and drops subscriptions. Created when the gateway's namespace
 * exists. When a client falls too far behind a 'resync' stream the fan-out asks the `resnapshot` handler given at
 * attach (the channels' registry), never the service.
 */
@Injectable()
export class MarketDataFanout {
  private core: StreamFanout | undefined;
  private namespaceRef: GatewayNamespace | undefined;

  constructor(
    private readonly metrics: GatewayMetrics,
    private readonly usage: UsageMeter,
    @Inject(GATEWAY_RUNTIME_OPTIONS) private readonly options: GatewayRuntimeOptions,
    private readonly config: AppConfig,
  ) {}

  attach(namespace: GatewayNamespace, resnapshot: (socket: GatewaySocket, key: string) => void): void {
    this.namespaceRef = namespace;
    this.core = new StreamFanout({
      namespace: namespace.name,
      event: SERVER_EVENTS.md,
      metrics: this.metrics,
      slowClients: this.options.slowClients,
      resnapshot,
      usage: (socket) => this.usage.countersFor(socket.data.user.tenant, socket.data.user.userId),
      // WS_COMPRESSION=all: market-data frames may be deflated too.
      deflate: this.config.wsCompression === 'all',
    });
  }

  get attached(): boolean {
    return this.core !== undefined;
  }

  /** The fan-out core; only used once the gateway has attached it (engine events before that find no subscriber). */
  get fanout(): StreamFanout {
    if (!this.core) throw new Error('the market-data fan-out is used before its namespace exists');
    return this.core;
  }

  get namespace(): GatewayNamespace | undefined {
    return this.namespaceRef;
  }

  hasSubscribers(key: string): boolean {
    return this.core?.hasSubscribers(key) ?? false;
  }
}
