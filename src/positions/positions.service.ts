import { Inject, Injectable } from '@nestjs/common';
import { ACCOUNT_STREAM_EVENTS, NAMESPACES } from '#libs/contracts';
import { GatewayMetrics, UsageMeter } from '#libs/observability';
import { AccountStream, GATEWAY_RUNTIME_OPTIONS, validatePosition, type GatewayRuntimeOptions } from '#libs/realtime';

/** Positions state: per-account sequence, snapshot and replay log, and who watches which account. */
@Injectable()
export class PositionsService {
  readonly stream: AccountStream<'position'>;

  constructor(metrics: GatewayMetrics, usage: UsageMeter, @Inject(GATEWAY_RUNTIME_OPTIONS) runtime: GatewayRuntimeOptions) {
    this.stream = new AccountStream(
      {
        kind: 'position',
        namespace: NAMESPACES.positions,
        liveEvent: ACCOUNT_STREAM_EVENTS.position.live,
        snapshotEvent: ACCOUNT_STREAM_EVENTS.position.snapshot,
        itemKey: (position) => position.symbol,
        maxItems: 1_000,
        replayDepth: 10_000,
        validate: validatePosition,
        slowClients: runtime.slowClients,
      },
      metrics,
      usage,
    );
  }
}
