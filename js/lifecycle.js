// Key lifecycle: short-lived session keys that expire, access grants, and
// break-glass access that is audited durably before the key is unlocked.
//
// Policy helpers, stated plainly: SessionKey, Grant / GrantedKey and
// breakGlass() run in the caller's own process and wrap a private key the
// caller already holds. They keep an honest application to its rules
// (expiry, conditions, an audit entry first); they are enforced by nobody
// but the calling code, and a client that wants to skip them uses the key
// directly (`openRecord(…, {privateKey: emergencyKey})` needs no entry).
// Enforcement needs a party that holds the key and the client does not:
// in the patient-portal example every record is also sealed to the
// patient's break-glass key, which an escrow process the storage server
// does not control releases only after it has verified and durably stored
// the clinician's signed break-glass entry (examples/patient-portal/
// escrow.mjs; docs/TRUST.md §8 lists which helper is enforced by whom).

import { ErrorCode, PhisealError, invalidArgument } from './errors.js';
import { AuditQueue } from './audit.js';
import { options, privateKeyArg } from './internal.js';

/**
 * The key behind a SessionKey or GrantedKey, checked now (expiry, grant
 * conditions; a refusal is audited before it is thrown). Module-internal:
 * used by the functions that open data, never handed to applications.
 * @internal
 */
export async function unlockKey(value) {
  if (value instanceof SessionKey) return value[UNLOCK]();
  if (value instanceof GrantedKey) return value[UNLOCK]();
  return value;
}
const UNLOCK = Symbol('phiseal.unlock');

/** Default lifetime of a session key or grant: 15 minutes. */
export const DEFAULT_TTL_MS = 15 * 60 * 1000;

