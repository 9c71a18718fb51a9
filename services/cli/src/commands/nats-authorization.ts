import {
  type NatsUserEntry,
  SAKER_SERVICES,
  type SakerService,
  natsAuthorizationBlock,
  natsPermissions,
} from '@saker/bus';
import { type Command, EXIT_OK, type Io, UsageError, parseCommandArgs } from '../io.js';

const NAME = 'nats authorization';

function isService(value: string): value is SakerService {
  return (SAKER_SERVICES as readonly string[]).includes(value);
}

/** `USER=SERVICE[@NODE][:NKEY]` → a user of the permission map. */
export function parseNatsUser(spec: string): NatsUserEntry {
  const m = /^([A-Za-z0-9_.-]+)=([a-z-]+)(?:@([^:\s]+))?(?::(U[A-Z2-7]{55}))?$/.exec(spec);
  if (m === null) {
    throw new UsageError(`expected USER=SERVICE[@NODE][:NKEY], got ${JSON.stringify(spec)}`, NAME);
  }
  const [, user = '', service = '', node, nkey] = m;
  if (!isService(service)) {
    throw new UsageError(
      `${JSON.stringify(service)}: not a service; services: ${SAKER_SERVICES.join(', ')}`,
      NAME,
    );
  }
  if ((service === 'sensor' || service === 'enrich-node') && node === undefined) {
    throw new UsageError(`${user}: a ${service} user needs its node: ${user}=${service}@NODE`, NAME);
  }
  const variable = `$SAKER_NATS_${user.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_PASSWORD`;
  return {
    service,
    ...(node === undefined ? {} : { node }),
    ...(nkey === undefined ? { user, password: variable } : { nkey }),
  };
}

/** `saker nats authorization`: the nats-server authorization block for Saker's users (docs/security.md). */
export const natsAuthorization: Command = {
  name: NAME,
  summary: "print a nats-server authorization block with each service's least permissions",
  help: `Usage: saker nats authorization USER=SERVICE[@NODE][:NKEY]... [--json]

Prints the nats-server configuration block that gives each user the
permissions of its Saker service (docs/security.md), for a nats-server
config file or the Helm chart. SERVICE is one of:
${SAKER_SERVICES.join(', ')}. A sensor or node-mode enrich user names its
node (sensor-a=sensor@node-a). With an nkey public key (U...) the user
authenticates by nkey; otherwise its password is the environment variable
$SAKER_NATS_<USER>_PASSWORD of the nats-server (a bcrypt hash is best).

Options:
  --json      print each user's publish and subscribe allow lists as JSON instead
  -h, --help  show this help
`,
  async run(args: readonly string[], io: Io): Promise<number> {
    const { values, positionals } = parseCommandArgs(NAME, args, {
      json: { type: 'boolean' },
    });
    if (positionals.length === 0) throw new UsageError('name at least one USER=SERVICE', NAME);
    const users = positionals.map(parseNatsUser);
    if (values.json) {
      const doc = users.map((u) => ({
        ...(u.user === undefined ? { nkey: u.nkey } : { user: u.user }),
        service: u.service,
        ...natsPermissions(u.service, u.node === undefined ? {} : { node: u.node }),
      }));
      await io.out(`${JSON.stringify(doc, null, 2)}\n`);
      return EXIT_OK;
    }
    await io.out(natsAuthorizationBlock(users));
    return EXIT_OK;
  },
};
