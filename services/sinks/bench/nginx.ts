/**
 * Debian's nginx as the benchmark's webhook receiver: a real, cheap HTTP
 * server, as a production receiver is somebody else's server. It answers
 * every request 200 (`return 200`: nginx reads the body and discards it,
 * as it must to parse the next request on a keep-alive or pipelined
 * connection; nothing is buffered or written to disk), counts requests in
 * stub_status, and logs method, status and `Content-Length` of each request
 * to a file in its own temp dir, so the bench can check afterwards that
 * every POST was answered 200 and carried an alert-sized body.
 *
 * One worker process; everything it writes (pid, error log, access log,
 * temp files) stays in the temp dir, which is removed on close.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, get } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const NGINX = process.env.SAKER_BENCH_NGINX ?? '/usr/sbin/nginx';

export interface NginxLog {
  /** POSTs answered 200. */
  readonly posts: number;
  /** Requests answered anything else (status polls excluded). */
  readonly others: number;
  /** The smallest body (Content-Length) of a POST. */
  readonly minPostBody: number;
}

/** One keep-alive connection for the bench's polls: cheaper per poll than fetch. */
const pollAgent = new Agent({ keepAlive: true, maxSockets: 1 });

/** GETs `url` and returns the answer's text. */
export function getText(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    get(url, { agent: pollAgent }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        text += c;
      });
      res.on('end', () => resolve(text));
      res.on('error', reject);
    }).on('error', reject);
  });
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const address = srv.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  await new Promise((r) => srv.close(r));
  return port;
}

function nginxConf(dir: string, port: number): string {
  const t = (name: string): string => join(dir, name);
  return `daemon off;
worker_processes 1;
pid ${t('nginx.pid')};
error_log ${t('error.log')} warn;
events { worker_connections 4096; }
http {
  log_format bench '$request_method $status $content_length';
  access_log ${t('access.log')} bench buffer=256k flush=5s;
  client_body_temp_path ${t('body')};
  proxy_temp_path ${t('proxy')};
  fastcgi_temp_path ${t('fastcgi')};
  uwsgi_temp_path ${t('uwsgi')};
  scgi_temp_path ${t('scgi')};
  # Bodies stay in memory: an alert is a few hundred bytes, a batch up to a few hundred KiB.
  client_body_buffer_size 1m;
  client_max_body_size 1m;
  keepalive_requests 10000000;
  keepalive_timeout 120s;
  server {
    listen 127.0.0.1:${port} backlog=4096;
    location = /nginx_status { stub_status; access_log off; }
    location / { return 200; }
  }
}
`;
}

export class NginxReceiver implements AsyncDisposable {
  readonly url: string;
  readonly #statusUrl: string;
  readonly #dir: string;
  readonly #proc: ChildProcess;
  #polls = 0;
  #exited: Promise<void>;

  private constructor(dir: string, port: number, proc: ChildProcess) {
    this.#dir = dir;
    this.url = `http://127.0.0.1:${port}/`;
    this.#statusUrl = `http://127.0.0.1:${port}/nginx_status`;
    this.#proc = proc;
    this.#exited = new Promise((r) => proc.once('exit', () => r()));
  }

  static async start(): Promise<NginxReceiver> {
    const dir = mkdtempSync(join(tmpdir(), 'saker-bench-nginx-'));
    const port = await freePort();
    writeFileSync(join(dir, 'nginx.conf'), nginxConf(dir, port));
    const proc = spawn(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const failed = new Promise<never>((_, reject) => {
      proc.once('error', (err) =>
        reject(new Error(`cannot run ${NGINX} (apt-get install nginx): ${err.message}`)),
      );
      proc.once('exit', (code) => {
        let log = '';
        try {
          log = readFileSync(join(dir, 'error.log'), 'utf8');
        } catch {}
        reject(new Error(`nginx exited (${code}) at start: ${log.trim()}`));
      });
    });
    failed.catch(() => undefined);
    const rx = new NginxReceiver(dir, port, proc);
    const deadline = Date.now() + 5000;
    for (;;) {
      try {
        await Promise.race([rx.posts(), failed]);
        return rx;
      } catch (err) {
        if (proc.exitCode !== null || proc.signalCode !== null || Date.now() > deadline) {
          rmSync(dir, { recursive: true, force: true });
          proc.kill('SIGKILL');
          throw err;
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }

  /** The master and its worker, for CPU accounting. */
  pids(): number[] {
    const master = this.#proc.pid;
    if (master === undefined) return [];
    let children: number[] = [];
    try {
      children = readFileSync(`/proc/${master}/task/${master}/children`, 'utf8')
        .trim()
        .split(/\s+/)
        .filter((p) => p !== '')
        .map(Number);
    } catch {}
    return [master, ...children];
  }

  /** Requests answered so far other than these status polls (stub_status counts the poll itself). */
  async posts(): Promise<number> {
    const text = await getText(this.#statusUrl);
    this.#polls++;
    // "Active connections: 1 \nserver accepts handled requests\n 1 1 1 \n..."
    const m = /\n\s*(\d+)\s+(\d+)\s+(\d+)\s*\n/.exec(text);
    if (!m) throw new Error(`nginx stub_status: unexpected answer ${JSON.stringify(text)}`);
    return Number(m[3]) - this.#polls;
  }

  /** Stops nginx gracefully (SIGQUIT flushes the access log), reads the log and removes the temp dir. */
  async close(): Promise<NginxLog> {
    if (this.#proc.exitCode === null && this.#proc.signalCode === null) this.#proc.kill('SIGQUIT');
    const timer = setTimeout(() => this.#proc.kill('SIGKILL'), 5000);
    await this.#exited;
    clearTimeout(timer);
    let posts = 0;
    let others = 0;
    let minPostBody = Number.POSITIVE_INFINITY;
    try {
      const text = readFileSync(join(this.#dir, 'access.log'), 'utf8');
      for (const line of text.split('\n')) {
        if (line === '') continue;
        const [method, status, length] = line.split(' ');
        if (method === 'POST' && status === '200') {
          posts++;
          minPostBody = Math.min(minPostBody, Number(length));
        } else {
          others++;
        }
      }
    } finally {
      rmSync(this.#dir, { recursive: true, force: true });
    }
    return { posts, others, minPostBody };
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close().catch(() => undefined);
  }
}
