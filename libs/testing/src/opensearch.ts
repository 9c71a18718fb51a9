/**
 * A real OpenSearch node for tests: OpenSearch's server jar and its Netty4
 * plugin from Maven Central, started by a small launcher
 * (libs/testing/opensearch) on ephemeral loopback ports, with its data in a
 * temp dir. scripts/opensearch-node.sh fetches and compiles it into a
 * versioned cache once (scripts/setup.sh runs it); here it is only looked up.
 * Ready once the HTTP address file is written and the cluster answers
 * `_cluster/health?wait_for_status=yellow`.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DaemonStartError, startInDir, stopAndRemove } from './daemon.js';
import { repoRoot } from './shared.js';

const JDK_PACKAGE = 'openjdk-17-jdk-headless';

export interface OpenSearchNode extends AsyncDisposable {
  /** The HTTP base URL, e.g. http://127.0.0.1:41234. */
  readonly url: string;
  /** What the node wrote so far (the tail). */
  log(): string;
  stop(): Promise<void>;
}

/** The launcher's folder in the cache (classes/ and lib/); made by scripts/opensearch-node.sh when missing. */
function launcherDir(): string {
  const script = join(repoRoot(), 'scripts', 'opensearch-node.sh');
  try {
    return execFileSync('bash', [script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch (err) {
    const stderr = (err as { stderr?: unknown }).stderr;
    throw new DaemonStartError(
      `${script} failed (it needs mvn and javac: scripts/setup.sh installs them)`,
      { output: typeof stderr === 'string' ? stderr : '' },
      { cause: err },
    );
  }
}

export async function startOpenSearch(
  options: { startTimeoutMs?: number; heapMb?: number } = {},
): Promise<OpenSearchNode> {
  const launcher = launcherDir();
  const dir = mkdtempSync(join(tmpdir(), 'saker-opensearch-'));
  const portFile = join(dir, 'http-address');
  const java = process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'java') : '/usr/bin/java';
  const heap = `${options.heapMb ?? 512}m`;
  let url = '';
  const daemon = await startInDir(
    dir,
    {
      what: 'OpenSearch',
      debianPackage: JDK_PACKAGE,
      binary: java,
      args: [
        `-Xms${heap}`,
        `-Xmx${heap}`,
        '-XX:+UseSerialGC',
        '-XX:TieredStopAtLevel=1',
        '-cp',
        `${join(launcher, 'classes')}:${join(launcher, 'lib', '*')}`,
        'OpenSearchNode',
        join(dir, 'home'),
        portFile,
      ],
      cwd: dir,
    },
    async () => {
      if (url === '') {
        if (!existsSync(portFile)) return false;
        url = `http://${readFileSync(portFile, 'utf8').trim()}`;
      }
      try {
        return (await fetch(`${url}/_cluster/health?wait_for_status=yellow&timeout=1s`)).ok;
      } catch {
        return false;
      }
    },
    options.startTimeoutMs ?? 120_000,
  );
  const stop = stopAndRemove(daemon, dir);
  return { url, log: () => daemon.output(), stop, [Symbol.asyncDispose]: stop };
}
