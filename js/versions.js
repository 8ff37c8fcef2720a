// Rollback protection: the highest version of each record this client has
// opened, kept durably, so that a server handing back an older (or a
// different same-numbered) version is refused with STALE_VERSION.
// openRecord({versions}) calls `advance` once per successful open, with the
// authenticated header's version and digest only.

import { ErrorCode, PhisealError, invalidArgument } from './errors.js';
import { idbDone as done, idbRequest as request, options } from './internal.js';

function seenArg(seen) {
  if (seen === null || typeof seen !== 'object' || !Number.isSafeInteger(seen.version) || seen.version < 1 || typeof seen.digest !== 'string') {
    throw invalidArgument('seen must be {version, digest}');
  }
  return { version: seen.version, digest: seen.digest };
}

/** Keeps `seen` if it is newer than what is stored; returns what was stored before. */
function next(before, seen) {
  return before === undefined || seen.version > before.version ? seen : before;
}

/** A version store in memory (tests, Node services, one page's lifetime). */
export class MemoryVersionStore {
  #map = new Map();

  /** Stores `seen` when it is newer; resolves to what was stored before (or undefined). */
  async advance(key, seen) {
    if (typeof key !== 'string') throw invalidArgument('key must be a string');
    const s = seenArg(seen);
    const before = this.#map.get(key);
    this.#map.set(key, next(before, s));
    return before;
  }

  /** What is stored for `key`. */
  async get(key) {
    return this.#map.get(key);
  }
}

/**
 * A version store in IndexedDB: survives reloads, shared by the tabs of an
 * origin. `advance` reads and writes in one transaction, so concurrent
 * opens never lower what is stored.
 */
export class VersionStore {
  #db;

  /** Opens (or creates) the store `name` (default "phiseal-versions"). */
  static async open(opts) {
    const o = options(opts, 'options');
    if (typeof indexedDB === 'undefined') throw new PhisealError('IndexedDB is not available', ErrorCode.UNSUPPORTED);
    const req = indexedDB.open(o.name ?? 'phiseal-versions', 1);
    req.onupgradeneeded = () => req.result.createObjectStore('versions');
    const store = new VersionStore();
    store.#db = await request(req);
    return store;
  }

  /** Stores `seen` when it is newer; resolves to what was stored before (or undefined). */
  async advance(key, seen) {
    if (typeof key !== 'string') throw invalidArgument('key must be a string');
    const s = seenArg(seen);
    const tx = this.#db.transaction('versions', 'readwrite');
    const os = tx.objectStore('versions');
    const before = await request(os.get(key));
    os.put(next(before, s), key);
    await done(tx);
    return before;
  }

  /** What is stored for `key`. */
  async get(key) {
    return request(this.#db.transaction('versions').objectStore('versions').get(key));
  }

  /** Closes the database. */
  close() {
    this.#db.close();
  }
}
