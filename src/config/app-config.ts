import { randomBytes } from 'node:crypto';
import { availableParallelism, hostname, networkInterfaces } from 'node:os';
import { resolve } from 'node:path';
import { plainToInstance } from 'class-transformer';
import ms from 'ms';
import { validateSync, type ValidationError } from 'class-validator';
import { checkAuditFileWritable, parseAuditDestination, type AuditDestination } from '#libs/audit';
import { DEFAULT_MAX_TOKEN_LIFETIME_MS, type JwtVerificationSettings } from '#libs/auth';
import { parseEventRules, parseRateRule, parseRefusalThreshold, TrustedProxies, type RateLimitSettings } from '#libs/rate-limit';
import { EnvironmentSchema } from './environment.schema.js';

export type EngineTransportName = 'simulator' | 'nats' | 'redis';

/** Thrown when the environment is invalid: the message names every bad variable. */
export class ConfigurationError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigurationError';
  }
}

/** The most worker processes `WORKERS` may ask for. */
const MAX_WORKERS = 256;

/**
 * A worker process of the gateway's own cluster (src/cluster): the slot it fills (1..WORKERS, its `worker` metric
 * label) and how many workers filled that slot before it (a worker that died is replaced in its slot).
 */
export interface WorkerIdentity {
  slot: number;
  generation: number;
}

/** The gateway's typed, validated configuration: built once at start, injected everywhere as `AppConfig`. */
export class AppConfig {
  readonly env: 'development' | 'production' | 'test';
  readonly port: number;
  /** Worker processes sharing `port` (`WORKERS`; `auto`: the machine's cores); 1: this process serves alone. */
  readonly workers: number;
  /** How many connections above the least loaded worker's a worker may hold and still accept (`WORKER_CONNECTION_SLACK`). */
  readonly workerConnectionSlack: number;
  /** Set in a worker process of the cluster: which one it is. Its node id is the machine's with the slot appended. */
  readonly worker?: WorkerIdentity;
  readonly nodeId: string;
  /** The node registry: how long a silent replica stays listed, and the address it is listed with. */
  readonly fleet: { nodeTtlMs: number; address: string };
  readonly logLevel: EnvironmentSchema['LOG_LEVEL'];
  /** Where the audit trail is written (`AUDIT_LOG`): off, stdout, stderr or a file of its own. */
  readonly audit: AuditDestination;
  readonly natsUrl?: string;
  readonly redisUrl?: string;
  readonly engineTransports: EngineTransportName[];
  readonly jwt: JwtVerificationSettings;
  /** True when no JWT setting was given and a throwaway development secret was made (embedded demo only). */
  readonly jwtIsDevelopmentSecret: boolean;
  /** Where licences are kept apart from tokens: a JSON file (re-read on change) or Redis; none: the token's `lic`. */
  readonly licenceRegistry?: { kind: 'file'; path: string } | { kind: 'redis' };
  /** How long a seat outlives its replica's last renewal in Redis (a crashed replica's seats free after this). */
  readonly seatLeaseMs: number;
  /** While the shared seat store (Redis) cannot be reached: count seats on this replica alone (open) or refuse (closed). */
  readonly seatsOnStoreFailure: 'open' | 'closed';
  readonly instrumentsFile: string;
  readonly accountsFile: string;
  readonly tradingCalendarsFile: string;
  /** The Sharia screen (data/compliance.json by default), followed for changes while running. */
  readonly complianceFile: string;
  /** The compliance file's stat fallback interval, for file systems where fs.watch misses changes. */
  readonly compliancePollMs: number;
  readonly corsOrigins: string[] | true;
  readonly maxFrameBytes: number;
  /** Hard transport cap: a frame above it closes that connection (Socket.IO's maxHttpBufferSize). */
  readonly transportMaxBytes: number;
  readonly shutdownTimeoutMs: number;
  /**
   * permessage-deflate: `bulk` compresses frames of 1 KB and more except market-data `md` frames (account snapshots,
   * replays, acks); `all` compresses those too; `off` does not negotiate it.
   */
  readonly wsCompression: 'bulk' | 'all' | 'off';
  /**
   * The transport heartbeat: every `pingIntervalMs` the server pings each connection and closes it ("ping timeout")
   * when no pong arrives within `pingTimeoutMs`; clients take both from the handshake.
   */
  readonly heartbeat: { pingIntervalMs: number; pingTimeoutMs: number };
  /** How long a client may stay behind the market-data stream before it is disconnected with SLOW_CLIENT. */
  readonly slowClientGraceMs: number;
  /** How long delayed-only entitlements wait for market data, and the entry budget that bounds what is held meanwhile. */
  readonly mdDelayMs: number;
  readonly mdDelayMaxEntries: number;
  /** Feed health (the `status` channel): the cadence per exchange (with a default) and how often states are checked. */
  readonly feedHealth: { staleAfterMs: number; staleAfterMsByExchange: ReadonlyMap<string, number>; checkIntervalMs: number };
  /** How long readiness reports 503 before clients are told to leave: time for the load balancer to notice. */
  readonly drainDelayMs: number;
  /** The shutdown notice's `reconnectInMs`: the window in which a draining replica's clients come back, at random. */
  readonly shutdownReconnectWindowMs: number;
  readonly simulatorEnabled: boolean;
  readonly simulatorRate: number;
  readonly simulatorOrderRate: number;
  /** Live mark-to-market (src/valuation): the most often a watched account is revalued from quotes; 0: off. */
  readonly valuationIntervalMs: number;
  readonly tokenExpiryWarningMs: number;
  /** Where `/metrics` is served (the main port unless `METRICS_PORT`) and the bearer token it asks for, if any. */
  readonly metrics: { port?: number; token?: string };
  /** Request, subscription and handshake limits (in Redis across replicas when `REDIS_URL` is set). */
  readonly rateLimits: RateLimitSettings;
  /** Order commands: the engine's time to answer, and how long and how many `clientOrderId`s are remembered. */
  readonly orders: { timeoutMs: number; idempotencyTtlMs: number; idempotencyMaxKeys: number };
  /** The dead-man's switch: a replica's lease in Redis, past which another replica fires its due switches. */
  readonly deadman: { leaseMs: number };
  /** The durable account log in NATS JetStream (used with the NATS engine transport only). */
  readonly accountLog: { stream: string; maxPerSubject: number; maxAgeMs: number; hydrateTimeoutMs: number };
  /** Publisher feedback (`gateway.rejected.<kind>`) and the durable control log (docs/publishing.md). */
  readonly engineFeedbackPerSecond: number;
  readonly controlLog: { stream: string; maxEvents: number; startTimeoutMs: number };

