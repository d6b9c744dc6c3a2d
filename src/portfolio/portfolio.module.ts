import { Module } from '@nestjs/common';
import { PortfolioController } from './portfolio.controller.js';
import { PortfolioGateway } from './portfolio.gateway.js';
import { PortfolioService } from './portfolio.service.js';

@Module({
  controllers: [PortfolioController],
  providers: [PortfolioGateway, PortfolioService],
  exports: [PortfolioService],
})
export class PortfolioModule {}
