import type { EngineQuote } from '#libs/contracts';

/**
 * A quote as the bench engines publish it: decimal strings around `price`, sizes varied by `n`. One maker for the
 * publisher-throughput and validator-cost benches, so both measure the same payloads.
 */
export function makeBenchQuote(n: number, price: number, ts = Date.now()): EngineQuote {
  return {
    bid: (price - 0.01).toFixed(2),
    ask: (price + 0.01).toFixed(2),
    bidSize: String(100 + (n % 900)),
    askSize: String(100 + ((n * 7) % 900)),
    last: price.toFixed(2),
    lastSize: String(1 + (n % 500)),
    volume: String(1_000_000 + n),
    ts,
  };
}
