import type { MdChannel } from '#libs/contracts';
import type { GatewaySocket } from '#libs/realtime';

/**
 * One market-data channel (quote, trade, book, …): the state of its streams, their snapshots and what it publishes
 * to the shared fan-out (MarketDataFanout). MarketDataService decides who may have what and asks the channel for the
 * rest; the fan-out asks it (through MarketDataChannels) for a fresh snapshot when a client fell too far behind.
 *
 * A channel is usually fed by its own engine subject (its registry entry routes the events to `onEngineEvent`), but it
 * need not be: a derived channel (feed health per instrument, say) can be fed by a tracker observing other kinds'
 * events and a timer, and answers `engineSubject` with undefined so that nothing is asked of the engine for it.
 */
export interface MarketDataChannel {
  readonly name: MdChannel;
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
  /** The engine subject this replica must receive while an instrument's stream has local subscribers; undefined: none. */
  engineSubject(instrument: string): string | undefined;
  /** This replica no longer receives the stream's engine events: its state is no longer current, so it is forgotten. */
  forget(stream: string): void;
}
