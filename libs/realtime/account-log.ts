import type { AccountKind } from '#libs/contracts';

/**
 * A durable log of the engine's account events (one subject per account and kind), read back to rebuild an account's
 * state on a replica that has none. `read` returns the retained events' decoded payloads, oldest first; it rejects
 * when the log cannot be read, and stops early (rejecting) when the signal aborts.
 */
export interface AccountLogReader {
  read(account: string, kind: AccountKind, signal: AbortSignal): Promise<unknown[]>;
}

/** What an account stream needs to hydrate from a log: the log, how long a hydration may take, and where to warn. */
export interface AccountLogAttachment {
  log: AccountLogReader;
  timeoutMs: number;
  warn: (details: Record<string, unknown>, message: string) => void;
}

/**
 * The live events a log read did not cover, given the fingerprints of the events it read (oldest first). With engine
 * seqs (`numbered`), all of them: sequencing drops whatever is not newer than the read. Without, the received events
 * and the read are two windows onto the same per-subject order: the read's last events, found at the end of a run in
 * the received list (as many of them as both hold), mark where the new ones begin; when they are not there, every
 * received event came after the read. Identical events (same `ts` and fields) are told apart only by position.
 */
export function liveEventsAfterRead<T extends { fingerprint: string }>(received: readonly T[], readFingerprints: readonly string[], numbered: boolean): T[] {
  if (numbered || readFingerprints.length === 0) return [...received];
  for (let index = received.length - 1; index >= 0; index--) {
    let matches = true;
    for (let back = 0; back <= index && back < readFingerprints.length; back++) {
      if (received[index - back]?.fingerprint !== readFingerprints[readFingerprints.length - 1 - back]) {
        matches = false;
        break;
      }
    }
    if (matches) return received.slice(index + 1);
  }
  return [...received];
}
