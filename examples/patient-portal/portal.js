// Browser helpers shared by the portal's pages: the server API, the key
// directory, and each staff member's key and audit queue.
//
// Demo setup, stated plainly: every key is generated in the browser of the
// person it belongs to. The clinician's and the billing officer's HPKE private
// keys are non-extractable WebCrypto keys kept in IndexedDB by phiseal's
// KeyStore; only their public JWKs go to the server's directory. In this demo
// the three roles share one browser profile (one origin, separate IndexedDB
// stores); in a real portal each person uses their own device.

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

/**
 * An audit queue for this tab: its own hash chain, checkpoints signed by a
 * key made for this page load whose public key is registered as an audit
 * signer. `record(entry, check)` appends durably
 * (IndexedDB) before it resolves; `publish()` signs a checkpoint and sends the
 * pending lines to the server.
 */
export async function staffAudit(role) {
  const staff = STAFF[role];
  await phiseal.init();
  const signingKey = phiseal.SigningKey.generate();
  await api('directory', { actor: staff.actor, purpose: 'audit-signer', jwk: signingKey.publicKey.toJwk() });
  // One chain per tab (two tabs must not share one): its name lives in sessionStorage, so a reload continues it.
  const slot = `phiseal-portal-audit-${staff.actor}`;
  let name = sessionStorage.getItem(slot);
  if (!name) sessionStorage.setItem(slot, (name = `${slot}-${Date.now()}-${crypto.randomUUID().slice(0, 8)}`));
  const queue = await phiseal.AuditQueue.open({ name, signingKey, checkpointEvery: 20 });
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
