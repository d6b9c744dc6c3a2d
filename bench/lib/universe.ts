import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Instrument as InstrumentRef } from '../../src/market-data/instrument-catalog.js';
import { BENCH_LICENCE, BENCH_TENANT } from './tokens.js';
import { mulberry32 } from '../../src/simulator/seeded-random.js';
import { PROJECT_ROOT } from './paths.js';

/** One row of the instruments reference file: the gateway's own type, so the two cannot drift apart. */
export type { Instrument as InstrumentRef } from '../../src/market-data/instrument-catalog.js';

export interface AccountRef {
  account: string;
  tenant: string;
  name: string;
}

export const SYNTHETIC_EXCHANGE = 'BENCH';

/**
 * The first `count` instruments: the project's reference data first (so a gateway that ignores INSTRUMENTS_FILE still
 * knows some of them), then synthetic `BENCH:S00024`-style names. The scenario writes the list to a file and points
 * the gateway's INSTRUMENTS_FILE at it, so the gateway, the baselines and the engine load all share one universe.
 */
export function benchInstruments(count: number): InstrumentRef[] {
  const file = join(PROJECT_ROOT, 'data', 'instruments.json');
  const reference = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as InstrumentRef[]) : [];
  const instruments = reference.filter((i) => isSubjectSafe(i.exchange) && isSubjectSafe(i.symbol)).slice(0, count);
  for (let i = instruments.length; i < count; i++) {
    instruments.push({
      exchange: SYNTHETIC_EXCHANGE,
      symbol: `S${String(i).padStart(5, '0')}`,
      name: `Bench instrument ${i}`,
      currency: 'USD',
      assetClass: 'equity',
      tickSize: '0.01',
      lotSize: '1',
      refPrice: (10 + ((i * 7.31) % 490)).toFixed(2),
    });
  }
  return instruments;
}

export function benchAccounts(count: number): AccountRef[] {
  return Array.from({ length: count }, (_, i) => ({
    account: `BENCH-${String(i + 1).padStart(6, '0')}`,
    tenant: BENCH_TENANT,
    name: `Bench account ${i + 1}`,
  }));
}

export function instrumentId(ref: Pick<InstrumentRef, 'exchange' | 'symbol'>): string {
  return `${ref.exchange}:${ref.symbol}`;
}

export interface ReferenceFiles {
  instrumentsFile: string;
  accountsFile: string;
}

export function writeReferenceFiles(dir: string, instruments: InstrumentRef[], accounts: AccountRef[]): ReferenceFiles {
  const files = { instrumentsFile: join(dir, 'instruments.json'), accountsFile: join(dir, 'accounts.json') };
  writeFileSync(files.instrumentsFile, JSON.stringify(instruments, null, 1));
  writeFileSync(files.accountsFile, JSON.stringify(accounts, null, 1));
  return files;
}

/** Reference files of the `gateway-checked` target: a compliance screen and a licence registry for the universe. */
export interface CheckedReferenceFiles {
  complianceFile: string;
  licenceRegistryFile: string;
}

/**
 * A compliance screen in which every instrument of the universe passes every board (a copy of the shipped screen's
 * boards, each instrument screened like the shipped one that passes all of them), so a target whose clients carry the
 * Islamic claim serves exactly the streams the plain gateway serves and the difference is the checks' cost alone; and
 * a licence registry whose entry for the bench tenant is the bench licence, so the registry is consulted and wins.
 */
export function writeCheckedReferenceFiles(dir: string, instruments: InstrumentRef[]): CheckedReferenceFiles {
  const shipped = JSON.parse(readFileSync(join(PROJECT_ROOT, 'data', 'compliance.json'), 'utf8')) as {
    metadata: Record<string, unknown>;
    boards: Record<string, unknown>;
    instruments: Record<string, { screens: Record<string, { status: string }> } & Record<string, unknown>>;
  };
  const model = Object.values(shipped.instruments).find((entry) => Object.values(entry.screens).every((screen) => screen.status === 'compliant'));
  if (!model) throw new Error('data/compliance.json has no instrument compliant on every board to model the bench screen on');
  const screened = Object.fromEntries(instruments.map((ref) => [instrumentId(ref), { ...model, name: ref.name }]));
  const files = { complianceFile: join(dir, 'compliance.json'), licenceRegistryFile: join(dir, 'licences.json') };
  writeFileSync(files.complianceFile, JSON.stringify({ ...shipped, metadata: { ...shipped.metadata, version: 'bench' }, instruments: screened }, null, 1));
  writeFileSync(files.licenceRegistryFile, JSON.stringify({ tenants: { [BENCH_TENANT]: BENCH_LICENCE }, users: {} }, null, 1));
  return files;
}

/**
 * The `perClient` instruments client `clientIndex` watches: a uniform sample without replacement, seeded by the
 * client's index so every target in a run (and every run) sees exactly the same subscriptions.
 */
export function clientInstruments(clientIndex: number, universe: readonly string[], perClient: number): string[] {
  const random = mulberry32(0x9e3779b9 ^ (clientIndex * 2654435761));
  const pool = universe.slice();
  const take = Math.min(perClient, pool.length);
  for (let i = 0; i < take; i++) {
    const j = i + Math.floor(random() * (pool.length - i));
    [pool[i], pool[j]] = [pool[j], pool[i]];
  }
  return pool.slice(0, take);
}

/** The account a client of the account-stream scenario watches. */
export function clientAccount(clientIndex: number, accounts: readonly string[]): string {
  return accounts[clientIndex % accounts.length];
}

function isSubjectSafe(token: string): boolean {
  // Each part becomes one NATS subject token: no dots, spaces or wildcards.
  return /^[A-Z0-9_-]+$/.test(token);
}
