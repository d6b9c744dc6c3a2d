import { MD_CHANNELS, type Licence } from '#libs/contracts';

/** The embedded demo's default: everything, real time. Only used when no engine is configured and not in production. */
export const DEMO_LICENCE: Licence = Object.freeze({
  tier: 'demo',
  exchanges: { '*': 'realtime' },
  channels: [...MD_CHANNELS],
  maxSubscriptions: 500,
  maxConnections: 20,
  minThrottleMs: 0,
  features: ['trading'],
}) as Licence;

/** Production's default for a token without a licence: entitled to nothing (PROTOCOL.md §3). */
export const NO_LICENCE: Licence = Object.freeze({
  tier: 'none',
  exchanges: {},
  channels: [],
  maxSubscriptions: 0,
  maxConnections: 5,
  minThrottleMs: 0,
  features: [],
});

/**
 * What a revocation in a registry or a `licence.changed` event resolves to: entitled to nothing, refused at the
 * handshake and disconnected when live. It never falls back to the token's own licence.
 */
export const REVOKED_LICENCE: Licence = Object.freeze({
  tier: 'revoked',
  exchanges: {},
  channels: [],
  maxSubscriptions: 0,
  maxConnections: 0,
  minThrottleMs: 0,
  features: [],
  revoked: true,
});
