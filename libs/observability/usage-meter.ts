/**
 * What the fan-out adds to for each frame it writes to a user's socket: plain fields, incremented in place.
 * `messages` counts messages (each entry of an `md` frame; one per account event or snapshot), `bytes` the frame.
 */
export interface DeliveryCounters {
  messages: number;
  bytes: number;
}

export interface UsageMeterOptions {
  /**
   * Users with no open connection whose usage is kept user by user. Beyond it the longest-gone user's totals are
   * folded into its tenant's `otherUsers`, so memory stays bounded however many users come and go, and tenant totals
   * stay exact.
   */
  maxDepartedUsers?: number;
  now?: () => number;
}

/** Usage of one user (or of a tenant's folded-away users) since the period started. */
export interface UsagePeriodFigures {
  /** Market-data subscriptions opened in the period, by exchange and channel (one per socket and stream). */
  subscriptionsOpened: Record<string, Record<string, number>>;
  /** Messages and bytes delivered in the period, by namespace. */
  delivered: Record<string, DeliveryCounters>;
}

export interface UserUsageReport extends UsagePeriodFigures {
  userId: string;
  connections: number;
  firstSeen: number;
  lastSeen: number;
  /** Market-data subscriptions held now, by exchange and channel. */
  subscriptions: Record<string, Record<string, number>>;
  /** Accounts watched now, by account-stream namespace. */
  accounts: Record<string, number>;
}

export interface TenantUsageReport {
  tenant: string;
  users: UserUsageReport[];
  /** Users whose figures were folded together to bound memory (they left, and many others came and went since). */
  otherUsers: UsagePeriodFigures & { users: number };
  totals: UsagePeriodFigures & { subscriptions: Record<string, Record<string, number>> };
}

export interface UsageReport {
  periodStart: number;
  generatedAt: number;
  /** True when this report closed its period and a new one started. */
  reset: boolean;
  maxDepartedUsers: number;
  tenants: TenantUsageReport[];
}

/**
 * Lifetime figures; a period's are these minus a baseline taken when the period started. Each map is made on its first
 * count: a connected user holds a record for as long as it stays, and most have opened nothing and been sent nothing
 * on most namespaces (an empty Map costs about 200 bytes).
 */
interface Totals {
  opened?: Map<string, number>;
  delivered?: Map<string, DeliveryCounters>;
}

interface UserUsage {
  tenant: string;
  userId: string;
  connections: number;
  firstSeen: number;
  lastSeen: number;
  /** Current market-data subscriptions by `EXCHANGE|channel`; made on the first (as are `accounts`). */
  subscriptions?: Map<string, number>;
  accounts?: Map<string, number>;
  lifetime: Totals;
  /** The lifetime figures when the period started; absent while they were all zero. */
  baseline?: Totals;
}

interface TenantUsage {
  users: Map<string, UserUsage>;
  folded: Totals;
  foldedBaseline: Totals;
  foldedUsersInPeriod: number;
}

const MARKET_DATA_NAMESPACE = '/market-data';
export const DEFAULT_MAX_DEPARTED_USERS = 10_000;

/**
 * Usage metering for exchange fee reporting: per tenant and user, the market-data subscriptions held and opened by
 * exchange and channel, the account streams watched, and the messages and bytes delivered per namespace.
 *
 * Delivery counting is on the fan-out's hot path, so it costs a field increment: `countersFor` hands out one stable
 * object per user and namespace that the fan-out keeps and increments directly. The object of a user with an open
 * connection is never replaced or dropped; a period reset does not touch it either (periods are differences against a
 * baseline), so Prometheus sees monotonic counters.
 */
export class UsageMeter {
  private readonly tenants = new Map<string, TenantUsage>();
  /** Users without an open connection, longest gone first. */
  private readonly departed = new Map<string, UserUsage>();
  private periodStartedAt: number;
  readonly maxDepartedUsers: number;
  private readonly now: () => number;

  constructor(options: UsageMeterOptions = {}) {
    this.maxDepartedUsers = options.maxDepartedUsers ?? DEFAULT_MAX_DEPARTED_USERS;
    this.now = options.now ?? Date.now;
    this.periodStartedAt = this.now();
  }

