import { readFileSync } from 'node:fs';
import { integer } from '../report/format.js';

/**
 * What bounds how many connections one run can hold on one machine, read before the run so that a shortfall is named
 * in the report instead of showing up as thousands of EADDRNOTAVAIL or EMFILE failures:
 * - every client connection to the one server port needs a local port of its own per source address (the kernel's
 *   ephemeral range, 28,232 ports by default), so 100,000 connections need at least four source addresses;
 * - every connection is a file descriptor on both sides, and a process may open only as many as its RLIMIT_NOFILE.
 */

/** Local ports available to one source address, from `/proc/sys/net/ipv4/ip_local_port_range` ("low\thigh"). */
export function parsePortRange(text: string): number {
  const [low, high] = text.trim().split(/\s+/).map(Number);
  if (!Number.isInteger(low) || !Number.isInteger(high) || high < low) throw new Error(`ip_local_port_range: cannot read '${text.trim()}'`);
  return high - low + 1;
}

/** The soft "Max open files" of a `/proc/<pid>/limits` text; Infinity when unlimited. */
export function parseOpenFileLimit(limitsText: string): number {
  const line = limitsText.split('\n').find((l) => l.startsWith('Max open files'));
  if (!line) throw new Error('/proc/<pid>/limits: no "Max open files" line');
  const soft = line.slice('Max open files'.length).trim().split(/\s+/)[0];
  if (soft === 'unlimited') return Number.POSITIVE_INFINITY;
  const value = Number(soft);
  if (!Number.isInteger(value)) throw new Error(`/proc/<pid>/limits: cannot read '${line}'`);
  return value;
}

/** Descriptors a process needs besides its connections (libraries, logs, IPC, Redis, NATS, the listening socket). */
const FILE_HEADROOM = 100;

/**
 * The gateway's workers share one listening socket and take turns accepting, so that none holds more than
 * WORKER_CONNECTION_SLACK (64 by default) above the least loaded one (docs/operations.md §6, "Balance"); before they
 * did, the kernel's distribution left the fullest at 1.24–1.4 times the average at 100,000 (bench/RESULTS.md), and
 * one that reaches its file limit closes what it accepts (the client sees "socket hang up"). Allowed here: twice the
 * default slack above the average.
 */
export const SERVER_SPREAD_CONNECTIONS = 128;

export interface ConnectionBudget {
  connections: number;
  /** Addresses the clients are spread over; 0 or 1: the kernel's choice of one. */
  sourceAddresses: number;
  /** Local ports per source address. */
  portsPerAddress: number;
  loadWorkers: number;
  loadWorkerFileLimit: number;
  /** Processes of the server that hold connections (a cluster's workers; one process otherwise). */
  serverProcesses: number;
  serverFileLimit: number;
}

/** What would stop `connections` from being held, one sentence each with the remedy; empty when they fit. */
export function connectionBudgetProblems(budget: ConnectionBudget): string[] {
  const problems: string[] = [];
  const addresses = Math.max(1, budget.sourceAddresses);
  const perAddress = Math.ceil(budget.connections / addresses);
  if (perAddress > budget.portsPerAddress) {
    const needed = Math.ceil(budget.connections / budget.portsPerAddress);
    problems.push(
      `${integer(perAddress)} connections per source address but only ${integer(budget.portsPerAddress)} local ports each: use --source-addresses ${needed} or more`,
    );
  }
  const perLoadWorker = Math.ceil(budget.connections / budget.loadWorkers);
  if (perLoadWorker + FILE_HEADROOM > budget.loadWorkerFileLimit) {
    const needed = Math.ceil(budget.connections / (budget.loadWorkerFileLimit - FILE_HEADROOM));
    problems.push(
      `${integer(perLoadWorker)} clients per load-generator worker but each may open only ${integer(budget.loadWorkerFileLimit)} files: use --set workers=${needed} or more (or raise ulimit -n)`,
    );
  }
  const perServerProcess = Math.ceil(budget.connections / budget.serverProcesses);
  if (perServerProcess + FILE_HEADROOM > budget.serverFileLimit) {
    problems.push(
      `${integer(perServerProcess)} connections per server process but each may open only ${integer(budget.serverFileLimit)} files (ulimit -n): ` +
        `the server cannot hold them all`,
    );
  } else if (budget.serverProcesses > 1 && perServerProcess + SERVER_SPREAD_CONNECTIONS + FILE_HEADROOM > budget.serverFileLimit) {
    const needed = Math.ceil(budget.connections / (budget.serverFileLimit - FILE_HEADROOM - SERVER_SPREAD_CONNECTIONS));
    problems.push(
      `${integer(perServerProcess)} connections per server process on average, and a worker may hold up to ${SERVER_SPREAD_CONNECTIONS} more ` +
        `(WORKER_CONNECTION_SLACK) while each may open only ${integer(budget.serverFileLimit)} files: use ${needed} or more worker processes`,
    );
  }
  return problems;
}

/** The files process `pid` may open (its soft RLIMIT_NOFILE). */
export function openFileLimit(pid: number): number {
  return parseOpenFileLimit(readFileSync(`/proc/${pid}/limits`, 'utf8'));
}

/** Local ports per source address on this machine. */
export function portsPerAddress(): number {
  return parsePortRange(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8'));
}
