import { describe, expect, it } from 'vitest';
import { clientAddress, normalizeAddress, TrustedProxies, TrustedProxySyntaxError } from './client-address.js';

describe('client addresses', () => {
  it('normalizes IPv4-mapped IPv6, brackets, ports and case', () => {
    expect(normalizeAddress('::ffff:10.1.2.3')).toBe('10.1.2.3');
    expect(normalizeAddress('::FFFF:10.1.2.3')).toBe('10.1.2.3');
    expect(normalizeAddress('10.1.2.3:5555')).toBe('10.1.2.3');
    expect(normalizeAddress('[2001:DB8::1]:443')).toBe('2001:db8::1');
    expect(normalizeAddress(' 2001:db8::1 ')).toBe('2001:db8::1');
    expect(normalizeAddress('fe80::1%eth0')).toBe('fe80::1');
    expect(normalizeAddress('unknown')).toBeUndefined();
    expect(normalizeAddress('')).toBeUndefined();
  });

  it('matches trusted proxies by address and CIDR, IPv4 and IPv6, mapped IPv4 too', () => {
    const trusted = TrustedProxies.parse('10.0.0.0/8, 192.168.1.7, 2001:db8::/32, ::1');
    expect(trusted.has('10.200.3.4')).toBe(true);
    expect(trusted.has('::ffff:10.200.3.4')).toBe(true);
    expect(trusted.has('192.168.1.7')).toBe(true);
    expect(trusted.has('192.168.1.8')).toBe(false);
    expect(trusted.has('2001:db8:ffff::9')).toBe(true);
    expect(trusted.has('2001:db9::1')).toBe(false);
    expect(trusted.has('::1')).toBe(true);
    expect(trusted.has('11.0.0.1')).toBe(false);
    expect(TrustedProxies.parse('').has('10.0.0.1')).toBe(false);
    expect(TrustedProxies.parse('::ffff:172.16.0.1').has('172.16.0.1')).toBe(true);
    for (const bad of ['10.0.0.0/33', 'proxy.internal', '10.0.0.0/8/1', '2001:db8::/129', '10.0.0.0/x']) {
      expect(() => TrustedProxies.parse(bad), bad).toThrow(TrustedProxySyntaxError);
    }
  });

  it('uses the peer address unless the peer is a trusted proxy', () => {
    const none = TrustedProxies.parse('');
    expect(clientAddress('::ffff:203.0.113.9', '198.51.100.1', none)).toBe('203.0.113.9');
    const trusted = TrustedProxies.parse('10.0.0.0/8');
    // An untrusted peer's X-Forwarded-For is ignored: anyone can send one.
    expect(clientAddress('203.0.113.9', '198.51.100.1', trusted)).toBe('203.0.113.9');
    expect(clientAddress('10.0.0.5', '198.51.100.1', trusted)).toBe('198.51.100.1');
    expect(clientAddress('::ffff:10.0.0.5', '198.51.100.1', trusted)).toBe('198.51.100.1');
    expect(clientAddress('10.0.0.5', undefined, trusted)).toBe('10.0.0.5');
  });

  it('reads X-Forwarded-For from the right, past trusted proxies only', () => {
    const trusted = TrustedProxies.parse('10.0.0.0/8, 2001:db8::/32');
    // The client wrote the left-most entry itself; the trusted proxy appended what it saw: that is the client.
    expect(clientAddress('10.0.0.5', '1.2.3.4, 198.51.100.1', trusted)).toBe('198.51.100.1');
    // Two trusted proxies in a row.
    expect(clientAddress('10.0.0.5', '198.51.100.1, 10.0.0.9', trusted)).toBe('198.51.100.1');
    expect(clientAddress('10.0.0.5', ['198.51.100.1', '10.0.0.9'], trusted)).toBe('198.51.100.1');
    expect(clientAddress('2001:db8::5', '2001:db8::7, [2001:db9::1]:5000', trusted)).toBe('2001:db9::1');
    // Every hop trusted: the left-most of them.
    expect(clientAddress('10.0.0.5', '10.0.0.7, 10.0.0.9', trusted)).toBe('10.0.0.7');
    // A malformed hop ends the walk at the last good address.
    expect(clientAddress('10.0.0.5', '198.51.100.1, garbage, 10.0.0.9', trusted)).toBe('10.0.0.9');
    expect(clientAddress('10.0.0.5', 'garbage', trusted)).toBe('10.0.0.5');
  });
});
