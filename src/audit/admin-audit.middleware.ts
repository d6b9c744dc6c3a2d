import { Injectable, type NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { adminParams, AuditTrail } from '#libs/audit';
import type { AuthenticatedUser } from '#libs/auth';
import { RateLimiter } from '#libs/rate-limit';

/**
 * Every request to `/admin/*` is recorded once answered: who (once passport-jwt verified the bearer token), from
 * where, what (method, path, parameters), and the status answered. A middleware rather than an interceptor, so that
 * requests refused by the guards (401, 403) are recorded too, and every admin endpoint added later is without a call
 * of its own.
 */
@Injectable()
export class AdminAuditMiddleware implements NestMiddleware {
  constructor(
    private readonly trail: AuditTrail,
    private readonly rateLimiter: RateLimiter,
  ) {}

  use(request: Request, response: Response, next: NextFunction): void {
    if (!this.trail.enabled) return next();
    const startedAt = Date.now();
    const address = this.rateLimiter.clientAddress(request.socket.remoteAddress, request.headers['x-forwarded-for']);
    // The path as the client sent it, without its query string (the query is read below, credentials left out).
    const path = request.originalUrl.split('?')[0] ?? request.originalUrl;
    response.once('finish', () => {
      // Set by passport-jwt once the token is verified (the guard runs after this middleware, before the answer).
      const user = (request as Request & { user?: AuthenticatedUser }).user;
      const params = adminParams(request.query, request.body);
      this.trail.adminAction({
        method: request.method,
        path,
        status: response.statusCode,
        outcome: response.statusCode < 400 ? 'accepted' : 'rejected',
        ...(user ? { user: user.userId, tenant: user.tenant } : {}),
        address,
        ...(params ? { params } : {}),
        durationMs: Date.now() - startedAt,
      });
    });
    next();
  }
}
