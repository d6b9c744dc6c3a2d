import { EventEmitter } from 'node:events';
import { Decoder, Encoder, PacketType, type Packet } from 'socket.io-parser';

/**
 * How deeply the arguments of a client event may nest: `{}` and `[]` are depth 1, `{ "a": [1] }` depth 2. The
 * contract's requests need 3; a much deeper payload is an attack on the recursive code that would walk it (the
 * binary packet reconstruction, class-transformer, class-validator), which overflows the stack from about 1,300 levels.
 */
export const MAX_PAYLOAD_DEPTH = 32;

/** Socket.IO's own cap on the binary attachments of one event (socket.io-parser's default `maxAttachments`). */
export const MAX_ATTACHMENTS = 10;

export interface InboundPacketLimits {
  /** The largest client event served, counted as a whole: its text packet and every binary attachment. */
  maxFrameBytes: number;
  /** The deepest nesting of an event's arguments ({@link MAX_PAYLOAD_DEPTH} unless told otherwise). */
  maxDepth?: number;
}

/**
 * Stands in for the arguments of a client event that the gateway refuses to decode. It cannot come from the wire
 * (JSON gives plain objects only), so the namespace middleware that answers it knows the decoder put it there.
 */
export class RefusedInboundEvent {
  constructor(
    readonly message: string,
    readonly details: Record<string, number>,
  ) {}
}

/** An empty attachment stands in for the buffers of an oversize event once it is over the limit: none is kept. */
const DROPPED_ATTACHMENT = Buffer.alloc(0);

/** Where a Socket.IO packet's header (type, attachments, namespace, ack id) ends and its JSON begins. */
interface PacketHeader {
  type: PacketType.EVENT | PacketType.BINARY_EVENT;
  attachments: number;
  nsp: string;
  id: number | undefined;
  jsonStart: number;
}

/** The header of a Socket.IO v5 packet, read as socket.io-parser reads it; null when it is not an event. */
function eventHeader(frame: string): PacketHeader | null {
  const type = frame[0] === '2' ? PacketType.EVENT : frame[0] === '5' ? PacketType.BINARY_EVENT : null;
  if (type === null) return null;
  let i = 1;
  let attachments = 0;
  if (type === PacketType.BINARY_EVENT) {
    const dash = frame.indexOf('-', 1);
    if (dash < 0) return null;
    attachments = Number(frame.slice(1, dash));
    if (!Number.isInteger(attachments) || attachments < 1) return null;
    i = dash + 1;
  }
  let nsp = '/';
  if (frame[i] === '/') {
    const comma = frame.indexOf(',', i);
    const end = comma < 0 ? frame.length : comma;
    nsp = frame.slice(i, end);
    i = end + 1;
  }
  let idEnd = i;
  while (idEnd < frame.length && frame.charCodeAt(idEnd) >= 48 && frame.charCodeAt(idEnd) <= 57) idEnd++;
  const id = idEnd > i ? Number(frame.slice(i, idEnd)) : undefined;
  return { type, attachments, nsp, id, jsonStart: idEnd };
}

/**
 * The deepest nesting of `[` / `{` in JSON text from `start`, strings skipped, without parsing it: a plain loop over
 * the characters, no recursion and no allocation. Stops as soon as `limit` is passed.
 */
export function jsonNestingExceeds(text: string, start: number, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 91 /* [ */ || c === 123 /* { */) {
      if (++depth > limit) return true;
    } else if (c === 93 /* ] */ || c === 125 /* } */) depth--;
  }
  return false;
}

/** The event name at the start of an EVENT packet's JSON (`["subscribe", …`), read without parsing the rest. */
function eventNameOf(frame: string, jsonStart: number): string | number {
  const match = /^\[\s*("(?:[^"\\]|\\.){0,256}"|\d{1,16})/.exec(frame.slice(jsonStart, jsonStart + 600));
  if (!match?.[1]) return 'unknown';
  const name: unknown = JSON.parse(match[1]);
  return typeof name === 'string' || typeof name === 'number' ? name : 'unknown';
}

function byteLengthOf(chunk: unknown): number {
  if (typeof chunk === 'string') return Buffer.byteLength(chunk);
  if (ArrayBuffer.isView(chunk) || chunk instanceof ArrayBuffer) return chunk.byteLength;
  return 0;
}

/** A client event being read: its header came, attachments may follow. */
interface EventInProgress {
  header: PacketHeader;
  event: string | number;
  bytes: number;
  /** Why it is refused, once it is: the answer, with the event's whole size, is made when its last part came. */
  refused: 'size' | 'depth' | 'attachments' | null;
  /** Attachments still to come when the event is refused before the parser sees them. */
  attachmentsToSkip: number;
}

/**
 * Socket.IO's own decoder, with the gateway's limits applied to every client event before anything decodes it:
 *
 * - **Size**: an event is measured as a whole, its text packet and every binary attachment together. Engine.io's
 *   `maxHttpBufferSize` only caps one engine.io packet (the transport cap, which closes the connection); without this,
 *   an event of ten 50 KB buffers, or one of 256 KB under the transport cap, would be served. Attachments past the
 *   limit are not kept.
 * - **Depth**: arguments nested deeper than `maxDepth` are refused before the binary reconstruction, the validation
 *   pipe or anything else recursive walks them; the check is a scan of the text.
 *
 * A refused event still reaches its namespace, with its name and ack id, but with a {@link RefusedInboundEvent} as
 * its only argument: the gateway answers it `INVALID_REQUEST` through the ack, and the connection goes on.
 */
