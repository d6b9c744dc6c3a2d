import { randomUUID } from 'node:crypto';
import { UseFilters, UseInterceptors, UsePipes } from '@nestjs/common';
import { ConnectedSocket, MessageBody, SubscribeMessage, type OnGatewayConnection, type OnGatewayDisconnect, type OnGatewayInit } from '@nestjs/websockets';
import { tokenFromHandshake } from '#libs/auth';
import {
  CLIENT_EVENTS,
  GatewayError,
  SERVER_EVENTS,
  wireError,
  type AuthRefreshResponse,
  type Namespace,
  type PingResponse,
  type WelcomePayload,
} from '#libs/contracts';
import { entitlementsOf, isLicenceExpired } from '#libs/licensing';
import { AckInterceptor } from './ack.interceptor.js';
import { AuthRefreshDto } from './auth-refresh.dto.js';
import { GatewayExceptionFilter } from './gateway-exception.filter.js';
import type { GatewayRuntime } from './gateway-runtime.js';
import type { GatewayNamespace, GatewaySocket } from './gateway-socket.js';
import { createRequestValidationPipe } from './request-validation.pipe.js';

/** setTimeout's limit; later deadlines are re-armed in steps. */
const MAX_TIMER_MS = 2_147_483_647;

interface SocketTimers {
  warn?: NodeJS.Timeout;
  expire?: NodeJS.Timeout;
}

/**
 * What the four domain gateways share: authentication at the handshake (Nest guards do not run on connect), the
 * `welcome`, `ping` and `auth:refresh`, token-expiry warnings and disconnects, the inbound frame limit, connection
 * metrics, and the contract's error answers. A domain gateway adds its own requests and its `onClientConnected` /
 * `onClientDisconnected` hooks.
 */
@UseFilters(GatewayExceptionFilter)
@UseInterceptors(AckInterceptor)
@UsePipes(createRequestValidationPipe())
export abstract class DomainGateway implements OnGatewayInit, OnGatewayConnection, OnGatewayDisconnect {
  abstract readonly namespaceName: Namespace;
  protected namespace!: GatewayNamespace;
  private readonly timers = new WeakMap<GatewaySocket, SocketTimers>();

  protected constructor(protected readonly runtime: GatewayRuntime) {}

  afterInit(namespace: GatewayNamespace): void {
    this.namespace = namespace;
    this.runtime.registry.registerNamespace(namespace);
    namespace.use((socket, next) => {
      this.authenticate(socket).then(
        () => next(),
        (error: unknown) => {
          const refusal = error instanceof GatewayError ? error : new GatewayError('INTERNAL', 'handshake failed');
          if (!(error instanceof GatewayError)) this.runtime.logger.error({ err: error, namespace: this.namespaceName }, 'handshake failed');
          this.runtime.metrics.handshake(this.namespaceName, refusal.code);
          next(refusal);
        },
      );
    });
  }

  handleConnection(socket: GatewaySocket): void {
    const { metrics, registry, options } = this.runtime;
    metrics.handshake(this.namespaceName, 'ok');
    metrics.connectionOpened(this.namespaceName);
    registry.add(socket);
    this.limitInboundFrames(socket);
    this.armExpiryTimers(socket);
    const { user, licence, connectionId } = socket.data;
    const welcome: WelcomePayload = {
      connectionId,
      userId: user.userId,
      namespace: this.namespaceName,
      node: options.nodeId,
      serverVersion: options.serverVersion,
      serverTime: Date.now(),
      limits: {
        maxSubscriptions: licence.maxSubscriptions,
        maxConnections: licence.maxConnections,
        minThrottleMs: licence.minThrottleMs,
        maxFrameBytes: options.maxFrameBytes,
      },
      entitlements: entitlementsOf(licence),
    };
    socket.emit(SERVER_EVENTS.welcome, welcome);
    this.onClientConnected(socket);
  }

  handleDisconnect(socket: GatewaySocket): void {
    this.clearExpiryTimers(socket);
    if (!socket.data.user) return; // refused at the handshake: never counted as connected
    if (this.runtime.registry.remove(socket)) this.runtime.metrics.connectionClosed(this.namespaceName);
    this.onClientDisconnected(socket);
  }

  @SubscribeMessage(CLIENT_EVENTS.ping)
  ping(): PingResponse {
    return { serverTime: Date.now() };
  }

