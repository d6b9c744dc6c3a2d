import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { AuthenticatedUser } from './authenticated-user.js';

/** The authenticated user of an HTTP request (set by passport) or of a socket (set by the handshake middleware). */
export const CurrentUser = createParamDecorator((_data: unknown, context: ExecutionContext): AuthenticatedUser | undefined => {
  if (context.getType() === 'ws') {
    const client = context.switchToWs().getClient<{ data?: { user?: AuthenticatedUser } }>();
    return client.data?.user;
  }
  return context.switchToHttp().getRequest<{ user?: AuthenticatedUser }>().user;
});
