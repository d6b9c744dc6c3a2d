import { readFileSync } from 'node:fs';

/**
 * What a connection holds, from two V8 heap snapshots of the same server (with N and M idle connections): every
 * object is attributed to its nearest "holder" on the shortest path from the GC roots (a Socket.IO socket, the
 * engine.io connection, ws's socket, the TCP socket, a timer, a gateway record...), and to the first field taken out
 * of that holder; the difference between the snapshots over the connections added is what one connection costs,
 * holder by holder. Self sizes only (V8's own accounting of each object), so a holder's figure is what it keeps that
 * nothing nearer the roots keeps first. Objects reached before any holder are under `(server)`, named in `--fields`
 * by the nearest instance of a named class they hang from and its field (`SeatLedger.held`, `Namespace.sockets`,
 * a WeakMap's values...). Node's native objects (the TCP wrapper) appear in a snapshot with an estimated size that is
 * not V8 heap: they are `(native, not V8 heap)`.
 */

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]]; edge_fields: string[]; edge_types: [string[], ...unknown[]] } };
  nodes: number[];
  edges: number[];
  strings: string[];
}

/** Bytes and objects per holder (and per holder and field), summed over one snapshot. */
export interface HolderTotals {
  byHolder: Map<string, { bytes: number; objects: number }>;
  byField: Map<string, { bytes: number; objects: number }>;
  totalBytes: number;
}

export interface BreakdownRow {
  holder: string;
  bytesPerConnection: number;
  objectsPerConnection: number;
}

/** Classes recognised as holders, by constructor name, and the property that tells same-named classes apart. */
function holderOf(name: string, has: (property: string) => boolean): string | null {
  switch (name) {
    case 'Socket':
      if (has('nsp')) return 'socket.io Socket';
      if (has('upgrading')) return 'engine.io Socket';
      if (has('_handle') || has('connecting')) return 'net.Socket';
      return null;
    case 'WebSocket':
      return has('_receiver') ? 'ws WebSocket' : 'engine.io WebSocket transport';
    case 'SelectiveDeflateWebSocket':
      return 'ws WebSocket';
    case 'Receiver':
      return 'ws Receiver';
    case 'Sender':
      return 'ws Sender';
    case 'PerMessageDeflate':
      return 'ws PerMessageDeflate';
    case 'IncomingMessage':
      return 'http IncomingMessage';
    case 'WebSocketResponse':
      return 'engine.io WebSocketResponse';
    case 'Client':
      return has('nsps') ? 'socket.io Client' : null;
    case 'Decoder':
    case 'LimitedDecoder':
      return 'socket.io decoder';
    case 'Timeout':
      return 'Timeout (timer)';
    case 'TCP':
      return 'TCP handle';
    case 'Object':
      if (has('connectionId') && has('licence')) return 'gateway socket.data';
      if (has('userId') && has('lifetime')) return 'gateway usage record';
      if (has('seat') && has('sockets')) return 'gateway seat';
      if (has('fired') && has('wrapFn')) return 'EventEmitter once() wrapper';
      return null;
    default:
      return null;
  }
}

/** Constructors whose instances do not name what hangs from them (their owner's field does). */
const GENERIC_CONTAINERS: ReadonlySet<string> = new Set(['Object', 'Array', 'Map', 'Set', 'WeakMap', 'WeakSet', 'Function', 'Module', 'Generator', 'Promise']);

