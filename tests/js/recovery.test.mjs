// Recovery without data loss (issue #20, docs/FORMAT.md §9), end to end
// across the native CLI and the npm package: `phiseal recovery split` makes
// the organisation's recovery key and three officers' shares; the app seals
// every record to the clinician and, by policy (checkRecoverable), to the
// recovery key; the clinician's only device is wiped; two officers reseal
// their shares to a recovery session, `phiseal recovery combine` gives the
// recovery key, the browser imports it non-extractable and rewraps every
// record to the clinician's new key, which opens them all. One share alone
// gives nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { phiseal, rejectsWith } from './helpers.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The native CLI, built with the features `make test`'s cargo test step uses (a no-op when that step ran). */
function cli() {
  execFileSync('cargo', ['build', '--quiet', '--features', 'cli,hazmat', '--bin', 'phiseal'], { cwd: ROOT, stdio: 'inherit' });
  const bin = join(ROOT, 'target', 'debug', 'phiseal');
  return (...args) => {
    const r = spawnSync(bin, ['recovery', ...args], { encoding: 'utf8' });
    return { code: r.status, out: r.stdout.trim(), err: r.stderr };
  };
}

const SCHEMA = phiseal.defineSchema({
  id: 'chart',
  version: 1,
  fields: { name: { group: 'identity' }, dx: { group: 'clinical' }, notes: { group: 'clinical' } },
});

test('every device of a clinician wiped: two of three officers recover every record, rewrapped to her new key', async () => {
  const recovery = cli();
  const dir = mkdtempSync(join(tmpdir(), 'phiseal-recovery-'));
  try {
    const officers = [];
    for (let i = 0; i < 3; i++) {
      const k = await phiseal.generateKeyPair({ extractable: true });
      writeFileSync(join(dir, `o${i}.pub.jwk`), JSON.stringify(k.publicKey.toJwk()));
      writeFileSync(join(dir, `o${i}.key.pem`), await k.privateKey.exportPkcs8Pem());
      officers.push(k);
    }
    const split = recovery('split', '--threshold', '2', '--out', join(dir, 'c'), ...[0, 1, 2].map((i) => join(dir, `o${i}.pub.jwk`)));
    assert.equal(split.code, 0, split.err);
    const recoveryKey = phiseal.importPublicKey(JSON.parse(readFileSync(join(dir, 'c', 'recovery.pub.jwk'), 'utf8')));
    assert.equal(recoveryKey.kid, split.out);

    // The app: every record sealed to the clinician and the recovery key.
    const author = await phiseal.generateAuthorKey();
    let clinician = await phiseal.generateKeyPair();
    const records = [0, 1, 2, 3].map((i) => ({ name: `Patient ${i}`, dx: `J45.${i}`, notes: `note ${i}` }));
    const sealed = [];
    for (const [i, r] of records.entries()) {
      const s = await phiseal.sealRecord(r, { schema: SCHEMA, recordId: `r-${i}`, recipients: [clinician.publicKey, recoveryKey], author });
      phiseal.checkRecoverable(s, recoveryKey);
      sealed.push(s);
    }
    // The policy check refuses a record sealed without it, or to it for one group only.
    const without = await phiseal.sealRecord(records[0], { schema: SCHEMA, recordId: 'x', recipients: [clinician.publicKey], author });
    await rejectsWith(assert, () => phiseal.checkRecoverable(without, recoveryKey), 'NOT_RECIPIENT');
    const partial = await phiseal.sealRecord(records[0], {
      schema: SCHEMA, recordId: 'y', recipients: [clinician.publicKey, { publicKey: recoveryKey, groups: ['identity'] }], author,
    });
    await rejectsWith(assert, () => phiseal.checkRecoverable(partial, recoveryKey), 'NOT_RECIPIENT', /clinical/);
    clinician = null; // every device wiped: the key is gone

    // The recovery session and two officers.
    const session = recovery('session', join(dir, 's'));
    assert.equal(session.code, 0);
    // A relay that swaps the session key for its own: the officer's kid check refuses it.
    const relayed = await phiseal.generateKeyPair();
    writeFileSync(join(dir, 'swapped.pub.jwk'), JSON.stringify(relayed.publicKey.toJwk()));
    const swapped = recovery('reseal', join(dir, 'c', 'share-1.phr'), '--key', join(dir, 'o0.key.pem'), '--to', join(dir, 'swapped.pub.jwk'), '--session-kid', session.out);
    assert.equal(swapped.code, 2, 'a swapped session key is refused');
    const shares = [];
    for (const i of [0, 2]) {
      const r = recovery('reseal', join(dir, 'c', `share-${i + 1}.phr`), '--key', join(dir, `o${i}.key.pem`), '--to', join(dir, 's', 'session.pub.jwk'), '--session-kid', session.out);
      assert.equal(r.code, 0, r.err);
      writeFileSync(join(dir, `to-session-${i}.phr`), r.out);
      shares.push(join(dir, `to-session-${i}.phr`));
    }
    const expect = ['--expect', join(dir, 'c', 'recovery.pub.jwk')];
    assert.equal(recovery('combine', join(dir, 's'), ...expect, shares[0]).code, 2, 'a share alone gives nothing');
    const combined = recovery('combine', join(dir, 's'), ...expect, ...shares);
    assert.equal(combined.code, 0, combined.err);
    const pem = readFileSync(join(dir, 's', 'recovery.key.pem'), 'utf8');
    rmSync(join(dir, 's', 'recovery.key.pem'));
    const recovered = await phiseal.importPrivateKey(pem); // non-extractable in WebCrypto where it exists
    assert.equal(recovered.publicKey.kid, recoveryKey.kid);

    // Every record moves to the clinician's new key and opens with it.
    const fresh = await phiseal.generateKeyPair();
    for (const [i, s] of sealed.entries()) {
      const next = await phiseal.rewrapRecord(s, {
        schema: SCHEMA, recordId: `r-${i}`, authors: [author.publicKey], privateKey: recovered, recipients: [fresh.publicKey, recoveryKey], author,
      });
      phiseal.checkRecoverable(next, recoveryKey);
      const opened = await phiseal.openRecord(next, { schema: SCHEMA, recordId: `r-${i}`, authors: [author.publicKey], privateKey: fresh.privateKey });
      assert.deepEqual(opened.record, records[i]);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
