import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { map, type Observable } from 'rxjs';
import type { AckResponse } from '#libs/contracts';
import { GatewayMetrics } from '#libs/observability';
import type { GatewaySocket } from './gateway-socket.js';

/** Wraps a request handler's result in the contract's `{ ok: true, data }` ack and counts the request. */
@Injectable()
export class AckInterceptor implements NestInterceptor {
  constructor(private readonly metrics: GatewayMetrics) {}

  intercept(context: ExecutionContext, next: CallHandler<unknown>): Observable<AckResponse<unknown>> {
    const ws = context.switchToWs();
    const namespace = ws.getClient<GatewaySocket>().nsp.name;
    const event = ws.getPattern();
    return next.handle().pipe(
      map((data) => {
        this.metrics.clientRequest(namespace, event, 'ok');
        return { ok: true as const, data };
      }),
    );
  }
}
