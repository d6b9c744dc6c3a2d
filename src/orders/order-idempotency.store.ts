import type { OrderAmendResponse, OrderCancelAllResponse, OrderSubmitResponse, WireError } from '#libs/contracts';

/** What an idempotent command answers: a submit or an amend (`{ orderId, status }`), or a cancel-all. */
export type OrderCommandData = OrderSubmitResponse | OrderAmendResponse | OrderCancelAllResponse;

/**
 * The first answer to a `clientOrderId` (or a cancel-all's `requestId`), as the client got it: what every repeat of it
 * gets again. Which command it answers follows from the key's fingerprint, which starts with the command.
 */
export type StoredOrderAnswer<T extends OrderCommandData = OrderCommandData> = { ok: true; data: T } | { ok: false; error: WireError };

/** A key's state: claimed and in flight (no answer yet), or answered. */
export interface IdempotencyRecord {
  fingerprint: string;
  answer?: StoredOrderAnswer;
}

/**
 * Where `clientOrderId`s are remembered: this process's memory, or Redis so that every replica shares them. Keys
 * expire after the configured TTL (counted from the claim).
 */
export interface OrderIdempotencyStore {
  readonly kind: 'memory' | 'redis';
  /** Claims the key atomically: null when this caller now owns it (and must complete or release it), else what is there. */
  claim(key: string, fingerprint: string): Promise<IdempotencyRecord | null>;
  peek(key: string): Promise<IdempotencyRecord | null>;
  /** Records the answer of a claimed key. */
  complete(key: string, fingerprint: string, answer: StoredOrderAnswer): Promise<void>;
  /** Gives a claimed key up: the command never reached the engine, so a retry may send it. */
  release(key: string): Promise<void>;
  close(): Promise<void>;
}

/** The injection token of the store the orders module uses. */
export const ORDER_IDEMPOTENCY_STORE = Symbol('ORDER_IDEMPOTENCY_STORE');