/**
 * A private key usable only until it expires. Anything that opens records
 * accepts a SessionKey; after expiry it fails with `KEY_EXPIRED`. Renewal is
 * explicit. `clock` (ms) is injectable so tests can move time.
 *
 * A policy helper: the expiry is enforced by the calling code only (the
 * caller holds the key it wraps, and `renew()` and `clock` are its own).
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
  /** @internal The key, or `KEY_EXPIRED` after expiry (see unlockKey). */
  [UNLOCK]() {
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
 * A policy helper: the caller already holds `emergencyKey` and chooses the
 * sink (any object that says `durable: true` is accepted), so a client that
 * wants no entry uses the key without calling this. For break-glass that
 * cannot be skipped, keep the emergency key off the client: an escrow
 * releases it only after it verified and stored the signed entry itself
 * (examples/patient-portal/escrow.mjs, docs/TRUST.md §8).
 *
 * @param {{audit: {append: Function}, actor: {id: string, role: string}, patientId: string, reason: string,
 *          emergencyKey: PrivateKey, ttlMs?: number, clock?: () => number}} opts
 * @returns {Promise<SessionKey>}
 */
export async function breakGlass(opts) {
  const o = options(opts, 'options');
  // The entry must be durable before anything is unlocked: an AuditQueue
  // (IndexedDB), or a sink that says so and resolves only once stored.
  const durable = o.audit && typeof o.audit.append === 'function' && (o.audit instanceof AuditQueue || o.audit.durable === true);
  if (!durable) throw invalidArgument('breakGlass needs a durable audit sink: an AuditQueue, or {durable: true, append}');
  if (typeof o.reason !== 'string' || o.reason.trim().length < 8) throw invalidArgument('break-glass needs a reason (at least 8 characters)');
  if (typeof o.patientId !== 'string' || !o.patientId) throw invalidArgument('break-glass needs a patientId');
  privateKeyArg(o.emergencyKey, 'emergencyKey');
  await o.audit.append({ actor: o.actor, patientId: o.patientId, action: 'break-glass', reason: o.reason, outcome: 'success' });
  return new SessionKey(o.emergencyKey, { ttlMs: o.ttlMs ?? DEFAULT_TTL_MS, clock: o.clock, purpose: 'break-glass' });
}

/**
 * Conditions on access, in the spirit of role-based policies: allowed roles,
 * same organization, working hours (`[from, to)` hours in the given UTC
 * offset), and a maximum lifetime. `check(context)` throws `ACCESS_DENIED`
 * (or `KEY_EXPIRED`) with a clear message when a condition does not hold.
 *
 * A policy helper: the context and the clock are the caller's, and so is the
 * key a GrantedKey wraps; enforced by the calling code only.
 */
export class Grant {
  constructor(opts) {
    const o = options(opts, 'grant');
    this.roles = o.roles ?? null;
    this.organization = o.organization ?? null;
    this.hours = o.hours ?? null;
    this.utcOffsetMinutes = o.utcOffsetMinutes ?? 0;
    this.clock = o.clock ?? Date.now;
    this.ttlMs = o.ttlMs ?? DEFAULT_TTL_MS;
    if (this.roles !== null && (!Array.isArray(this.roles) || this.roles.some((r) => typeof r !== 'string'))) throw invalidArgument('roles must be an array of strings');
    if (this.hours !== null && !(Array.isArray(this.hours) && this.hours.length === 2 && this.hours.every((h) => Number.isInteger(h) && h >= 0 && h <= 24))) {
      throw invalidArgument('hours must be [from, to] in 0..24');
    }
    if (!Number.isFinite(this.ttlMs) || this.ttlMs <= 0) throw invalidArgument('ttlMs must be a positive number');
    this.expiresAt = this.clock() + this.ttlMs;
    if (this.roles) Object.freeze(this.roles);
    if (this.hours) Object.freeze(this.hours);
    Object.freeze(this);
  }

  /** Throws unless `context` ({role, organization}) satisfies every condition now. */
  check(context) {
    const c = options(context, 'context');
    const now = this.clock();
    if (now >= this.expiresAt) throw new PhisealError('the grant expired', ErrorCode.KEY_EXPIRED);
    if (this.roles && !this.roles.includes(c.role)) throw new PhisealError(`role ${c.role} is not granted`, ErrorCode.ACCESS_DENIED);
    if (this.organization !== null && c.organization !== this.organization) throw new PhisealError('another organization', ErrorCode.ACCESS_DENIED);
    if (this.hours) {
      const hour = new Date(now + this.utcOffsetMinutes * 60_000).getUTCHours();
      const [from, to] = this.hours;
      const inside = from <= to ? hour >= from && hour < to : hour >= from || hour < to;
      if (!inside) throw new PhisealError(`outside working hours ${from}-${to}`, ErrorCode.ACCESS_DENIED);
    }
  }
}

/**
 * A private key usable only while its grant's conditions hold for `context`.
 * A refusal is written to `audit` (outcome `denied`) before it is thrown.
 * A policy helper, like Grant: the caller holds the key it wraps.
 */
export class GrantedKey {
  #key;
  #grant;
  #context;
  #audit;
  constructor(privateKey, grant, context, opts) {
    this.#key = privateKeyArg(privateKey, 'privateKey');
    if (!(grant instanceof Grant)) throw invalidArgument('grant must be a Grant');
    this.#grant = grant;
    // A copy: later changes to the caller's object do not change the decision.
    this.#context = Object.freeze({ ...options(context, 'context') });
    this.#audit = options(opts, 'options').audit;
  }
  get kid() {
    return this.#key.kid;
  }
  /** @internal The key, or ACCESS_DENIED / KEY_EXPIRED after the refusal is audited (see unlockKey). */
  async [UNLOCK]() {
    try {
      this.#grant.check(this.#context);
    } catch (e) {
      await this.#audit?.append({ actor: { id: this.#context.actorId ?? 'unknown', role: this.#context.role ?? '' }, action: 'decrypt', outcome: 'denied', reason: e.message });
      throw e;
    }
    return this.#key;
  }
}

/**
 * Alert rule over the audit stream, evaluated where it runs (for alerts a
 * writer cannot suppress, the verifier runs `accessAlerts` on a verified
 * log): an actor touching
 * `distinctPatients` (default 10) or more distinct patients within
 * `windowMs` (default 5 minutes) raises `onAlert({actorId, role, patients, since})`.
 * Thresholds per role via `perRole: {admin: 50}`. Exportable with `toJSON()`.
 */
export class AccessAlert {
  #seen = new Map();
  constructor(opts) {
    const o = options(opts, 'options');
    this.distinctPatients = o.distinctPatients ?? 10;
    this.windowMs = o.windowMs ?? 5 * 60 * 1000;
    this.perRole = o.perRole ?? {};
    this.onAlert = o.onAlert ?? (() => {});
  }

  /** Feeds one audit entry ({actor, patientId, time}); returns the alert raised, if any. */
  observe(entry) {
    if (!entry?.patientId || !entry.actor?.id) return null;
    const key = entry.actor.id;
    const since = entry.time - this.windowMs;
    const events = (this.#seen.get(key) ?? []).filter((e) => e.time > since);
    events.push({ time: entry.time, patient: entry.patientId });
    this.#seen.set(key, events);
    const patients = new Set(events.map((e) => e.patient)).size;
    const threshold = this.perRole[entry.actor.role] ?? this.distinctPatients;
    if (patients < threshold) return null;
    const alert = { actorId: key, role: entry.actor.role, patients, since: events[0].time, at: entry.time };
    this.#seen.set(key, []);
    this.onAlert(alert);
    return alert;
  }

  toJSON() {
    return { rule: 'distinct-patients', distinctPatients: this.distinctPatients, windowMs: this.windowMs, perRole: this.perRole };
  }
}
