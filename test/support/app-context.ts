import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Server, type Socket as ServerSocket } from 'socket.io';
import { io, type Socket as ClientSocket } from 'socket.io-client';
import type { AuthenticatedUser } from '#libs/auth';
import { MD_CHANNELS, type Licence, type MdMessage } from '#libs/contracts';
import { createLogger } from '#libs/observability';
import type { GatewayNamespace, GatewaySocket } from '#libs/realtime';
import { AppModule } from '../../src/app.module.js';
import { AppConfig } from '../../src/config/index.js';

/**
 * The gateway's real module graph, built by Nest's injector in this process (decorators and their metadata compiled by
 * SWC, see vitest.config.ts) without its HTTP and Socket.IO servers: unit tests of decorated providers get them with
 * every real dependency. `env` is the configuration, as the environment would give it.
 */
export async function gatewayContext(env: Record<string, string>): Promise<INestApplicationContext> {
  const config = AppConfig.fromEnvironment({ ENGINE_TRANSPORT: 'simulator', SIMULATOR: 'off', LOG_LEVEL: 'silent', ...env });
  const logger = createLogger({ level: 'silent', nodeId: 'unit' });
  return NestFactory.createApplicationContext(AppModule.forRoot(config, logger), { logger: false });
}

export const UNIT_LICENCE: Licence = { tier: 'unit', exchanges: { '*': 'realtime' }, channels: [...MD_CHANNELS], maxSubscriptions: 100, maxConnections: 0, minThrottleMs: 0, features: ['trading'] };

export function unitUser(overrides: Partial<AuthenticatedUser> = {}): AuthenticatedUser {
  return { userId: 'user-1', tenant: 'acme-capital', accounts: ['ACC-1001'], roles: ['trader'], expiresAt: Date.now() + 3_600_000, ...overrides };
}

/**
 * A real Socket.IO namespace on a loopback port, with sockets whose user and licence are set as the handshake would:
 * what a domain service is attached to, and the clients that receive its frames.
 */
export class LoopbackNamespace {
  private readonly serverSockets = new Map<string, ServerSocket>();
  private readonly clients: ClientSocket[] = [];

  private constructor(
    private readonly http: HttpServer,
    private readonly server: Server,
    readonly namespace: GatewayNamespace,
    private readonly url: string,
  ) {}

  static async open(name: string): Promise<LoopbackNamespace> {
    const http = createServer();
    const server = new Server(http);
    const namespace = server.of(name) as unknown as GatewayNamespace;
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const loopback = new LoopbackNamespace(http, server, namespace, `http://127.0.0.1:${(http.address() as AddressInfo).port}${name}`);
    server.of(name).on('connection', (socket) => loopback.serverSockets.set(socket.id, socket));
    return loopback;
  }

  /** A connected client, its server-side socket (with `user` and `licence`), and every `md` message it receives. */
  async connect(user: AuthenticatedUser, licence: Licence): Promise<{ socket: GatewaySocket; client: ClientSocket; md: MdMessage[] }> {
    const client = io(this.url, { transports: ['websocket'], forceNew: true });
    this.clients.push(client);
    const md: MdMessage[] = [];
    client.on('md', (batch: MdMessage[]) => md.push(...batch));
    await new Promise<void>((resolve, reject) => {
      client.once('connect', resolve);
      client.once('connect_error', reject);
    });
    const deadline = Date.now() + 2_000;
    while (!this.serverSockets.has(client.id ?? '') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    const socket = this.serverSockets.get(client.id ?? '') as unknown as GatewaySocket;
    socket.data = { user, licence, connectionId: socket.id, connectedAt: Date.now(), address: socket.handshake.address };
    return { socket, client, md };
  }

  async close(): Promise<void> {
    for (const client of this.clients) client.close();
    await this.server.close();
    this.http.close();
  }
}

export { eventually } from './polling.js';
