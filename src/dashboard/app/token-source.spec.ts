import { describe, expect, it } from 'vitest';
import { TokenSource, tokenExpiry } from './token-source.js';

/** A JWT-shaped token (unsigned: the page never checks signatures, the gateway does). */
function jwt(claims: Record<string, unknown>): string {
  const part = (value: unknown) => btoa(JSON.stringify(value)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  return `${part({ alg: 'HS256' })}.${part(claims)}.signature`;
}

const inSeconds = (s: number) => Math.floor(Date.now() / 1000) + s;

describe('tokenExpiry', () => {
  it("reads a JWT's exp in ms, and leaves alone what it cannot read", () => {
    expect(tokenExpiry(jwt({ sub: 'u', exp: 2_000_000_000 }))).toBe(2_000_000_000_000);
    expect(tokenExpiry(jwt({ sub: 'u' }))).toBeNull();
    expect(tokenExpiry('opaque-token')).toBeNull();
    expect(tokenExpiry('a.%%%.c')).toBeNull();
  });
});

describe('TokenSource, the SDK getToken of the page', () => {
  it('hands out a valid token at once, and the same one again while it has time left', async () => {
    const token = jwt({ exp: inSeconds(3600) });
    const tokens = new TokenSource(token);
    await expect(tokens.get()).resolves.toBe(token);
    await expect(tokens.get()).resolves.toBe(token);
    expect(tokens.reason).toBeNull();
  });

  it('asked again for a token close to its end (the expiry warning), asks the person and answers with the new one', async () => {
    const tokens = new TokenSource(jwt({ exp: inSeconds(60) }));
    await tokens.get(); // at connect: still valid, handed out
    const fresh = tokens.get(); // auth:expiring: the SDK wants a fresh one
    expect(tokens.reason).toMatch(/^Your token expires at \d\d:\d\d:\d\d\. Paste a fresh one/);
    expect(tokens.isWaiting).toBe(true);
    const next = jwt({ exp: inSeconds(3600) });
    tokens.provide(next);
    await expect(fresh).resolves.toBe(next);
    expect(tokens.reason).toBeNull();
    expect(tokens.isWaiting).toBe(false);
  });

  it('never hands out an expired token, nor none', async () => {
    const expired = new TokenSource(jwt({ exp: inSeconds(-5) }));
    const answer = expired.get();
    expect(expired.reason).toBe('Your token has expired. Paste a fresh one to reconnect.');
    expired.provide('opaque-token');
    await expect(answer).resolves.toBe('opaque-token');

    const none = new TokenSource(null);
    void none.get();
    expect(none.reason).toMatch(/^Open the dashboard address the gateway printed/);
    none.dismiss();
    expect(none.reason).toBeNull();
    // Dismissed, the SDK still waits; the banner repeats why.
    expect(none.isWaiting).toBe(true);
    expect(none.lastReason).toMatch(/^Open the dashboard address/);
  });

  it('hands out a token it cannot read the expiry of as it is', async () => {
    const tokens = new TokenSource('opaque-token');
    await expect(tokens.get()).resolves.toBe('opaque-token');
    await expect(tokens.get()).resolves.toBe('opaque-token');
  });
});
