import { Inject, Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import type { Observable } from 'rxjs';
import { GatewayError } from '#libs/contracts';
import { GatewayMetrics, PINO_LOGGER, type Logger } from '#libs/observability';
import { BLOCKED_RULE, RateLimiter } from '#libs/rate-limit';
import type { GatewaySocket } from './gateway-socket.js';

/**
 * Takes every client request from its user's buckets before anything else looks at it (validation included, so
 * junk floods are limited too). A refused request is answered `RATE_LIMITED` with `retryAfterMs` by the gateways'
 * exception filter; nothing else happens, and the connection stays.
 */
@Injectable()
export class RateLimitInterceptor implements NestInterceptor {
  constructor(
    private readonly limiter: RateLimiter,
    private readonly metrics: GatewayMetrics,
    @Inject(PINO_LOGGER) private readonly logger: Logger,
  ) {}

  async intercept(context: ExecutionContext, next: CallHandler<unknown>): Promise<Observable<unknown>> {
    const ws = context.switchToWs();
    const socket = ws.getClient<GatewaySocket>();
    const event = ws.getPattern();
    const decision = await this.limiter.checkRequest(socket.data.user, socket.nsp.name, event);
    if (decision.allowed) return next.handle();
    this.metrics.rateLimited(socket.nsp.name, event, decision.blockedNow ? BLOCKED_RULE : decision.rule);
    if (decision.blockedNow) {
      const { tenant, userId } = socket.data.user;
      this.logger.warn({ tenant, userId, namespace: socket.nsp.name, event, blockedForMs: decision.retryAfterMs }, 'user blocked: too many refused requests');
    }
    const message =
      decision.rule === BLOCKED_RULE || decision.blockedNow
        ? `too many refused requests: blocked for ${Math.ceil(decision.retryAfterMs / 1000)} s`
        : decision.rule === event
          ? `too many ${event} requests`
          : decision.rule === 'cancels'
            ? 'too many cancel requests'
            : 'too many requests';
    throw new GatewayError('RATE_LIMITED', message, { retryAfterMs: decision.retryAfterMs });
  }
}
