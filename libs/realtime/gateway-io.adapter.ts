import type { INestApplicationContext } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import { createAdapter } from '@socket.io/redis-adapter';
import type { Redis } from 'ioredis';
import type { Server, ServerOptions } from 'socket.io';

export interface SocketServerSettings {
  corsOrigins: string[] | true;
  /** Hard cap on one inbound frame; a larger one closes that connection only. */
  transportMaxBytes: number;
  /** With Redis: cross-replica broadcasts (system notices, disconnects) go through the Redis adapter. */
  redis?: { pub: Redis; sub: Redis };
}

/**
 * One Socket.IO server for all four namespaces, with the gateway's transport settings: websocket and long-polling,
 * CORS, permessage-deflate above 1 KB, ping 25 s / timeout 20 s, an inbound frame cap.
 */
export class GatewayIoAdapter extends IoAdapter {
  private server: Server | null = null;

  constructor(
    app: INestApplicationContext,
    private readonly settings: SocketServerSettings,
  ) {
    super(app);
  }

  override createIOServer(port: number, options?: ServerOptions): Server {
    if (this.server) return this.server;
    const merged: Partial<ServerOptions> = {
      ...options,
      transports: ['websocket', 'polling'],
      cors: { origin: this.settings.corsOrigins, credentials: true },
      pingInterval: 25_000,
      pingTimeout: 20_000,
      maxHttpBufferSize: this.settings.transportMaxBytes,
      perMessageDeflate: { threshold: 1024 },
      httpCompression: { threshold: 1024 },
      serveClient: true,
    };
    const server = super.createIOServer(port, merged as ServerOptions);
    if (this.settings.redis) server.adapter(createAdapter(this.settings.redis.pub, this.settings.redis.sub, { key: 'tradewire' }));
    this.server = server;
    return server;
  }

  get ioServer(): Server | null {
    return this.server;
  }
}
