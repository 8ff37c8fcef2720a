// Key certificates (docs/TRUST.md): an organisation's root key certifies
// member keys (who, role, access groups, purposes, validity); a Trust object
// holding the pinned roots and their revocation lists is what sealRecord,
// openRecord, sealIndexKey, openIndexKey and SecureCall take as `trust`.
// Parsing and every check run in Rust (src/trust.rs); this file converts
// arguments and times.

import { ErrorCode, PhisealError, invalidArgument } from './errors.js';
import { isA, keysJson, options, requireCapability, requireInit, wasm } from './internal.js';

const PURPOSES = new Set(['encrypt', 'sign', 'media', 'certify']);

function seconds(ms, name) {
  if (!Number.isFinite(ms) || ms < 0) throw invalidArgument(`${name} must be a time in milliseconds (Date.now(), date.getTime())`);
  return Math.floor(ms / 1000);
}

function timeArg(value, name) {
  if (value instanceof Date) return seconds(value.getTime(), name);
  return seconds(value, name);
}

function chainArg(value) {
  const chain = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(chain) || chain.length === 0 || chain.some((c) => typeof c !== 'string')) {
    throw invalidArgument('a certificate is a string (or an array: the leaf, then its issuers)');
  }
  return chain;
}

function groupsArg(value) {
  const groups = value ?? [];
  if (!Array.isArray(groups) || groups.some((g) => typeof g !== 'string')) throw invalidArgument('groups must be an array of strings');
  return groups;
}

/**
 * Pinned organisation roots and their revocation lists.
 *
 *   const trust = new Trust({ roots: [orgRootPublicKey], revocations: await fetchRevocations() });
 *   const clinician = await trust.certify(certificate, { purpose: 'encrypt', groups: ['clinical'] });
 */
export class Trust {
  #store;
  #clock;
  #directory;

