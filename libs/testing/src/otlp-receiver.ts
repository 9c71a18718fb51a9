/**
 * A stand-in for an OpenTelemetry collector's OTLP/HTTP receiver, on a
 * loopback ephemeral port: it takes `POST /v1/traces` with the JSON encoding
 * of ExportTraceServiceRequest (what @opentelemetry/exporter-trace-otlp-http
 * sends), answers as the collector does, and keeps the bodies and their
 * spans. Any other request is refused with 415, so a change of wire format
 * shows up as missing spans, not as silently accepted bytes.
 */
import { type IncomingMessage, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedSpan {
  /** The resource's `service.name`. */
  readonly service: string;
  readonly name: string;
  /** Hex, as the JSON encoding carries ids. */
  readonly traceId: string;
  readonly spanId: string;
  /** '' for a root span. */
  readonly parentSpanId: string;
  readonly attributes: Readonly<Record<string, string | number | boolean>>;
}

export interface OtlpReceiver extends AsyncDisposable {
  /** The base URL, for OTEL_EXPORTER_OTLP_ENDPOINT. */
  readonly url: string;
  /** Each accepted request body, as text. */
  readonly bodies: readonly string[];
  readonly spans: readonly ReceivedSpan[];
  close(): Promise<void>;
}

type Json = Record<string, unknown>;
const list = (v: unknown): Json[] => (Array.isArray(v) ? (v as Json[]) : []);
const text = (v: unknown): string => (typeof v === 'string' ? v : '');

function attributeValue(v: unknown): string | number | boolean {
  const a = (v ?? {}) as Json;
  if (typeof a.stringValue === 'string') return a.stringValue;
  if (typeof a.boolValue === 'boolean') return a.boolValue;
  if (typeof a.doubleValue === 'number') return a.doubleValue;
  return Number(a.intValue ?? Number.NaN);
}

/** ExportTraceServiceRequest (OTLP JSON) to flat spans. */
function decodeOtlpTracesJson(body: unknown): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  for (const rs of list((body as Json | null)?.resourceSpans)) {
    const resource = list((rs.resource as Json | undefined)?.attributes);
    const service = text(
      (resource.find((a) => a.key === 'service.name')?.value as Json | undefined)?.stringValue,
    );
    for (const ss of list(rs.scopeSpans)) {
      for (const s of list(ss.spans)) {
        const attributes: Record<string, string | number | boolean> = {};
        for (const a of list(s.attributes)) attributes[text(a.key)] = attributeValue(a.value);
        out.push({
          service,
          name: text(s.name),
          traceId: text(s.traceId),
          spanId: text(s.spanId),
          parentSpanId: text(s.parentSpanId),
          attributes,
        });
      }
    }
  }
  return out;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const bodies: string[] = [];
  const spans: ReceivedSpan[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const type = req.headers['content-type'] ?? '';
      if (req.method !== 'POST' || req.url !== '/v1/traces' || !type.startsWith('application/json')) {
        res.writeHead(415, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ code: 3, message: `unexpected ${req.method} ${req.url} (${type})` }));
        return;
      }
      const body = Buffer.concat(chunks).toString('utf8');
      bodies.push(body);
      spans.push(...decodeOtlpTracesJson(JSON.parse(body)));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    return closed;
  };
  return { url: `http://127.0.0.1:${port}`, bodies, spans, close, [Symbol.asyncDispose]: close };
}
