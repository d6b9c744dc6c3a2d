import { Controller, Get } from '@nestjs/common';
import { CurrentUser, HttpAuth, type AuthenticatedUser } from '#libs/auth';
import { ROLES } from '#libs/contracts';
import { ConnectionRegistry } from '#libs/realtime';
import { AppConfig } from '../config/index.js';

/** Operator endpoints: passport-jwt with the same verification as the sockets, `admin` role required. */
@Controller('admin')
export class AdminController {
  constructor(
    private readonly registry: ConnectionRegistry,
    private readonly config: AppConfig,
  ) {}

  @Get('connections')
  @HttpAuth(ROLES.admin)
  connections(@CurrentUser() admin: AuthenticatedUser): Record<string, unknown> {
    const sockets = this.registry.sockets().map((socket) => ({
      connectionId: socket.data.connectionId,
      namespace: socket.nsp.name,
      userId: socket.data.user.userId,
      tenant: socket.data.user.tenant,
      connectedAt: socket.data.connectedAt,
      transport: socket.conn.transport.name,
    }));
    return { node: this.config.nodeId, requestedBy: admin.userId, ...this.registry.stats(), sockets };
  }
  // GET /admin/usage (fleet totals) moved to src/fleet/fleet-admin.controller.ts.
}