  get periodStart(): number {
    return this.periodStartedAt;
  }

  /** The counters the fan-out increments for frames it writes to this user's sockets in `namespace`. */
  countersFor(tenant: string, userId: string, namespace: string = MARKET_DATA_NAMESPACE): DeliveryCounters {
    const user = this.userOf(tenant, userId);
    const delivered = (user.lifetime.delivered ??= new Map<string, DeliveryCounters>());
    let counters = delivered.get(namespace);
    if (!counters) {
      counters = { messages: 0, bytes: 0 };
      delivered.set(namespace, counters);
    }
    return counters;
  }

  connectionOpened(tenant: string, userId: string): void {
    const user = this.userOf(tenant, userId, false);
    user.connections += 1;
    user.lastSeen = this.now();
    this.departed.delete(keyOf(tenant, userId));
  }

  connectionClosed(tenant: string, userId: string): void {
    const user = this.tenants.get(tenant)?.users.get(userId);
    if (!user || user.connections === 0) return;
    user.connections -= 1;
    user.lastSeen = this.now();
    if (user.connections === 0) this.markDeparted(user);
  }

  subscriptionAdded(tenant: string, userId: string, exchange: string, channel: string): void {
    const user = this.userOf(tenant, userId);
    const key = `${exchange}|${channel}`;
    increment((user.subscriptions ??= new Map<string, number>()), key);
    increment((user.lifetime.opened ??= new Map<string, number>()), key);
    user.lastSeen = this.now();
  }

  subscriptionRemoved(tenant: string, userId: string, exchange: string, channel: string): void {
    const subscriptions = this.tenants.get(tenant)?.users.get(userId)?.subscriptions;
    if (subscriptions) decrement(subscriptions, `${exchange}|${channel}`);
  }

  accountWatched(tenant: string, userId: string, namespace: string): void {
    const user = this.userOf(tenant, userId);
    increment((user.accounts ??= new Map<string, number>()), namespace);
    user.lastSeen = this.now();
  }

  accountUnwatched(tenant: string, userId: string, namespace: string): void {
    const accounts = this.tenants.get(tenant)?.users.get(userId)?.accounts;
    if (accounts) decrement(accounts, namespace);
  }

  /**
   * The period's usage per tenant and user. With `reset`, the period closes with this report and a new one starts:
   * users who left are then folded away (their figures were just reported) and the others start again from zero.
   */
  report(options: { reset?: boolean } = {}): UsageReport {
    const generatedAt = this.now();
    const tenants: TenantUsageReport[] = [];
    for (const [tenant, usage] of [...this.tenants].sort(([a], [b]) => a.localeCompare(b))) {
      const users = [...usage.users.values()].sort((a, b) => a.userId.localeCompare(b.userId)).map((user) => userReport(user));
      const otherUsers = { users: usage.foldedUsersInPeriod, ...periodFigures(usage.folded, usage.foldedBaseline) };
      const totals = {
        subscriptions: nestByExchange(sumMaps([...usage.users.values()].map((u) => u.subscriptions))),
        subscriptionsOpened: sumNested([otherUsers.subscriptionsOpened, ...users.map((u) => u.subscriptionsOpened)]),
        delivered: sumDelivered([otherUsers.delivered, ...users.map((u) => u.delivered)]),
      };
      tenants.push({ tenant, users, otherUsers, totals });
    }
    const report: UsageReport = { periodStart: this.periodStartedAt, generatedAt, reset: options.reset === true, maxDepartedUsers: this.maxDepartedUsers, tenants };
    if (options.reset) this.startPeriod(generatedAt);
    return report;
  }

