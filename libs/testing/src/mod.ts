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
export {
  SHARED_FILES,
  missingSharedFiles,
  repoRoot,
  sharedDir,
  sharedLocation,
  sharedPath,
  sharedSkip,
} from './shared.js';
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
export type { OtlpReceiver, ReceivedSpan } from './otlp-receiver.js';
export { decodeOtlpTracesJson, startOtlpReceiver } from './otlp-receiver.js';
export { waitForOutput } from './child-output.js';
export { DaemonStartError } from './daemon.js';
export type { DeliveredMail, PostfixOptions, PostfixServer } from './postfix.js';
export { POSTFIX_PACKAGE, startPostfix } from './postfix.js';
export type { RsyslogServer, SyslogRecord } from './rsyslog.js';
export { RSYSLOG_PACKAGE, startRsyslog } from './rsyslog.js';
export type { AlertmanagerServer } from './alertmanager.js';
export { ALERTMANAGER_PACKAGE, startAlertmanager } from './alertmanager.js';
export { waitFor, within } from './wait.js';
