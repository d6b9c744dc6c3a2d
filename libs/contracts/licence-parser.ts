import type { Licence } from './licence.js';
import { MD_CHANNELS } from './wire.js';

export type LicenceParse = { ok: true; licence: Licence } | { ok: false; reason: string };

/**
 * Reads a licence object (a token's `lic` claim, a registry entry, a `licence.changed` event) into a Licence, or says
 * why it is not one. One parser for every source, so a licence means the same wherever it comes from. Missing counts
 * default to 0 and missing lists to empty.
 */
export function parseLicence(value: unknown): LicenceParse {
  const invalid = (reason: string): LicenceParse => ({ ok: false, reason });
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return invalid('not an object');
  const lic = value as Record<string, unknown>;
  if (typeof lic.tier !== 'string') return invalid('tier must be a string');
  if (lic.expiresAt !== undefined && (typeof lic.expiresAt !== 'number' || !Number.isFinite(lic.expiresAt))) return invalid('expiresAt must be epoch milliseconds');
  const exchanges = lic.exchanges ?? {};
  if (typeof exchanges !== 'object' || exchanges === null || Array.isArray(exchanges)) return invalid('exchanges must be an object');
  for (const access of Object.values(exchanges)) {
    if (access !== 'realtime' && access !== 'delayed') return invalid('exchange access must be "realtime" or "delayed"');
  }
  const channels = lic.channels ?? [];
  if (!Array.isArray(channels) || !channels.every((c) => (MD_CHANNELS as readonly unknown[]).includes(c))) {
    return invalid('channels must be a subset of quote, trade, book');
  }
  const features = lic.features ?? [];
  if (!Array.isArray(features) || !features.every((f) => typeof f === 'string')) return invalid('features must be strings');
  const counts: Partial<Record<'maxSubscriptions' | 'maxConnections' | 'maxTenantConnections' | 'minThrottleMs', number>> = {};
  for (const key of ['maxSubscriptions', 'maxConnections', 'maxTenantConnections', 'minThrottleMs'] as const) {
    const n = lic[key];
    if (n === undefined) continue;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) return invalid(`${key} must be a non-negative integer`);
    counts[key] = n;
  }
  const licence: Licence = {
    tier: lic.tier,
    exchanges: exchanges as Licence['exchanges'],
    channels: channels as Licence['channels'],
    maxSubscriptions: counts.maxSubscriptions ?? 0,
    maxConnections: counts.maxConnections ?? 0,
    minThrottleMs: counts.minThrottleMs ?? 0,
    features: features,
  };
  if (lic.expiresAt !== undefined) licence.expiresAt = lic.expiresAt;
  if (counts.maxTenantConnections !== undefined) licence.maxTenantConnections = counts.maxTenantConnections;
  return { ok: true, licence };
}
