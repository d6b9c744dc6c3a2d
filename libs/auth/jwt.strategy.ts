import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { Request } from 'express';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { claimsToUser, type AuthenticatedUser } from './authenticated-user.js';
import { TokenVerifier } from './token-verifier.js';

/**
 * passport-jwt for HTTP endpoints that need a user. Keys, algorithms, issuer, audience and the claim mapping are the
 * TokenVerifier's, so HTTP accepts exactly the tokens the socket handshake accepts.
 */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  constructor(verifier: TokenVerifier) {
    super({
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
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

  validate(payload: Record<string, unknown>): AuthenticatedUser {
    return claimsToUser(payload);
  }
}
