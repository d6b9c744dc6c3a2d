import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ComplianceScreen, COMPLIANCE_REASONS } from '#libs/licensing';

const COMPLIANCE_FILE = fileURLToPath(new URL('../data/compliance.json', import.meta.url));
const INSTRUMENTS_FILE = fileURLToPath(new URL('../data/instruments.json', import.meta.url));

interface Ratio {
  reason: string;
  numerator: string[];
  denominator: string;
  maxPct: number;
}

/**
 * The boards' published financial-ratio screens, written down here independently of the data file: the file's own
 * board definitions must say the same, and every status in it must follow from its inputs under these rules.
 */
const PUBLISHED: Record<string, { nonPermissibleRevenueMaxPct: number; ratios: Ratio[] }> = {
  AAOIFI: {
    nonPermissibleRevenueMaxPct: 5,
    ratios: [
      { reason: 'debt', numerator: ['interestBearingDebt'], denominator: 'marketCap', maxPct: 30 },
      { reason: 'cash', numerator: ['cashAndInterestBearingSecurities'], denominator: 'marketCap', maxPct: 30 },
    ],
  },
  DJIM: {
    nonPermissibleRevenueMaxPct: 5,
    ratios: [
      { reason: 'debt', numerator: ['interestBearingDebt'], denominator: 'marketCapAvg24m', maxPct: 33 },
      { reason: 'cash', numerator: ['cashAndInterestBearingSecurities'], denominator: 'marketCapAvg24m', maxPct: 33 },
      { reason: 'receivables', numerator: ['receivables'], denominator: 'marketCapAvg24m', maxPct: 33 },
    ],
  },
  SP_SHARIAH: {
    nonPermissibleRevenueMaxPct: 5,
    ratios: [
      { reason: 'debt', numerator: ['interestBearingDebt'], denominator: 'marketCapAvg36m', maxPct: 33 },
      { reason: 'cash', numerator: ['cashAndInterestBearingSecurities'], denominator: 'marketCapAvg36m', maxPct: 33 },
      { reason: 'receivables', numerator: ['receivables'], denominator: 'marketCapAvg36m', maxPct: 49 },
    ],
  },
  MSCI_ISLAMIC: {
    nonPermissibleRevenueMaxPct: 5,
    ratios: [
      { reason: 'debt', numerator: ['interestBearingDebt'], denominator: 'totalAssets', maxPct: 33.33 },
      { reason: 'cash', numerator: ['cashAndInterestBearingSecurities'], denominator: 'totalAssets', maxPct: 33.33 },
      { reason: 'receivables_and_cash', numerator: ['receivables', 'cashAndInterestBearingSecurities'], denominator: 'totalAssets', maxPct: 33.33 },
    ],
  },
};
/** Every board excludes these as a core business. */
const ALWAYS_PROHIBITED = ['conventional_finance', 'alcohol', 'tobacco', 'pork', 'gambling', 'adult_entertainment', 'weapons'];

interface Entry {
  assetClass: string;
  businessActivity: string;
  prohibitedActivities: string[];
  nonPermissibleRevenuePct: number | null;
  financials?: Record<string, number | string>;
  screens: Record<string, { status: string; reasons: string[] }>;
}
interface Board {
  name: string;
  prohibitedActivities: string[];
  nonPermissibleRevenueMaxPct: number;
  ratios: (Ratio & { description: string })[];
}
interface DataSet {
  metadata: { version: string; description: string; sources: string[] };
  boards: Record<string, Board>;
  instruments: Record<string, Entry>;
}

const data = JSON.parse(readFileSync(COMPLIANCE_FILE, 'utf8')) as DataSet;
const instruments = (JSON.parse(readFileSync(INSTRUMENTS_FILE, 'utf8')) as { exchange: string; symbol: string }[]).map((i) => `${i.exchange}:${i.symbol}`);

