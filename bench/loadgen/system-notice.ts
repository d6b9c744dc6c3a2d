import { SERVER_EVENTS, type SystemPayload } from '#libs/contracts';

/**
 * Recognises one operator notice (`POST /admin/notice`) among the `system` events a load-generator client receives.
 *
 * At 100,000 clients the notice arrives 100,000 times within a second or two on one load core, so the lean client hands
 * over the packet text and this looks for two exact fields in it instead of decoding it: `"type":"notice"` and the
 * notice's `"message"` as JSON writes it. Both are searched anywhere in the payload (key order is the server's
 * choice), and inside a JSON string every `"` is escaped, so neither can be found in another field's text.
 */
export class NoticeMatcher {
  private readonly messageField: string;

  constructor(readonly message: string) {
    this.messageField = `"message":${JSON.stringify(message)}`;
  }

  /** Whether the `system` payload that starts at `text[from]` is this notice. */
  matchesText(text: string, from: number): boolean {
    return text.indexOf(this.messageField, from) !== -1 && text.indexOf(NOTICE_TYPE_FIELD, from) !== -1;
  }

  /** The same for a payload socket.io-client already decoded. */
  matches(payload: SystemPayload): boolean {
    return payload.type === 'notice' && payload.message === this.message;
  }
}

/** A `system` event's packet data up to its payload: `["system",{...}]`. */
export const SYSTEM_EVENT_PREFIX = `["${SERVER_EVENTS.system}",`;

const NOTICE_TYPE_FIELD = '"type":"notice"';

/** A message no other notice carries: the bench's own, told apart from any an operator might send meanwhile. */
export function benchNoticeMessage(): string {
  return `bench notice ${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
}