  /** Lifetime messages and bytes per tenant and namespace, for the Prometheus counters (read at scrape time). */
  deliveredByTenant(): { tenant: string; namespace: string; messages: number; bytes: number }[] {
    const rows: { tenant: string; namespace: string; messages: number; bytes: number }[] = [];
    for (const [tenant, usage] of this.tenants) {
      const sums = new Map<string, DeliveryCounters>();
      const add = (delivered: Map<string, DeliveryCounters> | undefined) => {
        for (const [namespace, c] of delivered ?? []) {
          const sum = sums.get(namespace) ?? { messages: 0, bytes: 0 };
          sum.messages += c.messages;
          sum.bytes += c.bytes;
          sums.set(namespace, sum);
        }
      };
      add(usage.folded.delivered);
      for (const user of usage.users.values()) add(user.lifetime.delivered);
      for (const [namespace, sum] of sums) rows.push({ tenant, namespace, ...sum });
    }
    return rows;
  }

  /** Market-data subscriptions held now per tenant, exchange and channel, for the Prometheus gauge. */
  subscriptionsByTenant(): { tenant: string; exchange: string; channel: string; count: number }[] {
    const rows: { tenant: string; exchange: string; channel: string; count: number }[] = [];
    for (const [tenant, usage] of this.tenants) {
      for (const [key, count] of sumMaps([...usage.users.values()].map((u) => u.subscriptions))) {
        const [exchange, channel] = key.split('|') as [string, string];
        rows.push({ tenant, exchange, channel, count });
      }
    }
    return rows;
  }

  /** Accounts watched now per tenant and namespace, for the Prometheus gauge. */
  accountsByTenant(): { tenant: string; namespace: string; count: number }[] {
    const rows: { tenant: string; namespace: string; count: number }[] = [];
    for (const [tenant, usage] of this.tenants) {
      for (const [namespace, count] of sumMaps([...usage.users.values()].map((u) => u.accounts))) rows.push({ tenant, namespace, count });
    }
    return rows;
  }

  private startPeriod(at: number): void {
    this.periodStartedAt = at;
    for (const user of [...this.departed.values()]) if (isIdle(user)) this.fold(user);
    for (const usage of this.tenants.values()) {
      usage.foldedBaseline = cloneTotals(usage.folded) ?? {};
      usage.foldedUsersInPeriod = 0;
      for (const user of usage.users.values()) user.baseline = cloneTotals(user.lifetime);
    }
  }

  private userOf(tenant: string, userId: string, idleIfNew = true): UserUsage {
    let usage = this.tenants.get(tenant);
    if (!usage) {
      usage = { users: new Map(), folded: {}, foldedBaseline: {}, foldedUsersInPeriod: 0 };
      this.tenants.set(tenant, usage);
    }
    let user = usage.users.get(userId);
    if (!user) {
      const now = this.now();
      user = { tenant, userId, connections: 0, firstSeen: now, lastSeen: now, lifetime: {} };
      usage.users.set(userId, user);
      // Met before any connection (which the gateways never do): it counts toward the bound like a user who left.
      if (idleIfNew) this.markDeparted(user);
    }
    return user;
  }

  private markDeparted(user: UserUsage): void {
    const key = keyOf(user.tenant, user.userId);
    this.departed.delete(key);
    this.departed.set(key, user);
    if (this.departed.size <= this.maxDepartedUsers) return;
    for (const candidate of this.departed.values()) {
      if (this.departed.size <= this.maxDepartedUsers) break;
      // A user that still holds a subscription (its sockets are closing right now) is kept until it is idle.
      if (candidate !== user && isIdle(candidate)) this.fold(candidate);
    }
  }

  /** Adds a departed user's figures to its tenant's `otherUsers` and forgets the user. */
  private fold(user: UserUsage): void {
    const usage = this.tenants.get(user.tenant);
    this.departed.delete(keyOf(user.tenant, user.userId));
    if (!usage) return;
    addTotals(usage.folded, user.lifetime);
    if (user.baseline) addTotals(usage.foldedBaseline, user.baseline);
    usage.foldedUsersInPeriod += 1;
    usage.users.delete(user.userId);
  }
}

function keyOf(tenant: string, userId: string): string {
  return `${tenant}\u0000${userId}`;
}

function isIdle(user: UserUsage): boolean {
  return user.connections === 0 && !user.subscriptions?.size && !user.accounts?.size;
}

