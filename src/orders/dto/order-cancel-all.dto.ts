import { IsIn, IsOptional } from 'class-validator';
import { ORDER_SIDES, type OrderSide } from '#libs/contracts';
import { IsAccountField, IsInstrumentField, IsOrderIdField } from './order-fields.js';

export class OrderCancelAllDto {
  @IsOrderIdField('requestId')
  requestId!: string;

  @IsAccountField()
  account!: string;

  @IsOptional()
  @IsInstrumentField()
  instrument?: string;

  @IsOptional()
  @IsIn(ORDER_SIDES)
  side?: OrderSide;
}
