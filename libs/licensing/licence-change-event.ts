import { isPlausibleEngineTime, parseLicence, type Licence } from '#libs/contracts';
import type { LicenceScope } from './licence-registry.js';

export interface LicenceChangeCommand {
  scope: LicenceScope;
  /** The new licence, 'revoked', or null: the override is cleared and the registry or token applies again. */
  licence: Licence | 'revoked' | null;
  ts: number;
}

/** Validates a `licence.changed` engine event (EngineLicenceChanged) into what the resolver applies. */
export function validateLicenceChanged(payload: unknown): { ok: true; value: LicenceChangeCommand } | { ok: false; reason: string } {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return { ok: false, reason: 'not an object' };
  const event = payload as Record<string, unknown>;
  if (!isPlausibleEngineTime(event.ts)) return { ok: false, reason: 'ts is not plausible epoch milliseconds' };
  const userId = event.userId;
  const tenant = event.tenant;
  const validId = (value: unknown) => typeof value === 'string' && value.length > 0 && value.length <= 256;
  if ((userId === undefined) === (tenant === undefined)) return { ok: false, reason: 'exactly one of userId and tenant is required' };
  if (userId !== undefined && !validId(userId)) return { ok: false, reason: 'userId is not a string' };
  if (tenant !== undefined && !validId(tenant)) return { ok: false, reason: 'tenant is not a string' };
  const scope: LicenceScope = userId !== undefined ? { kind: 'user', id: userId as string } : { kind: 'tenant', id: tenant as string };
  if (event.revoked !== undefined && typeof event.revoked !== 'boolean') return { ok: false, reason: 'revoked is not a boolean' };
  if (event.revoked === true) {
    if (event.licence !== undefined && event.licence !== null) return { ok: false, reason: 'a revocation carries no licence' };
    return { ok: true, value: { scope, licence: 'revoked', ts: event.ts } };
  }
  if (event.licence === undefined || event.licence === null) return { ok: true, value: { scope, licence: null, ts: event.ts } };
  const parsed = parseLicence(event.licence);
  if (!parsed.ok) return { ok: false, reason: `licence: ${parsed.reason}` };
  return { ok: true, value: { scope, licence: parsed.licence, ts: event.ts } };
}
