import { Module } from '@nestjs/common';
import { ObservabilityModule } from '#libs/observability';
import { EngineModule } from '../engine/engine.module.js';
import { LicensingModule } from '../licensing/licensing.module.js';
import { GatewayRuntimeModule } from '../realtime/gateway-runtime.module.js';
import { QuoteChannel } from './channels/quote.channel.js';
import { DelayedMarketData } from './delayed-market-data.js';
import { ExchangeSessions } from './exchange-sessions.js';
import { MarketDataChannels, MARKET_DATA_KINDS } from './market-data-channels.js';
import { MarketDataFanout } from './market-data.fanout.js';
import { MarketDataGateway } from './market-data.gateway.js';
import { MarketDataService } from './market-data.service.js';
import { ReferenceDataModule } from './reference-data.module.js';

/**
 * `/market-data`: the gateway, the service (subscriptions, entitlements), the shared fan-out, delayed data, exchange
 * sessions, and one provider per channel of the registry of stream kinds (./channels: quote, trade, book, …).
 * Imports: the gateway runtime (with rate limits: the per-user stream cap), the engine (interest in instruments),
 * licensing (the compliance screen), reference data (instruments, calendars) and metrics.
 */
@Module({
  imports: [GatewayRuntimeModule, EngineModule, LicensingModule, ReferenceDataModule, ObservabilityModule],
  providers: [
    MarketDataGateway,
    MarketDataService,
    MarketDataFanout,
    MarketDataChannels,
    DelayedMarketData,
    ExchangeSessions,
    ...MARKET_DATA_KINDS.map((descriptor) => descriptor.handler as new (...dependencies: never[]) => unknown),
  ],
  exports: [MarketDataService, QuoteChannel],
})
export class MarketDataModule {}
