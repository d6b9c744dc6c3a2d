import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import { connect, type ConnectionOptions, type NatsConnection } from '@nats-io/transport-node';
import { ENGINE_REJECTION_SUBJECTS, type EngineRejection } from '#libs/contracts';
import { TransportError } from './errors.js';
import type { EventRoute, PublisherTransport } from './transport.js';

export interface NatsTransportOptions {
  /** An open connection to publish on (left open by `close`), or the servers to connect to. */
  connection?: NatsConnection;
  servers?: string | string[];
  /** Anything else of the NATS client's connection options (credentials, TLS, name…). */
  connectOptions?: Omit<ConnectionOptions, 'servers'>;
  /**
   * Control events (`licence.changed`, `compliance.screen`) are published through JetStream and acknowledged by the
   * gateway's control log stream, so `flush` fails when no stream keeps them (default true). False: plain publishes.
   */
  acknowledgedControlEvents?: boolean;
}

/**
 * NATS: events are plain publishes, written by the client in one batch per turn of the event loop (it buffers until
 * the socket is free). Account events are captured by the gateway's JetStream account log without the publisher
 * knowing JetStream; control events are published to JetStream so that an acknowledgement says they are kept.
 */
export class NatsPublisherTransport implements PublisherTransport {
  readonly name = 'nats';
  private js?: JetStreamClient;
  private acks: Promise<unknown>[] = [];
  private failure?: TransportError;

  private constructor(
    readonly connection: NatsConnection,
    private readonly owned: boolean,
    private readonly acknowledged: boolean,
  ) {}

  static async open(options: NatsTransportOptions): Promise<NatsPublisherTransport> {
    if (options.connection) return new NatsPublisherTransport(options.connection, false, options.acknowledgedControlEvents ?? true);
    const connection = await connect({ name: 'tradewire-publisher', ...options.connectOptions, servers: options.servers ?? 'nats://127.0.0.1:4222' });
    return new NatsPublisherTransport(connection, true, options.acknowledgedControlEvents ?? true);
  }

  send(subject: string, event: object, route: EventRoute): void {
    // Encoded here, once, into bytes the client sends as they are. Given a string, the client encodes it with
    // TextEncoder, which on Node 20 takes about four times as long as Buffer.from for an event's 100–300 bytes
    // (Buffer.from also takes small buffers from Node's shared slab instead of allocating each); the client copies
    // the bytes into its outbound buffer at the next flush, so a slab slice is not held for long.
    const data = Buffer.from(JSON.stringify(event));
    if (route.kind === 'control' && this.acknowledged) {
      this.js ??= jetstream(this.connection);
      this.acks.push(
        this.js.publish(subject, data).catch((error: unknown) => {
          this.failure ??= new TransportError(`${subject} was not kept by a control log stream (has a gateway with the NATS transport started once?): ${String(error)}`, { cause: error });
        }),
      );
      return;
    }
    this.connection.publish(subject, data);
  }

  async flush(): Promise<void> {
    const acks = this.acks;
    this.acks = [];
    await Promise.all([this.connection.flush(), ...acks]);
    const failure = this.failure;
    this.failure = undefined;
    if (failure) throw failure;
  }

  async subscribeRejections(listener: (rejection: EngineRejection, subject: string) => void): Promise<() => Promise<void>> {
    const subscription = this.connection.subscribe(ENGINE_REJECTION_SUBJECTS, {
      callback: (error, message) => {
        if (error) return;
        try {
          listener(message.json<EngineRejection>(), message.subject);
        } catch {
          // a report that is not JSON is not ours
        }
      },
    });
    await this.connection.flush();
    return async () => {
      subscription.unsubscribe();
      await this.connection.flush();
    };
  }

  async serveRequests(subject: string, answer: (request: unknown) => Promise<object>, queue: string): Promise<() => Promise<void>> {
    const subscription = this.connection.subscribe(subject, {
      queue,
      callback: (error, message) => {
        if (error) return;
        let request: unknown;
        try {
          request = message.json<unknown>();
        } catch {
          message.respond(JSON.stringify({ code: 'INVALID_REQUEST', message: 'request is not JSON' }));
          return;
        }
        void answer(request).then((reply) => message.respond(JSON.stringify(reply)));
      },
    });
    await this.connection.flush();
    return async () => {
      subscription.unsubscribe();
      await this.connection.flush();
    };
  }

  async close(): Promise<void> {
    await this.flush().catch(() => undefined);
    if (this.owned) await this.connection.drain();
  }
}
