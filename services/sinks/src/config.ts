/**
 * Falco's output sections (`outputsView` of @saker/config) turned into
 * output settings: each enabled section becomes one output, named after it
 * (`stdout`, `file`, `syslog`, `http`, `program`), with falco.yaml's
 * meaning. Per-output Saker settings (minimum priority, routing, dedup,
 * retries, syslog transport) come in `extra`, keyed by output name, until
 * @saker/config carries them (see docs/sinks.md).
 *
 * falcosidekick's outputs (`sinks.sidekick`, `sinksView(config).sidekick`)
 * become output settings through sidekickOutputsFromConfig: each output
 * whose required key is set, wrapped in the sidekick layer (customfields,
 * customtags, templatedfields, minimumpriority).
 */
import { existsSync, readFileSync } from 'node:fs';
import { type Bus, connectBus } from '@saker/bus';
import {
  type OutputsView,
  SINK_OUTPUTS,
  type SidekickConfig,
  type SidekickOutputName,
  type SinksView,
} from '@saker/config';
import type { FalcoAlert } from '@saker/rules';
import type { MetricsRegistry } from '@saker/telemetry';
import { type AlertFormat, DEFAULT_FORMAT } from './alert.js';
import { SinksOptionsError, retryable } from './errors.js';
import type { InputOptions, OutputSettings } from './options.js';
import { AlertmanagerOutput } from './outputs/alertmanager.js';
import { DiscordOutput } from './outputs/discord.js';
import { ElasticsearchOutput } from './outputs/elasticsearch.js';
import { FileOutput } from './outputs/file.js';
import { readPem } from './outputs/http-client.js';
import { HttpOutput } from './outputs/http.js';
import { KafkaOutput, type KafkaSaslMechanism } from './outputs/kafka.js';
import { LokiOutput } from './outputs/loki.js';
import { NatsOutput } from './outputs/nats.js';
import { OpsgenieOutput } from './outputs/opsgenie.js';
import type { Delivery, Output } from './outputs/output.js';
import { PagerDutyOutput } from './outputs/pagerduty.js';
import { ProgramOutput } from './outputs/program.js';
import { PrometheusOutput } from './outputs/prometheus.js';
import { RedisOutput } from './outputs/redis.js';
import { SlackOutput } from './outputs/slack.js';
import { SmtpOutput } from './outputs/smtp.js';
import { StdoutOutput } from './outputs/stdout.js';
import { SyslogOutput, type SyslogOutputOptions } from './outputs/syslog.js';
import { TeamsOutput } from './outputs/teams.js';
import { WebhookOutput } from './outputs/webhook.js';
import { type SidekickCommonOptions, type SidekickTlsOptions, sidekickSettings } from './sidekick.js';

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

const KEY_OF_OPTION: Readonly<Record<string, string>> = {
  messageFormat: 'messageformat',
  outputFormat: 'outputformat',
  headers: 'customheaders',
  subject: 'subjecttemplate',
  mutualTls: 'mutualtls',
  caCertFile: 'tlsclient.cacertfile',
  index: 'index',
  key: 'key',
  from: 'from',
  to: 'to',
  method: 'method',
  brokers: 'hostport',
  topic: 'topic',
  balancer: 'balancer',
  compression: 'compression',
  requiredAcks: 'requiredacks',
  sasl: 'sasl',
  routingKey: 'routingkey',
  apiKey: 'apikey',
  region: 'region',
  severity: 'severity',
  url: 'url',
};

/**
 * Deliveries in progress at once per sidekick output when its `concurrency`
 * key is not set. The outputs that POST over HTTP run 16 at once: one POST
 * at a time caps an output at one round trip per alert, and falcosidekick
 * does not keep order either (a goroutine per alert). The others keep
 * stream order (one at a time); a key raises it.
 */
export const SIDEKICK_CONCURRENCY: Readonly<Record<SidekickOutputName, number>> = {
  webhook: 16,
  slack: 16,
  teams: 16,
  discord: 16,
  elasticsearch: 16,
  loki: 16,
  alertmanager: 16,
  prometheus: 1,
  nats: 1,
  redis: 1,
  smtp: 1,
  kafka: 1,
  pagerduty: 16,
  opsgenie: 16,
};

