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
    // Seven workers hold 14,286 each on average, but the fullest takes about 1.4 times that: past 19,900.
    expect(connectionBudgetProblems({ ...fits, serverProcesses: 7 })).toEqual([
      '14,286 connections per server process on average, but the kernel does not spread them evenly (the fullest takes about 1.4x) and each may open only 20,000 files: use 8 or more worker processes',
    ]);
    expect(connectionBudgetProblems({ ...fits, serverFileLimit: Number.POSITIVE_INFINITY, loadWorkerFileLimit: Number.POSITIVE_INFINITY, serverProcesses: 1, loadWorkers: 1 })).toEqual([]);
  });
});
