import { TrustedProxies, clientAddress } from './client-address.js';
import { ALLOWED, BLOCKED_RULE, type BucketCheck, type LimitCheck, type LimitDecision, type RateLimitStore } from './rate-limit.store.js';
import type { RateRule } from './rate-rule.js';
import { UserStreamCounter } from './user-stream-counter.js';

/** Every limit, as configured (`RATE_LIMIT_*`, `TRUSTED_PROXIES`); a null rule is switched off. */
export interface RateLimitSettings {
  /** Requests per user, all events together, over the long window (default 100/1m). */
  requests: RateRule | null;
  /** Requests per user, all events together, over the short window (default 10/1s). */
  requestBurst: RateRule | null;
  /** Per user and event (default `subscribe` 10/1m). */
  events: ReadonlyMap<string, RateRule>;
  /**
   * Cancels (`CANCEL_EVENTS`), per user over every namespace (default 300/1m:50): their only bucket. They never take
   * from the overall ones, are never refused for a block and never count as offences, so a user who is limited or
   * blocked can still pull its orders. null: cancels are not limited at all.
   */
  cancels: RateRule | null;
  /** Repeat offenders: this many refusals within the window block the user for `blockMs`; null: never blocked. */
  blockAfter: { refusals: number; windowMs: number } | null;
  blockMs: number;
  /** New connections per client address (default 600/1m). */
  handshakes: RateRule | null;
  /** Market-data streams held at once per user, across the user's connections (0: no cap). */
  maxSubscriptionsPerUser: number;
  /** Proxies whose `X-Forwarded-For` names the client (addresses and CIDR blocks). */
  trustedProxies: readonly string[];
}

export const DEFAULT_RATE_LIMITS: RateLimitSettings = {
  requests: { limit: 100, windowMs: 60_000, burst: 100 },
  requestBurst: { limit: 10, windowMs: 1_000, burst: 10 },
  events: new Map([['subscribe', { limit: 10, windowMs: 60_000, burst: 10 }]]),
  cancels: { limit: 300, windowMs: 60_000, burst: 50 },
  blockAfter: { refusals: 20, windowMs: 60_000 },
  blockMs: 300_000,
  handshakes: { limit: 600, windowMs: 60_000, burst: 600 },
  maxSubscriptionsPerUser: 50,
  trustedProxies: [],
};

/**
 * Requests that only ever take an order off the market (the dead-man's switch arms a cancel, and its refreshes must
 * never be refused or the switch would fire): a desk must be able to get out of its orders at the moment its dashboard
 * trips the limits. They have their own bucket (`cancels`) and nothing else applies to them.
 */
export const CANCEL_EVENTS: ReadonlySet<string> = new Set(['order:cancel', 'order:cancel-all', 'order:deadman']);

/** Whose requests share buckets: a user of a tenant (the same `sub` in two tenants is two users). */
export interface RateLimitedUser {
  tenant: string;
  userId: string;
}

/**
 * Requests answered at once, without waiting for the store: `ping` measures round trips, so a Redis round trip
 * must not be part of it. It still takes from the overall buckets, in the background, and once those refuse the
 * user, pings are refused here until the wait is over.
 */
const DEFERRED_EVENTS = new Set(['ping']);

/**
 * How many deferred requests of one user may be answered while the store has not yet counted them. Beyond, a ping
 * waits for its own decision like any request: a burst of pings can only outrun its buckets by this many, however
 * many arrive before the first decision is back. Four: one per namespace, so a dashboard that pings each of its
 * connections at once never waits.
 */
const MAX_UNCOUNTED_DEFERRED = 4;

/** A user refused by an overall bucket or blocked: until when, and which of the two (for the refusal's message). */
interface Refusal {
  until: number;
  rule: string;
}

const KEY_PREFIX = 'tradewire:rl';
const MAX_REFUSAL_MEMORY = 100_000;

/**
 * The rate-limit rules over a store: per-user request buckets (overall, short-window burst, per event), repeat
 * offenders, and new connections per client address. Decisions come from the store (this process's memory, or
 * Redis for the whole cluster); which rule refused is in the decision.
 */
