import { randomUUID } from 'node:crypto';
import { UseFilters, UseInterceptors, UsePipes } from '@nestjs/common';
import { MESSAGE_METADATA } from '@nestjs/websockets/constants.js';
import { ConnectedSocket, MessageBody, type OnGatewayConnection, type OnGatewayDisconnect, type OnGatewayInit } from '@nestjs/websockets';
import { tokenFromHandshake } from '#libs/auth';
import {
  CLIENT_EVENTS,
  GatewayError,
  NAMESPACES,
  SERVER_EVENTS,
  wireError,
  type AuthRefreshResponse,
  type CommonRequests,
  type Licence,
  type LicencePayload,
  type Namespace,
  type PingResponse,
  type WelcomePayload,
  type WireError,
} from '#libs/contracts';
import { errorSummary } from '#libs/observability';
import { entitlementsOf, licenceUnusable, sameLicence, type LicenceChange } from '#libs/licensing';
import { RateLimitInterceptor } from './rate-limit.interceptor.js';
import { AckInterceptor } from './ack.interceptor.js';
import { AuthRefreshDto } from './auth-refresh.dto.js';
import { auditAcceptedHandshake, auditDisconnect, auditRefusedHandshake, type HandshakeAttempt } from './connection-audit.js';
import { GatewayExceptionFilter } from './gateway-exception.filter.js';
import { RefusedInboundEvent } from './inbound-packet-limits.js';
import type { GatewayRuntime } from './gateway-runtime.js';
import { connectionKeyOf, connectionKeyOfConnection, type GatewayNamespace, type GatewaySocket } from './gateway-socket.js';
import { DeadlineSchedule } from './deadline-schedule.js';
import { OrderedRequests } from './ordered-requests.js';
import { auditedEvents, auditRequest } from './request-audit.js';
import { createRequestValidationPipe } from './request-validation.pipe.js';
import { requestHandlerOf } from './request-handler.js';

/** The requests every namespace serves, typed by the contract's map. */
const CommonRequest = requestHandlerOf<CommonRequests>();

/** Requests that change what a socket is subscribed to: each waits for the one sent before it to be answered. */
const ORDERED_REQUESTS: ReadonlySet<string> = new Set([CLIENT_EVENTS.subscribe, CLIENT_EVENTS.unsubscribe, CLIENT_EVENTS.resync]);

/** Longer than any answer takes: an account's hydration is bounded by ACCOUNT_LOG_HYDRATE_TIMEOUT_MS, at most 60 s. */
const ORDERED_REQUEST_HOLD_MS = 65_000;
/** Ordered requests one socket may have waiting for their turn; more are refused at once rather than queued. */
const MAX_WAITING_ORDERED_REQUESTS = 64;

/** What a socket's deadline is: the token-expiry warning, or the end of the session. */
type DeadlinePhase = 'warn' | 'end';

/** An empty `handshake.auth`, shared by every socket whose client sent nothing but its token there. */
const NO_HANDSHAKE_AUTH: Readonly<Record<string, never>> = Object.freeze({});

/**
 * What the four domain gateways share: authentication at the handshake (Nest guards do not run on connect), the
 * `welcome`, `ping` and `auth:refresh`, token-expiry warnings and disconnects, the inbound frame limit, rate limits
 * (per user on every request, per client address at the handshake), connection metrics, and the contract's error
 * answers. A domain gateway adds its own requests and its `onClientConnected` /
 * `onClientDisconnected` hooks.
 */
@UseFilters(GatewayExceptionFilter)
// Rate limits first: a refused request is answered before anything else (the ack wrapper included) sees it.
@UseInterceptors(RateLimitInterceptor, AckInterceptor)
@UsePipes(createRequestValidationPipe())
export abstract class DomainGateway implements OnGatewayInit, OnGatewayConnection, OnGatewayDisconnect {
  abstract readonly namespaceName: Namespace;
  protected namespace!: GatewayNamespace;
  /**
   * Each socket's next deadline, in one of two schedules by what it is: the expiry warning, or the token's or the
   * licence's end. One timer per schedule serves every socket of the namespace (a timer per socket cost about 340
   * bytes of every idle connection: deadline-schedule.ts).
   */
  private readonly warnings = new DeadlineSchedule<GatewaySocket>((socket) => this.deadlineReached(socket, 'warn'), (error) => this.deadlineFailed(error));
  private readonly ends = new DeadlineSchedule<GatewaySocket>((socket) => this.deadlineReached(socket, 'end'), (error) => this.deadlineFailed(error));
  private servedEventNames: ReadonlySet<string> | null = null;
  private auditedEventNames: ReadonlySet<string> | null = null;
  private orderedRequests: OrderedRequests | null = null;
  /**
   * Frees the seats of a connection that closed. One function for every connection (engine.io calls it with the
   * connection as `this`), added by the handshake that claimed the connection's seat: nothing is built per socket.
   */
  private readonly releaseSeatsOnClose: (this: object) => void;

