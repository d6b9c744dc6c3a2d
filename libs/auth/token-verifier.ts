import { createSecretKey, KeyObject } from 'node:crypto';
import { decodeProtectedHeader, errors, importSPKI, jwtVerify, type CryptoKey, type JWTHeaderParameters, type JWTPayload } from 'jose';
import { GatewayError } from '#libs/contracts';
import { claimsToUser, type AuthenticatedUser } from './authenticated-user.js';
import { verifyHmacJwt } from './hmac-jwt.js';
import { JwksKeyResolver } from './jwks-key-resolver.js';
import { SharedClaims } from './shared-claims.js';
import { checkTokenSize, DEFAULT_MAX_TOKEN_LIFETIME_MS, sessionDeadline, type TokenLifetimePolicy } from './token-lifetime.js';

/** Where the keys that sign tokens come from (one of the three, see ARCHITECTURE.md's config names). */
export type JwtVerificationSettings = (
  | { kind: 'secret'; secret: string }
  | { kind: 'publicKey'; publicKeyPem: string }
  | { kind: 'jwks'; jwksUrl: string; cacheMaxAgeMs?: number; missRefetchCooldownMs?: number }
) & {
  issuer?: string;
  audience?: string;
  clockToleranceSec?: number;
  /** Refuse tokens without `exp` (NODE_ENV=production). */
  requireExpiry?: boolean;
  /** `JWT_MAX_LIFETIME`: the longest `exp - iat` (or `exp - now`) accepted; default 24 h. */
  maxLifetimeMs?: number;
};

const HMAC_ALGORITHMS = ['HS256', 'HS384', 'HS512'];
const ASYMMETRIC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'ES256', 'ES384', 'ES512', 'EdDSA'];

type KeyLookup = (header: JWTHeaderParameters) => Promise<KeyObject | CryptoKey>;

/**
 * Verifies JWTs for every entry point (socket handshakes, `auth:refresh`, HTTP through passport-jwt) so that all of
 * them accept and refuse exactly the same tokens, and maps failures to the contract's codes.
 */
export class TokenVerifier {
  readonly algorithms: string[];
  private readonly keyLookup: KeyLookup;
  /** Set for a shared secret: HMAC tokens are verified synchronously with node:crypto (see hmac-jwt.ts). */
  private readonly hmacKey: KeyObject | null = null;
  private readonly lifetime: TokenLifetimePolicy;
  /** Licences and role lists equal across tokens are kept once (a connection keeps its user for its whole life). */
  private readonly shared = new SharedClaims();

  constructor(private readonly settings: JwtVerificationSettings) {
    this.lifetime = {
      requireExpiry: settings.requireExpiry ?? false,
      maxLifetimeMs: settings.maxLifetimeMs ?? DEFAULT_MAX_TOKEN_LIFETIME_MS,
      clockToleranceSec: settings.clockToleranceSec ?? 5,
    };
    switch (settings.kind) {
      case 'secret': {
        const key = createSecretKey(Buffer.from(settings.secret, 'utf8'));
        this.hmacKey = key;
        this.algorithms = HMAC_ALGORITHMS;
        this.keyLookup = () => Promise.resolve(key);
        break;
      }
      case 'publicKey': {
        this.algorithms = ASYMMETRIC_ALGORITHMS;
        const pem = settings.publicKeyPem;
        // importSPKI binds a key to one algorithm: import lazily for the algorithm the token names, then reuse it.
        const byAlg = new Map<string, Promise<CryptoKey>>();
        this.keyLookup = (header) => {
          const alg = header.alg;
          let key = byAlg.get(alg);
          if (!key) {
            key = importSPKI(pem, alg);
            byAlg.set(alg, key);
            key.catch(() => byAlg.delete(alg));
          }
          return key;
        };
        break;
      }
      case 'jwks': {
        this.algorithms = ASYMMETRIC_ALGORITHMS;
        const resolver = new JwksKeyResolver(settings.jwksUrl, {
          cacheMaxAgeMs: settings.cacheMaxAgeMs,
          missRefetchCooldownMs: settings.missRefetchCooldownMs,
        });
        this.keyLookup = (header) => resolver.keyFor(header);
        break;
      }
    }
  }

  get issuer(): string | undefined {
    return this.settings.issuer;
  }

  get audience(): string | undefined {
    return this.settings.audience;
  }

  /** The verification key for a token, for callers (passport-jwt) that verify the signature themselves. */
  async keyForToken(token: string): Promise<KeyObject> {
    let header: JWTHeaderParameters;
    try {
      header = decodeProtectedHeader(token) as JWTHeaderParameters;
    } catch {
      throw new GatewayError('UNAUTHORIZED', 'token is not a JWT');
    }
    if (!header.alg || !this.algorithms.includes(header.alg)) {
      throw new GatewayError('UNAUTHORIZED', `token algorithm ${String(header.alg)} is not accepted`);
    }
    const key = await this.lookupKey(header);
    return key instanceof KeyObject ? key : KeyObject.from(key);
  }

  /**
   * Verifies size, signature, expiry, issuer, audience and lifetime (TokenLifetimePolicy), then reads the contract's
   * claims. The one verification of every entry point; throws GatewayError.
   */
  async verify(token: string): Promise<AuthenticatedUser> {
    checkTokenSize(token);
    if (this.hmacKey) {
      const checks = { issuer: this.settings.issuer, audience: this.settings.audience, clockToleranceSec: this.lifetime.clockToleranceSec };
      const claims = verifyHmacJwt(token, this.hmacKey, checks);
      return claimsToUser(claims, sessionDeadline(claims, this.lifetime), this.shared);
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, (header) => this.lookupKey(header), {
        algorithms: this.algorithms,
        issuer: this.settings.issuer,
        audience: this.settings.audience,
        clockTolerance: this.lifetime.clockToleranceSec,
      }));
    } catch (error) {
      throw toGatewayError(error);
    }
    return claimsToUser(payload, sessionDeadline(payload, this.lifetime), this.shared);
  }

  private async lookupKey(header: JWTHeaderParameters): Promise<KeyObject | CryptoKey> {
    try {
      return await this.keyLookup(header);
    } catch (error) {
      throw toGatewayError(error);
    }
  }
}

function toGatewayError(error: unknown): GatewayError {
  if (error instanceof GatewayError) return error;
  if (error instanceof errors.JWTExpired) return new GatewayError('TOKEN_EXPIRED', 'token has expired');
  if (error instanceof errors.JWTClaimValidationFailed) {
    return new GatewayError('UNAUTHORIZED', `token claim "${error.claim}" is invalid: ${error.reason}`);
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return new GatewayError('UNAUTHORIZED', 'token signature is invalid');
  if (error instanceof errors.JWKSNoMatchingKey) return new GatewayError('UNAUTHORIZED', 'no key matches the token (unknown kid)');
  if (error instanceof errors.JOSEAlgNotAllowed) return new GatewayError('UNAUTHORIZED', 'token algorithm is not accepted');
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) return new GatewayError('UNAUTHORIZED', 'token is malformed');
  if (error instanceof errors.JOSEError) return new GatewayError('UNAUTHORIZED', `token rejected (${error.code})`);
  if (error instanceof Error && error.name === 'JwksUnavailableError') {
    return new GatewayError('UNAUTHORIZED', 'signing keys are unavailable; try again shortly', { retryAfterMs: 1000 });
  }
  return new GatewayError('UNAUTHORIZED', 'token could not be verified');
}
