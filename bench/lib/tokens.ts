import { SignJWT } from 'jose';
import type { Licence } from '#libs/contracts';

export const BENCH_TENANT = 'bench';

/**
 * Production gateways give a token without a licence nothing (PROTOCOL.md §3), so bench tokens carry one that allows
 * every exchange and channel in real time, no throttle floor, and more subscriptions than any scenario uses.
 */
export const BENCH_LICENCE: Licence = {
  tier: 'bench',
  exchanges: { '*': 'realtime' },
  channels: ['quote', 'trade', 'book'],
  maxSubscriptions: 10_000,
  maxConnections: 100,
  minThrottleMs: 0,
  features: ['trading'],
};

export interface BenchUser {
  sub: string;
  accounts: string[];
  /** Claims added to the token (e.g. `compliance`), for targets whose checks read them. */
  claims?: Record<string, unknown>;
}

const encoder = new TextEncoder();

/** An HS256 token as the gateway and every baseline accept it. */
export async function mintToken(secret: string, user: BenchUser, ttlSeconds = 4 * 3600): Promise<string> {
  return new SignJWT({ tenant: BENCH_TENANT, accounts: user.accounts, roles: ['trader'], lic: BENCH_LICENCE, ...user.claims })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(user.sub)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds)
    .sign(encoder.encode(secret));
}

export function benchSecret(): string {
  // 48 characters: the gateway refuses HS256 secrets shorter than 32.
  return `bench-secret-${Math.random().toString(36).slice(2)}-${Date.now().toString(36)}`.padEnd(48, 'x');
}