export class RateLimiter {
  private readonly trusted: TrustedProxies;
  private readonly checksByEvent = new Map<string, (holder: string) => LimitCheck>();
  /** Users refused by an overall bucket or blocked: deferred events are refused from this. */
  private readonly refusedUntil = new Map<string, Refusal>();
  /** Per user, deferred requests answered whose store decision is not back yet. */
  private readonly uncounted = new Map<string, number>();
  /** Each engine.io connection's handshake decision: the namespaces multiplexed over it count once. */
  private readonly connectionDecisions = new WeakMap<object, Promise<LimitDecision>>();

  private current: RateLimitSettings;

  constructor(
    settings: RateLimitSettings,
    readonly store: RateLimitStore,
    /** Market-data streams held per user: the `maxSubscriptionsPerUser` cap (kept by the market-data service). */
    readonly streams: UserStreamCounter = new UserStreamCounter(),
    private readonly now: () => number = Date.now,
  ) {
    this.current = settings;
    this.trusted = new TrustedProxies(settings.trustedProxies);
  }

  /** The limits in force: as configured, or as last replaced at runtime. */
  get settings(): RateLimitSettings {
    return this.current;
  }

  /**
   * Replaces the limits at runtime (operators change them fleet-wide). The next decision uses the new rules; buckets
   * keep their levels (a bucket's level is read against whatever rule checks it). Trusted proxies stay as started.
   */
  applySettings(settings: Omit<RateLimitSettings, 'trustedProxies'>): void {
    this.current = { ...settings, trustedProxies: this.current.trustedProxies };
    this.checksByEvent.clear();
  }

  /**
   * Lifts a user's block: the block and its offence count go, and the overall request buckets are full again (per-event
   * buckets refill as usual). In the store, so across replicas with Redis; each replica must also `forgetRefusal`.
   */
  async unblock(user: RateLimitedUser): Promise<void> {
    const base = `${KEY_PREFIX}:{u:${userKey(user)}}`;
    await this.store.forget([`${base}:blocked`, `${base}:offences`, `${base}:burst`, `${base}:requests`]);
    this.forgetRefusal(user);
  }

  /** Drops what this replica remembers of a user's refusal (it answers deferred requests from it). */
  forgetRefusal(user: RateLimitedUser): void {
    const holder = userKey(user);
    this.refusedUntil.delete(holder);
  }

  /**
   * Takes a request of `event` on `namespace` by `user` from its buckets: the user's overall ones (every namespace
   * together) and the event's own, per namespace (`subscribe` on `/market-data` and on `/orders` are different
   * requests).
   */
  async checkRequest(user: RateLimitedUser, namespace: string, event: string): Promise<LimitDecision> {
    const holder = userKey(user);
    if (DEFERRED_EVENTS.has(event)) return this.checkDeferred(holder, namespace, event);
    const decision = await this.store.decide(this.checkFor(namespace, event)(holder));
    this.remember(holder, decision);
    return decision;
  }

  /**
   * Counts a new connection against its client address's bucket. The namespaces a client multiplexes over one
   * engine.io connection share its one decision, also when they connect at the same moment.
   */
  async checkHandshake(connection: object, remoteAddress: string | undefined, forwardedFor: string | string[] | undefined): Promise<LimitDecision & { address: string }> {
    const address = clientAddress(remoteAddress, forwardedFor, this.trusted);
    const rule = this.current.handshakes;
    if (!rule) return { allowed: true, address };
    let pending = this.connectionDecisions.get(connection);
    if (!pending) {
      const key = `${KEY_PREFIX}:{ip:${address}}:handshakes`;
      pending = this.store.decide({ buckets: [{ key, name: 'handshake', rule }] });
      this.connectionDecisions.set(connection, pending);
    }
    const decision = await pending;
    // A refused connection may try again later; that attempt is counted again.
    if (!decision.allowed && this.connectionDecisions.get(connection) === pending) this.connectionDecisions.delete(connection);
    return { ...decision, address };
  }

  clientAddress(remoteAddress: string | undefined, forwardedFor: string | string[] | undefined): string {
    return clientAddress(remoteAddress, forwardedFor, this.trusted);
  }

