/** Image references as Falco splits them: `[host[:port]/]path[:tag][@digest]`. */

export interface ImageParts {
  readonly repository: string;
  readonly tag: string;
  readonly digest: string;
}

/** Splits a reference; a `sha256:…` id alone has no repository. */
export function parseImageRef(ref: string): ImageParts {
  if (ref === '' || /^sha256:[0-9a-f]+$/.test(ref)) return { repository: '', tag: '', digest: '' };
  let rest = ref;
  let digest = '';
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  // A colon after the last slash starts the tag; before it, it is a registry port.
  let tag = '';
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  return { repository: rest, tag, digest };
}

/** `sha256:abc…` → `abc…`; anything else unchanged. */
export function stripAlgorithm(id: string): string {
  return id.startsWith('sha256:') ? id.slice('sha256:'.length) : id;
}
