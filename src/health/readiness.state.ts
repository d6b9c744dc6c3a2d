import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { GatewayMetrics } from '#libs/observability';

/** The durable account log's last probe, for readiness. */
export interface AccountLogStatus {
  /** `jetstream` or `redis-streams`. */
  kind: string;
  reachable: boolean;
  /** Why not, when not. */
  message?: string;
  checkedAt: string;
}

/** How often the account log is probed: readiness answers from the last probe, so a probe never holds it up. */
const ACCOUNT_LOG_PROBE_MS = 5_000;

/**
 * Whether this process should get traffic: false until started, and again from the moment shutdown begins; also the
 * durable account log's reachability (a replica that cannot hydrate accounts should not take new clients).
 */
@Injectable()
export class ReadinessState implements OnModuleDestroy {
  private started = false;
  private draining = false;
  /** While the durable control log (licence changes, compliance screens) is being applied: not ready. */
  private controlLogPending = false;
  private accountLogStatus?: AccountLogStatus;
  private accountLogProbe?: NodeJS.Timeout;

  constructor(private readonly metrics: GatewayMetrics) {
    metrics.setReady(false);
  }

  markStarted(): void {
    this.started = true;
    this.metrics.setReady(this.isReady && !this.controlLogPending);
  }

  beginDraining(): void {
    this.draining = true;
    this.metrics.setReady(false);
  }

  get isDraining(): boolean {
    return this.draining;
  }

  get isReady(): boolean {
    return this.started && !this.draining;
  }

  /** The readiness check `controlLog` is down (and the ready gauge 0) from this until `controlLogReplayed`. */
  controlLogReplaying(): void {
    this.controlLogPending = true;
    this.metrics.setReady(false);
  }

  controlLogReplayed(): void {
    this.controlLogPending = false;
    this.metrics.setReady(this.isReady);
  }

  get isReplayingControlLog(): boolean {
    return this.controlLogPending;
  }

  /**
   * Probes the account log now and every few seconds. `probe` resolves when the log can be read (and sets it up if it
   * is missing, so that a JetStream enabled later is used without a restart), rejects with the reason otherwise.
   * `changed` hears the first result and every change of reachability after it (one log line each, not one per probe).
   */
  async watchAccountLog(kind: string, probe: () => Promise<unknown>, changed: (status: AccountLogStatus, first: boolean) => void): Promise<void> {
    const check = async (): Promise<void> => {
      let status: AccountLogStatus;
      try {
        await probe();
        status = { kind, reachable: true, checkedAt: new Date().toISOString() };
      } catch (error) {
        status = { kind, reachable: false, message: error instanceof Error ? error.message || error.name : String(error), checkedAt: new Date().toISOString() };
      }
      const previous = this.accountLogStatus;
      this.accountLogStatus = status;
      if (previous?.reachable !== status.reachable) changed(status, previous === undefined);
    };
    await check();
    let running = false;
    this.accountLogProbe = setInterval(() => {
      if (running) return;
      running = true;
      void check().finally(() => (running = false));
    }, ACCOUNT_LOG_PROBE_MS);
    this.accountLogProbe.unref();
  }

  get accountLog(): AccountLogStatus | undefined {
    return this.accountLogStatus;
  }

  onModuleDestroy(): void {
    clearInterval(this.accountLogProbe);
  }
}
