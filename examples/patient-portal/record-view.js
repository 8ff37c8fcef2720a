// One opened intake record as a card (the FHIR Bundle's rows, intake-fhir.js;
// a value this viewer's key was not granted shows as sealed), or the refusal
// of a row that did not open as what it claims to be. Shared by the staff
// views (staff-view.js) and the emergency view (break-glass.js).

import { intakeRows } from './intake-fhir.js';
import { esc } from './portal.js';

const at = (obj, pointer) => pointer.split('/').slice(1).reduce((o, k) => (o == null ? o : o[k]), obj);

/** A record as openRecord returned it (`opened`): its rows, a value of a group not granted to this key shown as sealed. */
export function renderRecord(id, received, opened) {
  // A value is sealed for this viewer when it, or a value holding it, is one of `locked`.
  const sealedHere = (ptr) => opened.locked.some((l) => ptr === l.path || ptr.startsWith(`${l.path}/`));
  const card = document.createElement('section');
  card.className = 'card record';
  card.dataset.recordId = id;
  card.dataset.patientId = opened.header.context.patientId;
  const items = intakeRows(opened.record).map(([label, ptr, format]) => {
    const v = at(opened.record, ptr);
    const value = sealedHere(ptr)
      ? `<span class="locked">sealed: your key was not granted this field's group</span>`
      : esc(v == null ? '' : format ? format(v) : v);
    return `<dt>${esc(label)}</dt><dd data-field="${esc(ptr)}">${value}</dd>`;
  });
  card.innerHTML = `<h3>${esc(id)} <small class="muted">${esc(opened.header.context.patientId)} · version ${opened.header.version} · ` +
    `signed by ${esc(opened.author.subject)} (${esc(opened.author.role)}, certified; key ${esc(opened.author.kid.slice(0, 10))}…) · received ${new Date(received).toLocaleString()}</small></h3>
    <dl class="fields">${items.join('')}</dl>`;
  return card;
}

/** A row that did not open as what it claims to be: the reason, nothing of the record. */
export function renderRefusal(id, patientId, received, code, message) {
  const card = document.createElement('section');
  card.className = 'card record refused';
  card.dataset.recordId = id;
  card.dataset.refused = code;
  card.innerHTML = `<h3>${esc(id)} <small class="muted">${esc(patientId)} · received ${new Date(received).toLocaleString()}</small></h3>
    <p class="err">Refused (${esc(code)}): ${esc(message)}. This is not a valid record of this patient under this id, so nothing of it is shown.</p>`;
  return card;
}
