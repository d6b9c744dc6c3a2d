import { Transform } from 'class-transformer';
import { DEFAULT_AUDIT_DESTINATION } from '#libs/audit';
import { IsIn, IsInt, IsOptional, IsString, IsUrl, Matches, Max, Min, MinLength } from 'class-validator';

const ENGINE_TRANSPORT_VALUES = ['simulator', 'nats', 'redis', 'nats,redis', 'redis,nats'] as const;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const toInt = ({ value }: { value: unknown }): unknown => (typeof value === 'string' && value.trim() !== '' ? Number(value) : value);
const trimmed = ({ value }: { value: unknown }): unknown => (typeof value === 'string' ? value.trim() || undefined : value);

/**
 * The process environment as the gateway reads it. Every variable is validated at start so that a bad value stops the
 * process with a message naming it, instead of failing later on the first client that needs it.
 */
export class EnvironmentSchema {
  @IsIn(['development', 'production', 'test'])
  @Transform(trimmed)
  NODE_ENV: 'development' | 'production' | 'test' = 'development';

  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(65535)
  PORT = 3000;

  // Worker processes sharing PORT (src/cluster): a number, or `auto` for the machine's cores; 1 serves in this process.
  @Transform(trimmed)
  @Matches(/^(auto|\d{1,3})$/, { message: 'WORKERS must be auto or a number of worker processes (1 to 256)' })
  WORKERS = '1';

  // Workers (WORKERS > 1): a worker holding more connections than this above the least loaded one stops accepting on
  // PORT until the others caught up (src/cluster/accept-balance.ts); 0: the kernel's distribution as it comes.
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(1_000_000)
  WORKER_CONNECTION_SLACK = 64;

  @IsOptional()
  @Transform(trimmed)
  @IsString()
  @Matches(/^(nats|tls|wss?):\/\/[^\s]+(,(nats|tls|wss?):\/\/[^\s]+)*$/, { message: 'NATS_URL must be one or more nats:// URLs separated by commas' })
  NATS_URL?: string;

  @IsOptional()
  @Transform(trimmed)
  @IsUrl({ protocols: ['redis', 'rediss'], require_tld: false, require_protocol: true }, { message: 'REDIS_URL must be a redis:// or rediss:// URL' })
  REDIS_URL?: string;

  @IsOptional()
  @Transform(trimmed)
  @IsIn(ENGINE_TRANSPORT_VALUES)
  ENGINE_TRANSPORT?: (typeof ENGINE_TRANSPORT_VALUES)[number];

  @IsOptional()
  @Transform(trimmed)
  @IsString()
  @MinLength(32, { message: 'JWT_SECRET must be at least 32 characters (256 bits) for HS256' })
  JWT_SECRET?: string;

  @IsOptional()
  @Transform(trimmed)
  @IsString()
  @Matches(/-----BEGIN PUBLIC KEY-----/, { message: 'JWT_PUBLIC_KEY must be a PEM (SPKI) public key' })
  JWT_PUBLIC_KEY?: string;

  @IsOptional()
  @Transform(trimmed)
  @IsUrl({ protocols: ['http', 'https'], require_tld: false, require_protocol: true }, { message: 'JWT_JWKS_URL must be an http(s) URL' })
  JWT_JWKS_URL?: string;

  @IsOptional()
  @Transform(trimmed)
  @IsString()
  JWT_ISSUER?: string;

  @IsOptional()
  @Transform(trimmed)
  @IsString()
  JWT_AUDIENCE?: string;

  // A duration (`24h`, `90m`, `1d`, or milliseconds: `86400000`), read by parseDuration in app-config.ts.
  @Transform(trimmed)
  @IsString()
  JWT_MAX_LIFETIME = '24h';

  @IsOptional()
  @Transform(trimmed)
  @Matches(/^(file:.+|redis)$/, { message: 'LICENCE_REGISTRY must be file:<path> or redis' })
  LICENCE_REGISTRY?: string;

  @IsOptional()
  @Transform(trimmed)
  @IsString()
  INSTRUMENTS_FILE?: string;

  @IsOptional()
  @Transform(trimmed)
  @IsString()
  ACCOUNTS_FILE?: string;

  @IsOptional()
  @Transform(trimmed)
  @IsString()
  COMPLIANCE_FILE?: string;

  @IsOptional()
  @Transform(trimmed)
  @IsString()
  TRADING_CALENDARS_FILE?: string;

  @IsOptional()
  @Transform(trimmed)
  @IsString()
  CORS_ORIGINS?: string;

