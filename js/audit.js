// Tamper-evident audit log (docs/FORMAT.md §6): hash chain (SHA-384), RFC 9162
// Merkle tree (SHA-256) with inclusion and consistency proofs, checkpoints as
// C2SP signed notes (ECDSA P-384) with witness cosignatures, verification
// against a kept checkpoint, access alerts, JSON Lines, and a durable
// IndexedDB queue.

import { ErrorCode, PhisealError, invalidArgument } from './errors.js';
import {
  idbDone as done,
  idbRequest as request,
  isA,
  keysJson,
  options,
  placeholderClass,
  requireCapability,
  schemaArg,
  wasm,
  whenReady,
} from './internal.js';

/** ECDSA P-384 checkpoint-signing key: `SigningKey.generate()`, `.publicKey` (set once init() has run). */
export let SigningKey = placeholderClass('SigningKey', 'audit');
whenReady((w) => {
  if (w.SigningKey) SigningKey = w.SigningKey;
});


function entryText(entry, time) {
  const e = options(entry, 'entry');
  if (typeof e.action !== 'string' || !e.actor || typeof e.actor.id !== 'string') {
    throw invalidArgument('an audit entry needs {actor: {id, role}, action}');
  }
  return JSON.stringify({
    time,
    actor: { id: e.actor.id, role: e.actor.role ?? '' },
    patientId: e.patientId ?? undefined,
    action: e.action,
    resource: e.resource ?? undefined,
    fieldPath: e.fieldPath ?? undefined,
    outcome: e.outcome ?? 'success',
    client: { ip: e.client?.ip ?? undefined, device: e.client?.device ?? undefined },
    reason: e.reason ?? undefined,
  });
}

/** An append-only audit log (one hash chain) kept in memory. */
export class AuditLog {
  #log;
  #key;
  #every;
  #clock;
  #since = 0;
  #id;

