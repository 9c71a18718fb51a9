/**
 * The container harness lives in @saker/testing (libs/testing/src/containers.ts),
 * shared with the enrich tests; the sensor's tests import it from here.
 */
export {
  Containerd,
  buildBusyboxImage,
  kubepodsCgroup,
  newContainerId,
  runcRun,
} from '@saker/testing';
