import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { REFUSAL_POLICY, type RefusalAction } from '#libs/client';

/** docs/client.md's refusal table says what the SDK's exported classification does, code for code. */
describe('docs/client.md', () => {
  const doc = readFileSync(new URL('../docs/client.md', import.meta.url), 'utf8');
  const table = doc.slice(doc.indexOf('<!-- refusal-table'), doc.indexOf('<!-- /refusal-table -->'));
  const actions: Record<string, RefusalAction> = { 'retry-with-backoff': 'retry', 'refresh-then-retry': 'refresh', terminal: 'terminal' };
  const documented = new Map(
    [...table.matchAll(/^\| `([A-Z_]+)` \| ([a-z-]+) \|/gm)].map(([, code, action]) => [code, actions[action ?? ''] ?? `unknown action ${action}`]),
  );

  it('documents every refusal code with the action REFUSAL_POLICY takes', () => {
    expect(Object.fromEntries(documented)).toEqual(REFUSAL_POLICY);
  });

  it('says a network error is retried with backoff', () => {
    expect(table).toMatch(/^\| network error \(no answer\) \| retry-with-backoff \|/m);
  });
});
