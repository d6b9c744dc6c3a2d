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
  if (isLicenceExpired(licence, now)) return { code: 'NOT_ENTITLED', message: 'licence has expired' };
  if (!licence.channels.includes(channel)) return { code: 'NOT_ENTITLED', message: `licence does not include the ${channel} channel` };
  if (!exchangeAccess(licence, exchange)) return { code: 'NOT_ENTITLED', message: `licence does not include ${exchange}` };
  return null;
}

export function isLicenceExpired(licence: Licence, now = Date.now()): boolean {
  return licence.expiresAt !== undefined && licence.expiresAt <= now;
}

export function hasFeature(licence: Licence, feature: string): boolean {
  return licence.features.includes(feature);
}

export function entitlementsOf(licence: Licence): Entitlements {
  return { tier: licence.tier, exchanges: licence.exchanges, channels: licence.channels, features: licence.features };
}
