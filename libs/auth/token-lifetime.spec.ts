import { describe, expect, it } from 'vitest';
import { GatewayError } from '#libs/contracts';
import { checkTokenSize, MAX_TOKEN_BYTES, sessionDeadline, type TokenLifetimePolicy } from './token-lifetime.js';

const NOW = 1_800_000_000_000;
const NOW_SEC = NOW / 1000;
const DAY_SEC = 86_400;
const production: TokenLifetimePolicy = { requireExpiry: true, maxLifetimeMs: DAY_SEC * 1000, clockToleranceSec: 5 };
const development: TokenLifetimePolicy = { ...production, requireExpiry: false };

function refusal(run: () => unknown): { code: string; message: string } {
  try {
    run();
  } catch (error) {
    if (error instanceof GatewayError) return { code: error.code, message: error.data.message };
    throw error;
  }
  throw new Error('accepted');
}

describe('token lifetime policy', () => {
  it('ends the session at exp when the lifetime is within the limit, clock tolerance included', () => {
    expect(sessionDeadline({ iat: NOW_SEC - 10, exp: NOW_SEC + 3_600 }, production, NOW)).toBe((NOW_SEC + 3_600) * 1000);
    expect(sessionDeadline({ iat: NOW_SEC, exp: NOW_SEC + DAY_SEC + 5 }, production, NOW)).toBe((NOW_SEC + DAY_SEC + 5) * 1000);
    expect(sessionDeadline({ exp: NOW_SEC + DAY_SEC }, production, NOW)).toBe((NOW_SEC + DAY_SEC) * 1000);
    expect(sessionDeadline({ iat: NOW_SEC + 5, exp: NOW_SEC + 60 }, production, NOW)).toBe((NOW_SEC + 60) * 1000);
  });

  it('refuses a lifetime over the limit, measured from iat or else from now', () => {
    expect(refusal(() => sessionDeadline({ iat: NOW_SEC, exp: NOW_SEC + DAY_SEC + 6 }, production, NOW))).toEqual({
      code: 'UNAUTHORIZED',
      message: 'token lifetime of 86406 s exceeds the limit of 86400 s',
    });
    // Issued long ago with a long life: what counts is exp - iat, not what is left of it.
    expect(refusal(() => sessionDeadline({ iat: NOW_SEC - 30 * DAY_SEC, exp: NOW_SEC + 60 }, production, NOW)).code).toBe('UNAUTHORIZED');
    expect(refusal(() => sessionDeadline({ exp: NOW_SEC + 2 * DAY_SEC }, development, NOW)).code).toBe('UNAUTHORIZED');
  });

  it('refuses an iat in the future beyond the tolerance, and claims that are not numbers', () => {
    expect(refusal(() => sessionDeadline({ iat: NOW_SEC + 6, exp: NOW_SEC + 60 }, production, NOW)).message).toBe('token claim "iat" is invalid: issued in the future');
    expect(refusal(() => sessionDeadline({ iat: '0' as unknown as number, exp: NOW_SEC + 60 }, production, NOW)).code).toBe('UNAUTHORIZED');
    expect(refusal(() => sessionDeadline({ exp: Number.POSITIVE_INFINITY }, production, NOW)).code).toBe('UNAUTHORIZED');
  });

  it('refuses a token without exp in production; elsewhere its session ends the maximum lifetime after iat or now', () => {
    expect(refusal(() => sessionDeadline({ iat: NOW_SEC }, production, NOW)).message).toBe('token has no "exp" claim: tokens must expire');
    expect(sessionDeadline({ iat: NOW_SEC - 100 }, development, NOW)).toBe((NOW_SEC - 100 + DAY_SEC) * 1000);
    expect(sessionDeadline({}, development, NOW)).toBe(NOW + DAY_SEC * 1000);
    expect(refusal(() => sessionDeadline({ iat: NOW_SEC - DAY_SEC }, development, NOW)).code).toBe('TOKEN_EXPIRED');
  });

  it('has one size limit, in bytes', () => {
    expect(() => checkTokenSize('a'.repeat(MAX_TOKEN_BYTES))).not.toThrow();
    expect(refusal(() => checkTokenSize('a'.repeat(MAX_TOKEN_BYTES + 1))).message).toBe(`token of ${MAX_TOKEN_BYTES + 1} bytes exceeds the limit of ${MAX_TOKEN_BYTES} bytes`);
    expect(refusal(() => checkTokenSize('é'.repeat(MAX_TOKEN_BYTES / 2 + 1))).code).toBe('UNAUTHORIZED');
  });
});
