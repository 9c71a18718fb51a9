export type { TestPki } from './pki.js';
export { makeTestPki, natsServerTls } from './pki.js';
export { seededRandom } from './random.js';
export {
  KUBE_RESOURCES,
  type KubeApiServer,
  type KubeResource,
  type KubeTestObject,
  startKubeApiServer,
} from './kube-api.js';
export { SHARED_FILES, repoRoot, sharedLocation, sharedPath, sharedSkip } from './shared.js';
export type { NatsServerHandle } from './nats-server.js';
export {
  NatsServerStartError,
  dockerReachable,
  parsePortsFile,
  selectRuntime,
  startNatsServer,
} from './nats-server.js';

export { freePort, retryUntilLeader, startNatsCluster } from './nats-cluster.js';
export type { BusyboxImage } from './containers.js';
export {
  Containerd,
  PAUSE_IMAGE,
  buildBusyboxImage,
  buildBusyboxImageInfo,
  kubepodsCgroup,
  newContainerId,
  removeCgroup,
  runcRun,
} from './containers.js';
export type { ReceivedSpan } from './otlp-receiver.js';
export { startOtlpReceiver } from './otlp-receiver.js';
export { waitForOutput } from './child-output.js';
export { assertUiFrontEnd, uiGetLoggedIn, uiLogin } from './ui-login.js';

export { startPostfix } from './postfix.js';

export { startRsyslog } from './rsyslog.js';

export { startAlertmanager } from './alertmanager.js';
export type { AlertReceiver } from './alert-receiver.js';
export { startAlertReceiver } from './alert-receiver.js';
export { stalledBus } from './stalled-bus.js';
export { repeatUntil, waitFor, within } from './wait.js';
export type { OpenSearchNode } from './opensearch.js';
export { startOpenSearch } from './opensearch.js';
export { procCpuSeconds } from './proc-cpu.js';
