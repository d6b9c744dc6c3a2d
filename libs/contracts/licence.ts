import type { MdChannel } from './primitives.js';

export type ExchangeAccess = 'realtime' | 'delayed';

/** The licence carried by a token's `lic` claim or kept in a licence registry (PROTOCOL.md §3). */
export interface Licence {
  tier: string;
  expiresAt?: number;
  /** Per exchange code; the key `*` applies to every exchange not named. */
  exchanges: Record<string, ExchangeAccess>;
  channels: MdChannel[];
  maxSubscriptions: number;
  /** Seats (dashboard connections) per user; 0 means no limit. */
  maxConnections: number;
  /** Seats per tenant, shared by every user of the tenant; absent or 0 means no tenant limit. */
  maxTenantConnections?: number;
  minThrottleMs: number;
  features: string[];
  /** Set only by a registry or engine revocation (never by a token): the licence entitles nothing. */
  revoked?: boolean;
}

export interface ComplianceClaim {
  islamic: boolean;
  board?: string;
}

/** Claims read from a verified JWT. */
export interface TokenClaims {
  sub: string;
  tenant?: string;
  accounts?: string[];
  roles?: string[];
  lic?: Licence;
  compliance?: ComplianceClaim;
  exp?: number;
  iat?: number;
  iss?: string;
  aud?: string | string[];
  [claim: string]: unknown;
}

export const ROLES = {
  viewer: 'viewer',
  trader: 'trader',
  supervisor: 'supervisor',
  admin: 'admin',
} as const;
