import { createConnection, type NetConnectOpts, type Socket } from 'node:net';
import type { MdSubscribeResponse } from '#libs/contracts';
import type { ClientSettings } from './bench-client.js';
import { openRawWsClient } from './raw-ws.client.js';
import { openSocketIoLeanClient } from './socketio-lean.client.js';

/** A client that subscribed and then stopped reading: its TCP socket is paused, so the kernel buffers fill up. */
export interface StalledClient {
  /** Streams the subscription was accepted for. */
  readonly accepted: number;
  /** `performance.now()` when reading stopped. */
  readonly pausedAt: number;
  /**
   * Reads again for up to `ms` and says whether the connection turned out closed (by the server, while we were not
   * looking): a paused socket cannot see the server's close until it reads through the backlog before it.
   */
  resumeAndCheckClosed(ms: number): Promise<boolean>;
  destroy(): void;
}

/**
 * Opens one client with the run's wire protocol — Socket.IO spoken by hand (the lean client) or the raw-ws baseline's
 * framing — holding the `net.Socket` under the WebSocket, subscribes it to `instruments`, then pauses the socket.
 */
export async function openStalledClient(
  settings: ClientSettings,
  options: { baseUrl: string; namespace: string; token: string; instruments: string[]; throttleMs: number; timeoutMs: number },
): Promise<StalledClient> {
  let socket: Socket | undefined;
  let closed = false;
  let onClosed: (() => void) | undefined;
  // ws passes the request path as `path`, which net would take for an IPC socket; ws's own connector clears it too.
  const connect = ((opts: NetConnectOpts) => {
    socket = createConnection({ ...opts, path: undefined } as NetConnectOpts);
    return socket;
  }) as typeof createConnection;
  const clientOptions = {
    baseUrl: options.baseUrl,
    namespace: options.namespace,
    token: options.token,
    slot: 0,
    offerDeflate: settings.offerDeflate,
    compressAll: settings.compressAll,
    createConnection: connect,
    handlers: {
      onMd: () => undefined,
      onMdText: () => undefined,
      onOrder: () => undefined,
      onSystem: () => undefined,
      onSystemText: () => undefined,
      onClose: () => {
        closed = true;
        onClosed?.();
      },
    },
  };
  const client = settings.kind === 'raw-ws' ? openRawWsClient(clientOptions) : openSocketIoLeanClient(clientOptions);
  await client.welcomed;
  const response = await client.request<MdSubscribeResponse>(
    'subscribe',
    { instruments: options.instruments, channels: ['quote'], throttleMs: options.throttleMs },
    options.timeoutMs,
  );
  if (!response.ok) throw new Error(`slow client's subscribe refused: ${response.error.code}`);
  const held = socket;
  if (!held) throw new Error('slow client: ws did not use the given createConnection');
  held.pause();
  const pausedAt = performance.now();
  // ws pauses and resumes the socket itself for its own back-pressure; make sure it stays paused.
  const keepPaused = setInterval(() => {
    if (!held.isPaused()) held.pause();
  }, 50);
  keepPaused.unref();

  return {
    accepted: response.data.subscribed.length,
    pausedAt,
    async resumeAndCheckClosed(ms) {
      clearInterval(keepPaused);
      if (closed || held.destroyed) return true;
      held.resume();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        onClosed = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      return closed || held.destroyed;
    },
    destroy() {
      clearInterval(keepPaused);
      held.destroy();
    },
  };
}
