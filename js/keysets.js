// Keysets in the spirit of Tink: several keys, one primary, each sealed
// record names the key it was made for (recipient kids and the index key id
// in its header), so opening keeps working across a rotation.

import { invalidArgument } from './errors.js';
import { isA, wasm } from './internal.js';

const STATUSES = ['primary', 'enabled', 'disabled'];

class BaseKeyset {
  #entries = [];

  constructor(idOf, check) {
    this.idOf = idOf;
    this.check = check;
  }

  /** Adds a key (enabled; primary if it is the first or `primary` is true). */
  add(key, { primary = false } = {}) {
    this.check(key);
    const id = this.idOf(key);
    if (this.#entries.some((e) => e.id === id)) throw invalidArgument(`key ${id} is already in the keyset`);
    this.#entries.push({ id, key, status: 'enabled' });
    if (primary || this.#entries.length === 1) this.promote(id);
    return this;
  }

  #entry(id) {
    const e = this.#entries.find((x) => x.id === id);
    if (!e) throw invalidArgument(`no key ${id} in the keyset`);
    return e;
  }

  /** Makes `id` the primary key (the previous primary stays enabled). */
  promote(id) {
    const e = this.#entry(id);
    for (const x of this.#entries) if (x.status === 'primary') x.status = 'enabled';
    e.status = 'primary';
    return this;
  }

  /** Disables a key: it no longer opens anything. The primary cannot be disabled. */
  disable(id) {
    const e = this.#entry(id);
    if (e.status === 'primary') throw invalidArgument('promote another key before disabling the primary');
    e.status = 'disabled';
    return this;
  }

  /** Re-enables a disabled key. */
  enable(id) {
    const e = this.#entry(id);
    if (e.status === 'disabled') e.status = 'enabled';
    return this;
  }

  /** Removes a non-primary key. */
  remove(id) {
    if (this.#entry(id).status === 'primary') throw invalidArgument('the primary key cannot be removed');
    this.#entries = this.#entries.filter((x) => x.id !== id);
    return this;
  }

  /** The primary key (used for new data). */
  get primary() {
    const e = this.#entries.find((x) => x.status === 'primary');
    if (!e) throw invalidArgument('the keyset is empty');
    return e.key;
  }

  /** The enabled (and primary) keys, primary first. */
  enabled() {
    return [...this.#entries].filter((e) => e.status !== 'disabled').sort((a, b) => (a.status === 'primary' ? -1 : b.status === 'primary' ? 1 : 0)).map((e) => e.key);
  }

  /** The enabled key with this id, or undefined. */
  find(id) {
    return this.#entries.find((e) => e.id === id && e.status !== 'disabled')?.key;
  }

  /** `[{id, status}]` */
  list() {
    return this.#entries.map(({ id, status }) => ({ id, status }));
  }
}

/** Private keys of one principal (e.g. a clinician across key rotations); ids are kids. */
export class Keyset extends BaseKeyset {
  constructor(keys = []) {
    super(
      (k) => k.kid,
      (k) => {
        if (!isA(k, 'PrivateKey')) throw invalidArgument('a Keyset holds PrivateKeys');
      },
    );
    for (const k of keys) this.add(k);
  }
  /** The primary public key: give it to senders. */
  get primaryPublicKey() {
    return this.primary.publicKey;
  }
}

/** Tenant index keys across rotations; ids are index key ids. */
export class IndexKeyset extends BaseKeyset {
  constructor(keys = []) {
    super(
      (k) => k.id,
      (k) => {
        if (!isA(k, 'IndexKey')) throw invalidArgument('an IndexKeyset holds IndexKeys');
      },
    );
    for (const k of keys) this.add(k);
  }
}

export const STATUS = Object.freeze(Object.fromEntries(STATUSES.map((s) => [s.toUpperCase(), s])));
