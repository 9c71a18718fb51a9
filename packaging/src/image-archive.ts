/**
 * Writes a container image as a docker-archive tar (what `docker save`
 * writes, and what `docker load`, `ctr images import` and `podman load`
 * read) from folders on disk, without a registry or a daemon.
 *
 *   manifest.json            [{ Config, RepoTags, Layers }]
 *   <config digest>.json     the OCI/Docker image config: rootfs diff_ids, Entrypoint, Cmd, User, ...
 *   <layer digest>/layer.tar one uncompressed tar per layer
 *
 * Layers are made with GNU tar from staged folders, sorted by name, with a
 * fixed mtime and numeric owners taken from the staged files, so the same
 * input gives the same digests.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  createReadStream,
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';

/** The image config's `config` object (the runtime settings a Containerfile sets). */
export interface ImageRuntimeConfig {
  readonly User: string;
  readonly Entrypoint: readonly string[];
  readonly Cmd: readonly string[];
  readonly Env: readonly string[];
  readonly WorkingDir: string;
  readonly ExposedPorts?: Readonly<Record<string, Record<string, never>>>;
  readonly Labels: Readonly<Record<string, string>>;
}

export interface ImageSpec {
  /** e.g. `saker:0.1.0` */
  readonly tag: string;
  /** Staged root folders, one layer each, bottom first. */
  readonly layers: readonly { readonly dir: string; readonly comment: string }[];
  readonly config: ImageRuntimeConfig;
}

export interface WrittenImage {
  readonly file: string;
  readonly tag: string;
  readonly bytes: number;
  readonly configDigest: string;
  readonly diffIds: readonly string[];
}

/** Go's GOARCH names, as image configs use them. */
function imageArch(arch: string = process.arch): string {
  const names: Record<string, string> = {
    x64: 'amd64',
    arm64: 'arm64',
    arm: 'arm',
    ppc64: 'ppc64le',
    s390x: 's390x',
  };
  const name = names[arch];
  if (name === undefined) throw new Error(`image: no image architecture for Node's ${arch}`);
  return name;
}

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Tars one staged folder as a layer (paths relative to the image's root). */
function tarLayer(dir: string, out: string): void {
  execFileSync('tar', [
    '--create',
    '--file',
    out,
    '--directory',
    dir,
    '--sort=name',
    '--numeric-owner',
    '--mtime=@0',
    '--format=gnu',
    '.',
  ]);
}

export async function writeImageArchive(spec: ImageSpec, file: string): Promise<WrittenImage> {
  mkdirSync(dirname(file), { recursive: true });
  const work = mkdtempSync(join(dirname(file), '.image-'));
  try {
    const diffIds: string[] = [];
    const layerPaths: string[] = [];
    for (const [i, layer] of spec.layers.entries()) {
      const tmp = join(work, `layer-${i}.tar`);
      tarLayer(layer.dir, tmp);
      const digest = await sha256File(tmp);
      mkdirSync(join(work, digest), { recursive: true });
      renameSync(tmp, join(work, digest, 'layer.tar'));
      diffIds.push(`sha256:${digest}`);
      layerPaths.push(`${digest}/layer.tar`);
    }
    const config = {
      architecture: imageArch(),
      os: 'linux',
      created: '1970-01-01T00:00:00Z',
      config: spec.config,
      rootfs: { type: 'layers', diff_ids: diffIds },
      history: spec.layers.map((l) => ({ created: '1970-01-01T00:00:00Z', created_by: l.comment })),
    };
    const configText = JSON.stringify(config);
    const configDigest = createHash('sha256').update(configText).digest('hex');
    writeFileSync(join(work, `${configDigest}.json`), configText);
    writeFileSync(
      join(work, 'manifest.json'),
      JSON.stringify([{ Config: `${configDigest}.json`, RepoTags: [spec.tag], Layers: layerPaths }]),
    );
    splitTag(spec.tag);
    const tmpFile = `${file}.tmp`;
    execFileSync('tar', [
      '--create',
      '--file',
      tmpFile,
      '--directory',
      work,
      '--sort=name',
      '--numeric-owner',
      '--owner=0',
      '--group=0',
      '--mtime=@0',
      '--format=gnu',
      '.',
    ]);
    renameSync(tmpFile, file);
    return {
      file,
      tag: spec.tag,
      bytes: statSync(file).size,
      configDigest: `sha256:${configDigest}`,
      diffIds,
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** `name:tag` → [name, tag]; a registry port (`host:5000/x`) is not a tag. */
function splitTag(ref: string): [string, string] {
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  if (colon <= slash) throw new Error(`image: ${JSON.stringify(ref)} has no tag`);
  return [ref.slice(0, colon), ref.slice(colon + 1)];
}
