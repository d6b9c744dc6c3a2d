import { readFileSync } from 'node:fs';

/**
 * Kernel counters that explain a long tail on loopback. A burst (a notice written to every connection, a connect
 * storm) can overflow the per-CPU queue loopback packets wait in (`net.core.netdev_max_backlog`, 1,000 by default) when
 * the CPU is too busy to drain it: the packet is dropped and TCP sends it again after its retransmission timeout
 * (200 ms at least, doubling each time), so a client receives a frame hundreds of ms or seconds late while neither
 * process is busy. A full accept queue drops SYNs the same way (retried after 1 s, 3 s, 7 s…). The counters are the
 * machine's (every process's traffic), so a difference over a window says what happened on the machine meanwhile.
 */
export interface NetCounters {
  /** Packets dropped because a CPU's input queue was full (`/proc/net/softnet_stat`, second column, every CPU). */
  backlogDrops: number;
  /** TCP segments sent again (`/proc/net/snmp`, Tcp RetransSegs). */
  retransmittedSegments: number;
  /** Connections dropped because a listening socket's accept queue was full (`/proc/net/netstat`, TcpExt ListenOverflows). */
  listenOverflows: number;
  /** Connection attempts (SYNs) sent again for want of an answer (TcpExt TCPSynRetrans). */
  synRetransmits: number;
}

/** Sum of the `dropped` column (the second, hexadecimal) over every CPU's line. */
export function parseSoftnetDrops(text: string): number {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .reduce((total, line) => total + Number.parseInt(line.trim().split(/\s+/)[1], 16), 0);
}

/** One counter of `/proc/net/snmp` or `/proc/net/netstat`: a header line `Section: Name…` then `Section: value…`. */
export function parseProcNetCounter(text: string, section: string, name: string): number {
  const lines = text.split('\n').filter((line) => line.startsWith(`${section}: `));
  if (lines.length < 2) return Number.NaN;
  const column = lines[0].split(/\s+/).indexOf(name);
  return column > 0 ? Number(lines[1].split(/\s+/)[column]) : Number.NaN;
}

export function readNetCounters(): NetCounters {
  const read = (path: string): string => {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      return '';
    }
  };
  const softnet = read('/proc/net/softnet_stat');
  const netstat = read('/proc/net/netstat');
  return {
    backlogDrops: softnet ? parseSoftnetDrops(softnet) : Number.NaN,
    retransmittedSegments: parseProcNetCounter(read('/proc/net/snmp'), 'Tcp', 'RetransSegs'),
    listenOverflows: parseProcNetCounter(netstat, 'TcpExt', 'ListenOverflows'),
    synRetransmits: parseProcNetCounter(netstat, 'TcpExt', 'TCPSynRetrans'),
  };
}

/** What grew between two readings, one sentence for the notes (undefined if nothing did). */
export function describeNetCounters(before: NetCounters, after: NetCounters): string | undefined {
  const grew = (key: keyof NetCounters): number => after[key] - before[key];
  const parts = [
    grew('backlogDrops') > 0 ? `dropped ${grew('backlogDrops').toLocaleString('en-US')} packets from a full CPU input queue` : '',
    grew('listenOverflows') > 0 ? `dropped ${grew('listenOverflows').toLocaleString('en-US')} connection attempts from a full accept queue` : '',
    grew('retransmittedSegments') > 0 ? `retransmitted ${grew('retransmittedSegments').toLocaleString('en-US')} TCP segments` : '',
    grew('synRetransmits') > 0 ? `${grew('synRetransmits').toLocaleString('en-US')} of them connection attempts (SYN)` : '',
  ].filter(Boolean);
  return parts.length ? `the kernel ${parts.join(', ')} (every process on the machine)` : undefined;
}
