import { SignJWT, type JWTPayload, type CryptoKey } from 'jose';
import { TEST_SECRET } from './gateway.js';

export interface TestClaims extends JWTPayload {
  tenant?: string;
  accounts?: string[];
  roles?: string[];
  lic?: Record<string, unknown>;
}

/** An HS256 token signed with the test gateways' secret; `expiresIn` in seconds (negative: already expired). */
export async function hsToken(claims: TestClaims = {}, options: { expiresIn?: number; secret?: string; issuer?: string; audience?: string } = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  let jwt = new SignJWT({ tenant: 'acme-capital', accounts: ['ACC-1001'], roles: ['trader'], ...claims })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(claims.sub ?? 'user-1')
    .setIssuedAt(now - 10)
    .setExpirationTime(now + (options.expiresIn ?? 3600));
  if (options.issuer) jwt = jwt.setIssuer(options.issuer);
  if (options.audience) jwt = jwt.setAudience(options.audience);
  return jwt.sign(new TextEncoder().encode(options.secret ?? TEST_SECRET));
}

export async function asymmetricToken(key: CryptoKey, alg: 'RS256' | 'ES256', kid: string | undefined, claims: TestClaims = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ tenant: 'acme-capital', accounts: ['ACC-1001'], roles: ['trader'], ...claims })
    .setProtectedHeader(kid ? { alg, kid } : { alg })
    .setSubject(claims.sub ?? 'user-1')
    .setIssuedAt(now - 10)
    .setExpirationTime(now + 3600)
    .sign(key);
}

/** A licence claim entitling real-time everything: production gateways give a token without one nothing. */
export const FULL_LICENCE = {
  tier: 'enterprise',
  exchanges: { '*': 'realtime' },
  channels: ['quote', 'trade', 'book'],
  maxSubscriptions: 1000,
  maxConnections: 50,
  minThrottleMs: 0,
  features: ['trading'],
};
