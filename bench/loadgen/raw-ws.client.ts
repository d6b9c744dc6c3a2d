import { type RawData, WebSocket } from 'ws';
import type { AccountEvent, AckResponse, MdMessage } from '#libs/contracts';
import { type BenchClient, type ClientOptions, deferred, messageText, PendingAcks } from './bench-client.js';

/** The client of the raw-ws baseline; see bench/baselines/raw-ws.server.ts for its framing. */
export function openRawWsClient(options: ClientOptions): BenchClient {
  const url = `${options.baseUrl.replace(/^http/, 'ws')}${options.namespace}?token=${encodeURIComponent(options.token)}`;
  const ws = new WebSocket(url, {
    perMessageDeflate: options.offerDeflate,
    localAddress: options.localAddress,
    handshakeTimeout: 20_000,
    createConnection: options.createConnection,
    // The load generator shares its core with nats-server and the publisher; validating UTF-8 it produced itself is waste.
    skipUTF8Validation: true,
  });
  const welcome = deferred();
  const acks = new PendingAcks();
  let closed = false;

  const close = (reason: string): void => {
    if (closed) return;
    closed = true;
    welcome.reject(new Error(reason));
    acks.failAll(reason);
    options.handlers.onClose(reason);
  };

  ws.on('message', (raw: RawData) => {
    const [event, first, second] = JSON.parse(messageText(raw)) as [string, unknown, unknown];
    if (event === 'md') options.handlers.onMd(first as MdMessage[]);
    else if (event === 'order') options.handlers.onOrder(first as AccountEvent<'order'>);
    else if (event === 'ack') acks.settle(first as number, second);
    else if (event === 'welcome') welcome.resolve();
  });
  ws.on('unexpected-response', (_request, response) => {
    close(response.statusCode === 401 ? 'UNAUTHORIZED' : `HTTP ${response.statusCode}`);
    ws.terminate();
  });
  ws.on('close', () => close('transport close'));
  ws.on('error', (error) => close(error.message));

  return {
    welcomed: welcome.promise,
    request<T>(event: string, payload: unknown, timeoutMs: number): Promise<AckResponse<T>> {
      const { id, promise } = acks.add<T>(event, timeoutMs);
      ws.send(JSON.stringify({ id, event, data: payload }));
      return promise;
    },
    close: () => ws.close(),
  };
}