const KAFKA_SASL: Readonly<Record<'PLAIN' | 'SCRAM_SHA256' | 'SCRAM_SHA512', KafkaSaslMechanism>> = {
  PLAIN: 'plain',
  SCRAM_SHA256: 'scram-sha-256',
  SCRAM_SHA512: 'scram-sha-512',
};

/** An option error of an output, named by its configuration key (`sinks.sidekick.slack.messageformat`). */
function configError(name: SidekickOutputName, err: unknown): unknown {
  if (!(err instanceof SinksOptionsError) || err.path.startsWith('sinks.')) return err;
  const base = `sinks.sidekick.${name}`;
  const global = /^outputs\.[^.]+\.(customFields|customTags|templatedFields)(.*)$/.exec(err.path);
  if (global)
    return new SinksOptionsError(`sinks.sidekick.${global[1]?.toLowerCase()}${global[2]}`, err.reason);
  const rest = err.path.replace(new RegExp(`^(outputs\\.)?${name}\\.?`), '');
  const option = /^([A-Za-z]+)/.exec(rest)?.[1];
  const key = option === undefined ? undefined : KEY_OF_OPTION[option];
  if (key !== undefined)
    return new SinksOptionsError(`${base}.${key}${rest.slice(option?.length)}`, err.reason);
  return new SinksOptionsError(base, rest === '' ? err.reason : `${rest}: ${err.reason}`);
}

function splitHostPort(value: string, defaultPort: number): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+))(?::(\d+))?$/.exec(value);
  return { host: m?.[1] ?? m?.[2] ?? value, port: m?.[3] === undefined ? defaultPort : Number(m[3]) };
}

/** falcosidekick's subject template (`falco.<priority>.<rule>`) in NatsOutput's form (`{{priority}}`). */
function natsTemplate(t: string): string {
  return t.replace(/<(priority|rule|source|hostname)>/g, '{{$1}}');
}

const NO_BUS: Pick<Bus, 'publish' | 'flush'> = {
  publish: () => undefined,
  flush: async () => undefined,
};

/** NatsOutput on its own connection, opened at the first delivery (a failed connect is retried). */
class LazyNatsOutput implements Output {
  readonly name = 'nats';
  readonly #url: string;
  readonly #format: AlertFormat;
  readonly #subject: string;
  #inner: Promise<NatsOutput> | undefined;

  constructor(url: string, format: AlertFormat, subject: string) {
    this.#url = url;
    this.#format = format;
    this.#subject = subject;
    new NatsOutput({ format, bus: NO_BUS, subject }); // validates the template now
  }

