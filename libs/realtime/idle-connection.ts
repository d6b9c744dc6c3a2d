import type { EventEmitter } from 'node:events';
import type { Socket } from 'socket.io';

/**
 * What an idle connection keeps between messages, made smaller once its handshake is over. Everything here is memory
 * layout only: the same listeners, the same arrays' contents and the same values stay where the libraries look for
 * them (Socket.IO 4.8, engine.io 6.6, ws 8.x; idle-connection.spec.ts checks that the fields are still there and still
 * read the same), so nothing a client sees or sends is handled differently (docs/protocol.md).
 *
 * Measured with the bench's heap snapshots (capacity scenario, `--heap-snapshots`, bench/RESULTS.md): about 2 KB of
 * the 13.5 KB an idle authenticated connection held. A busy connection may grow some of it back (an array grown by
 * push again, a listener table V8 turns back into a hash table when a listener other than the last one added is
 * removed): never beyond what it held before.
 */

/** An EventEmitter's listener table, as Node's events module keeps it. */
type ListenerMap = Record<string | symbol, unknown>;
interface WithListenerTable {
  _events?: ListenerMap;
}

/**
 * A listener table V8 keeps in "fast" mode. Node's EventEmitter makes its table as `{ __proto__: null }`, which V8
 * keeps as a hash table (dictionary mode): 160 bytes empty, 448 once it holds eight or so events; the socket, the
 * engine.io connection, its transport and the ws socket each keep one for their whole life, with their listeners
 * never changing after the handshake. An object made by a constructor and given the same properties in the same
 * order shares one hidden class with every other connection's table: 24 bytes plus 8 per event. Its prototype is an
 * object with no properties at all and no prototype, so a lookup of an event nobody listens to (`constructor`,
 * `toString`...) finds nothing, as with the null-prototype table (Node's own streams go further and use plain object
 * literals for their tables).
 */
const ListenerTable = function ListenerTable(this: ListenerMap) {} as unknown as new () => ListenerMap;
ListenerTable.prototype = Object.create(null) as object;

/**
 * Rebuilds an emitter's listener table as a {@link ListenerTable}, each array of several listeners copied at its
 * length (EventEmitter grows an array from two listeners by push, which reserves room for 19). EventEmitter reads the
 * table afresh on every call, so the next `on`, `off` or `emit` uses the new one; nothing else holds the old table or
 * its arrays (`listeners()` and `rawListeners()` hand out copies).
 */
export function compactListenerTable(emitter: EventEmitter | object | null | undefined): void {
  const target = emitter as WithListenerTable | null | undefined;
  const events = target?._events;
  if (!target || !events || typeof events !== 'object') return;
  const table = new ListenerTable();
  for (const key of Reflect.ownKeys(events)) {
    const listeners = events[key];
    // An event whose last listener went is left `undefined` by Node's streams: not worth keeping.
    if (listeners === undefined) continue;
    table[key] = Array.isArray(listeners) ? listeners.slice() : listeners;
  }
  target._events = table;
}

/** An array a library grew by push and keeps for the connection's life: copied at its length, or a fresh `[]`. */
function trimmed<T>(items: T[]): T[] {
  // An empty literal keeps no element store at all; `slice` allocates exactly the length.
  return items.length === 0 ? [] : items.slice();
}

/** The fields of Socket.IO's, engine.io's and ws's objects that {@link compactIdleConnection} touches. */
interface SocketInternals {
  /** Socket.IO: the socket's middlewares (`socket.use`), an array grown by push. */
  fns?: unknown[];
  client?: { decoder?: object; conn?: object };
}
interface EngineConnectionInternals {
  /** engine.io: what to undo when the transport goes (one function per transport), grown by push. */
  cleanupFn?: unknown[];
  /** engine.io: callbacks of packets sent and not yet drained, grown by push and emptied by shift (read afresh). */
  sentCallbackFn?: unknown[];
  transport?: { socket?: object; name?: string };
}
interface WsInternals {
  _receiver?: { _buffers?: unknown[] };
  _extensions?: Record<string, PerMessageDeflateInternals | undefined>;
}
interface PerMessageDeflateInternals {
  /** The negotiated parameters, read (never written) after the handshake to pick window bits and context takeover. */
  params?: Record<string, unknown> | null;
  /** ws's per-socket copy of the server's permessage-deflate options, read (never written) after construction. */
  _options?: Record<string, unknown>;
}

