import { IsOptional, IsString, Matches } from 'class-validator';
import { ORDER_ID_PATTERN } from '#libs/contracts';
import { ACCOUNT_PATTERN } from './order-fields.js';

/** One of `orderId` / `clientOrderId` is required: checked by the service, which names the missing pair. */
export class OrderCancelDto {
  @IsString()
  @Matches(ACCOUNT_PATTERN, { message: 'account must be 1-64 letters, digits, "_" or "-"' })
  account!: string;

  @IsOptional()
  @IsString()
  @Matches(ORDER_ID_PATTERN, { message: 'orderId must be 1-64 letters, digits, ".", "_", ":" or "-"' })
  orderId?: string;

  @IsOptional()
  @IsString()
  @Matches(ORDER_ID_PATTERN, { message: 'clientOrderId must be 1-64 letters, digits, ".", "_", ":" or "-"' })
  clientOrderId?: string;
}
