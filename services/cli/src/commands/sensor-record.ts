/**
 * `saker sensor --record FILE`: writes the probe's live events to FILE in the
 * replay format (for saker replay and bench:rules) until Ctrl-C, without
 * NATS. The recording itself lives in @saker/sensor (recordSensor).
 */
import { SYSCALL_IDS, recordSensor, resolveSyscalls } from '@saker/sensor';
import { EXIT_FAIL, EXIT_OK, type Io, UsageError } from '../io.js';

export const recordOptions = {
  record: { type: 'string' },
  syscalls: { type: 'string' },
} as const;

export const recordHelp = `       saker sensor --record FILE [--syscalls a,b,...]

With --record, writes the probe's events to FILE (JSON lines, for saker replay
and bench:rules) instead of publishing them (no NATS), until Ctrl-C. Needs root.
  --record FILE            record events to FILE
  --syscalls LIST          syscalls to record (comma-separated); default every one the sensor knows
`;

export async function recordCommand(
  path: string,
  syscallsFlag: unknown,
  node: string,
  io: Io,
): Promise<number> {
  const syscalls = typeof syscallsFlag === 'string' ? syscallsFlag.split(',') : Object.keys(SYSCALL_IDS);
  const { unknown } = resolveSyscalls(syscalls);
  if (unknown.length > 0)
    throw new UsageError(`--syscalls: the sensor cannot capture ${unknown.join(', ')}`, 'sensor');
  if (process.getuid?.() !== 0) {
    io.err('sensor: needs root (it loads an eBPF program)\n');
    return EXIT_FAIL;
  }
  const ac = new AbortController();
  const onSignal = (): void => ac.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const r = await recordSensor(
      {
        path,
        sensor: { syscalls, hostname: node, onError: (e) => io.err(`sensor: ${e.message}\n`) },
        onStart: () => io.err(`sensor: attached node=${node}; recording to ${path} until Ctrl-C\n`),
      },
      ac.signal,
    );
    io.err(
      `sensor: recorded ${r.written} events to ${path}${r.dropped > 0 ? ` (${r.dropped} dropped)` : ''}\n`,
    );
    return EXIT_OK;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
