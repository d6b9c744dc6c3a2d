import { randomUUID } from 'node:crypto';
import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { Counter, Gauge } from 'prom-client';
import {
  DEADMAN_MAX_ORDERS,
  GatewayError,
  SERVER_EVENTS,
  type DeadmanFired,
  type OrderDeadmanRequest,
  type OrderDeadmanResponse,
  type OrderSubmitRequest,
  type OrderSubmitResponse,
} from '#libs/contracts';
import { AuditTrail } from '#libs/audit';
import { METRICS, PINO_LOGGER, type Logger } from '#libs/observability';
import type { GatewaySocket } from '#libs/realtime';
import { AppConfig } from '../../config/index.js';
import { OrderCommandsService } from '../order-commands.service.js';
import { coveredOrderKey, DEADMAN_SWITCH_STORE, type ArmedSwitch, type ClaimedSwitch, type CoveredOrder, type DeadmanOwner, type DeadmanSwitchStore } from './deadman-switch.store.js';

/** How often each replica looks for due switches (its lease is renewed at the same time). */
export const DEADMAN_SWEEP_MS = 250;
/** Cancels one firing sends to the engine at once. */
const FIRE_CONCURRENCY = 8;
/** A cancel the engine could not take (unreachable, no answer) is tried this many times, this far apart. */
const CANCEL_ATTEMPTS = 3;
const CANCEL_RETRY_MS = 1_000;

/** One `/orders` connection that submitted orders or holds a switch. */
interface ConnectionOrders {
  socket: GatewaySocket;
  /** What the store and the audit trail know it by: its `connectionId` (unique across replicas). */
  connection: string;
  /** Orders submitted through it, by `coveredOrderKey`: the engine's `orderId`, or '' while unknown. */
  orders: Map<string, CoveredOrder>;
  switchId?: string;
  /** How many orders its switch covers, as far as this replica knows (the cap is checked against it). */
  switchOrders: number;
}

/** One cancel of a firing: taken by the engine, refused by it (no longer working), or not taken (with the code why). */
type CancelOutcome = { outcome: 'canceled' } | { outcome: 'refused' } | { outcome: 'failed'; code: string };

/** What the audit trail records of a switch (refreshes and drops are not: see `audit`). */
type DeadmanAuditEvent =
  | { action: 'arm' | 'resume'; socket: GatewaySocket; switchId: string; timeoutMs: number; deadline: number; orders: number }
  | { action: 'disarm'; socket: GatewaySocket; switchId: string }
  | { action: 'fire'; claimed: ClaimedSwitch; canceled: CoveredOrder[]; refused: number; failed: number; failure?: string };

/**
 * The dead-man's switch (`order:deadman`, docs/protocol.md §6.6): a connection arms it with a timeout and refreshes
 * it; when it is not refreshed in time, or its connection drops and does not come back (re-attaching it by id, through
 * any replica) within the timeout, the gateway has the engine cancel every order submitted through the connections
 * that held it. Switches live in the store (Redis across replicas, else this process); every replica sweeps the store
 * four times a second and fires what is due, so a switch outlives the replica its connection was on
 * (docs/operations.md, "Dead-man's switch").
 */
