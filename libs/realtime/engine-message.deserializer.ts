import type { ConsumerDeserializer, IncomingEvent } from '@nestjs/microservices';

/** An engine payload that could not even be parsed; the controller counts and drops it. */
export class MalformedEnginePayload {
  constructor(readonly reason: 'invalid_json' | 'not_utf8' | 'too_large') {}
}

/** Engine events larger than this are refused before parsing: no legitimate event comes near it. */
export const MAX_ENGINE_EVENT_BYTES = 1_048_576;

interface NatsMessageLike {
  data: Uint8Array;
  subject: string;
}

function isNatsMessage(value: unknown): value is NatsMessageLike {
  return typeof value === 'object' && value !== null && (value as { data?: unknown }).data instanceof Uint8Array;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Engines publish plain JSON on the contract's subjects, not Nest's `{ pattern, data }` envelope. This maps such a
 * raw message to a Nest event packet whose pattern is the subscribed subject (so `@EventPattern('md.quote.*.*')`
 * handlers match) and whose data is the parsed payload, or a MalformedEnginePayload that the handler counts.
 * It never returns an `id`: engine events are events, never requests.
 */
export class EngineMessageDeserializer implements ConsumerDeserializer {
  deserialize(value: unknown, options?: Record<string, unknown>): IncomingEvent {
    const pattern = typeof options?.channel === 'string' ? options.channel : '';
    return { pattern, data: decodeEnginePayload(value) };
  }
}

/** The engine event in a raw transport message: parsed JSON, or a MalformedEnginePayload saying why there is none. */
export function decodeEnginePayload(value: unknown): unknown {
  // NATS hands over the raw message; the Redis transport has already tried JSON.parse (a string means it failed).
  if (isNatsMessage(value)) {
    if (value.data.byteLength > MAX_ENGINE_EVENT_BYTES) return new MalformedEnginePayload('too_large');
    let text: string;
    try {
      text = utf8.decode(value.data);
    } catch {
      return new MalformedEnginePayload('not_utf8');
    }
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return new MalformedEnginePayload('invalid_json');
    }
  }
  if (typeof value === 'string' || value instanceof Buffer) {
    const text = value.toString();
    if (text.length > MAX_ENGINE_EVENT_BYTES) return new MalformedEnginePayload('too_large');
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return new MalformedEnginePayload('invalid_json');
    }
  }
  return value;
}
