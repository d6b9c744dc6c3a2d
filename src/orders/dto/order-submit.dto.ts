import { IsIn, IsOptional, IsString, Matches, ValidateIf } from 'class-validator';
import { ORDER_SIDES, ORDER_TYPES, PRICED_ORDER_TYPES, type OrderSide, type OrderType } from '#libs/contracts';
import { DECIMAL_PATTERN, IsAccountField, IsDecimalField, IsInstrumentField, IsOrderIdField } from './order-fields.js';

export class OrderSubmitDto {
  @IsOrderIdField('clientOrderId')
  clientOrderId!: string;

  @IsAccountField()
  account!: string;

  @IsInstrumentField()
  instrument!: string;

  @IsIn(ORDER_SIDES)
  side!: OrderSide;

  @IsIn(ORDER_TYPES)
  type!: OrderType;

  @IsDecimalField('quantity', '"100" or "0.015"')
  quantity!: string;

  // Required for the priced types; a market order may leave it out.
  @ValidateIf((order: OrderSubmitDto) => PRICED_ORDER_TYPES.includes(order.type) || order.price !== undefined)
  @IsString({ message: 'price is required for limit, stop and stop_limit orders, as a decimal string' })
  @Matches(DECIMAL_PATTERN, { message: 'price must be a decimal string, e.g. "189.40"' })
  price?: string;

  @IsOptional()
  @IsString()
  @Matches(/^[A-Za-z_]{1,16}$/, { message: 'timeInForce must be 1-16 letters or "_", e.g. day, gtc, ioc, fok' })
  timeInForce?: string;
}
