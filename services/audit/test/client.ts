/** A webhook client that behaves like the API server's: POST, JSON, optional gzip, keep-alive. */
import { type Agent as HttpAgent, type IncomingHttpHeaders, request as httpRequest } from 'node:http';
import { type Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { gzipSync } from 'node:zlib';

export interface PostOptions {
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly token?: string;
  readonly gzip?: boolean;
  readonly method?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Send the body in chunks without Content-Length. */
  readonly chunked?: boolean;
  readonly agent?: HttpAgent | HttpsAgent;
  /** Fail (naming the URL) when the socket is idle this long without an answer. Default 30 s. */
  readonly timeoutMs?: number;
}

export interface PostResult {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  /** The Status message, when the body is a metav1.Status. */
  readonly message: string;
}

export function post(url: string, body: string | Buffer, o: PostOptions = {}): Promise<PostResult> {
  const u = new URL(url);
  const raw = typeof body === 'string' ? Buffer.from(body) : body;
  const data = o.gzip ? gzipSync(raw) : raw;
  const headers: Record<string, string> = { 'content-type': 'application/json', ...o.headers };
  if (o.gzip) headers['content-encoding'] = 'gzip';
  if (o.token !== undefined) headers.authorization = `Bearer ${o.token}`;
  if (!o.chunked) headers['content-length'] = String(data.length);
  const request = u.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      u,
      {
        method: o.method ?? 'POST',
        headers,
        ca: o.ca,
        cert: o.cert,
        key: o.key,
        agent: o.agent,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let message = '';
          try {
            const v = JSON.parse(text) as { message?: unknown };
            if (typeof v.message === 'string') message = v.message;
          } catch {
            // not a Status
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text, message });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    // A webhook that never answers fails the test here, not the whole run.
    const timeoutMs = o.timeoutMs ?? 30_000;
    req.setTimeout(timeoutMs, () => {
      req.destroy(new Error(`POST ${url}: no answer within ${timeoutMs} ms`));
    });
    if (o.chunked) {
      const step = 64 * 1024;
      const writeFrom = (at: number): void => {
        if (at >= data.length) {
          req.end();
          return;
        }
        const ok = req.write(data.subarray(at, at + step));
        if (ok) setImmediate(() => writeFrom(at + step));
        else req.once('drain', () => writeFrom(at + step));
      };
      // The server may answer (413) and close before everything is written.
      req.on('error', () => undefined);
      writeFrom(0);
    } else {
      req.end(data);
    }
  });
}
