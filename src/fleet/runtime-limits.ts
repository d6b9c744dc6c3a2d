import { Inject, Injectable, Optional, type OnApplicationBootstrap, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { GatewayError, type RateLimitsPayload, type RateRulePayload } from '#libs/contracts';
import { errorSummary, PINO_LOGGER, type Logger } from '#libs/observability';
import { describeRule, parseEventRules, parseRateRule, parseRefusalThreshold, RateLimiter, type RateLimitSettings, type RateRule } from '#libs/rate-limit';
import { GATEWAY_RUNTIME_OPTIONS, type GatewayRuntimeOptions } from '#libs/realtime';
import { AppConfig } from '../config/index.js';
import { RUNTIME_LIMIT_FIELDS, type RuntimeLimitOverrides, type RuntimeLimitsPatchDto } from './dto/runtime-limits.dto.js';
import { FleetBus, type FleetAnswers } from './fleet-bus.js';
import { FLEET_KEYS, FLEET_REDIS, type FleetRedis } from './fleet-redis.js';

/** The overrides as kept in Redis (or in memory without it), versioned so that each replica applies a change once. */
export interface StoredLimits {
  version: number;
  updatedAt: string;
  updatedBy: string;
  overrides: RuntimeLimitOverrides;
}

/** Every runtime limit in its environment variable's syntax, as configured or as in force. */
export type LimitsView = Record<(typeof RUNTIME_LIMIT_FIELDS)[number], string | number>;

/** The limits in force, read from configuration and overrides together. */
interface EffectiveLimits {
  rateLimits: Omit<RateLimitSettings, 'trustedProxies'>;
  slowClientGraceMs: number;
}

const NO_OVERRIDES: StoredLimits = { version: 0, updatedAt: '', updatedBy: '', overrides: {} };

/**
 * A replica that missed a change (it was cut off from Redis when it was announced) reads the overrides again this
 * often, and whenever its Redis connection is back.
 */
const RELOAD_EVERY_MS = 5_000;

/** Replaces the stored overrides only if nobody changed them since they were read (a compare-and-set). */
const COMPARE_AND_SET = `
local current = redis.call('GET', KEYS[1]) or ''
if current ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
return 1
`;

const ruleText = (rule: RateRule | null) => (rule ? describeRule(rule) : 'off');
const rulePayload = (rule: RateRule | null): RateRulePayload | null => (rule ? { limit: rule.limit, windowMs: rule.windowMs, burst: rule.burst } : null);

/**
 * Limits operators change while the fleet runs: the rate-limit rules, the per-user stream cap and the slow-client
 * grace. The overrides live in Redis (one key, versioned); a change is announced on the fleet channel and every
 * replica reads and applies it within the fleet deadline (1 s). New connections are told the limits in force in
 * `welcome.limits`. Without Redis they live in this process's memory.
 */
@Injectable()
export class RuntimeLimits implements OnModuleInit, OnApplicationBootstrap, OnApplicationShutdown {
  private applied: StoredLimits = NO_OVERRIDES;
  private readonly configured: EffectiveLimits;
  private reloadTimer?: NodeJS.Timeout;

  constructor(
    private readonly config: AppConfig,
    private readonly limiter: RateLimiter,
    private readonly bus: FleetBus,
    @Inject(GATEWAY_RUNTIME_OPTIONS) private readonly runtimeOptions: GatewayRuntimeOptions,
    @Inject(PINO_LOGGER) private readonly logger: Logger,
    @Optional() @Inject(FLEET_REDIS) private readonly redis?: FleetRedis,
  ) {
    const { trustedProxies: _trusted, ...rateLimits } = config.rateLimits;
    this.configured = { rateLimits, slowClientGraceMs: config.slowClientGraceMs };
  }

  onModuleInit(): void {
    this.bus.handle('limits', () => this.reload().then(() => ({ version: this.applied.version })));
    this.apply(NO_OVERRIDES);
  }

  /** Before the port opens: the first connection's welcome already has the fleet's limits (Redis allowing). */
  async onApplicationBootstrap(): Promise<void> {
    if (!this.redis) return;
    await Promise.race([this.reload().catch((error: unknown) => this.logger.warn({ err: errorSummary(error) }, 'runtime limits: not readable yet; the configured ones apply until they are')), new Promise((resolve) => setTimeout(resolve, 2_000).unref())]);
    this.reloadTimer = setInterval(() => void this.reload().catch(() => undefined), RELOAD_EVERY_MS);
    this.reloadTimer.unref();
    this.redis.commands.on('ready', () => void this.reload().catch(() => undefined));
  }

  onApplicationShutdown(): void {
    clearInterval(this.reloadTimer);
  }

  /** As configured, as overridden and as in force. */
  view(): { version: number; updatedAt?: string; updatedBy?: string; configured: LimitsView; overrides: RuntimeLimitOverrides; effective: LimitsView } {
    const { version, updatedAt, updatedBy, overrides } = this.applied;
    return {
      version,
      ...(version > 0 ? { updatedAt, updatedBy } : {}),
      configured: viewOf(this.configured),
      overrides,
      effective: viewOf(effectiveLimits(this.configured, overrides)),
    };
  }

  /**
   * Applies a patch fleet-wide: checked here (a rule that cannot be read is INVALID_REQUEST naming its field, and
   * nothing changes), stored, announced, and answered with what each replica applied.
   */
  async change(patch: RuntimeLimitsPatchDto | 'reset', by: string): Promise<{ limits: ReturnType<RuntimeLimits['view']> } & FleetAnswers<{ version: number }>> {
    if (patch !== 'reset' && RUNTIME_LIMIT_FIELDS.every((field) => patch[field] === undefined)) {
      throw new GatewayError('INVALID_REQUEST', `name at least one limit: ${RUNTIME_LIMIT_FIELDS.join(', ')}`);
    }
    let stored: StoredLimits | undefined;
    for (let attempt = 0; attempt < 5 && !stored; attempt++) {
      const { text, limits } = await storeCall(() => this.read());
      // Overrides nobody can read are replaced by the ones given now.
      const current = limits ?? NO_OVERRIDES;
      const overrides: RuntimeLimitOverrides = patch === 'reset' ? {} : { ...current.overrides };
      if (patch !== 'reset') {
        for (const field of RUNTIME_LIMIT_FIELDS) {
          const value = patch[field];
          if (value === null) delete overrides[field];
          else if (value !== undefined) overrides[field] = value;
        }
      }
      effectiveLimits(this.configured, overrides); // throws INVALID_REQUEST naming the field
      const next: StoredLimits = { version: current.version + 1, updatedAt: new Date().toISOString(), updatedBy: by, overrides };
      if (await storeCall(() => this.write(text, next))) stored = next;
    }
    if (!stored) throw new GatewayError('INVALID_REQUEST', 'the limits were being changed by someone else at the same time: try again');
    const answers = await this.bus.request<{ version: number }>('limits', { version: stored.version });
    return { limits: this.view(), ...answers };
  }

  /** Reads the stored overrides and applies them if they are newer than those in force. */
  async reload(): Promise<void> {
    const { limits } = await this.read();
    if (!limits) {
      if (!this.unreadableLogged) this.logger.error({ key: FLEET_KEYS.limits }, 'runtime limits: the stored overrides cannot be read; the ones in force stay until they are replaced');
      this.unreadableLogged = true;
      return;
    }
    this.unreadableLogged = false;
    if (limits.version === this.applied.version) return;
    try {
      this.apply(limits);
      this.logger.info({ version: limits.version, updatedBy: limits.updatedBy, overrides: limits.overrides }, 'runtime limits applied');
    } catch (error) {
      // Stored by another version of the gateway, or by hand: keep what is in force.
      this.logger.error({ err: errorSummary(error), version: limits.version }, 'runtime limits: stored overrides cannot be read; the ones in force stay');
    }
  }

  private memory: StoredLimits = NO_OVERRIDES;
  private unreadableLogged = false;

  /** The stored overrides and their text (for the compare-and-set); `limits` is undefined when they cannot be read. */
  private async read(): Promise<{ text: string; limits?: StoredLimits }> {
    if (!this.redis) return { text: '', limits: this.memory };
    const text = (await this.redis.commands.get(FLEET_KEYS.limits)) ?? '';
    return { text, limits: parseStored(text) };
  }

  private async write(previous: string, next: StoredLimits): Promise<boolean> {
    if (!this.redis) {
      this.memory = next;
      return true;
    }
    const done = await this.redis.commands.eval(COMPARE_AND_SET, 1, FLEET_KEYS.limits, previous, JSON.stringify(next));
    return done === 1;
  }

  /** Puts limits in force on this replica: the limiter's rules, the stream cap, the slow-client grace, the welcome. */
  private apply(stored: StoredLimits): void {
    const limits = effectiveLimits(this.configured, stored.overrides);
    this.limiter.applySettings(limits.rateLimits);
    this.runtimeOptions.maxSubscriptionsPerUser = limits.rateLimits.maxSubscriptionsPerUser;
    // In place: the market-data fan-out holds this object and reads graceMs at each check.
    this.runtimeOptions.slowClients.graceMs = limits.slowClientGraceMs;
    this.runtimeOptions.advertisedLimits = { maxStreamsPerUser: limits.rateLimits.maxSubscriptionsPerUser, slowClientGraceMs: limits.slowClientGraceMs, rateLimits: payloadOf(limits.rateLimits) };
    this.applied = stored;
  }
}

/** The configured limits with the overrides read over them; throws INVALID_REQUEST naming each field that cannot be read. */
function effectiveLimits(configured: EffectiveLimits, overrides: RuntimeLimitOverrides): EffectiveLimits {
  const problems: string[] = [];
  const rule = <T>(field: string, value: string | number | undefined, parse: (text: string) => T, fallback: T): T => {
    if (value === undefined) return fallback;
    try {
      return parse(String(value));
    } catch (error) {
      problems.push(`${field}: ${error instanceof Error ? error.message : String(error)}`);
      return fallback;
    }
  };
  const base = configured.rateLimits;
  const number = (value: string | number | undefined, fallback: number) => (typeof value === 'number' ? value : fallback);
  const rateLimits: EffectiveLimits['rateLimits'] = {
    requests: rule('requests', overrides.requests, parseRateRule, base.requests),
    requestBurst: rule('requestBurst', overrides.requestBurst, parseRateRule, base.requestBurst),
    events: rule('events', overrides.events, parseEventRules, base.events),
    cancels: rule('cancels', overrides.cancels, parseRateRule, base.cancels),
    blockAfter: rule('blockAfter', overrides.blockAfter, parseRefusalThreshold, base.blockAfter),
    blockMs: number(overrides.blockMs, base.blockMs),
    handshakes: rule('handshakes', overrides.handshakes, parseRateRule, base.handshakes),
    maxSubscriptionsPerUser: number(overrides.maxSubscriptionsPerUser, base.maxSubscriptionsPerUser),
  };
  if (problems.length > 0) throw new GatewayError('INVALID_REQUEST', problems.join('; '));
  return { rateLimits, slowClientGraceMs: number(overrides.slowClientGraceMs, configured.slowClientGraceMs) };
}

function viewOf(limits: EffectiveLimits): LimitsView {
  const { rateLimits: r } = limits;
  return {
    requests: ruleText(r.requests),
    requestBurst: ruleText(r.requestBurst),
    events: [...r.events].map(([event, rule]) => `${event}=${describeRule(rule)}`).join(','),
    cancels: ruleText(r.cancels),
    blockAfter: r.blockAfter ? `${r.blockAfter.refusals}/${describeRule({ limit: 1, windowMs: r.blockAfter.windowMs, burst: 1 }).slice(2)}` : 'off',
    blockMs: r.blockMs,
    handshakes: ruleText(r.handshakes),
    maxSubscriptionsPerUser: r.maxSubscriptionsPerUser,
    slowClientGraceMs: limits.slowClientGraceMs,
  };
}

function payloadOf(limits: EffectiveLimits['rateLimits']): RateLimitsPayload {
  return {
    requests: rulePayload(limits.requests),
    requestBurst: rulePayload(limits.requestBurst),
    events: Object.fromEntries([...limits.events].map(([event, rule]) => [event, { limit: rule.limit, windowMs: rule.windowMs, burst: rule.burst }])),
    cancels: rulePayload(limits.cancels),
    blockAfter: limits.blockAfter ? { ...limits.blockAfter } : null,
    blockMs: limits.blockMs,
    handshakes: rulePayload(limits.handshakes),
  };
}

function parseStored(text: string): StoredLimits | undefined {
  if (!text) return NO_OVERRIDES;
  try {
    const value = JSON.parse(text) as Partial<StoredLimits>;
    if (typeof value.version !== 'number' || typeof value.overrides !== 'object' || value.overrides === null) return undefined;
    return { version: value.version, updatedAt: String(value.updatedAt ?? ''), updatedBy: String(value.updatedBy ?? ''), overrides: value.overrides };
  } catch {
    return undefined;
  }
}

/** A store call made for an operator: Redis being away is ENGINE_UNAVAILABLE (503), not an internal error. */
async function storeCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof GatewayError) throw error;
    throw new GatewayError('ENGINE_UNAVAILABLE', `the runtime limits cannot be stored: Redis ${error instanceof Error ? error.message : String(error)}`);
  }
}
