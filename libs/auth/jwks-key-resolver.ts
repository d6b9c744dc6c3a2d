import { createLocalJWKSet, errors, type CryptoKey, type JSONWebKeySet, type JWTHeaderParameters } from 'jose';

export class JwksUnavailableError extends Error {
  override name = 'JwksUnavailableError';
}

/**
 * Keys from a JWKS URL, cached. A token whose `kid` is not in the cache triggers one refetch (key rotation works
 * without a restart); misses within the cooldown share that refetch, so a flood of made-up kids cannot hammer the
 * identity provider.
 */
export class JwksKeyResolver {
  private keySet: ReturnType<typeof createLocalJWKSet> | null = null;
  private fetchedAt = 0;
  private lastMissRefetchAt = 0;
  private inflight: Promise<void> | null = null;
  private readonly cacheMaxAgeMs: number;
  private readonly missRefetchCooldownMs: number;

  constructor(
    private readonly url: string,
    options: { cacheMaxAgeMs?: number; missRefetchCooldownMs?: number; fetchTimeoutMs?: number } = {},
  ) {
    this.cacheMaxAgeMs = options.cacheMaxAgeMs ?? 10 * 60_000;
    this.missRefetchCooldownMs = options.missRefetchCooldownMs ?? 1_000;
    this.fetchTimeoutMs = options.fetchTimeoutMs ?? 5_000;
  }

  private readonly fetchTimeoutMs: number;

  async keyFor(header: JWTHeaderParameters): Promise<CryptoKey> {
    if (!this.keySet || Date.now() - this.fetchedAt > this.cacheMaxAgeMs) await this.refresh();
    try {
      return await this.match(header);
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey)) throw error;
      const now = Date.now();
      if (now - this.lastMissRefetchAt < this.missRefetchCooldownMs) {
        if (this.inflight) await this.inflight;
        return this.match(header);
      }
      this.lastMissRefetchAt = now;
      await this.refresh();
      return this.match(header);
    }
  }

  private async match(header: JWTHeaderParameters): Promise<CryptoKey> {
    if (!this.keySet) throw new JwksUnavailableError('no JWKS loaded');
    const key = await this.keySet(header, { payload: '', signature: '' });
    return key;
  }

  private refresh(): Promise<void> {
    this.inflight ??= this.fetchKeys().finally(() => {
      this.inflight = null;
    });
    return this.inflight;
  }

  private async fetchKeys(): Promise<void> {
    let body: unknown;
    try {
      const response = await fetch(this.url, { signal: AbortSignal.timeout(this.fetchTimeoutMs), headers: { accept: 'application/json' } });
      if (!response.ok) throw new JwksUnavailableError(`JWKS endpoint answered ${response.status}`);
      body = await response.json();
    } catch (error) {
      if (this.keySet) return; // keep serving the keys we have; the next miss tries again
      throw error instanceof JwksUnavailableError ? error : new JwksUnavailableError(`JWKS fetch failed: ${String(error)}`);
    }
    if (!isJwks(body)) {
      if (this.keySet) return;
      throw new JwksUnavailableError('JWKS endpoint did not return a key set');
    }
    this.keySet = createLocalJWKSet(body);
    this.fetchedAt = Date.now();
  }
}

function isJwks(value: unknown): value is JSONWebKeySet {
  return typeof value === 'object' && value !== null && Array.isArray((value as { keys?: unknown }).keys);
}
