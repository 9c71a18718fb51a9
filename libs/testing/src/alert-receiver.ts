/**
 * A loopback HTTP receiver of alerts (the sinks' http output posts there):
 * it keeps every body and answers each with the status `answer` picks from
 * the body, so a test makes some deliveries fail (a 500 retried, a 400
 * dead-lettered) and counts what was delivered.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface AlertReceiver extends AsyncDisposable {
  /** `http://127.0.0.1:<port>/alerts`. */
  readonly url: string;
  /** Every request's body and the status it was answered with, in arrival order. */
  readonly received: readonly { readonly body: string; readonly status: number }[];
  close(): Promise<void>;
}

export async function startAlertReceiver(answer: (body: string) => number): Promise<AlertReceiver> {
  const received: { body: string; status: number }[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const status = answer(body);
      received.push({ body, status });
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'refused');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  const close = (): Promise<void> =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return { url: `http://127.0.0.1:${port}/alerts`, received, close, [Symbol.asyncDispose]: close };
}
