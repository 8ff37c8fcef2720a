// Rollback protection: the highest version of each record this client has
// opened, kept durably, so that a server handing back an older version, a
// different same-numbered one, or a next version that does not link to the
// one seen (a fork) is refused with STALE_VERSION. openRecord({versions})
// calls `advance` once per successful open, with the authenticated header's
// version, digest and previous digest only.

import { ErrorCode, PhisealError, invalidArgument } from './errors.js';
import { idbDone as done, idbRequest as request, options } from './internal.js';

function seenArg(seen) {
  if (seen === null || typeof seen !== 'object' || !Number.isSafeInteger(seen.version) || seen.version < 1 || typeof seen.digest !== 'string') {
    throw invalidArgument('seen must be {version, digest, previous}');
  }
  const previous = seen.previous ?? null;
  if (previous !== null && typeof previous !== 'string') throw invalidArgument('seen.previous must be a digest string or null');
  return { version: seen.version, digest: seen.digest, previous };
}

/**
 * Whether `seen` may follow `before`: newer, and when it is the very next
 * version, linked to the one stored (any other next version is a fork).
 * A later version (a gap) is accepted: its chain was not seen.
 */
export function follows(before, seen) {
  if (before === undefined || before === null) return true;
  if (seen.version <= before.version) return false;
  return seen.version !== before.version + 1 || seen.previous === before.digest;
}

/** Keeps `seen` if it may follow what is stored; returns what was stored before. */
function next(before, seen) {
  return follows(before, seen) ? { version: seen.version, digest: seen.digest } : before;
}

/** A version store in memory (tests, Node services, one page's lifetime). */
export class MemoryVersionStore {
  #map = new Map();

  /** Stores `seen` ({version, digest, previous}) when it may follow what is stored; resolves to what was stored before (or undefined). */
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

  /** Stores `seen` ({version, digest, previous}) when it may follow what is stored; resolves to what was stored before (or undefined). */
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
