export type { TestPki, TestPkiFiles, TestPkiOptions } from './pki.js';
export { makeTestPki } from './pki.js';
export { seededRandom } from './random.js';
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
