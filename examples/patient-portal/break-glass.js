// The emergency view (emergency.html): Dr. Okafor, an emergency physician
// who is not on the patients' care team. Her own key is certified like any
// clinician's, but no intake is sealed to it, so with her key alone every
// record is NOT_RECIPIENT (the page shows that first). To read a patient's
// records she breaks the glass:
//
//   1. a `break-glass` entry (patient, reason, a new request id) is
//      appended to her tab's audit chain (IndexedDB), a checkpoint covering
//      it is signed by her certified audit key, and the lines go to the
//      storage server as usual;
//   2. the page sends the chain, the entry's number and her two
//      certificates to the organisation's break-glass escrow (escrow.mjs,
//      pinned in pins.js), which verifies them, stores the entry durably and
//      answers with the patient's emergency keys HPKE-sealed to her
//      certified encryption key (the info names the patient and request);
//   3. the page opens that answer with her non-extractable key, imports
//      each emergency key as a non-extractable WebCrypto key (the PKCS#8
//      bytes are wiped; the JSON text they came in cannot be), wraps it in
//      a 15-minute SessionKey, and opens the patient's rows with it, as the
//      staff views do (record id, patient, the patient's certified author,
//      version), writing a view entry before each is shown, under a
//      break-glass banner.
//
// What is enforced, and by whom: step 2. Her client can skip step 1 or
// lie in it, and the escrow releases nothing (tests/examples/portal.mjs
// plays that client). The SessionKey's 15 minutes and the view entries of
// step 3 are her client's policy: once released, the keys are on her
// machine, which is why the escrow replaces the patient's key after each
// release (later intakes need a new break-glass).

import { describe, protect } from '../protect.js';
import { $, api, esc, escrow, phiseal, SCHEMA, staffAudit, staffKey, status, trustContext } from './portal.js';
import { renderRecord, renderRefusal } from './record-view.js';

const PAGE = 'emergency';
const TTL_MS = 15 * 60_000;
const MIN_REASON = 8;
const utf8 = new TextEncoder();
const fromB64 = (s) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
/** The HPKE info the escrow seals a release under (escrow.mjs releaseInfo): this patient, this request. */
const releaseInfo = (patientId, requestId) => `phiseal-portal break-glass v1\npatient ${patientId}\nrequest ${requestId}`;

/** Opens one row with `privateKey` as the staff views do; resolves to the openRecord result. */
async function openRow(row, privateKey, ctx, versions, authors) {
  const author = await authors(row.patientId);
  if (!author) throw new phiseal.PhisealError(`no author key is published for ${row.patientId}`, phiseal.ErrorCode.UNTRUSTED_AUTHOR);
  return phiseal.openRecord(row.sealed, {
    schema: SCHEMA, privateKey, recordId: row.id, context: { patientId: row.patientId }, authors: [author], versions, trust: ctx.trust,
  });
}

