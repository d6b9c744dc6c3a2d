import { parseLicence, type Licence } from '#libs/contracts';
import { REVOKED_LICENCE } from './default-licences.js';
import { sameLicence } from './entitlements.js';

// Whose licence changed (one user, or every user of a tenant): a contract, shared with the engine event's validator.
import type { LicenceScope, LicenceScopeKind } from '#libs/contracts';
export type { LicenceScope, LicenceScopeKind };

/** A registry's entries: a user's entry wins over its tenant's. A revocation is REVOKED_LICENCE. */
export interface RegistryEntries {
  users: Map<string, Licence>;
  tenants: Map<string, Licence>;
}

/**
 * Where licences are kept apart from tokens (`LICENCE_REGISTRY`). Lookups are synchronous (the handshake asks on
 * every connect), so a registry keeps its entries in memory and reports what changed as it learns of it.
 */
export interface LicenceRegistry {
  readonly kind: 'file' | 'redis';
  lookup(kind: LicenceScopeKind, id: string): Licence | undefined;
  start(onChange: (scopes: LicenceScope[]) => void): Promise<void>;
  stop(): Promise<void>;
}

export type RegistryEntryParse = { ok: true; licence: Licence } | { ok: false; reason: string };

/** One registry entry: a licence object, or a revocation written as `{ "revoked": true }` (or `null`). */
export function parseRegistryEntry(value: unknown): RegistryEntryParse {
  if (value === null) return { ok: true, licence: REVOKED_LICENCE };
  if (typeof value === 'object' && !Array.isArray(value) && (value as { revoked?: unknown }).revoked === true) return { ok: true, licence: REVOKED_LICENCE };
  return parseLicence(value);
}

/**
 * The file registry's document: `{ "tenants": { "<tenant>": entry }, "users": { "<userId>": entry } }`, both
 * optional. Throws with a message naming the first bad entry: a file with one bad entry is refused as a whole.
 */
export function parseRegistryDocument(text: string): RegistryEntries {
  let document: unknown;
  try {
    document = JSON.parse(text) as unknown;
  } catch (error) {
    throw new Error(`not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (typeof document !== 'object' || document === null || Array.isArray(document)) throw new Error('the document must be an object with "tenants" and/or "users"');
  const unknownKeys = Object.keys(document).filter((key) => key !== 'tenants' && key !== 'users' && !key.startsWith('$'));
  if (unknownKeys.length > 0) throw new Error(`unknown top-level key(s) ${unknownKeys.join(', ')}: expected "tenants" and "users"`);
  const section = (name: 'tenants' | 'users'): Map<string, Licence> => {
    const raw = (document as Record<string, unknown>)[name] ?? {};
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`"${name}" must be an object keyed by ${name === 'users' ? 'user id' : 'tenant'}`);
    const entries = new Map<string, Licence>();
    for (const [id, value] of Object.entries(raw)) {
      const parsed = parseRegistryEntry(value);
      if (!parsed.ok) throw new Error(`${name}.${id}: ${parsed.reason}`);
      entries.set(id, parsed.licence);
    }
    return entries;
  };
  return { tenants: section('tenants'), users: section('users') };
}

/** Every user and tenant whose entry was added, changed or removed between two versions of a registry. */
export function changedScopes(before: RegistryEntries, after: RegistryEntries): LicenceScope[] {
  const changed: LicenceScope[] = [];
  const compare = (kind: LicenceScopeKind, a: Map<string, Licence>, b: Map<string, Licence>) => {
    for (const id of new Set([...a.keys(), ...b.keys()])) {
      const x = a.get(id);
      const y = b.get(id);
      if (!x || !y || !sameLicence(x, y)) changed.push({ kind, id });
    }
  };
  compare('tenant', before.tenants, after.tenants);
  compare('user', before.users, after.users);
  return changed;
}

export function emptyRegistryEntries(): RegistryEntries {
  return { users: new Map(), tenants: new Map() };
}

/** Redis keys of the registry: one JSON string per tenant or user. */
export const REDIS_LICENCE_KEY_PREFIX = 'tradewire:licence:';
/** Published after every write with the key that changed, so every replica re-reads it at once. */
export const REDIS_LICENCE_CHANNEL = 'tradewire:licence:changed';

export function redisLicenceKey(kind: LicenceScopeKind, id: string): string {
  return `${REDIS_LICENCE_KEY_PREFIX}${kind}:${id}`;
}

/** `tradewire:licence:user:u-1` → `{ kind: 'user', id: 'u-1' }`; null for any other key. */
export function scopeOfRedisKey(key: string): LicenceScope | null {
  if (!key.startsWith(REDIS_LICENCE_KEY_PREFIX)) return null;
  const rest = key.slice(REDIS_LICENCE_KEY_PREFIX.length);
  const colon = rest.indexOf(':');
  if (colon < 0) return null;
  const kind = rest.slice(0, colon);
  const id = rest.slice(colon + 1);
  if ((kind !== 'user' && kind !== 'tenant') || id.length === 0) return null;
  return { kind, id };
}
