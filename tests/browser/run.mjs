// Runs tests/browser/tests.js in headless Chromium (system /usr/bin/chromium
// through playwright-core) against a server on 127.0.0.1 that stops at the end.
// Prints one line per test and "browser: N passed, M failed".
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runSuite } from '../support/chromium.mjs';

const shared = process.env.SHARED ?? new URL('../../../shared', import.meta.url).pathname;
const all = JSON.parse(await readFile(join(shared, 'vectors/hpke/p384-cross-checked.json'), 'utf8'));
// phiseal's own suite (entries 16-19: HKDF-SHA384, AES-256-GCM, modes 0-3) and the AES-128 / SHA-512 ones in base mode.
const vectors = all.filter((v) => (v.kdf_id === 2 && v.aead_id === 2) || (v.mode === 0 && v.aead_id !== 0xffff));

await runSuite('browser', { timeoutMs: 240_000 }, async ({ context, page, url, report, check }) => {
  await page.goto(`${url}/tests/browser/index.html`);
  await page.waitForFunction(() => window.testsReady === true);
  const results = await page.evaluate((fixtures) => window.runPhisealTests(fixtures), { vectors });
  for (const r of results) report(r.name, r.ok, r.ok ? '' : r.error);

  // The HPKE playground served by `make demo`: generate, seal, open, tamper.
  // (The example apps have their own end-to-end test: tests/examples/run.mjs.)
  const demo = await context.newPage();
  await check('examples/hpke.html: generate, seal, open, reject a flipped bit', async () => {
    await demo.goto(`${url}/examples/hpke.html`);
    await demo.waitForFunction(() => window.phisealDemoReady === true);
    await demo.click('#gen');
    await demo.waitForFunction(() => document.getElementById('key').textContent.startsWith('kid '));
    await demo.click('#seal');
    await demo.waitForFunction(() => document.getElementById('sealed').textContent.startsWith('sealed in'));
    await demo.click('#open');
    await demo.waitForFunction(() => document.getElementById('opened').textContent.startsWith('opened: BP 128/82'));
    await demo.click('#tamper');
    await demo.waitForFunction(() => document.getElementById('opened').textContent.includes('DECRYPT_FAILED'));
    await demo.fill('#record', 'patient-0000/visit');
    await demo.click('#open');
    await demo.waitForFunction(() => document.getElementById('opened').textContent.includes('DECRYPT_FAILED'));
  });
  // tests/browser/audit.html: phiseal initialised, for the reload tests (IndexedDB across a reload).
  const auditReady = (p) => p.waitForFunction(() => window.auditReady === true);
  const auditPage = async () => {
    const p = await context.newPage();
    await p.goto(`${url}/tests/browser/audit.html`);
    await auditReady(p);
    return p;
  };
  const reloadAuditPage = async (p) => {
    await p.reload();
    await auditReady(p);
  };
  await check('AuditQueue: entries survive a page reload, flush delivers each once, in order', async () => {
    const page2 = await auditPage();
    const name = `queue-${Date.now()}`;
    await page2.evaluate(async (name) => {
      const q = await window.phiseal.AuditQueue.open({ name });
      for (let i = 0; i < 5; i++) await q.append({ actor: { id: 'u', role: 'clinician' }, action: 'view', patientId: `p${i}` });
    }, name);
    await reloadAuditPage(page2);
    const result = await page2.evaluate(async (name) => {
      const { phiseal } = window;
      const q = await phiseal.AuditQueue.open({ name });
      for (let i = 5; i < 8; i++) await q.append({ actor: { id: 'u', role: 'clinician' }, action: 'decrypt', patientId: `p${i}` });
      let failed = false;
      try {
        await q.flush(async () => { throw new Error('offline'); });
      } catch {
        failed = true;
      }
      const stillPending = (await q.pending()).length;
      const delivered = [];
      const n = await q.flush(async (lines) => { delivered.push(...lines); });
      const after = (await q.pending()).length;
      const report = phiseal.verifyLog(delivered.join('\n'), []);
      return { failed, stillPending, n, after, seqs: delivered.map((l) => JSON.parse(l).seq), report, logId: q.logId };
    }, name);
    await page2.close();
    const ok = result.failed && result.stillPending === 8 && result.n === 8 && result.after === 0
      && JSON.stringify(result.seqs) === JSON.stringify([1, 2, 3, 4, 5, 6, 7, 8]) && result.report.valid && result.report.entries === 8;
    if (!ok) throw new Error(JSON.stringify(result));
  });
  await check('Audit tree across a reload: a resumed AuditQueue checkpoints; a cut-back, a server-signed rewrite and a missing witness are refused in wasm', async () => {
    const page = await auditPage();
    const name = `tree-${Date.now()}`;
    const signer = await page.evaluate(() => Array.from(window.phiseal.SigningKey.generate().exportPkcs8()));
    const before = await page.evaluate((a) => window.auditTreeBeforeReload(a), { name, pkcs8: signer });
    await reloadAuditPage(page);
    const r = await page.evaluate((a) => window.auditTreeAfterReload(a), { name, pkcs8: signer, kept: before.kept });
    await page.close();
    const codes = [r.cutSince.problem?.code, r.forged.problem?.code, r.unwitnessed.problem?.code];
    const ok = before.valid && before.size === 10 && r.grown.valid && r.grown.lastCheckpointSeq === 15
      && r.cutAlone.valid && JSON.stringify(codes) === JSON.stringify(['ROLLED_BACK', 'UNTRUSTED_KEY', 'NOT_WITNESSED'])
      && r.unwitnessedSince.valid && r.unwitnessedSince.lastCheckpointSeq === 10 && r.unwitnessedSince.unsignedTail === 5
      && r.witnessed.valid && r.witnessed.witnessed === 1 && r.witnessRefusedForgery === 'UNTRUSTED_AUTHOR' && r.inclusion === true;
    if (!ok) throw new Error(JSON.stringify({ before, ...r }));
  });
  await check('AuditQueue signed by a non-extractable AuthorKey: checkpoints verify under its public key across a reload (key kept in a KeyStore), page script cannot export it', async () => {
    const page = await auditPage();
    const name = `author-audit-${Date.now()}`;
    const before = await page.evaluate(async (name) => {
      const { phiseal } = window;
      const store = await phiseal.KeyStore.open({ name: `${name}-keys` });
      const signer = await phiseal.generateAuthorKey(); // non-extractable WebCrypto ECDSA P-384
      const kid = await store.put(signer, { purpose: 'audit' });
      const q = await phiseal.AuditQueue.open({ name, signingKey: signer, checkpointEvery: 3 });
      const actor = { id: 'dr-lee', role: 'clinician' };
      for (let i = 0; i < 4; i++) await q.append({ actor, action: 'view-record', resource: `r-${i}` });
      const lines = (await q.pending()).map((l) => JSON.parse(l));
      localStorage.setItem('author-audit', JSON.stringify({ kid, publicJwk: signer.publicKey.toJwk() }));
      return { kid, checkpoints: lines.filter((l) => l.type === 'checkpoint').length, entries: lines.filter((l) => l.type === 'entry').length };
    }, name);
    await reloadAuditPage(page);
    const after = await page.evaluate(async (name) => {
      const { phiseal } = window;
      const saved = JSON.parse(localStorage.getItem('author-audit'));
      const store = await phiseal.KeyStore.open({ name: `${name}-keys` });
      const signer = await store.getAuthorKey(saved.kid);
      const q = await phiseal.AuditQueue.open({ name, signingKey: signer, checkpointEvery: 3 });
      await q.append({ actor: { id: 'dr-lee', role: 'clinician' }, action: 'view-record', resource: 'r-4' });
      await q.checkpoint();
      const jsonl = `${(await q.pending()).join('\n')}\n`;
      const report = phiseal.verifyLog(jsonl, { trusted: [phiseal.importPublicKey(saved.publicJwk)] });
      const stranger = await phiseal.generateAuthorKey();
      const other = phiseal.verifyLog(jsonl, { trusted: [stranger.publicKey] });
      const webExport = await crypto.subtle.exportKey('pkcs8', signer.cryptoKey()).then(() => 'exported', (e) => e.name);
      const notAuthor = await new phiseal.AuditLog({}).checkpointWith(phiseal.SigningKey.generate()).then(() => 'signed', (e) => e.code);
      return { valid: report.valid, entries: report.entries, lastCheckpointSeq: report.lastCheckpointSeq, other: other.problem?.code ?? null, webExport, notAuthor, provider: signer.provider };
    }, name);
    await page.close();
    const ok = before.checkpoints === 1 && before.entries === 4 && after.valid && after.entries === 5 && after.lastCheckpointSeq === 5
      && after.other === 'UNTRUSTED_KEY' && after.webExport === 'InvalidAccessError' && after.notAuthor === 'INVALID_ARGUMENT' && after.provider === 'webcrypto';
    if (!ok) throw new Error(JSON.stringify({ before, after }));
    return `${after.entries} entries, checkpoints to ${after.lastCheckpointSeq} under a ${after.provider} key; export: ${after.webExport}; another key: ${after.other}`;
  });
  await check('KeyStore: wrapped keys survive a reload; passphrase, expiry and rotation report', async () => {
    const page3 = await auditPage();
    const name = `keys-${Date.now()}`;
    const kids = await page3.evaluate(async (name) => {
      const { phiseal } = window;
      const store = await phiseal.KeyStore.open({ name });
      const web = await phiseal.generateKeyPair();
      const soft = await phiseal.generateKeyPair({ provider: 'wasm', extractable: true });
      const old = await phiseal.generateKeyPair({ provider: 'wasm', extractable: true });
      await store.put(web.privateKey, { purpose: 'hpke' });
      await store.put(soft.privateKey, { passphrase: 'correct horse battery staple', expires: Date.now() + 3600e3 });
      await store.put(old.privateKey, { created: Date.now() - 100 * 86400e3 });
      const schema = { id: 's', version: 1, fields: { note: true } };
      const author = await phiseal.generateAuthorKey();
      const sealed = await phiseal.sealRecord({ note: 'kept' }, { schema, recordId: 'r', author, recipients: [web.publicKey, soft.publicKey] });
      localStorage.setItem('sealed', JSON.stringify(sealed));
      localStorage.setItem('sealed-author', JSON.stringify(author.publicKey.toJwk())); // public: whom the reader trusts
      return { web: web.privateKey.kid, soft: soft.privateKey.kid, old: old.privateKey.kid };
    }, name);
    await reloadAuditPage(page3);
    const out = await page3.evaluate(async ({ name, kids }) => {
      const { phiseal } = window;
      const store = await phiseal.KeyStore.open({ name });
      const schema = { id: 's', version: 1, fields: { note: true } };
      const sealed = JSON.parse(localStorage.getItem('sealed'));
      const expect = { schema, recordId: 'r', authors: [phiseal.importPublicKey(JSON.parse(localStorage.getItem('sealed-author')))] };
      const web = await store.get(kids.web);
      const a = (await phiseal.openRecord(sealed, { ...expect, privateKey: web })).record.note;
      let wrong = '';
      try { await store.get(kids.soft, { passphrase: 'wrong passphrase!!' }); } catch (e) { wrong = e.code; }
      const soft = await store.get(kids.soft, { passphrase: 'correct horse battery staple' });
      const b = (await phiseal.openRecord(sealed, { ...expect, privateKey: soft })).record.note;
      let expired = '';
      try { await store.get(kids.soft, { passphrase: 'correct horse battery staple', now: Date.now() + 7200e3 }); } catch (e) { expired = e.code; }
      return { a, b, wrong, expired, extractable: [web.extractable, soft.extractable], due: await store.due(), list: (await store.list()).map((k) => k.protection).sort() };
    }, { name, kids });
    await page3.close();
    const ok = out.a === 'kept' && out.b === 'kept' && out.wrong === 'DECRYPT_FAILED' && out.expired === 'KEY_EXPIRED'
      && JSON.stringify(out.extractable) === '[false,false]' && JSON.stringify(out.due) === JSON.stringify([kids.old])
      && JSON.stringify(out.list) === JSON.stringify(['A256GCM', 'passphrase', 'webcrypto-non-extractable']);
    if (!ok) throw new Error(JSON.stringify(out));
  });
  await check('KeyStore: SigningKey, IndexKey and SessionKey survive a reload, each through its own getter', async () => {
    const page4 = await auditPage();
    const name = `kinds-${Date.now()}`;
    const ids = await page4.evaluate(async (name) => {
      const { phiseal } = window;
      const store = await phiseal.KeyStore.open({ name });
      const signingKey = phiseal.SigningKey.generate();
      const indexKey = await phiseal.generateIndexKey();
      const { privateKey, publicKey } = await phiseal.generateKeyPair();
      const session = new phiseal.SessionKey(privateKey, { ttlMs: 3600e3 });
      const schema = { id: 's', version: 1, fields: { email: 'deterministic', note: true } };
      const author = await phiseal.generateAuthorKey();
      const sealed = await phiseal.sealRecord({ email: 'a@example.org', note: 'kept' }, { schema, recordId: 'r', author, recipients: [publicKey], indexKey });
      localStorage.setItem('sealed-kinds', JSON.stringify(sealed));
      localStorage.setItem('sealed-kinds-author', JSON.stringify(author.publicKey.toJwk()));
      const log = new phiseal.AuditLog({ signingKey, checkpointEvery: 1 });
      log.append({ actor: { id: 'dr-7', role: 'clinician' }, action: 'view' });
      localStorage.setItem('log-kinds', log.toJsonl());
      return {
        signing: await store.put(signingKey),
        index: await store.put(indexKey),
        session: await store.put(session),
        signingPublic: signingKey.publicKey.toJwk(),
        expiresAt: session.expiresAt,
      };
    }, name);
    await reloadAuditPage(page4);
    const out = await page4.evaluate(async (ids) => {
      const { phiseal } = window;
      const store = await phiseal.KeyStore.open({ name: ids.name });
      const signingKey = await store.getSigningKey(ids.signing);
      const indexKey = await store.getIndexKey(ids.index);
      const session = await store.getSessionKey(ids.session);
      const schema = { id: 's', version: 1, fields: { email: 'deterministic', note: true } };
      const sealed = JSON.parse(localStorage.getItem('sealed-kinds'));
      const authors = [phiseal.importPublicKey(JSON.parse(localStorage.getItem('sealed-kinds-author')))];
      // The IndexKey came back through the store's own sealed, signed copy (phk2) and still opens the deterministic field.
      const { record } = await phiseal.openRecord(sealed, { schema, privateKey: session, indexKey, recordId: 'r', authors });
      // The restored signer continues a log that verifies against the key stored before the reload.
      const log = new phiseal.AuditLog({ signingKey, checkpointEvery: 1 });
      log.append({ actor: { id: 'dr-7', role: 'clinician' }, action: 'view' });
      const before = phiseal.importPublicKey(ids.signingPublic);
      const report = phiseal.verifyLog(log.toJsonl(), [before]);
      let wrongGetter = '';
      try { await store.get(ids.signing); } catch (e) { wrongGetter = e.code; }
      let expired = '';
      try { await store.getSessionKey(ids.session, { now: ids.expiresAt + 1 }); } catch (e) { expired = e.code; }
      const kinds = (await store.list()).map((k) => k.kind).sort();
      return { record, valid: report.valid, sameSigner: signingKey.publicKey.kid === before.kid, sameIndex: indexKey.id === ids.index,
        sessionLeft: session.expiresAt - Date.now(), wrongGetter, expired, kinds };
    }, { ...ids, name });
    await page4.close();
    const ok = out.record.email === 'a@example.org' && out.record.note === 'kept' && out.valid && out.sameSigner && out.sameIndex
      && out.sessionLeft > 3500e3 && out.sessionLeft <= 3600e3 && out.wrongGetter === 'MISUSE' && out.expired === 'KEY_EXPIRED'
      && JSON.stringify(out.kinds) === JSON.stringify(['index', 'session', 'signing']);
    if (!ok) throw new Error(JSON.stringify(out));
  });
  await check('VersionStore (IndexedDB): the highest version opened survives a reload; the older version and a fork are then refused (STALE_VERSION)', async () => {
    const page5 = await auditPage();
    const names = { keys: `vkeys-${Date.now()}`, versions: `versions-${Date.now()}` };
    const before = await page5.evaluate(async (names) => {
      const { phiseal } = window;
      const keys = await phiseal.KeyStore.open({ name: names.keys });
      const reader = await phiseal.generateKeyPair(); // non-extractable, kept across the reload by the KeyStore
      await keys.put(reader.privateKey);
      const author = await phiseal.generateAuthorKey();
      const schema = { id: 'chart', version: 1, fields: { allergy: true } };
      const seal = (record, previous) =>
        phiseal.sealRecord(record, { schema, recordId: 'chart-1', context: { patientId: 'p-1' }, recipients: [reader.publicKey], author, previous });
      const expect = { schema, privateKey: reader.privateKey, recordId: 'chart-1', context: { patientId: 'p-1' }, authors: [author.publicKey] };
      const versions = await phiseal.VersionStore.open({ name: names.versions });
      const v1 = await seal({ allergy: 'none known' });
      const o1 = await phiseal.openRecord(v1, { ...expect, versions });
      const v2 = await seal({ allergy: 'penicillin' }, o1.header);
      const fork = await seal({ allergy: 'latex' }, o1.header); // another version 2 after the same version 1
      const o2 = await phiseal.openRecord(v2, { ...expect, versions });
      versions.close();
      localStorage.setItem('versions-test', JSON.stringify({ v1, v2, fork, reader: reader.privateKey.kid, author: author.publicKey.toJwk() }));
      return { v1: o1.header.version, v2: o2.header.version, digest: o2.header.digest, linked: o2.header.previous === o1.header.digest };
    }, names);
    await reloadAuditPage(page5);
    const after = await page5.evaluate(async (names) => {
      const { phiseal } = window;
      const saved = JSON.parse(localStorage.getItem('versions-test'));
      const keys = await phiseal.KeyStore.open({ name: names.keys });
      const schema = { id: 'chart', version: 1, fields: { allergy: true } };
      const expect = {
        schema, privateKey: await keys.get(saved.reader), recordId: 'chart-1', context: { patientId: 'p-1' }, authors: [phiseal.importPublicKey(saved.author)],
      };
      const code = (p) => p.then((o) => `opened ${o.record.allergy}`, (e) => e.code);
      const versions = await phiseal.VersionStore.open({ name: names.versions });
      // The store's key for a record is [schema id, record id] (js/fields.js checkFreshness).
      const stored = await versions.get(JSON.stringify(['chart', 'chart-1']));
      const out = {
        stored,
        rollback: await code(phiseal.openRecord(saved.v1, { ...expect, versions })),
        fork: await code(phiseal.openRecord(saved.fork, { ...expect, versions })),
        // Controls: the old version itself is valid (only the remembered state refuses it) ...
        withoutStore: await code(phiseal.openRecord(saved.v1, { ...expect })),
        // ... and the newest one still opens through the store, which still holds version 2.
        newest: await code(phiseal.openRecord(saved.v2, { ...expect, versions })),
        storedAfter: await versions.get(JSON.stringify(['chart', 'chart-1'])),
        // A store of another name has seen nothing.
        otherStore: await code(phiseal.openRecord(saved.v1, { ...expect, versions: await phiseal.VersionStore.open({ name: `${names.versions}-other` }) })),
        minVersion: await code(phiseal.openRecord(saved.v1, { ...expect, minVersion: 2 })),
      };
      versions.close();
      return out;
    }, names);
    // Another tab of the origin shares the store.
    const tab = await auditPage();
    const otherTab = await tab.evaluate(async (names) => {
      const { phiseal } = window;
      const saved = JSON.parse(localStorage.getItem('versions-test'));
      const keys = await phiseal.KeyStore.open({ name: names.keys });
      const versions = await phiseal.VersionStore.open({ name: names.versions });
      return phiseal.openRecord(saved.v1, {
        schema: { id: 'chart', version: 1, fields: { allergy: true } }, privateKey: await keys.get(saved.reader), recordId: 'chart-1',
        context: { patientId: 'p-1' }, authors: [phiseal.importPublicKey(saved.author)], versions,
      }).then(() => 'opened', (e) => e.code);
    }, names);
    await tab.close();
    await page5.close();
    const ok = before.v1 === 1 && before.v2 === 2 && before.linked
      && after.stored?.version === 2 && after.stored?.digest === before.digest
      && after.rollback === 'STALE_VERSION' && after.fork === 'STALE_VERSION'
      && after.withoutStore === 'opened none known' && after.newest === 'opened penicillin'
      && after.storedAfter?.version === 2 && after.storedAfter?.digest === before.digest
      && after.otherStore === 'opened none known' && after.minVersion === 'STALE_VERSION' && otherTab === 'STALE_VERSION';
    if (!ok) throw new Error(JSON.stringify({ before, after, otherTab }));
    return `after the reload: version ${after.stored.version} remembered; v1 ${after.rollback}, fork ${after.fork}; another tab: ${otherTab}`;
  });
  await check('KeyStore: a swapped public JWK or a planted key pair under a stored key id is refused when loaded (INVALID_KEY)', async () => {
    const page7 = await auditPage();
    const result = await page7.evaluate(async (name) => {
      const { phiseal } = window;
      const store = await phiseal.KeyStore.open({ name });
      const mine = await phiseal.generateKeyPair(); // non-extractable
      const kid = await store.put(mine.privateKey);
      const session = await store.put(new phiseal.SessionKey(mine.privateKey, { ttlMs: 60_000 }));
      const attacker = await phiseal.generateKeyPair();
      // The script of a one-time XSS edits the store's IndexedDB directly.
      const idb = await new Promise((resolve, reject) => {
        const r = indexedDB.open(name);
        r.onsuccess = () => resolve(r.result);
        r.onerror = () => reject(r.error);
      });
      const edit = (id, change) => new Promise((resolve, reject) => {
        const tx = idb.transaction('keys', 'readwrite');
        const os = tx.objectStore('keys');
        const g = os.get(id);
        g.onsuccess = () => os.put(change(g.result));
        tx.oncomplete = resolve;
        tx.onerror = () => reject(tx.error);
      });
      const code = (p) => p.then(() => 'loaded', (e) => e.code);
      const honest = (await store.get(kid)).kid;
      // 1. The public JWK swapped for the attacker's (the app would re-register it).
      await edit(kid, (e) => ({ ...e, publicJwk: attacker.publicKey.toJwk() }));
      const swapped = await code(store.get(kid));
      // 2. The attacker's private CryptoKey planted under this key's id and public key.
      await edit(kid, (e) => ({ ...e, publicJwk: mine.publicKey.toJwk(), wrapped: { alg: 'webcrypto-non-extractable', key: attacker.privateKey.cryptoKey() } }));
      const planted = await code(store.get(kid));
      await edit(session, (e) => ({ ...e, wrapped: { alg: 'webcrypto-non-extractable', key: attacker.privateKey.cryptoKey() } }));
      const plantedSession = await code(store.getSessionKey(session));
      idb.close();
      store.close();
      return { honest: honest === kid, swapped, planted, plantedSession };
    }, `tamper-${Date.now()}`);
    await page7.close();
    const ok = result.honest && result.swapped === 'INVALID_KEY' && result.planted === 'INVALID_KEY' && result.plantedSession === 'INVALID_KEY';
    if (!ok) throw new Error(JSON.stringify(result));
    return `swapped JWK: ${result.swapped}; planted pair: ${result.planted}; planted session key: ${result.plantedSession}`;
  });
  await check('KeyStore: an AuthorKey survives a reload as a non-extractable WebCrypto key that still signs what its old public key verifies', async () => {
    const page6 = await auditPage();
    const name = `authors-${Date.now()}`;
    const before = await page6.evaluate(async (name) => {
      const { phiseal } = window;
      const store = await phiseal.KeyStore.open({ name });
      const author = await phiseal.generateAuthorKey();
      const reader = await phiseal.generateKeyPair();
      const schema = { id: 's', version: 1, fields: { note: true } };
      const sealed = await phiseal.sealRecord({ note: 'before the reload' }, { schema, recordId: 'r-before', recipients: [reader.publicKey], author });
      // An extractable author key is stored wrapped under a passphrase (and comes back non-extractable).
      const portable = await phiseal.generateAuthorKey({ extractable: true });
      const stored = {
        kid: await store.put(author),
        portable: await store.put(portable, { passphrase: 'correct horse battery staple' }),
        reader: await store.put(reader.privateKey),
      };
      localStorage.setItem('authors-test', JSON.stringify({ sealed, publicJwk: author.publicKey.toJwk(), portableJwk: portable.publicKey.toJwk(), ...stored }));
      return { ...stored, authorKid: author.kid, portableKid: portable.kid };
    }, name);
    await reloadAuditPage(page6);
    const after = await page6.evaluate(async (name) => {
      const { phiseal } = window;
      const saved = JSON.parse(localStorage.getItem('authors-test'));
      const store = await phiseal.KeyStore.open({ name });
      const author = await store.getAuthorKey(saved.kid);
      const ck = author.cryptoKey();
      const exportCode = await author.exportPkcs8().then(() => 'exported', (e) => e.code);
      const webExport = await crypto.subtle.exportKey('pkcs8', ck).then(() => 'exported', (e) => e.name);
      const oldPublic = phiseal.importPublicKey(saved.publicJwk);
      const reader = await store.get(saved.reader);
      const schema = { id: 's', version: 1, fields: { note: true } };
      const fresh = await phiseal.sealRecord({ note: 'after the reload' }, { schema, recordId: 'r-after', recipients: [reader.publicKey], author });
      const opened = await phiseal.openRecord(fresh, { schema, privateKey: reader, recordId: 'r-after', authors: [oldPublic] });
      const old = await phiseal.openRecord(saved.sealed, { schema, privateKey: reader, recordId: 'r-before', authors: [oldPublic] });
      const stranger = await phiseal.generateAuthorKey();
      const untrusted = await phiseal.openRecord(fresh, { schema, privateKey: reader, recordId: 'r-after', authors: [stranger.publicKey] }).then(() => 'opened', (e) => e.code);
      const wrongGetter = await store.get(saved.kid).then(() => 'loaded', (e) => e.code);
      const wrongPassphrase = await store.getAuthorKey(saved.portable, { passphrase: 'not the passphrase' }).then(() => 'loaded', (e) => e.code);
      const portable = await store.getAuthorKey(saved.portable, { passphrase: 'correct horse battery staple' });
      const byPortable = await phiseal.sealRecord({ note: 'portable' }, { schema, recordId: 'r-p', recipients: [reader.publicKey], author: portable });
      const portableOpened = await phiseal.openRecord(byPortable, { schema, privateKey: reader, recordId: 'r-p', authors: [phiseal.importPublicKey(saved.portableJwk)] });
      const list = (await store.list()).filter((k) => k.kind === 'author').map((k) => `${k.kid === saved.kid ? 'author' : 'portable'}:${k.protection}`).sort();
      return {
        kid: author.kid, provider: author.provider, extractable: author.extractable,
        cryptoKey: ck instanceof CryptoKey && ck.type === 'private' && ck.extractable === false && ck.algorithm.name === 'ECDSA' && ck.algorithm.namedCurve === 'P-384',
        exportCode, webExport, opened: opened.record.note, openedAuthor: opened.author.kid, old: old.record.note, untrusted, wrongGetter,
        wrongPassphrase, portable: [portable.kid, portable.provider, portable.extractable], portableNote: portableOpened.record.note, list,
      };
    }, name);
    await page6.close();
    const ok = before.kid === before.authorKid && after.kid === before.kid && after.provider === 'webcrypto' && after.extractable === false && after.cryptoKey
      && after.exportCode === 'MISUSE' && after.webExport === 'InvalidAccessError'
      && after.opened === 'after the reload' && after.openedAuthor === before.kid && after.old === 'before the reload'
      && after.untrusted === 'UNTRUSTED_AUTHOR' && after.wrongGetter === 'MISUSE' && after.wrongPassphrase === 'DECRYPT_FAILED'
      && JSON.stringify(after.portable) === JSON.stringify([before.portableKid, 'webcrypto', false]) && after.portableNote === 'portable'
      && JSON.stringify(after.list) === JSON.stringify(['author:webcrypto-non-extractable', 'portable:passphrase']);
    if (!ok) throw new Error(JSON.stringify({ before, after }));
    return `kid ${after.kid.slice(0, 12)}…: ${after.provider}, extractable ${after.extractable}, exportPkcs8 ${after.exportCode}`;
  });
});
