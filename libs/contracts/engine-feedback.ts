import type { EngineEventKind } from './engine-subjects.js';

/**
 * Feedback to publishers: every engine event a gateway replica drops is reported on `gateway.rejected.<kind>`, over
 * the transport it came in on, so that the publisher learns which event and why instead of a counter going up.
 */
export const ENGINE_REJECTION_SUBJECT_PREFIX = 'gateway.rejected';
/** Every kind's feedback (NATS wildcard; Redis `PSUBSCRIBE gateway.rejected.*`). */
export const ENGINE_REJECTION_SUBJECTS = `${ENGINE_REJECTION_SUBJECT_PREFIX}.*`;

export function engineRejectionSubject(kind: EngineEventKind): string {
  return `${ENGINE_REJECTION_SUBJECT_PREFIX}.${kind}`;
}

/** Why an engine event was dropped: it could not be read, it failed validation, or the gateway could not place it. */
export type EngineRejectionReason =
  | 'invalid_json'
  | 'not_utf8'
  | 'too_large'
  | 'too_deep'
  | 'invalid_fields'
  | 'bad_subject'
  | 'unknown_instrument'
  | 'unknown_account'
  | 'stale_seq';

/** The payload of `gateway.rejected.<kind>`. */
export interface EngineRejection {
  kind: EngineEventKind;
  /** The subject (Redis: channel) the event was published on. */
  subject: string;
  reason: EngineRejectionReason;
  /** What exactly is wrong, for `invalid_fields` the validator's words (`side is not one of buy|sell`). */
  detail?: string;
  /** The start of the event as received (at most ENGINE_REJECTION_EXCERPT_CHARS characters), when there was text. */
  excerpt?: string;
  /** The replica that dropped it: each replica that receives an event reports its own drop. */
  node: string;
  /** When it was dropped, epoch milliseconds. */
  ts: number;
  /** Rejections of this kind left unreported since the previous report (the per-kind rate limit). */
  suppressed?: number;
}

export const ENGINE_REJECTION_EXCERPT_CHARS = 256;
