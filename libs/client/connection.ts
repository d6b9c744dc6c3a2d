import { Manager, type Socket } from 'socket.io-client';
import { isErrorCode, type AckResponse, type LicencePayload, type Namespace, type RequestAnswer, type RequestPayload, type RequestsOf, type ServerToClientEvents, type SystemPayload, type WelcomePayload, type WireError } from '#libs/contracts';
import { FullJitterBackoff, jitterWithin } from './backoff.js';
import { BadFrameError, RequestError, TradewireError } from './errors.js';
import { classifyRefusal } from './refusal-policy.js';
import type { ConnectionState, ConnectionStateInfo, TradewireClientOptions, TradewireLogger } from './types.js';
import { isWireError, isObject } from './wire-checks.js';

/** One namespace's life: it opens on first use and stays open (reconnecting as needed) until the client is closed. */
type ChannelStatus = 'idle' | 'connecting' | 'connected' | 'waiting' | 'terminal' | 'closed';

/** The hub's view of the application: where it reports what happens. */
export interface HubSink {
  state(state: ConnectionState, info: ConnectionStateInfo): void;
  error(error: TradewireError): void;
  welcome(welcome: WelcomePayload): void;
  licence(licence: LicencePayload): void;
  system(notice: SystemPayload): void;
  tokenRefreshed(expiresAt: number): void;
  log: TradewireLogger;
}

type ServerEvent = keyof ServerToClientEvents;

export interface RequestOptions {
  /** Send again when the answer is lost (timeout or disconnect): only for requests that are safe to repeat. */
  retryOnLoss?: boolean;
  /** The least time to wait for the answer (the client's `requestTimeoutMs` when that is longer). */
  minTimeoutMs?: number;
  /** How many `RATE_LIMITED` refusals to wait out (default: the client's `rateLimitRetries`). */
  rateLimitRetries?: number;
}

/** Counters the hub keeps for diagnostics. */
export interface HubCounters {
  reconnects: number;
  rateLimitedRetries: number;
  pingsSent: number;
  rttMs: number | null;
  clockOffsetMs: number | null;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Operator notice ids remembered to report each once (a handful a day; a few namespaces each). */
const MAX_REMEMBERED_NOTICES = 64;
/** An operator disconnect notice applies to the server disconnects that follow it within this long. */
const OPERATOR_DISCONNECT_LAPSE_MS = 5_000;

/**
 * One namespace over the shared Socket.IO manager: its socket, reconnect schedule, requests and server events.
 * Socket.IO's own reconnection is off: the SDK decides when to retry from the refusal table.
 */
export class NamespaceChannel<N extends Namespace = Namespace> {
  status: ChannelStatus = 'idle';
  everConnected = false;
  welcome: WelcomePayload | null = null;
  /** The token this namespace authenticated or refreshed with. */
  tokenSent: string | null = null;
  private socket!: Socket;
  /** The manager the socket belongs to: after a failover to another URL, the channel moves to the new one. */
  manager!: Manager;
  /** Server-event listeners, kept to bind them again on the socket of another manager. */
  private readonly bindings: [event: string, handler: (...args: unknown[]) => void][] = [];
  private readonly backoff: FullJitterBackoff;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private lastServerError: WireError | null = null;
  private refreshedForUnauthorized = false;
  /** The token an `auth:refresh` in flight carries: the warning arrives on each namespace, one refresh each is enough. */
  private refreshing: string | null = null;
  private readonly connectedListeners = new Set<(info: { reconnect: boolean }) => void>();
  private readonly disconnectedListeners = new Set<() => void>();
  private waiters: { resolve: () => void; reject: (error: Error) => void }[] = [];

