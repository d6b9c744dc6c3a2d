import { join } from 'node:path';
import { type CoreLayout, freePort, requirePid, spawnProcess, stopProcess } from './processes.js';
import { sleep } from './clock.js';
import { createConnection } from 'node:net';

/** A throwaway redis-server (nothing on disk) for a target that keeps seats and rate limits in Redis. */
export interface RedisServer {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

export async function startRedisServer(runDir: string, name: string, layout: CoreLayout): Promise<RedisServer> {
  const port = await freePort();
  const logFile = join(runDir, `${name}.redis.log`);
  const child = spawnProcess('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    cpus: layout.loadCpus,
    layout,
    logFile,
  });
  const deadline = Date.now() + 10_000;
  while (!(await answersPing(port))) {
    if (Date.now() > deadline || child.exitCode !== null) {
      await stopProcess(child);
      throw new Error(`redis-server did not start on ${port} (see ${logFile})`);
    }
    await sleep(50);
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    pid: requirePid(child, 'redis-server'),
    stop: () => stopProcess(child),
  };
}

function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port }, () => socket.write('PING\r\n'));
    socket.setTimeout(500);
    socket.once('data', (data) => {
      socket.destroy();
      resolve(data.toString().startsWith('+PONG'));
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}
