import { instrumentFromMdSubject } from '#libs/contracts';
import type { EngineEventOutcome } from '../../engine/stream-handler.js';
import type { InstrumentCatalog } from '../instrument-catalog.js';

/** The known instrument a market-data subject names (`md.quote.NASDAQ.AAPL` → `NASDAQ:AAPL`), or why it is dropped. */
export function engineInstrument(subject: string, catalog: InstrumentCatalog): string | NonNullable<EngineEventOutcome> {
  const instrument = instrumentFromMdSubject(subject);
  if (!instrument) return { drop: 'bad_subject' };
  if (!catalog.has(instrument)) return { drop: 'unknown_instrument' };
  return instrument;
}
