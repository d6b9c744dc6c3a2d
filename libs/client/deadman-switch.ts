import { DEADMAN_MAX_TIMEOUT_MS, DEADMAN_MIN_TIMEOUT_MS, type DeadmanFired, type OrderDeadmanResponse } from '#libs/contracts';
import type { ConnectionHub, NamespaceChannel } from './connection.js';
import { TypedEmitter } from './emitter.js';
import { BadFrameError, InvalidArgumentError, listenerFailed, type TradewireError } from './errors.js';
import { isObject } from './wire-checks.js';

/** What the switch is now, as the gateway last answered. */
export interface DeadmanSwitchState {
  armed: boolean;
  switchId: string | null;
  timeoutMs: number | null;
  /** When the gateway fires it unless it hears from this client again (epoch ms, the gateway's clock). */
  deadline: number | null;
  /** How many orders it covers. */
  orders: number;
}

export interface DeadmanSwitchEvents {
  /** Armed, or re-attached after a reconnect (`resumed`: the same switch, its orders still covered). */
  armed: (state: DeadmanSwitchState, info: { resumed: boolean }) => void;
  /**
   * A switch of this client fired: the gateway had the engine cancel the orders it covered. Heard while connected (a
   * refresh came too late) or on coming back after longer than the timeout. The switch stays armed (a new one) until
   * `disarm()`.
   */
  fired: (fired: DeadmanFired) => void;
}

/**
 * `client.orders.deadman`: the dead-man's switch of the `/orders` connection (docs/protocol.md §6.6). `arm` arms it and
 * keeps it refreshed (three times per timeout) while the client runs; after a reconnect, through any replica, it is
 * re-attached at once by its id, so a quick reconnect keeps the orders. If this client stops (the page closes, the
 * process hangs, the network goes) for longer than the timeout, the gateway cancels every order submitted through it.
 */
export class DeadmanSwitch extends TypedEmitter<DeadmanSwitchEvents> {
  private current: DeadmanSwitchState = { armed: false, switchId: null, timeoutMs: null, deadline: null, orders: 0 };
  /** The timeout the application asked for; null while disarmed. */
  private wanted: number | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  private inflight: Promise<DeadmanSwitchState> | null = null;
  private channelRef: NamespaceChannel<'/orders'> | null = null;
  /** Firings already told to the application (the event and a later answer may both report one). */
  private readonly reported = new Set<string>();

  constructor(
    private readonly hub: ConnectionHub,
    private readonly reportError: (error: TradewireError) => void,
  ) {
    super((error, event) => reportError(listenerFailed(error, event)));
  }

  get state(): DeadmanSwitchState {
    return { ...this.current };
  }

  /**
   * Arms the switch with `timeoutMs` (1,000 to 3,600,000), or changes the timeout of the armed one; resolves with the
   * gateway's answer. From then on the SDK refreshes it by itself until `disarm()` or `client.close()`.
   */
  arm(timeoutMs: number): Promise<DeadmanSwitchState> {
    // Thrown at once, as every SDK method's bad arguments are.
    if (typeof timeoutMs !== 'number' || !Number.isInteger(timeoutMs) || timeoutMs < DEADMAN_MIN_TIMEOUT_MS || timeoutMs > DEADMAN_MAX_TIMEOUT_MS) {
      throw new InvalidArgumentError('timeoutMs', `must be an integer from ${DEADMAN_MIN_TIMEOUT_MS} to ${DEADMAN_MAX_TIMEOUT_MS}`);
    }
    return this.armWith(timeoutMs);
  }

  private async armWith(timeoutMs: number): Promise<DeadmanSwitchState> {
    this.wanted = timeoutMs;
    this.stopRefreshing();
    await this.inflight?.catch(() => undefined);
    const state = await this.send('arm');
    if (this.wanted === timeoutMs) {
      this.timer = setInterval(() => this.refresh(), Math.floor(timeoutMs / 3));
      // Node: the refreshes alone do not keep a process alive.
      (this.timer as { unref?: () => void }).unref?.();
    }
    return state;
  }