@Injectable()
export class DeadmanSwitchService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly connections = new Map<string, ConnectionOrders>();
  /** The connections of this replica that hold a switch, by switch id. */
  private readonly holders = new Map<string, ConnectionOrders>();
  /** Switches this replica is firing now: a sweep does not claim them again. */
  private readonly firing = new Set<string>();
  private sweeper: NodeJS.Timeout | undefined;
  private sweeping = false;
  private storeWarned = false;
  private readonly node: string;
  private readonly leaseMs: number;

  constructor(
    config: AppConfig,
    @Inject(DEADMAN_SWITCH_STORE) private readonly store: DeadmanSwitchStore,
    private readonly commands: OrderCommandsService,
    @InjectMetric(METRICS.deadmanArmed) private readonly armed: Gauge<string>,
    @InjectMetric(METRICS.deadmanFires) private readonly fires: Counter<string>,
    @InjectMetric(METRICS.deadmanCancels) private readonly cancels: Counter<string>,
    @Inject(PINO_LOGGER) private readonly logger: Logger,
    private readonly trail: AuditTrail,
  ) {
    this.node = config.nodeId;
    this.leaseMs = config.deadman.leaseMs;
  }

  onApplicationBootstrap(): void {
    this.sweeper = setInterval(() => void this.sweep(), DEADMAN_SWEEP_MS);
    this.sweeper.unref();
    this.logger.info({ store: this.store.kind, leaseMs: this.leaseMs, sweepMs: DEADMAN_SWEEP_MS }, "dead-man's switch enabled");
  }

  /**
   * After the drain (GracefulShutdown): the connections it closes detach their switches in the store, so that the
   * clients re-attach them through another replica, and switches due meanwhile still fire.
   */
  async onApplicationShutdown(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    await this.store.close();
  }

  /** `order:deadman`: arms or refreshes (`timeoutMs` > 0) or disarms (0) the connection's switch. */
  command(socket: GatewaySocket, request: OrderDeadmanRequest): Promise<OrderDeadmanResponse> {
    return request.timeoutMs === 0 ? this.disarm(socket, request.switchId) : this.arm(socket, request.timeoutMs, request.switchId);
  }

  /**
   * An `order:submit` through `socket`: refused before it is sent when the connection's switch is full, and covered by
   * it (or remembered for a switch the connection arms later) once the engine answered, or did not answer in time.
   */
  async submitted(socket: GatewaySocket, order: OrderSubmitRequest, submit: () => Promise<OrderSubmitResponse>): Promise<OrderSubmitResponse> {
    const holder = this.connectionOf(socket);
    if (holder.switchId !== undefined && holder.switchOrders >= DEADMAN_MAX_ORDERS) {
      throw new GatewayError('INVALID_REQUEST', `the dead-man's switch of this connection covers ${DEADMAN_MAX_ORDERS} orders, its most: disarm it, or trade through another connection`, { details: { maxOrders: DEADMAN_MAX_ORDERS } });
    }
    let answer: OrderSubmitResponse;
    try {
      answer = await submit();
    } catch (error) {
      // Without an answer the order may still be working at the engine: it is covered by its clientOrderId.
      if (error instanceof GatewayError && error.code === 'ENGINE_TIMEOUT') await this.cover(holder, { account: order.account, clientOrderId: order.clientOrderId });
      throw error;
    }
    await this.cover(holder, { account: order.account, clientOrderId: order.clientOrderId, orderId: answer.orderId });
    return answer;
  }

  private async arm(socket: GatewaySocket, timeoutMs: number, named: string | undefined): Promise<OrderDeadmanResponse> {
    const holder = this.connectionOf(socket);
    const held = holder.switchId;
    if (held !== undefined && named !== undefined && named !== held) {
      throw new GatewayError('INVALID_REQUEST', `this connection holds switch ${held}: disarm it before attaching another`, { details: { switchId: held } });
    }
    const owner = ownerOf(socket);
    let armed: ArmedSwitch;
    try {
      armed = await this.store.arm({
        ...((held ?? named) !== undefined ? { switchId: held ?? named } : {}),
        newSwitchId: randomUUID(),
        owner,
        timeoutMs,
        node: this.node,
        connection: holder.connection,
        // A connection that held no switch brings the orders submitted through it so far.
        orders: held === undefined ? [...holder.orders.values()] : [],
      });
    } catch (error) {
      throw this.storeFailed(error, 'armed');
    }
    if (held !== undefined && armed.switchId !== held) this.holders.delete(held);
    const previousHolder = this.holders.get(armed.switchId);
    if (previousHolder && previousHolder !== holder) previousHolder.switchId = undefined;
    holder.switchId = armed.switchId;
    holder.switchOrders = armed.orders;
    this.holders.set(armed.switchId, holder);
    this.armed.set(this.holders.size);
    const action = !armed.resumed ? 'arm' : held === armed.switchId ? 'refresh' : 'resume';
    const details = { switchId: armed.switchId, timeoutMs, deadline: armed.deadline, orders: armed.orders };
    // A refresh comes every few seconds from every armed client: debug, not the audit trail.
    if (action === 'refresh') this.logger.debug({ tenant: owner.tenant, userId: owner.userId, connection: holder.connection, ...details }, "dead-man's switch refreshed");
    else this.audit({ action, socket, ...details });
    return {
      armed: true,
      switchId: armed.switchId,
      timeoutMs,
      deadline: armed.deadline,
      resumed: armed.resumed,
      orders: armed.orders,
      ...(armed.previous ? { fired: armed.previous } : {}),
    };
  }

  private async disarm(socket: GatewaySocket, named: string | undefined): Promise<OrderDeadmanResponse> {
    const holder = this.connectionOf(socket);
    const switchId = holder.switchId ?? named;
    if (switchId === undefined) return { armed: false };
    const owner = ownerOf(socket);
    let outcome: { disarmed: boolean; fired?: DeadmanFired };
    try {
      outcome = await this.store.disarm(switchId, owner);
    } catch (error) {
      throw this.storeFailed(error, 'disarmed');
    }
    // Held by this connection, or by another of this replica's (a disarm may name a switch of the same user's).
    const localHolder = this.holders.get(switchId);
    if (localHolder) localHolder.switchId = undefined;
    if (holder.switchId === switchId) holder.switchId = undefined;
    this.holders.delete(switchId);
    this.armed.set(this.holders.size);
    if (outcome.disarmed) this.audit({ action: 'disarm', socket, switchId });
    return { armed: false, ...(outcome.disarmed ? { switchId } : {}), ...(outcome.fired ? { fired: outcome.fired } : {}) };
  }

  private connectionOf(socket: GatewaySocket): ConnectionOrders {
    let holder = this.connections.get(socket.id);
    if (!holder) {
      const created: ConnectionOrders = { socket, connection: socket.data.connectionId, orders: new Map(), switchOrders: 0 };
      this.connections.set(socket.id, created);
      socket.once('disconnect', () => this.disconnected(created));
      holder = created;
    }
    return holder;
  }

  /** Covers an order by the connection's switch, and remembers it for a switch the connection arms later. */
  private async cover(holder: ConnectionOrders, order: CoveredOrder): Promise<void> {
    const key = coveredOrderKey(order);
    const known = holder.orders.get(key);
    if (!known?.orderId) holder.orders.set(key, order);
    // Remembered for a later arm: the most recent ones (with a switch armed, the switch holds them, capped above).
    if (holder.switchId === undefined && holder.orders.size > DEADMAN_MAX_ORDERS) {
      const oldest = holder.orders.keys().next();
      if (!oldest.done) holder.orders.delete(oldest.value);
    }
    const switchId = holder.switchId;
    if (switchId === undefined) return;
    try {
      // False: it is firing, or was disarmed elsewhere. The order stays in the connection's list, which the next arm
      // (a new switch) takes over.
      if ((await this.store.addOrder(switchId, order)) && !known) holder.switchOrders++;
    } catch (error) {
      // The order stands; the switch may not cancel it. Said in the log, where the operator looks (and the store's
      // outage is in its metrics and alerts).
      this.logger.warn({ err: error, switchId, account: order.account, clientOrderId: order.clientOrderId }, "dead-man's switch store unavailable: an order is not covered by its switch");
    }
  }

  private disconnected(holder: ConnectionOrders): void {
    this.connections.delete(holder.socket.id);
    const switchId = holder.switchId;
    if (switchId === undefined) return;
    if (this.holders.get(switchId) === holder) this.holders.delete(switchId);
    this.armed.set(this.holders.size);
    const { tenant, userId } = holder.socket.data.user;
    // Not an audit record: the connection's own `disconnect` record has the drop, and the switch's fate follows as a
    // take-over by the client's next connection or a firing.
    this.logger.info({ tenant, userId, switchId, connection: holder.connection }, "dead-man's switch detached: its connection dropped");
    this.store.detach(switchId, holder.connection).catch((error: unknown) => {
      // Not fatal: the switch then fires at its last deadline instead of a timeout after the drop.
      this.logger.warn({ err: error, switchId }, "dead-man's switch store unavailable: a dropped connection's switch keeps its last deadline");
    });
  }

  /** One sweep: renews this replica's lease, then claims and fires what is due. Never two at once. */
  private async sweep(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      const due = await this.store.due(this.node);
      if (this.storeWarned) {
        this.storeWarned = false;
        this.logger.info("dead-man's switch store reachable again: sweeping");
      }
      for (const switchId of due) {
        if (this.firing.has(switchId)) continue;
        const claimed = await this.store.claim(switchId, this.node);
        if (claimed) void this.fire(claimed);
      }
    } catch (error) {
      if (!this.storeWarned) {
        this.storeWarned = true;
        this.logger.warn({ err: error }, "dead-man's switch store unavailable: no switch fires until it is back (then those past their deadline do)");
      }
    } finally {
      this.sweeping = false;
    }
  }

  /** Has the engine cancel every order the switch covers, a few at a time, keeping the claim while it does. */
  private async fire(claimed: ClaimedSwitch): Promise<void> {
    const { switchId, owner, reason, orders } = claimed;
    this.firing.add(switchId);
    const renewal = setInterval(() => {
      this.store.renewClaim(switchId, this.node).catch(() => undefined);
    }, Math.max(100, Math.floor(this.leaseMs / 3)));
    try {
      this.fires.labels(reason).inc();
      const canceled: CoveredOrder[] = [];
      let refused = 0;
      let failed = 0;
      let failure: string | undefined;
      const queue = [...orders];
      const worker = async () => {
        for (let order = queue.shift(); order; order = queue.shift()) {
          const cancel = await this.cancelOne(owner, order);
          if (cancel.outcome === 'canceled') canceled.push(order);
          else if (cancel.outcome === 'refused') refused++;
          else {
            failed++;
            failure = cancel.code;
          }
          this.cancels.labels(cancel.outcome).inc();
        }
      };
      await Promise.all(Array.from({ length: Math.min(FIRE_CONCURRENCY, orders.length) }, worker));
      const fired: DeadmanFired = { switchId, reason, firedAt: claimed.firedAt, orders: orders.length };
      this.audit({ action: 'fire', claimed, canceled, refused, failed, ...(failure !== undefined ? { failure } : {}) });
      await this.store.complete(switchId, this.node, fired, owner).catch((error: unknown) => {
        // Its claim lapses and another replica fires it again: the engine refuses the cancels of orders now canceled.
        this.logger.warn({ err: error, switchId }, "dead-man's switch store unavailable: a fired switch could not be closed and will fire again");
      });
      const holder = this.holders.get(switchId);
      if (holder) {
        this.holders.delete(switchId);
        this.armed.set(this.holders.size);
        holder.switchId = undefined;
        holder.switchOrders = 0;
        // What it canceled is done with; an order submitted while it fired stays for the next switch.
        for (const order of orders) holder.orders.delete(coveredOrderKey(order));
        if (holder.socket.connected) holder.socket.emit(SERVER_EVENTS.deadman, { state: 'fired', ...fired });
      }
    } finally {
      clearInterval(renewal);
      this.firing.delete(switchId);
    }
  }

  /**
   * One order's cancel: `canceled` when the engine took it, `refused` when it refused it (the order is no longer
   * working, most often: filled or canceled meanwhile), `failed` when the engine could not be reached in time.
   */
  private async cancelOne(owner: DeadmanOwner, order: CoveredOrder): Promise<CancelOutcome> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.commands.cancelOnBehalf(owner, order);
        return { outcome: 'canceled' };
      } catch (error) {
        const retryable = error instanceof GatewayError && (error.code === 'ENGINE_UNAVAILABLE' || error.code === 'ENGINE_TIMEOUT');
        if (!retryable) return error instanceof GatewayError ? { outcome: 'refused' } : { outcome: 'failed', code: 'INTERNAL' };
        if (attempt >= CANCEL_ATTEMPTS) {
          this.logger.error({ err: error, account: order.account, orderId: order.orderId, clientOrderId: order.clientOrderId }, "dead-man's switch fired but the engine could not take a cancel: the order may still be working");
          return { outcome: 'failed', code: error.code };
        }
        await new Promise((resolve) => setTimeout(resolve, CANCEL_RETRY_MS));
      }
    }
  }

  private storeFailed(error: unknown, what: string): GatewayError {
    this.logger.warn({ err: error, store: this.store.kind }, "dead-man's switch store unavailable: request refused");
    return new GatewayError('ENGINE_UNAVAILABLE', `the dead-man's switch cannot be ${what} right now (its store is unreachable); retry`);
  }

  // ---------------------------------------------------------------- AUDIT HOOK
  /**
   * The audit trail's records of a switch (docs/operations.md, "Audit trail"): `deadman.armed` when a connection arms
   * a new one (`by: 'client'`) or takes over one an earlier connection held, by its id (`by: 'takeover'`: a reconnect,
   * through this replica or after a failover to it), `deadman.disarmed`, and `deadman.fired` with what the engine did
   * with each cancel. Refreshes are not recorded (one every few seconds per client), nor drops (the connection's own
   * `disconnect` record has them).
   */
  private audit(event: DeadmanAuditEvent): void {
    if (!this.trail.enabled) return;
    if (event.action === 'fire') {
      const { claimed, canceled, refused, failed, failure } = event;
      this.trail.deadmanFired({
        switchId: claimed.switchId,
        user: claimed.owner.userId,
        tenant: claimed.owner.tenant,
        connection: claimed.connection,
        trigger: claimed.reason,
        timeoutMs: claimed.timeoutMs,
        accounts: [...new Set(claimed.orders.map((order) => order.account))],
        // By the engine's id; an order it never gave one (its submit went unanswered) is counted in `canceled` only.
        orderIds: canceled.flatMap((order) => (order.orderId !== undefined ? [order.orderId] : [])),
        canceled: canceled.length,
        refused,
        failed,
        ...(failed > 0 ? { outcome: 'rejected' as const, code: failure ?? 'ENGINE_UNAVAILABLE' } : { outcome: 'accepted' as const }),
      });
      return;
    }
    const { socket, switchId } = event;
    const subject = {
      switchId,
      user: socket.data.user.userId,
      tenant: socket.data.user.tenant,
      connection: socket.data.connectionId,
      address: socket.data.address,
    };
    if (event.action === 'disarm') this.trail.deadmanDisarmed({ ...subject, reason: 'client' });
    else this.trail.deadmanArmed({ ...subject, timeoutMs: event.timeoutMs, deadline: event.deadline, orders: event.orders, by: event.action === 'arm' ? 'client' : 'takeover' });
  }
  // ---------------------------------------------------------------- end of AUDIT HOOK
}

function ownerOf(socket: GatewaySocket): DeadmanOwner {
  const { tenant, userId } = socket.data.user;
  return { tenant, userId };
}