  @Transform(trimmed)
  @IsIn(LOG_LEVELS)
  LOG_LEVEL: (typeof LOG_LEVELS)[number] = 'info';

  // off, stdout, stderr or a file path (`file:<path>` too), read by parseAuditDestination in app-config.ts.
  @Transform(trimmed)
  @IsString()
  AUDIT_LOG = DEFAULT_AUDIT_DESTINATION;

  @IsOptional()
  @Transform(trimmed)
  @Matches(/^[A-Za-z0-9._-]{1,64}$/, { message: 'NODE_ID must be 1-64 characters of letters, digits, ".", "_" or "-"' })
  NODE_ID?: string;

  // fleet: the node registry. A replica that stops heartbeating (crashed, cut off) leaves the registry after this.
  @Transform(toInt)
  @IsInt()
  @Min(1_000)
  @Max(300_000)
  NODE_TTL_MS = 10_000;

  // fleet: how operators reach this replica (shown in GET /admin/nodes); default: its first IPv4 address and PORT.
  @IsOptional()
  @Transform(trimmed)
  @Matches(/^[A-Za-z0-9.:[\]_-]{1,255}$/, { message: 'NODE_ADDRESS must be host:port' })
  NODE_ADDRESS?: string;

  @Transform(toInt)
  @IsInt()
  @Min(1024)
  @Max(1_048_576)
  MAX_FRAME_BYTES = 65_536;

  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(120_000)
  SHUTDOWN_TIMEOUT_MS = 10_000;

  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(30_000)
  DRAIN_DELAY_MS = 1_000;

  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(60_000)
  SHUTDOWN_RECONNECT_WINDOW_MS = 2_000;

  @Transform(toInt)
  @IsInt()
  @Min(500)
  @Max(300_000)
  SLOW_CLIENT_GRACE_MS = 10_000;

  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(86_400_000)
  MD_DELAY_MS = 900_000;

  @Transform(toInt)
  @IsInt()
  @Min(1_000)
  @Max(50_000_000)
  MD_DELAY_MAX_ENTRIES = 200_000;

  // ---- feed health (the `status` channel): an open instrument with no engine event for this long is stale; the
  // per-exchange list (`EGX=60000,BINANCE=3000`, read by parseFeedCadence in app-config.ts) overrides it.
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(86_400_000)
  FEED_STALE_AFTER_MS = 15_000;

  @IsOptional()
  @Transform(trimmed)
  @IsString()
  FEED_STALE_AFTER_MS_BY_EXCHANGE?: string;

  /** How often feed states are worked out: a stale feed is reported at most this late. */
  @Transform(toInt)
  @IsInt()
  @Min(50)
  @Max(60_000)
  FEED_HEALTH_CHECK_MS = 1_000;
  // ---- end feed health

  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(1_000_000)
  SIMULATOR_RATE = 200;

