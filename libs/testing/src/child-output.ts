import type { ChildProcess } from 'node:child_process';

/** Resolves with the first match of `re` in what `child` writes on `stream`; rejects after `timeoutMs`. */
export function waitForOutput(
  child: ChildProcess,
  stream: 'stdout' | 'stderr',
  re: RegExp,
  timeoutMs: number,
): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const t = setTimeout(
      () => reject(new Error(`no ${re} on ${stream} in ${timeoutMs} ms:\n${seen}`)),
      timeoutMs,
    );
    child[stream]?.on('data', (chunk: Buffer) => {
      seen += chunk.toString('utf8');
      const m = re.exec(seen);
      if (m) {
        clearTimeout(t);
        resolve(m);
      }
    });
  });
}
