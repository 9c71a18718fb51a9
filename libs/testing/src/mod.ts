export type { TestPki, TestPkiFiles, TestPkiOptions } from './pki.js';
export { makeTestPki } from './pki.js';
export { seededRandom } from './random.js';
export {
  KUBE_RESOURCES,
  type KubeApiRequest,
  type KubeApiServer,
  type KubeResource,
  type KubeTestObject,
  type KubeWatchEventType,
  startKubeApiServer,
} from './kube-api.js';
export { repoRoot, sharedDir, sharedPath, sharedSkip } from './shared.js';
export type { NatsServerHandle, NatsServerOptions, NatsServerRuntime } from './nats-server.js';
export {
  NATS_IMAGE,
  NATS_SERVER_PACKAGE,
  NatsServerStartError,
  dockerReachable,
  findBinary,
  parsePortsFile,
  selectRuntime,
  startNatsServer,
} from './nats-server.js';
export type { NatsClusterHandle, NatsClusterOptions, NatsClusterServer } from './nats-cluster.js';
export { startNatsCluster } from './nats-cluster.js';
export type {
  BusyboxImage,
  BusyboxImageOptions,
  ContainerdOptions,
  RuncRunOptions,
  RunResult,
} from './containers.js';
export {
  BUSYBOX,
  Containerd,
  PAUSE_IMAGE,
  buildBusyboxImage,
  buildBusyboxImageInfo,
  busyboxRootfs,
  kubepodsCgroup,
  newContainerId,
  removeCgroup,
  runcRun,
} from './containers.js';