  protected constructor(protected readonly runtime: GatewayRuntime) {
    const seats = runtime.seats;
    this.releaseSeatsOnClose = function (this: object) {
      seats.releaseConnection(connectionKeyOfConnection(this));
    };
  }

  afterInit(namespace: GatewayNamespace): void {
    this.namespace = namespace;
    this.runtime.registry.registerNamespace(namespace);
    namespace.use((socket, next) => {
      const attempt: HandshakeAttempt = {};
      this.authenticate(socket, attempt).then(
        () => next(),
        (error: unknown) => {
          const refusal = error instanceof GatewayError ? error : new GatewayError('INTERNAL', 'handshake failed');
          if (!(error instanceof GatewayError)) this.runtime.logger.error({ err: errorSummary(error), namespace: this.namespaceName }, 'handshake failed');
          this.runtime.metrics.handshake(this.namespaceName, refusal.code);
          if (refusal.code === 'NOT_ENTITLED' || refusal.code === 'CONNECTION_LIMIT') this.runtime.metrics.licenceRefusal(this.namespaceName, refusal.code, 'handshake');
          auditRefusedHandshake(this.runtime, socket, refusal.code, attempt);
          next(refusal);
        },
      );
    });
    this.runtime.licences.onChange((change) => this.onLicenceChange(change));
  }

  handleConnection(socket: GatewaySocket): void {
    const { metrics, registry, options } = this.runtime;
    metrics.handshake(this.namespaceName, 'ok');
    metrics.connectionOpened(this.namespaceName);
    registry.add(socket);
    this.runtime.usage.connectionOpened(socket.data.user.tenant, socket.data.user.userId);
    auditAcceptedHandshake(this.runtime, socket);
    // The socket's one middleware: every step a request goes through, in order (admitRequest). The steps are shared
    // by all sockets, so a connection holds this one closure whatever it sends.
    socket.use((packet, next) => this.admitRequest(socket, packet, next));
    this.armDeadlineTimer(socket);
    const { user, licence, connectionId } = socket.data;
    const welcome: WelcomePayload = {
      connectionId,
      userId: user.userId,
      namespace: this.namespaceName,
      node: options.nodeId,
      serverVersion: options.serverVersion,
      serverTime: Date.now(),
      ...this.licencePayload(licence),
    };
    socket.emit(SERVER_EVENTS.welcome, welcome);
    this.onClientConnected(socket);
  }

  handleDisconnect(socket: GatewaySocket, reason?: string): void {
    this.clearDeadlineTimer(socket);
    if (!socket.data.user) return; // refused at the handshake: never counted as connected
    auditDisconnect(this.runtime, socket, reason ?? 'unknown');
    this.runtime.seats.release(connectionKeyOf(socket), socket.id);
    const wasConnected = this.runtime.registry.remove(socket);
    if (wasConnected) this.runtime.metrics.connectionClosed(this.namespaceName);
    this.onClientDisconnected(socket);
    // After the domain let go of the socket's subscriptions: the meter may then fold the user away if it left for good.
    if (wasConnected) this.runtime.usage.connectionClosed(socket.data.user.tenant, socket.data.user.userId);
  }

  @CommonRequest(CLIENT_EVENTS.ping)
  ping(): PingResponse {
    return { serverTime: Date.now() };
  }

  @CommonRequest(CLIENT_EVENTS.authRefresh)
  async refreshToken(@ConnectedSocket() socket: GatewaySocket, @MessageBody() body: AuthRefreshDto): Promise<AuthRefreshResponse> {
    const user = await this.runtime.verifier.verify(body.token);
    if (user.userId !== socket.data.user.userId) throw new GatewayError('FORBIDDEN', 'the new token belongs to another user');
    // Seats, usage and stream counts are held per tenant from the handshake on: a move to another tenant reconnects.
    if (user.tenant !== socket.data.user.tenant) throw new GatewayError('FORBIDDEN', 'the new token belongs to another tenant; reconnect with it');
    const licence = this.runtime.licences.resolve(user);
    const unusable = licenceUnusable(licence);
    if (unusable) throw new GatewayError('NOT_ENTITLED', unusable);
    const licenceChanged = !sameLicence(socket.data.licence, licence);
    socket.data.user = user;
    socket.data.licence = licence;
    this.armDeadlineTimer(socket);
    if (licenceChanged) {
      socket.emit(SERVER_EVENTS.licence, this.licencePayload(licence));
      this.runtime.metrics.licenceChange('refresh', 'updated');
    }
    this.onCredentialsChanged(socket);
    return { expiresAt: user.expiresAt };
  }

