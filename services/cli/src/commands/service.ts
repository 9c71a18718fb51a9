/**
 * `saker <service>`: one service of the registry alone, against NATS, from
 * the same saker.yaml as `saker run` and through the same factory, so it
 * behaves the same alone and embedded. Every service takes the common flags.
 */
import { type SakerConfig, busView, loadConfig } from '@saker/config';
import {
  type FlagValues,
  type HostOptions,
  type LogFormat,
  type LogLevel,
  type Logger,
  OptionError,
  type ServiceModule,
  createLogger,
  errorKind,
  hostServices,
} from '@saker/runtime';
import {
  TelemetryConfigError,
  type TelemetryHandle,
  type TelemetryInitConfig,
  initTelemetry,
  tracingInitConfig,
} from '@saker/telemetry/sdk';
import { type Command, EXIT_FAIL, EXIT_USAGE, type Io, UsageError, parseCommandArgs } from '../io.js';
import { SERVICES } from '../services/registry.js';
import { recordCommand, recordHelp, recordOptions } from './sensor-record.js';

export const COMMON_OPTIONS = {
  config: { type: 'string', short: 'c' },
  nats: { type: 'string' },
  'metrics-listen': { type: 'string' },
  'log-level': { type: 'string' },
  'log-format': { type: 'string' },
} as const;

export const COMMON_HELP = `Common options (every service, and saker run):
  -c, --config FILE        saker.yaml (or a falco.yaml); see docs/config.md
  --nats URL               the NATS server (nats.url); a service alone needs one
  --metrics-listen H:P     /metrics and /healthz address (telemetry.listen); 'off' to not serve
  --log-level LEVEL        debug, info, warn or error (log.level)
  --log-format FORMAT      text or json (log.format)
  -h, --help               show this help
`;

interface CommonValues {
  readonly nats?: string | undefined;
  readonly 'metrics-listen'?: string | undefined;
  readonly 'log-level'?: string | undefined;
  readonly 'log-format'?: string | undefined;
}

/** telemetry.listen, unless --metrics-listen off. */
/**
 * What hostServices takes alike for `saker run` and `saker <service>`: the
 * config, the bus from `nats.*` (tls, auth, inbox_prefix, the stream limits;
 * the in-memory bus takes the limits), the telemetry listener, the logger
 * and stdout.
 */
export function hostOptions(
  values: CommonValues,
  config: SakerConfig,
  logger: Logger,
  io: Io,
): Pick<
  HostOptions<SakerConfig>,
  'config' | 'natsUrl' | 'natsOptions' | 'telemetryListen' | 'logger' | 'out'
> {
  return {
    config,
    natsUrl: config.nats.url,
    natsOptions: busView(config),
    telemetryListen: telemetryListen(values, config),
    logger,
    out: io.out,
  };
}

function telemetryListen(values: CommonValues, config: SakerConfig): string | null {
  return values['metrics-listen'] === 'off' ? null : config.telemetry.listen;
}

/** The configuration keys the common flags stand for. */
export function commonOverrides(values: CommonValues): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  if (values.nats !== undefined) o.nats = { url: values.nats };
  if (values['metrics-listen'] !== undefined && values['metrics-listen'] !== 'off') {
    o.telemetry = { listen: values['metrics-listen'] };
  }
  const log: Record<string, unknown> = {};
  if (values['log-level'] !== undefined) log.level = values['log-level'];
  if (values['log-format'] !== undefined) log.format = values['log-format'];
  if (Object.keys(log).length > 0) o.log = log;
  return o;
}

/** Loads the configuration; an option error (file:line:col, variable or flag) is a usage problem of `command`. */
export function loadCommandConfig(
  command: string,
  io: Io,
  file: string | undefined,
  overrides: Record<string, unknown>,
): SakerConfig {
  try {
    return loadConfig({
      ...(file === undefined ? {} : { file }),
      overrides,
      onNotice: (m) => io.err(`saker: ${m}\n`),
    });
  } catch (err) {
    if (err instanceof OptionError)
      throw new UsageError(`configuration: ${err.message}`, command, { cause: err });
    throw err;
  }
}

/** The process's logger, per log.level and log.format, with the configuration's secrets scrubbed. */
export function processLogger(name: string, config: SakerConfig, io: Io): Logger {
  const secrets = [config.control.token, config.sinks.input.token, ...config.audit.tokens].filter(
    (s): s is string => s !== null,
  );
  return createLogger({
    name,
    level: config.log.level as LogLevel,
    format: config.log.format as LogFormat,
    write: (line) => io.err(line),
    secrets,
  });
}

/**
 * Runs the hosted services with the process's tracing (telemetry.tracing, else
 * the OTEL_* variables) set up first and flushed last; a failure to start is
 * reported by its kind (option errors, a bad tracing setting among them, exit 2).
 */
export async function hostOrReport(
  logger: Logger,
  tracing: { readonly serviceName: string; readonly config: SakerConfig },
  run: () => Promise<number>,
): Promise<number> {
  let handle: TelemetryHandle | undefined;
  try {
    handle = await startProcessTracing(tracing.serviceName, tracing.config);
    return await run();
  } catch (err) {
    logger.error(err instanceof Error ? err.message : String(err));
    return errorKind(err) === 'option' ? EXIT_USAGE : EXIT_FAIL;
  } finally {
    await handle?.shutdown();
  }
}

/** The OpenTelemetry SDK of this process: `saker` for saker run, `saker-<service>` for one service. */
async function startProcessTracing(serviceName: string, config: SakerConfig): Promise<TelemetryHandle> {
  let init: TelemetryInitConfig;
  try {
    init = tracingInitConfig(serviceName, config.telemetry.tracing);
  } catch (err) {
    if (err instanceof TelemetryConfigError)
      throw new OptionError('', err.message, undefined, { cause: err });
    throw err;
  }
  return initTelemetry({ ...init, instanceId: config.hostname });
}

function serviceCommand(module: ServiceModule<SakerConfig>): Command {
  return {
    name: module.name,
    summary: `${module.summary} (alone, against NATS)`,
    help: `Usage: saker ${module.name} --nats URL [--config saker.yaml] [options]
${module.name === 'sensor' ? recordHelp : ''}
${module.help}
${COMMON_HELP}`,
    async run(args, io) {
      const { values } = parseCommandArgs(module.name, args, {
        ...COMMON_OPTIONS,
        ...module.flags,
        ...(module.name === 'sensor' ? recordOptions : {}),
      });
      const flags = values as FlagValues;
      let own: Record<string, unknown>;
      try {
        own = module.overrides(flags);
      } catch (err) {
        if (err instanceof OptionError) throw new UsageError(err.message, module.name, { cause: err });
        throw err;
      }
      const config = loadCommandConfig(module.name, io, values.config, {
        ...own,
        ...commonOverrides(values),
      });
      // `saker sensor --record FILE`: the probe's events to a file, no NATS.
      if (module.name === 'sensor' && typeof flags.record === 'string') {
        return recordCommand(flags.record, flags.syscalls, config.sensor.nodeName, io);
      }
      if (module.standaloneNeedsNats && config.nats.url === null) {
        throw new UsageError('a service alone needs a NATS server: --nats URL (or nats.url)', module.name);
      }
      const logger = processLogger(module.name, config, io);
      return hostOrReport(logger, { serviceName: `saker-${module.name}`, config }, () =>
        hostServices({
          name: module.name,
          modules: [module],
          flags: () => flags,
          ...hostOptions(values, config, logger, io),
        }),
      );
    },
  };
}

export const SERVICE_COMMANDS: readonly Command[] = SERVICES.map(serviceCommand);
