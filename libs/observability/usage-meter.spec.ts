import { describe, expect, it } from 'vitest';
import { UsageMeter } from './usage-meter.js';

describe('UsageMeter', () => {
  it('hands the fan-out one stable counters object per user and namespace, counted per tenant and user', () => {
    const meter = new UsageMeter();
    meter.connectionOpened('acme', 'alice');
    const counters = meter.countersFor('acme', 'alice');
    expect(meter.countersFor('acme', 'alice')).toBe(counters);
    expect(meter.countersFor('acme', 'alice', '/orders')).not.toBe(counters);
    counters.messages += 3;
    counters.bytes += 300;
    meter.countersFor('acme', 'alice', '/orders').messages += 1;
    meter.countersFor('nile', 'bob').messages += 5;
    const report = meter.report();
    const acme = report.tenants.find((t) => t.tenant === 'acme');
    expect(acme?.users[0]).toMatchObject({ userId: 'alice', connections: 1, delivered: { '/market-data': { messages: 3, bytes: 300 }, '/orders': { messages: 1, bytes: 0 } } });
    expect(report.tenants.map((t) => t.tenant)).toEqual(['acme', 'nile']);
    expect(meter.deliveredByTenant()).toEqual(
      expect.arrayContaining([
        { tenant: 'acme', namespace: '/market-data', messages: 3, bytes: 300 },
        { tenant: 'nile', namespace: '/market-data', messages: 5, bytes: 0 },
      ]),
    );
  });

  it('keeps current subscriptions by exchange and channel, and those opened in the period', () => {
    const meter = new UsageMeter();
    meter.connectionOpened('acme', 'alice');
    meter.subscriptionAdded('acme', 'alice', 'NASDAQ', 'quote');
    meter.subscriptionAdded('acme', 'alice', 'NASDAQ', 'quote');
    meter.subscriptionAdded('acme', 'alice', 'LSE', 'book');
    meter.subscriptionRemoved('acme', 'alice', 'NASDAQ', 'quote');
    meter.accountWatched('acme', 'alice', '/orders');
    const user = meter.report().tenants[0]?.users[0];
    expect(user).toMatchObject({ subscriptions: { NASDAQ: { quote: 1 }, LSE: { book: 1 } }, subscriptionsOpened: { NASDAQ: { quote: 2 }, LSE: { book: 1 } }, accounts: { '/orders': 1 } });
    expect(meter.subscriptionsByTenant()).toEqual(
      expect.arrayContaining([
        { tenant: 'acme', exchange: 'NASDAQ', channel: 'quote', count: 1 },
        { tenant: 'acme', exchange: 'LSE', channel: 'book', count: 1 },
      ]),
    );
  });

  it('starts a new period on reset without touching the counters the fan-out holds', () => {
    let now = 1_000;
    const meter = new UsageMeter({ now: () => now });
    meter.connectionOpened('acme', 'alice');
    const counters = meter.countersFor('acme', 'alice');
    counters.messages += 10;
    meter.subscriptionAdded('acme', 'alice', 'NYSE', 'trade');
    now = 2_000;
    const closing = meter.report({ reset: true });
    expect(closing).toMatchObject({ periodStart: 1_000, reset: true });
    expect(closing.tenants[0]?.users[0]?.delivered['/market-data']?.messages).toBe(10);
    counters.messages += 2;
    const next = meter.report();
    expect(next.periodStart).toBe(2_000);
    expect(next.tenants[0]?.users[0]).toMatchObject({ delivered: { '/market-data': { messages: 2 } }, subscriptionsOpened: {}, subscriptions: { NYSE: { trade: 1 } } });
    // Prometheus counters stay monotonic across periods.
    expect(meter.deliveredByTenant()[0]?.messages).toBe(12);
  });

  it('bounds the users it remembers after they leave, folding the longest gone into their tenant without losing totals', () => {
    const meter = new UsageMeter({ maxDepartedUsers: 2 });
    for (const userId of ['u1', 'u2', 'u3', 'u4']) {
      meter.connectionOpened('acme', userId);
      meter.countersFor('acme', userId).messages += 1;
      meter.subscriptionAdded('acme', userId, 'NASDAQ', 'quote');
      meter.subscriptionRemoved('acme', userId, 'NASDAQ', 'quote');
      meter.connectionClosed('acme', userId);
    }
    meter.connectionOpened('acme', 'online');
    const tenant = meter.report().tenants[0];
    expect(tenant?.users.map((u) => u.userId)).toEqual(['online', 'u3', 'u4']);
    expect(tenant?.otherUsers).toMatchObject({ users: 2, delivered: { '/market-data': { messages: 2 } }, subscriptionsOpened: { NASDAQ: { quote: 2 } } });
    expect(tenant?.totals.delivered['/market-data']?.messages).toBe(4);
    expect(meter.deliveredByTenant()[0]?.messages).toBe(4);
  });

  it('never folds away a user that is connected', () => {
    const meter = new UsageMeter({ maxDepartedUsers: 1 });
    meter.connectionOpened('acme', 'stays');
    const counters = meter.countersFor('acme', 'stays');
    for (const userId of ['a', 'b', 'c']) {
      meter.connectionOpened('acme', userId);
      meter.connectionClosed('acme', userId);
    }
    counters.messages += 7;
    expect(meter.countersFor('acme', 'stays')).toBe(counters);
    expect(meter.report().tenants[0]?.users.find((u) => u.userId === 'stays')?.delivered['/market-data']?.messages).toBe(7);
  });
});
