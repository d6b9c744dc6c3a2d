import { createSecretKey } from 'node:crypto';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '#libs/contracts';
import { verifyHmacJwt } from './hmac-jwt.js';

const SECRET = 'unit-test-secret-of-at-least-32-characters';
const key = createSecretKey(Buffer.from(SECRET));
const checks = { issuer: 'idp', audience: 'tradewire', clockToleranceSec: 5 };

async function sign(alg: 'HS256' | 'HS384' | 'HS512', claims: Record<string, unknown> = {}, secret = SECRET): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ iss: 'idp', aud: 'tradewire', exp: now + 60, ...claims }).setProtectedHeader({ alg }).setSubject('u').sign(new TextEncoder().encode(secret));
}

function codeOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof GatewayError) return error.code;
    throw error;
  }
  return 'ok';
}

describe('synchronous HMAC JWT verification', () => {
  it('accepts what jose signs, for every HMAC algorithm', async () => {
    for (const alg of ['HS256', 'HS384', 'HS512'] as const) expect(verifyHmacJwt(await sign(alg), key, checks).sub).toBe('u');
  });

  it('refuses tampering, other secrets, none and asymmetric algorithms', async () => {
    const token = await sign('HS256');
    const [h, p, s] = token.split('.') as [string, string, string];
    const forged = Buffer.from(JSON.stringify({ sub: 'admin', iss: 'idp', aud: 'tradewire' })).toString('base64url');
    expect(codeOf(() => verifyHmacJwt(`${h}.${forged}.${s}`, key, checks))).toBe('UNAUTHORIZED');
    expect(codeOf(() => verifyHmacJwt(`${h}.${p}.`, key, checks))).toBe('UNAUTHORIZED');
    const none = Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url');
    expect(codeOf(() => verifyHmacJwt(`${none}.${p}.`, key, checks))).toBe('UNAUTHORIZED');
    const rs = Buffer.from(JSON.stringify({ alg: 'RS256' })).toString('base64url');
    expect(codeOf(() => verifyHmacJwt(`${rs}.${p}.${s}`, key, checks))).toBe('UNAUTHORIZED');
    const token1 = await sign('HS256', {}, 'another-secret-of-at-least-32-characters!!');
    expect(codeOf(() => verifyHmacJwt(token1, key, checks))).toBe('UNAUTHORIZED');
    expect(codeOf(() => verifyHmacJwt('a.b', key, checks))).toBe('UNAUTHORIZED');
  });

  it('checks exp (TOKEN_EXPIRED, with clock tolerance), nbf, iss and aud', async () => {
    const now = Math.floor(Date.now() / 1000);
    const token2 = await sign('HS256', { exp: now - 60 });
    expect(codeOf(() => verifyHmacJwt(token2, key, checks))).toBe('TOKEN_EXPIRED');
    const token3 = await sign('HS256', { exp: now - 2 });
    expect(codeOf(() => verifyHmacJwt(token3, key, checks))).toBe('ok');
    const token4 = await sign('HS256', { nbf: now + 600 });
    expect(codeOf(() => verifyHmacJwt(token4, key, checks))).toBe('UNAUTHORIZED');
    const token5 = await sign('HS256', { iss: 'evil' });
    expect(codeOf(() => verifyHmacJwt(token5, key, checks))).toBe('UNAUTHORIZED');
    const token6 = await sign('HS256', { aud: ['other', 'tradewire'] });
    expect(codeOf(() => verifyHmacJwt(token6, key, checks))).toBe('ok');
    const token7 = await sign('HS256', { aud: 'other' });
    expect(codeOf(() => verifyHmacJwt(token7, key, checks))).toBe('UNAUTHORIZED');
    const token8 = await sign('HS256', { exp: 'soon' });
    expect(codeOf(() => verifyHmacJwt(token8, key, checks))).toBe('UNAUTHORIZED');
  });
});
