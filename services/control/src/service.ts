import {
  Metadata,
  type ServerUnaryCall,
  type ServerWritableStream,
  type handleUnaryCall,
  status,
} from '@grpc/grpc-js';
import {
  type AppendOutputEntry,
  type FileLoadResult,
  type LoadResult,
  type RuleSelector,
  type Ruleset,
  type RulesetDocument,
  decodeRulesetDocument,
  effectiveRuleset,
  loadRulesetDocument,
} from '@saker/rules';
import type { TokenCheck } from './auth.js';
import {
  expectedRevisionOf,
  loadResultMsg,
  ruleMsg,
  toRuleSelector,
  toRuleTexts,
  toSelections,
} from './convert.js';
import { RpcError, toStatus } from './errors.js';
import type { RuleServiceHandlers } from './gen/saker/v1/RuleService.js';
import type { RulesetRevision } from './gen/saker/v1/RulesetRevision.js';
import type { SelectRulesRequest__Output } from './gen/saker/v1/SelectRulesRequest.js';
import type { SelectRulesResponse } from './gen/saker/v1/SelectRulesResponse.js';
import type { ValidateRulesetResponse } from './gen/saker/v1/ValidateRulesetResponse.js';
import type { WatchRulesetsRequest__Output } from './gen/saker/v1/WatchRulesetsRequest.js';
import { LOAD_RESULTS_TRAILER, ON_BEHALF_OF_METADATA } from './proto.js';
import { type RulesetStore, summarize } from './store.js';

/**
 * Budget for that trailer. HTTP/2 peers cap a header block (Node's default
 * is 64 KiB), so large results lose their snippets, then their tail.
 */
const TRAILER_BUDGET = 32 * 1024;

export interface RuleServiceDeps {
  readonly store: RulesetStore;
  /** null: no token configured. */
  readonly token: TokenCheck | null;
  readonly conflictRetries: number;
  /** The engines' `append_output`: part of what makes a ruleset acceptable (effectiveRuleset). */
  readonly appendOutput: readonly AppendOutputEntry[];
  /** Serializes a ValidateRulesetResponse with the RuleService's own serializer. */
  readonly encodeLoadResults: (msg: ValidateRulesetResponse) => Buffer;
  /** Identities that may act on behalf of another author (ON_BEHALF_OF_METADATA). */
  readonly delegates: ReadonlySet<string>;
}

export interface RuleServiceImpl {
  readonly handlers: RuleServiceHandlers;
  /** Ends every open WatchRulesets stream (shutdown). */
  closeWatches(): void;
}

function errorLine(r: FileLoadResult): string | undefined {
  const d = r.errors[0];
  if (!d) return undefined;
  const at = d.locations[d.locations.length - 1]?.position;
  const where = at ? `${at.name}:${at.line}:${at.column}: ` : `${r.name}: `;
  return `${where}${d.message} [${d.code}]`;
}

/** The names of the rules a selector picks, whatever their current state. */
function selected(ruleset: Ruleset, sel: RuleSelector): string[] {
  const on = ruleset.enableRules(sel);
  const off = on.disableRules(sel);
  return on.rules.filter((r, i) => r.enabled && off.rules[i]?.enabled === false).map((r) => r.name);
}

function describeSelector(sel: RuleSelector): string {
  const parts: string[] = [];
  if (sel.rule !== undefined) parts.push(`rule ${JSON.stringify(sel.rule)}`);
  if (sel.substring !== undefined) parts.push(`substring ${JSON.stringify(sel.substring)}`);
  if (sel.tags !== undefined) parts.push(`tags ${sel.tags.map((t) => JSON.stringify(t)).join(', ')}`);
  return parts.join(' and ');
}

/**
 * Who made a call, as far as the server can tell: the client certificate's
 * subject CN under mTLS, else the bearer token's holder, else the peer
 * address (an unauthenticated caller, on loopback only).
 */
function callerIdentity(call: ServerUnaryCall<unknown, unknown>, tokenChecked: boolean): string {
  const cert = call.getAuthContext().sslPeerCertificate;
  const cn = cert?.subject?.CN;
  const name = Array.isArray(cn) ? cn.join(',') : cn;
  if (name !== undefined && name !== '') return `mtls:${name}`;
  if (tokenChecked) return 'token';
  // The peer's address without its (ephemeral) port.
  const peer = call.getPeer().replace(/:\d+$/, '');
  return `unauthenticated:${peer}`;
}

/** A name a delegate may give: 1..256 characters, none of them a control or format character. */
const DELEGATED_NAME = /^[^\p{C}]{1,256}$/u;

/**
 * The author of a write: who authenticated, or `<name> via <identity>` when
 * the call names whom it acts for and `identity` may delegate.
 */