  /**
   * @param {{logId?: string, signingKey?: SigningKey, checkpointEvery?: number, clock?: () => number,
   *          resume?: {seq: number, head: string, tree?: string}}} [opts]
   */
  constructor(opts) {
    requireCapability('audit');
    const o = options(opts, 'options');
    this.#id = o.logId ?? crypto.randomUUID();
    const r = o.resume;
    this.#log = !r
      ? new wasm.AuditLog(this.#id)
      : typeof r.tree === 'string'
        ? wasm.AuditLog.resumeWithTree(this.#id, r.seq, r.head, r.tree)
        : wasm.AuditLog.resume(this.#id, r.seq, r.head);
    this.#key = o.signingKey;
    this.#every = o.checkpointEvery ?? 100;
    if (!Number.isSafeInteger(this.#every) || this.#every < 1) {
      throw invalidArgument('checkpointEvery must be a whole number of entries, at least 1 (default 100)');
    }
    if (o.signingKey !== undefined && !isA(o.signingKey, 'SigningKey')) {
      throw invalidArgument('signingKey must be a SigningKey (SigningKey.generate(), or KeyStore.getSigningKey after a reload)');
    }
    this.#clock = o.clock ?? Date.now;
  }

  /** Appends an entry; with `{record, schema}`, refuses PHI values of that record in it. Returns the stored entry. */
  append(entry, check) {
    const text = entryText(entry, this.#clock());
    const line = check
      ? this.#log.appendChecked(text, JSON.stringify(check.record), schemaArg(check.schema))
      : this.#log.append(text);
    const lines = [line];
    if (this.#key && ++this.#since >= this.#every) lines.push(this.#checkpointLine());
    const { type, ...stored } = JSON.parse(line);
    return { entry: stored, lines };
  }

  #checkpointLine() {
    this.#since = 0;
    return this.#log.checkpoint(this.#key, this.#clock());
  }

  /** Signs a checkpoint note now; returns its JSON line (`{"type":"checkpoint","note":...}`). */
  checkpoint() {
    if (!this.#key) throw new PhisealError('this log has no signing key', ErrorCode.MISUSE);
    return this.#checkpointLine();
  }

  /**
   * Signs a checkpoint note now with `authorKey` (an AuthorKey: in browsers a
   * non-extractable WebCrypto ECDSA P-384 key, so no page script can take
   * the signing key away); resolves to its JSON line. Verifiers trust
   * `authorKey.publicKey`. No entry may be appended until it resolves
   * (MISUSE); AuditQueue serialises this for you.
   */
  async checkpointWith(authorKey) {
    if (!isA(authorKey, 'AuthorKey')) throw invalidArgument('authorKey must be an AuthorKey (generateAuthorKey(), or KeyStore.getAuthorKey after a reload)');
    const signed = await wasm.signCheckpoint(this.#log.checkpointDraft(this.#clock()), authorKey);
    this.#since = 0;
    return this.#log.addCheckpoint(signed);
  }

  /** Everything so far as JSON Lines. */
  toJsonl() {
    return this.#log.toJsonl();
  }
  get logId() {
    return this.#id;
  }
  get seq() {
    return this.#log.seq;
  }
  get head() {
    return this.#log.head;
  }
  /** Tree state to keep with `seq` and `head` for `resume` (undefined after a resume without it). */
  get treeState() {
    return this.#log.treeState;
  }
  /** Root hash (base64) of the tree of every entry, undefined if the tree state is unknown. */
  get root() {
    return this.#log.root;
  }
}

/** `verifyLog(jsonl, trustedKeys)` or `verifyLog(jsonl, {trusted, since, witnesses: {keys, required}})`. */
function verifyArgs(jsonl, opts) {
  if (typeof jsonl !== 'string') throw invalidArgument('log must be JSON Lines text');
  const o = Array.isArray(opts) ? { trusted: opts } : options(opts, 'options');
  const trusted = keysJson(o.trusted ?? [], 'trusted');
  if (o.since !== undefined && o.since !== null && typeof o.since !== 'string') {
    throw invalidArgument('since must be the checkpoint note a previous verifyLog returned (report.checkpoint)');
  }
  const w = o.witnesses === undefined ? { keys: [] } : options(o.witnesses, 'witnesses');
  const witnesses = keysJson(w.keys ?? [], 'witnesses.keys');
  const required = w.required ?? (w.keys ?? []).length;
  if (!Number.isSafeInteger(required) || required < 0) throw invalidArgument('witnesses.required must be a whole number');
  return [jsonl, trusted, o.since ?? undefined, witnesses, required];
}

/**
 * Verifies JSON Lines against trusted checkpoint keys, optionally the
 * checkpoint kept from an earlier verification (`since`: a shorter or forked
 * log is refused) and required witness cosignatures.
 */
export function verifyLog(jsonl, opts) {
  requireCapability('audit');
  return JSON.parse(wasm.verifyLog(...verifyArgs(jsonl, opts)));
}

/** Verifies the log (as verifyLog) and runs the access alerts on it; throws INVALID_SIGNATURE if it does not verify. */
export function accessAlerts(jsonl, opts) {
  requireCapability('audit');
  const o = options(opts, 'options');
  return JSON.parse(wasm.accessAlerts(...verifyArgs(jsonl, o), JSON.stringify(options(o.rules, 'rules'))));
}

/** The body of a checkpoint note: `{origin, size, root, time}`. */
export function parseCheckpoint(note) {
  requireCapability('audit');
  return JSON.parse(wasm.parseCheckpoint(note));
}

/** The JSON line that stores a (cosigned) checkpoint note in a log. */
export function checkpointLine(note) {
  if (typeof note !== 'string') throw invalidArgument('note must be text');
  return JSON.stringify({ type: 'checkpoint', note });
}

function proofJson(proof) {
  if (!Array.isArray(proof) || proof.some((h) => typeof h !== 'string')) throw invalidArgument('proof must be an array of base64 hashes');
  return JSON.stringify(proof);
}

/** The Merkle tree (RFC 9162, SHA-256) of a log's entries: roots and proofs. */
export class AuditTree {
  #tree;
  constructor(tree) {
    this.#tree = tree;
  }
  /** The tree of a JSON Lines log (its chain must verify). */
  static fromLog(jsonl) {
    requireCapability('audit');
    return new AuditTree(wasm.AuditTree.fromLog(jsonl));
  }
  get size() {
    return this.#tree.size;
  }
  /** Root (base64) of the tree of the first `size` entries (default all). */
  root(size = this.size) {
    return this.#tree.root(size);
  }
  /** Inclusion proof of entry `seq` in the tree of `size` entries. */
  inclusionProof(seq, size = this.size) {
    return JSON.parse(this.#tree.inclusionProof(seq, size));
  }
  /** Consistency proof from `oldSize` to `newSize` entries. */
  consistencyProof(oldSize, newSize = this.size) {
    return JSON.parse(this.#tree.consistencyProof(oldSize, newSize));
  }
}

/** Verifies an entry's JSON line against a tree `{size, root}` and proof; throws INVALID_SIGNATURE if it is not included. */
export function verifyInclusion(entryLine, tree, proof) {
  requireCapability('audit');
  const t = options(tree, 'tree');
  wasm.verifyInclusion(entryLine, t.size, t.root, proofJson(proof));
  return true;
}

/** Verifies that tree `newer` ({size, root}) extends `older`; throws INVALID_SIGNATURE if not. */
export function verifyConsistency(older, newer, proof) {
  requireCapability('audit');
  const a = options(older, 'older');
  const b = options(newer, 'newer');
  wasm.verifyConsistency(a.size, a.root, b.size, b.root, proofJson(proof));
  return true;
}

/**
 * A witness: cosigns a checkpoint only if one of its log keys signed it and
 * it is consistent with what it cosigned before for that log (else
 * STALE_VERSION; UNTRUSTED_AUTHOR for an unknown log key).
 */
export class Witness {
  #w;
  /** @param {{name: string, signingKey: SigningKey, logKeys: PublicKey[]}} opts */
  constructor(opts) {
    requireCapability('audit');
    const o = options(opts, 'options');
    if (!isA(o.signingKey, 'SigningKey')) throw invalidArgument('signingKey must be a SigningKey');
    this.#w = new wasm.Witness(o.name, o.signingKey, keysJson(o.logKeys ?? [], 'logKeys'));
  }
  /** Returns the signature line to append to `note`. `time`: POSIX seconds. */
  cosign(note, proof = [], time = Math.floor(Date.now() / 1000)) {
    return this.#w.cosign(note, proofJson(proof), time);
  }
  /** `{size, root}` last cosigned for `origin`, or null. */
  last(origin) {
    const s = this.#w.last(origin);
    return s === undefined ? null : JSON.parse(s);
  }
  /** Restores `{size, root}` cosigned before for `origin` (after a restart). */
  remember(origin, { size, root }) {
    this.#w.remember(origin, size, root);
  }
  get name() {
    return this.#w.name;
  }
  get publicKey() {
    return this.#w.publicKey;
  }
}

// ---------------------------------------------------------------- durable queue


/**
 * An audit log whose lines are written to IndexedDB before `append`
 * resolves, so closing the tab or going offline loses nothing; `flush(sink)`
 * delivers them at least once, in order. One chain per queue name: give each
 * tab or session its own name (two tabs must not share one chain).
 */
export class AuditQueue {
  #db;
  #log;
  #opts;
  #author = null;
  #every = 0;
  #since = 0;

  /**
   * `signingKey`: a SigningKey, or an AuthorKey (non-extractable WebCrypto
   * in browsers: the key that signs checkpoints cannot be read by page
   * script, and survives reloads in a KeyStore).
   * @param {{name?: string, signingKey?: SigningKey | AuthorKey, checkpointEvery?: number, clock?: () => number}} [opts]
   */
  static async open(opts) {
    requireCapability('audit');
    if (typeof indexedDB === 'undefined') throw new PhisealError('IndexedDB is not available', ErrorCode.UNSUPPORTED);
    const o0 = options(opts, 'options');
    const q = new AuditQueue();
    // An AuthorKey signs asynchronously: the queue checkpoints itself, its log holds no key.
    let o = o0;
    if (isA(o0.signingKey, 'AuthorKey')) {
      q.#author = o0.signingKey;
      q.#every = o0.checkpointEvery ?? 100;
      if (!Number.isSafeInteger(q.#every) || q.#every < 1) throw invalidArgument('checkpointEvery must be a whole number of entries, at least 1 (default 100)');
      o = { ...o0, signingKey: undefined };
    }
    q.#opts = o;
    const open = indexedDB.open(o.name ?? 'phiseal-audit', 1);
    open.onupgradeneeded = () => {
      open.result.createObjectStore('state');
      open.result.createObjectStore('lines', { autoIncrement: true });
    };
    q.#db = await request(open);
    const state = await request(q.#db.transaction('state').objectStore('state').get('chain'));
    q.#log = new AuditLog({ ...o, logId: state?.logId, resume: state && state.seq > 0 ? state : undefined });
    return q;
  }

  async #write(lines) {
    const tx = this.#db.transaction(['state', 'lines'], 'readwrite');
    for (const line of lines) tx.objectStore('lines').add(line);
    const { logId, seq, head, treeState: tree } = this.#log;
    tx.objectStore('state').put({ logId, seq, head, tree }, 'chain');
    try {
      await done(tx);
    } catch (e) {
      throw new PhisealError(`the audit entry could not be stored: ${e?.message ?? e}`, ErrorCode.PLATFORM);
    }
  }

  #tail = Promise.resolve();

  /** Runs `step` after every earlier append or checkpoint has settled, so the chain is written in order. */
  #serial(step) {
    const run = this.#tail.then(step);
    this.#tail = run.catch(() => {});
    return run;
  }

  /** Appends an entry; resolves once it is durable in IndexedDB. Appends are serialized. */
  append(entry, check) {
    return this.#serial(async () => {
      const before = { seq: this.#log.seq, head: this.#log.head, tree: this.#log.treeState };
      const { entry: stored, lines } = this.#log.append(entry, check);
      try {
        if (this.#author !== null && ++this.#since >= this.#every) {
          lines.push(await this.#log.checkpointWith(this.#author));
          this.#since = 0;
        }
        await this.#write(lines);
      } catch (e) {
        // Nothing later has been written (appends are serialized): forget the
        // unstored entry so memory and storage stay on the same chain.
        this.#log = new AuditLog({ ...this.#opts, logId: this.#log.logId, resume: before.seq > 0 ? before : undefined });
        throw e;
      }
      return stored;
    });
  }

  /** Signs and stores a checkpoint. */
  checkpoint() {
    return this.#serial(async () => {
      const line = this.#author !== null ? await this.#log.checkpointWith(this.#author) : this.#log.checkpoint();
      this.#since = 0;
      await this.#write([line]);
      return JSON.parse(line);
    });
  }

  /** Lines not yet delivered, in order. */
  async pending() {
    return request(this.#db.transaction('lines').objectStore('lines').getAll());
  }

  /**
   * Delivers pending lines to `sink(lines)` in order and removes them once
   * the sink resolves (at least once: a failing sink leaves them queued; the
   * receiver dedupes by log id, sequence and hash).
   */
  async flush(sink) {
    if (typeof sink !== 'function') throw invalidArgument('sink must be a function');
    const store = this.#db.transaction('lines').objectStore('lines');
    const [keys, lines] = await Promise.all([request(store.getAllKeys()), request(store.getAll())]);
    if (lines.length === 0) return 0;
    await sink(lines);
    const tx = this.#db.transaction('lines', 'readwrite');
    for (const k of keys) tx.objectStore('lines').delete(k);
    await done(tx);
    return lines.length;
  }

  get logId() {
    return this.#log.logId;
  }
  get seq() {
    return this.#log.seq;
  }
  close() {
    this.#db.close();
  }
}
