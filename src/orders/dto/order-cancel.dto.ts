import { IsOptional } from 'class-validator';
import { IsAccountField, IsOrderIdField } from './order-fields.js';

/** One of `orderId` / `clientOrderId` is required: checked by the service, which names the missing pair. */
export class OrderCancelDto {
  @IsAccountField()
  account!: string;

  @IsOptional()
  @IsOrderIdField('orderId')
  orderId?: string;

  @IsOptional()
  @IsOrderIdField('clientOrderId')
  clientOrderId?: string;
}
