/**
 * Falco's output sections (`outputsView` of @saker/config) turned into
 * output settings: each enabled section becomes one output, named after it
 * (`stdout`, `file`, `syslog`, `http`, `program`), with falco.yaml's
 * meaning. Per-output Saker settings (minimum priority, routing, dedup,
 * retries, syslog transport) come in `extra`, keyed by output name, until
 * @saker/config carries them (see docs/sinks.md).
 *
 * falcosidekick's outputs (`sinks.sidekick`, `sinksView(config).sidekick`)
 * become output settings through sidekickOutputsFromConfig: each output of
 * the registry (sidekick/registry.ts) its configuration turns on, wrapped in
 * the sidekick layer (customfields, customtags, templatedfields,
 * minimumpriority).
 */
import { existsSync, readFileSync } from 'node:fs';
import {
  ConfigSection,
  type Fields,
  type ObjectOf,
  type OutputsView,
  SINK_OUTPUTS,
  type SinksView,
} from '@saker/config';
import type { MetricsRegistry } from '@saker/telemetry';
import { type AlertFormat, DEFAULT_FORMAT } from './alert.js';
import { SinksOptionsError } from './errors.js';
import type { InputOptions, OutputSettings } from './options.js';
import { FileOutput } from './outputs/file.js';
import { HttpOutput } from './outputs/http.js';
import type { Output } from './outputs/output.js';
import { ProgramOutput } from './outputs/program.js';
import { StdoutOutput } from './outputs/stdout.js';
import { SyslogOutput, type SyslogOutputOptions } from './outputs/syslog.js';
import type { SidekickContext, SidekickOutputDescriptor } from './sidekick/descriptor.js';
import { type SidekickCommonOptions, sidekickSettings } from './sidekick/enrich.js';
import {
  SIDEKICK_OUTPUTS,
  type SidekickConfig,
  type SidekickOutputName,
  readSidekickConfig,
} from './sidekick/registry.js';

type OutputExtras = Omit<OutputSettings, 'output'>;

interface OutputsFromConfigOptions {
  /** Saker's settings per output name. */
  readonly extra?: Readonly<Record<string, OutputExtras>>;
  /** Remote syslog instead of the local socket. */
  readonly syslog?: Omit<SyslogOutputOptions, 'format' | 'name'>;
}

