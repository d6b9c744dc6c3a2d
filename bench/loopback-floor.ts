/**
 * The floor under a notice to every connection: what this machine's loopback TCP costs to write one ~100-byte
 * WebSocket frame to each of N idle connections and read it, with no gateway, no Socket.IO and no WebSocket library on
 * either side. P server processes each hold N/P connections from one of P client processes (the 100,000 case needs
 * several of each: a process here may open 20,000 files), spread over 127.0.0.2–6 as the capacity bench's clients are.
 * Each round every server writes the frame to all its sockets, 512 per turn of its loop, as the gateway does; the
 * figures are the time from the start until the last client has it, and the CPU both sides used per connection.
 *
 *   node dist/bench/loopback-floor.js [connections=100000] [processes=6] [rounds=3]
 */
import { fork } from 'node:child_process';
import { connect, createServer, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';

const BASE_PORT = 9_920;
const PER_TURN = 512;
const SOURCE_ADDRESSES = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6'];
const FRAME = Buffer.from(`\x81\x60${'42/market-data,["system",{"type":"notice","id":"0","message":"floor","severity":"info"}]'.padEnd(96, ' ')}`, 'latin1');

type Report = { cpuMs: number; at: number };
const nowMs = (): number => performance.timeOrigin + performance.now();
const cpuMsSince = (start: NodeJS.CpuUsage): number => {
  const { user, system } = process.cpuUsage(start);
  return (user + system) / 1000;
};

function serve(port: number): void {
  const sockets: Socket[] = [];
  createServer((socket) => {
    socket.setNoDelay(true);
    socket.on('error', () => undefined);
    sockets.push(socket);
  }).listen({ port, host: '127.0.0.1', backlog: 4096 }, () => process.send?.('listening'));
  process.on('message', () => {
    const start = process.cpuUsage();
    let next = 0;
    const writeSome = (): void => {
      const end = Math.min(next + PER_TURN, sockets.length);
      for (; next < end; next++) sockets[next].write(FRAME);
      if (next < sockets.length) setImmediate(writeSome);
      else setImmediate(() => process.send?.({ cpuMs: cpuMsSince(start), at: nowMs() } satisfies Report));
    };
    writeSome();
  });
}

function receive(port: number, count: number): void {
  let opened = 0;
  let received = 0;
  let start = process.cpuUsage();
  const open = (index: number): void => {
    const socket = connect({ port, host: '127.0.0.1', localAddress: SOURCE_ADDRESSES[index % SOURCE_ADDRESSES.length] }, () => {
      if (++opened === count) process.send?.('ready');
      else if (index + 200 < count) open(index + 200);
    });
    socket.on('data', () => {
      if (++received === count) process.send?.({ cpuMs: cpuMsSince(start), at: nowMs() } satisfies Report);
    });
    socket.on('error', (error) => console.error(error.message));
  };
  for (let index = 0; index < Math.min(200, count); index++) open(index);
  process.on('message', () => {
    received = 0;
    start = process.cpuUsage();
  });
}

async function main(): Promise<void> {
  const [connections = 100_000, processes = 6, rounds = 3] = process.argv.slice(2).map(Number);
  const perProcess = Math.ceil(connections / processes);
  const script = fileURLToPath(import.meta.url);
  const nextMessage = <T>(child: ReturnType<typeof fork>): Promise<T> => new Promise((resolve) => child.once('message', (message) => resolve(message as T)));
  const servers = [];
  for (let i = 0; i < processes; i++) {
    const server = fork(script, ['serve', String(BASE_PORT + i)]);
    await nextMessage(server);
    servers.push(server);
  }
  const clients = Array.from({ length: processes }, (_, i) => fork(script, ['receive', String(BASE_PORT + i), String(perProcess)]));
  await Promise.all(clients.map((client) => nextMessage(client)));
  console.log(`${perProcess * processes} connections, ${processes} server and ${processes} client processes`);
  for (let round = 1; round <= rounds; round++) {
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    for (const client of clients) client.send('arm');
    await new Promise((resolve) => setTimeout(resolve, 100));
    const serverReports = servers.map((server) => nextMessage<Report>(server));
    const clientReports = clients.map((client) => nextMessage<Report>(client));
    const startedAt = nowMs();
    for (const server of servers) server.send('write');
    const written = await Promise.all(serverReports);
    const read = await Promise.all(clientReports);
    const serverCpu = written.reduce((sum, report) => sum + report.cpuMs, 0);
    const clientCpu = read.reduce((sum, report) => sum + report.cpuMs, 0);
    const total = perProcess * processes;
    console.log(
      `round ${round}: last client had it after ${(Math.max(...read.map((report) => report.at)) - startedAt).toFixed(0)} ms; ` +
        `servers ${((serverCpu * 1000) / total).toFixed(1)} µs of CPU per connection, clients ${((clientCpu * 1000) / total).toFixed(1)} µs per frame`,
    );
  }
  for (const child of [...servers, ...clients]) child.kill();
}

const [role, port, count] = process.argv.slice(2);
if (role === 'serve') serve(Number(port));
else if (role === 'receive') receive(Number(port), Number(count));
else await main();
