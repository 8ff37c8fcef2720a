// Browser helpers shared by the portal's pages: the server API, the key
// directory, and each staff member's key and audit queue.
//
// Demo setup, stated plainly: every key is generated in the browser of the
// person it belongs to. The clinician's and the billing officer's HPKE private
// keys, and the patient's author key (ECDSA P-384: it signs every record the
// patient seals), are non-extractable WebCrypto keys kept in IndexedDB by
// phiseal's KeyStore; only their public JWKs go to the server's directory. In
// this demo the three roles share one browser profile (one origin, separate
// IndexedDB stores; `intake.html?profile=NAME` is another patient); in a real
// portal each person uses their own device.

import * as phiseal from '../../js/index.js';
import { ROLE_GROUPS, SCHEMA, STAFF } from './schema.js';

// phiseal's one rule: await init() before anything else; every page of the portal imports this module.
await phiseal.init();

export { phiseal, ROLE_GROUPS, SCHEMA, STAFF };

export const $ = (id) => document.getElementById(id);

/** Calls the portal API; rejects with the server's error message. */
export async function api(path, body) {
  const res = await fetch(`/api/portal/${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json().catch(() => ({ error: `HTTP ${res.status}` }));
  if (!res.ok) throw new Error(json.error ?? `HTTP ${res.status}`);
  return json;
}

/** The care team's encryption keys from the server's directory, as seal recipients. */
export async function recipients() {
  await phiseal.init();
  const entries = (await api('directory')).filter((e) => e.purpose === 'hpke');
  return entries.map((e) => ({
    entry: e,
    recipient: { publicKey: phiseal.importPublicKey(e.jwk), groups: ROLE_GROUPS[e.role] },
  }));
}

/**
 * The patient of this browser (profile `profile`): an id made here (opaque,
 * not PHI) and an author key, non-extractable, kept in the KeyStore across
 * reloads; its public half is (re-)registered with the server, which files
 * the patient's records under the id.
 * @returns {Promise<{patientId: string, author: phiseal.AuthorKey, created: boolean}>}
 */
export async function patientIdentity(profile = 'default') {
  const slot = `phiseal-portal-patient-${profile}`;
  const store = await phiseal.KeyStore.open({ name: slot });
  try {
    const saved = JSON.parse(localStorage.getItem(slot) ?? 'null');
    const stored = saved && (await store.list()).find((k) => k.kind === 'author' && k.kid === saved.kid);
    let author;
    let patientId;
    let created = false;
    if (stored) {
      author = await store.getAuthorKey(saved.kid);
      patientId = saved.patientId;
    } else {
      author = await phiseal.generateAuthorKey(); // non-extractable
      await store.put(author, { purpose: 'author' });
      patientId = `patient-${crypto.randomUUID()}`;
      localStorage.setItem(slot, JSON.stringify({ patientId, kid: author.kid }));
      created = true;
    }
    await api('patients', { patientId, jwk: author.publicKey.toJwk() });
    return { patientId, author, created };
  } finally {
    store.close();
  }
}

/**
 * Each patient's author public key, from the server's directory: what a
 * record of that patient must be signed by. Demo simplification: the server
 * hands these out, so a compromised server could substitute a key of its own
 * (and records signed by it); pinning or certifying patients' keys is issue
 * "certified keys".
 * @returns {Promise<Map<string, phiseal.PublicKey>>} patient id -> author key
 */
export async function patientAuthors() {
  const entries = (await api('directory')).filter((e) => e.purpose === 'author' && e.role === 'patient');
  return new Map(entries.map((e) => [e.actor, phiseal.importPublicKey(e.jwk)]));
}

/**
 * This staff member's HPKE key: loaded from the browser's KeyStore, or made
 * on first use (non-extractable), and (re-)registered in the directory.
 * @param {'clinician'|'billing'} role
 * @returns {Promise<{staff: object, privateKey: phiseal.PrivateKey, kid: string, created: boolean}>}
 */
export async function staffKey(role) {
  const staff = STAFF[role];
  const store = await phiseal.KeyStore.open({ name: `phiseal-portal-keys-${staff.actor}` });
  try {
    const stored = (await store.list()).filter((k) => k.purpose === 'hpke').sort((a, b) => b.created - a.created)[0];
    let privateKey;
    let created = false;
    if (stored) {
      privateKey = await store.get(stored.kid);
    } else {
      ({ privateKey } = await phiseal.generateKeyPair()); // non-extractable
      await store.put(privateKey, { purpose: 'hpke' });
      created = true;
    }
    await api('directory', { actor: staff.actor, purpose: 'hpke', jwk: privateKey.publicKey.toJwk() });
    return { staff, privateKey, kid: privateKey.kid, created };
  } finally {
    store.close();
  }
}

/** Where the audit page (the verifier) keeps what it trusts: never taken from the server. */
export const PINNED = {
  signers: 'phiseal-portal-pinned-audit-signers',
  witness: 'phiseal-portal-pinned-witness',
  kept: (logId) => `phiseal-portal-kept-checkpoint-${logId}`,
};
const readJson = (key, dflt) => JSON.parse(localStorage.getItem(key) ?? 'null') ?? dflt;
export const pinned = { read: readJson, write: (key, value) => localStorage.setItem(key, JSON.stringify(value)) };

/**
 * An audit queue for this tab: its own hash chain and Merkle tree,
 * checkpoints signed by a key made for this page load. Its public key is
 * pinned for the audit page in this browser's localStorage (standing in for
 * the verifier's own configuration: the server never supplies it) and
 * registered with the witness, which cosigns the checkpoints the server
 * relays. `record(entry, check)` appends durably (IndexedDB) before it
 * resolves; `publish()` signs a checkpoint and sends the pending lines to the
 * server.
 */
export async function staffAudit(role) {
  const staff = STAFF[role];
  await phiseal.init();
  const signingKey = phiseal.SigningKey.generate();
  const jwk = signingKey.publicKey.toJwk();
  await api('directory', { actor: staff.actor, purpose: 'audit-signer', jwk });
  pinned.write(PINNED.signers, [...pinned.read(PINNED.signers, []), jwk]);
  // One chain per tab (two tabs must not share one): its name lives in sessionStorage, so a reload continues it.
  const slot = `phiseal-portal-audit-${staff.actor}`;
  let name = sessionStorage.getItem(slot);
  if (!name) sessionStorage.setItem(slot, (name = `${slot}-${Date.now()}-${crypto.randomUUID().slice(0, 8)}`));
  const queue = await phiseal.AuditQueue.open({ name, signingKey, checkpointEvery: 20 });
  // The writer tells the witness its log's key itself (the witness address comes with the portal's info in this demo).
  const { witness } = await api('info');
  await fetch(`${witness.url}/logs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ origin: queue.logId, jwk }) });
  const actor = { id: staff.actor, role: staff.role };
  const device = navigator.userAgent.includes('Headless') ? 'headless test browser' : 'portal web app';
  return {
    logId: queue.logId,
    record: (entry, check) => queue.append({ actor, client: { device }, ...entry }, check),
    async publish() {
      await queue.checkpoint();
      return queue.flush((lines) => api('audit', { lines }));
    },
  };
}

/** Escapes text for innerHTML. */
export const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function status(id, text, ok = true) {
  const el = $(id);
  el.textContent = text;
  el.className = ok ? 'ok' : 'err';
}
