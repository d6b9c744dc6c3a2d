import { IsOptional } from 'class-validator';
import { IsAccountField, IsDecimalField, IsOrderIdField } from './order-fields.js';

/** One of `orderId` / `origClientOrderId`, and one of `quantity` / `price`, are required: checked by the service. */
export class OrderAmendDto {
  @IsOrderIdField('clientOrderId')
  clientOrderId!: string;

  @IsAccountField()
  account!: string;

  @IsOptional()
  @IsOrderIdField('orderId')
  orderId?: string;

  @IsOptional()
  @IsOrderIdField('origClientOrderId')
  origClientOrderId?: string;

  @IsOptional()
  @IsDecimalField('quantity', '"100" or "0.015"')
  quantity?: string;

  @IsOptional()
  @IsDecimalField('price', '"189.40"')
  price?: string;
}
