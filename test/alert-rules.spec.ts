import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { METRICS } from '#libs/observability';

const DOCKER_DIR = fileURLToPath(new URL('../docker/', import.meta.url));
const PROMETHEUS_DIR = `${DOCKER_DIR}prometheus/`;

function promtool(...args: string[]): string {
  try {
    return execFileSync('promtool', args, { cwd: PROMETHEUS_DIR, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new Error('promtool is not on the PATH: install Prometheus (Debian: apt-get install prometheus; .ci/run does it)');
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`promtool ${args.join(' ')} failed:\n${stdout ?? ''}${stderr ?? ''}`);
  }
}

/** The alert rules and dashboard SREs load (docs/operations.md, "Alerts and runbook") are checked like code. */
describe('Prometheus alert rules and the Grafana dashboard', () => {
  it('are valid and pass their unit tests (promtool)', () => {
    expect(promtool('check', 'rules', 'alerts.yml')).toContain('SUCCESS');
    expect(promtool('test', 'rules', 'alerts.test.yml')).toContain('SUCCESS');
  });

  it.each([
    ['the alert rules', 'prometheus/alerts.yml'],
    ['the Grafana dashboard', 'grafana/dashboards/tradewire.json'],
  ])('%s use only metric names the gateway exports', (_what, file) => {
    const text = readFileSync(`${DOCKER_DIR}${file}`, 'utf8');
    const used = new Set(text.match(/\btradewire_[a-z0-9_]+/g) ?? []);
    const exported = new Set(Object.values(METRICS).flatMap((name) => [name, `${name}_bucket`, `${name}_sum`, `${name}_count`]));
    expect([...used].filter((name) => !exported.has(name))).toEqual([]);
    expect(used.size).toBeGreaterThan(10);
  });
});
