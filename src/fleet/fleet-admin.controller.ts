import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { CurrentUser, HttpAuth, type AuthenticatedUser } from '#libs/auth';
import { ROLES } from '#libs/contracts';
import { createRequestValidationPipe } from '#libs/realtime';
import { checkedBody } from './checked-body.js';
import { DisconnectRequestDto, NoticeRequestDto, UnblockRequestDto, UsageQueryDto, UserConnectionsQueryDto, UserConnectionsRequestDto } from './dto/operator-actions.dto.js';
import { RuntimeLimitsPatchDto } from './dto/runtime-limits.dto.js';
import type { FleetAnswers } from './fleet-bus.js';
import { FleetOperations } from './fleet-operations.js';
import { NodeRegistry } from './node-registry.js';
import { OperatorAudit } from './operator-audit.js';
import { RuntimeLimits } from './runtime-limits.js';

/** Bodies and queries are checked as client requests are: a bad one is 400 INVALID_REQUEST naming the field. */
const checked = createRequestValidationPipe();

/** The per-node part of an answer, for the audit record. */
function outcomeOf(answers: FleetAnswers<unknown>): Record<string, unknown> {
  return { nodes: answers.nodes, failed: answers.failed, missing: answers.missing, ...(answers.error ? { error: answers.error } : {}) };
}

/**
 * The fleet's operator endpoints (`admin` role, as every /admin endpoint): the node registry, actions carried out on
 * every replica within a second (disconnect, notice, unblock), fleet-wide views (a user's connections, usage) and
 * runtime limits. Each answer says what every replica did and which did not answer; each action is audited.
 */
@Controller('admin')
export class FleetAdminController {
  constructor(
    private readonly nodes: NodeRegistry,
    private readonly operations: FleetOperations,
    private readonly limits: RuntimeLimits,
    private readonly audit: OperatorAudit,
  ) {}

  @Get('nodes')
  @HttpAuth(ROLES.admin)
  async listNodes(): Promise<Record<string, unknown>> {
    const listed = await this.nodes.list();
    const totals = await this.nodes.totals();
    return { node: this.nodes.nodeId, ...listed, totals };
  }

  @Get('users/:userId/connections')
  @HttpAuth(ROLES.admin)
  userConnections(@Param('userId') userId: string, @Query(checked) query: UserConnectionsQueryDto): ReturnType<FleetOperations['userConnections']> {
    return this.operations.userConnections(checkedBody(UserConnectionsRequestDto, { ...query, userId }));
  }

  @Post('disconnect')
  @HttpCode(200)
  @HttpAuth(ROLES.admin)
  async disconnect(@CurrentUser() admin: AuthenticatedUser, @Body(checked) request: DisconnectRequestDto): ReturnType<FleetOperations['disconnect']> {
    const answers = await this.operations.disconnect(request);
    const { reason, reconnectInMs, ...target } = request;
    this.audit.record(admin, { action: 'disconnect', target: { ...target, reason, reconnectInMs, id: answers.id }, outcome: outcomeOf(answers) });
    return answers;
  }

  @Post('notice')
  @HttpCode(200)
  @HttpAuth(ROLES.admin)
  async notice(@CurrentUser() admin: AuthenticatedUser, @Body(checked) request: NoticeRequestDto): ReturnType<FleetOperations['notice']> {
    const answers = await this.operations.notice(request);
    const { message, severity, ...target } = request;
    this.audit.record(admin, { action: 'notice', target: { ...target, all: target.tenant === undefined, message, severity, id: answers.id }, outcome: outcomeOf(answers) });
    return answers;
  }

  @Post('rate-limit/unblock')
  @HttpCode(200)
  @HttpAuth(ROLES.admin)
  async unblock(@CurrentUser() admin: AuthenticatedUser, @Body(checked) request: UnblockRequestDto): ReturnType<FleetOperations['unblock']> {
    const answers = await this.operations.unblock(request);
    this.audit.record(admin, { action: 'rate-limit.unblock', target: { ...request }, outcome: outcomeOf(answers) });
    return answers;
  }

  /**
   * Usage per tenant and user across every replica, for exchange fee reporting. `?reset=true` closes the period on
   * every replica with this report (a replica that does not answer keeps its period: see `missing`).
   */
  @Get('usage')
  @HttpAuth(ROLES.admin)
  async usage(@CurrentUser() admin: AuthenticatedUser, @Query(checked) query: UsageQueryDto): Promise<Awaited<ReturnType<FleetOperations['usageReport']>> & { node: string; requestedBy: string }> {
    const report = await this.operations.usageReport(query);
    if (report.reset) this.audit.record(admin, { action: 'usage.reset', target: { all: true }, outcome: { periods: report.periods, failed: report.failed, missing: report.missing } });
    return { node: this.nodes.nodeId, requestedBy: admin.userId, ...report };
  }

  @Get('limits')
  @HttpAuth(ROLES.admin)
  limitsInForce(): ReturnType<RuntimeLimits['view']> {
    return this.limits.view();
  }

  @Patch('limits')
  @HttpAuth(ROLES.admin)
  async changeLimits(@CurrentUser() admin: AuthenticatedUser, @Body(checked) patch: RuntimeLimitsPatchDto): ReturnType<RuntimeLimits['change']> {
    const answers = await this.limits.change(patch, admin.userId);
    this.audit.record(admin, { action: 'limits.change', target: { ...patch }, outcome: { version: answers.limits.version, ...outcomeOf(answers) } });
    return answers;
  }

  @Delete('limits')
  @HttpAuth(ROLES.admin)
  async resetLimits(@CurrentUser() admin: AuthenticatedUser): ReturnType<RuntimeLimits['change']> {
    const answers = await this.limits.change('reset', admin.userId);
    this.audit.record(admin, { action: 'limits.reset', target: { all: true }, outcome: { version: answers.limits.version, ...outcomeOf(answers) } });
    return answers;
  }
}