  constructor(env: EnvironmentSchema, worker?: WorkerIdentity) {
    this.env = env.NODE_ENV;
    this.port = env.PORT;
    this.workers = resolveWorkers(env.WORKERS) ?? 1;
    this.workerConnectionSlack = env.WORKER_CONNECTION_SLACK;
    this.worker = worker;
    // Every worker is a replica of its own (seats, engine order replies, the dead-man's switch lease and the node
    // registry are keyed by node id), and so is each worker that replaces one that died: `<machine>-w2`, `-w2-r1` …
    // The machine's id is NODE_ID, or the host and the primary's pid (a worker's parent), as one process's would be.
    this.nodeId = worker
      ? `${env.NODE_ID ?? `${hostname()}-${process.ppid}`}-w${worker.slot}${worker.generation > 0 ? `-r${worker.generation}` : ''}`
      : (env.NODE_ID ?? `${hostname()}-${process.pid}`);
    this.fleet = { nodeTtlMs: env.NODE_TTL_MS, address: env.NODE_ADDRESS ?? `${firstIpv4Address() ?? hostname()}:${env.PORT}` };
    this.logLevel = env.LOG_LEVEL;
    this.audit = parseAuditDestination(env.AUDIT_LOG);
    this.natsUrl = env.NATS_URL;
    this.redisUrl = env.REDIS_URL;
    this.engineTransports = resolveEngineTransports(env);
    const fromEnv = jwtSettings(env);
    this.jwtIsDevelopmentSecret = !fromEnv;
    this.jwt = fromEnv ?? {
      kind: 'secret',
      secret: randomBytes(32).toString('hex'),
      ...jwtPolicy(env),
    };
    this.licenceRegistry = parseLicenceRegistry(env.LICENCE_REGISTRY);
    this.seatLeaseMs = env.SEAT_LEASE_MS;
    this.seatsOnStoreFailure = env.SEATS_ON_STORE_FAILURE;
    this.instrumentsFile = resolve(env.INSTRUMENTS_FILE ?? 'data/instruments.json');
    this.accountsFile = resolve(env.ACCOUNTS_FILE ?? 'data/accounts.json');
    this.tradingCalendarsFile = resolve(env.TRADING_CALENDARS_FILE ?? 'data/trading-calendars.json');
    this.complianceFile = resolve(env.COMPLIANCE_FILE ?? 'data/compliance.json');
    this.compliancePollMs = env.COMPLIANCE_POLL_MS;
    this.corsOrigins = parseCorsOrigins(env.CORS_ORIGINS, env.NODE_ENV);
    this.maxFrameBytes = env.MAX_FRAME_BYTES;
    this.transportMaxBytes = Math.max(1_048_576, env.MAX_FRAME_BYTES * 2);
    this.shutdownTimeoutMs = env.SHUTDOWN_TIMEOUT_MS;
    this.wsCompression = env.WS_COMPRESSION;
    this.heartbeat = { pingIntervalMs: env.WS_PING_INTERVAL_MS, pingTimeoutMs: env.WS_PING_TIMEOUT_MS };
    this.slowClientGraceMs = env.SLOW_CLIENT_GRACE_MS;
    this.mdDelayMs = env.MD_DELAY_MS;
    this.mdDelayMaxEntries = env.MD_DELAY_MAX_ENTRIES;
    this.feedHealth = { staleAfterMs: env.FEED_STALE_AFTER_MS, staleAfterMsByExchange: parseFeedCadence(env.FEED_STALE_AFTER_MS_BY_EXCHANGE).cadence, checkIntervalMs: env.FEED_HEALTH_CHECK_MS };
    this.drainDelayMs = Math.min(env.DRAIN_DELAY_MS, Math.floor(env.SHUTDOWN_TIMEOUT_MS / 2));
    this.shutdownReconnectWindowMs = env.SHUTDOWN_RECONNECT_WINDOW_MS;
    this.simulatorEnabled = env.SIMULATOR ? env.SIMULATOR === 'on' : this.engineTransports.includes('simulator');
    this.simulatorRate = env.SIMULATOR_RATE;
    this.simulatorOrderRate = env.SIMULATOR_ORDER_RATE;
    this.valuationIntervalMs = env.VALUATION_INTERVAL_MS;
    this.tokenExpiryWarningMs = env.TOKEN_EXPIRY_WARNING_MS;
    this.metrics = { port: env.METRICS_PORT, token: env.METRICS_TOKEN };
    const rateLimits = readRateLimits(env);
    if (!rateLimits.settings) throw new ConfigurationError(rateLimits.problems);
    this.rateLimits = rateLimits.settings;
    this.orders = { timeoutMs: env.ORDER_TIMEOUT_MS, idempotencyTtlMs: env.ORDER_IDEMPOTENCY_TTL_MS, idempotencyMaxKeys: env.ORDER_IDEMPOTENCY_MAX_KEYS };
    this.deadman = { leaseMs: env.DEADMAN_LEASE_MS };
    this.accountLog = { stream: env.ACCOUNT_LOG_STREAM, maxPerSubject: env.ACCOUNT_LOG_MAX_PER_SUBJECT, maxAgeMs: env.ACCOUNT_LOG_MAX_AGE_MS, hydrateTimeoutMs: env.ACCOUNT_LOG_HYDRATE_TIMEOUT_MS };
    this.engineFeedbackPerSecond = env.ENGINE_FEEDBACK_PER_SECOND;
    this.controlLog = { stream: env.CONTROL_LOG_STREAM, maxEvents: env.CONTROL_LOG_MAX_EVENTS, startTimeoutMs: env.CONTROL_LOG_START_TIMEOUT_MS };
  }

