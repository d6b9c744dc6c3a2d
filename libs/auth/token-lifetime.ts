import type { JWTPayload } from 'jose';
import { GatewayError } from '#libs/contracts';

/**
 * The largest token accepted on any path (handshake, `auth:refresh`, HTTP), in bytes. Identity providers' tokens are
 * one or two kilobytes, licence claim included; this leaves room for large claims while a token that is mostly padding
 * is refused before its signature is computed.
 */
export const MAX_TOKEN_BYTES = 16_384;

/** `JWT_MAX_LIFETIME`'s default: a token may be valid for at most a day. */
export const DEFAULT_MAX_TOKEN_LIFETIME_MS = 86_400_000;

/** How long a verified token may keep a session open; the same on every path that verifies tokens. */
export interface TokenLifetimePolicy {
  /** Tokens without `exp` are refused (NODE_ENV=production): a session must end. */
  requireExpiry: boolean;
  /** The longest lifetime accepted: `exp - iat`, or `exp - now` when `iat` is absent. */
  maxLifetimeMs: number;
  /** Leeway for the clocks of the identity provider and the gateway, for `exp`, `nbf` and `iat`. */
  clockToleranceSec: number;
}

/** Refuses a token that is too large to be verified at all; called before its signature is computed. */
export function checkTokenSize(token: string): void {
  const bytes = token.length > MAX_TOKEN_BYTES ? token.length : Buffer.byteLength(token);
  if (bytes > MAX_TOKEN_BYTES) {
    throw new GatewayError('UNAUTHORIZED', `token of ${bytes} bytes exceeds the limit of ${MAX_TOKEN_BYTES} bytes`, { details: { limit: MAX_TOKEN_BYTES } });
  }
}

/**
 * Checks a verified token's `exp` and `iat` against the policy and returns when the session it opens must end, epoch
 * milliseconds. A token without `exp` (accepted outside production only) ends `maxLifetimeMs` after it was issued, or
 * after now when it has no `iat`: no session outlives the policy, also after an `auth:refresh` to such a token.
 */
export function sessionDeadline(payload: JWTPayload, policy: TokenLifetimePolicy, now = Date.now()): number {
  const nowSec = now / 1000;
  const tolerance = policy.clockToleranceSec;
  const { exp, iat } = payload;
  if (exp !== undefined && (typeof exp !== 'number' || !Number.isFinite(exp))) throw invalidClaim('exp', 'not a number');
  if (iat !== undefined && (typeof iat !== 'number' || !Number.isFinite(iat))) throw invalidClaim('iat', 'not a number');
  if (iat !== undefined && iat > nowSec + tolerance) throw invalidClaim('iat', 'issued in the future');
  const maxLifetimeSec = policy.maxLifetimeMs / 1000;
  if (exp === undefined) {
    if (policy.requireExpiry) throw new GatewayError('UNAUTHORIZED', 'token has no "exp" claim: tokens must expire');
    const deadline = ((iat ?? nowSec) + maxLifetimeSec) * 1000;
    if (deadline <= now) throw new GatewayError('TOKEN_EXPIRED', `token has no "exp" and was issued more than ${formatSeconds(maxLifetimeSec)} ago`);
    return deadline;
  }
  const lifetimeSec = exp - (iat ?? nowSec);
  if (lifetimeSec > maxLifetimeSec + tolerance) {
    throw new GatewayError('UNAUTHORIZED', `token lifetime of ${formatSeconds(lifetimeSec)} exceeds the limit of ${formatSeconds(maxLifetimeSec)}`, {
      details: { maxLifetimeMs: policy.maxLifetimeMs },
    });
  }
  return exp * 1000;
}

function invalidClaim(claim: string, reason: string): GatewayError {
  return new GatewayError('UNAUTHORIZED', `token claim "${claim}" is invalid: ${reason}`);
}

function formatSeconds(seconds: number): string {
  return `${Math.round(seconds)} s`;
}
