import type { JWTPayload } from 'jose';
import { GatewayError, parseLicence, type ComplianceClaim, type Licence } from '#libs/contracts';
import type { SharedClaims } from './shared-claims.js';

/** Who is on the other end of a connection or HTTP request, read from a verified token. */
export interface AuthenticatedUser {
  userId: string;
  tenant: string;
  accounts: string[];
  roles: string[];
  /** The token's `lic` claim, when it carries one (a licence registry, where configured, wins over it). */
  licence?: Licence;
  compliance?: ComplianceClaim;
  /**
   * When the session ends, epoch milliseconds: the token's `exp`, or for a token without one (accepted outside
   * production only) its `iat` (else the time of verification) plus `JWT_MAX_LIFETIME`.
   */
  expiresAt: number;
}

const DEFAULT_TENANT = 'default';

/**
 * Reads the contract's claims (PROTOCOL.md §8.1) of a verified token whose session ends at `expiresAt`; a token whose
 * claims have the wrong shape is refused outright. With `shared`, the licence and roles are the copies shared by every
 * token carrying equal ones.
 */
export function claimsToUser(payload: JWTPayload, expiresAt: number, shared?: SharedClaims): AuthenticatedUser {
  const claims = payload as Record<string, unknown>;
  const sub = claims.sub;
  if (typeof sub !== 'string' || sub.length === 0 || sub.length > 256) {
    throw new GatewayError('UNAUTHORIZED', 'token has no valid "sub" claim');
  }
  const tenant = optionalString(claims.tenant, 'tenant') ?? DEFAULT_TENANT;
  const accounts = optionalStringArray(claims.accounts, 'accounts') ?? [];
  const roles = optionalStringArray(claims.roles, 'roles') ?? [];
  const licence = claims.lic === undefined ? undefined : licenceClaim(claims.lic);
  const compliance = claims.compliance === undefined ? undefined : parseCompliance(claims.compliance);
  return {
    userId: sub,
    tenant,
    accounts,
    roles: shared ? shared.roles(roles) : roles,
    licence: licence && shared ? shared.licence(licence) : licence,
    compliance,
    expiresAt,
  };
}

function optionalString(value: unknown, claim: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0) throw new GatewayError('UNAUTHORIZED', `token claim "${claim}" must be a string`);
  return value;
}

function optionalStringArray(value: unknown, claim: string): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string' && item.length > 0)) {
    throw new GatewayError('UNAUTHORIZED', `token claim "${claim}" must be an array of strings`);
  }
  return value as string[];
}

function licenceClaim(value: unknown): Licence {
  const parsed = parseLicence(value);
  if (!parsed.ok) throw new GatewayError('UNAUTHORIZED', `token claim "lic" is invalid: ${parsed.reason}`);
  return parsed.licence;
}

function parseCompliance(value: unknown): ComplianceClaim {
  if (typeof value !== 'object' || value === null) throw new GatewayError('UNAUTHORIZED', 'token claim "compliance" must be an object');
  const c = value as Record<string, unknown>;
  if (typeof c.islamic !== 'boolean') throw new GatewayError('UNAUTHORIZED', 'token claim "compliance.islamic" must be a boolean');
  if (c.board !== undefined && typeof c.board !== 'string') throw new GatewayError('UNAUTHORIZED', 'token claim "compliance.board" must be a string');
  return { islamic: c.islamic, board: c.board };
}

export function hasRole(user: AuthenticatedUser, role: string): boolean {
  return user.roles.includes(role);
}
