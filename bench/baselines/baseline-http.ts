import { createServer, type Server } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';

export interface BaselineCounters {
  engineEvents: number;
  connections: number;
}

/**
 * Health and metrics for a baseline, under the gateway's paths, so the harness waits for and samples every target the
 * same way. The engine-event counter has a bench-specific name: it is not the gateway's metric, only its analogue.
 */
export function createBaselineHttpServer(counters: BaselineCounters, isReady: () => boolean): Server {
  // As prom-client does: 10 ms sampling, reset on every scrape, so a scrape reports the worst stall since the last.
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  return createServer((req, res) => {
    if (req.url === '/health/ready' || req.url === '/health/live') {
      const ok = req.url === '/health/live' || isReady();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ status: ok ? 'ok' : 'starting' }));
      return;
    }
    if (req.url === '/metrics') {
      const memory = process.memoryUsage();
      const newSpace = getHeapSpaceStatistics().find((space) => space.space_name === 'new_space');
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(
        [
          `nodejs_heap_size_used_bytes ${memory.heapUsed}`,
          `process_resident_memory_bytes ${memory.rss}`,
          // As prom-client names it: the young generation's committed size.
          `nodejs_heap_space_size_total_bytes{space="new"} ${newSpace?.space_size ?? Number.NaN}`,
          `bench_engine_events_total ${counters.engineEvents}`,
          `bench_connections ${counters.connections}`,
          `nodejs_eventloop_lag_max_seconds ${loopDelay.max / 1e9}`,
          '',
        ].join('\n'),
      );
      loopDelay.reset();
      return;
    }
    res.writeHead(404).end();
  });
}
