/**
 * The wire's leaf types, which the request/answer shapes (wire.ts), licences and order commands all build on. Kept apart
 * so that those modules import them from here and never each other in a circle (lint: import-x/no-cycle).
 */

export const MD_CHANNELS = ['quote', 'trade', 'book'] as const;
export type MdChannel = (typeof MD_CHANNELS)[number];

/**
 * `status` is subscribed like a channel, but it carries no engine data: it is the gateway's view of the health of an
 * instrument's feed (docs/protocol.md §5.12). Its streams are `status:{instrument}` and arrive in `md` frames like the
 * others. Licences never name it: they name the data channels (MD_CHANNELS).
 */
export const STATUS_CHANNEL = 'status';
/** Every market-data channel, what `subscribe` / `unsubscribe` accept in `channels`: the three data channels and `status`. */
export const MD_SUBSCRIBE_CHANNELS = [...MD_CHANNELS, STATUS_CHANNEL] as const;
export type MdSubscribeChannel = (typeof MD_SUBSCRIBE_CHANNELS)[number];

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
