/**
 * The falcosidekick outputs Saker runs, one line each. The `sinks.sidekick`
 * schema (sidekickSchema) and the mapping to output settings
 * (sidekickOutputsFromConfig in config.ts) are derived from this list:
 * adding an output is its own module, with its descriptor, and one line here
 * (docs/sinks.md, "Outputs as descriptors"). The order is the order outputs
 * are built in.
 */
import {
  type ConfigSection,
  type Fields,
  type ObjectOf,
  type Schema,
  checked,
  field,
  nullable,
  object,
  section,
  stringList,
  stringMap,
} from '@saker/config';
import { alertmanagerSidekick } from '../outputs/alertmanager.js';
import { discordSidekick } from '../outputs/discord.js';
import { elasticsearchSidekick } from '../outputs/elasticsearch.js';
import { kafkaSidekick } from '../outputs/kafka.js';
import { lokiSidekick } from '../outputs/loki.js';
import { natsSidekick } from '../outputs/nats.js';
import { opsgenieSidekick } from '../outputs/opsgenie.js';
import { pagerdutySidekick } from '../outputs/pagerduty.js';
import { prometheusSidekick } from '../outputs/prometheus.js';
import { redisSidekick } from '../outputs/redis.js';
import { slackSidekick } from '../outputs/slack.js';
import { smtpSidekick } from '../outputs/smtp.js';
import { teamsSidekick } from '../outputs/teams.js';
import { webhookSidekick } from '../outputs/webhook.js';
import { type SidekickOutputDescriptor, commonFields } from './descriptor.js';
import { Template } from './template.js';

export const SIDEKICK_OUTPUTS = {
  webhook: webhookSidekick,
  slack: slackSidekick,
  teams: teamsSidekick,
  discord: discordSidekick,
  elasticsearch: elasticsearchSidekick,
  loki: lokiSidekick,
  alertmanager: alertmanagerSidekick,
  prometheus: prometheusSidekick,
  nats: natsSidekick,
  redis: redisSidekick,
  smtp: smtpSidekick,
  kafka: kafkaSidekick,
  pagerduty: pagerdutySidekick,
  opsgenie: opsgenieSidekick,
} as const;

type Registry = typeof SIDEKICK_OUTPUTS;
export type SidekickOutputName = keyof Registry;
type CommonFields = ReturnType<typeof commonFields>;
type FieldsOf<N extends SidekickOutputName> = Registry[N] extends SidekickOutputDescriptor<infer F>
  ? F
  : never;

/** What `sinks.sidekick.<name>` reads into: the output's own keys and the common ones. */
type SidekickOutputConfig<N extends SidekickOutputName> = ObjectOf<FieldsOf<N> & CommonFields>;

/** Keys of `sinks.sidekick` itself: applied to every output, as in falcosidekick. */
function globalFields(path: Schema<string>) {
  return {
    customfields: field(stringMap(), {}),
    customtags: field(stringList(), []),
    templatedfields: field(
      checked(stringMap(), (m) => {
        for (const [k, t] of Object.entries(m)) new Template(`templatedfields[${JSON.stringify(k)}]`, t);
      }),
      {},
    ),
    mutualtlsclient: section({
      certfile: field(nullable(path), null),
      keyfile: field(nullable(path), null),
      cacertfile: field(nullable(path), null),
    }),
    tlsclient: section({ cacertfile: field(nullable(path), null) }),
  };
}

/**
 * `sinks.sidekick`: falcosidekick's configuration keys (lowercase, as in its
 * config.yaml) plus Saker's `minimum_priority`, `condition` and
 * `concurrency` per output.
 */
export type SidekickConfig = ObjectOf<ReturnType<typeof globalFields>> & {
  readonly [N in SidekickOutputName]: SidekickOutputConfig<N>;
};

/** The schema of `sinks.sidekick`, from the registry. */
function sidekickSchema(path: Schema<string>): Schema<SidekickConfig> {
  const outputs: Record<string, ReturnType<typeof section<Fields>>> = {};
  for (const [name, d] of Object.entries(SIDEKICK_OUTPUTS)) {
    outputs[name] = section({ ...(d.fields as Fields), ...commonFields() });
  }
  // The loop loses each output's own field types; SidekickConfig restores them from the same registry.
  return object({ ...globalFields(path), ...outputs }) as unknown as Schema<SidekickConfig>;
}

/** Reads `sinks.sidekick` (sinksView(config).sidekick); throws ConfigError at the bad key. */
export function readSidekickConfig(s: ConfigSection): SidekickConfig {
  return s.read(({ path }) => sidekickSchema(path));
}

/** Deliveries in progress at once per output when its `concurrency` key is not set. */
export const SIDEKICK_CONCURRENCY: Readonly<Record<SidekickOutputName, number>> = Object.fromEntries(
  Object.entries(SIDEKICK_OUTPUTS).map(([name, d]) => [name, d.concurrency]),
) as Record<SidekickOutputName, number>;
