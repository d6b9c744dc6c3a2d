import { randomUUID } from 'node:crypto';
import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { GatewayError, SERVER_EVENTS, type SystemPayload } from '#libs/contracts';
import { PINO_LOGGER, UsageMeter, type Logger, type UsageReport } from '#libs/observability';
import { RateLimiter } from '#libs/rate-limit';
import { broadcastEvent, ConnectionRegistry, type GatewaySocket } from '#libs/realtime';
import { checkedBody } from './checked-body.js';
import { DisconnectRequestDto, NoticeRequestDto, UnblockRequestDto, UsageQueryDto, UserConnectionsRequestDto } from './dto/operator-actions.dto.js';
import { FleetBus, type FleetAnswers } from './fleet-bus.js';
import { mergeUsageReports, type FleetUsageReport } from './fleet-usage.js';

/** One connection as operators see it. */
export interface ConnectionView {
  node: string;
  connectionId: string;
  namespace: string;
  tenant: string;
  userId: string;
  connectedAt: number;
  transport: string;
}

/** What one replica did with a disconnect or a notice. */
export interface DeliveryOutcome {
  connections: number;
}

const FLEET_REQUESTS = {
  disconnect: 'disconnect',
  notice: 'notice',
  unblock: 'rate-limit.unblock',
  connections: 'connections',
  usage: 'usage',
} as const;

/** Who an action is aimed at; `undefined` fields match anyone. */
interface Audience {
  connectionId?: string;
  tenant?: string;
  userId?: string;
}

/**
 * Operator actions across the fleet: each is sent to every replica (FleetBus), which carries it out on its own
 * connections, with `namespace.local` (never relayed): a connection is on one replica, so it hears an action once.
 */
@Injectable()
export class FleetOperations implements OnModuleInit {
  constructor(
    private readonly bus: FleetBus,
    private readonly connections: ConnectionRegistry,
    private readonly limiter: RateLimiter,
    private readonly usage: UsageMeter,
    @Inject(PINO_LOGGER) private readonly logger: Logger,
  ) {}

  onModuleInit(): void {
    this.bus.handle(FLEET_REQUESTS.disconnect, (body) => {
      const { id, request } = withId(body);
      return this.disconnectHere(id, checkedBody(DisconnectRequestDto, request));
    });
    this.bus.handle(FLEET_REQUESTS.notice, (body) => {
      const { id, request } = withId(body);
      return this.noticeHere(id, checkedBody(NoticeRequestDto, request));
    });
    this.bus.handle(FLEET_REQUESTS.unblock, (body) => {
      const { tenant, userId } = checkedBody(UnblockRequestDto, body);
      this.limiter.forgetRefusal({ tenant, userId });
      return { unblocked: true };
    });
    this.bus.handle(FLEET_REQUESTS.connections, (body) => this.connectionsHere(checkedBody(UserConnectionsRequestDto, body)));
    this.bus.handle(FLEET_REQUESTS.usage, (body) => this.usage.report({ reset: isTrue(checkedBody(UsageQueryDto, body).reset) }));
  }

  /** Disconnects the connection, user or tenant named on every replica, telling each connection the reason first. */
  async disconnect(request: DisconnectRequestDto): Promise<{ id: string } & FleetAnswers<DeliveryOutcome>> {
    audienceOf(request, { allowAll: false });
    const id = randomUUID();
    return { id, ...(await this.bus.request<DeliveryOutcome>(FLEET_REQUESTS.disconnect, { id, request })) };
  }

  /** A `system` notice to every connection, a tenant's or a user's, on every replica. */
  async notice(request: NoticeRequestDto): Promise<{ id: string } & FleetAnswers<DeliveryOutcome>> {
    audienceOf(request, { allowAll: true });
    const id = randomUUID();
    return { id, ...(await this.bus.request<DeliveryOutcome>(FLEET_REQUESTS.notice, { id, request })) };
  }

  /** Lifts a user's rate-limit block in the shared store, then every replica forgets what it remembers of it. */
  async unblock(request: UnblockRequestDto): Promise<FleetAnswers<{ unblocked: boolean }>> {
    try {
      await this.limiter.unblock(request);
    } catch (error) {
      throw new GatewayError('ENGINE_UNAVAILABLE', `the rate-limit store could not be reached: ${error instanceof Error ? error.message : String(error)}`);
    }
    return this.bus.request(FLEET_REQUESTS.unblock, request);
  }

