import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { Licence } from '#libs/contracts';
import { DEMO_LICENCE, NO_LICENCE, REVOKED_LICENCE } from './default-licences.js';
import { checkMarketDataEntitlement, licenceUnusable, requirementRefusal, sameLicence } from './entitlements.js';
import { FileLicenceRegistry } from './file-licence-registry.js';
import { validateLicenceChanged } from '#libs/contracts';
import { changedScopes, parseRegistryDocument, parseRegistryEntry, scopeOfRedisKey, type LicenceScope } from './licence-registry.js';
import { LicenceResolver } from './licence-resolver.js';
import { MemorySeatStore } from './memory-seat-store.js';
import { SeatLedger } from './seat-ledger.js';

const silent = pino({ level: 'silent' });

const PRO: Licence = {
  tier: 'pro',
  exchanges: { NASDAQ: 'realtime', LSE: 'delayed' },
  channels: ['quote', 'trade'],
  maxSubscriptions: 50,
  maxConnections: 3,
  minThrottleMs: 100,
  features: ['trading'],
};
const BASIC: Licence = { ...PRO, tier: 'basic', exchanges: { NASDAQ: 'realtime' }, channels: ['quote'], features: [] };

describe('registry documents', () => {
  it('reads tenant and user entries, with revocations as {"revoked":true} or null', () => {
    const entries = parseRegistryDocument(JSON.stringify({ $comment: 'ops', tenants: { acme: PRO, globex: { revoked: true } }, users: { 'u-1': BASIC, 'u-2': null } }));
    expect(entries.tenants.get('acme')).toMatchObject({ tier: 'pro', maxConnections: 3 });
    expect(entries.tenants.get('globex')).toBe(REVOKED_LICENCE);
    expect(entries.users.get('u-1')).toMatchObject({ tier: 'basic', channels: ['quote'] });
    expect(entries.users.get('u-2')).toBe(REVOKED_LICENCE);
  });

  it('defaults missing counts and lists, and reads maxTenantConnections', () => {
    const parsed = parseRegistryEntry({ tier: 'lite', maxTenantConnections: 10 });
    expect(parsed).toEqual({ ok: true, licence: { tier: 'lite', exchanges: {}, channels: [], maxSubscriptions: 0, maxConnections: 0, maxTenantConnections: 10, minThrottleMs: 0, features: [] } });
  });

  it('refuses a document with a bad entry as a whole, naming the entry', () => {
    expect(() => parseRegistryDocument('{ "users": { "u-1": { "tier": "x", "channels": ["ticks"] } } }')).toThrow(/users\.u-1: channels/);
    expect(() => parseRegistryDocument('{ "users": [] }')).toThrow(/"users" must be an object/);
    expect(() => parseRegistryDocument('{ "licences": {} }')).toThrow(/unknown top-level key/);
    expect(() => parseRegistryDocument('{ "users": ')).toThrow(/not valid JSON/);
    expect(parseRegistryEntry({ tier: 'x', maxConnections: -1 })).toEqual({ ok: false, reason: 'maxConnections must be a non-negative integer' });
    expect(parseRegistryEntry({ revoked: false, tier: 3 })).toMatchObject({ ok: false });
  });

  it('lists exactly the users and tenants whose entries changed', () => {
    const before = parseRegistryDocument(JSON.stringify({ tenants: { acme: PRO, globex: PRO }, users: { 'u-1': BASIC, 'u-2': BASIC } }));
    const reordered = { features: PRO.features, tier: PRO.tier, channels: PRO.channels, exchanges: { LSE: 'delayed', NASDAQ: 'realtime' }, minThrottleMs: 100, maxConnections: 3, maxSubscriptions: 50 };
    const after = parseRegistryDocument(JSON.stringify({ tenants: { acme: reordered, globex: BASIC }, users: { 'u-1': BASIC, 'u-3': PRO } }));
    expect(changedScopes(before, after)).toEqual([
      { kind: 'tenant', id: 'globex' },
      { kind: 'user', id: 'u-2' },
      { kind: 'user', id: 'u-3' },
    ]);
  });

  it('maps redis keys to scopes', () => {
    expect(scopeOfRedisKey('tradewire:licence:user:u:with:colons')).toEqual({ kind: 'user', id: 'u:with:colons' });
    expect(scopeOfRedisKey('tradewire:licence:tenant:acme')).toEqual({ kind: 'tenant', id: 'acme' });
    expect(scopeOfRedisKey('tradewire:licence:group:x')).toBeNull();
    expect(scopeOfRedisKey('other:key')).toBeNull();
  });
});