  /**
   * Puts a new licence on a live socket (a registry change, a `licence.changed` engine event): a revoked or expired
   * one disconnects with NOT_ENTITLED; any other change is announced with `licence` and re-checked by the domain
   * (streams no longer entitled stop). Returns what it did.
   */
  applyLicence(socket: GatewaySocket, licence: Licence): 'unchanged' | 'updated' | 'disconnected' {
    const unusable = licenceUnusable(licence);
    if (unusable) {
      socket.data.licence = licence;
      this.disconnectUnentitled(socket, unusable);
      return 'disconnected';
    }
    if (sameLicence(socket.data.licence, licence)) return 'unchanged';
    socket.data.licence = licence;
    this.armDeadlineTimer(socket);
    socket.emit(SERVER_EVENTS.licence, this.licencePayload(licence));
    this.onCredentialsChanged(socket);
    return 'updated';
  }

  /** A socket passed the handshake and got its `welcome`. */
  protected onClientConnected(_socket: GatewaySocket): void {}
  /** A socket left; drop whatever the domain holds for it. */
  protected onClientDisconnected(_socket: GatewaySocket): void {}
  /** `auth:refresh` or a live licence change replaced the socket's user or licence (accounts or entitlements may differ). */
  protected onCredentialsChanged(_socket: GatewaySocket): void {}

  /** Live sockets of this namespace whose user or tenant the change names get their newly resolved licence. */
  private onLicenceChange(change: LicenceChange): void {
    const users = new Set(change.scopes.filter((s) => s.kind === 'user').map((s) => s.id));
    const tenants = new Set(change.scopes.filter((s) => s.kind === 'tenant').map((s) => s.id));
    for (const socket of this.runtime.registry.sockets(this.namespaceName)) {
      const user = socket.data.user;
      if (!users.has(user.userId) && !tenants.has(user.tenant)) continue;
      const outcome = this.applyLicence(socket, this.runtime.licences.resolve(user));
      if (outcome === 'unchanged') continue;
      this.runtime.metrics.licenceChange(change.source, outcome);
      this.runtime.audit.licenceApplied({ user: user.userId, tenant: user.tenant, connection: socket.data.connectionId, namespace: this.namespaceName, source: change.source, outcome, tier: socket.data.licence.tier });
    }
  }

  private disconnectUnentitled(socket: GatewaySocket, reason: string): void {
    this.runtime.metrics.licenceRefusal(this.namespaceName, 'NOT_ENTITLED', 'live');
    socket.emit(SERVER_EVENTS.error, wireError('NOT_ENTITLED', `${reason}; the connection is closed`));
    socket.data.closedBecause = 'NOT_ENTITLED';
    socket.disconnect(true);
  }

  private licencePayload(licence: Licence): LicencePayload {
    return {
      limits: {
        maxSubscriptions: licence.maxSubscriptions,
        maxConnections: licence.maxConnections,
        minThrottleMs: licence.minThrottleMs,
        maxFrameBytes: this.runtime.options.maxFrameBytes,
        // fleet (runtime limits): the limits operators may change while running, as they are now.
        ...this.runtime.options.advertisedLimits,
      },
      entitlements: entitlementsOf(licence),
    };
  }

