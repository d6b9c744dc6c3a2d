import { Module } from '@nestjs/common';
import { MarketDataController } from './market-data.controller.js';
import { MarketDataGateway } from './market-data.gateway.js';
import { MarketDataService } from './market-data.service.js';
import { StatusChannel } from './channels/status.channel.js';

@Module({
  controllers: [MarketDataController],
  providers: [MarketDataGateway, MarketDataService, StatusChannel],
  exports: [MarketDataService],
})
export class MarketDataModule {}
