/**
 * JetStream publishes in batches: every message goes out with a reply
 * subject under one wildcard subscription of the connection's own, and a
 * batch waits for its acknowledgements under one timer. nats.js's request
 * path (what `js.publish` uses) makes a timer, a mux entry and, once the
 * reply came, an `Error` with its stack for every message: in the engine at
 * ~4,000 alerts/s that was ~10 % of its CPU (docs/engine.md).
 *
 * The acknowledgement is JetStream's PubAck (`{"stream","seq","duplicate"}`)
 * or an API error (`{"error":{...}}`); with no stream on the subject the
 * server answers "no responders" (status 503), which is NoStreamError, as
 * for publishDurable.
 */
import { JetStreamApiError } from '@nats-io/jetstream';
import {
  type Msg,
  type NatsConnection,
  type Subscription as NatsSub,
  createInbox,
  headers as natsHeaders,
} from '@nats-io/transport-node';
import { BusClosedError, BusTimeoutError, BusTransportError, NoStreamError } from '../errors.js';
import { assertPublishSubject } from '../subject-syntax.js';
import type { DurableMessage, PublishAck } from '../transport.js';
import { toBusError } from './errors.js';
import { toNatsHeaders } from './headers.js';

const MSG_ID_HEADER = 'Nats-Msg-Id';
const DEFAULT_TIMEOUT_MS = 5_000;

/** One message of a batch, waiting for its acknowledgement. */
interface Waiting {
  readonly subject: string;
  readonly settle: (outcome: PublishAck | Error) => void;
}

const decoder = new TextDecoder();

/** What an acknowledgement message says: the ack, or the error publishDurable would throw. */
function readAck(subject: string, m: Msg): PublishAck | Error {
  if (m.data.length === 0 && m.headers?.code === 503) return new NoStreamError(subject);
  let v: unknown;
  try {
    v = JSON.parse(decoder.decode(m.data));
  } catch (err) {
    return new BusTransportError('stream.publish', subject, { cause: err });
  }
  if (typeof v === 'object' && v !== null) {
    const r = v as { stream?: unknown; seq?: unknown; duplicate?: unknown; error?: unknown };
    if (typeof r.error === 'object' && r.error !== null) {
      const api = new JetStreamApiError(r.error as ConstructorParameters<typeof JetStreamApiError>[0]);
      return toBusError(api, { operation: 'stream.publish', subject });
    }
    if (typeof r.stream === 'string' && r.stream !== '' && typeof r.seq === 'number')
      return { stream: r.stream, sequence: r.seq, duplicate: r.duplicate === true };
  }
  return new BusTransportError('stream.publish', subject, {
    cause: new Error(`not a JetStream acknowledgement: ${decoder.decode(m.data).slice(0, 200)}`),
  });
}

/** The batch publisher of one connection: its reply subscription is made on first use. */
export class StreamPublisher {
  readonly #nc: NatsConnection;
  readonly #inboxPrefix: string | undefined;
  #sub: NatsSub | undefined;
  /** `<inbox>.`: a message's reply subject is this and its number. */
  #replyBase = '';
  #next = 0;
  readonly #waiting = new Map<string, Waiting>();

  constructor(nc: NatsConnection, inboxPrefix: string | undefined) {
    this.#nc = nc;
    this.#inboxPrefix = inboxPrefix;
    // Messages still waiting when the connection closes get no acknowledgement.
    void nc.closed().then(() => this.#failAll(new BusClosedError('stream.publish')));
  }

  publish(
    messages: readonly DurableMessage[],
    timeoutMs = DEFAULT_TIMEOUT_MS,
  ): Promise<(PublishAck | Error)[]> {
    const out: (PublishAck | Error)[] = new Array(messages.length);
    if (messages.length === 0) return Promise.resolve(out);
    this.#subscribe();
    const sent: string[] = [];
    let open = messages.length;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let finish!: () => void;
    const done = new Promise<void>((resolve) => {
      finish = resolve;
    });
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i] as DurableMessage;
      const settle = (outcome: PublishAck | Error): void => {
        out[i] = outcome;
        if (--open === 0) {
          if (timer !== undefined) clearTimeout(timer);
          finish();
        }
      };
      const reply = this.#replyBase + String(this.#next++);
      try {
        assertPublishSubject('stream.publish', m.subject);
        const h = toNatsHeaders(m.headers) ?? natsHeaders();
        if (m.msgId !== undefined) h.set(MSG_ID_HEADER, m.msgId);
        this.#waiting.set(reply, { subject: m.subject, settle });
        this.#nc.publish(m.subject, m.data, { reply, headers: h });
        sent.push(reply);
      } catch (err) {
        this.#waiting.delete(reply);
        settle(toBusError(err, { operation: 'stream.publish', subject: m.subject }));
      }
    }
    if (open > 0) {
      timer = setTimeout(() => {
        for (const reply of sent) {
          const w = this.#waiting.get(reply);
          if (w === undefined) continue;
          this.#waiting.delete(reply);
          w.settle(new BusTimeoutError('stream.publish', w.subject, timeoutMs));
        }
      }, timeoutMs);
    }
    return done.then(() => out);
  }

  #subscribe(): void {
    if (this.#sub !== undefined && !this.#sub.isClosed()) return;
    const inbox = createInbox(this.#inboxPrefix);
    this.#replyBase = `${inbox}.`;
    this.#sub = this.#nc.subscribe(`${inbox}.*`, {
      callback: (err, m) => {
        if (err !== null) {
          // The subscription failed (a permission violation): nothing will be acknowledged.
          this.#failAll(toBusError(err, { operation: 'stream.publish' }));
          return;
        }
        const w = this.#waiting.get(m.subject);
        if (w === undefined) return; // timed out already
        this.#waiting.delete(m.subject);
        w.settle(readAck(w.subject, m));
      },
    });
  }

  #failAll(err: Error): void {
    const all = [...this.#waiting.values()];
    this.#waiting.clear();
    for (const w of all) w.settle(err);
  }
}
