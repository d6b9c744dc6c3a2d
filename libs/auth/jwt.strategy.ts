import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { Request } from 'express';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { GatewayError } from '#libs/contracts';
import type { AuthenticatedUser } from './authenticated-user.js';
import { TokenVerifier } from './token-verifier.js';

const bearerToken = ExtractJwt.fromAuthHeaderAsBearerToken();

/**
 * passport-jwt for HTTP endpoints that need a user. passport-jwt reads the bearer token and checks its signature with
 * the TokenVerifier's keys and algorithms; the user then comes from TokenVerifier.verify, the one verification every
 * entry point shares (size, lifetime policy, claims), so HTTP accepts exactly the tokens the socket handshake accepts
 * and refuses the others with the same code and message.
 */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  constructor(private readonly verifier: TokenVerifier) {
    super({
      jwtFromRequest: bearerToken,
      passReqToCallback: true,
      algorithms: verifier.algorithms as never,
      issuer: verifier.issuer,
      audience: verifier.audience,
      ignoreExpiration: false,
      secretOrKeyProvider: (_request: Request, rawJwtToken: string, done: (err: unknown, key?: string | Buffer) => void) => {
        verifier.keyForToken(rawJwtToken).then(
          // passport-jwt hands the key to jsonwebtoken, which accepts a KeyObject in place of PEM or secret bytes.
          (key) => done(null, key as unknown as Buffer),
          (error: unknown) => done(error),
        );
      },
    });
  }

  async validate(request: Request): Promise<AuthenticatedUser> {
    const token = bearerToken(request);
    if (!token) throw new GatewayError('UNAUTHORIZED', 'no bearer token');
    return this.verifier.verify(token);
  }
}
