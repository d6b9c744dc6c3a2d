import { Module } from '@nestjs/common';
import { PositionsController } from './positions.controller.js';
import { PositionsGateway } from './positions.gateway.js';
import { PositionsService } from './positions.service.js';

@Module({
  controllers: [PositionsController],
  providers: [PositionsGateway, PositionsService],
  exports: [PositionsService],
})
export class PositionsModule {}