function authorOf(metadata: Metadata, identity: string, delegates: ReadonlySet<string>): string {
  const values = metadata.get(ON_BEHALF_OF_METADATA);
  if (values.length === 0) return identity;
  if (values.length > 1) {
    throw new RpcError(status.INVALID_ARGUMENT, `${ON_BEHALF_OF_METADATA}: more than one value`);
  }
  const raw = values[0];
  let name: string | undefined;
  try {
    name = raw instanceof Buffer ? new TextDecoder('utf-8', { fatal: true }).decode(raw) : undefined;
  } catch {
    name = undefined;
  }
  if (name === undefined || !DELEGATED_NAME.test(name)) {
    throw new RpcError(
      status.INVALID_ARGUMENT,
      `${ON_BEHALF_OF_METADATA}: expected 1 to 256 characters of UTF-8 without control or format characters`,
    );
  }
  if (!delegates.has(identity)) {
    throw new RpcError(
      status.PERMISSION_DENIED,
      `${ON_BEHALF_OF_METADATA}: ${identity} may not act on behalf of another author (control.delegates lists who may); nothing was written`,
    );
  }
  return `${name} via ${identity}`;
}

export function createRuleService(deps: RuleServiceDeps): RuleServiceImpl {
  const { store } = deps;
  const watches = new Set<() => void>();

  const authorize = (metadata: Metadata): void => {
    deps.token?.verify(metadata);
  };

  /** A unary handler: authorization, then `fn`, every failure turned into a status. */
  function unary<Req, Res>(
    fn: (req: Req, call: ServerUnaryCall<Req, Res>) => Promise<Res> | Res,
  ): handleUnaryCall<Req, Res> {
    return (call, callback) => {
      void (async () => {
        try {
          authorize(call.metadata);
          callback(null, await fn(call.request, call));
        } catch (err) {
          callback(toStatus(err));
        }
      })();
    };
  }

  function refused(load: LoadResult): RpcError {
    const failed = load.results.filter((r) => !r.successful || r.errors.length > 0);
    const count = failed.reduce((n, r) => n + r.errors.length, 0);
    const first = failed.map(errorLine).find((l) => l !== undefined);
    const trailers = new Metadata();
    trailers.set(LOAD_RESULTS_TRAILER, loadResultsTrailer(load));
    return new RpcError(
      status.INVALID_ARGUMENT,
      `files: the ruleset does not load (${count} error${count === 1 ? '' : 's'})` +
        `${first === undefined ? '' : `; first: ${first}`}; nothing was written`,
      { trailers },
    );
  }

  function loadResultsTrailer(load: LoadResult): Buffer {
    const full: ValidateRulesetResponse = {
      ok: false,
      results: load.results.map((r) => loadResultMsg(r, { warnings: false })),
    };
    let encoded = deps.encodeLoadResults(full);
    if (encoded.byteLength <= TRAILER_BUDGET) return encoded;
    const lean = {
      ok: false,
      results: (full.results ?? []).map((r) => ({
        ...r,
        errors: (r.errors ?? []).map((d) => ({ ...d, snippet: '' })),
      })),
    };
    encoded = deps.encodeLoadResults(lean);
    for (let keep = 64; encoded.byteLength > TRAILER_BUDGET && keep >= 1; keep = Math.floor(keep / 2)) {
      encoded = deps.encodeLoadResults({
        ok: false,
        results: lean.results.map((r) => ({ ...r, errors: r.errors.slice(0, keep) })),
      });
    }
    return encoded;
  }

  /**
   * The next document. `author` is who authenticated (callerIdentity, or a
   * delegate's `<name> via <identity>`: authorOf), never what the request's
   * `author` field claims; a claimed author that differs is kept, marked as
   * such, at the front of the comment.
   */
  function newDoc(
    base: Pick<RulesetDocument, 'files' | 'selections'>,
    req: { author: string; comment: string },
    identity: string,
  ): RulesetDocument {
    const doc: { -readonly [K in keyof RulesetDocument]: RulesetDocument[K] } = {
      format: 1,
      files: base.files,
      selections: base.selections,
      updatedAt: new Date().toISOString(),
      author: identity,
    };
    const claimed = req.author !== '' && req.author !== identity ? `[claimed author: ${req.author}] ` : '';
    const comment = `${claimed}${req.comment}`;
    if (comment !== '') doc.comment = comment;
    return doc;
  }

  async function select(
    action: 'enable' | 'disable',
    req: SelectRulesRequest__Output,
    identity: string,
  ): Promise<SelectRulesResponse> {
    const selector = toRuleSelector(req.selector, 'selector');
    const expected = expectedRevisionOf(req);
    const { revision, doc, result } = await store.modify(
      (current) => {
        const matched = selected(current.load.ruleset, selector);
        if (matched.length === 0) {
          throw new RpcError(
            status.NOT_FOUND,
            `selector: no rule of revision ${current.revision} matches ${describeSelector(selector)}; nothing was written`,
          );
        }
        const doc = newDoc(
          { files: current.doc.files, selections: [...current.doc.selections, { action, selector }] },
          req,
          identity,
        );
        return { doc, result: { matched, load: loadRulesetDocument(doc) } };
      },
      { expected, retries: deps.conflictRetries },
    );
    return { revision: summarize(revision, doc, result.load), matched: result.matched };
  }

  async function watch(call: ServerWritableStream<WatchRulesetsRequest__Output, RulesetRevision>) {
    authorize(call.metadata);
    const feed = await store.watch();
    // Headers now tell the client the watch is in place (its `ready`).
    call.sendMetadata(new Metadata());
    const stop = () => feed.stop();
    watches.add(stop);
    call.on('cancelled', stop);
    try {
      for await (const entry of feed) {
        if (call.cancelled) break;
        if (entry.operation !== 'PUT') continue;
        if (!entry.isUpdate && call.request.skipCurrent) continue;
        let summary: RulesetRevision;
        try {
          summary = store.compile({
            revision: entry.revision,
            doc: decodeRulesetDocument(entry.value),
          }).summary;
        } catch {
          // A document no engine can load either; engines keep their previous one, so does the stream.
          continue;
        }
        if (!call.write(summary)) await new Promise((r) => call.once('drain', r));
      }
    } finally {
      watches.delete(stop);
      feed.stop();
    }
    if (!call.cancelled) call.end();
  }

  const writer = (call: ServerUnaryCall<unknown, unknown>): string =>
    authorOf(call.metadata, callerIdentity(call, deps.token !== null), deps.delegates);

  const handlers: RuleServiceHandlers = {
    ListRules: unary(async (req) => {
      const stored = await store.current();
      if (stored === null) return { revision: 0, rules: [] };
      const compiled = store.compile(stored);
      const rules = compiled.load.ruleset.rules.filter(
        (r) => (req.source === '' || r.source === req.source) && (req.tag === '' || r.tags.includes(req.tag)),
      );
      return { revision: stored.revision, rules: rules.map(ruleMsg) };
    }),

    DescribeRule: unary(async (req) => {
      if (req.name === '') throw new RpcError(status.INVALID_ARGUMENT, 'name: is empty');
      const stored = await store.current();
      if (stored === null) {
        throw new RpcError(
          status.NOT_FOUND,
          `name: no rule named ${JSON.stringify(req.name)}: no ruleset yet`,
        );
      }
      const rule = store.compile(stored).load.ruleset.rules.find((r) => r.name === req.name);
      if (rule === undefined) {
        throw new RpcError(
          status.NOT_FOUND,
          `name: no rule named ${JSON.stringify(req.name)} in revision ${stored.revision}`,
        );
      }
      return { revision: stored.revision, rule: ruleMsg(rule) };
    }),

    ValidateRuleset: unary((req) => {
      const doc = newDoc(
        { files: toRuleTexts(req.files, true), selections: toSelections(req.selections) },
        { author: '', comment: '' },
        '',
      );
      const eff = effectiveRuleset(doc, { appendOutput: deps.appendOutput });
      const load = eff.load;
      return {
        ok: eff.ok,
        results: load.results.map((r) => loadResultMsg(r, { warnings: true })),
        ruleCount: load.ruleset.rules.length,
        enabledRuleCount: load.ruleset.rules.filter((r) => r.enabled).length,
      };
    }),

    PutRuleset: unary(async (req, call) => {
      const doc = newDoc(
        { files: toRuleTexts(req.files, true), selections: toSelections(req.selections) },
        req,
        writer(call),
      );
      const expected = expectedRevisionOf(req);
      // What the engines compile (effectiveRuleset): a ruleset they would refuse is refused here.
      const eff = effectiveRuleset(doc, { appendOutput: deps.appendOutput });
      const load = eff.load;
      if (!eff.ok && eff.stage === 'load') throw refused(load);
      if (!eff.ok) {
        throw new RpcError(
          status.INVALID_ARGUMENT,
          `files: the engines would refuse this ruleset: append_output: ${eff.error}; nothing was written`,
        );
      }
      const revision = await store.write(store.seal(doc), expected);
      return {
        revision: summarize(revision, doc, load),
        results: load.results.map((r) => loadResultMsg(r, { warnings: true })),
      };
    }),

    EnableRules: unary((req, call) => select('enable', req, writer(call))),
    DisableRules: unary((req, call) => select('disable', req, writer(call))),

    WatchRulesets: (call) => {
      watch(call).catch((err: unknown) => {
        if (!call.cancelled) call.emit('error', toStatus(err));
      });
    },
  };

  return {
    handlers,
    closeWatches: () => {
      for (const stop of watches) stop();
      watches.clear();
    },
  };
}
