// Tamper-evident audit log (docs/FORMAT.md §6): hash chain (SHA-384),
// signed checkpoints (ECDSA P-384), JSON Lines, and a durable IndexedDB queue.

import { ErrorCode, PhisealError, invalidArgument } from './errors.js';
import {
  idbDone as done,
  idbRequest as request,
  isA,
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
   *          resume?: {seq: number, head: string}}} [opts]
   */
  constructor(opts) {
    requireCapability('audit');
    const o = options(opts, 'options');
    this.#id = o.logId ?? crypto.randomUUID();
    this.#log = o.resume ? wasm.AuditLog.resume(this.#id, o.resume.seq, o.resume.head) : new wasm.AuditLog(this.#id);
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

  /** Signs a checkpoint now; returns its JSON line. */
  checkpoint() {
    if (!this.#key) throw new PhisealError('this log has no signing key', ErrorCode.MISUSE);
    return this.#checkpointLine();
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
}

/**
 * Verifies JSON Lines against trusted checkpoint keys (PublicKeys).
 * @returns {{valid: boolean, entries: number, checkpoints: number, lastCheckpointSeq: number, unsignedTail: number,
 *            problem: null | {line: number, seq: number|null, reason: string}}}
 */
export function verifyLog(jsonl, trustedKeys) {
  requireCapability('audit');
  if (typeof jsonl !== 'string') throw invalidArgument('log must be JSON Lines text');
  if (!Array.isArray(trustedKeys) || trustedKeys.some((k) => !isA(k, 'PublicKey'))) {
    throw invalidArgument('trustedKeys must be an array of PublicKeys');
  }
  return JSON.parse(wasm.verifyLog(jsonl, JSON.stringify(trustedKeys.map((k) => k.toJwk()))));
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

  /** @param {{name?: string, signingKey?: SigningKey, checkpointEvery?: number, clock?: () => number}} [opts] */
  static async open(opts) {
    requireCapability('audit');
    if (typeof indexedDB === 'undefined') throw new PhisealError('IndexedDB is not available', ErrorCode.UNSUPPORTED);
    const o = options(opts, 'options');
    const q = new AuditQueue();
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
    tx.objectStore('state').put({ logId: this.#log.logId, seq: this.#log.seq, head: this.#log.head }, 'chain');
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
      const before = { seq: this.#log.seq, head: this.#log.head };
      const { entry: stored, lines } = this.#log.append(entry, check);
      try {
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
      const line = this.#log.checkpoint();
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