  private async authenticate(socket: GatewaySocket, attempt: HandshakeAttempt): Promise<void> {
    const address = await this.limitHandshakes(socket);
    const token = tokenFromHandshake(socket.handshake);
    if (!token) throw new GatewayError('UNAUTHORIZED', 'no token: pass auth.token, an Authorization: Bearer header or ?token=');
    const user = await this.runtime.verifier.verify(token);
    attempt.user = user;
    const licence = this.runtime.licences.resolve(user);
    const unusable = licenceUnusable(licence);
    if (unusable) throw new GatewayError('NOT_ENTITLED', unusable);
    // Last, so that a refusal for any other reason never takes a seat.
    const conn = socket.conn;
    const connectionKey = connectionKeyOf(socket);
    const seat = await this.runtime.seats.acquire(connectionKey, socket.id, user, licence);
    // A connection that closed while its seat was being claimed fires no 'close' any more (Socket.IO then drops the
    // socket itself): hand the seat back now. Otherwise the seat goes with the connection's last namespace socket
    // (handleDisconnect) or, failing that, when the connection closes.
    if (conn.readyState !== 'open') this.runtime.seats.releaseConnection(connectionKey);
    else if (seat === 'claimed') conn.on('close', this.releaseSeatsOnClose);
    // A licence change that arrived while the seat was being claimed found no live socket to apply to: resolve again.
    const current = this.runtime.licences.resolve(user);
    const nowUnusable = licenceUnusable(current);
    if (nowUnusable) {
      this.runtime.seats.release(connectionKey, socket.id);
      throw new GatewayError('NOT_ENTITLED', nowUnusable);
    }
    socket.data = { user, licence: current, connectionId: randomUUID(), connectedAt: Date.now(), address };
    forgetHandshakeToken(socket);
  }

  /**
   * New connections per client address, before the token is verified so that a flood costs little. Returns the
   * client's address as the limits read it.
   */
  private async limitHandshakes(socket: GatewaySocket): Promise<string> {
    const { address, headers } = socket.handshake;
    const decision = await this.runtime.rateLimiter.checkHandshake(socket.conn, address, headers['x-forwarded-for']);
    if (decision.allowed) return decision.address;
    this.runtime.metrics.rateLimited(this.namespaceName, 'handshake', decision.rule);
    this.runtime.logger.debug({ address: decision.address, namespace: this.namespaceName, retryAfterMs: decision.retryAfterMs }, 'handshake rate limited');
    throw new GatewayError('RATE_LIMITED', 'too many new connections from this address', { retryAfterMs: decision.retryAfterMs });
  }

  /**
   * Every request of a socket goes through these steps, in this order:
   * 1. the audit (audited events): its answer, whoever gives it, passes through the audit trail;
   * 2. the inbound limits: what the decoder refused and events this namespace does not serve are answered here;
   * 3. subscription requests wait for the one sent before them to be answered (they take effect in order);
   * 4. the request waits for its turn of the event loop (RequestTurns), once nothing else will hold it back;
   * then `next` hands it to its handler (Nest's guards, interceptors, pipes and the gateway method).
   */
  private admitRequest(socket: GatewaySocket, packet: unknown[], next: () => void): void {
    const { audit, requestTurns } = this.runtime;
    if (audit.enabled) auditRequest(audit, socket, this.auditedEvents(), packet);
    if (this.refuseUnserved(socket, packet)) return;
    this.subscriptionOrder().admit(socket, packet, () => requestTurns.admit(socket, next));
  }

  /**
   * Answers what the decoder refused (an event over `maxFrameBytes` with its attachments, or nested deeper than
   * MAX_PAYLOAD_DEPTH: it arrives with a RefusedInboundEvent as its argument) and events this namespace does not
   * serve, with INVALID_REQUEST through the ack or as an `error` event; returns whether it did. Nothing else sees
   * them; the connection goes on.
   */
  private refuseUnserved(socket: GatewaySocket, packet: unknown[]): boolean {
    const served = this.servedEvents();
    const event: unknown = packet[0];
    const refusal: unknown = packet[1];
    let error: WireError;
    let label: string;
    if (refusal instanceof RefusedInboundEvent) {
      error = wireError('INVALID_REQUEST', refusal.message, { details: refusal.details });
      label = typeof event === 'string' && served.has(event) ? event : 'unknown';
    } else if (typeof event !== 'string' || !served.has(event)) {
      error = wireError('INVALID_REQUEST', `unknown event ${JSON.stringify(String(event).slice(0, 64))} on ${this.namespaceName}`);
      label = 'unknown';
    } else return false;
    this.runtime.metrics.clientRequest(this.namespaceName, label, 'INVALID_REQUEST');
    const ack: unknown = packet[packet.length - 1];
    if (typeof ack === 'function') (ack as (response: unknown) => void)({ ok: false, error });
    else socket.emit(SERVER_EVENTS.error, error);
    return true;
  }