  get isProduction(): boolean {
    return this.env === 'production';
  }

  /** The embedded demo: no engine configured, so the built-in simulator is the engine and the demo licence applies. */
  get isEmbeddedDemo(): boolean {
    return !this.isProduction && this.engineTransports.includes('simulator');
  }

  /** Reads and validates `process.env` (or the given record); throws ConfigurationError naming each bad variable. */
  static fromEnvironment(source: NodeJS.ProcessEnv = process.env, worker?: WorkerIdentity): AppConfig {
    const relevant: Record<string, string> = {};
    for (const key of Object.keys(new EnvironmentSchema())) {
      const value = source[key];
      if (value !== undefined && value !== '') relevant[key] = value;
    }
    for (const key of OPTIONAL_KEYS) {
      const value = source[key];
      if (value !== undefined && value !== '') relevant[key] = value;
    }
    const env = plainToInstance(EnvironmentSchema, relevant);
    const problems = flattenErrors(validateSync(env, { whitelist: true, forbidUnknownValues: true }));
    problems.push(...crossFieldProblems(env));
    if (problems.length > 0) throw new ConfigurationError(problems);
    return new AppConfig(env, worker);
  }
}

/** Optional variables have no default, so they are not own keys of a fresh schema instance. */
const OPTIONAL_KEYS = [
  'NATS_URL',
  'REDIS_URL',
  'ENGINE_TRANSPORT',
  'JWT_SECRET',
  'JWT_PUBLIC_KEY',
  'JWT_JWKS_URL',
  'JWT_ISSUER',
  'JWT_AUDIENCE',
  'LICENCE_REGISTRY',
  'INSTRUMENTS_FILE',
  'ACCOUNTS_FILE',
  'COMPLIANCE_FILE',
  'TRADING_CALENDARS_FILE',
  'CORS_ORIGINS',
  'NODE_ID',
  'NODE_ADDRESS',
  'SIMULATOR',
  'TRUSTED_PROXIES',
  'METRICS_PORT',
  'METRICS_TOKEN',
  'FEED_STALE_AFTER_MS_BY_EXCHANGE',
] as const;

