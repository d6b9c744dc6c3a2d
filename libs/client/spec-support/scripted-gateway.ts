import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server, type Namespace as IoNamespace, type Socket } from 'socket.io';
import { ALL_NAMESPACES, NAMESPACES, wireError, type AccountSubscribeRequest, type AckResponse, type MdSubscribeRequest, type Namespace, type WelcomePayload, type WireError } from '#libs/contracts';

type Handler = (socket: Socket, payload: unknown) => AckResponse<unknown> | Promise<AckResponse<unknown>>;

/**
 * A real Socket.IO server speaking the wire protocol from a script, for the SDK's unit tests: each test decides what
 * a request is answered and which frames are sent (a gap, a wrong checksum, a replay), which a real gateway produces
 * only under faults. The end-to-end tests run the SDK against the real gateway.
 */
export class ScriptedGateway {
  readonly requests: { namespace: Namespace; event: string; payload: unknown; token: string }[] = [];
  /** Refuse the next handshakes with these errors, in order (consumed one per handshake). */
  readonly refusals: WireError[] = [];
  readonly handshakes: { namespace: Namespace; token: string }[] = [];
  private readonly handlers = new Map<string, Handler>();
  private node = 'scripted-1';

  private constructor(
    private readonly http: HttpServer,
    readonly io: Server,
  ) {}

  static async start(): Promise<ScriptedGateway> {
    const http = createServer();
    const io = new Server(http, { transports: ['websocket'] });
    const gateway = new ScriptedGateway(http, io);
    for (const namespace of ALL_NAMESPACES) gateway.setUp(io.of(namespace), namespace);
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    return gateway;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.http.address() as AddressInfo).port}`;
  }

  /** Answers `event` on `namespace` with the handler's envelope (default: `ok` with `{}`; `ping` with the time). */
  on(namespace: Namespace, event: string, handler: Handler): void {
    this.handlers.set(`${namespace}|${event}`, handler);
  }

  sockets(namespace: Namespace): Socket[] {
    return [...this.io.of(namespace).sockets.values()];
  }

  emit(namespace: Namespace, event: string, ...args: unknown[]): void {
    this.io.of(namespace).emit(event, ...args);
  }

  requestsOf(namespace: Namespace, event: string): { payload: unknown; token: string }[] {
    return this.requests.filter((r) => r.namespace === namespace && r.event === event);
  }

  /** Drops every connection as a crashed replica would (transport close). */
  dropAll(): void {
    for (const namespace of ALL_NAMESPACES) for (const socket of this.sockets(namespace)) socket.conn.close();
  }

  /** Sends the shutdown notice, then disconnects every client as a draining replica does. */
  shutdown(reconnectInMs: number): void {
    for (const namespace of ALL_NAMESPACES) {
      this.io.of(namespace).emit('system', { type: 'shutdown', message: 'restarting', reconnectInMs });
      for (const socket of this.sockets(namespace)) socket.disconnect(true);
    }
  }

  setNode(node: string): void {
    this.node = node;
  }

  async close(): Promise<void> {
    await this.io.close();
  }

  private setUp(nsp: IoNamespace, namespace: Namespace): void {
    nsp.use((socket, next) => {
      const token = (socket.handshake.auth as { token?: string }).token ?? '';
      this.handshakes.push({ namespace, token });
      const refusal = this.refusals.shift();
      if (refusal) {
        const error = new Error(refusal.code) as Error & { data: WireError };
        error.data = refusal;
        return next(error);
      }
      socket.data = { token };
      next();
    });
    nsp.on('connection', (socket) => {
      const welcome: WelcomePayload = {
        connectionId: socket.id,
        userId: 'user-1',
        namespace,
        node: this.node,
        serverVersion: 'scripted',
        serverTime: Date.now(),
        limits: { maxSubscriptions: 100, maxConnections: 10, minThrottleMs: 0, maxFrameBytes: 65536 },
        entitlements: { tier: 'test', exchanges: { '*': 'realtime' }, channels: ['quote', 'trade', 'book'], features: ['trading'] },
      };
      socket.emit('welcome', welcome);
      socket.onAny((event: string, payload: unknown, ack?: (response: AckResponse<unknown>) => void) => {
        this.requests.push({ namespace, event, payload, token: (socket.data as { token: string }).token });
        const handler = this.handlers.get(`${namespace}|${event}`);
        const answer = handler ? handler(socket, payload) : defaultAnswer(namespace, event, payload);
        void Promise.resolve(answer).then((response) => ack?.(response));
      });
    });
  }
}

export const refusal = (code: WireError['code'], message: string, extra: Partial<WireError> = {}): WireError => wireError(code, message, extra);

/** Polls `probe` until it gives a value (not undefined or false). */
export async function until<T>(what: string, probe: () => T | undefined | false, timeoutMs = 3000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** What the scripted gateway answers when a test set no handler: as the real gateway would, everything accepted. */
function defaultAnswer(namespace: Namespace, event: string, payload: unknown): AckResponse<unknown> {
  if (event === 'ping') return { ok: true, data: { serverTime: Date.now() } };
  if (event === 'subscribe' && namespace === NAMESPACES.marketData) {
    const request = payload as MdSubscribeRequest;
    const subscribed = request.instruments.flatMap((instrument) =>
      request.channels.map((channel) => ({ stream: `${channel}:${instrument}`, seq: 1, delayed: false, delayMs: 0, throttleMs: request.throttleMs ?? 0 })),
    );
    return { ok: true, data: { subscribed, rejected: [], sessions: [] } };
  }
  if (event === 'subscribe') {
    const accounts = (payload as AccountSubscribeRequest).accounts ?? ['ACC-1'];
    return { ok: true, data: { accounts: accounts.map((account) => ({ account, seq: 0, replayed: 0, resetRequired: false })) } };
  }
  if (event === 'unsubscribe' && namespace === NAMESPACES.marketData) return { ok: true, data: { unsubscribed: [] } };
  if (event === 'unsubscribe') return { ok: true, data: { accounts: (payload as AccountSubscribeRequest).accounts ?? [] } };
  if (event === 'resync') return { ok: true, data: { stream: (payload as { stream: string }).stream, seq: 1 } };
  return { ok: true, data: {} };
}
