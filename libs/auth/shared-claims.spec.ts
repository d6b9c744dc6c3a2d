import { describe, expect, it } from 'vitest';
import type { Licence } from '#libs/contracts';
import { SharedClaims } from './shared-claims.js';

const licence = (tier: string): Licence => ({ tier, exchanges: { NASDAQ: 'realtime' }, channels: ['quote'], maxSubscriptions: 50, maxConnections: 3, minThrottleMs: 0, features: ['trading'] });

describe('SharedClaims', () => {
  it('gives tokens with equal licences one frozen copy, and different licences their own', () => {
    const shared = new SharedClaims();
    const first = shared.licence(licence('pro'));
    expect(shared.licence(licence('pro'))).toBe(first);
    expect(shared.licence(licence('basic'))).not.toBe(first);
    expect(Object.isFrozen(first) && Object.isFrozen(first.exchanges) && Object.isFrozen(first.channels) && Object.isFrozen(first.features)).toBe(true);
    expect(() => first.channels.push('book')).toThrow(TypeError);
  });

  it('tells role lists apart whatever their names contain', () => {
    const shared = new SharedClaims();
    const two = shared.roles(['trader', 'admin']);
    expect(shared.roles(['trader', 'admin'])).toBe(two);
    expect(shared.roles(['trader\u0000admin'])).toEqual(['trader\u0000admin']);
    expect(shared.roles(['trader,admin'])).toEqual(['trader,admin']);
  });

  it('stops sharing new values past its bound, and still returns them', () => {
    const shared = new SharedClaims(2);
    shared.licence(licence('a'));
    shared.licence(licence('b'));
    const third = licence('c');
    expect(shared.licence(third)).toBe(third);
    expect(Object.isFrozen(third)).toBe(false);
  });
});
