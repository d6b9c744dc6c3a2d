/**
 * NATS subject matching: tokens split on '.', `*` matches exactly one token, `>` (last) matches one or more.
 * Used by the in-process transport so the simulator's events reach the same `@EventPattern` handlers as NATS's.
 */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    const token = p[i];
    if (token === '>') return i === p.length - 1 && s.length > i;
    if (i >= s.length) return false;
    if (token !== '*' && token !== s[i]) return false;
  }
  return p.length === s.length;
}