/** Reads a `.heapsnapshot` file (V8's JSON; files over ~500 MB exceed V8's string limit: snapshot fewer connections). */
export function holderTotals(file: string): HolderTotals {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const meta = snap.snapshot.meta;
  const nodeFields = meta.node_fields.length;
  const edgeFields = meta.edge_fields.length;
  const nodeTypes = meta.node_types[0];
  const edgeTypes = meta.edge_types[0];
  const TYPE = meta.node_fields.indexOf('type');
  const NAME = meta.node_fields.indexOf('name');
  const SELF = meta.node_fields.indexOf('self_size');
  const EDGES = meta.node_fields.indexOf('edge_count');
  const EDGE_TYPE = meta.edge_fields.indexOf('type');
  const EDGE_NAME = meta.edge_fields.indexOf('name_or_index');
  const EDGE_TO = meta.edge_fields.indexOf('to_node');
  const { nodes, edges, strings } = snap;
  const count = nodes.length / nodeFields;
  const firstEdge = new Uint32Array(count + 1);
  for (let i = 0, e = 0; i < count; i++) {
    firstEdge[i] = e;
    e += nodes[i * nodeFields + EDGES] * edgeFields;
  }
  firstEdge[count] = edges.length;
  const edgeType = (e: number) => edgeTypes[edges[e + EDGE_TYPE]];
  const edgeName = (e: number) => {
    const type = edgeType(e);
    return type === 'element' || type === 'hidden' ? `[${type}]` : strings[edges[e + EDGE_NAME]];
  };
  const NATIVE = '(native, not V8 heap)';
  const holderOfNode = (i: number): string | null => {
    const type = nodeTypes[nodes[i * nodeFields + TYPE]];
    if (type === 'synthetic' || type === 'native') {
      const name = strings[nodes[i * nodeFields + NAME]];
      // Node's C++ objects (`Node / TCPSocketWrap`...), not the snapshot's own grouping nodes (GC roots, handles).
      return name.startsWith('Node / ') ? NATIVE : null;
    }
    if (type !== 'object') return null;
    const has = (property: string) => {
      for (let e = firstEdge[i]; e < firstEdge[i + 1]; e += edgeFields) if (edgeType(e) === 'property' && strings[edges[e + EDGE_NAME]] === property) return true;
      return false;
    };
    return holderOf(strings[nodes[i * nodeFields + NAME]], has);
  };

  /** The constructor name of an instance of a class of the program's (not Object, Map, arrays or V8's internals). */
  const containerName = (i: number): string | null => {
    if (nodeTypes[nodes[i * nodeFields + TYPE]] !== 'object') return null;
    const name = strings[nodes[i * nodeFields + NAME]];
    return GENERIC_CONTAINERS.has(name) || name.startsWith('system /') || !/^[A-Z]/.test(name) ? null : name;
  };

  // Breadth first from the root over strong edges: each object's parent is on a shortest path from the roots.
  const order = new Int32Array(count);
  const seen = new Uint8Array(count);
  const holder: (string | undefined)[] = new Array<string | undefined>(count);
  const field: (string | undefined)[] = new Array<string | undefined>(count);
  let head = 0;
  let tail = 0;
  order[tail++] = 0;
  seen[0] = 1;
  holder[0] = '(server)';
  field[0] = '';
  const byHolder = new Map<string, { bytes: number; objects: number }>();
  const byField = new Map<string, { bytes: number; objects: number }>();
  let totalBytes = 0;
  while (head < tail) {
    const i = order[head++];
    const own = holderOfNode(i);
    const nodeHolder = own ?? holder[i] ?? '(server)';
    const nodeField = own ? '(itself)' : (field[i] ?? '');
    const bytes = nodes[i * nodeFields + SELF];
    totalBytes += bytes;
    add(byHolder, nodeHolder, bytes);
    add(byField, `${nodeHolder}\t${nodeField}`, bytes);
    // Under (server): an instance of a named class names what hangs from it (`SeatLedger.held`), its own field.
    const container = nodeHolder === '(server)' ? containerName(i) : null;
    for (let e = firstEdge[i]; e < firstEdge[i + 1]; e += edgeFields) {
      const type = edgeType(e);
      if (type === 'weak' || type === 'shortcut') continue;
      const to = edges[e + EDGE_TO] / nodeFields;
      if (seen[to]) continue;
      seen[to] = 1;
      holder[to] = nodeHolder;
      // Under a holder, the field it was reached through; deeper objects keep their holder's field.
      field[to] = own ? edgeName(e) : container ? `${container}.${edgeName(e)}` : nodeField;
      order[tail++] = to;
    }
  }
  return { byHolder, byField, totalBytes };
}

function add(map: Map<string, { bytes: number; objects: number }>, key: string, bytes: number): void {
  const entry = map.get(key);
  if (entry) {
    entry.bytes += bytes;
    entry.objects += 1;
  } else map.set(key, { bytes, objects: 1 });
}

/** Per connection added between two snapshots, largest first; `fields` splits each holder by the field taken out of it. */
export function breakdown(before: HolderTotals, after: HolderTotals, connectionsAdded: number, fields = false): BreakdownRow[] {
  const a = fields ? before.byField : before.byHolder;
  const b = fields ? after.byField : after.byHolder;
  const rows: BreakdownRow[] = [];
  for (const key of new Set([...a.keys(), ...b.keys()])) {
    const x = a.get(key) ?? { bytes: 0, objects: 0 };
    const y = b.get(key) ?? { bytes: 0, objects: 0 };
    rows.push({ holder: key.replace('\t', ' › '), bytesPerConnection: (y.bytes - x.bytes) / connectionsAdded, objectsPerConnection: (y.objects - x.objects) / connectionsAdded });
  }
  return rows.sort((p, q) => Math.abs(q.bytesPerConnection) - Math.abs(p.bytesPerConnection));
}
