/**
 * The wire's leaf types, which the request/answer shapes (wire.ts), licences and order commands all build on. Kept apart
 * so that those modules import them from here and never each other in a circle (lint: import-x/no-cycle).
 */

export const MD_CHANNELS = ['quote', 'trade', 'book'] as const;
export type MdChannel = (typeof MD_CHANNELS)[number];

/** A decimal number as a string: prices and sizes never travel as floats. */
export type Decimal = string;

export type OrderSide = 'buy' | 'sell';
export type OrderType = 'market' | 'limit' | 'stop' | 'stop_limit';
export type OrderStatus =
  | 'pending_new'
  | 'new'
  | 'partially_filled'
  | 'filled'
  | 'pending_cancel'
  | 'canceled'
  | 'rejected'
  | 'expired';