describe('licence resolution', () => {
  const registry = (users: Record<string, Licence>, tenants: Record<string, Licence>) => ({
    kind: 'file' as const,
    lookup: (kind: 'user' | 'tenant', id: string) => (kind === 'user' ? users[id] : tenants[id]),
    start: () => Promise.resolve(),
    stop: () => Promise.resolve(),
  });

  it('user entry, then tenant entry, then the token, then the default', () => {
    const resolver = new LicenceResolver(NO_LICENCE, registry({ 'u-1': BASIC }, { acme: PRO }));
    expect(resolver.resolve({ userId: 'u-1', tenant: 'acme', licence: DEMO_LICENCE }).tier).toBe('basic');
    expect(resolver.resolve({ userId: 'u-2', tenant: 'acme', licence: DEMO_LICENCE }).tier).toBe('pro');
    expect(resolver.resolve({ userId: 'u-2', tenant: 'other', licence: DEMO_LICENCE }).tier).toBe('demo');
    expect(resolver.resolve({ userId: 'u-2', tenant: 'other' }).tier).toBe('none');
  });

  it('a revocation never falls back to the token licence', () => {
    const resolver = new LicenceResolver(DEMO_LICENCE, registry({}, { acme: REVOKED_LICENCE }));
    const licence = resolver.resolve({ userId: 'u-1', tenant: 'acme', licence: PRO });
    expect(licence.revoked).toBe(true);
    expect(licenceUnusable(licence)).toBe('licence has been revoked');
    expect(checkMarketDataEntitlement(licence, 'NASDAQ', 'quote')).toEqual({ code: 'NOT_ENTITLED', message: 'licence has been revoked' });
  });

  it('engine events override per scope, announce what changed, and clear back to the registry', () => {
    const resolver = new LicenceResolver(NO_LICENCE, registry({}, { acme: PRO }));
    const changes: LicenceScope[][] = [];
    resolver.onChange((change) => changes.push(change.scopes));
    resolver.applyEngineChange({ kind: 'tenant', id: 'acme' }, BASIC);
    resolver.applyEngineChange({ kind: 'tenant', id: 'acme' }, { ...BASIC }); // the same licence again: no change
    expect(resolver.resolve({ userId: 'u-1', tenant: 'acme' }).tier).toBe('basic');
    resolver.applyEngineChange({ kind: 'user', id: 'u-1' }, 'revoked');
    expect(resolver.resolve({ userId: 'u-1', tenant: 'acme' }).revoked).toBe(true);
    resolver.applyEngineChange({ kind: 'user', id: 'u-1' }, null);
    resolver.applyEngineChange({ kind: 'tenant', id: 'acme' }, null);
    expect(resolver.resolve({ userId: 'u-1', tenant: 'acme' }).tier).toBe('pro');
    expect(changes).toEqual([[{ kind: 'tenant', id: 'acme' }], [{ kind: 'user', id: 'u-1' }], [{ kind: 'user', id: 'u-1' }], [{ kind: 'tenant', id: 'acme' }]]);
  });

  it('validates licence.changed events', () => {
    const ts = Date.now();
    expect(validateLicenceChanged({ userId: 'u-1', licence: PRO, ts })).toMatchObject({ ok: true, value: { scope: { kind: 'user', id: 'u-1' }, licence: { tier: 'pro' } } });
    expect(validateLicenceChanged({ tenant: 'acme', revoked: true, ts })).toMatchObject({ ok: true, value: { scope: { kind: 'tenant', id: 'acme' }, licence: 'revoked' } });
    expect(validateLicenceChanged({ tenant: 'acme', ts })).toMatchObject({ ok: true, value: { licence: null } });
    expect(validateLicenceChanged({ tenant: 'acme', userId: 'u-1', ts })).toMatchObject({ ok: false });
    expect(validateLicenceChanged({ userId: 'u-1', ts, licence: { tier: 1 } })).toMatchObject({ ok: false, reason: 'licence: tier must be a string' });
    expect(validateLicenceChanged({ userId: 'u-1', revoked: true, licence: PRO, ts })).toMatchObject({ ok: false });
    expect(validateLicenceChanged({ userId: 'u-1' })).toMatchObject({ ok: false, reason: 'ts is not plausible epoch milliseconds' });
    for (const implausible of [1, -ts, 1e308, ts / 1000, ts + 2 * 86_400_000]) expect(validateLicenceChanged({ userId: 'u-1', ts: implausible })).toMatchObject({ ok: false });
  });

  it('@RequiresEntitlement decisions: live licence and features', () => {
    expect(requirementRefusal(PRO, ['trading'])).toBeNull();
    expect(requirementRefusal(BASIC, ['trading'])).toBe('licence does not include the trading feature');
    expect(requirementRefusal(BASIC, [])).toBeNull();
    expect(requirementRefusal({ ...PRO, expiresAt: Date.now() - 1 }, [])).toBe('licence has expired');
    expect(requirementRefusal(REVOKED_LICENCE, [])).toBe('licence has been revoked');
    expect(requirementRefusal(undefined, [])).toBe('no licence');
    expect(sameLicence(PRO, { ...PRO, expiresAt: undefined })).toBe(true);
  });
});

