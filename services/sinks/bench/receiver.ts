/**
 * The benchmark's webhook receiver, run as its own process so that it does
 * not share the sinks' event loop: a minimal node:http server that answers
 * every POST with 200 once it has read the body. A JSON body counts as one
 * alert; an `application/x-ndjson` body (the batching hook) counts one alert
 * per line.
 *
 *   node receiver.js <alerts>
 *
 * Prints its port, then one line of JSON when it has counted `<alerts>`
 * alerts. `GET /` answers the counters and the CPU time this process used.
 */
import { createServer } from 'node:http';

const expected = Number(process.argv[2] ?? '0');
let alerts = 0;
let requests = 0;

function stats(): string {
  const cpu = process.cpuUsage();
  return JSON.stringify({ alerts, requests, userUs: cpu.user, systemUs: cpu.system });
}

function counted(n: number): void {
  const before = alerts;
  alerts += n;
  requests++;
  if (before < expected && alerts >= expected) process.stdout.write(`${stats()}\n`);
}

const server = createServer((req, res) => {
  if (req.method === 'GET') {
    res.end(stats());
    return;
  }
  if (req.headers['content-type'] === 'application/x-ndjson') {
    let lines = 0;
    let last = 10;
    req.on('data', (chunk: Buffer) => {
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
      last = chunk[chunk.length - 1] ?? last;
    });
    req.on('end', () => {
      counted(lines + (last === 10 ? 0 : 1));
      res.end();
    });
    return;
  }
  req.on('end', () => {
    counted(1);
    res.end();
  });
  req.resume();
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`${typeof address === 'object' && address !== null ? address.port : 0}\n`);
});
process.on('SIGTERM', () => process.exit(0));