function flattenErrors(errors: ValidationError[]): string[] {
  return errors.flatMap((error) =>
    Object.values(error.constraints ?? {}).map((message) => (message.startsWith(error.property) ? message : `${error.property}: ${message}`)),
  );
}

function crossFieldProblems(env: EnvironmentSchema): string[] {
  const problems: string[] = [];
  const jwtSources = [env.JWT_SECRET, env.JWT_PUBLIC_KEY, env.JWT_JWKS_URL].filter(Boolean).length;
  if (jwtSources > 1) problems.push('JWT_SECRET, JWT_PUBLIC_KEY and JWT_JWKS_URL are exclusive: set exactly one');
  if (env.VALUATION_INTERVAL_MS > 0 && env.VALUATION_INTERVAL_MS < 100) problems.push('VALUATION_INTERVAL_MS must be 0 (off) or at least 100');
  if (env.NODE_ENV === 'production' && jwtSources === 0) {
    problems.push('JWT_SECRET, JWT_PUBLIC_KEY or JWT_JWKS_URL is required when NODE_ENV=production');
  }
  const transports = resolveEngineTransports(env);
  if (transports.includes('nats') && !env.NATS_URL) problems.push('NATS_URL is required when ENGINE_TRANSPORT includes nats');
  if (transports.includes('redis') && !env.REDIS_URL) problems.push('REDIS_URL is required when ENGINE_TRANSPORT includes redis');
  if (env.LICENCE_REGISTRY === 'redis' && !env.REDIS_URL) problems.push('REDIS_URL is required when LICENCE_REGISTRY=redis');
  if (env.NODE_ENV === 'production' && transports.includes('simulator') && env.ENGINE_TRANSPORT !== 'simulator') {
    problems.push('NODE_ENV=production needs an engine: set NATS_URL or REDIS_URL (or ENGINE_TRANSPORT=simulator explicitly)');
  }
  problems.push(...workerProblems(env, jwtSources, transports));
  if (env.METRICS_PORT !== undefined && env.METRICS_PORT === env.PORT) problems.push('METRICS_PORT must differ from PORT (leave it unset to serve /metrics on PORT)');
  const maxLifetime = readMaxTokenLifetime(env.JWT_MAX_LIFETIME);
  if (typeof maxLifetime === 'string') problems.push(`JWT_MAX_LIFETIME: ${maxLifetime}`);
  problems.push(...readRateLimits(env).problems);
  const audit = readAuditDestination(env.AUDIT_LOG);
  if (typeof audit === 'string') problems.push(`AUDIT_LOG: ${audit}`);
  problems.push(...parseFeedCadence(env.FEED_STALE_AFTER_MS_BY_EXCHANGE).problems);
  return problems;
}

