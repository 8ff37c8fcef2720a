// The clinician and billing views (one module, the page says which role):
// fetch the sealed records (FHIR intake Bundles, intake-fhir.js), open each
// with this person's own key (what the key's groups allow; the rest stays
// sealed), write an audit entry for every
// record opened before showing it, and show the PHI under a watermark with
// the viewer's identity, with the capture guard on.
//
// Each row is opened as what it claims to be: the record id of the row asked
// for, the row's patient (`context: {patientId}`), signed by that patient's
// author key as the pinned organisation root certified it for that patient
// and the key directory lists it (a verified lookup), and not older than the
// newest version this browser has opened (a VersionStore in IndexedDB). A
// record the server moved to another row or patient, signed by anyone else,
// or rolled back is refused, and nothing of it is shown.
//
// On load the page also runs this person's directory monitor: a key
// published for them that this browser does not hold (someone added a
// device, or an insider with the root key swapped theirs) is shown as an
// alarm.

import { protect, describe } from '../protect.js';
import { $, api, phiseal, SCHEMA, staffAudit, staffKey, status, trustContext } from './portal.js';
import { renderRecord, renderRefusal } from './record-view.js';

const role = document.documentElement.dataset.role;

async function main() {
  const me = await staffKey(role);
  $('whoami').textContent = `Signed in as ${me.staff.name} (${me.staff.actor}). Your key: kid ${me.kid.slice(0, 16)}…, ` +
    `non-extractable, kept in this browser's KeyStore${me.created ? ' (made just now; certified and published in the directory)' : ''}.`;
  if (me.monitorError || me.foreign.length > 0) {
    const alarm = document.createElement('p');
    alarm.id = 'foreignKeys';
    alarm.className = 'err';
    alarm.textContent = me.monitorError
      ? `Warning: the key directory's log did not verify against the checkpoint this browser kept (${me.monitorError.code}: ` +
        `${me.monitorError.message}). It may be hiding keys published for you: tell your security officer.`
      : `Warning: the key directory lists ${me.foreign.length} key(s) for you that this browser does not hold ` +
        `(entry ${me.foreign.map((e) => e.index).join(', ')}). If you did not add a device, tell your security officer: ` +
        'patients may be sealing records to it.';
    $('whoami').after(alarm);
  }

  let audit = null;
  const phi = $('phi');
  const protection = await protect(phi, {
    text: [me.staff.name, `${me.staff.actor} · ${me.staff.role}`],
    // Every capture attempt the guard sees (screen capture, recording, pixel readback, copy) is audited and sent.
    onAttempt: (e) => {
      $('protection').textContent = `${describe(protection)} · capture attempts: ${protection.attempts}`;
      audit
        ?.record({ action: 'capture-attempt', reason: String(e.api), outcome: e.blocked ? 'denied' : 'success' })
        .then(() => audit.publish())
        .catch(() => {});
    },
  });
  $('protection').textContent = describe(protection);
  window.portalProtection = protection;

  audit = await staffAudit(role);
  // The highest version of each record this browser has opened, across reloads: older ones are refused (STALE_VERSION).
  const versions = await phiseal.VersionStore.open({ name: `phiseal-portal-versions-${me.staff.actor}` });
  const [records, ctx] = await Promise.all([api('records'), trustContext()]);
  /** Each patient's author certificate, from a verified directory lookup (null if none is published). */
  const authors = new Map();
  const authorOf = async (patientId) => {
    if (!authors.has(patientId)) authors.set(patientId, await ctx.lookup(patientId));
    return authors.get(patientId);
  };
  await audit.record({ action: 'list-records', resource: `records (${records.length})`, outcome: 'success' });
  let opened = 0;
  let sealedToOthers = 0;
  const refusals = [];
  phi.textContent = '';
  for (const { id, patientId, received, sealed } of records) {
    try {
      const author = await authorOf(patientId);
      if (!author) throw new phiseal.PhisealError(`no author key is published for ${patientId}`, phiseal.ErrorCode.UNTRUSTED_AUTHOR);
      const result = await phiseal.openRecord(sealed, {
        schema: SCHEMA, privateKey: me.privateKey, recordId: id, context: { patientId }, authors: [author], versions, trust: ctx.trust,
      });
      // Durable audit entry first (refused if it would contain a PHI value of the record), then the PHI on screen.
      await audit.record({ action: 'view-record', resource: id, patientId, outcome: 'success' }, { record: result.record, schema: SCHEMA });
      phi.append(renderRecord(id, received, result));
      opened++;
    } catch (e) {
      if (!(e instanceof phiseal.PhisealError)) throw e;
      if (e.code === 'NOT_RECIPIENT') {
        sealedToOthers++;
        await audit.record({ action: 'view-record', resource: id, patientId, outcome: 'failure', reason: 'not sealed to this key' });
        continue;
      }
      refusals.push({ id, code: e.code });
      await audit.record({ action: 'view-record', resource: id, patientId, outcome: 'failure', reason: `refused: ${e.code}` });
      phi.append(renderRefusal(id, patientId, received, e.code, e.message));
    }
  }
  versions.close();
  if (records.length === 0) phi.innerHTML = '<p class="muted">No records yet: submit the <a href="intake.html">intake form</a>.</p>';
  const delivered = await audit.publish();
  status('summary', `${records.length} record(s) on the server; opened ${opened} with your key` +
    (sealedToOthers ? `; ${sealedToOthers} sealed before your key was registered (not readable by it)` : '') +
    (refusals.length ? `; REFUSED ${refusals.length} that did not verify as the record of their row (${refusals.map((r) => r.code).join(', ')})` : '') +
    `. ${delivered} audit line(s) sent (log ${audit.logId.slice(0, 8)}…).`, refusals.length === 0);
  window.portalView = {
    role, opened, records: records.length, refusals, logId: audit.logId, kid: me.kid, foreign: me.foreign?.length ?? null, monitor: me.monitorError?.code ?? null,
  };
}

main().catch((e) => {
  status('summary', `${e.name}: ${e.code ?? ''} ${e.message}`, false);
  window.portalView = { role, error: e.message };
});
