import type { Licence } from '#libs/contracts';
import { REVOKED_LICENCE } from './default-licences.js';
import { sameLicence } from './entitlements.js';
import type { LicenceRegistry, LicenceScope, LicenceScopeKind } from './licence-registry.js';

/** The parts of a user a licence is resolved from (kept structural so this library does not depend on auth). */
export interface LicenceHolder {
  userId: string;
  tenant: string;
  licence?: Licence;
}

export type LicenceChangeSource = 'file' | 'redis' | 'engine';

export interface LicenceChange {
  source: LicenceChangeSource;
  scopes: LicenceScope[];
}

/**
 * Resolves the licence that applies to a user, most specific first: the user's entry, then its tenant's, each from a
 * `licence.changed` engine event if one was received (the latest word) else from the registry; then the token's `lic`
 * claim; then the deployment's default. A revocation anywhere in that order stops the search: it never falls back to
 * the token's licence. Listeners hear which users and tenants changed, to apply it to live connections.
 */
export class LicenceResolver {
  private readonly overrides: Record<LicenceScopeKind, Map<string, Licence>> = { user: new Map(), tenant: new Map() };
  private readonly listeners = new Set<(change: LicenceChange) => void>();

  constructor(
    private readonly defaultLicence: Licence,
    private readonly registry?: LicenceRegistry,
  ) {}

  resolve(holder: LicenceHolder): Licence {
    return this.entry('user', holder.userId) ?? this.entry('tenant', holder.tenant) ?? holder.licence ?? this.defaultLicence;
  }

  get registryKind(): LicenceRegistry['kind'] | undefined {
    return this.registry?.kind;
  }

  /** A `licence.changed` engine event: `licence` sets, 'revoked' revokes, null clears this replica's override. */
  applyEngineChange(scope: LicenceScope, licence: Licence | 'revoked' | null): void {
    const map = this.overrides[scope.kind];
    const before = map.get(scope.id);
    const after = licence === 'revoked' ? REVOKED_LICENCE : (licence ?? undefined);
    if (before === after || (before && after && sameLicence(before, after))) return;
    if (after) map.set(scope.id, after);
    else map.delete(scope.id);
    this.emit({ source: 'engine', scopes: [scope] });
  }

  /** Returns the unsubscribe function. */
  onChange(listener: (change: LicenceChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Nest lifecycle (the resolver is a value provider): the registry is loaded before the gateway listens. */
  async onModuleInit(): Promise<void> {
    const registry = this.registry;
    if (registry) await registry.start((scopes) => this.emit({ source: registry.kind, scopes }));
  }

  async onApplicationShutdown(): Promise<void> {
    await this.registry?.stop();
  }

  /** The entry in effect for one user or tenant (an engine override, else the registry's), if any: what a change set. */
  entryOf(scope: LicenceScope): Licence | undefined {
    return this.entry(scope.kind, scope.id);
  }

  private entry(kind: LicenceScopeKind, id: string): Licence | undefined {
    return this.overrides[kind].get(id) ?? this.registry?.lookup(kind, id);
  }

  private emit(change: LicenceChange): void {
    for (const listener of this.listeners) listener(change);
  }
}
