import { Inject, Module, type DynamicModule, type ModuleMetadata, type Provider, type Type } from '@nestjs/common';
import { WebSocketGateway } from '@nestjs/websockets';
import { AccountDirectory } from '#libs/auth';
import { ACCOUNT_STREAM_EVENTS, type AccountKind, type Namespace } from '#libs/contracts';
import { GatewayMetrics, ObservabilityModule, UsageMeter } from '#libs/observability';
import { AccountStream, AccountStreamGateway, GATEWAY_RUNTIME_OPTIONS, GatewayRuntime, type AccountStreamOptions, type GatewayRuntimeOptions } from '#libs/realtime';
import { AuthModule } from '../auth/auth.module.js';
import { GatewayRuntimeModule } from '../realtime/gateway-runtime.module.js';
import { accountStreamSettings, STREAM_KIND_REGISTRY, type RegisteredStreamKind } from '../engine/stream-kinds.js';
import { accountEventsToken, AccountStreamEvents, accountStreamToken } from './account-stream-events.js';

/** What a domain adds to its account stream: a gateway of its own (orders: with its commands) and its providers. */
export interface AccountStreamExtras<K extends AccountKind> {
  /** Replaces the plain gateway; it extends AccountStreamGateway and injects `accountStreamToken(kind)`. */
  gateway?: Type<AccountStreamGateway<K>>;
  imports?: ModuleMetadata['imports'];
  providers?: Provider[];
  exports?: ModuleMetadata['exports'];
}

/**
 * One account namespace (`/orders`, `/positions`, `/portfolio`, …) from its registry entry: the kind's AccountStream
 * (per-account seq, snapshot, replay log), the handler its engine events are routed to, and its Socket.IO gateway.
 * The account log is attached to the stream by the engine (EngineModule), for every durable kind of the registry.
 */
@Module({})
export class AccountStreamModule {
  static forKind<K extends AccountKind>(kind: K, extras: AccountStreamExtras<K> = {}): DynamicModule {
    const settings = accountStreamSettings(kind);
    const descriptor = (STREAM_KIND_REGISTRY as readonly RegisteredStreamKind[]).find((entry) => entry.kind === kind);
    if (!descriptor || descriptor.delivery === 'derived') throw new Error(`no engine-fed stream kind ${kind} in the registry`);
    // The registry's entry of this very kind: its validator and item key are those of K (the registry erases K).
    const options: AccountStreamOptions<K> = {
      kind,
      namespace: settings.namespace,
      liveEvent: ACCOUNT_STREAM_EVENTS[kind].live,
      snapshotEvent: ACCOUNT_STREAM_EVENTS[kind].snapshot,
      itemKey: settings.itemKey,
      maxItems: settings.maxItems,
      replayDepth: settings.replayDepth,
      validate: descriptor.validate as AccountStreamOptions<K>['validate'],
    };
    const streamProvider: Provider = {
      provide: accountStreamToken(kind),
      // Account watchers are held to the market-data fan-out's slow-client policy (the same limits and grace period).
      useFactory: (metrics: GatewayMetrics, usage: UsageMeter, runtime: GatewayRuntimeOptions) =>
        new AccountStream({ ...options, slowClients: runtime.slowClients }, metrics, usage),
      inject: [GatewayMetrics, UsageMeter, GATEWAY_RUNTIME_OPTIONS],
    };
    const eventsProvider: Provider = {
      provide: accountEventsToken(kind),
      useFactory: (stream: AccountStream<AccountKind>) => new AccountStreamEvents(stream),
      inject: [accountStreamToken(kind)],
    };
    return {
      module: AccountStreamModule,
      // The gateway's runtime, the accounts of each tenant (who may watch which account) and the stream's metrics.
      imports: [GatewayRuntimeModule, AuthModule, ObservabilityModule, ...(extras.imports ?? [])],
      providers: [streamProvider, eventsProvider, extras.gateway ?? plainGateway(kind, settings.namespace), ...(extras.providers ?? [])],
      exports: [accountStreamToken(kind), accountEventsToken(kind), ...(extras.exports ?? [])],
    };
  }
}

/** The gateway of an account namespace without commands of its own (positions, portfolio). */
function plainGateway(kind: AccountKind, namespace: Namespace): Type<AccountStreamGateway<AccountKind>> {
  @WebSocketGateway({ namespace })
  class PlainAccountStreamGateway extends AccountStreamGateway<AccountKind> {
    readonly namespaceName = namespace;

    constructor(
      runtime: GatewayRuntime,
      directory: AccountDirectory,
      @Inject(accountStreamToken(kind)) private readonly accountStream: AccountStream<AccountKind>,
    ) {
      super(runtime, directory);
    }

    protected get stream(): AccountStream<AccountKind> {
      return this.accountStream;
    }
  }
  Object.defineProperty(PlainAccountStreamGateway, 'name', { value: `AccountStreamGateway(${namespace})` });
  return PlainAccountStreamGateway;
}
