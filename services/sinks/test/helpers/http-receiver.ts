import { readFileSync } from 'node:fs';
/**
 * A real HTTP(S) receiver for the http output: records every request
 * (method, headers, decoded body) and answers what the test says: 200, an
 * error status, or nothing at all (stopped: connection refused).
 */
import {
  type IncomingMessage,
  type Server,
  type ServerResponse,
  createServer as createHttp,
} from 'node:http';
import { createServer as createHttps } from 'node:https';
import { gunzipSync } from 'node:zlib';
import { LoopbackServer } from './loopback-server.js';

export interface ReceivedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
  readonly clientCertCn: string | undefined;
}

export interface ReceiverTls {
  readonly cert: string;
  readonly key: string;
  /** Require client certificates signed by this CA. */
  readonly clientCa?: string;
}

export class HttpReceiver extends LoopbackServer {
  readonly requests: ReceivedRequest[] = [];
  /** The status answered; 200 by default. */
  status = 200;
  readonly #tls: ReceiverTls | undefined;

  constructor(tls?: ReceiverTls) {
    super();
    this.#tls = tls;
  }

  get url(): string {
    return `${this.#tls ? 'https' : 'http'}://127.0.0.1:${this.port}/`;
  }

  /** Bodies of the requests answered 2xx. */
  accepted: string[] = [];

  protected handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let raw = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') raw = gunzipSync(raw);
      const body = raw.toString('utf8');
      const sock = req.socket as { getPeerCertificate?: () => { subject?: { CN?: string } } };
      const cn = sock.getPeerCertificate?.()?.subject?.CN;
      this.requests.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body,
        clientCertCn: cn,
      });
      const status = this.status;
      if (status >= 200 && status < 300) this.accepted.push(body);
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(status < 300 ? 'ok' : 'nope');
    });
  }

  protected createServer(handle: (req: IncomingMessage, res: ServerResponse) => void): Server {
    const t = this.#tls;
    return t
      ? createHttps(
          {
            cert: readFileSync(t.cert),
            key: readFileSync(t.key),
            ...(t.clientCa
              ? { ca: readFileSync(t.clientCa), requestCert: true, rejectUnauthorized: true }
              : {}),
          },
          handle,
        )
      : createHttp(handle);
  }
}
