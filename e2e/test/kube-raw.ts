/**
 * Raw HTTP(S) requests to a Kubernetes API server (the real one of the test
 * cluster, or the stand-in of @saker/testing), to read its wire format as a
 * client does: a list's body, a watch's newline-delimited events, headers.
 */
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';

export interface KubeEndpoint {
  /** https://host:port or http://host:port */
  readonly base: string;
  /** A bearer token, or a client certificate (PEM files) with the CA. */
  readonly token?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly ca?: string;
}

/** The test cluster's API server as its admin (scripts/k8s/pki.sh's certificates). */
export function realApiServer(pkiDir: string, base: string): KubeEndpoint {
  return {
    base,
    cert: join(pkiDir, 'admin.crt'),
    key: join(pkiDir, 'admin.key'),
    ca: join(pkiDir, 'ca.crt'),
  };
}

interface Opened {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: NodeJS.ReadableStream;
  readonly abort: () => void;
}

function open(ep: KubeEndpoint, path: string): Promise<Opened> {
  const url = new URL(path, ep.base);
  const https = url.protocol === 'https:';
  const headers: Record<string, string> = { accept: 'application/json' };
  if (ep.token !== undefined) headers.authorization = `Bearer ${ep.token}`;
  return new Promise((resolve, reject) => {
    const opts = {
      method: 'GET',
      headers,
      ...(https
        ? {
            cert: ep.cert === undefined ? undefined : readFileSync(ep.cert),
            key: ep.key === undefined ? undefined : readFileSync(ep.key),
            ca: ep.ca === undefined ? undefined : readFileSync(ep.ca),
          }
        : {}),
    };
    const req = (https ? httpsRequest : httpRequest)(url, opts, (res) =>
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        body: res,
        abort: () => req.destroy(),
      }),
    );
    req.on('error', reject);
    req.end();
  });
}

export interface KubeGet {
  readonly status: number;
  readonly contentType: string;
  readonly json: unknown;
}

/** GET `path`, its body parsed as JSON. */
export async function kubeGet(ep: KubeEndpoint, path: string): Promise<KubeGet> {
  const r = await open(ep, path);
  let text = '';
  r.body.setEncoding('utf8');
  for await (const chunk of r.body) text += String(chunk);
  return { status: r.status, contentType: String(r.headers['content-type'] ?? ''), json: JSON.parse(text) };
}

export interface KubeWatchStream {
  readonly status: number;
  readonly contentType: string;
  readonly transferEncoding: string;
  /** Each line received so far, parsed. */
  readonly events: readonly unknown[];
  /** Resolves when the server ended the stream. */
  readonly ended: Promise<void>;
  close(): void;
}

/** Opens a watch (`path` with ?watch=true…) and collects its events as they come. */
export async function kubeWatch(ep: KubeEndpoint, path: string): Promise<KubeWatchStream> {
  const r = await open(ep, path);
  const events: unknown[] = [];
  let rest = '';
  r.body.setEncoding('utf8');
  const ended = new Promise<void>((resolve) => {
    r.body.on('data', (chunk: string) => {
      rest += chunk;
      for (let nl = rest.indexOf('\n'); nl >= 0; nl = rest.indexOf('\n')) {
        const line = rest.slice(0, nl);
        rest = rest.slice(nl + 1);
        if (line.trim() !== '') events.push(JSON.parse(line));
      }
    });
    r.body.on('end', () => resolve());
    r.body.on('error', () => resolve());
    r.body.on('close', () => resolve());
  });
  return {
    status: r.status,
    contentType: String(r.headers['content-type'] ?? ''),
    transferEncoding: String(r.headers['transfer-encoding'] ?? ''),
    events,
    ended,
    close: r.abort,
  };
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const typeOf = (v: unknown): string => (Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v);

/**
 * What a client relies on in a list: its kind and apiVersion, the metadata's
 * keys and the version's type, whether items carry kind/apiVersion (the API
 * server leaves them out) and have metadata.
 */
export function listShape(body: unknown): Record<string, unknown> {
  if (!isObj(body)) return { body: typeOf(body) };
  const meta = isObj(body.metadata) ? body.metadata : {};
  const items = Array.isArray(body.items) ? body.items : [];
  return {
    keys: Object.keys(body).sort(),
    kind: body.kind,
    apiVersion: body.apiVersion,
    metadataKeys: Object.keys(meta).sort(),
    resourceVersion: typeOf(meta.resourceVersion),
    itemsTyped: items.some((i) => isObj(i) && ('kind' in i || 'apiVersion' in i)),
    itemsWithMetadata: items.every((i) => isObj(i) && isObj(i.metadata)),
  };
}

/**
 * What a client relies on in a watch event: the envelope's keys and type, the
 * object's kind and apiVersion, the version's type; for an ERROR, the
 * Status's keys and the types of its fields.
 */
export function eventShape(event: unknown): Record<string, unknown> {
  if (!isObj(event)) return { event: typeOf(event) };
  const o = isObj(event.object) ? event.object : {};
  const meta = isObj(o.metadata) ? o.metadata : {};
  const shape: Record<string, unknown> = {
    keys: Object.keys(event).sort(),
    type: event.type,
    kind: o.kind,
    apiVersion: o.apiVersion,
    resourceVersion: typeOf(meta.resourceVersion),
  };
  if (event.type === 'ERROR') {
    shape.statusKeys = Object.keys(o).sort();
    shape.statusTypes = Object.fromEntries(
      Object.entries(o)
        .map(([k, v]) => [k, typeOf(v)])
        .sort(),
    );
    shape.resourceVersion = undefined;
  }
  return shape;
}
