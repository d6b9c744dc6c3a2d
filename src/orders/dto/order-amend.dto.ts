import { IsOptional, IsString, Matches } from 'class-validator';
import { ORDER_ID_PATTERN } from '#libs/contracts';
import { ACCOUNT_PATTERN, DECIMAL_PATTERN } from './order-fields.js';

/** One of `orderId` / `origClientOrderId`, and one of `quantity` / `price`, are required: checked by the service. */
export class OrderAmendDto {
  @IsString()
  @Matches(ORDER_ID_PATTERN, { message: 'clientOrderId must be 1-64 letters, digits, ".", "_", ":" or "-"' })
  clientOrderId!: string;

  @IsString()
  @Matches(ACCOUNT_PATTERN, { message: 'account must be 1-64 letters, digits, "_" or "-"' })
  account!: string;

  @IsOptional()
  @IsString()
  @Matches(ORDER_ID_PATTERN, { message: 'orderId must be 1-64 letters, digits, ".", "_", ":" or "-"' })
  orderId?: string;

  @IsOptional()
  @IsString()
  @Matches(ORDER_ID_PATTERN, { message: 'origClientOrderId must be 1-64 letters, digits, ".", "_", ":" or "-"' })
  origClientOrderId?: string;

  @IsOptional()
  @IsString()
  @Matches(DECIMAL_PATTERN, { message: 'quantity must be a decimal string, e.g. "100" or "0.015"' })
  quantity?: string;

  @IsOptional()
  @IsString()
  @Matches(DECIMAL_PATTERN, { message: 'price must be a decimal string, e.g. "189.40"' })
  price?: string;
}
