import type { Entitlements, ErrorCode, ExchangeAccess, Licence, MdChannel } from '#libs/contracts';

/** How a licence lets its holder see an exchange: real time, delayed, or not at all (null). */
export function exchangeAccess(licence: Licence, exchange: string): ExchangeAccess | null {
  return licence.exchanges[exchange] ?? licence.exchanges['*'] ?? null;
}

export interface EntitlementRefusal {
  code: ErrorCode;
  message: string;
}

/** Null when the licence allows `channel` data of `exchange`; otherwise the contract's refusal. */
export function checkMarketDataEntitlement(licence: Licence, exchange: string, channel: MdChannel, now = Date.now()): EntitlementRefusal | null {
  const unusable = licenceUnusable(licence, now);
  if (unusable) return { code: 'NOT_ENTITLED', message: unusable };
  if (!licence.channels.includes(channel)) return { code: 'NOT_ENTITLED', message: `licence does not include the ${channel} channel` };
  if (!exchangeAccess(licence, exchange)) return { code: 'NOT_ENTITLED', message: `licence does not include ${exchange}` };
  return null;
}

export function isLicenceExpired(licence: Licence, now = Date.now()): boolean {
  return licence.expiresAt !== undefined && licence.expiresAt <= now;
}

/** Why a licence entitles nothing at all (revoked or expired), or null while it is live. */
export function licenceUnusable(licence: Licence, now = Date.now()): string | null {
  if (licence.revoked) return 'licence has been revoked';
  if (isLicenceExpired(licence, now)) return 'licence has expired';
  return null;
}

/**
 * What @RequiresEntitlement checks before a request handler runs: a live licence (not revoked, not expired) holding
 * every named feature. Null when it passes, otherwise the NOT_ENTITLED message.
 */
export function requirementRefusal(licence: Licence | undefined, features: readonly string[], now = Date.now()): string | null {
  if (!licence) return 'no licence';
  const unusable = licenceUnusable(licence, now);
  if (unusable) return unusable;
  const missing = features.filter((feature) => !licence.features.includes(feature));
  if (missing.length > 0) return `licence does not include the ${missing.join(', ')} feature${missing.length > 1 ? 's' : ''}`;
  return null;
}

/** Two licences that entitle exactly the same (key order does not matter). */
export function sameLicence(a: Licence, b: Licence): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return `{${entries
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

export function hasFeature(licence: Licence, feature: string): boolean {
  return licence.features.includes(feature);
}

export function entitlementsOf(licence: Licence): Entitlements {
  return { tier: licence.tier, exchanges: licence.exchanges, channels: licence.channels, features: licence.features };
}
