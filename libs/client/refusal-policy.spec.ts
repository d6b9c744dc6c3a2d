import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '#libs/contracts';
import { classifyRefusal, REFUSAL_POLICY } from './refusal-policy.js';

describe('refusal classification', () => {
  it('has an action for every error code of the contract', () => {
    expect(Object.keys(REFUSAL_POLICY).sort()).toEqual([...ERROR_CODES].sort());
  });

  it('retries with backoff what waiting can fix', () => {
    for (const code of ['RATE_LIMITED', 'CONNECTION_LIMIT', 'ENGINE_UNAVAILABLE', 'ENGINE_TIMEOUT', 'INTERNAL', 'SLOW_CLIENT']) expect(classifyRefusal(code)).toBe('retry');
  });

  it('treats a network error (no code) and a code from a newer server as retry', () => {
    expect(classifyRefusal(undefined)).toBe('retry');
    expect(classifyRefusal('SOMETHING_NEW')).toBe('retry');
  });

  it('refreshes the token on TOKEN_EXPIRED every time, on UNAUTHORIZED once', () => {
    expect(classifyRefusal('TOKEN_EXPIRED')).toBe('refresh');
    expect(classifyRefusal('TOKEN_EXPIRED', { refreshedForUnauthorized: true })).toBe('refresh');
    expect(classifyRefusal('UNAUTHORIZED')).toBe('refresh');
    expect(classifyRefusal('UNAUTHORIZED', { refreshedForUnauthorized: true })).toBe('terminal');
  });

  it('stops on what only the application or an operator can fix', () => {
    for (const code of ['FORBIDDEN', 'NOT_ENTITLED', 'NOT_COMPLIANT', 'INVALID_REQUEST', 'UNKNOWN_SYMBOL', 'SUBSCRIPTION_LIMIT', 'DUPLICATE_ORDER']) {
      expect(classifyRefusal(code)).toBe('terminal');
    }
  });
});
