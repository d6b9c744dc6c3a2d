import type { Server as HttpServer } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer } from 'node:net';

/**
 * A worker's share of PORT: a listener on the socket the primary opened for every worker (cluster `SCHED_NONE`) that
 * hands each connection it accepts to the worker's HTTP server, and that the worker closes while it holds more
 * connections than its share (the primary says when: accept-balance.ts) and opens again once the others caught up.
 * Closing it closes only this worker's copy of the socket: the connections waiting in the socket's backlog are
 * accepted by the workers still listening.
 *
 * The HTTP server itself listens on a loopback port of its own (the port the other workers relay sessions to), which
 * is what starts its request timeouts and Socket.IO's websocket server; this listener only feeds it, as Node's own
 * HTTP server feeds itself.
 */
export class AcceptGate {
  private listener: TcpServer | undefined;
  private wanted = false;
  private stopped = false;
  /** Opening and closing take a round trip to the primary each: applied one after the other, the last asked wins. */
  private applying: Promise<void> = Promise.resolve();

  constructor(
    private readonly httpServer: HttpServer,
    private readonly port: number,
    private readonly host: string,
    /** A listener's error (an accept that failed: EMFILE …): the listener goes on accepting. */
    private readonly onError: (error: Error) => void,
    /** Called whenever the listener opened or closed. */
    private readonly onChange: () => void,
  ) {}

  /** Whether this worker takes new connections on PORT now. */
  get accepting(): boolean {
    return this.listener !== undefined;
  }

  /** Opens or closes the listener; resolves once this and every earlier request applied, rejects if opening failed. */
  set(accept: boolean): Promise<void> {
    this.wanted = accept;
    const applied = this.applying.then(() => this.apply());
    this.applying = applied.catch(() => undefined);
    return applied;
  }

  /** For good (the drain): closes the listener now and never opens it again. */
  stop(): void {
    this.stopped = true;
    this.wanted = false;
    this.close();
  }

  private async apply(): Promise<void> {
    if (this.wanted && !this.stopped && !this.listener) await this.open();
    else if (!this.wanted && this.listener) this.close();
  }

  private async open(): Promise<void> {
    // noDelay as Node's HTTP server sets it for the connections it accepts itself.
    const listener = createTcpServer({ noDelay: true }, (socket) => this.httpServer.emit('connection', socket));
    await new Promise<void>((resolveListening, rejectListening) => {
      listener.once('error', rejectListening);
      listener.listen(this.port, this.host, () => {
        listener.off('error', rejectListening);
        resolveListening();
      });
    });
    listener.on('error', this.onError);
    if (this.stopped) {
      listener.close();
      return;
    }
    this.listener = listener;
    this.onChange();
  }

  private close(): void {
    const listener = this.listener;
    if (!listener) return;
    this.listener = undefined;
    // The connections it accepted belong to the HTTP server: closing stops accepting and leaves them be.
    listener.close();
    this.onChange();
  }
}
