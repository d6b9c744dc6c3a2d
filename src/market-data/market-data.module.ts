import { Module } from '@nestjs/common';
import { BookChannel } from './channels/book.channel.js';
import { QuoteChannel } from './channels/quote.channel.js';
import { TradeChannel } from './channels/trade.channel.js';
import { ExchangeSessionEvents } from './exchange-session.events.js';
import { MarketDataGateway } from './market-data.gateway.js';
import { MarketDataService } from './market-data.service.js';

/** `/market-data`: the gateway, subscriptions and entitlements, and one provider per channel (./channels). */
@Module({
  providers: [MarketDataGateway, MarketDataService, QuoteChannel, TradeChannel, BookChannel, ExchangeSessionEvents],
  exports: [MarketDataService],
})
export class MarketDataModule {}
