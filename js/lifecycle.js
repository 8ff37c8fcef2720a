// Key lifecycle: short-lived session keys that expire, and break-glass
// access that is audited durably before any data is decrypted.

import { ErrorCode, PhisealError, invalidArgument } from './errors.js';
import { options, privateKeyArg } from './internal.js';

/** Default lifetime of a session key or grant: 15 minutes. */
export const DEFAULT_TTL_MS = 15 * 60 * 1000;

/**
 * A private key usable only until it expires. Anything that opens records
 * accepts a SessionKey; after expiry it fails with `KEY_EXPIRED`. Renewal is
 * explicit. `clock` (ms) is injectable so tests can move time.
 */
export class SessionKey {
  #key;
  #expires;
  #clock;
  #ttl;

  constructor(privateKey, opts) {
    const o = options(opts, 'options');
    this.#key = privateKeyArg(privateKey, 'privateKey');
    this.#clock = o.clock ?? Date.now;
    this.#ttl = o.ttlMs ?? DEFAULT_TTL_MS;
    if (!Number.isFinite(this.#ttl) || this.#ttl <= 0) throw invalidArgument('ttlMs must be a positive number');
    this.#expires = this.#clock() + this.#ttl;
    this.purpose = o.purpose ?? 'session';
  }

  /** Unix ms at which the key stops working. */
  get expiresAt() {
    return this.#expires;
  }
  get expired() {
    return this.#clock() >= this.#expires;
  }
  get kid() {
    return this.#key.kid;
  }
  /** The key itself; throws `KEY_EXPIRED` after expiry. */
  get privateKey() {
    if (this.expired) throw new PhisealError(`${this.purpose} key expired`, ErrorCode.KEY_EXPIRED);
    return this.#key;
  }
  /** Extends the lifetime by `ttlMs` from now. */
  renew(ttlMs = this.#ttl) {
    if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw invalidArgument('ttlMs must be a positive number');
    this.#expires = this.#clock() + ttlMs;
    return this;
  }
}

/**
 * Emergency access: writes a `break-glass` audit entry and waits until it is
 * durable, then unlocks `emergencyKey` for `ttlMs`. If the entry cannot be
 * written, nothing is unlocked (the promise rejects).
 *
 * @param {{audit: {append: Function}, actor: {id: string, role: string}, patientId: string, reason: string,
 *          emergencyKey: PrivateKey, ttlMs?: number, clock?: () => number}} opts
 * @returns {Promise<SessionKey>}
 */
export async function breakGlass(opts) {
  const o = options(opts, 'options');
  if (!o.audit || typeof o.audit.append !== 'function') throw invalidArgument('breakGlass needs an audit log or queue');
  if (typeof o.reason !== 'string' || o.reason.trim().length < 8) throw invalidArgument('break-glass needs a reason (at least 8 characters)');
  if (typeof o.patientId !== 'string' || !o.patientId) throw invalidArgument('break-glass needs a patientId');
  privateKeyArg(o.emergencyKey, 'emergencyKey');
  await o.audit.append({ actor: o.actor, patientId: o.patientId, action: 'break-glass', reason: o.reason, outcome: 'success' });
  return new SessionKey(o.emergencyKey, { ttlMs: o.ttlMs ?? DEFAULT_TTL_MS, clock: o.clock, purpose: 'break-glass' });
}
