/**
 * Reads an `md` payload — a JSON array of `{ stream, type, seq, prevSeq?, ts, data }` as the gateway and every baseline
 * serialize it — without building objects: the load generator only needs each message's type and `ts`. At trading-floor
 * sizes one load core receives ~100 MB/s of market data, and JSON.parse of all of it would make the load generator, not
 * the server, the bottleneck. Message data never carries `type` or `ts` keys of its own (PROTOCOL.md), so the first
 * `"type":"` and the `"ts":` after it belong to the message. `verifyMdScan` checks this against JSON.parse on a sample
 * of frames, so a change of shape fails the run instead of skewing it.
 */
export interface MdScanVisitor {
  update(ts: number): void;
  snapshot(): void;
}

const TYPE_KEY = '"type":"';
const TS_KEY = '"ts":';

/** Visits every message of the payload starting at `from`; returns how many it found. */
export function scanMdPayload(text: string, from: number, visitor: MdScanVisitor): number {
  let count = 0;
  let at = text.indexOf(TYPE_KEY, from);
  while (at !== -1) {
    const typeStart = at + TYPE_KEY.length;
    const isUpdate = text.startsWith('update"', typeStart);
    let i = text.indexOf(TS_KEY, typeStart) + TS_KEY.length;
    let ts = 0;
    for (let c = text.charCodeAt(i); c >= 48 && c <= 57; c = text.charCodeAt(++i)) ts = ts * 10 + (c - 48);
    if (isUpdate) visitor.update(ts);
    else visitor.snapshot();
    count++;
    at = text.indexOf(TYPE_KEY, i);
  }
  return count;
}

/** Throws when the scan and JSON.parse disagree on a payload (the array of messages at `from`). */
export function verifyMdScan(text: string, from: number, end = text.length): void {
  const messages = JSON.parse(text.slice(from, end)) as { type: string; ts: number }[];
  const scanned: { type: string; ts: number }[] = [];
  scanMdPayload(text.slice(from, end), 0, { update: (ts) => scanned.push({ type: 'update', ts }), snapshot: () => scanned.push({ type: 'snapshot', ts: Number.NaN }) });
  const parsed = messages.map((m) => ({ type: m.type === 'update' ? 'update' : 'snapshot', ts: m.type === 'update' ? m.ts : Number.NaN }));
  if (JSON.stringify(parsed) !== JSON.stringify(scanned)) {
    throw new Error(`md frame scan disagrees with JSON.parse: ${JSON.stringify(parsed).slice(0, 200)} vs ${JSON.stringify(scanned).slice(0, 200)}`);
  }
}
