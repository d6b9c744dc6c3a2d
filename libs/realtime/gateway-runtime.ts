import { Inject, Injectable } from '@nestjs/common';
import { AuditTrail } from '#libs/audit';
import type { WelcomeLimits } from '#libs/contracts';
import { TokenVerifier } from '#libs/auth';
import { LicenceResolver, SeatLedger } from '#libs/licensing';
import { GatewayMetrics, PINO_LOGGER, UsageMeter, type Logger } from '#libs/observability';
import { RateLimiter } from '#libs/rate-limit';
import { ConnectionRegistry } from './connection-registry.js';
import { RequestTurns } from './request-turns.js';
import type { SlowClientPolicy } from './stream-fanout.js';

/**
 * Event-loop time client requests may take per loop turn, across every namespace: well under the 25 ms a throttled
 * stream may run late, and enough for a dozen subscribe requests at a time.
 */
const REQUEST_TURN_BUDGET_MS = 10;

export interface GatewayRuntimeOptions {
  nodeId: string;
  serverVersion: string;
  /** Largest inbound client frame served; a larger one is refused with INVALID_REQUEST and the connection goes on. */
  maxFrameBytes: number;
  /** How long before token expiry the client is sent `auth:expiring`. */
  tokenExpiryWarningMs: number;
  /** Live: `graceMs` is changed in place by runtime limits (the fan-out reads it at each check). */
  slowClients: SlowClientPolicy;
  /** Market-data streams one user may hold at once across their connections (and replicas, with Redis); 0: no cap. Live. */
  maxSubscriptionsPerUser: number;
  /**
   * The runtime limits told to clients in `welcome.limits` and `licence.limits`, replaced whenever operators change
   * them (src/fleet); absent until set.
   */
  advertisedLimits?: Pick<WelcomeLimits, 'maxStreamsPerUser' | 'slowClientGraceMs' | 'rateLimits'>;
}

export const GATEWAY_RUNTIME_OPTIONS = Symbol('GATEWAY_RUNTIME_OPTIONS');

/** What every domain gateway shares, injected as one object so that subclasses stay short. */
@Injectable()
export class GatewayRuntime {
  /** Client requests of all namespaces share one budget per event-loop turn (a subscribe storm is spread out). */
  readonly requestTurns = new RequestTurns(REQUEST_TURN_BUDGET_MS);

  constructor(
    readonly verifier: TokenVerifier,
    readonly licences: LicenceResolver,
    readonly seats: SeatLedger,
    readonly metrics: GatewayMetrics,
    readonly registry: ConnectionRegistry,
    readonly rateLimiter: RateLimiter,
    @Inject(PINO_LOGGER) readonly logger: Logger,
    @Inject(GATEWAY_RUNTIME_OPTIONS) readonly options: GatewayRuntimeOptions,
    readonly usage: UsageMeter,
    readonly audit: AuditTrail,
  ) {}
}
