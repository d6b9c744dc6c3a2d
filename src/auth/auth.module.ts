import { Module } from '@nestjs/common';
import { PassportModule } from '@nestjs/passport';
import { AccountDirectory, JwtStrategy, TokenVerifier } from '#libs/auth';
import { AppConfig } from '../config/index.js';

/**
 * Who a client is: token verification (the sockets' handshake and the HTTP `jwt` strategy share it) and the accounts
 * of each tenant. Passport is re-exported for the modules whose controllers use `@HttpAuth` (the `jwt` guard).
 */
@Module({
  imports: [PassportModule.register({ session: false })],
  providers: [
    { provide: TokenVerifier, useFactory: (config: AppConfig) => new TokenVerifier(config.jwt), inject: [AppConfig] },
    { provide: AccountDirectory, useFactory: (config: AppConfig) => AccountDirectory.fromFile(config.accountsFile), inject: [AppConfig] },
    // Registers passport's `jwt` strategy when built.
    JwtStrategy,
  ],
  exports: [TokenVerifier, AccountDirectory, PassportModule],
})
export class AuthModule {}
