import { describe, expect, it } from 'vitest';
import { type ConnectionBudget, connectionBudgetProblems, parseOpenFileLimit, parsePortRange } from './connection-budget.js';

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            20000                20000                files
Max locked memory         8388608              8388608              bytes
`;

describe('connection budget', () => {
  it('reads the ephemeral port range and the open-file limit as /proc writes them', () => {
    expect(parsePortRange('32768\t60999\n')).toBe(28_232);
    expect(() => parsePortRange('garbage')).toThrow(/cannot read/);
    expect(parseOpenFileLimit(LIMITS)).toBe(20_000);
    expect(parseOpenFileLimit(LIMITS.replace('20000                20000', 'unlimited            unlimited'))).toBe(Number.POSITIVE_INFINITY);
    expect(() => parseOpenFileLimit('Limit Soft Hard\n')).toThrow(/Max open files/);
  });

  const fits: ConnectionBudget = {
    connections: 100_000,
    sourceAddresses: 4,
    portsPerAddress: 28_232,
    loadWorkers: 6,
    loadWorkerFileLimit: 20_000,
    serverProcesses: 8,
    serverFileLimit: 20_000,
  };

  it('has nothing to say when the connections fit', () => {
    expect(connectionBudgetProblems(fits)).toEqual([]);
  });

  it('names what does not fit and the remedy', () => {
    expect(connectionBudgetProblems({ ...fits, sourceAddresses: 1 })).toEqual([
      '100,000 connections per source address but only 28,232 local ports each: use --source-addresses 4 or more',
    ]);
    expect(connectionBudgetProblems({ ...fits, loadWorkers: 4 })).toEqual([
      '25,000 clients per load-generator worker but each may open only 20,000 files: use --set workers=6 or more (or raise ulimit -n)',
    ]);
    expect(connectionBudgetProblems({ ...fits, serverProcesses: 2 })).toEqual([
      '50,000 connections per server process but each may open only 20,000 files (ulimit -n): the server cannot hold them all',
    ]);
    // Six workers hold 16,667 each on average, with room for the balancing's slack under 20,000 files, not under 16,800.
    expect(connectionBudgetProblems({ ...fits, serverProcesses: 6 })).toEqual([]);
    expect(connectionBudgetProblems({ ...fits, serverProcesses: 6, serverFileLimit: 16_800 })).toEqual([
      '16,667 connections per server process on average, and a worker may hold up to 128 more (WORKER_CONNECTION_SLACK) while each may open only 16,800 files: use 7 or more worker processes',
    ]);
    expect(connectionBudgetProblems({ ...fits, serverFileLimit: Number.POSITIVE_INFINITY, loadWorkerFileLimit: Number.POSITIVE_INFINITY, serverProcesses: 1, loadWorkers: 1 })).toEqual([]);
  });
});
