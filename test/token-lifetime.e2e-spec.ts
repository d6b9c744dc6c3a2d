import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NAMESPACES, type WireError } from '#libs/contracts';
import { collect, connectClient, expectRefused, GatewayProcess, nextEvent, request, TEST_SECRET } from './support/gateway.js';
import { freePort, ManagedProcess } from './support/processes.js';
import { FULL_LICENCE } from './support/tokens.js';

/** The token size limit of every path (libs/auth MAX_TOKEN_BYTES, docs/protocol.md §8.1). */
const MAX_TOKEN_BYTES = 16_384;
const HOUR = 3_600;

type Signer = (claims: JWTPayload) => Promise<string>;

/** Signs exactly the claims given: no `exp` or `iat` is added, so each test says which it wants. */
function signerFor(key: CryptoKey | Uint8Array, alg: 'HS256' | 'RS256' | 'ES256', kid?: string): Signer {
  return (claims) =>
    new SignJWT({ sub: 'user-1', tenant: 'acme-capital', accounts: ['ACC-1001'], roles: ['trader'], lic: FULL_LICENCE, ...claims })
      .setProtectedHeader(kid ? { alg, kid } : { alg })
      .sign(key);
}

const nowSec = () => Math.floor(Date.now() / 1000);

/** What the lifetime policy refuses in production, with the words the refusal must contain to say why. */
function lifetimeCases(): [label: string, claims: JWTPayload, code: string, message: RegExp][] {
  const now = nowSec();
  return [
    ['no exp', { iat: now - 10 }, 'UNAUTHORIZED', /no "exp" claim: tokens must expire/],
    ['no exp, no iat', {}, 'UNAUTHORIZED', /no "exp" claim/],
    ['lifetime 25 h', { iat: now - 10, exp: now - 10 + 25 * HOUR }, 'UNAUTHORIZED', /lifetime of 90000 s exceeds the limit of 86400 s/],
    ['no iat, exp in 25 h', { exp: now + 25 * HOUR }, 'UNAUTHORIZED', /lifetime of \d+ s exceeds the limit of 86400 s/],
    ['iat 2 minutes ahead', { iat: now + 120, exp: now + HOUR }, 'UNAUTHORIZED', /claim "iat" is invalid: issued in the future/],
  ];
}

async function expectPolicyOnHandshake(gateway: GatewayProcess, sign: Signer): Promise<void> {
  for (const [label, claims, code, message] of lifetimeCases()) {
    const refusal = await expectRefused(gateway.url, NAMESPACES.marketData, { auth: { token: await sign(claims) } });
    expect(refusal.data.code, label).toBe(code);
    expect(refusal.data.message, label).toMatch(message);
  }
  const now = nowSec();
  // Within the policy: a day exactly, and a token with no iat expiring in an hour.
  for (const claims of [{ iat: now - 10, exp: now - 10 + 24 * HOUR }, { exp: now + HOUR }]) {
    const { socket } = await connectClient(gateway.url, NAMESPACES.marketData, { auth: { token: await sign(claims) } });
    socket.close();
  }
}

describe('token lifetime in production (HS256)', () => {
  let gateway: GatewayProcess;
  const sign = signerFor(new TextEncoder().encode(TEST_SECRET), 'HS256');

  beforeAll(async () => {
    gateway = await GatewayProcess.start({ NODE_ENV: 'production', ENGINE_TRANSPORT: 'simulator' });
  });
  afterAll(async () => {
    await gateway.stop();
  });

  it('refuses at the handshake tokens without exp, living longer than JWT_MAX_LIFETIME, or issued in the future', async () => {
    await expectPolicyOnHandshake(gateway, sign);
  });

  it('refuses the same tokens on auth:refresh, and the connection goes on', async () => {
    const { socket } = await connectClient(gateway.url, NAMESPACES.orders, { auth: { token: await sign({ iat: nowSec(), exp: nowSec() + HOUR }) } });
    for (const [label, claims, code, message] of lifetimeCases()) {
      const answer = await request(socket, 'auth:refresh', { token: await sign(claims) });
      expect(answer.ok, label).toBe(false);
      if (!answer.ok) {
        expect(answer.error.code, label).toBe(code);
        expect(answer.error.message, label).toMatch(message);
      }
    }
    const good = await request(socket, 'auth:refresh', { token: await sign({ iat: nowSec(), exp: nowSec() + 2 * HOUR }) });
    expect(good.ok && good.data.expiresAt).toBeGreaterThan(Date.now() + HOUR * 1000);
    expect(socket.connected).toBe(true);
    socket.close();
  });

  it('refuses the same tokens over HTTP (passport-jwt on /admin), saying why', async () => {
    const get = async (claims: JWTPayload) => {
      const response = await fetch(`${gateway.url}/admin/connections`, { headers: { authorization: `Bearer ${await sign({ ...claims, roles: ['admin'] })}` } });
      return { status: response.status, body: (await response.json()) as Partial<WireError> };
    };
    for (const [label, claims, code, message] of lifetimeCases()) {
      const { status, body } = await get(claims);
      expect(status, label).toBe(401);
      expect(body.code, label).toBe(code);
      expect(body.message, label).toMatch(message);
    }
    expect((await get({ iat: nowSec(), exp: nowSec() + HOUR })).status).toBe(200);
  });

  it('has one token size limit for the handshake and auth:refresh, refused UNAUTHORIZED naming it', async () => {
    const claims = { iat: nowSec(), exp: nowSec() + HOUR };
    const sized = async (bytes: number) => {
      const bare = await sign(claims);
      const token = await sign({ ...claims, padding: 'x'.repeat(Math.ceil(((bytes - bare.length) * 3) / 4)) });
      return token;
    };
    const tooLarge = await sized(MAX_TOKEN_BYTES + 100);
    const huge = await sized(131_072);
    const fits = await sized(MAX_TOKEN_BYTES - 200);
    expect(tooLarge.length).toBeGreaterThan(MAX_TOKEN_BYTES);
    expect(fits.length).toBeLessThanOrEqual(MAX_TOKEN_BYTES);
    for (const token of [tooLarge, huge]) {
      const refusal = await expectRefused(gateway.url, NAMESPACES.marketData, { auth: { token } });
      expect(refusal.data).toMatchObject({ code: 'UNAUTHORIZED', details: { limit: MAX_TOKEN_BYTES } });
      expect(refusal.data.message).toBe(`token of ${token.length} bytes exceeds the limit of ${MAX_TOKEN_BYTES} bytes`);
    }
    const { socket } = await connectClient(gateway.url, NAMESPACES.positions, { auth: { token: fits } });
    const refused = await request(socket, 'auth:refresh', { token: tooLarge });
    expect(refused).toMatchObject({ ok: false, error: { code: 'UNAUTHORIZED', details: { limit: MAX_TOKEN_BYTES } } });
    const accepted = await request(socket, 'auth:refresh', { token: fits });
    expect(accepted.ok).toBe(true);
    expect(socket.connected).toBe(true);
    socket.close();
  });
});

