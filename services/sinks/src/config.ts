/**
 * Falco's output sections (`outputsView` of @saker/config) turned into
 * output settings: each enabled section becomes one output, named after it
 * (`stdout`, `file`, `syslog`, `http`, `program`), with falco.yaml's
 * meaning. Per-output Saker settings (minimum priority, routing, dedup,
 * retries, syslog transport) come in `extra`, keyed by output name, until
 * @saker/config carries them (see docs/sinks.md).
 */
import type { OutputsView } from '@saker/config';
import type { AlertFormat } from './alert.js';
import type { OutputSettings } from './options.js';
import { FileOutput } from './outputs/file.js';
import { HttpOutput } from './outputs/http.js';
import type { Output } from './outputs/output.js';
import { ProgramOutput } from './outputs/program.js';
import { StdoutOutput } from './outputs/stdout.js';
import { SyslogOutput, type SyslogOutputOptions } from './outputs/syslog.js';

export type OutputExtras = Omit<OutputSettings, 'output'>;

export interface OutputsFromConfigOptions {
  /** Saker's settings per output name. */
  readonly extra?: Readonly<Record<string, OutputExtras>>;
  /** Remote syslog instead of the local socket. */
  readonly syslog?: Omit<SyslogOutputOptions, 'format' | 'name'>;
}

export function outputsFromConfig(view: OutputsView, o: OutputsFromConfigOptions = {}): OutputSettings[] {
  const format: AlertFormat = view.format;
  const outputs: Output[] = [];
  if (view.stdout.enabled) outputs.push(new StdoutOutput({ format }));
  if (view.file.enabled) {
    outputs.push(new FileOutput({ format, filename: view.file.filename, keepAlive: view.file.keepAlive }));
  }
  if (view.syslog.enabled) outputs.push(new SyslogOutput({ format, ...o.syslog }));
  if (view.http.enabled) {
    const h = view.http;
    outputs.push(
      new HttpOutput({
        format,
        url: h.url,
        userAgent: h.userAgent,
        insecure: h.insecure,
        caCert: h.caCert,
        caBundle: h.caBundle,
        caPath: h.caPath,
        mtls: h.mtls,
        clientCert: h.clientCert,
        clientKey: h.clientKey,
        compressUploads: h.compressUploads,
        keepAlive: h.keepAlive,
      }),
    );
  }
  if (view.program.enabled) {
    outputs.push(
      new ProgramOutput({ format, program: view.program.program, keepAlive: view.program.keepAlive }),
    );
  }
  return outputs.map((output) => {
    const defaults: OutputExtras = output instanceof HttpOutput ? { concurrency: 16 } : {};
    return { ...defaults, ...o.extra?.[output.name], format, output };
  });
}