  constructor(
    readonly namespace: N,
    manager: Manager,
    private readonly hub: ConnectionHub,
  ) {
    this.backoff = new FullJitterBackoff(hub.options.backoff, hub.random);
    this.attach(manager);
    this.listen('welcome', (welcome) => {
      if (!isObject(welcome) || typeof welcome.node !== 'string' || typeof welcome.serverTime !== 'number') throw new BadFrameError('welcome', 'not a welcome', welcome);
      this.welcome = welcome;
      hub.onWelcome(this, welcome);
      if (this.status === 'connecting' || this.status === 'waiting') this.onConnect();
    });
    this.listen('error', (error) => {
      if (!isWireError(error)) throw new BadFrameError('error', 'not an error object', error);
      this.lastServerError = error;
      hub.sink.error(new RequestError(error));
    });
    this.listen('system', (notice) => {
      if (!isObject(notice) || (notice.type !== 'shutdown' && notice.type !== 'notice' && notice.type !== 'disconnect') || typeof notice.message !== 'string') throw new BadFrameError('system', 'not a system notice', notice);
      hub.onSystem(notice);
    });
    this.listen('licence', (licence) => {
      if (!isObject(licence) || !isObject(licence.limits) || !isObject(licence.entitlements)) throw new BadFrameError('licence', 'not a licence payload', licence);
      hub.sink.licence(licence);
    });
    this.listen('auth:expiring', (payload) => {
      if (!isObject(payload) || typeof payload.expiresAt !== 'number') throw new BadFrameError('auth:expiring', 'no expiresAt', payload);
      hub.refreshTokenOnAll(this);
    });
  }

  get connected(): boolean {
    return this.status === 'connected';
  }

  /** Binds the namespace to a manager (a URL): at creation, and when the hub fails over to another URL. */
  attach(manager: Manager): void {
    if (this.socket) {
      this.socket.removeAllListeners();
      this.socket.disconnect();
    }
    this.manager = manager;
    // The auth callback runs at every handshake: the token is fetched before `connect()`, so it is at hand.
    this.socket = manager.socket(this.namespace, {
      auth: (cb: (data: object) => void) => {
        this.tokenSent = this.hub.token;
        cb({ token: this.hub.token ?? '' });
      },
    });
    // The namespace is usable at its `welcome` (sent before any other event), which names the replica serving it.
    this.socket.on('connect', () => this.hub.sink.log.debug?.('socket connected', { namespace: this.namespace }));
    this.socket.on('connect_error', (error: Error & { data?: unknown }) => this.onConnectError(error));
    this.socket.on('disconnect', (reason: string) => this.onDisconnect(reason));
    for (const [event, handler] of this.bindings) this.socket.on(event, handler);
    // An attempt in flight on the old manager is void (its events are no longer heard): make it on the new one.
    if (this.status === 'connecting' && this.hub.token !== null) this.socket.connect();
  }

  /**
   * Listens to a server event. A listener that throws (a frame it cannot understand) reports the error and the
   * stream goes on: the SDK never throws into the socket's event loop.
   */
  listen<E extends ServerEvent>(event: E, listener: (...args: Parameters<ServerToClientEvents[E]>) => void): void {
    const handler = (...args: unknown[]) => {
      try {
        listener(...(args as Parameters<ServerToClientEvents[E]>));
      } catch (error) {
        this.hub.reportFailure(error, event);
      }
    };
    this.bindings.push([event, handler]);
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- socket.io types a generic event name as reserved
    this.socket.on(event as string, handler);
  }

  /** Called after every (re)connect, once the namespace is usable; `reconnect` is false the first time. */
  onConnected(listener: (info: { reconnect: boolean }) => void): () => void {
    this.connectedListeners.add(listener);
    return () => this.connectedListeners.delete(listener);
  }

  onDisconnected(listener: () => void): () => void {
    this.disconnectedListeners.add(listener);
    return () => this.disconnectedListeners.delete(listener);
  }

  /** Opens the namespace if it is not open yet. */
  open(): void {
    if (this.status !== 'idle') return;
    this.connectNow();
  }

  /** Tries again now: after a terminal refusal the application fixed (a new token, a licence), or to skip a wait. */
  retryNow(): void {
    if (this.status !== 'terminal' && this.status !== 'waiting') return;
    this.backoff.reset();
    this.refreshedForUnauthorized = false;
    this.connectNow();
  }

  close(): void {
    this.status = 'closed';
    this.clearRetry();
    this.socket.disconnect();
    this.failWaiters(new TradewireError('CLIENT_CLOSED', 'the client was closed'));
  }

