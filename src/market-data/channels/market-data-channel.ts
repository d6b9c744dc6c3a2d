import type { Licence, MdSubscribeChannel, MdSubscribed } from '#libs/contracts';
import type { EntitlementRefusal } from '#libs/licensing';
import type { GatewaySocket } from '#libs/realtime';

/**
 * How MarketDataService treats a channel's subscriptions. The data channels are exchange data: licensed per channel,
 * counted against the licence's `maxSubscriptions` and the per-user cap, metered for exchange fees, served delayed to
 * a delayed licence and throttled as asked. A channel computed by the gateway (feed status) may be none of these.
 */
export interface MarketDataChannelPolicy {
  /** Counts against the licence's `maxSubscriptions` per connection and `RATE_LIMIT_MAX_SUBSCRIPTIONS` per user. */
  readonly countsAgainstLimits: boolean;
  /** Counted by the usage meter (subscriptions by exchange and channel, for exchange fee reporting). */
  readonly metered: boolean;
  /** Served `MD_DELAY_MS` late, from the delay line, when the licence has the exchange as `delayed`. */
  readonly delayable: boolean;
  /** Takes the request's `throttleMs` (else every update goes out at once, and the answer says `throttleMs: 0`). */
  readonly throttled: boolean;
}

/** The data channels' policy (quote, trade, book). */
export const EXCHANGE_DATA_POLICY: MarketDataChannelPolicy = { countsAgainstLimits: true, metered: true, delayable: true, throttled: true };

/**
 * One market-data channel (quote, trade, book, status, …): the state of its streams, their snapshots and what it
 * publishes to the shared fan-out (MarketDataFanout), and the policy and entitlement rule MarketDataService applies to
 * its subscriptions. The service decides who may have what and asks the channel for the rest; the fan-out asks it
 * (through MarketDataChannels) for a fresh snapshot when a client fell too far behind.
 *
 * A channel is usually fed by its own engine subject (its registry entry routes the events to `onEngineEvent`), but it
 * need not be: a derived channel (feed health per instrument) is fed by a tracker observing other kinds' events
 * (EngineEventTaps) and a timer, and names in `engineSubject` what it needs this replica to receive.
 */
export interface MarketDataChannel {
  readonly name: MdSubscribeChannel;
  readonly policy: MarketDataChannelPolicy;
  /**
   * Why the licence does not allow this channel of the exchange (the compliance screen is checked by the service for
   * every channel alike); null when it does.
   */
  entitlement(licence: Licence, exchange: string): EntitlementRefusal | null;
  /**
   * The throttle the fan-out applies to one subscription (a channel that merges updates itself, as books do in their
   * groups, asks for 0). How the slot merges and overflows is the registry entry's `fanout` (MarketDataChannels).
   */
  slotThrottle(throttleMs: number, delayed: boolean): number;
  /**
   * Queues the current state of a realtime fan-out key for one socket (subscribe, resync, a slow client's resync) and
   * returns its seq, 0 while the stream has none yet. A derived channel answers its current state here.
   */
  sendSnapshot(socket: GatewaySocket, key: string): number;
  /**
   * The engine subject this replica must receive while an instrument's stream has local subscribers; undefined: none.
   * Several channels may name the same subject (status needs the quotes): the service counts subscribers per subject.
   */
  engineSubject(instrument: string): string | undefined;
  /** This replica no longer receives the stream's engine events: its state is no longer current, so it is forgotten. */
  forget(stream: string): void;
  /** The stream has its first local subscriber (a derived channel starts computing it). */
  watched?(stream: string): void;
  /** The stream's last local subscriber left. */
  unwatched?(stream: string): void;
  /** What the `subscribe` answer says of the stream besides its seq (status: the feed's current status). */
  subscribedDetails?(stream: string): Partial<Pick<MdSubscribed, 'status'>>;
}
