/** Commands from the orchestrator to an SDK worker (bench/loadgen/sdk.worker.ts) and their results, over Node IPC. */

export interface SdkClientSpec {
  sub: string;
  instruments: string[];
}

export type SdkWorkerCommand =
  | {
      id: number;
      cmd: 'open';
      url: string;
      jwtSecret: string;
      clients: SdkClientSpec[];
      channels: ('quote' | 'book')[];
      depth: number;
      /** Clients opened per second. */
      ratePerSecond: number;
      /** `sdk`: @tradewire/client; `bare`: socket.io-client alone, receiving and decoding the same frames. */
      kind: 'sdk' | 'bare';
    }
  | { id: number; cmd: 'arm' }
  | { id: number; cmd: 'recovery' }
  | { id: number; cmd: 'counts' }
  | { id: number; cmd: 'close' };

export interface OpenResult {
  opened: number;
  /** Clients that received market data within the open timeout. */
  withData: number;
  elapsedMs: number;
}

/**
 * Per client, since `arm`: when it left `connected` (epoch ms) and when its first market data after being connected
 * again arrived; NaN where that did not happen.
 */
export interface RecoveryResult {
  downAt: number[];
  /** When it was `connected` again. */
  backAt: number[];
  /** When the SDK had its subscriptions back (`subscribed` with `restored: true`). */
  restoredAt: number[];
  dataAt: number[];
  states: Record<string, number>;
}

/**
 * Since `open`: market-data items received. `bookMessages` is every book message the client took in (the SDK: the
 * books' seqs, each message applied moving its book's seq by one; bare: messages decoded). The SDK emits `book` once
 * per book per frame, so `bookUpdates` (events) can be fewer; `booksVerified` of them matched the checksum.
 */
export interface CountsResult {
  quotes: number;
  bookMessages: number;
  bookUpdates: number;
  booksVerified: number;
  booksUnverified: number;
  resyncs: number;
  errors: number;
}

export type SdkWorkerReply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };
