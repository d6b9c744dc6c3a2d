import { type RawData, WebSocket } from 'ws';
import type { AccountEvent, AckResponse, MdMessage } from '#libs/contracts';
import { type BenchClient, type ClientOptions, clientLifecycle, MD_EVENT_PREFIX, messageText } from './bench-client.js';

/** The client of the raw-ws baseline; see bench/baselines/raw-ws.server.ts for its framing. */
export function openRawWsClient(options: ClientOptions): BenchClient {
  const url = `${options.baseUrl.replace(/^http/, 'ws')}${options.namespace}?token=${encodeURIComponent(options.token)}`;
  const ws = new WebSocket(url, {
    perMessageDeflate: options.offerDeflate && (options.compressAll ? { threshold: 0 } : true),
    localAddress: options.localAddress,
    handshakeTimeout: 20_000,
    createConnection: options.createConnection,
    // The load generator shares its core with nats-server and the publisher; validating UTF-8 it produced itself is waste.
    skipUTF8Validation: true,
  });
  const { welcome, acks, close } = clientLifecycle(options);

  ws.on('message', (raw: RawData) => {
    const text = messageText(raw);
    if (text.startsWith(MD_EVENT_PREFIX)) {
      options.handlers.onMdText(text, MD_EVENT_PREFIX.length, text.length - 1);
      return;
    }
    const [event, first, second] = JSON.parse(text) as [string, unknown, unknown];
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
