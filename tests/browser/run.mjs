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
      const sealed = await phiseal.sealRecord({ note: 'kept' }, { schema, recordId: 'r', recipients: [web.publicKey, soft.publicKey] });
      localStorage.setItem('sealed', JSON.stringify(sealed));
      return { web: web.privateKey.kid, soft: soft.privateKey.kid, old: old.privateKey.kid };
    }, name);
    await reloadAuditPage(page3);
    const out = await page3.evaluate(async ({ name, kids }) => {
      const { phiseal } = window;
      const store = await phiseal.KeyStore.open({ name });
      const schema = { id: 's', version: 1, fields: { note: true } };
      const sealed = JSON.parse(localStorage.getItem('sealed'));
      const web = await store.get(kids.web);
      const a = (await phiseal.openRecord(sealed, { schema, privateKey: web })).record.note;
      let wrong = '';
      try { await store.get(kids.soft, { passphrase: 'wrong passphrase!!' }); } catch (e) { wrong = e.code; }
      const soft = await store.get(kids.soft, { passphrase: 'correct horse battery staple' });
      const b = (await phiseal.openRecord(sealed, { schema, privateKey: soft })).record.note;
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
      const sealed = await phiseal.sealRecord({ email: 'a@example.org', note: 'kept' }, { schema, recordId: 'r', recipients: [publicKey], indexKey });
      localStorage.setItem('sealed-kinds', JSON.stringify(sealed));
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
      const { record } = await phiseal.openRecord(sealed, { schema, privateKey: session, indexKey });
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
});