  @SubscribeMessage(CLIENT_EVENTS.authRefresh)
  async refreshToken(@ConnectedSocket() socket: GatewaySocket, @MessageBody() body: AuthRefreshDto): Promise<AuthRefreshResponse> {
    const user = await this.runtime.verifier.verify(body.token);
    if (user.userId !== socket.data.user.userId) throw new GatewayError('FORBIDDEN', 'the new token belongs to another user');
    const licence = this.runtime.licences.resolve(user);
    if (isLicenceExpired(licence)) throw new GatewayError('NOT_ENTITLED', 'licence has expired');
    socket.data.user = user;
    socket.data.licence = licence;
    this.armExpiryTimers(socket);
    this.onCredentialsChanged(socket);
    return { expiresAt: user.expiresAt ?? 0 };
  }

  /** A socket passed the handshake and got its `welcome`. */
  protected onClientConnected(_socket: GatewaySocket): void {}
  /** A socket left; drop whatever the domain holds for it. */
  protected onClientDisconnected(_socket: GatewaySocket): void {}
  /** `auth:refresh` replaced the socket's user and licence (accounts or entitlements may differ). */
  protected onCredentialsChanged(_socket: GatewaySocket): void {}

  private async authenticate(socket: GatewaySocket): Promise<void> {
    const token = tokenFromHandshake(socket.handshake);
    if (!token) throw new GatewayError('UNAUTHORIZED', 'no token: pass auth.token, an Authorization: Bearer header or ?token=');
    const user = await this.runtime.verifier.verify(token);
    const licence = this.runtime.licences.resolve(user);
    if (isLicenceExpired(licence)) throw new GatewayError('NOT_ENTITLED', 'licence has expired');
    socket.data = { user, licence, connectionId: randomUUID(), connectedAt: Date.now() };
  }

  /**
   * Refuses client frames over `maxFrameBytes` with INVALID_REQUEST without closing the connection. The size is read
   * from the engine.io packet (before Socket.IO decodes it), which is emitted synchronously just before decoding.
   */
  private limitInboundFrames(socket: GatewaySocket): void {
    const limit = this.runtime.options.maxFrameBytes;
    let lastFrameBytes = 0;
    socket.conn.on('packet', (packet: { type: string; data?: unknown }) => {
      if (packet.type !== 'message') return;
      const data = packet.data;
      lastFrameBytes = typeof data === 'string' ? (data.length * 3 > limit ? Buffer.byteLength(data) : data.length) : data instanceof Buffer ? data.byteLength : 0;
    });
    socket.use((packet, next) => {
      if (lastFrameBytes <= limit) return next();
      const event = typeof packet[0] === 'string' ? packet[0] : 'unknown';
      const error = wireError('INVALID_REQUEST', `frame of ${lastFrameBytes} bytes exceeds the limit of ${limit} bytes`, { details: { limit } });
      this.runtime.metrics.clientRequest(this.namespaceName, event, 'INVALID_REQUEST');
      const ack: unknown = packet[packet.length - 1];
      if (typeof ack === 'function') (ack as (response: unknown) => void)({ ok: false, error });
      else socket.emit(SERVER_EVENTS.error, error);
    });
  }

  private armExpiryTimers(socket: GatewaySocket): void {
    this.clearExpiryTimers(socket);
    const expiresAt = socket.data.user.expiresAt;
    if (expiresAt === null) return;
    const timers: SocketTimers = {};
    const now = Date.now();
    const warnAt = expiresAt - this.runtime.options.tokenExpiryWarningMs;
    if (warnAt > now && warnAt - now < MAX_TIMER_MS) {
      timers.warn = setTimeout(() => socket.emit(SERVER_EVENTS.authExpiring, { expiresAt }), warnAt - now);
      timers.warn.unref();
    }
    const untilExpiry = Math.max(0, expiresAt - now);
    timers.expire = setTimeout(
      () => {
        if (Date.now() < expiresAt) return this.armExpiryTimers(socket); // a deadline past setTimeout's limit: re-arm
        socket.emit(SERVER_EVENTS.error, wireError('TOKEN_EXPIRED', 'token has expired; reconnect with a fresh token'));
        socket.disconnect(true);
      },
      Math.min(untilExpiry, MAX_TIMER_MS),
    );
    timers.expire.unref();
    this.timers.set(socket, timers);
  }

  private clearExpiryTimers(socket: GatewaySocket): void {
    const timers = this.timers.get(socket);
    if (!timers) return;
    clearTimeout(timers.warn);
    clearTimeout(timers.expire);
    this.timers.delete(socket);
  }
}