class LimitedDecoder extends EventEmitter {
  /**
   * Socket.IO's decoder, while a packet is being decoded: made for a packet and let go once it is out, so an idle
   * connection (most of them, most of the time) keeps none (about 0.5 KB with its listener).
   */
  private inner: Decoder | null = null;
  private current: EventInProgress | null = null;

  constructor(
    private readonly maxFrameBytes: number,
    private readonly maxDepth: number,
  ) {
    super();
  }

  add(chunk: unknown): void {
    if (typeof chunk === 'string') return this.addText(chunk);
    const current = this.current;
    if (!current) return this.decoder().add(chunk); // binary data out of turn: the parser refuses it
    current.bytes += byteLengthOf(chunk);
    if (current.attachmentsToSkip > 0) {
      if (--current.attachmentsToSkip === 0) this.emitRefused(current);
      return;
    }
    if (!current.refused && current.bytes > this.maxFrameBytes) current.refused = 'size';
    this.decoder().add(current.refused ? DROPPED_ATTACHMENT : chunk);
  }

  destroy(): void {
    this.current = null;
    this.inner?.destroy();
    this.inner = null;
  }

  private decoder(): Decoder {
    if (this.inner) return this.inner;
    const inner = new Decoder();
    inner.on('decoded', (packet: Packet) => {
      // The packet is whole (its attachments included): this decoder has nothing left to hold.
      if (this.inner === inner) this.inner = null;
      this.decoded(packet);
    });
    this.inner = inner;
    return inner;
  }

  private addText(frame: string): void {
    const header = eventHeader(frame);
    if (!header) {
      this.current = null;
      return this.decoder().add(frame);
    }
    // Counting UTF-16 units is enough to tell that a text event is under the limit; the exact size is needed when
    // attachments add to it or when it may be over.
    const bytes = header.type === PacketType.BINARY_EVENT || frame.length * 3 > this.maxFrameBytes ? Buffer.byteLength(frame) : frame.length;
    const current: EventInProgress = { header, event: 'unknown', bytes, refused: null, attachmentsToSkip: 0 };
    this.current = current;
    if (bytes > this.maxFrameBytes) current.refused = 'size';
    // Socket.IO's parser would throw on these and close the whole connection; here they are one refused request.
    else if (header.attachments > MAX_ATTACHMENTS) current.refused = 'attachments';
    // + 1: the packet's own array [event, ...arguments] is the first level of the text.
    else if (jsonNestingExceeds(frame, header.jsonStart, this.maxDepth + 1)) current.refused = 'depth';
    if (!current.refused) return this.decoder().add(frame);
    // Refused: neither parsed nor reconstructed. Its name and ack id are all the namespace needs to answer it.
    current.event = eventNameOf(frame, header.jsonStart);
    if (header.type === PacketType.BINARY_EVENT) current.attachmentsToSkip = header.attachments;
    else this.emitRefused(current);
  }

  private refusalOf(current: EventInProgress): RefusedInboundEvent {
    if (current.refused === 'attachments') return new RefusedInboundEvent(`more than ${MAX_ATTACHMENTS} binary attachments`, { maxAttachments: MAX_ATTACHMENTS });
    return current.refused === 'depth'
      ? new RefusedInboundEvent(`payload nests deeper than ${this.maxDepth} levels`, { maxDepth: this.maxDepth })
      : new RefusedInboundEvent(`frame of ${current.bytes} bytes exceeds the limit of ${this.maxFrameBytes} bytes`, { limit: this.maxFrameBytes });
  }

  private emitRefused(current: EventInProgress): void {
    this.current = null;
    const { nsp, id } = current.header;
    const packet: Packet = { type: PacketType.EVENT, nsp, data: [current.event, this.refusalOf(current)] };
    if (id !== undefined) packet.id = id;
    this.emit('decoded', packet);
  }

  private decoded(packet: Packet): void {
    const current = this.current;
    this.current = null;
    // An event that went over the limit in its attachments: its arguments are dropped, its name and ack id kept.
    if (current?.refused && (packet.type === PacketType.EVENT || packet.type === PacketType.BINARY_EVENT) && Array.isArray(packet.data)) {
      packet.data = [packet.data[0], this.refusalOf(current)];
    }
    this.emit('decoded', packet);
  }
}

/** The Socket.IO server's `parser` option: the standard encoder, and a decoder holding client events to the limits. */
export function limitedSocketParser(limits: InboundPacketLimits): { Encoder: typeof Encoder; Decoder: new () => LimitedDecoder } {
  const maxDepth = limits.maxDepth ?? MAX_PAYLOAD_DEPTH;
  return {
    Encoder,
    Decoder: class extends LimitedDecoder {
      constructor() {
        super(limits.maxFrameBytes, maxDepth);
      }
    },
  };
}
