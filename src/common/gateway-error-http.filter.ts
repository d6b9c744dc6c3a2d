import { Catch, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { Response } from 'express';
import { GatewayError } from '#libs/contracts';

/** HTTP endpoints answer a GatewayError with its contract status and `{ code, status, message }` body. */
@Catch(GatewayError)
export class GatewayErrorHttpFilter implements ExceptionFilter<GatewayError> {
  catch(error: GatewayError, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw error;
    const response = host.switchToHttp().getResponse<Response>();
    if (error.data.retryAfterMs !== undefined) response.setHeader('retry-after', Math.ceil(error.data.retryAfterMs / 1000));
    response.status(error.status).json(error.toWire());
  }
}