  /** Resolves once connected; rejects if the client is closed or refused for good. */
  whenConnected(): Promise<void> {
    if (this.status === 'connected') return Promise.resolve();
    if (this.status === 'closed' || this.status === 'terminal') return Promise.reject(new TradewireError('CLIENT_CLOSED', `${this.namespace} is closed`));
    this.open();
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /**
   * Sends a request and returns its answer's `data`; a refusal rejects with `RequestError`. `RATE_LIMITED` is waited
   * out (`retryAfterMs`) a bounded number of times; a lost answer is retried only when `retryOnLoss`.
   */
  async request<E extends keyof RequestsOf<N> & string>(event: E, payload: RequestPayload<RequestsOf<N>, E>, options: RequestOptions = {}): Promise<RequestAnswer<RequestsOf<N>, E>> {
    // Event, payload and answer from the contract's request map (libs/contracts NamespaceRequests), as the gateway's.
    type Answer = RequestAnswer<RequestsOf<N>, E>;
    let rateLimitedLeft = options.rateLimitRetries ?? this.hub.options.rateLimitRetries ?? 3;
    let lossesLeft = options.retryOnLoss ? (this.hub.options.commandRetries ?? 3) : 0;
    for (;;) {
      await this.whenConnected();
      const outcome = await this.emitOnce(event, payload, Math.max(this.hub.options.requestTimeoutMs ?? 10_000, options.minTimeoutMs ?? 0));
      if (outcome.lost) {
        if (lossesLeft-- > 0) {
          this.hub.sink.log.warn?.('request answer lost; sending again', { namespace: this.namespace, event, reason: outcome.reason });
          continue;
        }
        if (!this.connected) throw new TradewireError('CONNECTION_LOST', `${event} on ${this.namespace}: the connection went down before the answer`);
        throw new TradewireError('REQUEST_TIMEOUT', `${event} on ${this.namespace}: ${outcome.reason}`);
      }
      const response = outcome.response;
      if (response.ok) return response.data as Answer;
      if (response.error.code === 'RATE_LIMITED' && rateLimitedLeft-- > 0) {
        this.hub.counters.rateLimitedRetries++;
        const waitMs = (response.error.retryAfterMs ?? 1_000) + jitterWithin(100, this.hub.random);
        this.hub.sink.log.info?.('request rate limited; waiting', { namespace: this.namespace, event, waitMs });
        await sleep(waitMs);
        continue;
      }
      throw new RequestError(response.error, event);
    }
  }

  private emitOnce(event: string, payload: unknown, timeoutMs: number): Promise<{ lost: false; response: AckResponse<unknown> } | { lost: true; reason: string }> {
    return new Promise((resolve, reject) => {
      this.socket.timeout(timeoutMs).emit(event, payload, (error: Error | null, response: unknown) => {
        if (error) return resolve({ lost: true, reason: error.message });
        if (!isObject(response) || typeof response.ok !== 'boolean' || (response.ok === false && !isWireError(response.error))) {
          return reject(new BadFrameError(event, 'the answer is not an ack envelope', response));
        }
        resolve({ lost: false, response: response as AckResponse<unknown> });
      });
    });
  }

  // ---------------------------------------------------------------- lifecycle

  private connectNow(): void {
    this.clearRetry();
    this.status = 'connecting';
    this.hub.update({ reason: 'connect', namespace: this.namespace });
    this.hub.ensureToken().then(
      () => {
        if (this.status === 'connecting') this.socket.connect();
      },
      (error: unknown) => {
        if (this.status !== 'connecting') return;
        this.hub.sink.error(new TradewireError('TOKEN_UNAVAILABLE', `getToken() failed: ${String(error)}`));
        this.scheduleRetry({ reason: 'token unavailable' });
      },
    );
  }

  private onConnect(): void {
    if (this.status === 'closed') return;
    const reconnect = this.everConnected;
    this.status = 'connected';
    this.everConnected = true;
    this.backoff.reset();
    this.refreshedForUnauthorized = false;
    this.lastServerError = null;
    for (const waiter of this.waiters.splice(0)) waiter.resolve();
    this.hub.onChannelConnected(this, reconnect);
    for (const listener of [...this.connectedListeners]) {
      try {
        listener({ reconnect });
      } catch (error) {
        this.hub.reportFailure(error, 'connect');
      }
    }
  }

  private onConnectError(error: Error & { data?: unknown }): void {
    if (this.status === 'closed' || this.status === 'terminal') return;
    const wire = isWireError(error.data) ? error.data : null;
    if (!wire) {
      // The replica cannot be reached: with several URLs, the next attempt goes to the next one.
      this.hub.failover(this.manager);
      this.scheduleRetry({ reason: `network: ${error.message}` });
      return;
    }
    const refusal = new RequestError(wire, 'connect');
    const action = classifyRefusal(wire.code, { refreshedForUnauthorized: this.refreshedForUnauthorized });
    this.hub.sink.log.warn?.('connection refused', { namespace: this.namespace, code: wire.code, action });
    if (action === 'terminal') return this.terminate(refusal);
    if (action === 'refresh') {
      this.refreshedForUnauthorized = wire.code === 'UNAUTHORIZED';
      this.hub.invalidateToken();
    }
    this.scheduleRetry({ reason: 'refused', error: refusal, retryAfterMs: wire.retryAfterMs, immediate: action === 'refresh' && this.backoff.attempts === 0 });
  }

  private onDisconnect(reason: string): void {
    this.hub.sink.log.debug?.('socket disconnected', { namespace: this.namespace, reason, status: this.status });
    if (this.status === 'closed' || this.status === 'terminal') return;
    this.status = 'waiting';
    this.welcome = null;
    for (const listener of [...this.disconnectedListeners]) listener();
    const operator = reason === 'io server disconnect' ? this.hub.takeOperatorDisconnect() : null;
    if (operator) {
      // An operator's disconnect: come back inside the window it gave, or stay away until the application says so.
      if (operator.reconnectInMs === undefined) return this.terminate(new TradewireError('DISCONNECTED_BY_OPERATOR', operator.message, { id: operator.id }), 'operator disconnect');
      this.scheduleRetry({ reason: 'operator disconnect', fixedDelayMs: jitterWithin(operator.reconnectInMs, this.hub.random) });
      return;
    }
    const shutdownWindow = this.hub.takeShutdownWindow();
    if (shutdownWindow !== null) {
      // That replica is going away: with several URLs, come back on the next one.
      this.hub.failover(this.manager);
      this.scheduleRetry({ reason: 'shutdown', fixedDelayMs: jitterWithin(shutdownWindow, this.hub.random) });
      return;
    }
    const serverError = reason === 'io server disconnect' ? this.lastServerError : null;
    if (serverError && isErrorCode(serverError.code)) {
      const action = classifyRefusal(serverError.code);
      const error = new RequestError(serverError);
      if (action === 'terminal') return this.terminate(error, reason);
      if (action === 'refresh') this.hub.invalidateToken();
      this.scheduleRetry({ reason, error, immediate: action === 'refresh' });
      return;
    }
    this.scheduleRetry({ reason });
  }

  private scheduleRetry(plan: { reason: string; error?: TradewireError; retryAfterMs?: number; fixedDelayMs?: number; immediate?: boolean }): void {
    this.clearRetry();
    this.status = 'waiting';
    const backoffDelay = this.backoff.next();
    let delay = plan.fixedDelayMs ?? backoffDelay;
    if (plan.retryAfterMs !== undefined) delay = plan.retryAfterMs + jitterWithin(Math.min(plan.retryAfterMs, 1_000), this.hub.random);
    if (plan.immediate) delay = 0;
    this.hub.update({ reason: plan.reason, namespace: this.namespace, error: plan.error, retryInMs: delay, attempt: this.backoff.attempts });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this.status === 'waiting') this.connectNow();
    }, delay);
  }

  private terminate(error: TradewireError, reason = 'refused'): void {
    this.clearRetry();
    this.status = 'terminal';
    this.socket.disconnect();
    this.failWaiters(error);
    this.hub.sink.error(error);
    this.hub.update({ reason, namespace: this.namespace, error });
  }

  private failWaiters(error: Error): void {
    for (const waiter of this.waiters.splice(0)) waiter.reject(error);
  }

  private clearRetry(): void {
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  /** Sends `auth:refresh` with the hub's current token, if this namespace does not have it yet. */
  async refreshToken(): Promise<void> {
    const token = this.hub.token;
    if (!this.connected || token === null || this.tokenSent === token || this.refreshing === token) return;
    this.refreshing = token;
    try {
      // `auth:refresh` is one of the requests every namespace shares (`CommonRequests`).
      const answer = await (this as unknown as NamespaceChannel<'/market-data'>).request('auth:refresh', { token }, { rateLimitRetries: 3 });
      this.tokenSent = token;
      this.hub.sink.tokenRefreshed(answer.expiresAt);
    } finally {
      this.refreshing = null;
    }
  }
}

