import { applyDecorators, Injectable, SetMetadata, UseGuards, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { GatewayError, type Licence } from '#libs/contracts';
import { GatewayMetrics } from '#libs/observability';
import { requirementRefusal } from './entitlements.js';

export const ENTITLEMENT_METADATA = 'tradewire:entitlement';

/**
 * Refuses a client request with NOT_ENTITLED unless the connection's licence is live (not revoked, not expired) and
 * holds every feature named by @RequiresEntitlement. It reads the licence the handshake (or a live licence change)
 * put on the socket, so it costs no lookup.
 */
@Injectable()
export class LicenceGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly metrics: GatewayMetrics,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const features = this.reflector.getAllAndOverride<string[] | undefined>(ENTITLEMENT_METADATA, [context.getHandler(), context.getClass()]) ?? [];
    const client = context.switchToWs().getClient<{ nsp?: { name: string }; data?: { licence?: Licence } }>();
    const refusal = requirementRefusal(client.data?.licence, features);
    if (!refusal) return true;
    this.metrics.licenceRefusal(client.nsp?.name ?? 'unknown', 'NOT_ENTITLED', 'request');
    throw new GatewayError('NOT_ENTITLED', refusal, features.length > 0 ? { details: { features } } : {});
  }
}

/**
 * A client request handler that needs a live licence and, optionally, licence features (e.g. `'trading'` for order
 * commands). Guard order: Nest runs guards before interceptors and pipes, so a request refused here is answered
 * NOT_ENTITLED through the gateway's exception filter before its payload is validated and before any interceptor
 * (the ack wrapper, rate limits) counts it. Guards declared on the class run before this one.
 */
export function RequiresEntitlement(...features: string[]) {
  return applyDecorators(SetMetadata(ENTITLEMENT_METADATA, features), UseGuards(LicenceGuard));
}
