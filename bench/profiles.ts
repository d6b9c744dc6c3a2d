/** Sizes of every scenario for one kind of run. Any number can be overridden with `--set section.field=value`. */
export interface Profile {
  name: 'quick' | 'full';
  /** Load-generator processes (all on the load cores). */
  workers: number;
  /** How fast the fan-out, account and ingest scenarios open their clients (they do not measure handshakes). */
  setupConnectRate: number;
  /** Hard limit on the whole run; the harness kills everything and exits if it is reached. */
  watchdogSeconds: number;
  /**
   * `warmupConnections` connect and leave before the measured ones, so JIT warm-up is not counted as handshake latency.
   * `namedExchanges` > 0: the clients' licence names that many exchanges (as production licences name theirs) besides
   * `*`, which makes the `welcome` larger (18 bytes each): from 11 on it is over the 1 KB compression threshold.
   * `notice` n ≥ 1: once all are connected and settled, an operator notice to everyone (targets with the admin API), and
   * the time until each client has it, waiting at most `noticeTimeoutSeconds`; n notices one after the other, the
   * figures those of the median one by last receipt; 0: no notice. `noticeSettleSeconds` between the memory figures
   * and the first notice: minutes of handshakes leave the workers and load generators collecting garbage for a while.
   */
  capacity: {
    connections: number;
    connectRate: number;
    warmupConnections: number;
    settleSeconds: number;
    namedExchanges: number;
    notice: number;
    noticeSettleSeconds: number;
    noticeTimeoutSeconds: number;
    /**
     * Handshakes in flight at once over all load generators; 0: none held back (open loop, the default). A run far
     * past one machine's capacity (100,000 connections on a 2-core machine) sets it, so that it measures what the server
     * holds rather than how attempts time out in queues (the achieved rate is reported).
     */
    maxPending: number;
  };
  fanout: { clients: number; perClient: number; instruments: number; quoteRate: number; throttleMs: number; warmupSeconds: number; windowSeconds: number };
  accounts: { clients: number; accounts: number; orderRate: number; warmupSeconds: number; windowSeconds: number };
  ingest: { quoteRate: number; instruments: number; subscribers: number; perClient: number; warmupSeconds: number; windowSeconds: number };
  /**
   * The fan-out load run twice, without and with one extra client that subscribes to every instrument the others watch
   * and stops reading. `graceMs` is the gateway's SLOW_CLIENT_GRACE_MS; after the window the run waits for the drop
   * until `dropWaitSeconds` after the slow client stopped reading. The server only sees the client as behind once the
   * kernel's socket buffers between them are full (about 4 MB on Linux loopback), so the drop comes that much later.
   */
  slowclient: {
    clients: number;
    perClient: number;
    instruments: number;
    quoteRate: number;
    throttleMs: number;
    warmupSeconds: number;
    windowSeconds: number;
    graceMs: number;
    dropWaitSeconds: number;
  };
  /**
   * `clients` @tradewire/client clients in one process, each on the quotes of one of `instruments`, through HAProxy to
   * two replicas; the replica holding them is restarted with SIGTERM, then SIGKILL. `settleSeconds` before each.
   */
  /** `reconnectWindowMs`: the gateway's SHUTDOWN_RECONNECT_WINDOW_MS, the window a SIGTERMed replica's clients come back in. */
  sdkreconnect: { clients: number; instruments: number; quoteRate: number; connectRate: number; settleSeconds: number; recoveryTimeoutSeconds: number; reconnectWindowMs: number };
  /** One client on `books` order books while the simulator publishes `bookRate` book deltas/s. */
  sdkbook: { books: number; bookRate: number; warmupSeconds: number; windowSeconds: number };
  /**
   * Hot instruments after a subscribe storm: a skewed universe (`hotInstruments` at `hotRate` quotes/s each, the other
   * `quietInstruments` at `quietRate` each) already flowing from the engine when all `clients`, connected and idle,
   * subscribe at the same instant to `perClient` of the hot instruments. Measured from that instant in `windows`
   * consecutive windows of `windowSeconds`: the first is the storm, the later ones the steady state.
   */
  storm: {
    clients: number;
    perClient: number;
    hotInstruments: number;
    hotRate: number;
    quietInstruments: number;
    quietRate: number;
    throttleMs: number;
    leadSeconds: number;
    windows: number;
    windowSeconds: number;
  };
}