/** The channels of one client over one multiplexed Socket.IO connection (a `Manager`), and their shared state. */
export class ConnectionHub {
  readonly channels = new Map<Namespace, NamespaceChannel>();
  readonly counters: HubCounters = { reconnects: 0, rateLimitedRetries: 0, pingsSent: 0, rttMs: null, clockOffsetMs: null };
  readonly random: () => number;
  token: string | null = null;
  private tokenRequest: Promise<string> | null = null;
  private manager: Manager | null = null;
  /** The gateway URLs, tried in turn when one cannot be reached (usually one: a load balancer's). */
  private readonly urls: readonly string[];
  private urlIndex = 0;
  private shutdownWindowMs: number | null = null;
  private shutdownNoticeTimer: ReturnType<typeof setTimeout> | null = null;
  /** The last operator disconnect announced, for the disconnects of every namespace that follow it. */
  private operatorDisconnect: { id?: string; message: string; reconnectInMs?: number; at: number } | null = null;
  /** Ids of operator notices already reported: one arrives on every namespace of the connection. */
  private readonly seenNoticeIds: string[] = [];
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private pingChannel: NamespaceChannel | null = null;
  private closed = false;
  private lastState: ConnectionState = 'disconnected';

  constructor(
    readonly options: TradewireClientOptions,
    readonly sink: HubSink,
  ) {
    this.random = options.random ?? Math.random;
    this.urls = typeof options.url === 'string' ? [options.url] : [...options.url];
  }

