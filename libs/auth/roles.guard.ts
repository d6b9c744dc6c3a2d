import { applyDecorators, Injectable, SetMetadata, UseGuards, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import { GatewayError } from '#libs/contracts';
import type { AuthenticatedUser } from './authenticated-user.js';

export const ROLES_METADATA = 'tradewire:roles';

/** Passes when the user holds at least one of the roles named by @Roles (or when none are named). */
@Injectable()
export class RolesGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const required = this.reflector.getAllAndOverride<string[] | undefined>(ROLES_METADATA, [context.getHandler(), context.getClass()]);
    if (!required || required.length === 0) return true;
    const user =
      context.getType() === 'ws'
        ? context.switchToWs().getClient<{ data?: { user?: AuthenticatedUser } }>().data?.user
        : context.switchToHttp().getRequest<{ user?: AuthenticatedUser }>().user;
    if (!user) throw new GatewayError('UNAUTHORIZED', 'not authenticated');
    if (!required.some((role) => user.roles.includes(role))) {
      throw new GatewayError('FORBIDDEN', `requires role ${required.join(' or ')}`);
    }
    return true;
  }
}

export const Roles = (...roles: string[]) => SetMetadata(ROLES_METADATA, roles);

/**
 * An HTTP endpoint for authenticated users with one of the given roles. Guard order matters and is fixed here:
 * passport-jwt authenticates first (401), then RolesGuard authorises (403).
 */
export function HttpAuth(...roles: string[]) {
  return applyDecorators(SetMetadata(ROLES_METADATA, roles), UseGuards(AuthGuard('jwt'), RolesGuard));
}
