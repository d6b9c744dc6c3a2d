import type { LoggerService, LogLevel } from '@nestjs/common';
import { pino, type Logger, type LevelWithSilent } from 'pino';

/**
 * Paths whose values never reach a log line. Tokens travel in handshake auth, headers and query strings; a log
 * of any of them would hand a session to whoever reads the logs.
 */
const REDACTED_PATHS = [
  'token',
  '*.token',
  'auth.token',
  'handshake.auth',
  'headers.authorization',
  'req.headers.authorization',
  'query.token',
  'req.query.token',
  'authorization',
  'secret',
  '*.secret',
];

export function createLogger(options: { level: LevelWithSilent; nodeId: string; destination?: pino.DestinationStream }): Logger {
  return pino(
    {
      level: options.level,
      base: { node: options.nodeId, pid: process.pid },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination,
  );
}

/** Nest's framework logs through the same structured pino logger as the gateway's own. */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}

  log(message: unknown, ...optionalParams: unknown[]): void {
    this.write('info', message, optionalParams);
  }
  error(message: unknown, ...optionalParams: unknown[]): void {
    this.write('error', message, optionalParams);
  }
  warn(message: unknown, ...optionalParams: unknown[]): void {
    this.write('warn', message, optionalParams);
  }
  debug(message: unknown, ...optionalParams: unknown[]): void {
    this.write('debug', message, optionalParams);
  }
  verbose(message: unknown, ...optionalParams: unknown[]): void {
    this.write('trace', message, optionalParams);
  }
  fatal(message: unknown, ...optionalParams: unknown[]): void {
    this.write('fatal', message, optionalParams);
  }
  setLogLevels(_levels: LogLevel[]): void {
    // The level is pino's, set once from LOG_LEVEL.
  }

  private write(level: 'info' | 'error' | 'warn' | 'debug' | 'trace' | 'fatal', message: unknown, params: unknown[]): void {
    // Nest passes the context (class name) last, and a stack trace before it for errors.
    const context = typeof params[params.length - 1] === 'string' ? (params[params.length - 1] as string) : undefined;
    const stack = level === 'error' && typeof params[0] === 'string' && params.length > 1 ? params[0] : undefined;
    if (message instanceof Error) {
      this.logger[level]({ context, err: message }, message.message);
    } else if (typeof message === 'object' && message !== null) {
      this.logger[level]({ context, ...(message as Record<string, unknown>) });
    } else {
      this.logger[level]({ context, ...(stack ? { stack } : {}) }, String(message));
    }
  }
}

/**
 * Logs a given kind of problem once (per key) and counts the rest silently: a malformed engine feed can send
 * thousands of bad events a second, and a log line per event would bury everything else.
 */
export class OncePerKeyLogger {
  private readonly seen = new Set<string>();

  constructor(
    private readonly logger: Logger,
    private readonly maxKeys = 1_000,
  ) {}

  warn(key: string, fields: Record<string, unknown>, message: string): void {
    if (this.seen.has(key)) return;
    if (this.seen.size >= this.maxKeys) return;
    this.seen.add(key);
    this.logger.warn({ ...fields, onceKey: key }, `${message} (logged once for this kind)`);
  }
}

/** Injection token of the gateway's pino logger. */
export const PINO_LOGGER = Symbol('PINO_LOGGER');
