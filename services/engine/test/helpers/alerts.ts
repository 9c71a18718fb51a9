/** Reading SAKER_ALERTS in tests, through a durable consumer of the test's own. */
import type { Bus, ConsumerOptions } from '@saker/bus';

export interface StoredAlert {
  readonly subject: string;
  readonly msgId: string | undefined;
  readonly rule: string;
  readonly priority: string;
  readonly source: string;
  readonly output: string;
  readonly sequence: number;
  /** The W3C trace context it was stored with. */
  readonly traceparent: string | undefined;
}

const MSG_ID = 'Nats-Msg-Id';

/**
 * Reads the consumer, acking each alert, until at least `expected` alerts
 * came and then nothing more for `idleMs` (so extras and duplicates are seen
 * too), or until `timeoutMs`.
 */
export async function readAlerts(
  bus: Bus,
  durable: string,
  opts: { expected?: number; idleMs?: number; timeoutMs?: number; consumer?: ConsumerOptions } = {},
): Promise<StoredAlert[]> {
  const feed = await bus.consumer('SAKER_ALERTS', durable, { maxAckPending: 10_000, ...opts.consumer });
  const out: StoredAlert[] = [];
  const expected = opts.expected ?? 0;
  const idleMs = opts.idleMs ?? 750;
  const deadline = setTimeout(() => void feed.stop(), opts.timeoutMs ?? 30_000);
  let idle: ReturnType<typeof setTimeout> | undefined;
  const armIdle = (): void => {
    if (idle !== undefined) clearTimeout(idle);
    if (out.length >= expected) idle = setTimeout(() => void feed.stop(), idleMs);
  };
  armIdle();
  try {
    for await (const m of feed) {
      const alert = JSON.parse(new TextDecoder().decode(m.data)) as Record<string, unknown>;
      out.push({
        subject: m.subject,
        msgId: m.headers[MSG_ID],
        rule: String(alert.rule),
        priority: String(alert.priority),
        source: String(alert.source),
        output: String(alert.output),
        sequence: m.sequence,
        traceparent: m.headers.traceparent,
      });
      m.ack();
      armIdle();
    }
  } finally {
    clearTimeout(deadline);
    if (idle !== undefined) clearTimeout(idle);
    await feed.stop();
  }
  return out;
}
