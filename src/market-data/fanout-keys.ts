import type { MdSubscribeChannel } from '#libs/contracts';

export const DEFAULT_BOOK_DEPTH = 10;
const DELAYED = 'delayed';

/**
 * The fan-out key of a subscription. Realtime: the stream, and for a book its group, `book:LSE:VOD@10@100` (depth 10,
 * throttle 100 ms). Delayed: `quote:LSE:VOD@delayed`, `book:LSE:VOD@delayed@10`.
 */
export function fanoutKey(stream: string, channel: MdSubscribeChannel, depth: number, throttleMs: number, delayed: boolean): string {
  if (delayed) return channel === 'book' ? `${stream}@${DELAYED}@${depth}` : `${stream}@${DELAYED}`;
  return channel === 'book' ? `${stream}@${depth}@${throttleMs}` : stream;
}

export function isDelayedKey(key: string): boolean {
  return key.includes(`@${DELAYED}`);
}

/** The depth a book key names (the default for other keys). */
export function bookDepthOfKey(key: string): number {
  const parts = key.split('@');
  const depth = Number(isDelayedKey(key) ? parts[2] : parts[1]);
  return Number.isInteger(depth) && depth > 0 ? depth : DEFAULT_BOOK_DEPTH;
}

/** The stream a fan-out key belongs to (a book key also names its group). */
export function streamOfKey(key: string): string {
  const at = key.indexOf('@');
  return at < 0 ? key : key.slice(0, at);
}
