import { describe, expect, it } from 'vitest';
import { scanMdPayload, verifyMdScan } from './md-frame-scan.js';

describe('md frame scan', () => {
  const messages = [
    { stream: 'quote:NASDAQ:AAPL', type: 'snapshot', seq: 7, ts: 1_790_000_000_001, data: { bid: '189.50', ask: '189.52', last: '189.51' } },
    { stream: 'trade:NASDAQ:AAPL', type: 'update', seq: 8, ts: 1_790_000_000_123, data: { price: '189.51', size: '10', side: 'buy', tradeId: 't-1' } },
    { stream: 'book:LSE:VOD', type: 'update', seq: 3, prevSeq: 2, ts: 1_790_000_000_456, data: { bids: [['72.1', '0']], asks: [], checksum: 12345 } },
  ];

  it('finds every message with its type and ts, as JSON.parse would', () => {
    const packet = `2/market-data,["md",${JSON.stringify(messages)}]`;
    const from = packet.indexOf('["md",') + 6;
    const seen: string[] = [];
    const count = scanMdPayload(packet, from, { update: (ts) => seen.push(`update@${ts}`), snapshot: () => seen.push('snapshot') });
    expect(count).toBe(3);
    expect(seen).toEqual(['snapshot', 'update@1790000000123', 'update@1790000000456']);
    expect(() => verifyMdScan(packet, from, packet.length - 1)).not.toThrow();
  });

  it('fails loudly when a payload does not have the shape it relies on', () => {
    const reordered = JSON.stringify([{ ts: 5, stream: 'quote:X:Y', seq: 1, data: {}, type: 'update' }, { stream: 'quote:X:Z', type: 'update', seq: 1, ts: 9, data: {} }]);
    expect(() => verifyMdScan(reordered, 0)).toThrow(/disagrees/);
  });
});
