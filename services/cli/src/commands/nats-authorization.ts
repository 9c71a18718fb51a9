import {
  LEAF_SERVICES,
  type NatsUserEntry,
  SAKER_SERVICES,
  type SakerService,
  natsAuthorizationBlock,
  natsInboxPrefix,
  natsUserPermissions,
} from '@saker/bus';
import { type Command, EXIT_OK, type Io, UsageError, parseCommandArgs } from '../io.js';

const NAME = 'nats authorization';

function isService(value: string): value is SakerService {
  return (SAKER_SERVICES as readonly string[]).includes(value);
}

/**
 * `USER=SERVICE[@NODE][:NKEY]` → a user of the permission map. NODE `*`: one
 * user for every node's sensor or node-mode enrich. `USER=leaf@DOMAIN`: a
 * node's leaf node connection at the hub, carrying the node services
 * (LEAF_SERVICES) into JetStream domain DOMAIN.
 */
export function parseNatsUser(spec: string): NatsUserEntry {
  const m = /^([A-Za-z0-9_.-]+)=([a-z-]+)(?:@([^:\s]+))?(?::(U[A-Z2-7]{55}))?$/.exec(spec);
  if (m === null) {
    throw new UsageError(
      `expected USER=SERVICE[@NODE][:NKEY] or USER=leaf@DOMAIN, got ${JSON.stringify(spec)}`,
      NAME,
    );
  }
  const [, user = '', service = '', node, nkey] = m;
  const who =
    nkey === undefined
      ? { user, password: `$SAKER_NATS_${user.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_PASSWORD` }
      : { nkey };
  if (service === 'leaf') {
    if (node === undefined || !/^[A-Za-z0-9_-]+$/.test(node)) {
      throw new UsageError(
        `${user}: a leaf user names the hub's JetStream domain: ${user}=leaf@DOMAIN`,
        NAME,
      );
    }
    return { service: LEAF_SERVICES[0], leaf: { services: LEAF_SERVICES, domain: node }, ...who };
  }
  if (!isService(service)) {
    throw new UsageError(
      `${JSON.stringify(service)}: not a service; services: ${SAKER_SERVICES.join(', ')} (or leaf@DOMAIN)`,
      NAME,
    );
  }
  if ((service === 'sensor' || service === 'enrich-node') && node === undefined) {
    throw new UsageError(
      `${user}: a ${service} user needs its node: ${user}=${service}@NODE (or @* for any node)`,
      NAME,
    );
  }
  return { service, ...(node === undefined ? {} : { node }), ...who };
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
node (sensor-a=sensor@node-a), or * for one user of every node
(sensor=sensor@*). leaf@DOMAIN is a node's leaf node connection at the hub:
the node services' permissions with the JetStream API under the hub's
JetStream domain DOMAIN (leaf=leaf@saker). With an nkey public key (U...) the user
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
        ...(u.leaf === undefined
          ? { service: u.service, inboxPrefix: natsInboxPrefix(u.service) }
          : { service: 'leaf', domain: u.leaf.domain }),
        ...natsUserPermissions(u),
      }));
      await io.out(`${JSON.stringify(doc, null, 2)}\n`);
      return EXIT_OK;
    }
    await io.out(natsAuthorizationBlock(users));
    return EXIT_OK;
  },
};
