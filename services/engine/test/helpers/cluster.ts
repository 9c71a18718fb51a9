/**
 * A small Saker cluster for the engine's integration tests: a real
 * nats-server with JetStream, a bus client with SAKER_ALERTS declared, a
 * stats collector, and engine replicas as child processes.
 */
import { type Bus, STREAMS, connectBus } from '@saker/bus';
import { type NatsServerHandle, startNatsServer } from '@saker/testing';
import { type Replica, StatsCollector, startReplica } from './replica.js';

export interface Cluster extends AsyncDisposable {
  readonly server: NatsServerHandle;
  readonly bus: Bus;
  readonly stats: StatsCollector;
  readonly replicas: readonly Replica[];
}

export async function startCluster(options: {
  names: readonly string[];
  rules: readonly string[];
  extraArgs?: readonly string[];
}): Promise<Cluster> {
  const server = await startNatsServer({ jetstream: true });
  const replicas: Replica[] = [];
  let bus: Bus | undefined;
  let stats: StatsCollector | undefined;
  // Replicas first, then what they talk to.
  const dispose = async (): Promise<void> => {
    for (const r of replicas) await r[Symbol.asyncDispose]();
    await stats?.[Symbol.asyncDispose]();
    await bus?.close();
    await server.stop();
  };
  try {
    bus = await connectBus({ url: server.url });
    await bus.stream(STREAMS.alerts.name, STREAMS.alerts.subjects);
    stats = new StatsCollector(bus);
    const { rules, extraArgs } = options;
    replicas.push(
      ...(await Promise.all(
        options.names.map((name) =>
          startReplica({ nats: server.url, name, rules, ...(extraArgs ? { extraArgs } : {}) }),
        ),
      )),
    );
    return { server, bus, stats, replicas, [Symbol.asyncDispose]: dispose };
  } catch (err) {
    await dispose();
    throw err;
  }
}
