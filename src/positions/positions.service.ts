import { Injectable } from '@nestjs/common';
import { ACCOUNT_STREAM_EVENTS, NAMESPACES } from '#libs/contracts';
import { GatewayMetrics, UsageMeter } from '#libs/observability';
import { AccountStream, validatePosition } from '#libs/realtime';

/** Positions state: per-account sequence, snapshot and replay log, and who watches which account. */
@Injectable()
export class PositionsService {
  readonly stream: AccountStream<'position'>;

  constructor(metrics: GatewayMetrics, usage: UsageMeter) {
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
      },
      metrics,
      usage,
    );
  }
}
