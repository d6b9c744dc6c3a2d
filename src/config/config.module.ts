import { Global, Module, type DynamicModule } from '@nestjs/common';
import type { Logger } from 'pino';
import { PINO_LOGGER } from '#libs/observability';
import { AppConfig } from './app-config.js';

/**
 * The configuration and the logger, both made by main.ts before Nest starts (the environment is validated first, and
 * the logger also logs Nest itself). Global on purpose, as Nest's own ConfigModule is: nearly every provider reads
 * them, they are fixed values with no dependencies, and importing them everywhere would only add noise.
 */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: AppConfig, logger: Logger): DynamicModule {
    return {
      module: ConfigModule,
      providers: [
        { provide: AppConfig, useValue: config },
        { provide: PINO_LOGGER, useValue: logger },
      ],
      exports: [AppConfig, PINO_LOGGER],
    };
  }
}