  /** Disarms it: the orders stay as they are. Refreshing stops at once, even if the gateway cannot be told. */
  async disarm(): Promise<void> {
    this.wanted = null;
    this.stopRefreshing();
    await this.inflight?.catch(() => undefined);
    const switchId = this.current.switchId;
    this.current = { armed: false, switchId: null, timeoutMs: null, deadline: null, orders: 0 };
    if (switchId === null) return;
    const answer = await this.channel().request('order:deadman', { timeoutMs: 0, switchId }, { retryOnLoss: true });
    if (answer.fired) this.reportFired(answer.fired);
  }

  /** @internal `client.close()`: stops refreshing (the gateway fires the switch once its timeout passes). */
  stop(): void {
    this.wanted = null;
    this.stopRefreshing();
  }

  private stopRefreshing(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** A refresh, unless one is on its way (one waiting for a reconnect is enough). Failures are reported, never thrown. */
  private refresh(): void {
    if (this.wanted === null || this.inflight) return;
    this.send().catch((error: unknown) => this.reportError(error as TradewireError));
  }

  private send(why: 'arm' | 'refresh' | 'reattach' = 'refresh'): Promise<DeadmanSwitchState> {
    const timeoutMs = this.wanted;
    if (timeoutMs === null) return Promise.resolve(this.state);
    const switchId = this.current.switchId;
    const sent = this.channel()
      .request('order:deadman', { timeoutMs, ...(switchId !== null ? { switchId } : {}) }, { retryOnLoss: true })
      .then((answer) => this.apply(answer, timeoutMs, why));
    const tracked = sent.finally(() => {
      if (this.inflight === tracked) this.inflight = null;
    });
    this.inflight = tracked;
    return tracked;
  }

  private apply(answer: OrderDeadmanResponse, timeoutMs: number, why: 'arm' | 'refresh' | 'reattach'): DeadmanSwitchState {
    if (answer.fired) this.reportFired(answer.fired);
    this.current = { armed: answer.armed, switchId: answer.switchId ?? null, timeoutMs: answer.timeoutMs ?? timeoutMs, deadline: answer.deadline ?? null, orders: answer.orders ?? 0 };
    // A plain refresh of the same switch is not news; an arm, a re-attach or a new switch in place of a fired one is.
    if (answer.armed && (why !== 'refresh' || answer.resumed === false)) this.emit('armed', this.state, { resumed: answer.resumed === true });
    return this.state;
  }

  private reportFired(fired: DeadmanFired): void {
    if (this.reported.has(fired.switchId)) return;
    this.reported.add(fired.switchId);
    if (this.current.switchId === fired.switchId) this.current = { ...this.current, armed: false };
    this.emit('fired', fired);
  }

  private channel(): NamespaceChannel<'/orders'> {
    if (this.channelRef) return this.channelRef;
    const channel = this.hub.channel('/orders');
    this.channelRef = channel;
    channel.listen('deadman', (event: unknown) => {
      if (!isObject(event) || typeof event.switchId !== 'string' || typeof event.reason !== 'string' || typeof event.firedAt !== 'number' || typeof event.orders !== 'number') {
        this.reportError(new BadFrameError('deadman', 'not a dead-man switch event', event));
        return;
      }
      this.reportFired({ switchId: event.switchId, reason: event.reason as DeadmanFired['reason'], firedAt: event.firedAt, orders: event.orders });
    });
    // Re-attached at once on every reconnect, before the refresh timer would: the gateway waits `timeoutMs` at most.
    channel.onConnected(({ reconnect }) => {
      if (reconnect && this.wanted !== null) this.send('reattach').catch((error: unknown) => this.reportError(error as TradewireError));
    });
    return channel;
  }
}
