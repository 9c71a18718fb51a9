import type { FieldDef, FieldLookup } from './types.js';

/**
 * The fields of one event source, looked up by name. Names are matched
 * exactly first; then the longest registered prefix that takes a dotted
 * argument wins (`evt.arg.flags` → `evt.arg` with argument `flags`;
 * `k8s.pod.label.app` → `k8s.pod.label` with `app`).
 */
export class FieldRegistry<E> {
  readonly source: string;
  readonly #byName = new Map<string, FieldDef<E>>();

  constructor(source: string, defs: Iterable<FieldDef<E>>) {
    this.source = source;
    for (const d of defs) {
      if (this.#byName.has(d.name)) throw new Error(`field ${d.name} is registered twice for ${source}`);
      this.#byName.set(d.name, d);
    }
  }

  get(name: string): FieldDef<E> | undefined {
    return this.#byName.get(name);
  }

  /**
   * Resolves a field as written without brackets (`proc.name`, `evt.arg.flags`)
   * or with a bracket argument already split off by the parser.
   */
  lookup(name: string, bracketArg?: string): FieldLookup<E> | undefined {
    const exact = this.#byName.get(name);
    if (exact) return { def: exact, arg: bracketArg };
    if (bracketArg !== undefined) return undefined;
    for (let i = name.lastIndexOf('.'); i > 0; i = name.lastIndexOf('.', i - 1)) {
      const def = this.#byName.get(name.slice(0, i));
      if (def?.arg?.dotted) return { def, arg: name.slice(i + 1) };
    }
    return undefined;
  }

  list(): FieldDef<E>[] {
    return [...this.#byName.values()];
  }

  /** Whether any field of this source begins with `prefix.` (to tell a typo from an unknown class). */
  hasClass(cls: string): boolean {
    const prefix = `${cls}.`;
    for (const name of this.#byName.keys()) if (name.startsWith(prefix)) return true;
    return false;
  }
}
