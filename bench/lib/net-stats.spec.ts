import { describe, expect, it } from 'vitest';
import { describeNetCounters, parseProcNetCounter, parseSoftnetDrops, readNetCounters } from './net-stats.js';

const SOFTNET = `0211fcba 00000b82 00000007 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000
01fd614a 0000097b 00000008 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000001 00000000 00000001
`;

const SNMP = `Ip: Forwarding DefaultTTL InReceives
Ip: 2 64 68344121
Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails EstabResets CurrEstab InSegs OutSegs RetransSegs InErrs OutRsts InCsumErrors
Tcp: 1 200 120000 -1 1387386 1364686 22278 188299 5208 68343852 68063927 280967 4846 173748 0
Udp: InDatagrams NoPorts
Udp: 10 0
`;

describe('kernel network counters', () => {
  it('sums the dropped column of every CPU, in hexadecimal', () => {
    expect(parseSoftnetDrops(SOFTNET)).toBe(0xb82 + 0x97b);
  });

  it('reads a counter by its section and name, NaN when absent', () => {
    expect(parseProcNetCounter('TcpExt: SyncookiesSent ListenOverflows TCPSynRetrans\nTcpExt: 1 2 3\n', 'TcpExt', 'TCPSynRetrans')).toBe(3);
    expect(parseProcNetCounter(SNMP, 'Tcp', 'RetransSegs')).toBe(280_967);
    expect(parseProcNetCounter(SNMP, 'Ip', 'InReceives')).toBe(68_344_121);
    expect(parseProcNetCounter(SNMP, 'Tcp', 'NoSuchCounter')).toBeNaN();
    expect(parseProcNetCounter(SNMP, 'TcpExt', 'ListenOverflows')).toBeNaN();
  });

  it('reads this machine’s counters', () => {
    const counters = readNetCounters();
    expect(counters.retransmittedSegments).toBeGreaterThanOrEqual(0);
    expect(counters.backlogDrops).toBeGreaterThanOrEqual(0);
  });

  it('says only what grew', () => {
    const before = { backlogDrops: 10, retransmittedSegments: 100, listenOverflows: 5, synRetransmits: 7 };
    expect(describeNetCounters(before, before)).toBeUndefined();
    expect(describeNetCounters(before, { ...before, backlogDrops: 1_510, retransmittedSegments: 2_100 })).toBe(
      'the kernel dropped 1,500 packets from a full CPU input queue, retransmitted 2,000 TCP segments (every process on the machine)',
    );
    expect(describeNetCounters(before, { ...before, listenOverflows: 15, retransmittedSegments: 130, synRetransmits: 37 })).toBe(
      'the kernel dropped 10 connection attempts from a full accept queue, retransmitted 30 TCP segments, 30 of them connection attempts (SYN) (every process on the machine)',
    );
  });
});
