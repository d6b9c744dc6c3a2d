import { readFileSync } from 'node:fs';
import { INSTRUMENT_PATTERN } from '#libs/contracts';

/** One instrument of the reference data file (INSTRUMENTS_FILE). */
export interface Instrument {
  exchange: string;
  symbol: string;
  name: string;
  currency: string;
  assetClass: string;
  tickSize: string;
  lotSize: string;
  /** A reference price: where the simulator starts. */
  refPrice: string;
  /** Value of one unit of quantity per unit of price (a futures contract's multiplier); "1" when left out. */
  multiplier?: string;
}

/** The reference data: which `EXCHANGE:SYMBOL` instruments exist. Anything else is UNKNOWN_SYMBOL. */
export class InstrumentCatalog {
  private readonly byId = new Map<string, Instrument>();

  constructor(instruments: Instrument[]) {
    for (const instrument of instruments) this.byId.set(`${instrument.exchange}:${instrument.symbol}`, instrument);
  }

  static fromFile(path: string): InstrumentCatalog {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(path, 'utf8'));
    } catch (error) {
      throw new Error(`INSTRUMENTS_FILE ${path} cannot be read as JSON: ${String(error)}`);
    }
    if (!Array.isArray(parsed)) throw new Error(`INSTRUMENTS_FILE ${path} must hold a JSON array of instruments`);
    const instruments = parsed.map((entry: unknown, index) => {
      const i = entry as Partial<Instrument>;
      if (typeof i.exchange !== 'string' || typeof i.symbol !== 'string' || !INSTRUMENT_PATTERN.test(`${i.exchange}:${i.symbol}`)) {
        throw new Error(`INSTRUMENTS_FILE ${path}: entry ${index} needs an upper-case exchange and symbol`);
      }
      if (i.multiplier !== undefined && (typeof i.multiplier !== 'string' || !/^\d{1,12}(\.\d{1,12})?$/.test(i.multiplier) || /^[0.]+$/.test(i.multiplier))) {
        throw new Error(`INSTRUMENTS_FILE ${path}: entry ${index} has a multiplier that is not a positive decimal string`);
      }
      return {
        exchange: i.exchange,
        symbol: i.symbol,
        name: i.name ?? i.symbol,
        currency: i.currency ?? 'USD',
        assetClass: i.assetClass ?? 'equity',
        tickSize: i.tickSize ?? '0.01',
        lotSize: i.lotSize ?? '1',
        refPrice: i.refPrice ?? '100.00',
        multiplier: i.multiplier ?? '1',
      };
    });
    return new InstrumentCatalog(instruments);
  }

  get(instrument: string): Instrument | undefined {
    return this.byId.get(instrument);
  }

  has(instrument: string): boolean {
    return this.byId.has(instrument);
  }

  all(): Instrument[] {
    return [...this.byId.values()];
  }

  exchanges(): string[] {
    return [...new Set([...this.byId.values()].map((i) => i.exchange))];
  }
}