  /** The embedded simulator's own order flow (new orders, fills, cancels) per second; 0: only what clients send. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(10_000)
  SIMULATOR_ORDER_RATE = 2;

  /** Live mark-to-market: how often, at most, the gateway revalues a watched account from its quotes; 0: never. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(3_600_000)
  VALUATION_INTERVAL_MS = 1_000;

  @IsOptional()
  @Transform(trimmed)
  @IsIn(['on', 'off'])
  SIMULATOR?: 'on' | 'off';

  @Transform(trimmed)
  @IsIn(['bulk', 'all', 'off'])
  WS_COMPRESSION: 'bulk' | 'all' | 'off' = 'bulk';

  // The transport heartbeat (engine.io's ping / pong), announced to every client in the engine.io handshake.
  @Transform(toInt)
  @IsInt()
  @Min(1_000)
  @Max(600_000)
  WS_PING_INTERVAL_MS = 25_000;

  @Transform(toInt)
  @IsInt()
  @Min(1_000)
  @Max(600_000)
  WS_PING_TIMEOUT_MS = 20_000;

  @Transform(toInt)
  @IsInt()
  @Min(1_000)
  @Max(600_000)
  TOKEN_EXPIRY_WARNING_MS = 60_000;

  // Rate limits: each rule is limit/window[:burst] (e.g. 100/1m, 10/1s:20) or off; read by parseRateRule.
  @Transform(trimmed)
  @IsString()
  RATE_LIMIT_REQUESTS = '100/1m';

  @Transform(trimmed)
  @IsString()
  RATE_LIMIT_REQUEST_BURST = '10/1s';

  @Transform(trimmed)
  @IsString()
  RATE_LIMIT_EVENTS = 'subscribe=10/1m,order:submit=60/1m:10';

  @Transform(trimmed)
  @IsString()
  RATE_LIMIT_CANCELS = '300/1m:50';

  @Transform(trimmed)
  @IsString()
  RATE_LIMIT_BLOCK_AFTER = '20/1m';

  @Transform(toInt)
  @IsInt()
  @Min(1_000)
  @Max(86_400_000)
  RATE_LIMIT_BLOCK_MS = 300_000;

  @Transform(trimmed)
  @IsString()
  RATE_LIMIT_HANDSHAKES = '600/1m';

  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(1_000_000)
  RATE_LIMIT_MAX_SUBSCRIPTIONS = 50;

  @IsOptional()
  @Transform(trimmed)
  @IsString()
  TRUSTED_PROXIES?: string;

  // /metrics names tenants: serve it on a port of its own (kept off the clients' network) and/or behind a bearer token.
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(65535)
  METRICS_PORT?: number;

  @IsOptional()
  @Transform(trimmed)
  @IsString()
  @MinLength(32, { message: 'METRICS_TOKEN must be at least 32 characters' })
  METRICS_TOKEN?: string;

  @Transform(toInt)
  @IsInt()
  @Min(1_000)
  @Max(300_000)
  SEAT_LEASE_MS = 15_000;

  // While Redis cannot be reached: count seats and stream caps per replica (open) or refuse handshakes (closed).
  @Transform(trimmed)
  @IsIn(['open', 'closed'])
  SEATS_ON_STORE_FAILURE: 'open' | 'closed' = 'open';

  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(3_600_000)
  COMPLIANCE_POLL_MS = 5_000;

  // Order commands: how long the engine has to answer, and how long a clientOrderId is remembered (and how many, in memory).
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(60_000)
  ORDER_TIMEOUT_MS = 5_000;

  @Transform(toInt)
  @IsInt()
  @Min(1_000)
  @Max(604_800_000)
  ORDER_IDEMPOTENCY_TTL_MS = 86_400_000;

  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(10_000_000)
  ORDER_IDEMPOTENCY_MAX_KEYS = 100_000;

  // The dead-man's switch (order:deadman): how long a replica's lease on Redis lasts; past it, another replica fires
  // the dead replica's switches that are due (docs/operations.md, "Dead-man's switch").
  @Transform(toInt)
  @IsInt()
  @Min(1_000)
  @Max(60_000)
  DEADMAN_LEASE_MS = 5_000;

  // The durable account log (NATS JetStream with the NATS engine transport, else Redis Streams with the Redis one):
  // the stream's name (the Redis keys' prefix) and retention, and how long rebuilding one account's state from it may
  // take before the replica serves its own state instead.
  @Transform(trimmed)
  @IsString()
  @Matches(/^[A-Za-z0-9_-]{1,64}$/, { message: 'ACCOUNT_LOG_STREAM must be 1-64 letters, digits, _ or -' })
  ACCOUNT_LOG_STREAM = 'TRADEWIRE_ACCOUNTS';

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(10_000_000)
  ACCOUNT_LOG_MAX_PER_SUBJECT = 10_000;

  @Transform(toInt)
  @IsInt()
  @Min(1_000)
  @Max(31_536_000_000)
  ACCOUNT_LOG_MAX_AGE_MS = 604_800_000;

  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(60_000)
  ACCOUNT_LOG_HYDRATE_TIMEOUT_MS = 5_000;

  // --- Publisher feedback and the durable control log (docs/publishing.md) ---
  // Reports of dropped engine events on `gateway.rejected.<kind>`, per kind and second per replica (0: none).
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(10_000)
  ENGINE_FEEDBACK_PER_SECOND = 10;

  // The durable log of `licence.changed` and `compliance.screen` (a JetStream stream with NATS, Redis streams
  // `<name>:<subject>` with Redis alone), applied in full before a replica takes clients.
  @Transform(trimmed)
  @IsString()
  @Matches(/^[A-Za-z0-9_-]{1,64}$/, { message: 'CONTROL_LOG_STREAM must be 1-64 letters, digits, _ or -' })
  CONTROL_LOG_STREAM = 'TRADEWIRE_CONTROL';

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(10_000_000)
  CONTROL_LOG_MAX_EVENTS = 100_000;

  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(600_000)
  CONTROL_LOG_START_TIMEOUT_MS = 10_000;
  // --- end publisher feedback and control log ---
}
