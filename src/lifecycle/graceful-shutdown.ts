import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationShutdown } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { Server } from 'node:http';
import { SERVER_EVENTS, type SystemPayload } from '#libs/contracts';
import { PINO_LOGGER, type Logger } from '#libs/observability';
import { broadcastEvent, ConnectionRegistry } from '#libs/realtime';
import { AppConfig } from '../config/index.js';
import { EngineTransports } from '../engine/engine-transports.js';
import { ReadinessState } from '../health/readiness.state.js';
import { stopAccepting } from '../http/accepting.js';

/**
 * The graceful drain on SIGTERM / SIGINT (main.ts enables Nest's shutdown hooks): readiness goes 503 for DRAIN_DELAY_MS
 * so the load balancer takes the replica out, then every local client is told `system: shutdown` and disconnected,
 * and only then does Nest close the servers and the providers release what they hold (their `onApplicationShutdown`,
 * after this: seats, limits, idempotency store, engine transports, Redis). SHUTDOWN_TIMEOUT_MS bounds it all.
 *
 * Providers that must keep serving while clients drain release in `onApplicationShutdown`, not `onModuleDestroy`: Nest
 * runs every `onModuleDestroy` before the first `beforeApplicationShutdown`.
 */
@Injectable()
export class GracefulShutdown implements BeforeApplicationShutdown, OnApplicationShutdown {
  constructor(
    private readonly config: AppConfig,
    @Inject(PINO_LOGGER) private readonly logger: Logger,
    private readonly readiness: ReadinessState,
    private readonly connections: ConnectionRegistry,
    private readonly engine: EngineTransports,
    private readonly http: HttpAdapterHost,
  ) {}

  async beforeApplicationShutdown(signal?: string): Promise<void> {
    const deadline = setTimeout(() => {
      this.logger.error({ timeoutMs: this.config.shutdownTimeoutMs }, 'graceful shutdown timed out; exiting');
      process.exit(1);
    }, this.config.shutdownTimeoutMs);
    deadline.unref();
    this.logger.info({ signal }, 'shutting down: not ready');
    this.readiness.beginDraining();
    await new Promise((resolveDrain) => setTimeout(resolveDrain, this.config.drainDelayMs));
    this.engine.stopSimulator();
    // Clients come back at a random moment inside this window (SHUTDOWN_RECONNECT_WINDOW_MS), spreading their
    // handshakes over the other replicas; the load balancer has taken this one out during the drain delay above.
    const notice: SystemPayload = { type: 'shutdown', message: 'gateway is restarting; reconnect shortly', reconnectInMs: this.config.shutdownReconnectWindowMs };
    const namespaces = this.connections.allNamespaces();
    // Local only: the other replicas are not going anywhere. Written in full before any DISCONNECT packet below.
    await broadcastEvent(this.connections.sockets(), SERVER_EVENTS.system, notice);
    // Stop accepting, then disconnect whoever is left; the notice above went out first on every connection.
    const httpServer = (this.http.httpAdapter as HttpAdapterHost['httpAdapter'] | null)?.getHttpServer() as Server | undefined;
    if (httpServer) stopAccepting(httpServer);
    // A DISCONNECT packet per socket first (the client sees "io server disconnect" and follows reconnectInMs), then
    // the Socket.IO server closes the connections behind them.
    // The audit trail's disconnect records say why (written out when AuditModule closes, after this).
    for (const socket of this.connections.sockets()) socket.data.closedBecause = 'shutdown';
    for (const namespace of namespaces) namespace.local.disconnectSockets(false);
    await new Promise((resolveFlush) => setTimeout(resolveFlush, 100));
    const io = namespaces[0]?.server;
    if (io) await io.close();
  }

  onApplicationShutdown(): void {
    this.logger.info('shutdown complete');
    this.logger.flush();
  }
}
