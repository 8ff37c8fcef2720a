// End-to-end test of examples/patient-portal: the care team's keys are made
// in the browser (each staff member signed in through the launcher's link)
// and certified by the organisation's desk, which refuses the server's own
// keys and revocations; the patient submits the intake form (a FHIR Bundle),
// the server's SQLite file is searched for every PHI value and the stored
// Bundle checked element by element, then the clinician, billing and audit
// pages are checked; last, the server (playing the compromised one) moves a
// record to another patient's row, swaps the care team's keys in its
// directory, forks it, shows Dr. Lee's monitor an older log, and rewrites
// the audit logs, and the pages must refuse each. Then break-glass: Dr.
// Okafor (emergency department, not on the care team) opens nothing with
// her own key; her client, bypassing the emergency page, asks the escrow
// without a valid signed entry and is refused; the page's request is
// granted (the escrow stores the entry first); the storage server, replaying
// what it holds, gets nothing. Called by run.mjs.
import { randomUUID } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { mkdir, readFile, symlink, unlink } from 'node:fs/promises';
import initSqlJs from 'sql.js';
import {
  AuditLog, generateKeyPair, hpkeOpen, importPublicKey, init, inspectRecord, issueCertificate, parseCheckpoint, SigningKey, Trust, verifyAllPhiEncrypted,
  verifyInclusion, verifyLog,
} from '../../js/index.js';
import { SCHEMA } from '../../examples/patient-portal/schema.js';
import { ROOT } from '../support/serve.mjs';
import { assert, screenshot } from './support.mjs';

/** What the test patient types: distinctive strings, so a match can only be a leak. */
const PHI = {
  name: 'Zelda Quintanilla-Okonkwo',
  dob: '1979-11-02',
  ssn: '987-65-4329',
  dx1code: 'Q21.1',
  dx1desc: 'Atrial septal defect, ostium secundum',
  dx2code: 'G43.909',
  dx2desc: 'Migraine, unspecified, not intractable',
  notes: 'Palpitations after caffeine; sister had SVT ablation in 2019.',
  payer: 'Cormorant Mutual Health HMO',
  member: 'CMH-4410958-22',
};
/** A second patient's intake (another patient profile in the same browser). */
const PHI2 = {
  name: 'Ignatius Vandermeer-Adeyemi',
  dob: '1991-06-17',
  ssn: '876-54-3218',
  dx1code: 'K50.90',
  dx1desc: 'Crohn disease, unspecified, without complications',
  dx2code: '',
  dx2desc: '',
  notes: 'Budesonide taper finished in March; flare after travel.',
  payer: 'Heron Valley Health EPO',
  member: 'HVH-0093317-05',
};
/** What the FHIR preset seals as `identity` (the Patient: billing opens it) and as `clinical` (the answers: it does not). */
const IDENTITY = ['name', 'dob', 'ssn', 'payer', 'member'];
const CLINICAL = ['dx1code', 'dx1desc', 'dx2code', 'dx2desc', 'notes'];

/** The forms in which a PHI string could sit in a file: UTF-8, UTF-16, and base64/base64url at each alignment. */
function leakForms(value) {
  const forms = [Buffer.from(value, 'utf8'), Buffer.from(value, 'utf16le')];
  for (let shift = 0; shift < 3; shift++) {
    const padded = Buffer.concat([Buffer.alloc(shift), Buffer.from(value, 'utf8')]);
    // Skip the characters that depend on the unknown neighbouring bytes.
    const skip = shift === 0 ? 0 : shift + 1;
    for (const enc of ['base64', 'base64url']) {
      const b = padded.toString(enc).replace(/=+$/, '');
      forms.push(Buffer.from(b.slice(skip, b.length - 2), 'utf8'));
    }
  }
  return forms;
}

async function waitView(page, path, url) {
  await page.goto(path.startsWith('http') ? path : `${url}/examples/patient-portal/${path}`);
  await page.waitForFunction(() => window.portalView !== undefined, null, { timeout: 30_000 });
  const view = await page.evaluate(() => window.portalView);
  if (view.error) throw new Error(`${path}: ${view.error}`);
  return view;
}

