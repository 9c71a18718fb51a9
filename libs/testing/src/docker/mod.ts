/**
 * `@saker/testing/docker`: a private Docker engine and Saker's images as
 * testcontainers. A separate entry, because loading testcontainers takes
 * about a second and most tests never need it.
 */
export type { DockerEngine } from './engine.js';
export {
  DOCKER_CLI,
  slotLayout,
  startDockerEngine,
  sweepStaleDockerSlots,
} from './engine.js';
export type { SakerImages } from './containers.js';
export {
  containerAddress,
  containerLogs,
  loadSakerImages,
  sakerVersion,
  startNatsContainers,
  startNetwork,
  startSakerService,
  useDockerEngine,
} from './containers.js';
