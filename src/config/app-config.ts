import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { plainToInstance } from 'class-transformer';
import { validateSync, type ValidationError } from 'class-validator';
import type { JwtVerificationSettings } from '#libs/auth';
import { EnvironmentSchema } from './environment.schema.js';

export type EngineTransportName = 'simulator' | 'nats' | 'redis';

/** Thrown when the environment is invalid: the message names every bad variable. */
export class ConfigurationError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigurationError';
  }
}

/** The gateway's typed, validated configuration: built once at start, injected everywhere as `AppConfig`. */
export class AppConfig {
  readonly env: 'development' | 'production' | 'test';
  readonly port: number;
  readonly nodeId: string;
  readonly logLevel: EnvironmentSchema['LOG_LEVEL'];
  readonly natsUrl?: string;
  readonly redisUrl?: string;
  readonly engineTransports: EngineTransportName[];
  readonly jwt: JwtVerificationSettings;
  /** True when no JWT setting was given and a throwaway development secret was made (embedded demo only). */
  readonly jwtIsDevelopmentSecret: boolean;
  readonly licenceRegistry?: string;
  readonly instrumentsFile: string;
  readonly accountsFile: string;
  readonly tradingCalendarsFile: string;
  readonly complianceFile?: string;
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
  /** How long a client may stay behind the market-data stream before it is disconnected with SLOW_CLIENT. */
  readonly slowClientGraceMs: number;
  /** How long readiness reports 503 before clients are told to leave: time for the load balancer to notice. */
  readonly drainDelayMs: number;
  readonly simulatorEnabled: boolean;
  readonly simulatorRate: number;
  readonly tokenExpiryWarningMs: number;

  constructor(env: EnvironmentSchema) {
    this.env = env.NODE_ENV;
    this.port = env.PORT;
    this.nodeId = env.NODE_ID ?? `${hostname()}-${process.pid}`;
    this.logLevel = env.LOG_LEVEL;
    this.natsUrl = env.NATS_URL;
    this.redisUrl = env.REDIS_URL;
    this.engineTransports = resolveEngineTransports(env);
    const fromEnv = jwtSettings(env);
    this.jwtIsDevelopmentSecret = !fromEnv;
    this.jwt = fromEnv ?? {
      kind: 'secret',
      secret: randomBytes(32).toString('hex'),
      issuer: env.JWT_ISSUER,
      audience: env.JWT_AUDIENCE,
    };
    this.licenceRegistry = env.LICENCE_REGISTRY;
    this.instrumentsFile = resolve(env.INSTRUMENTS_FILE ?? 'data/instruments.json');
    this.accountsFile = resolve(env.ACCOUNTS_FILE ?? 'data/accounts.json');
    this.tradingCalendarsFile = resolve(env.TRADING_CALENDARS_FILE ?? 'data/trading-calendars.json');
    this.complianceFile = env.COMPLIANCE_FILE ? resolve(env.COMPLIANCE_FILE) : undefined;
    this.corsOrigins = parseCorsOrigins(env.CORS_ORIGINS, env.NODE_ENV);
    this.maxFrameBytes = env.MAX_FRAME_BYTES;
    this.transportMaxBytes = Math.max(1_048_576, env.MAX_FRAME_BYTES * 2);
    this.shutdownTimeoutMs = env.SHUTDOWN_TIMEOUT_MS;
    this.wsCompression = env.WS_COMPRESSION;
    this.slowClientGraceMs = env.SLOW_CLIENT_GRACE_MS;
    this.drainDelayMs = Math.min(env.DRAIN_DELAY_MS, Math.floor(env.SHUTDOWN_TIMEOUT_MS / 2));
    this.simulatorEnabled = env.SIMULATOR ? env.SIMULATOR === 'on' : this.engineTransports.includes('simulator');
    this.simulatorRate = env.SIMULATOR_RATE;
    this.tokenExpiryWarningMs = env.TOKEN_EXPIRY_WARNING_MS;
  }

  get isProduction(): boolean {
    return this.env === 'production';
  }

  /** The embedded demo: no engine configured, so the built-in simulator is the engine and the demo licence applies. */
  get isEmbeddedDemo(): boolean {
    return !this.isProduction && this.engineTransports.includes('simulator');
  }

  /** Reads and validates `process.env` (or the given record); throws ConfigurationError naming each bad variable. */
  static fromEnvironment(source: NodeJS.ProcessEnv = process.env): AppConfig {
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
    return new AppConfig(env);
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
  'SIMULATOR',
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
  if (env.NODE_ENV === 'production' && jwtSources === 0) {
    problems.push('JWT_SECRET, JWT_PUBLIC_KEY or JWT_JWKS_URL is required when NODE_ENV=production');
  }
  const transports = resolveEngineTransports(env);
  if (transports.includes('nats') && !env.NATS_URL) problems.push('NATS_URL is required when ENGINE_TRANSPORT includes nats');
  if (transports.includes('redis') && !env.REDIS_URL) problems.push('REDIS_URL is required when ENGINE_TRANSPORT includes redis');
  if (env.NODE_ENV === 'production' && transports.includes('simulator') && env.ENGINE_TRANSPORT !== 'simulator') {
    problems.push('NODE_ENV=production needs an engine: set NATS_URL or REDIS_URL (or ENGINE_TRANSPORT=simulator explicitly)');
  }
  return problems;
}

function resolveEngineTransports(env: EnvironmentSchema): EngineTransportName[] {
  if (env.ENGINE_TRANSPORT) return env.ENGINE_TRANSPORT.split(',') as EngineTransportName[];
  if (env.NATS_URL) return ['nats'];
  if (env.REDIS_URL) return ['redis'];
  return ['simulator'];
}

function jwtSettings(env: EnvironmentSchema): JwtVerificationSettings | null {
  const common = { issuer: env.JWT_ISSUER, audience: env.JWT_AUDIENCE };
  if (env.JWT_SECRET) return { kind: 'secret', secret: env.JWT_SECRET, ...common };
  if (env.JWT_PUBLIC_KEY) return { kind: 'publicKey', publicKeyPem: env.JWT_PUBLIC_KEY.replace(/\\n/g, '\n'), ...common };
  if (env.JWT_JWKS_URL) return { kind: 'jwks', jwksUrl: env.JWT_JWKS_URL, ...common };
  return null;
}

function parseCorsOrigins(value: string | undefined, nodeEnv: string): string[] | true {
  if (!value) return nodeEnv === 'production' ? [] : true;
  if (value.trim() === '*') return true;
  return value
    .split(',')
    .map((origin) => origin.trim())
    .filter(Boolean);
}
