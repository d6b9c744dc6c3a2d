import type { SystemPayload } from '#libs/contracts';
import { describe, expect, it } from 'vitest';
import { benchNoticeMessage, NoticeMatcher, SYSTEM_EVENT_PREFIX } from './system-notice.js';

/** The packet the lean client reads: a socket.io v5 event on /market-data, as the gateway's emit encodes it. */
function packet(payload: SystemPayload): { text: string; from: number } {
  const text = `42/market-data,${JSON.stringify(['system', payload])}`;
  const at = text.indexOf(SYSTEM_EVENT_PREFIX);
  return { text, from: at + SYSTEM_EVENT_PREFIX.length };
}

describe('bench notice matcher', () => {
  const message = 'bench notice mabc-12345678';
  const matcher = new NoticeMatcher(message);

  it('recognises the operator notice it was given, in the packet the gateway sends', () => {
    const { text, from } = packet({ type: 'notice', id: '5f0c1b9e-8d1e-4a55-9a43-2a4b3f0c6a10', message, severity: 'info' });
    expect(text.startsWith(SYSTEM_EVENT_PREFIX, from - SYSTEM_EVENT_PREFIX.length)).toBe(true);
    expect(matcher.matchesText(text, from)).toBe(true);
    const [, decoded] = JSON.parse(text.slice(text.indexOf('['))) as [string, SystemPayload];
    expect(matcher.matches(decoded)).toBe(true);
  });

  it('does not depend on the order of the payload keys', () => {
    const text = `42/market-data,["system",{"severity":"warning","message":${JSON.stringify(message)},"id":"x","type":"notice"}]`;
    expect(matcher.matchesText(text, text.indexOf('{'))).toBe(true);
  });

  it('ignores other notices, other system events and a message that only starts like it', () => {
    const others: SystemPayload[] = [
      { type: 'notice', id: 'a', message: 'LSE feed degraded', severity: 'warning' },
      { type: 'notice', id: 'b', message: `${message} (again)`, severity: 'info' },
      { type: 'disconnect', id: 'c', message },
      { type: 'shutdown', message: 'gateway gw-2 is restarting', reconnectInMs: 2000 },
      // Another notice that quotes ours in its text: the quotes inside are escaped.
      { type: 'notice', id: 'd', message: `"message":"${message}" was sent`, severity: 'info' },
    ];
    for (const payload of others) {
      const { text, from } = packet(payload);
      expect(matcher.matchesText(text, from), JSON.stringify(payload)).toBe(false);
      expect(matcher.matches(payload)).toBe(false);
    }
  });

  it('makes a different message every time, which JSON writes as it is', () => {
    const first = benchNoticeMessage();
    expect(first).not.toBe(benchNoticeMessage());
    expect(JSON.stringify(first)).toBe(`"${first}"`);
  });
});
