import { jwtVerify } from 'jose';
import {
  type AccountSubscribeResponse,
  INSTRUMENT_PATTERN,
  type MdMessage,
  type MdSubscribeResponse,
  type Namespace,
  streamName,
  type TokenClaims,
  type WelcomePayload,
} from '#libs/contracts';
import { BENCH_LICENCE } from '../lib/tokens.js';

const encoder = new TextEncoder();

/** Verifies a bench token exactly as the gateway is configured to (HS256, shared secret); throws when invalid. */
export async function verifyToken(secret: string, token: unknown): Promise<TokenClaims> {
  if (typeof token !== 'string' || token === '') throw new Error('missing token');
  const { payload } = await jwtVerify(token, encoder.encode(secret), { algorithms: ['HS256'] });
  return payload as TokenClaims;
}

export function welcomePayload(namespace: Namespace, connectionId: string, claims: TokenClaims, nodeId: string): WelcomePayload {
  return {
    connectionId,
    userId: claims.sub,
    namespace,
    node: nodeId,
    serverVersion: 'baseline',
    serverTime: Date.now(),
    limits: { maxSubscriptions: BENCH_LICENCE.maxSubscriptions, maxConnections: BENCH_LICENCE.maxConnections, minThrottleMs: 0, maxFrameBytes: 1 << 20 },
    entitlements: { tier: 'baseline', exchanges: { '*': 'realtime' }, channels: ['quote'], features: [] },
  };
}

/** The quote streams a market-data `subscribe` asks for; the baselines serve quotes only, as the bench needs. */
export function requestedQuoteStreams(payload: unknown): string[] {
  const instruments = (payload as { instruments?: unknown } | null)?.instruments;
  if (!Array.isArray(instruments)) return [];
  return instruments.filter((i): i is string => typeof i === 'string' && INSTRUMENT_PATTERN.test(i)).map((i) => streamName('quote', i));
}

export function mdSubscribeResponse(streams: string[], lastQuotes: ReadonlyMap<string, MdMessage>): MdSubscribeResponse {
  return {
    subscribed: streams.map((stream) => ({ stream, seq: lastQuotes.get(stream)?.seq ?? 0, delayed: false, delayMs: 0, throttleMs: 0 })),
    rejected: [],
    // Baselines have no trading calendar: they leave the sessions out, as a plain server would.
    sessions: [],
  };
}

/** Snapshots for new subscriptions: the last quote seen on each stream, as the protocol sends before updates. */
export function snapshotsFor(streams: string[], lastQuotes: ReadonlyMap<string, MdMessage>): MdMessage[] {
  const snapshots: MdMessage[] = [];
  for (const stream of streams) {
    const last = lastQuotes.get(stream);
    if (last) snapshots.push({ ...last, type: 'snapshot' });
  }
  return snapshots;
}

export function tokenAccounts(claims: TokenClaims): string[] {
  return Array.isArray(claims.accounts) ? claims.accounts.filter((a): a is string => typeof a === 'string') : [];
}

/** Baselines keep no account log: nothing is replayed and the seq a client starts from is not tracked. */
export function accountSubscribeResponse(accounts: string[]): AccountSubscribeResponse {
  return { accounts: accounts.map((account) => ({ account, seq: 0, replayed: 0, resetRequired: false })) };
}