  /** The URL the client connects to now. */
  get url(): string {
    return this.urls[this.urlIndex];
  }

  private newManager(): Manager {
    return new Manager(this.url, { autoConnect: false, reconnection: false, transports: this.options.transports ?? ['websocket', 'polling'] });
  }

  /**
   * Moves every namespace to the next URL, once per failure of the current one: the namespaces of one connection
   * fail together, and the first to report it moves them all. Nothing moves while a namespace is still connected.
   */
  failover(from: Manager): void {
    if (this.urls.length < 2 || from !== this.manager || this.closed) return;
    if ([...this.channels.values()].some((c) => c.connected)) return;
    this.urlIndex = (this.urlIndex + 1) % this.urls.length;
    this.manager = this.newManager();
    this.sink.log.info?.('failing over to another gateway URL', { url: this.url });
    for (const channel of this.channels.values()) channel.attach(this.manager);
  }

  get state(): ConnectionState {
    return this.lastState;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** The namespace's channel, created on first use (which opens the shared connection). */
  channel<N extends Namespace>(namespace: N): NamespaceChannel<N> {
    if (this.closed) throw new TradewireError('CLIENT_CLOSED', 'the client was closed');
    let channel = this.channels.get(namespace) as NamespaceChannel<N> | undefined;
    if (!channel) {
      this.manager ??= this.newManager();
      channel = new NamespaceChannel(namespace, this.manager, this);
      this.channels.set(namespace, channel);
      channel.open();
      this.startPing();
    }
    return channel;
  }

  /** Every namespace that is not connected tries again now, with a token fetched afresh from `getToken()`. */
  reconnect(): void {
    if (this.closed) throw new TradewireError('CLIENT_CLOSED', 'the client was closed');
    this.invalidateToken();
    for (const channel of this.channels.values()) channel.retryNow();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.pingTimer !== null) clearInterval(this.pingTimer);
    if (this.shutdownNoticeTimer !== null) clearTimeout(this.shutdownNoticeTimer);
    for (const channel of this.channels.values()) channel.close();
    this.manager?.engine?.close();
    this.update({ reason: 'closed' });
  }

