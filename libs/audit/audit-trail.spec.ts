import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { REVOKED_LICENCE } from '#libs/licensing';
import { adminParams, answeredAccounts, answerSummary, AuditTrail, orderAnswerFields, orderCommandFields, parseAuditDestination, requestedAccounts, type AuditKind } from './index.js';

describe('AuditTrail on a file', () => {
  let dir: string;
  let path: string;
  const readLines = () =>
    readFileSync(path, 'utf8')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>);

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tradewire-audit-spec-'));
    path = join(dir, 'nested', 'audit.jsonl');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes one JSON line per record, kind, ts, time and node first, and every record is on disk once closed', async () => {
    const recorded: AuditKind[] = [];
    const trail = AuditTrail.open({ kind: 'file', path }, { nodeId: 'node-a', recorded: (kind) => recorded.push(kind) });
    const before = Date.now();
    for (let index = 0; index < 20_000; index += 1) {
      trail.handshake({ namespace: '/orders', address: '10.0.0.1', outcome: 'rejected', code: 'UNAUTHORIZED' });
    }
    await trail.close();
    const lines = readLines();
    expect(lines).toHaveLength(20_000);
    expect(recorded).toHaveLength(20_000);
    expect(Object.keys(lines[0] ?? {}).slice(0, 5)).toEqual(['log', 'ts', 'time', 'node', 'kind']);
    expect(lines[0]).toEqual({
      log: 'audit',
      ts: expect.any(Number) as number,
      time: expect.any(String) as string,
      node: 'node-a',
      kind: 'handshake',
      namespace: '/orders',
      address: '10.0.0.1',
      outcome: 'rejected',
      code: 'UNAUTHORIZED',
    });
    expect(lines[0]?.ts).toBeGreaterThanOrEqual(before);
    expect(new Date(lines[0]?.time as string).getTime()).toBe(lines[0]?.ts);
    // Closed: later records are ignored, not thrown.
    trail.handshake({ namespace: '/orders', address: '10.0.0.1', outcome: 'accepted' });
    expect(trail.enabled).toBe(false);
    expect(readLines()).toHaveLength(20_000);
  });

  it("records the dead-man's switch: armed, disarmed and fired with what was cancelled (at most 1,000 listed, all counted)", async () => {
    const trail = AuditTrail.open({ kind: 'file', path }, { nodeId: 'node-b' });
    const subject = { switchId: 'switch-1', user: 'trader-1', tenant: 'acme-capital', connection: 'c-1', address: '10.0.0.2' };
    trail.deadmanArmed({ ...subject, timeoutMs: 5_000, deadline: 1_700_000_005_000, by: 'client' });
    trail.deadmanArmed({ ...subject, timeoutMs: 5_000, by: 'takeover' });
    trail.deadmanDisarmed({ ...subject, reason: 'client' });
    const orderIds = Array.from({ length: 1_500 }, (_, index) => `O-${index}`);
    trail.deadmanFired({ ...subject, trigger: 'disconnect', timeoutMs: 5_000, accounts: ['ACC-1001'], orderIds, outcome: 'accepted' });
    trail.deadmanFired({ ...subject, trigger: 'timeout', accounts: ['ACC-1001'], outcome: 'rejected', code: 'ENGINE_TIMEOUT' });
    // Two cancelled, one of them never given an id by the engine: the count given is kept.
    trail.deadmanFired({ ...subject, trigger: 'replica_lost', orderIds: ['O-1'], canceled: 2, refused: 1, failed: 1, outcome: 'rejected', code: 'ENGINE_UNAVAILABLE' });
    await trail.close();
    const [armed, takenOver, disarmed, fired, failed, partly] = readLines();
    expect(armed).toMatchObject({ kind: 'deadman.armed', node: 'node-b', ...subject, timeoutMs: 5_000, deadline: 1_700_000_005_000, by: 'client' });
    expect(takenOver).toMatchObject({ kind: 'deadman.armed', by: 'takeover' });
    expect(disarmed).toMatchObject({ kind: 'deadman.disarmed', ...subject, reason: 'client' });
    expect(fired).toMatchObject({ kind: 'deadman.fired', trigger: 'disconnect', accounts: ['ACC-1001'], outcome: 'accepted', canceled: 1_500 });
    expect(fired?.orderIds).toEqual(orderIds.slice(0, 1_000));
    expect(failed).toMatchObject({ kind: 'deadman.fired', trigger: 'timeout', outcome: 'rejected', code: 'ENGINE_TIMEOUT' });
    expect(failed).not.toHaveProperty('orderIds');
    expect(partly).toMatchObject({ kind: 'deadman.fired', trigger: 'replica_lost', orderIds: ['O-1'], canceled: 2, refused: 1, failed: 1, outcome: 'rejected', code: 'ENGINE_UNAVAILABLE' });
  });

  it('summarises the licence a change set, a revocation included, and null for a cleared entry', async () => {
    const trail = AuditTrail.open({ kind: 'file', path }, { nodeId: 'node-c' });
    trail.licenceChanged({ source: 'redis', scope: 'tenant', id: 'initech', licence: REVOKED_LICENCE });
    trail.licenceChanged({ source: 'engine', scope: 'user', id: 'u-1', licence: undefined });
    await trail.close();
    const [revoked, cleared] = readLines();
    expect(revoked).toMatchObject({ kind: 'licence.changed', source: 'redis', scope: 'tenant', id: 'initech', licence: { tier: 'revoked', revoked: true, features: [], maxConnections: 0 } });
    expect(cleared).toMatchObject({ kind: 'licence.changed', scope: 'user', id: 'u-1', licence: null });
  });

  it('never writes a credential a caller slips in, and AUDIT_LOG=off records nothing', async () => {
    const trail = AuditTrail.open({ kind: 'file', path }, { nodeId: 'node-d' });
    // Not a field of any record: a caller that passes one anyway gets it censored.
    trail.adminAction({ method: 'POST', path: '/admin/x', status: 200, outcome: 'accepted', address: '::1', durationMs: 1, token: 'eyJ.secret.sig', authorization: 'Bearer x' } as never);
    await trail.close();
    const text = readFileSync(path, 'utf8');
    expect(text).not.toContain('eyJ.secret.sig');
    expect(text).not.toContain('Bearer x');

    const off = AuditTrail.open({ kind: 'off' }, { nodeId: 'node-e', recorded: () => expect.unreachable() });
    expect(off.enabled).toBe(false);
    off.handshake({ namespace: '/orders', address: '::1', outcome: 'accepted' });
    await off.close();
  });
});

