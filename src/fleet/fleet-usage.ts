import type { DeliveryCounters, TenantUsageReport, UsagePeriodFigures, UsageReport, UserUsageReport } from '#libs/observability';

/** Usage across replicas: every replica's report summed per tenant and user, with each replica's period. */
export interface FleetUsageReport {
  /** The earliest start of the replicas' periods. */
  periodStart: number;
  /** The latest of the replicas' reports. */
  generatedAt: number;
  reset: boolean;
  maxDepartedUsers: number;
  /** Each replica's period (they are reset together by `?reset=true`, but a replica started later began later). */
  periods: Record<string, { periodStart: number; generatedAt: number }>;
  tenants: TenantUsageReport[];
}

type Nested = Record<string, Record<string, number>>;

function addNested(into: Nested, from: Nested): void {
  for (const [outer, inner] of Object.entries(from)) {
    const target = (into[outer] ??= {});
    for (const [key, count] of Object.entries(inner)) target[key] = (target[key] ?? 0) + count;
  }
}

function addDelivered(into: Record<string, DeliveryCounters>, from: Record<string, DeliveryCounters>): void {
  for (const [namespace, counters] of Object.entries(from)) {
    const target = (into[namespace] ??= { messages: 0, bytes: 0 });
    target.messages += counters.messages;
    target.bytes += counters.bytes;
  }
}

function addFigures(into: UsagePeriodFigures, from: UsagePeriodFigures): void {
  addNested(into.subscriptionsOpened, from.subscriptionsOpened);
  addDelivered(into.delivered, from.delivered);
}

/** Sums replicas' usage reports: users by id within their tenant (a user on two replicas is one row), tenants by id. */
export function mergeUsageReports(reports: Record<string, UsageReport>, reset: boolean): FleetUsageReport {
  const tenants = new Map<string, TenantUsageReport>();
  const periods: FleetUsageReport['periods'] = {};
  for (const [node, report] of Object.entries(reports)) {
    periods[node] = { periodStart: report.periodStart, generatedAt: report.generatedAt };
    for (const tenant of report.tenants) {
      let merged = tenants.get(tenant.tenant);
      if (!merged) {
        merged = { tenant: tenant.tenant, users: [], otherUsers: { users: 0, subscriptionsOpened: {}, delivered: {} }, totals: { subscriptions: {}, subscriptionsOpened: {}, delivered: {} } };
        tenants.set(tenant.tenant, merged);
      }
      for (const user of tenant.users) {
        let row = merged.users.find((candidate) => candidate.userId === user.userId);
        if (!row) {
          row = { userId: user.userId, connections: 0, firstSeen: user.firstSeen, lastSeen: user.lastSeen, subscriptions: {}, accounts: {}, subscriptionsOpened: {}, delivered: {} } satisfies UserUsageReport;
          merged.users.push(row);
        }
        row.connections += user.connections;
        row.firstSeen = Math.min(row.firstSeen, user.firstSeen);
        row.lastSeen = Math.max(row.lastSeen, user.lastSeen);
        addNested(row.subscriptions, user.subscriptions);
        for (const [namespace, count] of Object.entries(user.accounts)) row.accounts[namespace] = (row.accounts[namespace] ?? 0) + count;
        addFigures(row, user);
      }
      merged.otherUsers.users += tenant.otherUsers.users;
      addFigures(merged.otherUsers, tenant.otherUsers);
      addNested(merged.totals.subscriptions, tenant.totals.subscriptions);
      addFigures(merged.totals, tenant.totals);
    }
  }
  for (const tenant of tenants.values()) tenant.users.sort((a, b) => a.userId.localeCompare(b.userId));
  const all = Object.values(reports);
  return {
    periodStart: all.length > 0 ? Math.min(...all.map((report) => report.periodStart)) : Date.now(),
    generatedAt: all.length > 0 ? Math.max(...all.map((report) => report.generatedAt)) : Date.now(),
    reset,
    maxDepartedUsers: all[0]?.maxDepartedUsers ?? 0,
    periods,
    tenants: [...tenants.values()].sort((a, b) => a.tenant.localeCompare(b.tenant)),
  };
}
