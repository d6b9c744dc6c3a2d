import { Inject, Injectable } from '@nestjs/common';
import { ACCOUNT_STREAM_EVENTS, NAMESPACES } from '#libs/contracts';
import { GatewayMetrics, UsageMeter } from '#libs/observability';
import { AccountStream, GATEWAY_RUNTIME_OPTIONS, validateOrder, type GatewayRuntimeOptions } from '#libs/realtime';

/** Orders state: per-account sequence, snapshot and replay log, and who watches which account. */
@Injectable()
export class OrdersService {
  readonly stream: AccountStream<'order'>;

  constructor(metrics: GatewayMetrics, usage: UsageMeter, @Inject(GATEWAY_RUNTIME_OPTIONS) runtime: GatewayRuntimeOptions) {
    this.stream = new AccountStream(
      {
        kind: 'order',
        namespace: NAMESPACES.orders,
        liveEvent: ACCOUNT_STREAM_EVENTS.order.live,
        snapshotEvent: ACCOUNT_STREAM_EVENTS.order.snapshot,
        itemKey: (order) => order.orderId,
        maxItems: 1_000,
        replayDepth: 10_000,
        validate: validateOrder,
        slowClients: runtime.slowClients,
      },
      metrics,
      usage,
    );
  }
}
