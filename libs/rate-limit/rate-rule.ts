/**
 * A token bucket's shape: `limit` tokens refill evenly over `windowMs`, and at most `burst` are held at once, so a
 * quiet client may spend `burst` at once and then `limit` per window.
 */
export interface RateRule {
  limit: number;
  windowMs: number;
  burst: number;
}

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 } as const;
const RULE_PATTERN = /^(\d+)\s*\/\s*(\d*)\s*(ms|s|m|h)(?:\s*:\s*(\d+))?$/;
const EVENT_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9:_-]{0,63}$/;

/** Thrown for a rule that cannot be read; the message says what is wrong, for the configuration error. */
export class RateRuleSyntaxError extends Error {}

/**
 * Reads `limit/window[:burst]`, e.g. `100/1m`, `10/1s`, `10/60s:20`; `off` (or `0`) is no rule. The window is a
 * number with a unit (`ms`, `s`, `m`, `h`; the number may be left out: `10/m`). The burst defaults to the limit.
 */
export function parseRateRule(text: string): RateRule | null {
  const value = text.trim().toLowerCase();
  if (value === 'off' || value === '0') return null;
  const match = RULE_PATTERN.exec(value);
  if (!match) throw new RateRuleSyntaxError(`"${text}" is not a rate: write limit/window[:burst], e.g. 100/1m or 10/1s:20, or off`);
  const limit = Number(match[1]);
  const windowMs = Number(match[2] || '1') * UNIT_MS[match[3] as keyof typeof UNIT_MS];
  const burst = match[4] === undefined ? limit : Number(match[4]);
  if (limit < 1 || windowMs < 1) throw new RateRuleSyntaxError(`"${text}": the limit and the window must be at least 1`);
  if (burst < 1) throw new RateRuleSyntaxError(`"${text}": the burst must be at least 1`);
  if (windowMs > 86_400_000) throw new RateRuleSyntaxError(`"${text}": the window must be at most 24h`);
  return { limit, windowMs, burst };
}

/**
 * Reads per-event rules: comma-separated `event=limit/window[:burst]`, e.g. `subscribe=10/1m,order:submit=20/1s:5`.
 * An event given `off` has no bucket of its own (it still counts against the overall ones).
 */
export function parseEventRules(text: string): Map<string, RateRule> {
  const rules = new Map<string, RateRule>();
  for (const entry of text.split(',')) {
    if (entry.trim() === '') continue;
    const equals = entry.indexOf('=');
    const event = equals < 0 ? '' : entry.slice(0, equals).trim();
    if (!EVENT_NAME_PATTERN.test(event)) throw new RateRuleSyntaxError(`"${entry.trim()}" is not event=limit/window, e.g. subscribe=10/1m`);
    const rule = parseRateRule(entry.slice(equals + 1));
    if (rule) rules.set(event, rule);
    else rules.delete(event);
  }
  return rules;
}

/** Reads `count/window` for repeat offenders, e.g. `20/1m`: that many refusals within the window; `off` is none. */
export function parseRefusalThreshold(text: string): { refusals: number; windowMs: number } | null {
  const rule = parseRateRule(text);
  return rule && { refusals: rule.limit, windowMs: rule.windowMs };
}

/** `limit/window[:burst]` as configured, for logs and messages. */
export function describeRule(rule: RateRule): string {
  const unit = rule.windowMs % 3_600_000 === 0 ? 'h' : rule.windowMs % 60_000 === 0 ? 'm' : rule.windowMs % 1_000 === 0 ? 's' : 'ms';
  const amount = rule.windowMs / UNIT_MS[unit];
  return `${rule.limit}/${amount}${unit}${rule.burst === rule.limit ? '' : `:${rule.burst}`}`;
}
