import { SignJWT } from 'jose';
import { ROLES, type Licence } from '#libs/contracts';

const DEVELOPMENT_TOKEN_LIFETIME_SEC = 12 * 3_600;

/**
 * A development token for the embedded demo: a trader and supervisor of the demo tenant, valid for 12 hours, or for
 * the longest lifetime the gateway accepts (`JWT_MAX_LIFETIME`) when that is shorter. `licence` goes into `lic`, for
 * a gateway with a real engine, which has no demo licence to fall back on (`npm run cluster`).
 */
export async function mintDevelopmentToken(
  secret: string,
  claims: { accounts: string[]; tenant: string; licence?: Licence },
  options: { issuer?: string; audience?: string; maxLifetimeMs?: number } = {},
): Promise<string> {
  const { issuer, audience, maxLifetimeMs } = options;
  const now = Math.floor(Date.now() / 1000);
  const lifetimeSec = Math.min(DEVELOPMENT_TOKEN_LIFETIME_SEC, maxLifetimeMs === undefined ? Infinity : Math.floor(maxLifetimeMs / 1000));
  const licence = claims.licence === undefined ? {} : { lic: claims.licence };
  let jwt = new SignJWT({ tenant: claims.tenant, accounts: claims.accounts, roles: [ROLES.trader, ROLES.supervisor, ROLES.admin], ...licence })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('demo-trader')
    .setIssuedAt(now)
    .setExpirationTime(now + lifetimeSec);
  if (issuer) jwt = jwt.setIssuer(issuer);
  if (audience) jwt = jwt.setAudience(audience);
  return jwt.sign(new TextEncoder().encode(secret));
}
