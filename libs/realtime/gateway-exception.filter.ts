import { Catch, Inject, type ArgumentsHost, type WsExceptionFilter } from '@nestjs/common';
import { WsException } from '@nestjs/websockets';
import { GatewayError, isErrorCode, wireError, type WireError } from '#libs/contracts';
import { errorSummary, GatewayMetrics, PINO_LOGGER, type Logger } from '#libs/observability';
import type { GatewaySocket } from './gateway-socket.js';

/**
 * Turns anything a client request handler throws into the contract's answer: a refused ack `{ ok: false, error }`
 * when the client asked for one, an `error` event otherwise. The connection always stays open.
 */
@Catch()
export class GatewayExceptionFilter implements WsExceptionFilter {
  constructor(
    private readonly metrics: GatewayMetrics,
    @Inject(PINO_LOGGER) private readonly logger: Logger,
  ) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const ws = host.switchToWs();
    const client = ws.getClient<GatewaySocket>();
    const ack = host.getArgs<unknown[]>().find((arg): arg is (response: unknown) => void => typeof arg === 'function');
    const error = this.toWire(exception, client, ws.getPattern());
    this.metrics.clientRequest(client.nsp.name, ws.getPattern(), error.code);
    if (ack) ack({ ok: false, error });
    else client.emit('error', error);
  }

  private toWire(exception: unknown, client: GatewaySocket, event: string): WireError {
    if (exception instanceof GatewayError) return exception.toWire();
    if (exception instanceof WsException) {
      const body = exception.getError();
      if (typeof body === 'object' && body !== null && isErrorCode((body as { code?: unknown }).code)) return body as WireError;
      return wireError('INVALID_REQUEST', typeof body === 'string' ? body : 'invalid request');
    }
    // One line, no stack: a client that can trigger this once can trigger it on every request.
    this.logger.error({ err: errorSummary(exception), namespace: client.nsp.name, event, connectionId: client.data.connectionId }, 'client request failed');
    return wireError('INTERNAL', 'internal error; the request was not applied');
  }
}