  async close(): Promise<void> {
    // The stream counts go first: they are removed from the store's Redis before its client quits.
    await this.streams.close();
    await this.store.close();
  }

  /** Nest calls this on shutdown. */
  onApplicationShutdown(): Promise<void> {
    return this.close();
  }

  private checkDeferred(holder: string, namespace: string, event: string): LimitDecision | Promise<LimitDecision> {
    const now = this.now();
    const refusal = this.refusedUntil.get(holder);
    if (refusal !== undefined) {
      if (refusal.until > now) return { allowed: false, retryAfterMs: refusal.until - now, rule: refusal.rule, blockedNow: false };
      this.refusedUntil.delete(holder);
    }
    const decision = this.store.decide(this.checkFor(namespace, event)(holder)).then(
      (decided) => {
        this.remember(holder, decided);
        return decided;
      },
      () => ALLOWED, // a store that fails, fails open: nothing to remember
    );
    const uncounted = this.uncounted.get(holder) ?? 0;
    if (uncounted >= MAX_UNCOUNTED_DEFERRED) return decision;
    this.uncounted.set(holder, uncounted + 1);
    void decision.finally(() => {
      const left = (this.uncounted.get(holder) ?? 1) - 1;
      if (left > 0) this.uncounted.set(holder, left);
      else this.uncounted.delete(holder);
    });
    return ALLOWED;
  }

  private remember(holder: string, decision: LimitDecision): void {
    if (decision.allowed) return;
    // Only what every request is subject to: a refused `subscribe` does not stop `ping`.
    if (decision.rule !== BLOCKED_RULE && decision.rule !== 'requests' && decision.rule !== 'request-burst' && !decision.blockedNow) return;
    if (this.refusedUntil.size >= MAX_REFUSAL_MEMORY) this.forgetEnded();
    if (this.refusedUntil.size >= MAX_REFUSAL_MEMORY) return;
    const rule = decision.blockedNow ? BLOCKED_RULE : decision.rule === BLOCKED_RULE ? BLOCKED_RULE : 'requests';
    this.refusedUntil.set(holder, { until: this.now() + decision.retryAfterMs, rule });
  }

  private forgetEnded(): void {
    const now = this.now();
    for (const [holder, refusal] of this.refusedUntil) if (refusal.until <= now) this.refusedUntil.delete(holder);
  }

  /** The buckets an event takes from, built once per namespace and event name. */
  private checkFor(namespace: string, event: string): (holder: string) => LimitCheck {
    const id = `${namespace}#${event}`;
    let build = this.checksByEvent.get(id);
    if (build) return build;
    const { requests, requestBurst, events, blockAfter, blockMs, cancels } = this.current;
    if (CANCEL_EVENTS.has(event)) {
      // One bucket for every cancel of the user, whichever namespace it comes from; no offender policy, no block.
      build = (holder: string): LimitCheck => ({ buckets: cancels ? [{ key: `${KEY_PREFIX}:{u:${holder}}:cancels`, name: 'cancels', rule: cancels }] : [] });
      this.checksByEvent.set(id, build);
      return build;
    }
    const rules: [string, string, RateRule][] = [];
    if (requestBurst) rules.push(['request-burst', 'burst', requestBurst]);
    if (requests) rules.push(['requests', 'requests', requests]);
    const own = events.get(event);
    if (own) rules.push([event, `event:${namespace}:${event}`, own]);
    build = (holder: string): LimitCheck => {
      const base = `${KEY_PREFIX}:{u:${holder}}`;
      const buckets: BucketCheck[] = rules.map(([name, suffix, rule]) => ({ key: `${base}:${suffix}`, name, rule }));
      const offenders = blockAfter ? { blockKey: `${base}:blocked`, offenceKey: `${base}:offences`, refusals: blockAfter.refusals, windowMs: blockAfter.windowMs, blockMs } : undefined;
      return { buckets, offenders };
    };
    // Only events the gateways have handlers for get here, so this map is as small as that list.
    this.checksByEvent.set(id, build);
    return build;
  }
}

function userKey(user: RateLimitedUser): string {
  return `${user.tenant}/${user.userId}`;
}
