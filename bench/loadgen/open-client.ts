import type { BenchClient, ClientKind, ClientOptions } from './bench-client.js';
import { openRawWsClient } from './raw-ws.client.js';
import { openSocketIoLeanClient } from './socketio-lean.client.js';
import { openSocketIoLibClient } from './socketio-lib.client.js';

export function openClient(kind: ClientKind, options: ClientOptions): BenchClient {
  switch (kind) {
    case 'socket.io-client':
      return openSocketIoLibClient(options);
    case 'lean':
      return openSocketIoLeanClient(options);
    case 'raw-ws':
      return openRawWsClient(options);
  }
}
