import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** Kernel clock ticks per second, the unit of utime/stime in /proc/<pid>/stat. */
const CLOCK_TICKS = readClockTicks();

function readClockTicks(): number {
  try {
    const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isFinite(ticks) && ticks > 0 ? ticks : 100;
  } catch {
    return 100;
  }
}

/** User + system CPU seconds a process has used so far (all its threads), or NaN once it is gone. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses: count fields from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return (utime + stime) / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}

/**
 * A process and every process below it (a cluster's primary and its workers), read from /proc now: the server under
 * test as the figures must count it.
 */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
    } catch {
      // gone meanwhile
    }
  }
  const tree = [pid];
  for (let index = 0; index < tree.length; index++) tree.push(...(children.get(tree[index]) ?? []));
  return tree;
}

/** RSS of several processes together (pages they share counted once per process), NaN if one is gone. */
export function totalRssBytes(pids: readonly number[]): number {
  return sum(pids.map(rssBytes));
}

/** Resident set size in bytes, or NaN once the process is gone. */
export function rssBytes(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return match ? Number(match[1]) * 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** CPU seconds all processes on the machine have spent busy so far (every core, idle and iowait excluded). */
export function machineBusySeconds(): number {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, , , irq, softirq, steal] = fields;
    return (user + nice + system + irq + softirq + (steal ?? 0)) / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}

export interface CpuWindow {
  cpuSeconds: number;
  wallSeconds: number;
  /** 100 = one full core. */
  percent: number;
}

/** CPU used by a set of processes between two points in time. */
export class CpuMeter {
  private readonly startCpu: number;
  private readonly startWall = performance.now();

  constructor(private readonly pids: readonly number[]) {
    this.startCpu = sum(pids.map(cpuSeconds));
  }

  read(): CpuWindow {
    const cpu = sum(this.pids.map(cpuSeconds)) - this.startCpu;
    const wall = (performance.now() - this.startWall) / 1000;
    return { cpuSeconds: cpu, wallSeconds: wall, percent: wall > 0 ? (cpu / wall) * 100 : Number.NaN };
  }
}

/**
 * CPU used by everything on the machine except the given processes (100 = one core). On a shared machine a build or
 * test run of someone else's lands on the same cores and disturbs the figures; this says by how much.
 */
export class ForeignCpuMeter {
  private readonly own: CpuMeter;
  private readonly machineStart = machineBusySeconds();
  private readonly startWall = performance.now();

  constructor(ownPids: readonly number[]) {
    this.own = new CpuMeter(ownPids);
  }

  read(): number {
    const wall = (performance.now() - this.startWall) / 1000;
    const foreign = machineBusySeconds() - this.machineStart - this.own.read().cpuSeconds;
    return wall > 0 ? Math.max(0, (foreign / wall) * 100) : Number.NaN;
  }
}

/** Samples the RSS of a process (or of several together) on an interval, for "memory over time". */
export class RssSampler {
  private readonly samples: { atMs: number; rss: number }[] = [];
  private readonly timer: NodeJS.Timeout;
  private readonly startedAt = performance.now();

  constructor(
    private readonly pids: readonly number[],
    intervalMs = 500,
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  stop(): { first: number; peak: number; last: number; series: { atMs: number; rss: number }[] } {
    clearInterval(this.timer);
    this.sample();
    const values = this.samples.map((s) => s.rss).filter((v) => Number.isFinite(v));
    return {
      first: values[0] ?? Number.NaN,
      peak: values.length ? Math.max(...values) : Number.NaN,
      last: values[values.length - 1] ?? Number.NaN,
      series: this.samples,
    };
  }

  /** Milliseconds since sampling started, on the clock of the samples' `atMs`. */
  elapsedMs(): number {
    return Math.round(performance.now() - this.startedAt);
  }

  /** Takes a sample now and returns it (bytes). */
  sample(): number {
    const rss = totalRssBytes(this.pids);
    this.samples.push({ atMs: Math.round(performance.now() - this.startedAt), rss });
    return rss;
  }
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
