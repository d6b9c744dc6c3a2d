import { io, type ManagerOptions, type SocketOptions } from 'socket.io-client';
import type { AccountEvent, AckResponse, MdMessage, SystemPayload } from '#libs/contracts';
import { type BenchClient, type ClientOptions, deferred } from './bench-client.js';

/** A client built on socket.io-client, configured as the protocol documents (auth token, WebSocket only). */
export function openSocketIoLibClient(options: ClientOptions): BenchClient {
  // Two options engine.io-client hands to `ws` at run time that its types do not (fully) describe.
  const settings: Omit<Partial<ManagerOptions & SocketOptions>, 'perMessageDeflate'> & {
    localAddress?: string;
    perMessageDeflate: { threshold: number } | false;
  } = {
    auth: { token: options.token },
    transports: ['websocket'],
    // One engine connection per client: the library would otherwise multiplex every client onto one WebSocket.
    forceNew: true,
    reconnection: false,
    timeout: 20_000,
    // engine.io-client's own default when offering; `false` makes it offer nothing.
    perMessageDeflate: options.offerDeflate ? { threshold: options.compressAll ? 0 : 1024 } : false,
    localAddress: options.localAddress,
  };
  const socket = io(options.baseUrl + options.namespace, settings as Partial<ManagerOptions & SocketOptions>);
  const welcome = deferred();
  socket.once('welcome', () => welcome.resolve());
  socket.once('connect_error', (error: Error) => welcome.reject(new Error(error.message || 'connect_error')));
  socket.on('md', (messages: MdMessage[]) => options.handlers.onMd(messages));
  socket.on('order', (event: AccountEvent<'order'>) => options.handlers.onOrder(event));
  socket.on('system', (payload: SystemPayload) => options.handlers.onSystem(options.slot, payload));
  socket.on('disconnect', (reason: string) => {
    welcome.reject(new Error(`disconnected: ${reason}`));
    options.handlers.onClose(options.slot, reason);
  });
  return {
    welcomed: welcome.promise,
    request: <T>(event: string, payload: unknown, timeoutMs: number) =>
      socket.timeout(timeoutMs).emitWithAck(event, payload) as Promise<AckResponse<T>>,
    close: () => void socket.disconnect(),
  };
}