describe('what a record keeps of a client request', () => {
  it('keeps the named string fields of an order command as sent, cut at 128 characters, nothing else', () => {
    const long = 'x'.repeat(500);
    expect(orderCommandFields({ clientOrderId: 'c-1', account: 'ACC-1', quantity: 12, price: '1.5', token: 'eyJ', note: 'hello', instrument: long, timeoutMs: 3_000 })).toEqual({
      clientOrderId: 'c-1',
      account: 'ACC-1',
      price: '1.5',
      instrument: `${'x'.repeat(128)}…`,
      timeoutMs: 3_000,
    });
    expect(orderCommandFields('not an object')).toEqual({});
    expect(orderCommandFields([{ clientOrderId: 'c' }])).toEqual({});
  });

  it('reads the answer: accepted with its data, or rejected with its code (UNKNOWN when there is none)', () => {
    expect(answerSummary({ ok: true, data: { orderId: 'O-1', status: 'new' } })).toEqual({ outcome: 'accepted', data: { orderId: 'O-1', status: 'new' } });
    expect(answerSummary({ ok: false, error: { code: 'FORBIDDEN', message: 'no' } })).toEqual({ outcome: 'rejected', code: 'FORBIDDEN' });
    expect(answerSummary(undefined)).toEqual({ outcome: 'rejected', code: 'UNKNOWN' });
    expect(orderAnswerFields({ orderIds: ['O-1', 7, 'O-2'] })).toEqual({ orderIds: ['O-1', 'O-2'], canceled: 2 });
    expect(orderAnswerFields({ orderId: 'O-3', status: 'pending_cancel' })).toEqual({ orderId: 'O-3', status: 'pending_cancel' });
  });

  it('lists the accounts asked for or answered, strings only', () => {
    expect(requestedAccounts({ accounts: ['A', 3, 'B'] })).toEqual(['A', 'B']);
    expect(requestedAccounts({})).toBeUndefined();
    expect(answeredAccounts({ accounts: [{ account: 'A', seq: 1 }, 'B'] })).toEqual(['A', 'B']);
  });

  it('keeps admin parameters that are scalars and never one named like a credential', () => {
    expect(adminParams({ reset: 'true', token: 't', access_token: 't', apiKey: 'k', Authorization: 'a', password: 'p' }, { userId: 'u-1', reason: 'maintenance', nested: { a: 1 }, limit: 5, all: true })).toEqual({
      reset: 'true',
      userId: 'u-1',
      reason: 'maintenance',
      limit: 5,
      all: true,
    });
    expect(adminParams(undefined, {})).toBeUndefined();
  });
});

describe('AUDIT_LOG', () => {
  it('reads off, stdout, stderr, a path or file:<path> (resolved against the working directory)', () => {
    expect(parseAuditDestination('off')).toEqual({ kind: 'off' });
    expect(parseAuditDestination(' stdout ')).toEqual({ kind: 'stdout' });
    expect(parseAuditDestination('stderr')).toEqual({ kind: 'stderr' });
    expect(parseAuditDestination('/var/log/tradewire/audit.jsonl')).toEqual({ kind: 'file', path: '/var/log/tradewire/audit.jsonl' });
    expect(parseAuditDestination('file:audit/audit.jsonl')).toEqual({ kind: 'file', path: resolve('audit/audit.jsonl') });
    expect(() => parseAuditDestination('file:')).toThrow(/off, stdout, stderr or a file path/);
  });
});
