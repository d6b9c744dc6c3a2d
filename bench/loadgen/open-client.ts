import type { BenchClient, ClientOptions, ClientSettings } from './bench-client.js';
import { openRawWsClient } from './raw-ws.client.js';
import { openSocketIoLeanClient } from './socketio-lean.client.js';
import { openSocketIoLibClient } from './socketio-lib.client.js';
import { openSocketIoTcpClient } from './socketio-tcp.client.js';

export function openClient(settings: ClientSettings, options: Omit<ClientOptions, 'offerDeflate' | 'compressAll'>): BenchClient {
  const withDeflate = { ...options, offerDeflate: settings.offerDeflate, compressAll: settings.compressAll };
  switch (settings.kind) {
    case 'socket.io-client':
      return openSocketIoLibClient(withDeflate);
    case 'lean':
      return openSocketIoLeanClient(withDeflate);
    case 'lean-tcp':
      return openSocketIoTcpClient(withDeflate);
    case 'raw-ws':
      return openRawWsClient(withDeflate);
  }
}
