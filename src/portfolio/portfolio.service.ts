import { Injectable } from '@nestjs/common';
import { ACCOUNT_STREAM_EVENTS, NAMESPACES } from '#libs/contracts';
import { GatewayMetrics } from '#libs/observability';
import { AccountStream } from '#libs/realtime';

/** Portfolio state: per-account sequence, snapshot and replay log, and who watches which account. */
@Injectable()
export class PortfolioService {
  readonly stream: AccountStream<'portfolio'>;

  constructor(metrics: GatewayMetrics) {
    this.stream = new AccountStream(
      {
        kind: 'portfolio',
        namespace: NAMESPACES.portfolio,
        liveEvent: ACCOUNT_STREAM_EVENTS.portfolio.live,
        snapshotEvent: ACCOUNT_STREAM_EVENTS.portfolio.snapshot,
        itemKey: () => null,
        maxItems: 1,
        replayDepth: 10_000,
      },
      metrics,
    );
  }
}
