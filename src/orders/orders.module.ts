import { Module } from '@nestjs/common';
import { OrdersController } from './orders.controller.js';
import { OrdersGateway } from './orders.gateway.js';
import { OrdersService } from './orders.service.js';

@Module({
  controllers: [OrdersController],
  providers: [OrdersGateway, OrdersService],
  exports: [OrdersService],
})
export class OrdersModule {}
