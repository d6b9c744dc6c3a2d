import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server, type ServerOptions } from 'socket.io';

/**
 * A real Socket.IO server listening on a free loopback port, for specs that talk to it with socket.io-client.
 * `url` has no namespace; `server.close()` closes the HTTP server too.
 */
export async function listeningSocketIoServer(options: Partial<ServerOptions> = {}): Promise<{ server: Server; url: string }> {
  const http = createServer();
  const server = new Server(http, options);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(http.address() as AddressInfo).port}` };
}
