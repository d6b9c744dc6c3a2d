import type { ConsumerDeserializer, IncomingEvent } from '@nestjs/microservices';
import { jsonNestingExceeds } from './inbound-packet-limits.js';

/** An engine payload that could not even be parsed; the controller counts and drops it. */
export class MalformedEnginePayload {
  constructor(
    readonly reason: 'invalid_json' | 'not_utf8' | 'too_large' | 'too_deep',
    /** The start of the text received, for the publisher's feedback (`gateway.rejected.<kind>`). */
    readonly excerpt?: string,
  ) {}
}

const EXCERPT_CHARS = 256;

/** Engine events larger than this are refused before parsing: no legitimate event comes near it. */
export const MAX_ENGINE_EVENT_BYTES = 1_048_576;

/**
 * How deeply an engine event may nest. The contract's deepest payloads (book levels, a licence's exchanges) nest 3
 * levels; parsing deep nesting costs V8 ten times more per byte than flat JSON (a 120 KB array of 60,000 levels takes
 * about 30 ms), so such a payload is refused by a scan of its text before it is parsed.
 */
export const MAX_ENGINE_EVENT_DEPTH = 16;
/** Shorter texts cannot cost much whatever their nesting; the scan is spared for the hot path's small events. */
const DEPTH_SCAN_FROM_CHARS = 256;

/** Whether engine JSON text nests deeper than the contract ever does (MAX_ENGINE_EVENT_DEPTH), read without parsing it. */
export function engineJsonTooDeep(text: string): boolean {
  return text.length > DEPTH_SCAN_FROM_CHARS && jsonNestingExceeds(text, 0, MAX_ENGINE_EVENT_DEPTH);
}

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
    if (engineJsonTooDeep(text)) return new MalformedEnginePayload('too_deep', text.slice(0, EXCERPT_CHARS));
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return new MalformedEnginePayload('invalid_json', text.slice(0, EXCERPT_CHARS));
    }
  }
  if (typeof value === 'string' || value instanceof Buffer) {
    const text = value.toString();
    if (text.length > MAX_ENGINE_EVENT_BYTES) return new MalformedEnginePayload('too_large', text.slice(0, EXCERPT_CHARS));
    if (engineJsonTooDeep(text)) return new MalformedEnginePayload('too_deep', text.slice(0, EXCERPT_CHARS));
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return new MalformedEnginePayload('invalid_json', text.slice(0, EXCERPT_CHARS));
    }
  }
  return value;
}