  // ---------------------------------------------------------------- tokens

  /** The current token, fetching one from the application if there is none. */
  ensureToken(): Promise<string> {
    if (this.token !== null) return Promise.resolve(this.token);
    return this.fetchToken();
  }

  /** Forget the current token: the next connect attempt calls `getToken()` again. */
  invalidateToken(): void {
    this.token = null;
  }

  private fetchToken(): Promise<string> {
    this.tokenRequest ??= (async () => {
      try {
        const token = await this.options.getToken();
        if (typeof token !== 'string' || token.length === 0) throw new TradewireError('TOKEN_UNAVAILABLE', 'getToken() did not return a token');
        this.token = token;
        return token;
      } finally {
        this.tokenRequest = null;
      }
    })();
    return this.tokenRequest;
  }

  /**
   * `auth:expiring` on one namespace: get a fresh token once (unless that namespace's token is already older than
   * the one at hand) and send `auth:refresh` on every open namespace, without reconnecting.
   */
  refreshTokenOnAll(warned: NamespaceChannel): void {
    const fresh = warned.tokenSent === this.token || this.token === null ? this.fetchToken() : Promise.resolve(this.token);
    fresh
      .then(() => Promise.all([...this.channels.values()].map((channel) => channel.refreshToken())))
      .catch((error: unknown) => this.reportFailure(error, 'auth:refresh'));
  }

  // ---------------------------------------------------------------- events from the channels

  onWelcome(channel: NamespaceChannel, welcome: WelcomePayload): void {
    // welcome's serverTime is a first estimate of the clock offset, until a ping measures it properly.
    this.counters.clockOffsetMs ??= welcome.serverTime - Date.now();
    this.sink.welcome(welcome);
    this.sink.log.debug?.('welcome', { namespace: channel.namespace, node: welcome.node, connectionId: welcome.connectionId });
  }

  onChannelConnected(channel: NamespaceChannel, reconnect: boolean): void {
    const before = this.lastState;
    this.update({ reason: 'connect', namespace: channel.namespace, node: channel.welcome?.node });
    if (reconnect && before !== 'connected' && this.lastState === 'connected') this.counters.reconnects++;
  }

  onSystem(notice: SystemPayload): void {
    // An operator's notice or disconnect comes on every namespace with one id: reported once.
    if (typeof notice.id === 'string') {
      if (this.seenNoticeIds.includes(notice.id)) {
        if (notice.type === 'disconnect') this.operatorDisconnect = this.operatorDisconnectOf(notice);
        return;
      }
      this.seenNoticeIds.push(notice.id);
      if (this.seenNoticeIds.length > MAX_REMEMBERED_NOTICES) this.seenNoticeIds.shift();
    }
    if (notice.type === 'disconnect') this.operatorDisconnect = this.operatorDisconnectOf(notice);
    // The notice comes on every namespace of the replica: report it once per shutdown window.
    if (notice.type === 'shutdown') {
      const windowMs = typeof notice.reconnectInMs === 'number' && notice.reconnectInMs >= 0 ? notice.reconnectInMs : 1_000;
      const fresh = this.shutdownWindowMs === null;
      this.shutdownWindowMs = windowMs;
      // The window applies to the disconnect that follows the notice; a notice without one lapses.
      if (this.shutdownNoticeTimer !== null) clearTimeout(this.shutdownNoticeTimer);
      this.shutdownNoticeTimer = setTimeout(() => {
        this.shutdownWindowMs = null;
        this.shutdownNoticeTimer = null;
      }, windowMs + 30_000);
      if (!fresh) return;
    }
    this.sink.system(notice);
  }

