/**
 * Request/reply on top of publish/subscribe, shared by both transports so a
 * failing handler looks the same everywhere: the reply carries the
 * Saker-Handler-Error header and the requester raises RemoteHandlerError.
 */
import { HANDLER_ERROR_HEADER, RemoteHandlerError } from './errors.js';
import type { BusHeaders, BusMessage, Reply, RequestHandler, Subscription } from './transport.js';

const EMPTY = new Uint8Array(0);

type Publish = (subject: string, data: Uint8Array, headers?: BusHeaders) => void;

/** Answers every request read from `sub` with `handler`, concurrently, until `sub` ends. */
export function serveRequests(publish: Publish, sub: Subscription, handler: RequestHandler): void {
  const answer = async (request: BusMessage): Promise<void> => {
    const to = request.reply;
    if (to === undefined) return; // a plain publish: nobody waits for an answer
    let reply: Reply;
    try {
      reply = await handler(request);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      trySend(publish, to, EMPTY, { [HANDLER_ERROR_HEADER]: message.replace(/[\r\n]+/g, ' ') || 'error' });
      return;
    }
    if (reply instanceof Uint8Array) trySend(publish, to, reply, undefined);
    else trySend(publish, to, reply.data, reply.headers);
  };
  void (async () => {
    for await (const request of sub) void answer(request);
  })();
}

function trySend(publish: Publish, to: string, data: Uint8Array, headers: BusHeaders | undefined): void {
  try {
    publish(to, data, headers);
  } catch {
    // The bus closed while the handler ran; the requester times out, as it would on a lost reply.
  }
}

/** Throws RemoteHandlerError when `reply` reports a handler failure; returns it otherwise. */
export function checkReply(subject: string, reply: BusMessage): BusMessage {
  const failure = RemoteHandlerError.parse(subject, reply.headers);
  if (failure !== null) throw failure;
  return reply;
}