/** `WORKERS`: `auto` is the cores this process may run on; undefined when out of range. */
function resolveWorkers(value: string): number | undefined {
  const workers = value === 'auto' ? availableParallelism() : Number(value);
  return Number.isInteger(workers) && workers >= 1 && workers <= MAX_WORKERS ? workers : undefined;
}

/**
 * Workers are replicas of one fleet on one machine, so they need what a fleet needs: Redis, for seats, limits, order
 * idempotency, the node registry and operator actions across them; one engine they all follow (each built-in
 * simulator would make up a market of its own); one token secret (the development one is made per process).
 */
function workerProblems(env: EnvironmentSchema, jwtSources: number, transports: string[]): string[] {
  const workers = resolveWorkers(env.WORKERS);
  if (workers === undefined) return [`WORKERS must be auto or a number of worker processes from 1 to ${MAX_WORKERS}`];
  if (workers === 1) return [];
  const problems: string[] = [];
  const simulated = transports.includes('simulator') || env.SIMULATOR === 'on';
  if (!env.REDIS_URL) problems.push(`WORKERS=${env.WORKERS} (${workers} workers) needs REDIS_URL: the workers share seats, limits and operator actions through it`);
  if (simulated) problems.push(`WORKERS=${env.WORKERS} (${workers} workers) needs a real engine (NATS_URL or REDIS_URL, SIMULATOR not on): each worker's built-in simulator would be a market of its own`);
  if (jwtSources === 0) problems.push(`WORKERS=${env.WORKERS} (${workers} workers) needs JWT_SECRET, JWT_PUBLIC_KEY or JWT_JWKS_URL: the development secret is made per process`);
  return problems;
}

/** `FEED_STALE_AFTER_MS_BY_EXCHANGE`: `EXCHANGE=ms` pairs separated by commas, each from 100 ms to 24 h. */
function parseFeedCadence(value: string | undefined): { cadence: Map<string, number>; problems: string[] } {
  const cadence = new Map<string, number>();
  const problems: string[] = [];
  for (const entry of (value ?? '').split(',').map((part) => part.trim()).filter(Boolean)) {
    const match = /^([A-Z0-9_]{1,16})=(\d+)$/.exec(entry);
    const staleAfterMs = match ? Number(match[2]) : NaN;
    if (!match || staleAfterMs < 100 || staleAfterMs > 86_400_000) {
      problems.push(`FEED_STALE_AFTER_MS_BY_EXCHANGE: "${entry}" is not EXCHANGE=milliseconds (100 to 86400000)`);
      continue;
    }
    cadence.set(match[1], staleAfterMs);
  }
  return { cadence, problems };
}

