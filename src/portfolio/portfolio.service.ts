import { Inject, Injectable } from '@nestjs/common';
import { ACCOUNT_STREAM_EVENTS, NAMESPACES } from '#libs/contracts';
import { GatewayMetrics, UsageMeter } from '#libs/observability';
import { AccountStream, GATEWAY_RUNTIME_OPTIONS, validatePortfolio, type GatewayRuntimeOptions } from '#libs/realtime';

/** Portfolio state: per-account sequence, snapshot and replay log, and who watches which account. */
@Injectable()
export class PortfolioService {
  readonly stream: AccountStream<'portfolio'>;

  constructor(metrics: GatewayMetrics, usage: UsageMeter, @Inject(GATEWAY_RUNTIME_OPTIONS) runtime: GatewayRuntimeOptions) {
    this.stream = new AccountStream(
      {
        kind: 'portfolio',
        namespace: NAMESPACES.portfolio,
        liveEvent: ACCOUNT_STREAM_EVENTS.portfolio.live,
        snapshotEvent: ACCOUNT_STREAM_EVENTS.portfolio.snapshot,
        itemKey: () => null,
        maxItems: 1,
        replayDepth: 10_000,
        validate: validatePortfolio,
        slowClients: runtime.slowClients,
      },
      metrics,
      usage,
    );
  }
}
