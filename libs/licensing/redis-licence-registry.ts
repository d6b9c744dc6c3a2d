import type { Redis } from 'ioredis';
import type { Licence } from '#libs/contracts';
import type { Logger } from '#libs/observability';
import {
  changedScopes,
  emptyRegistryEntries,
  parseRegistryEntry,
  redisLicenceKey,
  REDIS_LICENCE_CHANNEL,
  REDIS_LICENCE_KEY_PREFIX,
  scopeOfRedisKey,
  type LicenceRegistry,
  type LicenceScope,
  type LicenceScopeKind,
  type RegistryEntries,
} from './licence-registry.js';

/**
 * `LICENCE_REGISTRY=redis`: one JSON string per tenant (`tradewire:licence:tenant:<tenant>`) and user
 * (`tradewire:licence:user:<userId>`), mirrored in memory. A write is followed by a PUBLISH of its key on
 * `tradewire:licence:changed`, so every replica re-reads that key at once; a full re-read at start, after every
 * reconnect of the subscriber and every `resyncMs` catches a write whose announcement was missed.
 */
export class RedisLicenceRegistry implements LicenceRegistry {
  readonly kind = 'redis';
  private entries: RegistryEntries = emptyRegistryEntries();
  private resync?: NodeJS.Timeout;
  private onChange: (scopes: LicenceScope[]) => void = () => undefined;
  private started = false;

  constructor(
    private readonly client: Redis,
    private readonly subscriber: Redis,
    private readonly logger: Logger,
    private readonly resyncMs = 30_000,
  ) {}

  lookup(kind: LicenceScopeKind, id: string): Licence | undefined {
    return (kind === 'user' ? this.entries.users : this.entries.tenants).get(id);
  }

  async start(onChange: (scopes: LicenceScope[]) => void): Promise<void> {
    this.onChange = onChange;
    this.subscriber.on('message', (channel: string, key: string) => {
      if (channel === REDIS_LICENCE_CHANNEL) void this.refreshKey(key);
    });
    // A subscriber that reconnects may have missed announcements: read everything again.
    this.subscriber.on('ready', () => {
      if (this.started) void this.reloadAll();
    });
    await this.subscriber.subscribe(REDIS_LICENCE_CHANNEL);
    await this.reloadAll();
    this.started = true;
    this.logger.info({ users: this.entries.users.size, tenants: this.entries.tenants.size }, 'licence registry loaded from redis');
    this.resync = setInterval(() => void this.reloadAll(), this.resyncMs);
    this.resync.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.resync);
    await Promise.allSettled([this.subscriber.quit(), this.client.quit()]);
  }

  private async refreshKey(key: string): Promise<void> {
    const scope = scopeOfRedisKey(key);
    if (!scope) return;
    try {
      const value = await this.client.get(key);
      const map = scope.kind === 'user' ? this.entries.users : this.entries.tenants;
      const before = map.get(scope.id);
      const next = value === null ? undefined : this.parse(key, value);
      if (next === null) return; // unreadable: the last good entry stays
      const after: RegistryEntries = emptyRegistryEntries();
      const was: RegistryEntries = emptyRegistryEntries();
      if (before) (scope.kind === 'user' ? was.users : was.tenants).set(scope.id, before);
      if (next) (scope.kind === 'user' ? after.users : after.tenants).set(scope.id, next);
      if (changedScopes(was, after).length === 0) return;
      if (next) map.set(scope.id, next);
      else map.delete(scope.id);
      this.onChange([scope]);
    } catch (error) {
      this.logger.warn({ err: error, key }, 'licence registry entry could not be read');
    }
  }

  private async reloadAll(): Promise<void> {
    try {
      const keys: string[] = [];
      let cursor = '0';
      do {
        const [next, batch] = await this.client.scan(cursor, 'MATCH', `${REDIS_LICENCE_KEY_PREFIX}*`, 'COUNT', 1000);
        cursor = next;
        keys.push(...batch);
      } while (cursor !== '0');
      const next = emptyRegistryEntries();
      for (let i = 0; i < keys.length; i += 500) {
        const batch = keys.slice(i, i + 500);
        const values = await this.client.mget(...batch);
        batch.forEach((key, index) => {
          const scope = scopeOfRedisKey(key);
          const value = values[index];
          if (!scope || value === null || value === undefined) return;
          const map = scope.kind === 'user' ? next.users : next.tenants;
          const parsed = this.parse(key, value);
          // An unreadable entry keeps its last good value rather than falling back to the token's licence.
          const kept = parsed ?? (scope.kind === 'user' ? this.entries.users : this.entries.tenants).get(scope.id);
          if (kept) map.set(scope.id, kept);
        });
      }
      const scopes = changedScopes(this.entries, next);
      this.entries = next;
      if (scopes.length > 0 && this.started) this.onChange(scopes);
    } catch (error) {
      this.logger.warn({ err: error }, 'licence registry could not be read from redis; keeping the entries in memory');
    }
  }

  private parse(key: string, value: string): Licence | null {
    let json: unknown;
    try {
      json = JSON.parse(value) as unknown;
    } catch {
      this.logger.error({ key }, 'licence registry entry is not valid JSON; keeping the last good one');
      return null;
    }
    const parsed = parseRegistryEntry(json);
    if (!parsed.ok) {
      this.logger.error({ key, reason: parsed.reason }, 'licence registry entry is invalid; keeping the last good one');
      return null;
    }
    return parsed.licence;
  }
}

/**
 * Sets (a licence), revokes (`'revoked'`) or removes (`null`: the token's licence applies again) one registry entry and
 * announces it, atomically, so every replica applies it within a second. What an admin tool or a test calls; the
 * same as the redis-cli commands in docs/operations.md.
 */
export async function writeRegistryEntry(redis: Redis, kind: LicenceScopeKind, id: string, entry: Licence | 'revoked' | null): Promise<void> {
  const key = redisLicenceKey(kind, id);
  const multi = redis.multi();
  if (entry === null) multi.del(key);
  else multi.set(key, JSON.stringify(entry === 'revoked' ? { revoked: true } : entry));
  multi.publish(REDIS_LICENCE_CHANNEL, key);
  await multi.exec();
}