describe('file registry', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('reloads on change, keeps the last good version when the file turns bad, and follows an atomic rename', async () => {
    dir = mkdtempSync(join(tmpdir(), 'tradewire-registry-'));
    const path = join(dir, 'licences.json');
    writeFileSync(path, JSON.stringify({ users: { 'u-1': PRO } }));
    const registry = new FileLicenceRegistry(path, silent, 100);
    const changes: LicenceScope[][] = [];
    await registry.start((scopes) => changes.push(scopes));
    try {
      expect(registry.lookup('user', 'u-1')?.tier).toBe('pro');

      writeFileSync(path, JSON.stringify({ users: { 'u-1': BASIC } }));
      await until(() => registry.lookup('user', 'u-1')?.tier === 'basic');
      expect(changes).toEqual([[{ kind: 'user', id: 'u-1' }]]);

      writeFileSync(path, '{ "users": { "u-1": ');
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect(registry.lookup('user', 'u-1')?.tier).toBe('basic');

      writeFileSync(join(dir, 'next.json'), JSON.stringify({ tenants: { acme: { revoked: true } } }));
      renameSync(join(dir, 'next.json'), path);
      await until(() => registry.lookup('tenant', 'acme') !== undefined);
      expect(registry.lookup('tenant', 'acme')).toBe(REVOKED_LICENCE);
      expect(registry.lookup('user', 'u-1')).toBeUndefined();
      expect(changes.at(-1)).toEqual([{ kind: 'tenant', id: 'acme' }, { kind: 'user', id: 'u-1' }]);
    } finally {
      await registry.stop();
    }
  });

  it('refuses to start on a bad file', async () => {
    dir = mkdtempSync(join(tmpdir(), 'tradewire-registry-'));
    const path = join(dir, 'licences.json');
    writeFileSync(path, '{ "users": { "u-1": { "tier": 7 } } }');
    await expect(new FileLicenceRegistry(path, silent).start(() => undefined)).rejects.toThrow(/users\.u-1: tier must be a string/);
  });
});

describe('seats in memory', () => {
  const ledger = () => new SeatLedger(new MemorySeatStore(), { nodeId: 'n1', renewEveryMs: 1_000 }, silent);
  const user = { userId: 'u-1', tenant: 'acme' };

  it('one seat per connection whatever its namespaces; the limit counts connections', async () => {
    const seats = ledger();
    const two = { ...PRO, maxConnections: 2 };
    await Promise.all([seats.acquire('c1', 's1', user, two), seats.acquire('c1', 's2', user, two)]);
    await seats.acquire('c2', 's3', user, two);
    expect(seats.inUse).toBe(2);
    await expect(seats.acquire('c3', 's4', user, two)).rejects.toMatchObject({ code: 'CONNECTION_LIMIT', data: { details: { scope: 'user', limit: 2 } } });
    seats.release('c1', 's1');
    await expect(seats.acquire('c3', 's4', user, two)).rejects.toMatchObject({ code: 'CONNECTION_LIMIT' });
    seats.release('c1', 's2'); // the connection's last namespace: its seat is free
    await seats.acquire('c3', 's4', user, two);
    seats.releaseConnection('c2');
    expect(seats.inUse).toBe(1);
  });

  it('namespaces of one connection carrying different users take a seat each', async () => {
    const seats = ledger();
    const one = { ...PRO, maxConnections: 1 };
    await seats.acquire('c1', 's1', user, one);
    await seats.acquire('c1', 's2', { userId: 'u-2', tenant: 'acme' }, one);
    expect(seats.inUse).toBe(2);
    await expect(seats.acquire('c2', 's3', { userId: 'u-2', tenant: 'acme' }, one)).rejects.toMatchObject({ code: 'CONNECTION_LIMIT' });
    seats.release('c1', 's2');
    expect(seats.inUse).toBe(1);
    await seats.acquire('c2', 's3', { userId: 'u-2', tenant: 'acme' }, one);
    seats.releaseConnection('c1');
    seats.releaseConnection('c2');
    expect(seats.inUse).toBe(0);
    // Three users on one connection, the closing connection frees all three.
    for (const [socket, userId] of [['s4', 'u-1'], ['s5', 'u-2'], ['s6', 'u-3']] as const) await seats.acquire('c3', socket, { userId, tenant: 'acme' }, one);
    expect(seats.inUse).toBe(3);
    seats.release('c3', 's5');
    expect(seats.inUse).toBe(2);
    seats.releaseConnection('c3');
    expect(seats.inUse).toBe(0);
    await seats.acquire('c4', 's7', { userId: 'u-2', tenant: 'acme' }, one);
  });

  it('0 means no per-user limit; maxTenantConnections counts every user of the tenant', async () => {
    const seats = ledger();
    const tenantWide = { ...PRO, maxConnections: 0, maxTenantConnections: 3 };
    for (const [conn, userId] of [['c1', 'u-1'], ['c2', 'u-1'], ['c3', 'u-2']] as const) await seats.acquire(conn, `s-${conn}`, { userId, tenant: 'acme' }, tenantWide);
    await expect(seats.acquire('c4', 's-c4', { userId: 'u-3', tenant: 'acme' }, tenantWide)).rejects.toMatchObject({ code: 'CONNECTION_LIMIT', data: { details: { scope: 'tenant', limit: 3 } } });
    await seats.acquire('c5', 's-c5', { userId: 'u-3', tenant: 'globex' }, tenantWide);
    await seats.onApplicationShutdown();
    expect(seats.inUse).toBe(0);
  });
});

async function until(condition: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