  #get(): Promise<NatsOutput> {
    if (this.#inner === undefined) {
      const inner = connectBus({ url: this.#url.split(','), name: 'saker-sinks-nats' }).then(
        (bus) => new NatsOutput({ format: this.#format, bus, ownsBus: true, subject: this.#subject }),
      );
      this.#inner = inner;
      inner.catch(() => {
        if (this.#inner === inner) this.#inner = undefined;
      });
    }
    return this.#inner.catch((err: unknown) => {
      throw retryable(this.name, `cannot connect to ${this.#url}: ${String(err)}`, err);
    });
  }

  async deliver(alert: FalcoAlert, raw: string): Promise<void> {
    await (await this.#get()).deliver(alert, raw);
  }

  async deliverBatch(items: readonly Delivery[]): Promise<void> {
    await (await this.#get()).deliverBatch(items);
  }

  async close(): Promise<void> {
    const inner = this.#inner;
    this.#inner = undefined;
    if (inner !== undefined) await (await inner.catch(() => undefined))?.close();
  }
}

/**
 * falcosidekick's outputs configured in `sinks.sidekick`, as output
 * settings: one per output whose required key is set (`webhook.address`,
 * `slack|teams|discord.webhookurl`, `elasticsearch|loki|alertmanager|nats|smtp.hostport`,
 * `redis.address`, `kafka.hostport`, `pagerduty.routingkey`, `opsgenie.apikey`;
 * `prometheus.enabled`). Each opts in to the sidekick layer
 * (sidekickSettings). Errors name the configuration key.
 */
export function sidekickOutputsFromConfig(
  view: { readonly sidekick: SidekickConfig },
  o: SidekickFromConfigOptions = {},
): OutputSettings[] {
  const sk = view.sidekick;
  const format: AlertFormat = { ...DEFAULT_FORMAT, ...o.format, json: true };
  const caFile = sk.tlsclient.cacertfile;
  const readCa = (name: SidekickOutputName): string | undefined => {
    if (caFile === null) return undefined;
    try {
      return readFileSync(caFile, 'utf8');
    } catch (err) {
      throw new SinksOptionsError('sinks.sidekick.tlsclient.cacertfile', `${name}: ${String(err)}`);
    }
  };
  const tls = (
    name: SidekickOutputName,
    c: { checkcert: boolean; mutualtls: boolean },
  ): SidekickTlsOptions => {
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
  const siem = (
    name: SidekickOutputName,
    c: { checkcert: boolean; customheaders: Readonly<Record<string, string>> },
  ) => {
    const ca = readCa(name);
    return { headers: c.customheaders, insecure: !c.checkcert, ...(ca === undefined ? {} : { ca }) };
  };

  const built: [SidekickOutputName, () => Output][] = [];
  const add = (name: SidekickOutputName, on: boolean, make: () => Output): void => {
    if (on) built.push([name, make]);
  };
  const { webhook, slack, teams, discord, elasticsearch: es, loki, alertmanager: am } = sk;
  add(
    'webhook',
    webhook.address !== '',
    () =>
      new WebhookOutput({
        address: webhook.address,
        method: webhook.method,
        headers: webhook.customheaders,
        ...tls('webhook', webhook),
      }),
  );
  add(
    'slack',
    slack.webhookurl !== '',
    () =>
      new SlackOutput({
        webhookUrl: slack.webhookurl,
        ...(slack.channel === '' ? {} : { channel: slack.channel }),
        username: slack.username,
        ...(slack.icon === '' ? {} : { iconUrl: slack.icon }),
        footer: slack.footer,
        outputFormat: slack.outputformat,
        ...(slack.messageformat === '' ? {} : { messageFormat: slack.messageformat }),
        headers: slack.customheaders,
        ...tls('slack', slack),
      }),
  );
  add(
    'teams',
    teams.webhookurl !== '',
    () =>
      new TeamsOutput({
        webhookUrl: teams.webhookurl,
        outputFormat: teams.outputformat,
        headers: teams.customheaders,
        ...tls('teams', teams),
      }),
  );
  add(
    'discord',
    discord.webhookurl !== '',
    () =>
      new DiscordOutput({
        webhookUrl: discord.webhookurl,
        ...(discord.icon === '' ? {} : { avatarUrl: discord.icon }),
        headers: discord.customheaders,
        ...tls('discord', discord),
      }),
  );
  add(
    'elasticsearch',
    es.hostport !== '',
    () =>
      new ElasticsearchOutput({
        url: es.hostport,
        index: es.index,
        suffix: es.suffix,
        ...(es.username === '' ? {} : { username: es.username, password: es.password }),
        ...(es.apikey === '' ? {} : { apiKey: es.apikey }),
        ...siem('elasticsearch', es),
      }),
  );
  add(
    'loki',
    loki.hostport !== '',
    () =>
      new LokiOutput({
        url: loki.hostport,
        format,
        ...(loki.tenant === '' ? {} : { tenant: loki.tenant }),
        ...(loki.user === '' ? {} : { username: loki.user, password: loki.apikey }),
        fieldLabels: loki.extralabels,
        ...siem('loki', loki),
      }),
  );
  add(
    'alertmanager',
    am.hostport !== '',
    () =>
      new AlertmanagerOutput({
        url: am.hostport,
        extraLabels: am.extralabels,
        ...(am.expireafter > 0 ? { expiresAfterMs: am.expireafter * 1000 } : {}),
        ...siem('alertmanager', am),
      }),
  );
  add('prometheus', sk.prometheus.enabled, () => {
    if (o.metrics === undefined) {
      throw new SinksOptionsError(
        'sinks.sidekick.prometheus.enabled',
        "needs the service's metrics registry",
      );
    }
    return new PrometheusOutput({ registry: o.metrics, extraLabels: sk.prometheus.extralabels });
  });
  add(
    'nats',
    sk.nats.hostport !== '',
    () => new LazyNatsOutput(sk.nats.hostport, format, natsTemplate(sk.nats.subjecttemplate)),
  );
  add('redis', sk.redis.address !== '', () => {
    const r = sk.redis;
    return new RedisOutput({
      format,
      ...splitHostPort(r.address, 6379),
      ...(r.password === '' ? {} : { password: r.password }),
      ...(r.database === 0 ? {} : { database: r.database }),
      key: r.key,
      mode: r.storagetype,
    });
  });
  add('smtp', sk.smtp.hostport !== '', () => {
    const m = sk.smtp;
    const ca = readCa('smtp');
    return new SmtpOutput({
      ...splitHostPort(m.hostport, 25),
      from: m.from,
      to: m.to,
      ...(m.user === '' ? {} : { username: m.user, password: m.password }),
      tls: { insecure: !m.checkcert, ...(ca === undefined ? {} : { ca }) },
    });
  });

  add('kafka', sk.kafka.hostport !== '', () => {
    const k = sk.kafka;
    if (k.topic === '') {
      throw new SinksOptionsError(
        'sinks.sidekick.kafka.topic',
        'required when sinks.sidekick.kafka.hostport is set',
      );
    }
    if (k.mutualtls && !k.tls) {
      throw new SinksOptionsError('sinks.sidekick.kafka.mutualtls', 'needs sinks.sidekick.kafka.tls: true');
    }
    const t = tls('kafka', k);
    const cas = [
      ...(k.tls ? [readCa('kafka')] : []),
      ...(t.mutualTls?.caCertFile === undefined
        ? []
        : [readPem('sinks.sidekick.mutualtlsclient.cacertfile', t.mutualTls.caCertFile)]),
    ].filter((c) => c !== undefined);
    const client =
      t.mutualTls === null || t.mutualTls === undefined
        ? {}
        : {
            cert: readPem('sinks.sidekick.mutualtlsclient.certfile', t.mutualTls.clientCertFile),
            key: readPem('sinks.sidekick.mutualtlsclient.keyfile', t.mutualTls.clientKeyFile),
          };
    return new KafkaOutput({
      format,
      brokers: k.hostport
        .split(',')
        .map((b) => b.trim())
        .filter((b) => b !== ''),
      topic: k.topic,
      ...(k.clientid === '' ? {} : { clientId: k.clientid }),
      balancer: k.balancer,
      compression: k.compression === 'GZIP' ? 'gzip' : 'none',
      requiredAcks: k.requiredacks === 'NONE' ? 'none' : k.requiredacks === 'ONE' ? 'one' : 'all',
      topicCreation: k.topiccreation,
      tls: k.tls ? { insecure: !k.checkcert, ...(cas.length === 0 ? {} : { ca: cas }), ...client } : false,
      sasl:
        k.sasl === '' ? null : { mechanism: KAFKA_SASL[k.sasl], username: k.username, password: k.password },
    });
  });

  const { pagerduty: pd, opsgenie: og } = sk;
  add(
    'pagerduty',
    pd.routingkey !== '',
    () =>
      new PagerDutyOutput({
        routingKey: pd.routingkey,
        region: pd.region,
        severity: pd.severity,
        ...(pd.url === '' ? {} : { url: pd.url }),
        headers: pd.customheaders,
        ...tls('pagerduty', pd),
      }),
  );
  add(
    'opsgenie',
    og.apikey !== '',
    () =>
      new OpsgenieOutput({
        apiKey: og.apikey,
        region: og.region,
        ...(og.url === '' ? {} : { url: og.url }),
        headers: og.customheaders,
        ...tls('opsgenie', og),
      }),
  );

  const common: SidekickCommonOptions = {
    customFields: sk.customfields,
    customTags: sk.customtags,
    templatedFields: sk.templatedfields,
  };
  return built.map(([name, make]) => {
    const c = sk[name];
    try {
      return sidekickSettings(
        make(),
        { ...common, ...(c.minimumpriority === null ? {} : { minimumPriority: c.minimumpriority }) },
        {
          format,
          concurrency: c.concurrency ?? SIDEKICK_CONCURRENCY[name],
          ...(c.minimumPriority === null ? {} : { minimumPriority: c.minimumPriority }),
          ...(c.condition === null ? {} : { condition: c.condition }),
        },
      );
    } catch (err) {
      throw configError(name, err);
    }
  });
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