  /**
   * The operator disconnect that the server's disconnect of a namespace follows, or null. Every namespace's disconnect
   * uses it; it lapses (a notice whose disconnect never came) after a few seconds.
   */
  takeOperatorDisconnect(): { id?: string; message: string; reconnectInMs?: number } | null {
    const announced = this.operatorDisconnect;
    if (!announced || Date.now() - announced.at > OPERATOR_DISCONNECT_LAPSE_MS) return null;
    return announced;
  }

  private operatorDisconnectOf(notice: SystemPayload): { id?: string; message: string; reconnectInMs?: number; at: number } {
    const reconnectInMs = typeof notice.reconnectInMs === 'number' && notice.reconnectInMs >= 0 ? notice.reconnectInMs : undefined;
    return { ...(notice.id === undefined ? {} : { id: notice.id }), message: notice.message, ...(reconnectInMs === undefined ? {} : { reconnectInMs }), at: Date.now() };
  }

  /** The shutdown notice's window for a disconnect that follows it, or null. Every namespace's disconnect uses it. */
  takeShutdownWindow(): number | null {
    return this.shutdownWindowMs;
  }

  reportFailure(error: unknown, event: string): void {
    const reported = error instanceof TradewireError ? error : new BadFrameError(event, error instanceof Error ? error.message : String(error), undefined);
    this.sink.error(reported);
  }

  /**
   * Recomputes the client's state from its channels and reports it when it changed, or when a retry was scheduled
   * (so an application can show "retrying in …").
   */
  update(info: ConnectionStateInfo): void {
    const next = this.aggregateState();
    if (next === 'connected' && [...this.channels.values()].every((c) => c.connected)) {
      this.shutdownWindowMs = null;
      this.operatorDisconnect = null;
    }
    if (next === this.lastState && info.retryInMs === undefined) return;
    this.lastState = next;
    this.sink.state(next, Object.fromEntries(Object.entries(info).filter(([, v]) => v !== undefined)) as unknown as ConnectionStateInfo);
  }

  /**
   * `disconnected`: closed, refused for good, or nothing used yet; `reconnecting`: a namespace that was connected is
   * not (a namespace opening for the first time beside connected ones does not count); `connected`: otherwise, once
   * one namespace is; `connecting`: before that.
   */
  private aggregateState(): ConnectionState {
    const channels = [...this.channels.values()];
    if (this.closed || channels.length === 0) return 'disconnected';
    if (channels.some((c) => c.status === 'terminal')) return 'disconnected';
    if (channels.some((c) => c.everConnected && !c.connected)) return 'reconnecting';
    return channels.some((c) => c.connected) ? 'connected' : 'connecting';
  }

  // ---------------------------------------------------------------- ping

  /**
   * One `ping` per interval per connection (on one namespace, not each), 3 a minute at the 20 s default: the SDK's
   * background traffic stays a few percent of the default 100 requests a minute per user even with several tabs.
   */
  private startPing(): void {
    const interval = this.options.pingIntervalMs ?? 20_000;
    if (this.pingTimer !== null || interval <= 0) return;
    this.pingTimer = setInterval(() => void this.pingOnce(), interval);
    // Node services must be able to exit while a client is open but idle.
    (this.pingTimer as { unref?: () => void }).unref?.();
  }

  /** Measures RTT and clock offset on one connected namespace; the answer's `serverTime` is at about half the RTT. */
  async pingOnce(): Promise<void> {
    // The same namespace pings while it stays connected, so the per-namespace request counts stay flat.
    const channel = this.pingChannel?.connected ? this.pingChannel : [...this.channels.values()].find((c) => c.connected);
    if (!channel) return;
    this.pingChannel = channel;
    this.counters.pingsSent++;
    const started = performance.now();
    try {
      const answer = await channel.request('ping', {}, { rateLimitRetries: 0 });
      const rtt = performance.now() - started;
      this.counters.rttMs = rtt;
      this.counters.clockOffsetMs = answer.serverTime - (Date.now() - rtt / 2);
    } catch (error) {
      this.sink.log.debug?.('ping failed', { error: String(error) });
    }
  }
}
