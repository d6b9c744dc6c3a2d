import { epochMs } from '../lib/clock.js';
import { describeNetCounters, readNetCounters } from '../lib/net-stats.js';
import { CpuMeter } from '../lib/proc-stats.js';
import { mintToken } from '../lib/tokens.js';
import { benchNoticeMessage } from '../loadgen/system-notice.js';
import { integer, milliseconds, usToMs } from '../report/format.js';
import type { Figures, RunContext } from './scenario.js';
import type { ScenarioEnv } from './scenario-env.js';

/** What the notice step adds to a capacity row; NaN when it did not run. */
export interface NoticeOutcome {
  /** `noticeOwed`: the clients still connected when it was sent (not a column; the Targets row compares with it). */
  figures: Pick<Figures, 'noticeOwed' | 'noticeReceived' | 'noticeP50Ms' | 'noticeP99Ms' | 'noticeLastMs'>;
  notes: string[];
}

export const NO_NOTICE: NoticeOutcome['figures'] = { noticeOwed: Number.NaN, noticeReceived: Number.NaN, noticeP50Ms: Number.NaN, noticeP99Ms: Number.NaN, noticeLastMs: Number.NaN };

/** The per-node part of the gateway's answer to `POST /admin/notice` (docs/operations.md §16) that the report uses. */
interface NoticeAnswer {
  nodes: Record<string, number>;
  failed: string[];
  missing: string[];
}

/**
 * An operator notice to every connection, as an SRE sends it (`POST /admin/notice` with an admin-role token), while the
 * clients of the capacity scenario are connected and idle. Every load-generator client stamps when the `system` notice
 * carrying this run's message reaches it; the figures are the POST → receipt times of all of them (p50, p99, the
 * last one), and how many of the clients still connected received it within `timeoutSeconds`.
 */
export async function measureAdminNotice(context: RunContext, env: ScenarioEnv, timeoutSeconds: number): Promise<NoticeOutcome> {
  const token = await mintToken(context.jwtSecret, { sub: 'bench-operator', accounts: [], claims: { roles: ['admin'] } });
  const message = benchNoticeMessage();
  await env.pool.noticeArm(message);
  const serverCpu = new CpuMeter(env.server.pids);
  const loadCpu = new CpuMeter(env.pool.pids);
  const netBefore = readNetCounters();
  const sentAt = epochMs();
  const posted = await postNotice(env.server.baseUrl, token, message, timeoutSeconds * 1000);
  const answeredMs = epochMs() - sentAt;
  // Collected even when the POST failed, so the workers stop looking for it (they wait no longer than the deadline).
  const collected = await env.pool.noticeCollect(sentAt, posted.ok ? timeoutSeconds * 1000 : 0);
  const server = serverCpu.read();
  const load = loadCpu.read();
  const net = describeNetCounters(netBefore, readNetCounters());
  if (!posted.ok) return { figures: NO_NOTICE, notes: [`admin notice not measured: POST /admin/notice ${posted.error}`] };

  const { delay } = collected;
  const expected = collected.clients - collected.disconnected;
  const counted = Object.values(posted.answer.nodes).reduce((a, b) => a + b, 0);
  const nodes = Object.keys(posted.answer.nodes).length;
  const notes = [
    `admin notice: POST answered in ${milliseconds(answeredMs)} ms, ${integer(counted)} connections counted by ${nodes} node${nodes === 1 ? '' : 's'}; ` +
      `the first client had it after ${delay.count ? milliseconds(usToMs(delay.percentile(0))) : '–'} ms; ` +
      `until the last client had it the server used ${server.percent.toFixed(0)}% and the load generators ${load.percent.toFixed(0)}% of a core`,
  ];
  if (collected.closedBefore) {
    notes.push(`admin notice: ${integer(collected.closedBefore)} of the connected clients had been closed again before it was sent (see the server's log for why); it was owed to the other ${integer(collected.clients)}`);
  }
  if (posted.answer.failed.length || posted.answer.missing.length) {
    notes.push(`admin notice: nodes failed ${posted.answer.failed.join(', ') || 'none'}, missing ${posted.answer.missing.join(', ') || 'none'}`);
  }
  if (collected.received < expected) {
    notes.push(`admin notice: ${integer(expected - collected.received)} of ${integer(expected)} connected clients did not receive it within ${timeoutSeconds} s`);
  }
  if (collected.disconnected) notes.push(`admin notice: ${integer(collected.disconnected)} clients disconnected while it was awaited`);
  // A loopback packet dropped from a full CPU queue arrives after TCP's retransmission timeout: the tail's usual cause.
  if (net) notes.push(`admin notice: until the last client had it ${net}: a retransmitted frame arrives 200 ms or more late`);
  if (collected.loopDelayP99Ms > 10) {
    notes.push(`load-generator event loop lagged while the notice arrived (p99 ${collected.loopDelayP99Ms.toFixed(0)} ms): receipt times include it`);
  }
  return {
    figures: {
      noticeOwed: collected.clients,
      noticeReceived: collected.received,
      noticeP50Ms: delay.count ? usToMs(delay.percentile(50)) : Number.NaN,
      noticeP99Ms: delay.count ? usToMs(delay.percentile(99)) : Number.NaN,
      noticeLastMs: delay.count ? usToMs(delay.percentile(100)) : Number.NaN,
    },
    notes,
  };
}

async function postNotice(
  baseUrl: string,
  token: string,
  message: string,
  timeoutMs: number,
): Promise<{ ok: true; answer: NoticeAnswer } | { ok: false; error: string }> {
  try {
    const response = await fetch(`${baseUrl}/admin/notice`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ message, severity: 'info' }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.text();
    if (!response.ok) return { ok: false, error: `answered HTTP ${response.status}: ${text.slice(0, 200)}` };
    return { ok: true, answer: readAnswer(JSON.parse(text) as unknown) };
  } catch (error) {
    return { ok: false, error: `failed: ${error instanceof Error ? error.message : String(error)}` };
  }
}

/** `{ id, nodes: { <node>: { connections } }, failed: { <node>: reason }, missing: [<node>] }`, read defensively. */
function readAnswer(body: unknown): NoticeAnswer {
  const record = (value: unknown): Record<string, unknown> => (typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {});
  const answer = record(body);
  const nodes: Record<string, number> = {};
  for (const [node, outcome] of Object.entries(record(answer.nodes))) {
    const connections = record(outcome).connections;
    nodes[node] = typeof connections === 'number' ? connections : Number.NaN;
  }
  const missing = Array.isArray(answer.missing) ? answer.missing.map(String) : [];
  return { nodes, failed: Object.keys(record(answer.failed)), missing };
}
