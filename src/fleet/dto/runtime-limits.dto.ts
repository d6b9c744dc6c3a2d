import { IsInt, IsOptional, IsString, Length, Max, Min } from 'class-validator';

/**
 * `PATCH /admin/limits`: each field sets that limit fleet-wide, in the syntax of its environment variable
 * (`RATE_LIMIT_REQUESTS` … `SLOW_CLIENT_GRACE_MS`); `null` puts it back to the configured value; a field left out is
 * unchanged. Rules are checked when applied (RuntimeLimits), which names the field that cannot be read.
 */
export class RuntimeLimitsPatchDto {
  /** `RATE_LIMIT_REQUESTS`: `limit/window[:burst]` or `off`. */
  @IsOptional()
  @IsString()
  @Length(1, 64)
  requests?: string | null;

  /** `RATE_LIMIT_REQUEST_BURST`. */
  @IsOptional()
  @IsString()
  @Length(1, 64)
  requestBurst?: string | null;

  /** `RATE_LIMIT_EVENTS`: `event=rule,…`, replacing every per-event rule. */
  @IsOptional()
  @IsString()
  @Length(0, 2_048)
  events?: string | null;

  /** `RATE_LIMIT_CANCELS`. */
  @IsOptional()
  @IsString()
  @Length(1, 64)
  cancels?: string | null;

  /** `RATE_LIMIT_BLOCK_AFTER`: `count/window` or `off`. */
  @IsOptional()
  @IsString()
  @Length(1, 64)
  blockAfter?: string | null;

  /** `RATE_LIMIT_BLOCK_MS`. */
  @IsOptional()
  @IsInt()
  @Min(1_000)
  @Max(86_400_000)
  blockMs?: number | null;

  /** `RATE_LIMIT_HANDSHAKES`. */
  @IsOptional()
  @IsString()
  @Length(1, 64)
  handshakes?: string | null;

  /** `RATE_LIMIT_MAX_SUBSCRIPTIONS`: streams one user holds at once (0: no cap). */
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(1_000_000)
  maxSubscriptionsPerUser?: number | null;

  /** `SLOW_CLIENT_GRACE_MS`. */
  @IsOptional()
  @IsInt()
  @Min(500)
  @Max(300_000)
  slowClientGraceMs?: number | null;
}

/** The fields of a patch, each a limit. */
export const RUNTIME_LIMIT_FIELDS = ['requests', 'requestBurst', 'events', 'cancels', 'blockAfter', 'blockMs', 'handshakes', 'maxSubscriptionsPerUser', 'slowClientGraceMs'] as const;
export type RuntimeLimitField = (typeof RUNTIME_LIMIT_FIELDS)[number];
/** Overrides as stored in Redis: only the fields set (never null there). */
export type RuntimeLimitOverrides = Partial<Record<RuntimeLimitField, string | number>>;
