import { type LoadOptions, type LoadResult, type RuleText, loadRules } from './loader/load.js';
import type { RuleSelector } from './loader/ruleset.js';

/**
 * A ruleset as it is stored and shipped between services: the rule files'
 * text plus the enable/disable selections applied on top, in order. The
 * control service writes it to the KV bucket `saker_rules`; every engine
 * watches that key and compiles it. Text, not compiled rules, travels, so an
 * engine of any version compiles with its own field registry.
 */
export interface RulesetDocument {
  /** Format version of this document. */
  readonly format: 1;
  readonly files: readonly RuleText[];
  /** Applied in order after loading: each enables or disables the rules it selects. */
  readonly selections: readonly RulesetSelection[];
  /** Who wrote it and why, for the audit trail (`saker ctl` fills these). */
  readonly author?: string;
  readonly comment?: string;
  /** RFC 3339 time of the write. */
  readonly updatedAt: string;
  /** Control's Ed25519 signature over the rest (ruleset-signing.ts); absent: unsigned. */
  readonly signature?: RulesetSignature;
}

export interface RulesetSignature {
  readonly alg: 'ed25519';
  /** rulesetKeyId() of the signing key. */
  readonly keyId: string;
  /** The signature, base64. */
  readonly value: string;
}

export interface RulesetSelection {
  readonly action: 'enable' | 'disable';
  readonly selector: RuleSelector;
}

/** The KV key that holds the current ruleset document in bucket `saker_rules`. */
export const RULESET_KEY = 'ruleset.current';

/**
 * Loads a document's files and applies its selections in order. Never throws;
 * check `ok` before using the ruleset (an engine keeps its previous one when
 * this fails).
 */
export function loadRulesetDocument(doc: RulesetDocument, options?: LoadOptions): LoadResult {
  const result = loadRules(doc.files, options);
  let ruleset = result.ruleset;
  for (const { action, selector } of doc.selections) {
    ruleset = action === 'enable' ? ruleset.enableRules(selector) : ruleset.disableRules(selector);
  }
  return { ...result, ruleset };
}

export class RulesetDocumentError extends Error {
  override readonly name = 'RulesetDocumentError';
  readonly path: string;

  constructor(path: string, reason: string) {
    super(`${path}: ${reason}`);
    this.path = path;
  }
}

export function encodeRulesetDocument(doc: RulesetDocument): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(doc));
}

/** Decodes and checks a document from the wire; throws RulesetDocumentError naming the bad path. */
export function decodeRulesetDocument(data: Uint8Array): RulesetDocument {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(data));
  } catch (err) {
    throw new RulesetDocumentError('$', `not valid JSON: ${(err as Error).message}`);
  }
  const o = record(value, '$');
  if (o.format !== 1)
    throw new RulesetDocumentError('$.format', `expected 1, got ${JSON.stringify(o.format)}`);
  if (!Array.isArray(o.files)) throw new RulesetDocumentError('$.files', 'expected an array');
  o.files.forEach((f, i) => {
    const fo = record(f, `$.files[${i}]`);
    if (typeof fo.name !== 'string')
      throw new RulesetDocumentError(`$.files[${i}].name`, 'expected a string');
    if (typeof fo.content !== 'string') {
      throw new RulesetDocumentError(`$.files[${i}].content`, 'expected a string');
    }
  });
  if (!Array.isArray(o.selections)) throw new RulesetDocumentError('$.selections', 'expected an array');
  o.selections.forEach((s, i) => {
    const so = record(s, `$.selections[${i}]`);
    if (so.action !== 'enable' && so.action !== 'disable') {
      throw new RulesetDocumentError(`$.selections[${i}].action`, 'expected "enable" or "disable"');
    }
    const sel = record(so.selector, `$.selections[${i}].selector`);
    for (const k of ['rule', 'substring'] as const) {
      if (sel[k] !== undefined && typeof sel[k] !== 'string') {
        throw new RulesetDocumentError(`$.selections[${i}].selector.${k}`, 'expected a string');
      }
    }
    if (
      sel.tags !== undefined &&
      !(Array.isArray(sel.tags) && sel.tags.every((t) => typeof t === 'string'))
    ) {
      throw new RulesetDocumentError(`$.selections[${i}].selector.tags`, 'expected an array of strings');
    }
  });
  for (const k of ['author', 'comment'] as const) {
    if (o[k] !== undefined && typeof o[k] !== 'string')
      throw new RulesetDocumentError(`$.${k}`, 'expected a string');
  }
  if (typeof o.updatedAt !== 'string') throw new RulesetDocumentError('$.updatedAt', 'expected a string');
  if (o.signature !== undefined) {
    const sig = record(o.signature, '$.signature');
    if (sig.alg !== 'ed25519') throw new RulesetDocumentError('$.signature.alg', 'expected "ed25519"');
    for (const k of ['keyId', 'value'] as const) {
      if (typeof sig[k] !== 'string') throw new RulesetDocumentError(`$.signature.${k}`, 'expected a string');
    }
  }
  return o as unknown as RulesetDocument;
}

function record(value: unknown, path: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new RulesetDocumentError(path, 'expected an object');
  }
  return value as Record<string, unknown>;
}