  async userConnections(query: UserConnectionsRequestDto): Promise<{ connections: ConnectionView[] } & FleetAnswers<ConnectionView[]>> {
    const answers = await this.bus.request<ConnectionView[]>(FLEET_REQUESTS.connections, query);
    const connections = Object.values(answers.nodes)
      .flat()
      .sort((a, b) => a.connectedAt - b.connectedAt);
    return { connections, ...answers };
  }

  async usageReport(query: UsageQueryDto): Promise<FleetUsageReport & Omit<FleetAnswers<UsageReport>, 'nodes'>> {
    const { nodes, ...rest } = await this.bus.request<UsageReport>(FLEET_REQUESTS.usage, query);
    return { ...mergeUsageReports(nodes, isTrue(query.reset)), ...rest };
  }

  // ------------------------------------------------------------------ on this replica

  private disconnectHere(id: string, request: DisconnectRequestDto): DeliveryOutcome {
    const notice: SystemPayload = { type: 'disconnect', id, message: request.reason, ...(request.reconnectInMs === undefined ? {} : { reconnectInMs: request.reconnectInMs }) };
    const targets = this.matching(audienceOf(request, { allowAll: false }));
    // The notice and the namespace's DISCONNECT packet go out in this order on the connection's transport. Not
    // disconnect(true): that closes the transport under every namespace multiplexed over it, and a client's other
    // namespaces would see a transport close (and reconnect) instead of the reason; the client closes the transport
    // itself once no namespace is left on it.
    for (const socket of targets) {
      socket.emit(SERVER_EVENTS.system, notice);
      socket.disconnect();
    }
    return { connections: targets.length };
  }

  private noticeHere(id: string, request: NoticeRequestDto): DeliveryOutcome {
    const notice: SystemPayload = { type: 'notice', id, message: request.message, severity: request.severity ?? 'info' };
    const audience = audienceOf(request, { allowAll: true });
    const targets = audience.tenant === undefined ? this.connections.sockets() : this.matching(audience);
    // Answered at once and written over the next turns of the loop (broadcastEvent, which never rejects): a replica
    // with tens of thousands of connections still answers within the fleet's deadline.
    const startedAt = performance.now();
    void broadcastEvent(targets, SERVER_EVENTS.system, notice).then((written) =>
      this.logger.info({ notice: id, connections: written, writtenInMs: Math.round(performance.now() - startedAt) }, 'notice written to every connection here'),
    );
    return { connections: targets.length };
  }

  private connectionsHere(query: UserConnectionsRequestDto): ConnectionView[] {
    return this.matching({ userId: query.userId, tenant: query.tenant }).map((socket) => ({
      node: this.bus.nodeId,
      connectionId: socket.data.connectionId,
      namespace: socket.nsp.name,
      tenant: socket.data.user.tenant,
      userId: socket.data.user.userId,
      connectedAt: socket.data.connectedAt,
      transport: socket.conn.transport.name,
    }));
  }

  private matching(audience: Audience): GatewaySocket[] {
    return this.connections.sockets().filter((socket) => {
      const { data } = socket;
      if (audience.connectionId !== undefined && data.connectionId !== audience.connectionId) return false;
      if (audience.tenant !== undefined && data.user.tenant !== audience.tenant) return false;
      if (audience.userId !== undefined && data.user.userId !== audience.userId) return false;
      return true;
    });
  }
}

/** A connection alone, a tenant with or without one of its users, or (for notices only) nobody named: everyone. */
function audienceOf(request: Audience, { allowAll }: { allowAll: boolean }): Audience {
  const { connectionId, tenant, userId } = request;
  if (connectionId !== undefined) {
    if (tenant !== undefined || userId !== undefined) throw new GatewayError('INVALID_REQUEST', 'name a connectionId, or a tenant (with or without a userId), not both');
    return { connectionId };
  }
  if (userId !== undefined && tenant === undefined) throw new GatewayError('INVALID_REQUEST', 'userId needs its tenant: the same user id in two tenants is two users');
  if (tenant === undefined && !allowAll) throw new GatewayError('INVALID_REQUEST', 'name a connectionId, a tenant, or a tenant and a userId');
  return { tenant, userId };
}

function withId(body: unknown): { id: string; request: unknown } {
  const value = body as { id?: unknown; request?: unknown } | null;
  if (typeof value !== 'object' || value === null || typeof value.id !== 'string' || value.id.length > 64) throw new GatewayError('INVALID_REQUEST', 'an action needs its id');
  return { id: value.id, request: value.request };
}

function isTrue(flag: string | undefined): boolean {
  return flag === 'true' || flag === '1';
}
