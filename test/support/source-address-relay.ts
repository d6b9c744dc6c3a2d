import { connect as netConnect, createServer, type Server, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

interface RelayTarget {
  host: string;
  port: number;
}

interface RelayOptions {
  /** The onward connections' source address: 127.0.0.x on loopback. */
  localAddress: string;
  /** Onward over TLS, trusting this certificate. */
  tls?: { ca: string };
}

/**
 * A TCP relay on a loopback port that connects onward from a source address of its own (127.0.0.x), over TLS if
 * asked. A client that cannot choose its source address (the SDK) then reaches HAProxy as a user of its own, so
 * `balance source` spreads such clients over the replicas as it spreads real users; and over TLS, it speaks wss:// to
 * HAProxy's TLS listener while the client itself connects to a plain address. Each accepted connection is one
 * onward connection; when either side closes, so does the other.
 */
export class SourceAddressRelay {
  private readonly open = new Set<Socket>();
  private readonly server: Server;

  private constructor(
    private readonly target: RelayTarget,
    private readonly options: RelayOptions,
  ) {
    this.server = createServer((client) => this.relay(client));
  }

  get port(): number {
    const address = this.server.address();
    if (typeof address !== 'object' || address === null) throw new Error('relay: not listening');
    return address.port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  static async start(target: RelayTarget, options: RelayOptions): Promise<SourceAddressRelay> {
    const relay = new SourceAddressRelay(target, options);
    await new Promise<void>((resolve, reject) => {
      relay.server.once('error', reject);
      relay.server.listen(0, '127.0.0.1', () => resolve());
    });
    return relay;
  }

  private relay(client: Socket): void {
    const { host, port } = this.target;
    const tcp = netConnect({ host, port, localAddress: this.options.localAddress });
    // TLS over the TCP connection made from the chosen address; the certificate is checked against `host`.
    const upstream = this.options.tls ? tlsConnect({ socket: tcp, host, ca: this.options.tls.ca }) : tcp;
    for (const socket of [client, tcp, upstream]) {
      this.open.add(socket);
      socket.once('close', () => this.open.delete(socket));
      // An error on any side ends both: the client sees a closed connection, as it would from HAProxy itself.
      socket.on('error', () => undefined);
      socket.once('close', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  }

  async stop(): Promise<void> {
    for (const socket of this.open) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
