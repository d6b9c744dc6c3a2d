import { Module } from '@nestjs/common';
import { AppConfig } from '../config/index.js';
import { InstrumentCatalog } from './instrument-catalog.js';
import { TradingCalendar } from './trading-calendar.js';

/** Reference data read at start: the instruments (INSTRUMENTS_FILE) and the exchanges' trading calendars. */
@Module({
  providers: [
    { provide: InstrumentCatalog, useFactory: (config: AppConfig) => InstrumentCatalog.fromFile(config.instrumentsFile), inject: [AppConfig] },
    { provide: TradingCalendar, useFactory: (config: AppConfig) => TradingCalendar.fromFile(config.tradingCalendarsFile), inject: [AppConfig] },
  ],
  exports: [InstrumentCatalog, TradingCalendar],
})
export class ReferenceDataModule {}