function increment(counts: Map<string, number>, key: string): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

function decrement(counts: Map<string, number>, key: string): void {
  const count = counts.get(key);
  if (count === undefined) return;
  if (count > 1) counts.set(key, count - 1);
  else counts.delete(key);
}

/** A copy to diff against later; undefined when there is nothing to copy (a baseline of zeros). */
function cloneTotals(totals: Totals): Totals | undefined {
  if (!totals.opened?.size && !totals.delivered?.size) return undefined;
  return {
    opened: new Map(totals.opened),
    delivered: new Map([...(totals.delivered ?? [])].map(([ns, c]) => [ns, { messages: c.messages, bytes: c.bytes }])),
  };
}

function addTotals(into: Totals, from: Totals): void {
  for (const [key, count] of from.opened ?? []) {
    const opened = (into.opened ??= new Map<string, number>());
    opened.set(key, (opened.get(key) ?? 0) + count);
  }
  for (const [ns, c] of from.delivered ?? []) {
    const delivered = (into.delivered ??= new Map<string, DeliveryCounters>());
    const sum = delivered.get(ns) ?? { messages: 0, bytes: 0 };
    sum.messages += c.messages;
    sum.bytes += c.bytes;
    delivered.set(ns, sum);
  }
}

function periodFigures(lifetime: Totals, baseline: Totals | undefined): UsagePeriodFigures {
  const opened = new Map<string, number>();
  for (const [key, count] of lifetime.opened ?? []) {
    const inPeriod = count - (baseline?.opened?.get(key) ?? 0);
    if (inPeriod > 0) opened.set(key, inPeriod);
  }
  const delivered: Record<string, DeliveryCounters> = {};
  for (const [ns, c] of lifetime.delivered ?? []) {
    const base = baseline?.delivered?.get(ns);
    const messages = c.messages - (base?.messages ?? 0);
    const bytes = c.bytes - (base?.bytes ?? 0);
    if (messages > 0 || bytes > 0) delivered[ns] = { messages, bytes };
  }
  return { subscriptionsOpened: nestByExchange(opened), delivered };
}

function userReport(user: UserUsage): UserUsageReport {
  return {
    userId: user.userId,
    connections: user.connections,
    firstSeen: user.firstSeen,
    lastSeen: user.lastSeen,
    subscriptions: nestByExchange(user.subscriptions),
    accounts: Object.fromEntries(user.accounts ?? []),
    ...periodFigures(user.lifetime, user.baseline),
  };
}

/** `NASDAQ|quote → 2` becomes `{ NASDAQ: { quote: 2 } }`. */
function nestByExchange(counts: Map<string, number> | undefined): Record<string, Record<string, number>> {
  const nested: Record<string, Record<string, number>> = {};
  for (const [key, count] of counts ?? []) {
    const [exchange, channel] = key.split('|') as [string, string];
    (nested[exchange] ??= {})[channel] = count;
  }
  return nested;
}

function sumMaps(maps: (Map<string, number> | undefined)[]): Map<string, number> {
  const sum = new Map<string, number>();
  for (const map of maps) for (const [key, count] of map ?? []) sum.set(key, (sum.get(key) ?? 0) + count);
  return sum;
}

function sumNested(items: Record<string, Record<string, number>>[]): Record<string, Record<string, number>> {
  const sum: Record<string, Record<string, number>> = {};
  for (const item of items) {
    for (const [exchange, channels] of Object.entries(item)) {
      for (const [channel, count] of Object.entries(channels)) {
        const row = (sum[exchange] ??= {});
        row[channel] = (row[channel] ?? 0) + count;
      }
    }
  }
  return sum;
}

function sumDelivered(items: Record<string, DeliveryCounters>[]): Record<string, DeliveryCounters> {
  const sum: Record<string, DeliveryCounters> = {};
  for (const item of items) {
    for (const [ns, c] of Object.entries(item)) {
      const row = (sum[ns] ??= { messages: 0, bytes: 0 });
      row.messages += c.messages;
      row.bytes += c.bytes;
    }
  }
  return sum;
}