export async function portalTests({ context, url, check, server }) {
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error('portal page error:', e.message));
  const shots = [];

  /** The directory log as the server serves it: [[subject, certificate], ...]. */
  const directoryLog = async () => (await (await fetch(`${url}/api/portal/directory/log`)).json()).entries;
  const rootTrust = () => new Trust({ roots: [importPublicKey(server.desk.root)], requireRevocations: false });

  /** The directory log as the first staff views left it (no key anyone does not hold): what the server replays later. */
  let firstLog = null;
  /** The kids of the keys made in Dr. Lee's and the billing officer's browsers. */
  const staffKids = {};

  await check('portal: clinician and billing keys made in the browser, certified by the organisation root, published in the directory', async () => {
    // Each staff member signs in once through the link the launcher printed (the desk credential rides in the fragment).
    const c = await waitView(page, server.signIn['dr-lee'], url);
    assert(new URL(page.url()).hash === '', `the credential stayed in the address bar: ${page.url()}`);
    const b = await waitView(page, server.signIn['billing-ortiz'], url);
    staffKids['dr-lee'] = c.kid;
    staffKids['billing-ortiz'] = b.kid;
    firstLog = await (await fetch(`${url}/api/portal/directory/log`)).json();
    assert(c.records === 0 && b.records === 0, 'the fresh server should hold no records');
    assert(c.foreign === 0 && b.foreign === 0, 'a fresh directory lists a key nobody holds');
    const entries = await directoryLog();
    const trust = rootTrust();
    const certified = await Promise.all(entries.map(async ([subject, cert]) => ({ subject, ...(await trust.certify(cert, { purpose: 'encrypt' })) })));
    const roles = certified.map((e) => `${e.subject}:${e.role}:${[...e.groups].sort().join('+')}`).sort();
    assert(JSON.stringify(roles) === '["billing-ortiz:billing:billing+identity","dr-lee:clinician:billing+clinical+identity"]', `directory: ${roles}`);
    const signers = await (await fetch(`${url}/api/portal/signers`)).json();
    assert(signers.length === 2, `signers: ${signers.length}`);
    await Promise.all(signers.map((cert) => trust.certify(cert, { purpose: 'sign' })));
    // The desk certifies public keys only; the server publishes only root-certified ones.
    const jwk = JSON.parse(Buffer.from(entries[0][1].split('.')[1], 'base64url')).cnf.jwk;
    const enroll = await fetch(`${server.desk.url}/enroll`, {
      method: 'POST', headers: { authorization: `Bearer ${server.desk.staff['dr-lee']}` }, body: JSON.stringify({ subject: 'dr-lee', purpose: 'encrypt', jwk: { ...jwk, d: 'AAAA' } }),
    });
    assert(enroll.status === 400, `the desk did not refuse a private JWK (${enroll.status})`);
    const own = await generateKeyPair();
    const selfMade = issueCertificate({ subject: 'dr-lee', name: 'x', role: 'clinician', groups: ['clinical'], purposes: ['encrypt'], notBefore: Date.now() - 1000, notAfter: Date.now() + 3_600_000, publicKey: own.publicKey }, SigningKey.generate());
    const refused = await fetch(`${url}/api/portal/directory`, { method: 'POST', body: JSON.stringify({ certificate: selfMade }) });
    assert(refused.status === 400, `the server published a certificate of another root (${refused.status})`);
    return `${entries.length} directory entries, ${signers.length} audit signers, all certified by the pinned root`;
  });

  await check("portal: the data folder and dot folders are not served, in any casing, through a backslash or a link", async () => {
    // A link to the data folder from a served folder (test-results/ is served and ignored by git): its real path is refused.
    const link = join(ROOT, 'test-results', `data-link-${process.pid}`);
    await mkdir(dirname(link), { recursive: true });
    await symlink(dirname(server.dbFile), link, 'dir');
    try {
      const paths = [
        '/examples/.data/org/root.key.jwk', '/examples/x/../.data/org/root.key.jwk', '/examples/%2Edata/portal.sqlite',
        '/examples/.DATA/org/root.key.jwk', '/examples/.Data/portal.sqlite', '/examples%5C.data%5Corg%5Croot.key.jwk',
        '/examples/patient-portal%5C..%5C.data%5Cportal.sqlite', '/examples/%5C.DATA/org/root.key.jwk', '/.git/HEAD',
        `/test-results/${basename(link)}/portal.sqlite`, `/test-results/${basename(link)}/org/root.key.jwk`, `/TEST-RESULTS/${basename(link)}/portal.sqlite`,
      ];
      const served = [];
      for (const path of paths) {
        const res = await fetch(`${url}${path}`);
        if (res.status !== 403 && res.status !== 404) served.push(`${path}: ${res.status}`);
      }
      assert(served.length === 0, `served: ${served.join('; ')}`);
      const ok = await fetch(`${url}/examples/patient-portal/schema.js`);
      assert(ok.status === 200, `an ordinary file is refused (${ok.status})`);
      return `${paths.length} paths refused`;
    } finally {
      await unlink(link);
    }
  });

  await check("portal: the desk refuses the storage server: no staff key without that member's credential, no revocation without the administrator's, no other page's origin; patients seal only to the keys made in the staff's browsers", async () => {
    const serverKey = (await generateKeyPair()).publicKey.toJwk();
    const desk = (path, body, headers = {}) => fetch(`${server.desk.url}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
    const bearer = (secret) => ({ authorization: `Bearer ${secret}` });
    const statuses = {};
    const expect = async (name, expected, res) => {
      statuses[name] = res.status;
      assert(res.status === expected, `${name}: HTTP ${res.status} (expected ${expected}): ${await res.text()}`);
    };
    await expect('encrypt key for dr-lee, no credential', 401, await desk('/enroll', { subject: 'dr-lee', purpose: 'encrypt', jwk: serverKey }));
    await expect('encrypt key for dr-lee, a made-up credential', 403, await desk('/enroll', { subject: 'dr-lee', purpose: 'encrypt', jwk: serverKey }, bearer('x'.repeat(43))));
    await expect("encrypt key for dr-lee, billing's credential", 403, await desk('/enroll', { subject: 'dr-lee', purpose: 'encrypt', jwk: serverKey }, bearer(server.desk.staff['billing-ortiz'])));
    await expect('audit signer key for dr-lee, no credential', 401, await desk('/enroll', { subject: 'dr-lee', purpose: 'sign', jwk: serverKey }));
    await expect('audit signer key for billing-ortiz, no credential', 401, await desk('/enroll', { subject: 'billing-ortiz', purpose: 'sign', jwk: serverKey }));
    const issued = await (await fetch(`${server.desk.url}/issued`)).json();
    const serial = issued.find((e) => e.subject === 'dr-lee' && e.purpose === 'encrypt').serial;
    await expect("revoke dr-lee's key, no secret", 401, await desk('/revoke', { serial }));
    await expect("revoke dr-lee's key, dr-lee's staff credential", 403, await desk('/revoke', { serial }, bearer(server.desk.staff['dr-lee'])));
    // Another page in the browser (any origin but the portal's) may not call the desk at all; the portal's pages may.
    const foreign = await desk('/enroll', { subject: 'dr-lee', purpose: 'encrypt', jwk: serverKey }, { ...bearer(server.desk.staff['dr-lee']), origin: 'http://evil.example' });
    await expect('a call from another page', 403, foreign);
    assert(!foreign.headers.has('access-control-allow-origin'), 'CORS allowed another page');
    const preflight = await fetch(`${server.desk.url}/enroll`, { method: 'OPTIONS', headers: { origin: url, 'access-control-request-method': 'POST' } });
    assert(preflight.headers.get('access-control-allow-origin') === url, `the portal's origin: ${preflight.headers.get('access-control-allow-origin')}`);
    const after = await (await fetch(`${server.desk.url}/issued`)).json();
    const serverKid = importPublicKey(serverKey).kid;
    assert(!after.some((e) => e.kid === serverKid) && after.length === issued.length && !after.some((e) => e.revoked), `the desk issued or revoked: ${JSON.stringify(after)}`);
    // A patient's browser seals to the care team's own keys, nothing else.
    await page.goto(`${url}/examples/patient-portal/intake.html`);
    await page.waitForFunction(() => window.portalReady === true, null, { timeout: 20_000 });
    const team = await page.evaluate(() => window.portalTeam);
    const kids = Object.fromEntries(team.map((t) => [t.actor, t.kid]));
    assert(JSON.stringify(kids) === JSON.stringify(staffKids), `the patient seals to ${JSON.stringify(kids)}, the staff hold ${JSON.stringify(staffKids)}`);
    return Object.entries(statuses).map(([k, v]) => `${k}: ${v}`).join('; ');
  });

  /** The two patients' rows (id, patient_id, sealed) as stored before the server moved them. */
  let intakeRows = null;

  /** Fills and submits the intake form as the patient of `profile`; resolves to the stored record id. */
  const submitIntake = async (phi, profile) => {
    await page.goto(`${url}/examples/patient-portal/intake.html${profile ? `?profile=${profile}` : ''}`);
    await page.waitForFunction(() => window.portalReady === true && !document.getElementById('submit').disabled, null, { timeout: 20_000 });
    for (const [field, value] of Object.entries(phi)) await page.fill(`#${field}`, value);
    await page.click('#submit');
    await page.waitForFunction(() => window.portalSubmitted !== undefined || document.getElementById('result').className === 'err', null, { timeout: 20_000 });
    const id = await page.evaluate(() => window.portalSubmitted);
    assert(id, `submit failed: ${await page.textContent('#result')}`);
    return id;
  };

  await check('portal: the intake form is sealed in the browser and stored', async () => {
    const id = await submitIntake(PHI);
    const patient = await page.textContent('#patient');
    assert(/You are patient patient-[0-9a-f-]{36}\. Your author key: kid .*webcrypto, non-extractable/.test(patient), patient);
    const patients = (await directoryLog()).filter(([subject]) => subject.startsWith('patient-'));
    const trust = rootTrust();
    const authors = await Promise.all(patients.map(async ([subject, cert]) => ({ subject, ...(await trust.certify(cert, { purpose: 'sign' })) })));
    assert(authors.length === 1 && authors[0].role === 'patient' && authors[0].name === 'patient' && patient.includes(authors[0].subject), `patient author keys in the directory: ${JSON.stringify(authors.map((a) => a.subject))}`);
    const team = await page.textContent('#team');
    assert(/certified by your organisation and in its key directory/.test(team), team);
    const form = await page.evaluate(() => [...document.querySelectorAll('#intake input, #intake textarea')].map((e) => e.value).join(''));
    assert(form === '', 'the form still holds the plaintext after submit');
    shots.push(await screenshot(page, 'portal-1-intake-sent'));
    return id;
  });

  await check('portal: the server database (SQLite file) holds no plaintext PHI', async () => {
    const bytes = await readFile(server.dbFile);
    const found = [];
    for (const [field, value] of Object.entries(PHI)) {
      if (leakForms(value).some((form) => bytes.includes(form))) found.push(field);
    }
    assert(found.length === 0, `PHI found in ${server.dbFile}: ${found.join(', ')}`);
    // The file is a real SQLite database holding the record, sealed, with the non-PHI field in clear.
    const SQL = await initSqlJs();
    const db = new SQL.Database(bytes);
    const rows = db.exec('SELECT sealed FROM records')[0]?.values ?? [];
    db.close();
    assert(rows.length === 1, `expected 1 stored record, found ${rows.length}`);
    const sealed = JSON.parse(rows[0][0]);
    await init();
    assert(verifyAllPhiEncrypted(sealed, SCHEMA).length === 0, 'a schema field is plaintext in the stored record');
    assert(!bytes.includes(Buffer.from('"d":')), 'a JWK with a private part is in the database');
    // It is FHIR R4: a Bundle (collection) of a Patient and a QuestionnaireResponse about it, whose identifier values,
    // name, birth date and answers are field strings (phs1.: AES-256-GCM), the structure and the visit type in the clear.
    assert(sealed.resourceType === 'Bundle' && sealed.type === 'collection' && typeof sealed._phiseal === 'string', 'the stored record is not a sealed FHIR Bundle');
    const [patient, response] = sealed.entry.map((e) => e.resource);
    assert(patient?.resourceType === 'Patient' && response?.resourceType === 'QuestionnaireResponse', `entries: ${sealed.entry.map((e) => e.resource?.resourceType)}`);
    assert(response.subject.reference === sealed.entry[0].fullUrl && response.status === 'completed', 'the QuestionnaireResponse is not about the Patient');
    const ssn = patient.identifier.find((i) => i.system === 'http://hl7.org/fhir/sid/us-ssn');
    const member = patient.identifier.find((i) => i.type?.coding?.some((c) => c.code === 'MB'));
    const answers = response.item.flatMap((it) => it.answer.map((a, j) => [`${it.linkId} answer ${j + 1}`, Object.entries(a).find(([k]) => k.startsWith('value'))?.[1]]));
    assert(response.item.map((it) => it.linkId).join() === 'diagnoses,notes' && answers.length === 3, `items: ${JSON.stringify(answers.map(([k]) => k))}`);
    const values = [['name', patient.name[0].text], ['birthDate', patient.birthDate], ['SSN', ssn?.value], ['member id', member?.value], ['plan', member?.assigner?.display], ...answers];
    const clear = values.filter(([, v]) => !(typeof v === 'string' && v.startsWith('phs1.'))).map(([k]) => k);
    assert(clear.length === 0, `not ciphertext in the stored Bundle: ${clear.join(', ')}`);
    assert(sealed.meta.tag[0].code === 'new patient, telehealth', `visit type: ${JSON.stringify(sealed.meta)}`);
    // Who each group's data key was wrapped to: the Patient for both, the answers for Dr. Lee only, and every group to
    // the patient's break-glass key (held by the escrow, certified for this patient).
    const actorOf = Object.fromEntries(Object.entries(staffKids).map(([actor, kid]) => [kid, actor]));
    for (const [subject, cert] of await directoryLog()) {
      if (subject === `break-glass:${inspectRecord(sealed).context.patientId}`) actorOf[(await rootTrust().certify(cert, { purpose: 'encrypt' })).kid] = 'break-glass';
    }
    const wrapped = Object.fromEntries(inspectRecord(sealed).groups.map((g) => [g.group, g.recipients.map((k) => actorOf[k] ?? k).sort().join('+')]));
    assert(wrapped.identity === 'billing-ortiz+break-glass+dr-lee' && wrapped.clinical === 'break-glass+dr-lee' && wrapped.billing === 'billing-ortiz+break-glass+dr-lee', `wrapped to: ${JSON.stringify(wrapped)}`);
    // The server refuses a record with a name or an answer left in plaintext.
    for (const [what, edit] of [
      ['a plaintext name', (r) => { r.entry[0].resource.name[0].text = 'Plain Text Name'; }],
      ['a plaintext answer', (r) => { r.entry[1].resource.item[1].answer[0].valueString = 'plain notes'; }],
    ]) {
      const leaky = structuredClone(sealed);
      edit(leaky);
      const res = await fetch(`${url}/api/portal/records`, { method: 'POST', body: JSON.stringify(leaky) });
      assert(res.status === 422, `the server accepted a record with ${what} (${res.status})`);
    }
    return `a FHIR Bundle (Patient, QuestionnaireResponse): ${values.length} values sealed, groups wrapped to ${JSON.stringify(wrapped)}; ` +
      `${bytes.length} bytes searched for ${Object.keys(PHI).length} values in ${leakForms('x').length} encodings each (${server.portal.engine})`;
  });

  await check('portal: the clinician opens the whole record with her key, watermarked; the guard refuses a screen capture', async () => {
    const view = await waitView(page, 'clinician.html', url);
    assert(view.opened === 1, `opened ${view.opened} of ${view.records}`);
    const text = await page.textContent('#phi');
    const missing = [...IDENTITY, ...CLINICAL].filter((f) => !text.includes(PHI[f]));
    assert(missing.length === 0, `the clinician does not see ${missing.join(', ')}`);
    const protection = await page.evaluate(() => window.portalProtection);
    shots.push(await screenshot(page, 'portal-2-clinician'));
    assert(protection.guard && protection.watermark, `protection: ${JSON.stringify(protection)}`);
    // A script in the page tries to capture the screen: the guard refuses, the app audits it (checked on the audit page).
    const capture = await page.evaluate(() =>
      navigator.mediaDevices.getDisplayMedia({ video: true }).then((s) => (s.getTracks().forEach((t) => t.stop()), 'allowed'), (e) => `refused: ${e.name}`),
    );
    assert(capture.startsWith('refused'), `screen capture of the PHI view was ${capture}`);
    await page.waitForFunction(() => document.getElementById('protection').textContent.includes('capture attempts: 1'), null, { timeout: 5_000 });
    await page.waitForTimeout(500); // the audit entry is written and sent
    return `all 10 PHI values shown; screen capture ${capture}`;
  });

  await check('portal: billing opens who the patient is (identity: name, birth date, SSN, insurance); the clinical answers stay sealed', async () => {
    const view = await waitView(page, 'billing.html', url);
    assert(view.opened === 1, `opened ${view.opened} of ${view.records}`);
    const text = await page.textContent('#phi');
    const missing = IDENTITY.filter((f) => !text.includes(PHI[f]));
    const leaked = CLINICAL.filter((f) => text.includes(PHI[f]));
    assert(missing.length === 0, `billing does not see ${missing.join(', ')}`);
    assert(leaked.length === 0, `billing sees clinical answers: ${leaked.join(', ')}`);
    // The two diagnoses and the notes: each shown as sealed.
    const locked = await page.locator('#phi .locked').evaluateAll((els) => els.map((e) => e.parentElement.dataset.field));
    assert(locked.length === 3 && locked.every((p) => /^\/entry\/1\/resource\/item\/\d+\/answer\/0\/value(Coding|String)$|^\/entry\/1\/resource\/item\/0\/answer\/1\/valueCoding$/.test(p)), `sealed for billing: ${JSON.stringify(locked)}`);
    shots.push(await screenshot(page, 'portal-3-billing'));
    return `${locked.length} answers sealed for billing: ${locked.join(', ')}`;
  });

  await check('portal: the audit page verifies every chain (views and the blocked capture are in it); an edited entry is detected', async () => {
    await page.goto(`${url}/examples/patient-portal/audit.html`);
    await page.waitForFunction(() => window.portalAudit !== undefined, null, { timeout: 20_000 });
    const audit = await page.evaluate(() => window.portalAudit);
    const overall = await page.textContent('#overall');
    assert(overall.startsWith('Audit logs verified'), overall);
    // One chain per staff member in this tab (each continued across reloads).
    assert(audit.logs === 2 && audit.valid === 2 && audit.witnessed === 2, `logs ${audit.logs}, valid ${audit.valid}, witnessed ${audit.witnessed}`);
    const entries = await page.textContent('#logs');
    assert((entries.match(/view-record intake-[0-9a-f-]+ success/g) ?? []).length === 2, 'expected one view-record entry each for clinician and billing');
    assert(/dr-lee \(clinician\) capture-attempt\s+denied \([\w.]*getDisplayMedia\)/.test(entries), `the blocked screen capture is not in the audit log: ${entries.match(/.*capture.*/g)}`);
    const leaked = Object.values(PHI).filter((v) => entries.includes(v));
    assert(leaked.length === 0, `PHI in the audit log: ${leaked}`);
    await page.click('#tamper');
    const tamper = await page.textContent('#tamperResult');
    assert(tamper.startsWith('detected'), tamper);
    shots.push(await screenshot(page, 'portal-4-audit'));
    return `${audit.logs} logs, ${audit.entries} entries; ${tamper}`;
  });

  await check("portal: a record the server moves to another patient's row is refused in the staff view (CONTEXT_MISMATCH), no PHI shown", async () => {
    // A second patient (another profile of this browser: its own author key and patient id) submits an intake.
    const second = await submitIntake(PHI2, 'second');
    const db = server.portal.db;
    const rows = db.all('SELECT id, patient_id, sealed FROM records ORDER BY received');
    assert(rows.length === 2 && rows[1].id === second && rows[0].patient_id !== rows[1].patient_id, `rows: ${JSON.stringify(rows.map((r) => [r.id, r.patient_id]))}`);
    const [a, b] = rows;
    intakeRows = rows.map((r) => ({ ...r })); // as the patients sealed them: the break-glass checks restore them
    // The first patient's browser kept its author key and id across reloads (KeyStore): same patient, no new key.
    await page.goto(`${url}/examples/patient-portal/intake.html`);
    await page.waitForFunction(() => window.portalReady === true, null, { timeout: 20_000 });
    const again = await page.textContent('#patient');
    assert(again.includes(a.patient_id) && !again.includes('made just now'), `after a reload: ${again}`);
    // The compromised server puts the first patient's sealed record into the second patient's row (that row's id and patient).
    db.run('UPDATE records SET sealed = ? WHERE id = ?', [a.sealed, b.id]);
    await db.save();
    const view = await waitView(page, 'clinician.html', url);
    assert(view.records === 2 && view.opened === 1, `opened ${view.opened} of ${view.records}`);
    assert(view.refusals.length === 1 && view.refusals[0].id === b.id && view.refusals[0].code === 'CONTEXT_MISMATCH', `refusals: ${JSON.stringify(view.refusals)}`);
    const card = page.locator(`#phi [data-record-id="${b.id}"]`);
    const refusedText = await card.textContent();
    assert(refusedText.includes('Refused (CONTEXT_MISMATCH)'), `the refusal is not shown: ${refusedText}`);
    const shownInRefused = [...Object.values(PHI), ...Object.values(PHI2)].filter((v) => v && refusedText.includes(v));
    assert(shownInRefused.length === 0, `PHI shown in the refused row: ${shownInRefused}`);
    // The first patient's own row still opens (the refusal is per row), and the summary says a row was refused.
    const own = await page.textContent(`#phi [data-record-id="${a.id}"]`);
    const missing = [...IDENTITY, ...CLINICAL].filter((f) => !own.includes(PHI[f]));
    assert(missing.length === 0, `the first patient's own record does not show ${missing.join(', ')}`);
    const text = await page.textContent('#phi');
    assert(text.split(PHI.ssn).length === 2, 'the first patient\'s PHI is shown more than once (also under the second patient)');
    const summary = page.locator('#summary');
    assert((await summary.getAttribute('class')) === 'err' && (await summary.textContent()).includes('REFUSED 1'), await summary.textContent());
    shots.push(await screenshot(page, 'portal-5-moved-record-refused'));
    // Re-filed instead: the first patient's own row put under the second patient's id is refused too.
    db.run('UPDATE records SET patient_id = ? WHERE id = ?', [b.patient_id, a.id]);
    await db.save();
    const refiled = await waitView(page, 'clinician.html', url);
    const after = await page.textContent('#phi');
    const leaked = [...Object.values(PHI), ...Object.values(PHI2)].filter((v) => v && after.includes(v));
    assert(refiled.opened === 0 && refiled.refusals.length === 2 && refiled.refusals.every((r) => r.code === 'CONTEXT_MISMATCH'), `refiled: ${JSON.stringify(refiled)}`);
    assert(leaked.length === 0, `PHI shown after the re-filing: ${leaked}`);
    return `moved into ${b.id.slice(0, 15)}…: ${view.refusals[0].code}; re-filed under the other patient: ${refiled.refusals.map((r) => r.code).join(', ')}`;
  });

  const records = () => server.portal.db.all('SELECT count(*) AS n FROM records')[0].n;
  /** The certificate the directory serves for `subject` (no proofs checked: the test reads what the server holds). */
  const lookupCert = async (subject) => (await (await fetch(`${url}/api/portal/directory/lookup?subject=${encodeURIComponent(subject)}`)).json()).certificate;
  /** Opens the intake page as the first patient; resolves to the code it refused the care team with (or null). */
  const intake = async () => {
    await page.goto(`${url}/examples/patient-portal/intake.html`);
    await page.waitForFunction(() => window.portalReady === true, null, { timeout: 20_000 });
    const refused = await page.evaluate(() => window.portalTrust?.refused ?? null);
    const disabled = await page.evaluate(() => document.getElementById('submit').disabled);
    assert(refused === null || disabled, 'the submit button is enabled after a refusal');
    return refused;
  };

  await check("portal: the server swaps the care team's keys (its own root, another member's certificate, a forked or rolled-back directory): each refused in the patient's browser before anything is sealed", async () => {
    const db = server.portal.db;
    const before = records();
    assert((await intake()) === null, `the honest directory was refused: ${await page.textContent('#team')}`);
    const rows = () => db.all('SELECT idx, subject, certificate, published FROM directory_log ORDER BY idx');
    const genuine = rows().filter((r) => r.subject === 'dr-lee').at(-1).certificate;
    const billing = rows().filter((r) => r.subject === 'billing-ortiz').at(-1).certificate;
    const now = Date.now();
    const claims = (publicKey) => ({ subject: 'dr-lee', name: 'Dr. Maya Lee, MD', role: 'clinician', groups: ['identity', 'clinical', 'billing'], purposes: ['encrypt'], notBefore: now - 60_000, notAfter: now + 86_400_000, publicKey });
    const serverKey = (await generateKeyPair()).publicKey;
    const results = {};
    const attack = async (name, expected, play) => {
      await play();
      const code = await intake();
      results[name] = code;
      assert(code === expected, `${name}: ${code} (expected ${expected}): ${await page.textContent('#team')}`);
      assert(records() === before, `${name}: a record was sealed and sent`);
      shots.push(await screenshot(page, `portal-7-refused-${name.replace(/[^a-z]+/g, "-")}`));
    };
    // 1. Its own key for Dr. Lee, certified by a root of its own, published in its directory (the newest entry).
    let rogueIndex;
    await attack('own root', 'UNTRUSTED_KEY', async () => {
      rogueIndex = await server.portal.directory.publish('dr-lee', issueCertificate(claims(serverKey), SigningKey.generate()));
    });
    await server.portal.directory.publish('dr-lee', genuine);
    assert((await intake()) === null, 'not restored');
    // 2. The billing officer's genuine certificate (root-certified, in the log) filed under Dr. Lee.
    await attack("another member's certificate", 'CONTEXT_MISMATCH', () => server.portal.directory.publish('dr-lee', billing));
    await server.portal.directory.publish('dr-lee', genuine);
    assert((await intake()) === null, 'not restored');
    // 3. A rewritten history (the first swap replaced by an honest entry: same size) and 4. a rolled-back one,
    // each against the checkpoint the browser kept.
    const honest = rows();
    const rewrite = async (kept) => {
      db.run('DELETE FROM directory_log');
      kept.forEach((r, idx) => db.run('INSERT INTO directory_log (idx, subject, certificate, published) VALUES (?, ?, ?, ?)', [idx, r.subject, r.certificate, r.published]));
      await db.save();
      server.portal.directory.rebuild();
    };
    await attack('forked directory', 'STALE_VERSION', () => rewrite(honest.map((r) => (r.idx === rogueIndex ? { ...r, certificate: genuine } : r))));
    await attack('rolled-back directory', 'STALE_VERSION', () => rewrite(honest.slice(0, -1)));
    await rewrite(honest);
    assert((await intake()) === null, 'not restored');
    // 5. An insider with the root key certifies a key of their own for Dr. Lee and publishes it: the browser
    // cannot tell it from a new device of hers, but it is in the log, and Dr. Lee's own page raises the alarm.
    const insiderRoot = SigningKey.fromJwk(JSON.parse(await readFile(join(server.orgDir, 'root.key.jwk'), 'utf8')));
    const insiderIndex = await server.portal.directory.publish('dr-lee', issueCertificate(claims(serverKey), insiderRoot));
    const view = await waitView(page, 'clinician.html', url);
    const alarm = await page.textContent('#foreignKeys');
    assert(view.foreign === 3 && alarm.includes(`${insiderIndex}`), `Dr. Lee's monitor: ${view.foreign} foreign keys, ${alarm}`);
    shots.push(await screenshot(page, 'portal-8-foreign-key-alarm'));
    await server.portal.directory.publish('dr-lee', genuine);
    return `${Object.entries(results).map(([k, v]) => `${k}: ${v}`).join('; ')}; insider key at entry ${insiderIndex}: alarm on Dr. Lee's page (${view.foreign} keys she does not hold)`;
  });

  await check("portal: the server shows Dr. Lee's monitor an older directory log (without the keys planted for her) than the patients' lookups saw: her page raises the alarm (STALE_VERSION), not 'no foreign keys'", async () => {
    assert((await intake()) === null, `the honest directory was refused: ${await page.textContent('#team')}`);
    const kept = await page.evaluate(() => localStorage.getItem('phiseal-portal-directory-kept'));
    const keptSize = Number(kept.split('\n')[1]);
    assert(keptSize > firstLog.entries.length, `kept ${keptSize}, first log ${firstLog.entries.length}`);
    // The older log is genuine (signed by the directory key, consistent with the current one) and lists only Dr. Lee's own key.
    await page.route('**/api/portal/directory/log*', (route) => route.fulfill({ json: { ...firstLog, consistency: [] } }));
    let stale;
    try {
      stale = await waitView(page, 'clinician.html', url);
    } finally {
      await page.unroute('**/api/portal/directory/log*');
    }
    const alarm = await page.textContent('#foreignKeys');
    assert(stale.monitor === 'STALE_VERSION' && stale.foreign === null, `Dr. Lee's monitor on the older log: ${JSON.stringify(stale)}`);
    assert(alarm.includes('did not verify against the checkpoint this browser kept'), alarm);
    shots.push(await screenshot(page, 'portal-9-older-directory-log-alarm'));
    // The current log again: the monitor lists the keys planted for her.
    const honest = await waitView(page, 'clinician.html', url);
    assert(honest.monitor === null && honest.foreign === 3, `the current log: ${JSON.stringify(honest)}`);
    return `log of ${firstLog.entries.length} entries against the kept checkpoint of ${keptSize}: ${stale.monitor}; the current log: ${honest.foreign} keys she does not hold`;
  });

  await check("portal: the server withholds or swaps the patient's break-glass key (none served, its own root, another patient's, Dr. Lee's certificate under it): each refused in the patient's browser before anything is sealed", async () => {
    const before = records();
    assert((await intake()) === null, `the honest directory was refused: ${await page.textContent('#team')}`);
    const A = intakeRows[0].patient_id;
    const B = intakeRows[1].patient_id;
    const subject = `break-glass:${A}`;
    const genuine = await lookupCert(subject);
    const now = Date.now();
    const serverKey = (await generateKeyPair()).publicKey;
    const own = issueCertificate({ subject, name: 'break-glass escrow', role: 'break-glass', groups: ['identity', 'clinical', 'billing'], purposes: ['encrypt'], notBefore: now - 60_000, notAfter: now + 86_400_000, publicKey: serverKey }, SigningKey.generate());
    const results = {};
    // The attacking server keeps what it chose: the patient's page republishing the genuine certificate changes nothing.
    const ignoreRepublish = (route) => (route.request().method() === 'POST' ? route.fulfill({ json: { subject, index: 0 } }) : route.continue());
    await page.route('**/api/portal/directory', ignoreRepublish);
    try {
      const attack = async (name, expected, play) => {
        await play();
        const code = await intake();
        results[name] = code;
        assert(code === expected, `${name}: ${code} (expected ${expected}): ${await page.textContent('#team')}`);
        assert(records() === before, `${name}: a record was sealed and sent`);
      };
      await page.route('**/api/portal/directory/lookup?subject=break-glass*', (route) => route.fulfill({ status: 404, json: { error: 'no key is published' } }));
      await attack('none served', 'UNTRUSTED_KEY', () => {});
      shots.push(await screenshot(page, 'portal-7-refused-no-break-glass-key'));
      await page.unroute('**/api/portal/directory/lookup?subject=break-glass*');
      await attack('its own root', 'UNTRUSTED_KEY', () => server.portal.directory.publish(subject, own));
      await attack("another patient's break-glass key", 'CONTEXT_MISMATCH', async () => server.portal.directory.publish(subject, await lookupCert(`break-glass:${B}`)));
      await attack("Dr. Lee's certificate", 'CONTEXT_MISMATCH', async () => server.portal.directory.publish(subject, await lookupCert('dr-lee')));
    } finally {
      await page.unroute('**/api/portal/directory');
    }
    await server.portal.directory.publish(subject, genuine);
    assert((await intake()) === null, 'not restored');
    const emergency = await page.evaluate(() => window.portalEmergency);
    assert(emergency.subject === subject, JSON.stringify(emergency));
    return Object.entries(results).map(([k, v]) => `${k}: ${v}`).join('; ');
  });

  await check("portal: the administrator revokes Dr. Lee's key (a lost laptop), the server keeps serving it: refused in the patient's browser (KEY_REVOKED) before anything is sealed", async () => {
    const before = records();
    const issued = await (await fetch(`${server.desk.url}/issued`)).json();
    const serial = issued.find((e) => e.subject === 'dr-lee' && e.purpose === 'encrypt' && !e.revoked).serial;
    // The administrator's console holds the desk's secret.
    const res = await fetch(`${server.desk.url}/revoke`, { method: 'POST', headers: { authorization: `Bearer ${server.desk.admin}` }, body: JSON.stringify({ serial }) });
    assert(res.ok, `revoke: ${res.status}`);
    const code = await intake();
    assert(code === 'KEY_REVOKED', `revoked key: ${code}: ${await page.textContent('#team')}`);
    assert(records() === before, 'a record was sealed and sent');
    shots.push(await screenshot(page, 'portal-7-refused-revoked-key'));
    return code;
  });

  await check('portal: the server cuts one audit log back and rewrites the other under its own key; the audit page refuses both, the witness will not cosign the rewrite', async () => {
    const db = server.portal.db;
    // The audit page runs once more and keeps each log's latest cosigned checkpoint.
    await page.goto(`${url}/examples/patient-portal/audit.html`);
    await page.waitForFunction(() => window.portalAudit !== undefined, null, { timeout: 20_000 });
    const before = await page.evaluate(() => window.portalAudit);
    assert(before.valid === 2, `before the attack: ${JSON.stringify(before)}`);
    const [cutLog, forgedLog] = [...new Set(db.all('SELECT log FROM audit ORDER BY rowid').map((r) => r.log))];
    // Cut back: drop every entry after an earlier checkpoint, with the later checkpoints.
    const sizes = [...new Set(db.all("SELECT seq FROM audit WHERE log = ? AND type = 'checkpoint'", [cutLog]).map((r) => r.seq))].sort((a, b) => a - b);
    const keep = sizes.length > 1 ? sizes.at(-2) : sizes.at(-1) - 1;
    db.run('DELETE FROM audit WHERE log = ? AND seq > ?', [cutLog, keep]);
    // Rewrite: the same log id, one action changed, signed by the server's own key.
    const lines = db.all('SELECT line FROM audit WHERE log = ? ORDER BY rowid', [forgedLog]).map((r) => JSON.parse(r.line));
    const entries = lines.filter((l) => l.type === 'entry');
    const serverKey = SigningKey.generate();
    let i = 0;
    const forged = new AuditLog({ logId: forgedLog, signingKey: serverKey, clock: () => entries[Math.min(i, entries.length - 1)].time });
    for (; i < entries.length; i++) {
      const { actor, action, patientId, resource, outcome, client, reason } = entries[i];
      forged.append({ actor, action: i === 0 ? 'nothing-to-see' : action, patientId, resource, outcome, client, reason });
    }
    const note = JSON.parse(forged.checkpoint()).note;
    db.run('DELETE FROM audit WHERE log = ?', [forgedLog]);
    for (const line of forged.toJsonl().trim().split('\n')) {
      const l = JSON.parse(line);
      const seq = l.type === 'entry' ? l.seq : parseCheckpoint(l.note).size;
      db.run('INSERT INTO audit (log, type, seq, digest, line, received) VALUES (?, ?, ?, ?, ?, ?)', [forgedLog, l.type, seq, `forged-${seq}-${l.type}`, line, Date.now()]);
    }
    await db.save();
    // The server registers its key with the witness and asks it to cosign the rewrite: refused.
    const w = server.portal.witness.url;
    const post = (path, body) => fetch(`${w}${path}`, { method: 'POST', body: JSON.stringify(body) });
    const registered = await post('/logs', { origin: forgedLog, jwk: serverKey.publicKey.toJwk() });
    assert(registered.status === 409, `the witness took the server's key for a log bound to its writer's (${registered.status})`);
    const refused = await post('/cosign', { note, proof: [] });
    const why = await refused.json();
    assert(refused.status === 409 && why.code === 'UNTRUSTED_AUTHOR', `the witness answered ${refused.status} ${JSON.stringify(why)}`);
    await page.goto(`${url}/examples/patient-portal/audit.html`);
    await page.waitForFunction(() => window.portalAudit !== undefined, null, { timeout: 20_000 });
    const after = await page.evaluate(() => window.portalAudit);
    assert(after.valid === 0, `after the attack: ${JSON.stringify(after)}`);
    // The rewrite differs from the kept checkpoint's entries (FORKED) before its own checkpoint is reached;
    // a verifier without a kept checkpoint refuses its signature (UNTRUSTED_KEY: the pinned keys, not the server's).
    assert(after.problems[cutLog] === 'ROLLED_BACK' && after.problems[forgedLog] === 'FORKED', JSON.stringify(after.problems));
    const signerCerts = await (await fetch(`${url}/api/portal/signers`)).json();
    const trust = rootTrust();
    const trusted = await Promise.all(signerCerts.map(async (cert) => (await trust.certify(cert, { purpose: 'sign' })).publicKey));
    const fresh = verifyLog(forged.toJsonl(), { trusted });
    assert(fresh.problem?.code === 'UNTRUSTED_KEY', JSON.stringify(fresh.problem));
    const overall = await page.textContent('#overall');
    assert(overall.startsWith('NOT verified: 2 of 2'), overall);
    shots.push(await screenshot(page, 'portal-6-audit-attacks-refused'));
    return `cut back to ${keep} entries: ${after.problems[cutLog]}; rewritten under the server's key: ${after.problems[forgedLog]} (without the kept checkpoint: ${fresh.problem.code}); witness: its key refused (${registered.status}), the rewrite ${why.code}`;
  });

  // ---------------------------------------------------------------- break-glass (examples/patient-portal/escrow.mjs)

  const escrowLog = async () => (await readFile(join(server.escrow.dir, 'break-glass.jsonl'), 'utf8').catch(() => '')).split('\n').filter(Boolean).map((l) => JSON.parse(l));
  /** The escrow's current break-glass certificate of a patient (what the patient's browser publishes). */
  const currentEmergency = async (patientId) => {
    const res = await fetch(`${server.escrow.url}/patients`, { method: 'POST', body: JSON.stringify({ patientId }) });
    const { certificate } = await res.json();
    return { certificate, kid: (await rootTrust().certify(certificate, { purpose: 'encrypt' })).kid };
  };
  const postEscrow = (body) => fetch(`${server.escrow.url}/break-glass`, { method: 'POST', body: JSON.stringify(body) });
  /** What the emergency page's break-glass request released (set by check 3). */
  let granted = null;

  await check("portal: break-glass 1: Dr. Okafor (emergency department, not on the care team) opens nothing with her own key (NOT_RECIPIENT); no emergency key is on her machine, and breakGlass() on the key she does hold, with a sink that merely claims to be durable, opens nothing either", async () => {
    // The honest server again: the rows as the patients sealed them (the test above moved and re-filed them).
    const db = server.portal.db;
    for (const r of intakeRows) db.run('UPDATE records SET patient_id = ?, sealed = ? WHERE id = ?', [r.patient_id, r.sealed, r.id]);
    await db.save();
    const view = await waitView(page, server.signIn['dr-okafor'], url);
    assert(view.records === 2 && view.opened === 0 && view.sealedToOthers === 2 && view.refusals.length === 0, `her view: ${JSON.stringify(view)}`);
    const text = await page.textContent('#phi');
    const shown = [...Object.values(PHI), ...Object.values(PHI2)].filter((v) => v && text.includes(v));
    assert(shown.length === 0, `PHI shown without break-glass: ${shown}`);
    // Her client, past the page: phiseal's breakGlass() is a policy helper; it wraps the key it is given, and hers is no recipient.
    const A = intakeRows[0].patient_id;
    const bypass = await page.evaluate(async (patientId) => {
      const phiseal = await import('/js/index.js');
      const { api, SCHEMA, staffKey, trustContext } = await import('/examples/patient-portal/portal.js');
      const me = await staffKey('emergency');
      const store = await phiseal.KeyStore.open({ name: 'phiseal-portal-keys-dr-okafor' });
      const held = (await store.list()).map((k) => k.kid);
      store.close();
      const key = await phiseal.breakGlass({
        audit: { durable: true, append: async () => {} }, actor: { id: 'dr-okafor', role: 'clinician' }, patientId, reason: 'skipping the escrow altogether', emergencyKey: me.privateKey,
      });
      const ctx = await trustContext();
      const author = await ctx.lookup(patientId);
      const codes = [];
      for (const row of (await api('records')).filter((r) => r.patientId === patientId)) {
        try {
          await phiseal.openRecord(row.sealed, { schema: SCHEMA, privateKey: key, recordId: row.id, context: { patientId }, authors: [author], trust: ctx.trust });
          codes.push('opened');
        } catch (e) {
          codes.push(e.code ?? e.message);
        }
      }
      return { codes, held };
    }, A);
    assert(bypass.codes.length === 1 && bypass.codes[0] === 'NOT_RECIPIENT', `breakGlass() on her own key: ${bypass.codes}`);
    const emergencyKid = (await currentEmergency(A)).kid;
    assert(bypass.held.length === 2 && !bypass.held.includes(emergencyKid), `her KeyStore holds ${bypass.held}`);
    shots.push(await screenshot(page, 'portal-10-emergency-not-recipient'));
    return `her view: ${view.sealedToOthers} of ${view.records} NOT_RECIPIENT; breakGlass() on her own key: ${bypass.codes}; her KeyStore: ${bypass.held.length} keys of her own, not the escrow's ${emergencyKid.slice(0, 10)}…`;
  });

  /** Dr. Okafor's client in Node (it holds her sign-in credential): an audit signer key of its own, certified for her. */
  const okafor = {};
  const enrollSigner = async (actor, key) => {
    const res = await fetch(`${server.desk.url}/enroll`, {
      method: 'POST', headers: { authorization: `Bearer ${server.desk.staff[actor]}` }, body: JSON.stringify({ subject: actor, purpose: 'sign', jwk: key.publicKey.toJwk() }),
    });
    assert(res.ok, `enroll a signer for ${actor}: ${res.status}`);
    return (await res.json()).certificate;
  };
  /**
   * A request as her client would make it: a chain of its own with the break-glass entry (fields changed by `entry`)
   * and a checkpoint after it (before it with `unsigned`), signed by `key`; `body` changes the request.
   */
  const bypassRequest = ({ patientId, entry = {}, unsigned = false, key = okafor.key, clock, actor = { id: 'dr-okafor', role: 'clinician' }, body = {} }) => {
    const requestId = randomUUID();
    const log = new AuditLog({ signingKey: key, clock });
    log.append({ actor, action: 'list-records', resource: 'records (2)', outcome: 'success' });
    if (unsigned) log.checkpoint();
    const { entry: e } = log.append({
      actor, action: 'break-glass', patientId, reason: 'unresponsive in the ED, medication history needed', resource: `break-glass-request:${requestId}`, outcome: 'success', ...entry,
    });
    if (!unsigned) log.checkpoint();
    return { patientId, requestId, seq: e.seq, log: log.toJsonl(), signer: okafor.signer, recipient: okafor.recipient, ...body };
  };

  await check("portal: break-glass 2: her client asks the escrow without a valid signed entry (none, not covered by a signed checkpoint, for another patient, a reason under 8 characters, another request, written 11 minutes ago, by another clinician, a signer key not certified, certified by another root, a billing officer's, another person's encryption key): each refused (4xx), nothing released, stored or replaced", async () => {
    await init();
    const [A, B] = intakeRows.map((r) => r.patient_id);
    okafor.key = SigningKey.generate();
    okafor.signer = await enrollSigner('dr-okafor', okafor.key);
    okafor.recipient = await lookupCert('dr-okafor'); // the key made in her browser
    const billingKey = SigningKey.generate();
    const billingSigner = await enrollSigner('billing-ortiz', billingKey);
    const strayKey = SigningKey.generate();
    const now = Date.now();
    const otherRoot = issueCertificate({ subject: 'dr-okafor', name: 'Dr. Femi Okafor, MD', role: 'clinician', groups: [], purposes: ['sign'], notBefore: now - 60_000, notAfter: now + 3_600_000, publicKey: strayKey.publicKey }, SigningKey.generate());
    const beforeLog = (await escrowLog()).length;
    const beforeKey = (await currentEmergency(A)).kid;
    // Each with the reason the escrow must give (so no case passes for another one).
    const cases = [
      ['no break-glass entry (seq names another entry)', /is not a break-glass entry/, bypassRequest({ patientId: A, body: { seq: 1 } })],
      ['no such entry', /has no entry 9/, bypassRequest({ patientId: A, body: { seq: 9 } })],
      ['the entry is not covered by a signed checkpoint', /not covered by a signed checkpoint/, bypassRequest({ patientId: A, unsigned: true })],
      ['the entry is for another patient', /for another patient/, bypassRequest({ patientId: B, body: { patientId: A } })],
      ['a reason under 8 characters', /a reason of 8 characters/, bypassRequest({ patientId: A, entry: { reason: 'urgent' } })],
      ['the entry names another request', /names another request/, bypassRequest({ patientId: A, entry: { resource: `break-glass-request:${randomUUID()}` } })],
      ['written 11 minutes ago', /good for 10 minutes/, bypassRequest({ patientId: A, clock: () => Date.now() - 11 * 60_000 })],
      ["another clinician's entry", /is by dr-lee, not dr-okafor/, bypassRequest({ patientId: A, actor: { id: 'dr-lee', role: 'clinician' } })],
      ['signed by a key not certified for her', /does not verify against her certified signer key/, bypassRequest({ patientId: A, key: strayKey })],
      ['a signer certified by another root', /audit signer certificate: UNTRUSTED_KEY/, bypassRequest({ patientId: A, key: strayKey, body: { signer: otherRoot } })],
      ["a billing officer's certified signer", /clinicians only/, bypassRequest({ patientId: A, key: billingKey, actor: { id: 'billing-ortiz', role: 'billing' }, body: { signer: billingSigner } })],
      ["another person's encryption key", /certified for another person/, bypassRequest({ patientId: A, body: { recipient: await lookupCert('billing-ortiz') } })],
    ];
    const statuses = [];
    for (const [name, why, body] of cases) {
      const res = await postEscrow(body);
      const json = await res.json();
      assert(res.status >= 400 && res.status < 500 && json.ciphertext === undefined && why.test(json.error), `${name}: HTTP ${res.status} ${JSON.stringify(json).slice(0, 200)}`);
      statuses.push(`${name}: ${res.status}`);
    }
    const afterLog = (await escrowLog()).length;
    assert(afterLog === beforeLog, `the escrow stored ${afterLog - beforeLog} refused request(s)`);
    assert((await currentEmergency(A)).kid === beforeKey, "a refused request replaced the patient's key");
    return statuses.join('; ');
  });

  await check("portal: break-glass 3: Dr. Okafor breaks the glass on the emergency page: her entry and its signed checkpoint are in the escrow's own log (fsync'd before the answer), the patient's key is released to her key only, the patient's records open under a break-glass banner, and the escrow has replaced the key (the released one is revoked)", async () => {
    const A = intakeRows[0].patient_id;
    const before = await escrowLog();
    const released = await currentEmergency(A);
    await waitView(page, 'emergency.html', url);
    await page.selectOption('#patient', A);
    await page.fill('#reason', 'Unresponsive in the ED; allergy and medication history needed');
    await page.click('#go');
    await page.waitForFunction(() => window.portalBreakGlass !== undefined, null, { timeout: 20_000 });
    const bg = await page.evaluate(() => window.portalBreakGlass);
    assert(!bg.error && bg.opened === 1 && bg.refusals.length === 0 && bg.kids.includes(released.kid) && bg.rotated, `break-glass: ${JSON.stringify(bg)}`);
    const text = await page.textContent('#phi');
    const missing = [...IDENTITY, ...CLINICAL].filter((f) => !text.includes(PHI[f]));
    const other = Object.values(PHI2).filter((v) => v && text.includes(v));
    assert(missing.length === 0 && other.length === 0, `shown: missing ${missing}, the other patient's ${other}`);
    const banner = await page.textContent('#banner');
    assert(banner.startsWith('BREAK-GLASS ACCESS') && banner.includes(A) && banner.includes(bg.requestId), banner);
    shots.push(await screenshot(page, 'portal-11-break-glass'));
    // The escrow's own log: the entry, by her, for this patient, with its checkpoint and inclusion proof.
    const log = await escrowLog();
    assert(log.length === before.length + 1, `escrow log: ${before.length} -> ${log.length}`);
    const stored = log.at(-1);
    const entry = JSON.parse(stored.entry);
    assert(stored.requestId === bg.requestId && stored.patientId === A && stored.actor === 'dr-okafor' && stored.released.includes(released.kid), JSON.stringify(stored).slice(0, 300));
    assert(entry.action === 'break-glass' && entry.patientId === A && entry.seq === bg.seq && entry.log === bg.logId && entry.reason.startsWith('Unresponsive'), stored.entry);
    const tree = parseCheckpoint(stored.checkpoint);
    verifyInclusion(stored.entry, tree, stored.inclusion);
    // Her chain as the storage server holds it extends the checkpoint the escrow kept, under her certified signer key.
    const trust = rootTrust();
    const signers = [];
    for (const cert of await (await fetch(`${url}/api/portal/signers`)).json()) {
      const c = await trust.certify(cert, { purpose: 'sign' });
      if (c.subject === 'dr-okafor') signers.push(c.publicKey);
    }
    const lines = server.portal.db.all('SELECT line FROM audit WHERE log = ? ORDER BY rowid', [bg.logId]).map((r) => r.line);
    const report = verifyLog(`${lines.join('\n')}\n`, { trusted: signers, since: stored.checkpoint });
    assert(report.valid && lines.includes(stored.entry), `her log on the server: ${JSON.stringify(report.problem)}`);
    // Replaced: the patient's browser gets another key from now on, and the released one is revoked at the desk.
    const next = await currentEmergency(A);
    const { revocations } = await (await fetch(`${server.desk.url}/revocations`)).json();
    let code = null;
    try {
      await new Trust({ roots: [importPublicKey(server.desk.root)], revocations }).certify(released.certificate, { purpose: 'encrypt' });
    } catch (e) {
      code = e.code;
    }
    assert(next.kid !== released.kid && code === 'KEY_REVOKED', `after the release: key ${next.kid === released.kid ? 'not replaced' : 'replaced'}, the released one: ${code}`);
    granted = { ...bg, entry: stored.entry };
    return `request ${bg.requestId.slice(0, 8)}…: entry #${bg.seq} of ${bg.logId.slice(0, 8)}… stored by the escrow (checkpoint ${tree.size}, inclusion verified); ${bg.opened} record opened; released key ${released.kid.slice(0, 10)}… now ${code}`;
  });

  await check("portal: break-glass 4: the storage server, holding her audit lines (entry and checkpoint), every certificate and no credential, gets no emergency key: her request replayed (her own sealed answer again), her request id with another entry (409), her entry under a new request id (403), its own encryption key for her (403), a break-glass key of its own at the desk (401, 403); an answer opens only with her key", async () => {
    assert(granted, 'check 3 did not run');
    const A = intakeRows[0].patient_id;
    const db = server.portal.db;
    const before = (await escrowLog()).length;
    // What the server holds: her log (with the break-glass entry and the checkpoint), the signer and directory certificates.
    const lines = db.all('SELECT line FROM audit WHERE log = ? ORDER BY rowid', [granted.logId]).map((r) => r.line);
    const heldLog = `${lines.join('\n')}\n`;
    const signerCerts = db.all("SELECT certificate FROM signers WHERE subject = 'dr-okafor'").map((r) => r.certificate);
    const [signer] = signerCerts; // the key of her browser (her Node client's is not registered with the server)
    const recipient = await lookupCert('dr-okafor');
    const now = Date.now();
    const serverKey = (await generateKeyPair()).publicKey;
    const ownRecipient = issueCertificate({ subject: 'dr-okafor', name: 'Dr. Femi Okafor, MD', role: 'clinician', groups: ['identity', 'clinical', 'billing'], purposes: ['encrypt'], notBefore: now - 60_000, notAfter: now + 3_600_000, publicKey: serverKey }, SigningKey.generate());
    const base = { patientId: A, requestId: granted.requestId, seq: granted.seq, log: heldLog, recipient };
    const results = [];
    const expect = async (name, expected, why, res) => {
      const json = await res.json();
      results.push(`${name}: ${res.status}`);
      assert(res.status === expected && json.ciphertext === undefined && why.test(json.error), `${name}: HTTP ${res.status} (expected ${expected}) ${JSON.stringify(json).slice(0, 200)}`);
    };
    assert(signerCerts.length === 1, `signers of dr-okafor on the server: ${signerCerts.length}`);
    // Her exact request posted again (the server holds everything it needs to post it before her page does): the
    // same answer, sealed to her key, nothing stored twice, no second rotation (so front-running it denies her nothing).
    const replay = await postEscrow({ ...base, signer });
    const again = await replay.json();
    results.push(`her request replayed: ${replay.status} (her own sealed answer again)`);
    assert(replay.ok && again.requestId === granted.requestId && typeof again.ciphertext === 'string', `her request replayed: HTTP ${replay.status} ${JSON.stringify(again).slice(0, 200)}`);
    // The same request id with another entry is still refused.
    await expect('her request id with another entry', 409, /used already/, await postEscrow({ ...base, signer, seq: granted.seq - 1 }));
    await expect('her entry under a new request id', 403, /names another request/, await postEscrow({ ...base, signer, requestId: randomUUID() }));
    await expect('a new request id and its own encryption key for her', 403, /encryption certificate: UNTRUSTED_KEY/, await postEscrow({ ...base, signer, requestId: randomUUID(), recipient: ownRecipient }));
    const deskEnroll = (headers) => fetch(`${server.desk.url}/enroll`, { method: 'POST', headers, body: JSON.stringify({ subject: `break-glass:${A}`, purpose: 'encrypt', jwk: serverKey.toJwk() }) });
    await expect('a break-glass key of its own, no credential', 401, /needs a credential/, await deskEnroll({}));
    await expect("a break-glass key of its own, a staff member's credential", 403, /does not allow it/, await deskEnroll({ authorization: `Bearer ${server.desk.staff['dr-okafor']}` }));
    assert((await escrowLog()).length === before, 'the escrow stored a refused request');
    // A granted answer (her own client's valid request) is sealed to her certified key: any other key fails.
    const res = await postEscrow(bypassRequest({ patientId: A }));
    const answer = await res.json();
    assert(res.ok && answer.ciphertext, `her client's valid request: ${res.status} ${answer.error}`);
    const b = (s) => Buffer.from(s, 'base64url');
    let code = null;
    try {
      await hpkeOpen((await generateKeyPair()).privateKey, b(answer.enc), b(answer.ciphertext), { info: Buffer.from(answer.info) });
    } catch (e) {
      code = e.code;
    }
    assert(code === 'DECRYPT_FAILED', `opened with another key: ${code}`);
    const mine = await page.evaluate(async (a) => {
      const phiseal = await import('/js/index.js');
      const { staffKey } = await import('/examples/patient-portal/portal.js');
      const me = await staffKey('emergency');
      const d = (s) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
      const bytes = await phiseal.hpkeOpen(me.privateKey, d(a.enc), d(a.ciphertext), { info: new TextEncoder().encode(a.info) });
      return JSON.parse(new TextDecoder().decode(bytes)).keys.map((k) => k.kid);
    }, answer);
    assert(JSON.stringify(mine) === JSON.stringify(answer.kids), `opened in her browser: ${mine}`);
    assert((await escrowLog()).length === before + 1, 'the granted request is not in the escrow log');
    return `${results.join('; ')}; a granted answer with another key: ${code}, with hers: ${mine.length} keys`;
  });

  await page.close();
  return shots;
}
