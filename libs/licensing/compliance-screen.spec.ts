import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ComplianceFileError, ComplianceScreen, validateScreenChange, type ComplianceScreenEvent } from './compliance-screen.js';

function screenFile(version: string, verdicts: Record<string, Record<string, { status: string; reasons: string[] }>>): string {
  const instruments = Object.fromEntries(Object.entries(verdicts).map(([instrument, screens]) => [instrument, { name: instrument, screens }]));
  return JSON.stringify({ metadata: { version }, boards: { AAOIFI: { name: 'AAOIFI' }, DJIM: { name: 'DJIM' } }, instruments });
}

const OK = { status: 'compliant', reasons: [] };
const DEBT = { status: 'non_compliant', reasons: ['debt'] };
const islamic = { islamic: true };

describe('ComplianceScreen', () => {
  let dir: string;
  let path: string;
  let screen: ComplianceScreen | undefined;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tradewire-screen-'));
    path = join(dir, 'compliance.json');
    writeFileSync(path, screenFile('v1', { 'NASDAQ:AAPL': { AAOIFI: OK, DJIM: OK }, 'NYSE:IBM': { AAOIFI: DEBT, DJIM: DEBT }, 'NYSE:KO': { AAOIFI: OK } }));
  });
  afterEach(() => {
    screen?.close();
    screen = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses non-compliant instruments to Islamic users only, on AAOIFI unless the claim names a board', () => {
    screen = ComplianceScreen.fromFile(path);
    expect(screen.check(islamic, 'NASDAQ:AAPL')).toBeUndefined();
    expect(screen.check(islamic, 'NYSE:IBM')).toMatchObject({ code: 'NOT_COMPLIANT', board: 'AAOIFI', reason: 'debt' });
    expect(screen.check(undefined, 'NYSE:IBM')).toBeUndefined();
    expect(screen.check({ islamic: false, board: 'DJIM' }, 'NYSE:IBM')).toBeUndefined();
    expect(screen.check({ islamic: true, board: 'djim' }, 'NYSE:IBM')).toMatchObject({ board: 'DJIM', reason: 'debt' });
  });

  it('fails closed: an instrument a board has not screened, or a board the screen lacks, is not compliant', () => {
    screen = ComplianceScreen.fromFile(path);
    expect(screen.status('LSE:VOD')).toBe('non_compliant');
    expect(screen.check(islamic, 'LSE:VOD')).toMatchObject({ code: 'NOT_COMPLIANT', reason: 'not_screened' });
    expect(screen.check({ islamic: true, board: 'DJIM' }, 'NYSE:KO')).toMatchObject({ reason: 'not_screened' });
    expect(screen.check({ islamic: true, board: 'FTSE' }, 'NASDAQ:AAPL')).toMatchObject({ reason: 'unknown_board', board: 'FTSE' });
  });

  it('refuses to load a malformed file, naming the file and the problem', () => {
    const cases: [string, RegExp][] = [
      ['{not json', /is not valid JSON/],
      [JSON.stringify({ metadata: {}, boards: { AAOIFI: { name: 'x' } }, instruments: {} }), /metadata\.version/],
      [screenFile('v1', { 'nasdaq:aapl': { AAOIFI: OK } }), /EXCHANGE:SYMBOL/],
      [screenFile('v1', { 'NASDAQ:AAPL': { AAOIFI: { status: 'halal', reasons: [] } } }), /status must be/],
      [screenFile('v1', { 'NASDAQ:AAPL': { AAOIFI: { status: 'non_compliant', reasons: [] } } }), /needs at least one reason/],
      [screenFile('v1', { 'NASDAQ:AAPL': { AAOIFI: { status: 'non_compliant', reasons: ['too_big'] } } }), /reasons must be a list of/],
      [screenFile('v1', { 'NASDAQ:AAPL': { MSCI: OK } }), /no such board/],
    ];
    for (const [text, problem] of cases) {
      writeFileSync(path, text);
      expect(() => ComplianceScreen.fromFile(path)).toThrow(ComplianceFileError);
      expect(() => ComplianceScreen.fromFile(path)).toThrow(problem);
      expect(() => ComplianceScreen.fromFile(path)).toThrow(path);
    }
    expect(() => ComplianceScreen.fromFile(join(dir, 'missing.json'))).toThrow(/cannot be read/);
  });

  it('reloads a changed file, reporting which instruments changed; keeps the last good screen when the new file is bad', () => {
    screen = ComplianceScreen.fromFile(path);
    const events: ComplianceScreenEvent[] = [];
    screen.onEvent((event) => events.push(event));
    expect(screen.reload()).toBe('unchanged');
    writeFileSync(path, screenFile('v2', { 'NASDAQ:AAPL': { AAOIFI: DEBT, DJIM: OK }, 'NYSE:IBM': { AAOIFI: DEBT, DJIM: DEBT }, 'NYSE:KO': { AAOIFI: OK } }));
    expect(screen.reload()).toBe('changed');
    expect(events).toEqual([{ type: 'changed', source: 'file', version: 'v2', instruments: ['NASDAQ:AAPL'] }]);
    expect(screen.status('NASDAQ:AAPL')).toBe('non_compliant');

    writeFileSync(path, '{"metadata":');
    expect(screen.reload()).toBe('failed');
    expect(events[1]).toMatchObject({ type: 'reload_failed', path });
    expect(screen.version).toBe('v2');
    expect(screen.status('NASDAQ:AAPL')).toBe('non_compliant');
    expect(screen.status('NASDAQ:AAPL', 'DJIM')).toBe('compliant');
  });

  it('follows the file by itself, also when it is replaced by a rename', async () => {
    screen = ComplianceScreen.fromFile(path, { pollMs: 200 });
    const changed = new Promise<ComplianceScreenEvent>((resolve) => screen?.onEvent(resolve));
    screen.watch();
    const staged = join(dir, 'compliance.json.tmp');
    writeFileSync(staged, screenFile('v2', { 'NASDAQ:AAPL': { AAOIFI: OK, DJIM: OK }, 'NYSE:IBM': { AAOIFI: OK, DJIM: DEBT }, 'NYSE:KO': { AAOIFI: OK } }));
    renameSync(staged, path);
    expect(await changed).toEqual({ type: 'changed', source: 'file', version: 'v2', instruments: ['NYSE:IBM'] });
    expect(screen.check(islamic, 'NYSE:IBM')).toBeUndefined();
  });

  it('applies engine changes over the file until a file of another version replaces them', () => {
    screen = ComplianceScreen.fromFile(path);
    const events: ComplianceScreenEvent[] = [];
    screen.onEvent((event) => events.push(event));
    const change = validateScreenChange({ instrument: 'NASDAQ:AAPL', board: 'AAOIFI', status: 'non_compliant', reasons: ['non_permissible_revenue'], version: 'v1-interim', ts: Date.now() });
    if (!change.ok) throw new Error(change.reason);
    expect(screen.apply(change.value)).toBe(true);
    expect(screen.apply(change.value)).toBe(false); // the same verdict again changes nothing
    expect(events).toEqual([{ type: 'changed', source: 'engine', version: 'v1-interim', instruments: ['NASDAQ:AAPL'] }]);
    expect(screen.check(islamic, 'NASDAQ:AAPL')).toMatchObject({ reason: 'non_permissible_revenue' });
    expect(screen.status('NASDAQ:AAPL', 'DJIM')).toBe('compliant');

    // The same edition rewritten (a touched file) keeps the engine's change; a new edition supersedes it.
    writeFileSync(path, screenFile('v1', { 'NASDAQ:AAPL': { AAOIFI: OK, DJIM: OK }, 'NYSE:IBM': { AAOIFI: DEBT, DJIM: DEBT }, 'NYSE:KO': { AAOIFI: OK }, 'LSE:BP': { AAOIFI: DEBT } }));
    screen.reload();
    expect(screen.status('NASDAQ:AAPL')).toBe('non_compliant');
    writeFileSync(path, screenFile('v2', { 'NASDAQ:AAPL': { AAOIFI: OK, DJIM: OK }, 'NYSE:IBM': { AAOIFI: DEBT, DJIM: DEBT }, 'NYSE:KO': { AAOIFI: OK } }));
    screen.reload();
    expect(screen.status('NASDAQ:AAPL')).toBe('compliant');
    expect(screen.version).toBe('v2');
    expect(events.at(-1)).toEqual({ type: 'changed', source: 'file', version: 'v2', instruments: ['NASDAQ:AAPL', 'LSE:BP'] });
  });

  it('validates engine screen changes', () => {
    const ts = Date.now();
    const valid = { instrument: 'NYSE:KO', board: 'aaoifi', status: 'non_compliant', ts };
    expect(validateScreenChange(valid)).toEqual({ ok: true, value: { instrument: 'NYSE:KO', board: 'AAOIFI', status: 'non_compliant', reasons: ['board_decision'], version: undefined, ts } });
    expect(validateScreenChange({ ...valid, status: 'compliant' })).toMatchObject({ ok: true, value: { reasons: [] } });
    for (const bad of [null, [], { ...valid, instrument: 'KO' }, { ...valid, board: '' }, { ...valid, status: 'maybe' }, { ...valid, ts: 'now' }, { ...valid, ts: 1e308 }, { ...valid, ts: 1 }, { ...valid, reasons: ['nope'] }, { ...valid, status: 'compliant', reasons: ['debt'] }]) {
      expect(validateScreenChange(bad).ok).toBe(false);
    }
  });
});