function outputsFromConfig(view: OutputsView, o: OutputsFromConfigOptions = {}): OutputSettings[] {
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

export interface FalcoOutputsOptions extends OutputsFromConfigOptions {
  /** The local syslog socket. Default `/dev/log`. */
  readonly devLog?: string;
  /** Told why an enabled output is left out. */
  readonly notice?: (message: string) => void;
}

/**
 * Falco's output sections with Saker's per-output filters
 * (`sinks.outputs.<name>`: minimum priority, condition), as `saker run` and
 * the standalone sinks both run them. The local syslog output is left out,
 * with a notice, when `devLog` does not exist: Falco's syslog(3) drops the
 * alerts silently there, and retrying them would only hold up every shutdown.
 * Settings in `o.extra` win over the filters.
 */
export function falcoOutputsFromConfig(
  view: OutputsView,
  filters: SinksView['outputs'],
  o: FalcoOutputsOptions = {},
): OutputSettings[] {
  let v = view;
  const devLog = o.devLog ?? '/dev/log';
  if (v.syslog.enabled && o.syslog === undefined && !existsSync(devLog)) {
    o.notice?.(`syslog_output: ${devLog} does not exist; the syslog output is off`);
    v = { ...v, syslog: { enabled: false } };
  }
  const extra: Record<string, OutputExtras> = {};
  for (const name of SINK_OUTPUTS) {
    const f = filters[name];
    extra[name] = {
      ...(f.minimumPriority === null ? {} : { minimumPriority: f.minimumPriority }),
      ...(f.condition === null ? {} : { condition: f.condition }),
      ...(f.concurrency === null ? {} : { concurrency: f.concurrency }),
      ...o.extra?.[name],
    };
  }
  return outputsFromConfig(v, { ...o, extra });
}

// --- falcosidekick's outputs (sinks.sidekick) ------------------------------------

export interface SidekickFromConfigOptions {
  /**
   * The `json_include_*` and `time_format_iso_8601` keys (outputsView(config).format).
   * Lines are always Falco's JSON, as falcosidekick receives and forwards it.
   */
  readonly format?: AlertFormat;
  /** The service's registry (SinksOptions.metrics): needed by `prometheus`. */
  readonly metrics?: MetricsRegistry;
}

/** A descriptor with its field types erased: its config came from its own schema (sidekickSchema). */
interface ErasedDescriptor {
  readonly name: SidekickOutputName;
  readonly concurrency: number;
  enabled(c: unknown): boolean;
  create(c: unknown, ctx: SidekickContext): Output;
}

function erase<F extends Fields>(name: SidekickOutputName, d: SidekickOutputDescriptor<F>): ErasedDescriptor {
  return {
    name,
    concurrency: d.concurrency,
    enabled: (c) => d.enabled(c as ObjectOf<F>),
    create: (c, ctx) => d.create(c as ObjectOf<F>, ctx),
  };
}

const DESCRIPTORS: readonly ErasedDescriptor[] = (
  Object.entries(SIDEKICK_OUTPUTS) as [SidekickOutputName, SidekickOutputDescriptor<Fields>][]
).map(([name, d]) => erase(name, d));

/** The global keys (TLS client files) as the descriptors' factories use them. */
function sidekickContext(sk: SidekickConfig, o: SidekickFromConfigOptions): SidekickContext {
  const format: AlertFormat = { ...DEFAULT_FORMAT, ...o.format, json: true };
  const caFile = sk.tlsclient.cacertfile;
  const readCa = (name: string): string | undefined => {
    if (caFile === null) return undefined;
    try {
      return readFileSync(caFile, 'utf8');
    } catch (err) {
      throw new SinksOptionsError('sinks.sidekick.tlsclient.cacertfile', `${name}: ${String(err)}`);
    }
  };
  const tls: SidekickContext['tls'] = (name, c) => {
    const m = sk.mutualtlsclient;
    if (c.mutualtls && (m.certfile === null || m.keyfile === null)) {
      throw new SinksOptionsError(
        `sinks.sidekick.mutualtlsclient.${m.certfile === null ? 'certfile' : 'keyfile'}`,
        `required when sinks.sidekick.${name}.mutualtls is true`,
      );
    }
    return {
      checkCert: c.checkcert,
      ...(caFile === null ? {} : { caCertFile: caFile }),
      mutualTls:
        c.mutualtls && m.certfile !== null && m.keyfile !== null
          ? {
              clientCertFile: m.certfile,
              clientKeyFile: m.keyfile,
              ...(m.cacertfile === null ? {} : { caCertFile: m.cacertfile }),
            }
          : null,
    };
  };
  return {
    format,
    metrics: o.metrics,
    readCa,
    tls,
    http: (name, c) => ({ headers: c.customheaders, ...tls(name, c) }),
    store(name, c) {
      const ca = readCa(name);
      return {
        url: c.hostport,
        headers: c.customheaders,
        insecure: !c.checkcert,
        ...(ca === undefined ? {} : { ca }),
      };
    },
  };
}

/**
 * falcosidekick's outputs configured in `sinks.sidekick`, as output
 * settings: one per output of the registry (sidekick/registry.ts) its
 * configuration turns on, in the registry's order, each opted in to the
 * sidekick layer (sidekickSettings). `view.sidekick` is the section as
 * loaded (sinksView(config)) or already read (readSidekickConfig). Errors
 * name the configuration key.
 */
export function sidekickOutputsFromConfig(
  view: { readonly sidekick: ConfigSection | SidekickConfig },
  o: SidekickFromConfigOptions = {},
): OutputSettings[] {
  const sk = view.sidekick instanceof ConfigSection ? readSidekickConfig(view.sidekick) : view.sidekick;
  const ctx = sidekickContext(sk, o);
  const common: SidekickCommonOptions = {
    customFields: sk.customfields,
    customTags: sk.customtags,
    templatedFields: sk.templatedfields,
  };
  const out: OutputSettings[] = [];
  for (const d of DESCRIPTORS) {
    const c = sk[d.name];
    if (!d.enabled(c)) continue;
    let output: Output;
    try {
      output = d.create(c, ctx);
    } catch (err) {
      // What the schema could not check is named by the factory; anything else by the output's own option.
      if (!(err instanceof SinksOptionsError) || err.path.startsWith('sinks.')) throw err;
      throw new SinksOptionsError(`sinks.sidekick.${d.name}`, `${err.path}: ${err.reason}`);
    }
    out.push(
      sidekickSettings(
        output,
        { ...common, ...(c.minimumpriority === null ? {} : { minimumPriority: c.minimumpriority }) },
        {
          format: ctx.format,
          concurrency: c.concurrency ?? d.concurrency,
          ...(c.minimumPriority === null ? {} : { minimumPriority: c.minimumPriority }),
          ...(c.condition === null ? {} : { condition: c.condition }),
        },
      ),
    );
  }
  return out;
}

/**
 * The input's options from `sinks.input` (sinksView(config).input): the TLS
 * files are read here, and an unreadable one is an error naming its key.
 */
export function inputOptionsFromConfig(view: SinksView['input']): InputOptions | null {
  if (view === null) return null;
  const read = (key: string, file: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new SinksOptionsError(`sinks.input.tls.${key}`, `cannot read ${file}: ${String(err)}`);
    }
  };
  const tls = view.tls;
  return {
    host: view.host,
    port: view.port,
    tls:
      tls === null
        ? null
        : {
            cert: read('cert', tls.cert),
            key: read('key', tls.key),
            ...(tls.ca === null ? {} : { clientCa: read('ca', tls.ca) }),
          },
    bearerTokens: view.token === null ? [] : [view.token],
    allowUnauthenticated: view.allowUnauthenticated,
    allowPlaintextToken: view.allowPlaintextToken,
  };
}
