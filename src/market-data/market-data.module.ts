import { Module } from '@nestjs/common';
import { QuoteChannel } from './channels/quote.channel.js';
import { DelayedMarketData } from './delayed-market-data.js';
import { ExchangeSessions } from './exchange-sessions.js';
import { MarketDataChannels, MARKET_DATA_KINDS } from './market-data-channels.js';
import { MarketDataFanout } from './market-data.fanout.js';
import { MarketDataGateway } from './market-data.gateway.js';
import { MarketDataService } from './market-data.service.js';

/**
 * `/market-data`: the gateway, the service (subscriptions, entitlements), the shared fan-out, delayed data, exchange
 * sessions, and one provider per channel of the registry of stream kinds (./channels: quote, trade, book, …).
 */
@Module({
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