  /** The events this namespace's gateway serves: every @SubscribeMessage of its class and the classes above it. */
  private servedEvents(): ReadonlySet<string> {
    if (this.servedEventNames) return this.servedEventNames;
    const names = new Set<string>();
    for (let proto: object | null = Object.getPrototypeOf(this) as object | null; proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto) as object | null) {
      for (const key of Object.getOwnPropertyNames(proto)) {
        const handler = Object.getOwnPropertyDescriptor(proto, key)?.value as unknown;
        if (typeof handler !== 'function') continue;
        const message: unknown = Reflect.getMetadata(MESSAGE_METADATA, handler);
        if (typeof message === 'string') names.add(message);
      }
    }
    this.servedEventNames = names;
    return names;
  }

  /** The events of this namespace the audit trail records (see auditedEvents). */
  private auditedEvents(): ReadonlySet<string> {
    return (this.auditedEventNames ??= auditedEvents(this.servedEvents(), this.namespaceName !== NAMESPACES.marketData));
  }

  /**
   * Subscription requests of one socket take effect in the order they were sent. Nest runs each request through its
   * guards and interceptors with awaits in between, and a `subscribe` passes more of them than an `unsubscribe`: two
   * requests read from the network in one go would otherwise be handled the wrong way round.
   */
  private subscriptionOrder(): OrderedRequests {
    return (this.orderedRequests ??= new OrderedRequests({
      events: ORDERED_REQUESTS,
      maxWaiting: MAX_WAITING_ORDERED_REQUESTS,
      holdMs: ORDERED_REQUEST_HOLD_MS,
      refused: (event) => {
        this.runtime.metrics.rateLimited(this.namespaceName, event, 'waiting');
        this.runtime.metrics.clientRequest(this.namespaceName, event, 'RATE_LIMITED');
      },
    }));
  }

  /**
   * Schedules the socket's one deadline for what comes next: the `auth:expiring` warning while it is ahead, then the
   * end of the session, whichever of the token's and the licence's `expiresAt` comes first. Every session has a
   * deadline (a token without `exp` gets one from JWT_MAX_LIFETIME), so a refresh never ends it; a refresh or a
   * licence change schedules it again. The schedule may call back early (a far deadline is kept to the minute):
   * {@link deadlineReached} checks the time and schedules it again.
   */
  private armDeadlineTimer(socket: GatewaySocket): void {
    this.clearDeadlineTimer(socket);
    const { user, licence } = socket.data;
    const now = Date.now();
    const end = Math.min(user.expiresAt, licence.expiresAt ?? Number.POSITIVE_INFINITY);
    const warnAt = user.expiresAt - this.runtime.options.tokenExpiryWarningMs;
    if (warnAt > now && warnAt < end) this.warnings.set(socket, warnAt);
    else this.ends.set(socket, end);
  }

  /** The socket's deadline came (or a far one's first call): one function for every socket. */
  private deadlineReached(socket: GatewaySocket, phase: DeadlinePhase): void {
    const { user, licence } = socket.data;
    const now = Date.now();
    if (phase === 'warn') {
      if (now >= user.expiresAt - this.runtime.options.tokenExpiryWarningMs) socket.emit(SERVER_EVENTS.authExpiring, { expiresAt: user.expiresAt });
      return this.armDeadlineTimer(socket);
    }
    const licenceEnded = licence.expiresAt !== undefined && now >= licence.expiresAt;
    const tokenEnded = now >= user.expiresAt;
    // Both over: the one that ended first says why.
    if (licenceEnded && (!tokenEnded || (licence.expiresAt ?? 0) <= user.expiresAt)) return this.disconnectUnentitled(socket, 'licence has expired');
    if (tokenEnded) {
      socket.emit(SERVER_EVENTS.error, wireError('TOKEN_EXPIRED', 'token has expired; reconnect with a fresh token'));
      socket.data.closedBecause = 'TOKEN_EXPIRED';
      socket.disconnect(true);
      return;
    }
    this.armDeadlineTimer(socket);
  }

  private deadlineFailed(error: unknown): void {
    this.runtime.logger.error({ err: errorSummary(error), namespace: this.namespaceName }, 'session deadline failed');
  }

  private clearDeadlineTimer(socket: GatewaySocket): void {
    this.warnings.delete(socket);
    this.ends.delete(socket);
  }
}

/**
 * Lets go of the token the client sent in `handshake.auth` once it is verified: the session keeps what was read from
 * it (`socket.data.user`), and a JWT is several hundred bytes per connection. A token in a header or the query stays
 * where it is: Socket.IO builds each later namespace's handshake from them.
 */
function forgetHandshakeToken(socket: GatewaySocket): void {
  const auth = socket.handshake.auth as Record<string, unknown>;
  if (!('token' in auth)) return;
  const { token: _verified, ...rest } = auth;
  socket.handshake.auth = Object.keys(rest).length === 0 ? NO_HANDSHAKE_AUTH : rest;
}
