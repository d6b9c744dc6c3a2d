import { Controller, Get, Query } from '@nestjs/common';
import { CurrentUser, HttpAuth, type AuthenticatedUser } from '#libs/auth';
import { ROLES } from '#libs/contracts';
import { UsageMeter, type UsageReport } from '#libs/observability';
import { ConnectionRegistry } from '#libs/realtime';
import { AppConfig } from '../config/index.js';

/** Operator endpoints: passport-jwt with the same verification as the sockets, `admin` role required. */
@Controller('admin')
export class AdminController {
  constructor(
    private readonly registry: ConnectionRegistry,
    private readonly config: AppConfig,
    private readonly usage: UsageMeter,
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

  /**
   * This replica's usage per tenant and user for exchange fee reporting: market-data subscriptions by exchange and
   * channel, accounts watched, messages and bytes delivered per namespace. `?reset=true` closes the period with this
   * report and starts the next one (fleet totals are the sum over replicas: scrape every node).
   */
  @Get('usage')
  @HttpAuth(ROLES.admin)
  usageReport(@CurrentUser() admin: AuthenticatedUser, @Query('reset') reset?: string): UsageReport & { node: string; requestedBy: string } {
    const report = this.usage.report({ reset: reset === 'true' || reset === '1' });
    return { node: this.config.nodeId, requestedBy: admin.userId, ...report };
  }
}
