import { IsIn, IsOptional, IsString, Matches, ValidateIf } from 'class-validator';
import { INSTRUMENT_PATTERN, ORDER_ID_PATTERN, ORDER_SIDES, ORDER_TYPES, PRICED_ORDER_TYPES, type OrderSide, type OrderType } from '#libs/contracts';
import { ACCOUNT_PATTERN, DECIMAL_PATTERN } from './order-fields.js';

export class OrderSubmitDto {
  @IsString()
  @Matches(ORDER_ID_PATTERN, { message: 'clientOrderId must be 1-64 letters, digits, ".", "_", ":" or "-"' })
  clientOrderId!: string;

  @IsString()
  @Matches(ACCOUNT_PATTERN, { message: 'account must be 1-64 letters, digits, "_" or "-"' })
  account!: string;

  @IsString()
  @Matches(INSTRUMENT_PATTERN, { message: 'instrument must look like EXCHANGE:SYMBOL' })
  instrument!: string;

  @IsIn(ORDER_SIDES)
  side!: OrderSide;

  @IsIn(ORDER_TYPES)
  type!: OrderType;

  @IsString()
  @Matches(DECIMAL_PATTERN, { message: 'quantity must be a decimal string, e.g. "100" or "0.015"' })
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
