import { describe, expect, it } from 'vitest';
import type { UsageReport } from '#libs/observability';
import { mergeUsageReports } from './fleet-usage.js';

const report = (periodStart: number, generatedAt: number, tenants: UsageReport['tenants']): UsageReport => ({ periodStart, generatedAt, reset: false, maxDepartedUsers: 10_000, tenants });

describe('mergeUsageReports: usage across replicas', () => {
  it('sums a user seen on two replicas into one row, and tenants by id', () => {
    const onA = report(1_000, 5_000, [
      {
        tenant: 'acme',
        users: [{ userId: 'alice', connections: 1, firstSeen: 1_100, lastSeen: 4_000, subscriptions: { NASDAQ: { quote: 1 } }, accounts: { '/orders': 1 }, subscriptionsOpened: { NASDAQ: { quote: 2 } }, delivered: { '/market-data': { messages: 10, bytes: 1_000 } } }],
        otherUsers: { users: 3, subscriptionsOpened: { LSE: { trade: 1 } }, delivered: {} },
        totals: { subscriptions: { NASDAQ: { quote: 1 } }, subscriptionsOpened: { NASDAQ: { quote: 2 }, LSE: { trade: 1 } }, delivered: { '/market-data': { messages: 10, bytes: 1_000 } } },
      },
    ]);
    const onB = report(2_000, 6_000, [
      {
        tenant: 'acme',
        users: [{ userId: 'alice', connections: 2, firstSeen: 900, lastSeen: 5_500, subscriptions: { NASDAQ: { quote: 1, trade: 1 } }, accounts: {}, subscriptionsOpened: { NASDAQ: { trade: 1 } }, delivered: { '/market-data': { messages: 5, bytes: 400 }, '/orders': { messages: 1, bytes: 90 } } }],
        otherUsers: { users: 0, subscriptionsOpened: {}, delivered: {} },
        totals: { subscriptions: { NASDAQ: { quote: 1, trade: 1 } }, subscriptionsOpened: { NASDAQ: { trade: 1 } }, delivered: { '/market-data': { messages: 5, bytes: 400 }, '/orders': { messages: 1, bytes: 90 } } },
      },
      { tenant: 'globex', users: [], otherUsers: { users: 0, subscriptionsOpened: {}, delivered: {} }, totals: { subscriptions: {}, subscriptionsOpened: {}, delivered: {} } },
    ]);
    const merged = mergeUsageReports({ 'gw-a': onA, 'gw-b': onB }, false);
    expect(merged.periodStart).toBe(1_000);
    expect(merged.generatedAt).toBe(6_000);
    expect(merged.periods).toEqual({ 'gw-a': { periodStart: 1_000, generatedAt: 5_000 }, 'gw-b': { periodStart: 2_000, generatedAt: 6_000 } });
    expect(merged.tenants.map((t) => t.tenant)).toEqual(['acme', 'globex']);
    const acme = merged.tenants[0];
    expect(acme?.users).toEqual([
      {
        userId: 'alice',
        connections: 3,
        firstSeen: 900,
        lastSeen: 5_500,
        subscriptions: { NASDAQ: { quote: 2, trade: 1 } },
        accounts: { '/orders': 1 },
        subscriptionsOpened: { NASDAQ: { quote: 2, trade: 1 } },
        delivered: { '/market-data': { messages: 15, bytes: 1_400 }, '/orders': { messages: 1, bytes: 90 } },
      },
    ]);
    expect(acme?.otherUsers).toEqual({ users: 3, subscriptionsOpened: { LSE: { trade: 1 } }, delivered: {} });
    expect(acme?.totals.delivered).toEqual({ '/market-data': { messages: 15, bytes: 1_400 }, '/orders': { messages: 1, bytes: 90 } });
  });

  it('leaves the replicas it merged untouched', () => {
    const alone = report(1, 2, [
      { tenant: 't', users: [], otherUsers: { users: 0, subscriptionsOpened: {}, delivered: {} }, totals: { subscriptions: { X: { quote: 1 } }, subscriptionsOpened: {}, delivered: {} } },
    ]);
    const copy = structuredClone(alone);
    mergeUsageReports({ a: alone, b: structuredClone(alone) }, true);
    expect(alone).toEqual(copy);
  });
});