/** The `RATE_LIMIT_*` rules and `TRUSTED_PROXIES`, read once; each unreadable variable is a problem naming it. */
function readRateLimits(env: EnvironmentSchema): { settings?: RateLimitSettings; problems: string[] } {
  const problems: string[] = [];
  const read = <T>(name: string, parse: () => T): T | undefined => {
    try {
      return parse();
    } catch (error) {
      problems.push(`${name}: ${error instanceof Error ? error.message : String(error)}`);
      return undefined;
    }
  };
  const requests = read('RATE_LIMIT_REQUESTS', () => parseRateRule(env.RATE_LIMIT_REQUESTS));
  const requestBurst = read('RATE_LIMIT_REQUEST_BURST', () => parseRateRule(env.RATE_LIMIT_REQUEST_BURST));
  const events = read('RATE_LIMIT_EVENTS', () => parseEventRules(env.RATE_LIMIT_EVENTS));
  const cancels = read('RATE_LIMIT_CANCELS', () => parseRateRule(env.RATE_LIMIT_CANCELS));
  const blockAfter = read('RATE_LIMIT_BLOCK_AFTER', () => parseRefusalThreshold(env.RATE_LIMIT_BLOCK_AFTER));
  const handshakes = read('RATE_LIMIT_HANDSHAKES', () => parseRateRule(env.RATE_LIMIT_HANDSHAKES));
  const trustedProxies = (env.TRUSTED_PROXIES ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  read('TRUSTED_PROXIES', () => new TrustedProxies(trustedProxies));
  if (requests === undefined || requestBurst === undefined || events === undefined || cancels === undefined || blockAfter === undefined || handshakes === undefined || problems.length > 0) {
    return { problems };
  }
  const settings: RateLimitSettings = {
    requests,
    requestBurst,
    events,
    cancels,
    blockAfter,
    blockMs: env.RATE_LIMIT_BLOCK_MS,
    handshakes,
    maxSubscriptionsPerUser: env.RATE_LIMIT_MAX_SUBSCRIPTIONS,
    trustedProxies,
  };
  return { settings, problems };
}

function resolveEngineTransports(env: EnvironmentSchema): EngineTransportName[] {
  if (env.ENGINE_TRANSPORT) return env.ENGINE_TRANSPORT.split(',') as EngineTransportName[];
  if (env.NATS_URL) return ['nats'];
  if (env.REDIS_URL) return ['redis'];
  return ['simulator'];
}

/** `AUDIT_LOG`, a file one checked to be writable (created if missing), or what is wrong with it. */
function readAuditDestination(text: string): AuditDestination | string {
  try {
    const destination = parseAuditDestination(text);
    if (destination.kind === 'file') checkAuditFileWritable(destination.path);
    return destination;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** The longest token lifetime accepted: 1 s to 30 days. */
const MAX_TOKEN_LIFETIME_RANGE_MS = [1_000, 30 * 86_400_000] as const;

/** `JWT_MAX_LIFETIME` in milliseconds, or what is wrong with it. */
function readMaxTokenLifetime(text: string): number | string {
  // ms reads `24h`, `90m`, `1d`, `30s`; a bare number is milliseconds.
  const value: unknown = ms(text as ms.StringValue);
  if (typeof value !== 'number' || !Number.isFinite(value)) return `"${text}" is not a duration: write e.g. 24h, 90m or 86400000 (milliseconds)`;
  const [min, max] = MAX_TOKEN_LIFETIME_RANGE_MS;
  if (value < min || value > max) return `"${text}" must be between 1s and 30d`;
  return value;
}

/** What every token must satisfy whatever signs it: issuer, audience, and the lifetime policy. */
function jwtPolicy(env: EnvironmentSchema): Pick<JwtVerificationSettings, 'issuer' | 'audience' | 'requireExpiry' | 'maxLifetimeMs'> {
  const maxLifetime = readMaxTokenLifetime(env.JWT_MAX_LIFETIME);
  return {
    issuer: env.JWT_ISSUER,
    audience: env.JWT_AUDIENCE,
    // Outside production a token without `exp` is accepted (for tests and tools); its session still ends.
    requireExpiry: env.NODE_ENV === 'production',
    maxLifetimeMs: typeof maxLifetime === 'number' ? maxLifetime : DEFAULT_MAX_TOKEN_LIFETIME_MS,
  };
}

function jwtSettings(env: EnvironmentSchema): JwtVerificationSettings | null {
  const common = jwtPolicy(env);
  if (env.JWT_SECRET) return { kind: 'secret', secret: env.JWT_SECRET, ...common };
  if (env.JWT_PUBLIC_KEY) return { kind: 'publicKey', publicKeyPem: env.JWT_PUBLIC_KEY.replace(/\\n/g, '\n'), ...common };
  if (env.JWT_JWKS_URL) return { kind: 'jwks', jwksUrl: env.JWT_JWKS_URL, ...common };
  return null;
}

function parseLicenceRegistry(value: string | undefined): AppConfig['licenceRegistry'] {
  if (!value) return undefined;
  if (value === 'redis') return { kind: 'redis' };
  return { kind: 'file', path: resolve(value.slice('file:'.length)) };
}

function parseCorsOrigins(value: string | undefined, nodeEnv: string): string[] | true {
  if (!value) return nodeEnv === 'production' ? [] : true;
  if (value.trim() === '*') return true;
  return value
    .split(',')
    .map((origin) => origin.trim())
    .filter(Boolean);
}

/** This machine's first external IPv4 address, if it has one: where other hosts reach this replica. */
function firstIpv4Address(): string | undefined {
  for (const addresses of Object.values(networkInterfaces())) {
    const external = addresses?.find((address) => address.family === 'IPv4' && !address.internal);
    if (external) return external.address;
  }
  return undefined;
}