describe('token lifetime in production (public key and JWKS)', () => {
  let jwksServer: Server;
  let jwksUrl: string;

  beforeAll(async () => {
    jwksServer = createServer();
    const port = await freePort();
    await new Promise<void>((resolve) => jwksServer.listen(port, '127.0.0.1', resolve));
    jwksUrl = `http://127.0.0.1:${port}/.well-known/jwks.json`;
  });
  afterAll(async () => {
    await new Promise((resolve) => jwksServer.close(resolve));
  });

  it('applies the policy to tokens verified with JWT_PUBLIC_KEY', async () => {
    const pair = await generateKeyPair('ES256', { extractable: true });
    const gateway = await GatewayProcess.start({ NODE_ENV: 'production', ENGINE_TRANSPORT: 'simulator', JWT_SECRET: '', JWT_PUBLIC_KEY: await exportSPKI(pair.publicKey) });
    try {
      await expectPolicyOnHandshake(gateway, signerFor(pair.privateKey, 'ES256'));
    } finally {
      await gateway.stop();
    }
  });

  it('applies the policy to tokens verified with keys from JWT_JWKS_URL', async () => {
    const pair = await generateKeyPair('RS256', { extractable: true });
    const keys = [{ ...(await exportJWK(pair.publicKey)), kid: 'key-1', alg: 'RS256', use: 'sig' }];
    jwksServer.on('request', (_request, response) => {
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ keys }));
    });
    const gateway = await GatewayProcess.start({ NODE_ENV: 'production', ENGINE_TRANSPORT: 'simulator', JWT_SECRET: '', JWT_JWKS_URL: jwksUrl });
    try {
      await expectPolicyOnHandshake(gateway, signerFor(pair.privateKey, 'RS256', 'key-1'));
    } finally {
      await gateway.stop();
    }
  });
});

describe('token lifetime outside production', () => {
  it('ends a session refreshed to a token without exp JWT_MAX_LIFETIME after its issue', async () => {
    const gateway = await GatewayProcess.start({ ENGINE_TRANSPORT: 'simulator', JWT_MAX_LIFETIME: '4s', TOKEN_EXPIRY_WARNING_MS: '1000' });
    try {
      const sign = signerFor(new TextEncoder().encode(TEST_SECRET), 'HS256');
      const { socket } = await connectClient(gateway.url, NAMESPACES.portfolio, { auth: { token: await sign({ iat: nowSec(), exp: nowSec() + 3 }) } });
      const errors = collect<WireError>(socket, 'error');
      const refreshedAt = Date.now();
      const refreshed = await request(socket, 'auth:refresh', { token: await sign({}) });
      expect(refreshed.ok).toBe(true);
      if (refreshed.ok) {
        expect(refreshed.data.expiresAt).toBeGreaterThanOrEqual(refreshedAt + 3_000);
        expect(refreshed.data.expiresAt).toBeLessThanOrEqual(Date.now() + 4_000);
      }
      const reason = await nextEvent<string>(socket, 'disconnect', 7_000);
      expect(reason).toBe('io server disconnect');
      expect(errors.map((e) => e.code)).toContain('TOKEN_EXPIRED');
    } finally {
      await gateway.stop();
    }
  });

  it('refuses to start with an unreadable JWT_MAX_LIFETIME, naming it', async () => {
    for (const value of ['banana', '0', '90d']) {
      const child = new ManagedProcess(
        spawn(process.execPath, ['dist/src/main.js'], { env: { PATH: process.env.PATH ?? '', PORT: String(await freePort()), JWT_MAX_LIFETIME: value }, stdio: 'pipe' }),
      );
      const { code } = await child.exited;
      expect(code, value).toBe(1);
      expect(child.output, value).toMatch(/JWT_MAX_LIFETIME: /);
    }
  });
});