/** `npm run bench`: small sizes, every default scenario against every target in under three minutes on two cores. */
export const QUICK: Profile = {
  name: 'quick',
  workers: 2,
  setupConnectRate: 2_000,
  watchdogSeconds: 480,
  capacity: { connections: 2_000, connectRate: 500, warmupConnections: 200, settleSeconds: 1, namedExchanges: 0, notice: 1, noticeSettleSeconds: 0, noticeTimeoutSeconds: 10, maxPending: 0 },
  fanout: { clients: 500, perClient: 20, instruments: 200, quoteRate: 5_000, throttleMs: 0, warmupSeconds: 1, windowSeconds: 6 },
  accounts: { clients: 500, accounts: 500, orderRate: 2_000, warmupSeconds: 1, windowSeconds: 4 },
  ingest: { quoteRate: 20_000, instruments: 200, subscribers: 50, perClient: 20, warmupSeconds: 1, windowSeconds: 3 },
  slowclient: { clients: 200, perClient: 10, instruments: 100, quoteRate: 2_000, throttleMs: 100, warmupSeconds: 1, windowSeconds: 8, graceMs: 5_000, dropWaitSeconds: 45 },
  sdkreconnect: { clients: 1_000, instruments: 50, quoteRate: 250, connectRate: 250, settleSeconds: 2, recoveryTimeoutSeconds: 20, reconnectWindowMs: 2_000 },
  sdkbook: { books: 20, bookRate: 10_000, warmupSeconds: 2, windowSeconds: 8 },
  storm: { clients: 1_000, perClient: 20, hotInstruments: 20, hotRate: 2_000, quietInstruments: 480, quietRate: 1, throttleMs: 100, leadSeconds: 2, windows: 3, windowSeconds: 10 },
};

/** `npm run bench:full`: the issue's targets. */
export const FULL: Profile = {
  name: 'full',
  workers: 4,
  setupConnectRate: 1_000,
  watchdogSeconds: 3_600,
  capacity: { connections: 19_000, connectRate: 500, warmupConnections: 500, settleSeconds: 5, namedExchanges: 0, notice: 1, noticeSettleSeconds: 20, noticeTimeoutSeconds: 10, maxPending: 0 },
  fanout: { clients: 2_000, perClient: 20, instruments: 500, quoteRate: 50_000, throttleMs: 100, warmupSeconds: 5, windowSeconds: 60 },
  accounts: { clients: 2_000, accounts: 2_000, orderRate: 2_000, warmupSeconds: 3, windowSeconds: 30 },
  ingest: { quoteRate: 100_000, instruments: 500, subscribers: 200, perClient: 20, warmupSeconds: 3, windowSeconds: 15 },
  slowclient: { clients: 1_000, perClient: 20, instruments: 500, quoteRate: 10_000, throttleMs: 100, warmupSeconds: 3, windowSeconds: 20, graceMs: 5_000, dropWaitSeconds: 60 },
  sdkreconnect: { clients: 1_000, instruments: 100, quoteRate: 200, connectRate: 250, settleSeconds: 3, recoveryTimeoutSeconds: 30, reconnectWindowMs: 2_000 },
  sdkbook: { books: 50, bookRate: 20_000, warmupSeconds: 3, windowSeconds: 20 },
  storm: { clients: 1_000, perClient: 20, hotInstruments: 20, hotRate: 2_000, quietInstruments: 480, quietRate: 1, throttleMs: 100, leadSeconds: 2, windows: 6, windowSeconds: 10 },
};

/** Applies `section.field=value` (or a top-level `field=value`) to a copy of the profile. */
export function overrideProfile(profile: Profile, assignments: string[]): Profile {
  const copy = structuredClone(profile) as unknown as Record<string, unknown>;
  for (const assignment of assignments) {
    const match = /^([a-zA-Z]+)(?:\.([a-zA-Z]+))?=([0-9.eE+_-]+)$/.exec(assignment);
    if (!match) throw new Error(`--set expects section.field=number, got '${assignment}'`);
    const [, first, second, raw] = match;
    const value = Number(raw.replaceAll('_', ''));
    const holder = second ? copy[first] : copy;
    const key = second ?? first;
    if (!isRecord(holder) || typeof holder[key] !== 'number' || !Number.isFinite(value)) {
      throw new Error(`--set: unknown numeric setting '${second ? `${first}.${second}` : first}'`);
    }
    holder[key] = value;
  }
  return copy as unknown as Profile;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
