import { makeCounterProvider, makeGaugeProvider } from '@willsoto/nestjs-prometheus';

/** Live mark-to-market's metrics (docs/operations.md §4); its frames are also in `tradewire_messages_sent_total`. */
export const VALUATION_METRICS = {
  valuations: 'tradewire_valuations_total',
  accounts: 'tradewire_valuation_accounts',
  instruments: 'tradewire_valuation_instruments',
} as const;

export const valuationMetricProviders = [
  makeCounterProvider({
    name: VALUATION_METRICS.valuations,
    help: 'Gateway valuations built (one per account, pricing view and namespace; each written to its watchers), by namespace',
    labelNames: ['namespace'],
  }),
  makeGaugeProvider({ name: VALUATION_METRICS.accounts, help: 'Accounts watched on this replica and revalued from its quotes' }),
  makeGaugeProvider({
    name: VALUATION_METRICS.instruments,
    help: 'Instruments whose quotes this replica holds for valuation, by price (realtime: engine interest; delayed: the delay line too)',
    labelNames: ['price'],
  }),
];
