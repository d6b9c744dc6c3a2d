import { applyDecorators } from '@nestjs/common';
import { IsString, Matches } from 'class-validator';
import { INSTRUMENT_PATTERN, ORDER_ID_PATTERN } from '#libs/contracts';

/** An account id, as in the account streams' `subscribe`. */
export const ACCOUNT_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** A non-negative decimal string: up to 18 integer and 12 fractional digits, no sign, no exponent. */
export const DECIMAL_PATTERN = /^\d{1,18}(\.\d{1,12})?$/;

// The fields the order commands share, each with the one message the contract gives for it (docs/protocol.md §6.5).

/** `account`: an account id. */
export const IsAccountField = (): PropertyDecorator =>
  applyDecorators(IsString(), Matches(ACCOUNT_PATTERN, { message: 'account must be 1-64 letters, digits, "_" or "-"' }));

/** An order id of the engine's or the client's (`orderId`, `clientOrderId`, `origClientOrderId`, `requestId`). */
export const IsOrderIdField = (field: string): PropertyDecorator =>
  applyDecorators(IsString(), Matches(ORDER_ID_PATTERN, { message: `${field} must be 1-64 letters, digits, ".", "_", ":" or "-"` }));

/** `instrument`: EXCHANGE:SYMBOL. */
export const IsInstrumentField = (): PropertyDecorator =>
  applyDecorators(IsString(), Matches(INSTRUMENT_PATTERN, { message: 'instrument must look like EXCHANGE:SYMBOL' }));

/** A quantity or a price, as a decimal string; `example` is shown in the message. */
export const IsDecimalField = (field: string, example: string): PropertyDecorator =>
  applyDecorators(IsString(), Matches(DECIMAL_PATTERN, { message: `${field} must be a decimal string, e.g. ${example}` }));
