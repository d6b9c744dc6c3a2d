import type { NatsConnection } from '@nats-io/transport-node';
import { GatewayError } from '#libs/contracts';
import { ORDER_COMMAND_SUBJECTS, type OrderCommand, type OrderEngineChannel, type OrderEngineRequests } from './order-engine.channel.js';


/**
 * Order commands as NATS requests on `engine.order.submit`, `.cancel`, `.cancel-all` and `.amend`, over the connection the engine
 * transport already holds. The errors are told apart by name: the transport and this code may not share one copy of
 * the NATS client's classes.
 */
export class NatsOrderChannel implements OrderEngineChannel {
  readonly name = 'nats';
  private readonly decoder = new TextDecoder();

  constructor(
    /** The transport's live connection; throws while there is none yet. */
    private readonly connection: () => NatsConnection,
    /** False while the transport is disconnected or reconnecting: a request then would only wait out its timeout. */
    private readonly connected: () => boolean,
  ) {}

  async request<C extends OrderCommand>(command: C, body: OrderEngineRequests[C], timeoutMs: number): Promise<unknown> {
    let nc: NatsConnection;
    try {
      nc = this.connection();
    } catch {
      throw new GatewayError('ENGINE_UNAVAILABLE', 'the engine is not connected');
    }
    if (nc.isClosed() || nc.isDraining() || !this.connected()) throw new GatewayError('ENGINE_UNAVAILABLE', 'the engine is not connected');
    try {
      const reply = await nc.request(ORDER_COMMAND_SUBJECTS[command], JSON.stringify(body), { timeout: timeoutMs });
      return JSON.parse(this.decoder.decode(reply.data)) as unknown;
    } catch (error) {
      throw toGatewayError(error, timeoutMs);
    }
  }
}

function toGatewayError(error: unknown, timeoutMs: number): unknown {
  if (!(error instanceof Error)) return error;
  if (error instanceof SyntaxError) return error; // an unreadable reply: the caller treats it as a malformed answer
  if (error.name === 'TimeoutError') return new GatewayError('ENGINE_TIMEOUT', `the engine did not answer within ${timeoutMs} ms`);
  const cause = (error as Error & { cause?: unknown }).cause;
  if (cause instanceof Error && cause.name === 'NoResponders') return new GatewayError('ENGINE_UNAVAILABLE', 'no engine is serving order commands');
  if (['ClosedConnectionError', 'DrainingConnectionError', 'ConnectionError', 'RequestError'].includes(error.name)) {
    return new GatewayError('ENGINE_UNAVAILABLE', 'the engine cannot be reached');
  }
  return error;
}