/** A board's verdict recomputed from the entry's inputs. */
function recompute(entry: Entry, boardId: string): { status: string; reasons: string[] } {
  const board = data.boards[boardId];
  const rules = PUBLISHED[boardId];
  if (entry.assetClass !== 'equity') return { status: 'non_compliant', reasons: ['not_an_equity'] };
  const reasons: string[] = [];
  if (entry.prohibitedActivities.some((activity) => board.prohibitedActivities.includes(activity))) reasons.push('prohibited_business');
  if ((entry.nonPermissibleRevenuePct ?? 100) >= rules.nonPermissibleRevenueMaxPct) reasons.push('non_permissible_revenue');
  const financials = entry.financials ?? {};
  for (const ratio of rules.ratios) {
    const numerator = ratio.numerator.reduce((sum, field) => sum + Number(financials[field]), 0);
    const pct = (numerator / Number(financials[ratio.denominator])) * 100;
    if (!(pct < ratio.maxPct)) reasons.push(ratio.reason);
  }
  return { status: reasons.length === 0 ? 'compliant' : 'non_compliant', reasons };
}

describe('the shipped compliance data set (data/compliance.json)', () => {
  it('says it is sample data and names its sources', () => {
    expect(data.metadata.description).toMatch(/SAMPLE DATA FOR A DEMO/);
    expect(data.metadata.sources.length).toBeGreaterThanOrEqual(4);
  });

  it("holds the four boards with their published thresholds and each one's prohibited activities", () => {
    expect(Object.keys(data.boards).sort()).toEqual(Object.keys(PUBLISHED).sort());
    for (const [id, board] of Object.entries(data.boards)) {
      expect(board.nonPermissibleRevenueMaxPct, id).toBe(PUBLISHED[id].nonPermissibleRevenueMaxPct);
      expect(
        board.ratios.map(({ reason, numerator, denominator, maxPct }) => ({ reason, numerator, denominator, maxPct })),
        id,
      ).toEqual(PUBLISHED[id].ratios);
      expect(board.prohibitedActivities, id).toEqual(expect.arrayContaining(ALWAYS_PROHIBITED));
    }
  });

  it('screens every instrument of the reference data on every board, and nothing else', () => {
    expect(Object.keys(data.instruments).sort()).toEqual([...instruments].sort());
    for (const [instrument, entry] of Object.entries(data.instruments)) {
      expect(Object.keys(entry.screens).sort(), instrument).toEqual(Object.keys(PUBLISHED).sort());
      expect(entry.businessActivity.length, instrument).toBeGreaterThan(0);
      if (entry.assetClass === 'equity') {
        for (const field of ['interestBearingDebt', 'cashAndInterestBearingSecurities', 'receivables', 'marketCap', 'marketCapAvg24m', 'marketCapAvg36m', 'totalAssets']) {
          expect(typeof entry.financials?.[field], `${instrument} ${field}`).toBe('number');
        }
        expect(entry.financials?.asOf, instrument).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      }
    }
  });

  it('has every status and reason follow from the inputs and the thresholds', () => {
    for (const [instrument, entry] of Object.entries(data.instruments)) {
      for (const board of Object.keys(PUBLISHED)) {
        expect(entry.screens[board], `${instrument} on ${board}`).toEqual(recompute(entry, board));
      }
    }
  });

  it('treats conventional banks and crypto assets as non-compliant on every board', () => {
    for (const instrument of ['NYSE:JPM', 'LSE:HSBA', 'EGX:COMI', 'ADX:FAB', 'EGX:HRHO']) {
      for (const board of Object.keys(PUBLISHED)) {
        expect(data.instruments[instrument]?.screens[board]?.reasons, `${instrument} on ${board}`).toContain('prohibited_business');
      }
    }
    for (const instrument of ['BINANCE:BTCUSDT', 'BINANCE:ETHUSDT']) {
      for (const board of Object.keys(PUBLISHED)) expect(data.instruments[instrument]?.screens[board]).toEqual({ status: 'non_compliant', reasons: ['not_an_equity'] });
    }
  });

  it('loads as the gateway loads it, with reason codes the gateway knows', () => {
    const screen = ComplianceScreen.fromFile(COMPLIANCE_FILE);
    expect(screen.version).toBe(data.metadata.version);
    expect(screen.instrumentCount).toBe(instruments.length);
    for (const entry of Object.values(data.instruments)) {
      for (const verdict of Object.values(entry.screens)) for (const reason of verdict.reasons) expect(COMPLIANCE_REASONS).toContain(reason);
    }
    expect(screen.status('NASDAQ:AAPL')).toBe('compliant');
    expect(screen.status('NASDAQ:AAPL', 'MSCI_ISLAMIC')).toBe('non_compliant');
  });
});