/**
 * One frozen copy per distinct value of the negotiated permessage-deflate parameters and of ws's options copy. ws
 * parses a client's offer into a null-prototype object (dictionary mode, about 280 bytes) and copies its options for
 * every socket (`{ ...options, isServer, maxPayload }`, 120 bytes); each socket only reads them afterwards, and
 * clients make a handful of distinct offers. Bounded: past {@link MAX_SHARED_SETTINGS} distinct values (clients
 * inventing offers), a socket keeps its own.
 */
const sharedSettings = new Map<string, Readonly<Record<string, unknown>>>();
const MAX_SHARED_SETTINGS = 64;

function shared(kind: string, value: Record<string, unknown>): Record<string, unknown> {
  // Nested objects (the zlib options) by their own JSON: a key list given to JSON.stringify applies to them too.
  const flat: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(value)) flat[name] = typeof field === 'object' && field !== null ? JSON.stringify(field) : field;
  let key: string;
  try {
    key = `${kind}\u0000${JSON.stringify(flat, Object.keys(flat).sort())}`;
  } catch {
    return value;
  }
  const known = sharedSettings.get(key);
  if (known) return known;
  if (sharedSettings.size >= MAX_SHARED_SETTINGS) return value;
  // A plain object (fast mode) with the same properties; frozen, since every socket with this value reads it.
  const copy = Object.freeze({ ...value });
  sharedSettings.set(key, copy);
  return copy;
}

/**
 * The last `handshake.time` seen. Socket.IO stamps every socket with the time as text (`new Date() + ''`, 80 bytes);
 * sockets opened in the same second carry equal strings, which can be one string.
 */
let lastHandshakeTime = '';

function sharedHandshakeTime(handshake: { time: string }): void {
  if (handshake.time === lastHandshakeTime) handshake.time = lastHandshakeTime;
  else lastHandshakeTime = handshake.time;
}

/**
 * Compacts what the connection under a Socket.IO socket keeps once it is open and waiting (see the module comment):
 * the listener tables of the socket, its engine.io connection and transport, the ws socket, Socket.IO's decoder; the
 * handshake's time stamp; the arrays the libraries grew by push; ws's negotiated permessage-deflate parameters and
 * options. Call it once the socket's handlers are bound; again for the connection's later namespaces does no harm.
 */
export function compactIdleConnection(socket: Socket): void {
  const internals = socket as unknown as SocketInternals;
  compactListenerTable(socket);
  sharedHandshakeTime(socket.handshake);
  if (Array.isArray(internals.fns)) internals.fns = trimmed(internals.fns);
  compactListenerTable(internals.client?.decoder);
  const conn = socket.conn as unknown as EngineConnectionInternals;
  compactListenerTable(socket.conn);
  if (Array.isArray(conn.cleanupFn)) conn.cleanupFn = trimmed(conn.cleanupFn);
  // The `welcome` went out just before: its entry is in the array until the transport drains (engine.io shifts it).
  if (Array.isArray(conn.sentCallbackFn)) conn.sentCallbackFn = trimmed(conn.sentCallbackFn);
  const transport = conn.transport;
  compactListenerTable(transport);
  // Only engine.io's websocket transport has a ws socket; long-polling's requests come and go.
  if (transport?.name !== 'websocket' || !transport.socket) return;
  const ws = transport.socket as WsInternals;
  compactListenerTable(ws);
  const receiver = ws._receiver;
  // Nothing buffered: the receiver is between messages, and reads `_buffers` afresh when the next chunk comes.
  if (receiver && Array.isArray(receiver._buffers) && receiver._buffers.length === 0) receiver._buffers = [];
  const deflate = ws._extensions?.['permessage-deflate'];
  if (deflate) {
    if (deflate.params && typeof deflate.params === 'object') deflate.params = shared('params', deflate.params);
    if (deflate._options && typeof deflate._options === 'object') deflate._options = shared('options', deflate._options);
  }
}
