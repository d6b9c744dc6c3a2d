import type { AccountFieldsByKind, AccountKind, Namespace } from '#libs/contracts';
import type { MalformedReason } from '#libs/realtime';

/**
 * What the registry of stream kinds (./stream-kinds.ts) asks of the providers it routes engine events to. Kept apart
 * from the registry, which imports those providers, so that they never import it back (lint: no import cycles).
 */

/** What a kind's handler answers for one validated event: nothing when applied, else why it was dropped. */
export type EngineEventOutcome = { drop: MalformedReason; detail?: string } | undefined;

/** The provider a kind's validated events go to. */
export interface EngineStreamHandler<T> {
  onEngineEvent(subject: string, value: T): EngineEventOutcome;
}

/** An account stream's settings: its namespace and the bounds of its per-account state. */
export interface AccountStreamSettings<K extends AccountKind = AccountKind> {
  kind: K;
  namespace: Namespace;
  /** The key an event replaces in an account's snapshot (an order's id, a position's symbol); null: one item (portfolio). */
  itemKey: (fields: AccountFieldsByKind[K]) => string | null;
  maxItems: number;
  replayDepth: number;
}

