import { Module } from '@nestjs/common';
import { ObservabilityModule } from '#libs/observability';
import { ConnectionRegistry, DEFAULT_SLOW_CLIENT_POLICY, GATEWAY_RUNTIME_OPTIONS, GatewayRuntime, type GatewayRuntimeOptions } from '#libs/realtime';
import { AuthModule } from '../auth/auth.module.js';
import { AppConfig } from '../config/index.js';
import { LicensingModule } from '../licensing/licensing.module.js';
import { RateLimitModule } from '../rate-limit/rate-limit.module.js';
import { SERVER_VERSION } from '../version.js';

/**
 * What a module with a Socket.IO gateway (a DomainGateway) imports: the runtime the gateways share (handshake: token,
 * licence, seat, address limit; the registry of live connections; the runtime options).
 *
 * Nest builds a gateway's interceptors and exception filter (DomainGateway's RateLimitInterceptor, AckInterceptor,
 * GatewayExceptionFilter) in the gateway's own module, from what that module sees: the modules they inject from
 * (rate limits, metrics) are re-exported here so that importing this one is enough.
 */
@Module({
  imports: [ObservabilityModule, AuthModule, LicensingModule, RateLimitModule],
  providers: [
    {
      provide: GATEWAY_RUNTIME_OPTIONS,
      useFactory: (config: AppConfig): GatewayRuntimeOptions => ({
        nodeId: config.nodeId,
        serverVersion: SERVER_VERSION,
        maxFrameBytes: config.maxFrameBytes,
        tokenExpiryWarningMs: config.tokenExpiryWarningMs,
        slowClients: { ...DEFAULT_SLOW_CLIENT_POLICY, graceMs: config.slowClientGraceMs },
        maxSubscriptionsPerUser: config.rateLimits.maxSubscriptionsPerUser,
      }),
      inject: [AppConfig],
    },
    ConnectionRegistry,
    GatewayRuntime,
  ],
  exports: [GATEWAY_RUNTIME_OPTIONS, ConnectionRegistry, GatewayRuntime, ObservabilityModule, RateLimitModule],
})
export class GatewayRuntimeModule {}
