/**
 * `saker run`: every service of the registry in one process under one
 * supervisor (libs/runtime), over the in-memory bus or NATS with --nats;
 * plus the rules files watched and written to KV saker_rules (which
 * `saker control --load-rules` does in the distributed shape).
 */
import type { SakerConfig } from '@saker/config';
import { type FlagValues, type ServiceModule, hostServices } from '@saker/runtime';
import { type Command, type Io, parseCommandArgs } from '../io.js';
import { SERVICES } from '../services/registry.js';
import { startRulesFiles } from '../services/rules-files.js';
import {
  COMMON_HELP,
  COMMON_OPTIONS,
  commonOverrides,
  hostOptions,
  hostOrReport,
  loadCommandConfig,
  processLogger,
} from './service.js';

const NAME = 'run';

// --- the command --------------------------------------------------------------

/**
 * saker run's own part: the rules files go into KV saker_rules at start
 * (keeping the selections `saker ctl rules enable/disable` made) and again
 * on every edit that loads, as `saker ctl rules put` does; the engines
 * hot-swap. A "support" service, so it starts before the engines.
 */
function rulesFilesService(): ServiceModule<SakerConfig> {
  return {
    name: 'rules',
    stage: 'support',
    summary: 'the rules files into KV saker_rules',
    help: '',
    flags: {},
    overrides: () => ({}),
    standaloneNeedsNats: false,
    async start(ctx) {
      const rules = await startRulesFiles({
        bus: ctx.bus,
        config: ctx.config,
        logger: ctx.logger,
        author: 'saker run',
        out: ctx.out,
        watch: ctx.config.watchConfigFiles,
        // `systemctl reload saker` (the Debian package's unit), with watch_config_files off too.
        reloadOnSighup: true,
      });
      return {
        name: 'rules',
        health: () => ({ ok: true, detail: `revision ${rules.revision()}` }),
        describe: () => `revision=${rules.revision()}`,
        async stop() {
          rules.stop();
        },
      };
    },
  };
}

export const run: Command = {
  name: NAME,
  summary: 'run Saker in one process: every service (sources, engine, sinks, control, enrich)',
  help: `Usage: saker run [--config saker.yaml] [--nats URL] [-r FILE|DIR ...] [options]

Runs every service in one process under one supervisor: the sensor (as root;
sensor.enabled) and recorded events (--replay), the Kubernetes audit source
(when audit.listen or audit.files is set), the engine, the sinks (Falco's
stdout_output, file_output, syslog_output, http_output and program_output,
as text or JSON lines per json_output, and falcosidekick's outputs under
sinks.sidekick; docs/sinks.md), the control API (gRPC, control.listen,
default 127.0.0.1:5060) and enrichment (docs/enrich.md), with /metrics and
/healthz on telemetry.listen. The bus is in memory unless --nats (or
nats.url) names a server. Each service is what 'saker <service>' runs alone.

Rules come from the configuration's rules_files (default: Saker's rules/
folder) or -r. Rules files are watched (watch_config_files): a change is
loaded and written to KV saker_rules, as 'saker ctl rules put' does, and the
engines hot-swap; a change that does not load keeps the rules in use and
prints the errors.

SIGINT or SIGTERM drains in flow order (sources, engine, sinks, then the
rest: every event taken is evaluated and every alert delivered) and exits 0.
SIGHUP reloads the rules files (systemctl reload), watched or not. SIGUSR1
reopens file_output's file.

Options:
  -r, --rules FILE|DIR     rules to load instead of rules_files; repeat for more
  --replay FILE.jsonl      publish recorded events (libs/events JSON lines); repeatable
  --replay-dir DIR         publish each *.jsonl file that appears in DIR, once, in name order
                           (write it under another name and rename it in)
  --json                   print alerts as Falco's JSON (json_output: true)
  --control-listen H:P     control API address (control.listen); 'off' to not start it
  --no-sensor              do not attach the probe (sensor.enabled: false)
${COMMON_HELP}`,
  async run(args: readonly string[], io: Io): Promise<number> {
    const { values } = parseCommandArgs(NAME, args, {
      ...COMMON_OPTIONS,
      rules: { type: 'string', short: 'r', multiple: true },
      replay: { type: 'string', multiple: true },
      'replay-dir': { type: 'string' },
      json: { type: 'boolean' },
      'control-listen': { type: 'string' },
      'no-sensor': { type: 'boolean' },
    });
    const controlOff = values['control-listen'] === 'off';
    const overrides: Record<string, unknown> = commonOverrides(values);
    if (values.rules !== undefined) overrides.rules_files = values.rules;
    if (values.json) overrides.json_output = true;
    if (values['control-listen'] !== undefined && !controlOff) {
      overrides.control = { listen: values['control-listen'] };
    }
    if (values['no-sensor']) overrides.sensor = { enabled: false };
    const config = loadCommandConfig(NAME, io, values.config, overrides);
    const logger = processLogger('saker', config, io);
    const modules = [rulesFilesService(), ...SERVICES.filter((m) => !(controlOff && m.name === 'control'))];
    const sensorFlags: FlagValues = { replay: values.replay, 'replay-dir': values['replay-dir'] };
    return hostOrReport(logger, { serviceName: 'saker', config }, () =>
      hostServices({
        name: 'run',
        modules,
        flags: (m) => (m.name === 'sensor' ? sensorFlags : {}),
        ...hostOptions(values, config, logger, io),
      }),
    );
  },
};
