import type { MdMessage, MdSubscribeChannel, QuoteData, TradeData } from '#libs/contracts';

/**
 * The JSON of `md` messages as the fan-out sends them. Every function returns exactly `JSON.stringify` of an
 * `MdMessage` (same fields, same order), so a client parses one shape whichever path produced it.
 */

/** `{"stream":"quote:NASDAQ:AAPL","type":"update","seq":` — a value stream's updates are serialized around it. */
export function valueUpdatePrefix(stream: string): string {
  return `{"stream":${JSON.stringify(stream)},"type":"update","seq":`;
}

/** An update of a quote or trade stream, built around its stream's cached prefix (`valueUpdatePrefix`). */
export function valueUpdateJson(prefix: string, seq: number, ts: number, data: QuoteData | TradeData): string {
  return `${prefix}${seq},"ts":${ts},"data":${JSON.stringify(data)}}`;
}

/** Any `md` message (snapshots, book updates, delayed data). */
export function mdMessageJson(message: MdMessage<MdSubscribeChannel>): string {
  return JSON.stringify(message);
}

/**
 * A stream's snapshot JSON, kept for as long as the stream's `seq` stays the same: every client that subscribes or
 * resyncs in between gets the same string, serialized once. A subscribe storm (a thousand dashboards resubscribing
 * after a failover) then costs one serialization per stream, not one per client.
 */
export class SnapshotJsonCache {
  private seq = -1;
  private json = '';

  /** The snapshot of `seq`: built with `build` only when the cached one is of another seq. */
  get(seq: number, build: () => MdMessage<MdSubscribeChannel>): string {
    if (seq !== this.seq) {
      this.json = mdMessageJson(build());
      this.seq = seq;
    }
    return this.json;
  }
}