  /**
   * @param {{roots: PublicKey[], revocations?: string | string[], requireRevocations?: boolean, clock?: () => number}} opts
   *   `requireRevocations` (default true): refuse every certificate while no
   *   current revocation list from its root was added (KEY_EXPIRED).
   *   `clock`: milliseconds, default Date.now. `directory`: a DirectoryClient;
   *   then only certificates returned by its verified lookups are accepted.
   */
  constructor(opts) {
    requireInit();
    const o = options(opts, 'options');
    if (!Array.isArray(o.roots) || o.roots.length === 0 || o.roots.some((r) => !isA(r, 'PublicKey'))) {
      throw invalidArgument('roots must be a non-empty array of PublicKeys: the organisation root keys the app pins');
    }
    if (o.requireRevocations !== undefined && typeof o.requireRevocations !== 'boolean') throw invalidArgument('requireRevocations must be a boolean');
    this.#clock = o.clock ?? Date.now;
    if (typeof this.#clock !== 'function') throw invalidArgument('clock must be a function returning milliseconds');
    if (o.directory !== undefined && !(o.directory instanceof DirectoryClient)) throw invalidArgument('directory must be a DirectoryClient');
    this.#directory = o.directory;
    this.#store = new wasm.TrustStore(keysJson(o.roots, 'roots'), o.requireRevocations ?? true);
    const lists = o.revocations === undefined ? [] : Array.isArray(o.revocations) ? o.revocations : [o.revocations];
    for (const l of lists) this.addRevocations(l);
  }

  #now() {
    return seconds(this.#clock(), 'clock()');
  }

  /**
   * Adds a revocation list signed by a root (UNTRUSTED_KEY, INVALID_SIGNATURE;
   * KEY_EXPIRED if not current; STALE_VERSION if older than the one held).
   */
  addRevocations(text) {
    if (typeof text !== 'string') throw invalidArgument('a revocation list is a string');
    this.#store.addRevocations(text, this.#now());
  }

  /**
   * Verifies a certificate (chain) for `purpose` and every group in
   * `groups`; returns the certified key and identity. UNTRUSTED_KEY,
   * INVALID_SIGNATURE, KEY_EXPIRED, KEY_REVOKED, WRONG_PURPOSE,
   * ACCESS_DENIED, MALFORMED_INPUT, UNSUPPORTED otherwise (rejections).
   * @returns {Promise<{publicKey: PublicKey, kid: string, subject: string, name: string, role: string, groups: string[], purposes: string[], notBefore: number, notAfter: number, serial: string, root: string, issuers: string[]}>}
   */
  async certify(certificate, opts) {
    const o = options(opts, 'options');
    if (!PURPOSES.has(o.purpose)) throw invalidArgument('purpose must be "encrypt", "sign", "media" or "certify"');
    const chain = chainArg(certificate);
    // With a directory, only a certificate that came out of a verified lookup (the log this client checked) is
    // used, and it must be certified for the subject of that directory entry (CONTEXT_MISMATCH: the operator filed
    // another member's genuine certificate under this subject).
    let subject;
    if (this.#directory !== undefined) {
      subject = this.#directory.subjectOf(chain[0]);
      if (subject === undefined) {
        throw new PhisealError('this certificate is not in the directory log this client verified (look it up through the DirectoryClient first)', ErrorCode.UNTRUSTED_KEY);
      }
    }
    const groups = JSON.stringify(groupsArg(o.groups));
    // Rust parses and links the chain, the provider checks the signatures (WebCrypto ECDSA in the browser), Rust
    // finishes with the token of each check and every other rule.
    const check = await wasm.runChainCheck(this.#store.prepare(JSON.stringify(chain)));
    const c = JSON.parse(this.#store.finish(check, this.#now(), o.purpose, groups, subject));
    const publicKey = wasm.PublicKey.fromJwk(c.jwk);
    return {
      publicKey,
      kid: publicKey.kid,
      subject: c.subject,
      name: c.name,
      role: c.role,
      groups: c.groups,
      purposes: c.purposes,
      notBefore: c.notBefore * 1000,
      notAfter: c.notAfter * 1000,
      serial: c.serial,
      root: c.root,
      issuers: c.issuers,
    };
  }
}

/**
 * The browser side of the transparent key directory (docs/TRUST.md §6):
 * accepts a lookup only with a checkpoint signed by a pinned directory key,
 * an inclusion proof, and a consistency proof from the checkpoint it kept
 * (store `keptNote` and pass it as `kept` next time). Full build only.
 */
/** Certificates a DirectoryClient remembers from its verified lookups (the oldest is forgotten first). */
const SEEN_MAX = 4096;

export class DirectoryClient {
  #w;
  /** certificate text -> the subject of the verified lookup it came from */
  #seen = new Map();
  /** Lookups verify one after another (each extends the checkpoint the one before kept). */
  #queue = Promise.resolve();

  /** @param {{origin: string, keys: PublicKey[], kept?: string}} opts */
  constructor(opts) {
    requireCapability('audit');
    const o = options(opts, 'options');
    if (!Array.isArray(o.keys) || o.keys.length === 0 || o.keys.some((k) => !isA(k, 'PublicKey'))) throw invalidArgument('keys must be the pinned directory PublicKeys');
    this.#w = new wasm.DirectoryClient(o.origin, keysJson(o.keys, 'keys'), o.kept);
  }

  /**
   * Verifies a lookup (the JSON text or object a KeyDirectory returned) for
   * `subject` and resolves to its certificate; rejects with
   * CONTEXT_MISMATCH, UNTRUSTED_KEY, INVALID_SIGNATURE, STALE_VERSION
   * (rollback or fork), MALFORMED_INPUT. The checkpoint's signature is
   * checked by the provider (WebCrypto ECDSA in browsers), every rule in
   * Rust; lookups of one client verify in the order they were passed.
   */
  verify(subject, lookup) {
    const text = typeof lookup === 'string' ? lookup : JSON.stringify(lookup);
    const run = this.#queue.then(() => this.#verify(subject, text));
    this.#queue = run.catch(() => {});
    return run;
  }

  async #verify(subject, text) {
    const pending = await wasm.runLookupCheck(this.#w.prepare(subject, text));
    const cert = this.#w.finish(pending);
    this.#seen.delete(cert);
    this.#seen.set(cert, subject);
    if (this.#seen.size > SEEN_MAX) this.#seen.delete(this.#seen.keys().next().value);
    return cert;
  }

  /** @internal The subject of the verified lookup `certificate` came from, or undefined. */
  subjectOf(certificate) {
    return this.#seen.get(certificate);
  }

  /** The checkpoint note to keep (or undefined before the first lookup). */
  get keptNote() {
    return this.#w.keptNote;
  }

  get keptSize() {
    return this.#w.keptSize;
  }

  /** Refuses (STALE_VERSION) another client's kept note that is not the same history, given a consistency proof. */
  compare(otherNote, proof) {
    this.#w.compare(otherNote, JSON.stringify(proof ?? []));
  }
}

/** The publishing side of the directory (the organisation's server, or a test). Full build only. */
export class KeyDirectory {
  #w;
  /** @param {{origin: string, signingKey: SigningKey}} opts */
  constructor(opts) {
    requireCapability('audit');
    const o = options(opts, 'options');
    if (!isA(o.signingKey, 'SigningKey')) throw invalidArgument('signingKey must be a SigningKey');
    this.#w = new wasm.KeyDirectory(o.origin, o.signingKey);
  }
  publish(subject, certificate) {
    return this.#w.publish(subject, certificate);
  }
  checkpoint(timeMs = Date.now()) {
    return this.#w.checkpoint(timeMs);
  }
  /** The lookup as an object (send it as JSON). */
  lookup(subject, { keptSize, timeMs = Date.now() } = {}) {
    return JSON.parse(this.#w.lookup(subject, keptSize, timeMs));
  }
  entries() {
    return JSON.parse(this.#w.entries());
  }
  consistency(oldSize, newSize) {
    return JSON.parse(this.#w.consistency(oldSize, newSize));
  }
}

/**
 * The subject's monitor: checks that `entries` make the signed checkpoint's
 * tree and returns the `{index, certificate}` published for `subject` at
 * or after `from` (a key added for you). Full build only.
 */
export function monitorDirectory({ origin, keys, checkpoint, entries, subject, from = 0 }) {
  requireCapability('audit');
  return JSON.parse(wasm.monitorDirectory(origin, keysJson(keys, 'keys'), checkpoint, JSON.stringify(entries), subject, from));
}

/** The Trust of an options object, or undefined; anything else is refused. */
export function trustArg(value) {
  if (value === undefined) return undefined;
  if (!(value instanceof Trust)) throw invalidArgument('trust must be a Trust (new Trust({roots}))');
  return value;
}

/** The identity a certified key reports (what openRecord gives as `author`). */
export function identityOf(c) {
  return { kid: c.kid, subject: c.subject, name: c.name, role: c.role, groups: c.groups };
}

/**
 * Issues a certificate signed by `issuer` (a root, or an intermediate
 * certified for purpose "certify"), e.g. in the organisation's CLI or an
 * offline tool; full build only. Times in milliseconds (or Dates).
 * @param {{subject: string, name: string, role: string, groups?: string[], purposes: string[], notBefore: number|Date, notAfter: number|Date, publicKey: PublicKey}} claims
 * @param {SigningKey} issuer
 * @param {{issuedAt?: number|Date}} [opts]
 * @returns {string} the certificate (compact JWS)
 */
export function issueCertificate(claims, issuer, opts) {
  requireCapability('audit');
  const c = options(claims, 'claims');
  if (!isA(c.publicKey, 'PublicKey')) throw invalidArgument('claims.publicKey must be the PublicKey to certify');
  if (!isA(issuer, 'SigningKey')) throw invalidArgument('issuer must be a SigningKey (the root or an intermediate key)');
  const o = options(opts, 'options');
  const text = JSON.stringify({
    subject: c.subject,
    name: c.name,
    role: c.role,
    groups: groupsArg(c.groups),
    purposes: c.purposes,
    notBefore: timeArg(c.notBefore, 'claims.notBefore'),
    notAfter: timeArg(c.notAfter, 'claims.notAfter'),
    jwk: c.publicKey.toJwk(),
  });
  return wasm.issueCertificate(text, issuer, timeArg(o.issuedAt ?? Date.now(), 'issuedAt'));
}

/**
 * Issues a revocation list naming certificate serials, valid from
 * `issuedAt` until `expires` (the revocation window); full build only.
 */
export function issueRevocations(serials, issuer, opts) {
  requireCapability('audit');
  if (!Array.isArray(serials) || serials.some((s) => typeof s !== 'string')) throw invalidArgument('serials must be an array of strings');
  if (!isA(issuer, 'SigningKey')) throw invalidArgument('issuer must be a SigningKey (the root key)');
  const o = options(opts, 'options');
  if (o.expires === undefined) throw invalidArgument('expires is required: the end of the revocation window');
  return wasm.issueRevocations(JSON.stringify(serials), issuer, timeArg(o.issuedAt ?? Date.now(), 'issuedAt'), timeArg(o.expires, 'expires'));
}

/**
 * With `trust`, every recipient is `{certificate, groups?}`: certified for
 * "encrypt" and for each group it is given (every schema group when
 * omitted). Returns `{publicKey, groups}` entries.
 */
export async function certifiedRecipients(trust, recipients, allGroups, fixedGroups = null) {
  if (!Array.isArray(recipients) || recipients.length === 0) throw invalidArgument('recipients must be a non-empty array');
  const out = [];
  for (const r of recipients) out.push(await certifiedRecipient(trust, r, allGroups, fixedGroups));
  return out;
}

async function certifiedRecipient(trust, r, allGroups, fixedGroups) {
  if (r === null || typeof r !== 'object' || r.certificate === undefined) {
    throw new PhisealError('with trust set, each recipient is {certificate, groups?}: a bare public key is not certified', ErrorCode.UNTRUSTED_KEY);
  }
  if (fixedGroups !== null) {
    // Index keys: every recipient must be certified for every group the key serves.
    if (r.groups !== undefined) throw invalidArgument('an index key recipient has no groups of its own: pass the groups the key serves as options.groups');
    const c = await trust.certify(r.certificate, { purpose: 'encrypt', groups: fixedGroups });
    return { publicKey: c.publicKey };
  }
  const groups = r.groups === undefined ? allGroups : groupsArg(r.groups);
  const c = await trust.certify(r.certificate, { purpose: 'encrypt', groups });
  return r.groups === undefined ? { publicKey: c.publicKey } : { publicKey: c.publicKey, groups };
}

/**
 * With `trust`, trusted authors are certificates (purpose "sign"). Returns
 * the certified keys, and those refused with their errors (reported when
 * the record turns out to be signed by one of them).
 */
export async function certifiedAuthors(trust, authors) {
  if (!Array.isArray(authors) || authors.length === 0) throw invalidArgument('authors is required: a non-empty array of author certificates');
  const ok = [];
  const refused = new Map(); // kid claimed by the certificate (when readable) -> error
  let unreadable = null;
  for (const a of authors) {
    if (typeof a !== 'string' && !Array.isArray(a)) {
      throw new PhisealError('with trust set, each trusted author is a certificate (string or chain): a bare public key is not certified', ErrorCode.UNTRUSTED_KEY);
    }
    let c;
    try {
      c = await trust.certify(a, { purpose: 'sign' });
    } catch (e) {
      const kid = leafKid(a);
      if (kid !== null) refused.set(kid, e);
      else unreadable ??= e;
      continue;
    }
    // Two certificates for one key with different identities: which one the record "is by" would depend on order.
    const twin = ok.find((o) => o.kid === c.kid);
    if (twin && (twin.subject !== c.subject || twin.name !== c.name || twin.role !== c.role || twin.groups.join('\0') !== c.groups.join('\0'))) {
      throw new PhisealError(`two author certificates for key ${c.kid} name different identities`, ErrorCode.UNTRUSTED_KEY);
    }
    if (!twin) ok.push(c);
  }
  if (ok.length === 0 && refused.size === 0 && unreadable) throw unreadable;
  return { ok, refused, unreadable };
}

/** The kid of a certificate's key, read without verifying (to name an author whose certificate was refused). */
function leafKid(chain) {
  try {
    const leaf = Array.isArray(chain) ? chain[0] : chain;
    const payload = JSON.parse(atob(leaf.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')));
    return wasm.PublicKey.fromJwk(payload.cnf.jwk).kid;
  } catch {
    return null;
  }
}
