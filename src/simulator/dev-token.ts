import { SignJWT } from 'jose';
import { ROLES } from '#libs/contracts';

/** A development token for the embedded demo: a trader and supervisor of the demo tenant, valid for 12 hours. */
export async function mintDevelopmentToken(secret: string, claims: { accounts: string[]; tenant: string }, issuer?: string, audience?: string): Promise<string> {
  let jwt = new SignJWT({ tenant: claims.tenant, accounts: claims.accounts, roles: [ROLES.trader, ROLES.supervisor, ROLES.admin] })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('demo-trader')
    .setIssuedAt()
    .setExpirationTime('12h');
  if (issuer) jwt = jwt.setIssuer(issuer);
  if (audience) jwt = jwt.setAudience(audience);
  return jwt.sign(new TextEncoder().encode(secret));
}