async function main() {
  const me = await staffKey(PAGE);
  $('whoami').textContent = `Signed in as ${me.staff.name} (${me.staff.actor}). Your key: kid ${me.kid.slice(0, 16)}…, ` +
    `non-extractable, kept in this browser's KeyStore${me.created ? ' (made just now; certified and published in the directory)' : ''}. ` +
    "You are not on the patients' care team: no intake is sealed to this key.";
  let audit = null;
  const phi = $('phi');
  const protection = await protect(phi, {
    text: [me.staff.name, `${me.staff.actor} · break-glass`],
    onAttempt: (e) => {
      audit?.record({ action: 'capture-attempt', reason: String(e.api), outcome: e.blocked ? 'denied' : 'success' }).then(() => audit.publish()).catch(() => {});
    },
  });
  $('protection').textContent = describe(protection);
  audit = await staffAudit(PAGE);
  const versions = await phiseal.VersionStore.open({ name: `phiseal-portal-versions-${me.staff.actor}` });
  const [records, ctx] = await Promise.all([api('records'), trustContext()]);
  const authorCerts = new Map();
  const authors = async (patientId) => {
    if (!authorCerts.has(patientId)) authorCerts.set(patientId, await ctx.lookup(patientId));
    return authorCerts.get(patientId);
  };
  await audit.record({ action: 'list-records', resource: `records (${records.length})`, outcome: 'success' });

  // With her own key: every record is sealed to the care team and the patient's escrow key, not to her.
  let opened = 0;
  let sealedToOthers = 0;
  const refusals = [];
  for (const row of records) {
    try {
      await openRow(row, me.privateKey, ctx, versions, authors);
      opened++; // not expected: a record sealed to her key (none is, in this demo)
    } catch (e) {
      if (!(e instanceof phiseal.PhisealError)) throw e;
      if (e.code === 'NOT_RECIPIENT') sealedToOthers++;
      else refusals.push({ id: row.id, code: e.code });
      await audit.record({ action: 'view-record', resource: row.id, patientId: row.patientId, outcome: 'failure', reason: e.code === 'NOT_RECIPIENT' ? 'not sealed to this key' : `refused: ${e.code}` });
    }
  }
  const patients = [...new Set(records.map((r) => r.patientId))];
  $('patient').innerHTML = patients.map((p) => `<option value="${esc(p)}">${esc(p)} (${records.filter((r) => r.patientId === p).length} record(s))</option>`).join('');
  $('go').disabled = patients.length === 0;
  phi.innerHTML = `<p class="muted">${records.length} record(s) on the server, ${sealedToOthers} sealed to others (your key opens none of them)` +
    `${opened ? `, ${opened} opened with your own key` : ''}. Nothing is shown without breaking the glass.</p>`;
  await audit.publish();
  status('summary', `With your own key: ${sealedToOthers} of ${records.length} record(s) NOT_RECIPIENT (log ${audit.logId.slice(0, 8)}…).`);
  window.portalView = { role: PAGE, records: records.length, opened, sealedToOthers, refusals, patients, logId: audit.logId, kid: me.kid };

  $('breakGlass').addEventListener('submit', async (event) => {
    event.preventDefault();
    $('go').disabled = true;
    const patientId = $('patient').value;
    const reason = $('reason').value.trim();
    try {
      if (reason.length < MIN_REASON) throw new Error(`give a reason of ${MIN_REASON} characters at least (the escrow refuses a shorter one)`);
      const requestId = crypto.randomUUID();
      // 1. The entry, durable in IndexedDB, then a checkpoint signed by her certified audit key covers it.
      const entry = await audit.record({ action: 'break-glass', patientId, reason, resource: `break-glass-request:${requestId}`, outcome: 'success' });
      await audit.publish();
      // 2. The escrow checks the chain and the entry, stores them, and answers sealed to her certified key.
      const released = await escrow('break-glass', { patientId, requestId, seq: entry.seq, log: audit.chain(), signer: audit.certificate, recipient: me.certificate });
      // 3. Only her key opens it, and only under this patient's and this request's info.
      const bytes = await phiseal.hpkeOpen(me.privateKey, fromB64(released.enc), fromB64(released.ciphertext), { info: utf8.encode(releaseInfo(patientId, requestId)) });
      const payload = JSON.parse(new TextDecoder().decode(bytes));
      bytes.fill(0);
      if (payload.patientId !== patientId || payload.requestId !== requestId) throw new Error('the escrow answered for another request');
      const keys = new Map();
      for (const k of payload.keys) {
        const der = fromB64(k.pkcs8);
        const key = await phiseal.importPrivateKey(der); // a non-extractable WebCrypto key
        der.fill(0);
        if (key.kid !== k.kid) throw new Error('a released key is not the one the escrow named');
        // 15 minutes on this page: a policy helper (her client's own rule), see js/lifecycle.js.
        keys.set(key.kid, new phiseal.SessionKey(key, { ttlMs: TTL_MS, purpose: 'break-glass' }));
      }
      const expiresAt = Date.now() + TTL_MS;
      phi.textContent = '';
      const banner = document.createElement('p');
      banner.id = 'banner';
      banner.className = 'note';
      banner.innerHTML = `<b>BREAK-GLASS ACCESS</b> to patient ${esc(patientId)} by ${esc(me.staff.name)}. Reason: “${esc(reason)}”. ` +
        `Request ${esc(requestId)}: entry #${entry.seq} of your audit log ${esc(audit.logId.slice(0, 8))}…, verified and stored by the ` +
        `organisation's escrow before it released ${payload.keys.length} emergency key(s) to your key` +
        `${released.rotated ? ' (it has replaced the patient\'s key: later intakes need a new break-glass)' : ''}. ` +
        `Every record opened is audited. The keys work on this page until ${new Date(expiresAt).toLocaleTimeString()}.`;
      phi.append(banner);
      let shown = 0;
      const refused = [];
      for (const row of records.filter((r) => r.patientId === patientId)) {
        try {
          // The emergency key this record was sealed to (the escrow replaces it after each release).
          const wrappedTo = new Set(phiseal.inspectRecord(row.sealed).groups.flatMap((g) => g.recipients));
          const kid = [...keys.keys()].find((k) => wrappedTo.has(k));
          if (!kid) throw new phiseal.PhisealError('not sealed to a released emergency key', phiseal.ErrorCode.NOT_RECIPIENT);
          const result = await openRow(row, keys.get(kid), ctx, versions, authors);
          await audit.record({ action: 'view-record', resource: row.id, patientId, outcome: 'success', reason: `break-glass ${requestId}` }, { record: result.record, schema: SCHEMA });
          phi.append(renderRecord(row.id, row.received, result));
          shown++;
        } catch (e) {
          if (!(e instanceof phiseal.PhisealError)) throw e;
          refused.push({ id: row.id, code: e.code });
          await audit.record({ action: 'view-record', resource: row.id, patientId, outcome: 'failure', reason: `break-glass ${requestId}: ${e.code}` });
          phi.append(renderRefusal(row.id, row.patientId, row.received, e.code, e.message));
        }
      }
      await audit.publish();
      status('bgResult', `Released by the escrow: opened ${shown} record(s) of ${patientId}${refused.length ? `; refused ${refused.length}` : ''}.`, refused.length === 0);
      window.portalBreakGlass = { patientId, requestId, seq: entry.seq, logId: audit.logId, opened: shown, refusals: refused, kids: [...keys.keys()], rotated: released.rotated, expiresAt };
    } catch (e) {
      status('bgResult', `Not released: ${e.message}`, false);
      window.portalBreakGlass = { patientId, error: e.message, status: e.status ?? null };
    } finally {
      $('go').disabled = false;
    }
  });
}

main().catch((e) => {
  status('summary', `${e.name}: ${e.code ?? ''} ${e.message}`, false);
  window.portalView = { role: PAGE, error: e.message };
});
