import { type RawData, WebSocket } from 'ws';
import type { AccountEvent, AckResponse, MdMessage } from '#libs/contracts';
import { type BenchClient, type ClientOptions, clientLifecycle, MD_EVENT_PREFIX, messageText } from './bench-client.js';
import { SYSTEM_EVENT_PREFIX } from './system-notice.js';

// engine.io v4 packet types (first character of every WebSocket message).
const EIO_OPEN = '0';
const EIO_CLOSE = '1';
const EIO_PING = '2';
const EIO_PONG = '3';
const EIO_MESSAGE = '4';
// socket.io v5 packet types (the character after EIO_MESSAGE).
const SIO_CONNECT = '0';
const SIO_DISCONNECT = '1';
const SIO_EVENT = '2';
const SIO_ACK = '3';
const SIO_CONNECT_ERROR = '4';

/**
 * A Socket.IO client that speaks the wire protocol directly over `ws`: engine.io v4 with the WebSocket transport only
 * (one packet per WebSocket message, so no payload framing), socket.io v5 text packets only (the protocol sends no
 * binary). The server cannot tell it from socket.io-client; the load generator spends far less CPU per frame.
 */
export function openSocketIoLeanClient(options: ClientOptions): BenchClient {
  const url = `${options.baseUrl.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`;
  const ws = new WebSocket(url, {
    perMessageDeflate: options.offerDeflate && (options.compressAll ? { threshold: 0 } : true),
    localAddress: options.localAddress,
    handshakeTimeout: 20_000,
    createConnection: options.createConnection,
    // The load generator shares its core with nats-server and the publisher; validating UTF-8 it produced itself is waste.
    skipUTF8Validation: true,
  });
  const session = socketIoSession(options, {
    send: (text) => ws.send(text),
    close: () => ws.close(),
  });
  ws.on('message', (raw: RawData) => session.onMessage(messageText(raw)));
  ws.on('close', () => session.close('transport close'));
  ws.on('error', (error) => session.close(error.message));
  return session.client;
}

/** The WebSocket under a hand-written Socket.IO session: send one text message, close. */
export interface TextTransport {
  send(text: string): void;
  close(): void;
}

/**
 * The Socket.IO session of a hand-written client over any WebSocket transport: engine.io v4 (one packet per WebSocket
 * message) and socket.io v5 text packets. `onMessage` takes each text message the transport receives; `close` is the
 * transport's end.
 */
export function socketIoSession(options: ClientOptions, transport: TextTransport): { client: BenchClient; onMessage(text: string): void; close(reason: string): void } {
  const namespacePrefix = `${options.namespace},`;
  const { welcome, acks, close } = clientLifecycle(options);
  // Read once here, not per message: at 100,000 clients the notice is 100,000 messages within a second or two, and
  // every client's options object has its own history of shapes, so a load through it per message was a megamorphic
  // lookup (and a map migration) in the profile.
  const { slot } = options;
  const { onMdText, onSystemText } = options.handlers;

  function onMessage(text: string): void {
    switch (text[0]) {
      case EIO_OPEN:
        transport.send(`${EIO_MESSAGE}${SIO_CONNECT}${namespacePrefix}${JSON.stringify({ token: options.token })}`);
        return;
      case EIO_PING:
        transport.send(EIO_PONG);
        return;
      case EIO_CLOSE:
        transport.close();
        return;
      case EIO_MESSAGE:
        onSocketPacket(text);
        return;
    }
  }

  function onSocketPacket(text: string): void {
    const type = text[1];
    let i = 2;
    if (text.startsWith(namespacePrefix, 2)) i += namespacePrefix.length;
    let ackId = -1;
    while (i < text.length && text.charCodeAt(i) >= 48 && text.charCodeAt(i) <= 57) {
      ackId = (ackId < 0 ? 0 : ackId * 10) + (text.charCodeAt(i) - 48);
      i++;
    }
    if (type === SIO_EVENT && text.startsWith(MD_EVENT_PREFIX, i)) {
      onMdText(text, i + MD_EVENT_PREFIX.length, text.length - 1);
      return;
    }
    // An operator notice reaches every client at once: the worker looks for it in the text, nothing is decoded.
    if (type === SIO_EVENT && text.startsWith(SYSTEM_EVENT_PREFIX, i)) {
      onSystemText(slot, text, i + SYSTEM_EVENT_PREFIX.length);
      return;
    }
    const payload: unknown = i < text.length ? JSON.parse(text.slice(i)) : undefined;
    switch (type) {
      case SIO_EVENT: {
        const [event, arg] = payload as [string, unknown];
        if (event === 'md') options.handlers.onMd(arg as MdMessage[]);
        else if (event === 'order') options.handlers.onOrder(arg as AccountEvent<'order'>);
        else if (event === 'welcome') welcome.resolve();
        return;
      }
      case SIO_ACK:
        acks.settle(ackId, (payload as unknown[])[0]);
        return;
      case SIO_CONNECT_ERROR:
        welcome.reject(new Error((payload as { message?: string } | undefined)?.message ?? 'connect_error'));
        transport.close();
        return;
      case SIO_DISCONNECT:
        transport.close();
        return;
      case SIO_CONNECT:
        return; // accepted; the gateway's `welcome` follows
    }
  }

  const client: BenchClient = {
    welcomed: welcome.promise,
    request<T>(event: string, payload: unknown, timeoutMs: number): Promise<AckResponse<T>> {
      const { id, promise } = acks.add<T>(event, timeoutMs);
      transport.send(`${EIO_MESSAGE}${SIO_EVENT}${namespacePrefix}${id}${JSON.stringify([event, payload])}`);
      return promise;
    },
    close: () => transport.close(),
  };
  return { client, onMessage, close };
}
