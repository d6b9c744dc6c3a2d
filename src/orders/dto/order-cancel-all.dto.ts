import { IsIn, IsOptional, IsString, Matches } from 'class-validator';
import { INSTRUMENT_PATTERN, ORDER_ID_PATTERN, ORDER_SIDES, type OrderSide } from '#libs/contracts';
import { ACCOUNT_PATTERN } from './order-fields.js';

export class OrderCancelAllDto {
  @IsString()
  @Matches(ORDER_ID_PATTERN, { message: 'requestId must be 1-64 letters, digits, ".", "_", ":" or "-"' })
  requestId!: string;

  @IsString()
  @Matches(ACCOUNT_PATTERN, { message: 'account must be 1-64 letters, digits, "_" or "-"' })
  account!: string;

  @IsOptional()
  @IsString()
  @Matches(INSTRUMENT_PATTERN, { message: 'instrument must look like EXCHANGE:SYMBOL' })
  instrument?: string;

  @IsOptional()
  @IsIn(ORDER_SIDES)
  side?: OrderSide;
}
