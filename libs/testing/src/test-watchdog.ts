/**
 * Loaded into every test file's process by scripts/test.sh (`node --test
 * --import`). A file still running after SAKER_TEST_WATCHDOG_S seconds
 * (default 600; no file takes more than a few minutes) writes, on stderr,
 * what its process is waiting on: the libuv handles (sockets with both
 * ends, child processes, timers) and the state of its child processes.
 * The test runner prints that under the file, before --test-timeout
 * cancels it, so a hang that happens only on some machine can be read
 * from that machine's log. The timer is unref'd: it never keeps a
 * process alive, and a file that ends in time prints nothing.
 */
import { execFileSync } from 'node:child_process';

interface UvHandle {
  readonly type?: string;
  readonly is_active?: boolean;
  readonly is_referenced?: boolean;
  readonly localEndpoint?: { readonly host?: string; readonly port?: number } | null;
  readonly remoteEndpoint?: { readonly host?: string; readonly port?: number } | null;
  readonly pid?: number;
  readonly ms?: number;
}

const endpoint = (e: UvHandle['localEndpoint']): string =>
  e === null || e === undefined ? '-' : `${e.host ?? '?'}:${e.port ?? '?'}`;

function describeHandle(h: UvHandle): string {
  const parts = [h.type ?? '?'];
  if (h.localEndpoint != null || h.remoteEndpoint != null)
    parts.push(`${endpoint(h.localEndpoint)} -> ${endpoint(h.remoteEndpoint)}`);
  if (h.pid !== undefined) parts.push(`pid ${h.pid}`);
  if (h.ms !== undefined) parts.push(`due in ${h.ms} ms`);
  return parts.join(' ');
}

function children(): string[] {
  let table: string;
  try {
    table = execFileSync('ps', ['-e', '-o', 'pid=,ppid=,stat=,etime=,args='], {
      encoding: 'utf8',
      timeout: 5_000,
    });
  } catch (err) {
    return [`(ps failed: ${err instanceof Error ? err.message : String(err)})`];
  }
  // The whole tree below this process: nats-servers, daemons, and their state (D = stuck in I/O).
  const rows = table
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .map((l) => ({ pid: Number(l.split(/\s+/)[0]), ppid: Number(l.split(/\s+/)[1]), line: l }));
  const mine = new Set([process.pid]);
  const out: string[] = [];
  for (let grew = true; grew; ) {
    grew = false;
    for (const r of rows) {
      if (!mine.has(r.pid) && mine.has(r.ppid)) {
        mine.add(r.pid);
        out.push(r.line);
        grew = true;
      }
    }
  }
  return out.length === 0 ? ['(none)'] : out;
}

function report(seconds: number): void {
  const file = process.argv[1] ?? '?';
  const lines = [`test-watchdog: ${file} still running after ${seconds} s; it is waiting on:`];
  lines.push(`  resources: ${process.getActiveResourcesInfo().join(', ')}`);
  const uv = (process.report.getReport() as { libuv?: UvHandle[] }).libuv ?? [];
  for (const h of uv)
    if (h.is_active === true && h.is_referenced === true) lines.push(`  ${describeHandle(h)}`);
  lines.push('  child processes (pid ppid stat elapsed command):', ...children().map((l) => `    ${l}`));
  process.stderr.write(`${lines.join('\n')}\n`);
}

const seconds = Number(process.env.SAKER_TEST_WATCHDOG_S ?? '600');
// Only in the test files' processes: `node --test` itself runs as long as the whole suite.
if (!process.execArgv.includes('--test') && Number.isFinite(seconds) && seconds > 0) {
  setTimeout(() => report(seconds), seconds * 1000).unref();
}
