// The clinician and billing views (one module, the page says which role):
// fetch the sealed records, open each with this person's own key (what the
// key's groups allow; the rest stays sealed), write an audit entry for every
// record opened before showing it, and show the PHI under a watermark with
// the viewer's identity, with the capture guard on.

import { protect, describe } from '../protect.js';
import { $, api, esc, phiseal, SCHEMA, staffAudit, staffKey, status } from './portal.js';

const role = document.documentElement.dataset.role;

/** What the page shows of a record, in order: [label, JSON Pointer]. */
function rows(record) {
  const out = [
    ['Name', '/patient/name'],
    ['Date of birth', '/patient/dob'],
    ['SSN', '/patient/ssn'],
  ];
  (record.diagnoses ?? []).forEach((_, i) => {
    out.push([`Diagnosis ${i + 1} code`, `/diagnoses/${i}/code`], [`Diagnosis ${i + 1}`, `/diagnoses/${i}/description`]);
  });
  out.push(['Notes', '/notes'], ['Insurance plan', '/insurance/payer'], ['Member id', '/insurance/memberId'], ['Visit type', '/visitType']);
  return out;
}

const at = (obj, pointer) => pointer.split('/').slice(1).reduce((o, k) => (o == null ? o : o[k]), obj);

function renderRecord(id, received, opened) {
  const locked = new Set(opened.locked.map((l) => l.path));
  const card = document.createElement('section');
  card.className = 'card record';
  card.dataset.recordId = id;
  const items = rows(opened.record).map(([label, ptr]) => {
    const value = locked.has(ptr)
      ? `<span class="locked">sealed: your key was not granted this field's group</span>`
      : esc(at(opened.record, ptr) ?? '');
    return `<dt>${esc(label)}</dt><dd data-field="${esc(ptr)}">${value}</dd>`;
  });
  card.innerHTML = `<h3>${esc(id)} <small class="muted">received ${new Date(received).toLocaleString()}</small></h3>
    <dl class="fields">${items.join('')}</dl>`;
  return card;
}

async function main() {
  const me = await staffKey(role);
  $('whoami').textContent = `Signed in as ${me.staff.name} (${me.staff.actor}). Your key: kid ${me.kid.slice(0, 16)}…, ` +
    `non-extractable, kept in this browser's KeyStore${me.created ? ' (made just now; its public half is now in the directory)' : ''}.`;

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
  const records = await api('records');
  await audit.record({ action: 'list-records', resource: `records (${records.length})`, outcome: 'success' });
  let opened = 0;
  let sealedToOthers = 0;
  phi.textContent = '';
  for (const { id, received, sealed } of records) {
    try {
      const result = await phiseal.openRecord(sealed, { schema: SCHEMA, privateKey: me.privateKey });
      // Durable audit entry first (refused if it would contain a PHI value of the record), then the PHI on screen.
      await audit.record({ action: 'view-record', resource: id, outcome: 'success' }, { record: result.record, schema: SCHEMA });
      phi.append(renderRecord(id, received, result));
      opened++;
    } catch (e) {
      if (e.code !== 'NOT_RECIPIENT') throw e;
      sealedToOthers++;
      await audit.record({ action: 'view-record', resource: id, outcome: 'failure', reason: 'not sealed to this key' });
    }
  }
  if (records.length === 0) phi.innerHTML = '<p class="muted">No records yet: submit the <a href="intake.html">intake form</a>.</p>';
  const delivered = await audit.publish();
  status('summary', `${records.length} record(s) on the server; opened ${opened} with your key` +
    (sealedToOthers ? `; ${sealedToOthers} sealed before your key was registered (not readable by it)` : '') +
    `. ${delivered} audit line(s) sent (log ${audit.logId.slice(0, 8)}…).`);
  window.portalView = { role, opened, records: records.length, logId: audit.logId };
}

main().catch((e) => {
  status('summary', `${e.name}: ${e.code ?? ''} ${e.message}`, false);
  window.portalView = { role, error: e.message };
});
