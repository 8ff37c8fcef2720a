// The organisation's break-glass escrow for the patient portal (docs/TRUST.md
// §8): a separate process on 127.0.0.1, neither the storage server nor the
// enrollment desk, that holds each patient's emergency private key and
// releases it only to a clinician who has first written a break-glass entry
// to her own signed audit chain, and only after it has verified that entry
// and stored it durably itself.
//
//   node examples/patient-portal/escrow.mjs --dir DIR [--origin URL]... [--timeout 3600]
//     reads one JSON line on stdin first: {desk, credential, root} (the
//     enrollment desk's address, the escrow's desk credential, the pinned
//     root's public JWK: from its parent, never on the command line), then
//     prints one JSON line {url} and serves, to the pages of the --origin
//     URLs only (CORS):
//     POST /patients    {patientId}  {certificate}: the patient's current
//                                    break-glass key, made and certified on
//                                    first use (the patient's browser asks
//                                    when it enrolls, and publishes it)
//     POST /break-glass {patientId, requestId, seq, log, signer, recipient}
//                                    {patientId, requestId, info, enc, ciphertext, kids, rotated}
//     DIR/keys.jsonl (mode 0600): every emergency key it made, with its
//     patient and certificate; DIR/break-glass.jsonl: every request it
//     granted, appended and fsync'd before the key is sent.
//
// Emergency keys. One key pair per patient at a time (E_P), made here; the
// desk certifies its public half for `break-glass:<patientId>` (role
// `break-glass`, every schema group) for this escrow's credential only, and
// the patient's browser publishes the certificate in the directory and
// refuses to seal an intake unless it is sealed to E_P as well (intake.html).
// Its private half never leaves this process except in a release.
//
// A release. A clinician (certified role `clinician`) who is not a
// recipient of a patient's records sends:
//   log        her audit chain as JSON Lines (her AuditQueue's, from its
//              first entry), holding at `seq` the entry
//              {action: 'break-glass', patientId, reason (8 characters at
//              least), resource: 'break-glass-request:<requestId>'}
//              by her (actor id = her certificate's subject), written in the
//              last 10 minutes, and after it a checkpoint covering it,
//              signed by her audit signer key;
//   signer     the certificate of that signer key (root-certified, purpose
//              sign, current revocation list);
//   recipient  the certificate of her encryption key (root-certified,
//              purpose encrypt, the same subject).
// The escrow checks all of it (verifyLog against her certified signer key:
// the chain and the checkpoint's signature; verifyInclusion of the entry in
// the checkpoint's tree; the entry's fields; the request id not seen
// before), appends {entry, checkpoint, inclusion proof, who, when} to
// DIR/break-glass.jsonl and fsyncs it, and only then answers: every
// emergency key of the patient (PKCS#8), HPKE-sealed (RFC 9180 base mode,
// phiseal's suite) to her certified encryption key, with an info string
// naming the patient and the request. Anything else is a 4xx and nothing is
// released or stored.
//
// Scope. After each release the escrow replaces the patient's key: a new
// E_P is certified (the desk revokes the released one at once), so the
// patient's browser seals later intakes to a key nobody outside the escrow
// holds, and reading those needs a new break-glass entry. What was released
// stays released: the records sealed to it before remain readable by that
// clinician's client (it could keep the key bytes it unwrapped). The
// SessionKey the emergency page wraps the key in (15 minutes) is a policy
// helper on her side, not enforced here.
//
// Who may ask. Nobody needs a credential of this escrow: what it checks is a
// signed audit chain and two certificates that only the organisation's root
// makes, and the answer is readable only with the private key of the
// certified encryption key. The storage server, which receives her audit
// lines, can replay them: the request id was used (409), or a new one does
// not match the entry (403); it cannot get a key of its own certified for
// her, nor a break-glass key of its own (the desk wants the escrow's
// credential). Demo simplifications, stated plainly: the keys sit in a
// file of this machine (a real escrow keeps them in an HSM or wraps them
// to one); it runs as the same user as the other processes of the demo.
//
// It stops by itself after --timeout seconds, or when its parent closes its
// stdin.

import { access, chmod, mkdir, open, readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  AuditTree, generateKeyPair, hpkeSeal, importPublicKey, init, parseCheckpoint, Trust, verifyInclusion, verifyLog,
} from '../../js/index.js';
import { breakGlassSubject, BREAK_GLASS_ROLE, STAFF } from './schema.js';

const MAX_BODY = 1 << 20;
const PATIENT_ID = /^patient-[0-9a-f-]{36}$/;
const REQUEST_ID = /^[0-9a-f-]{36}$/;
/** How old a break-glass entry may be when it reaches the escrow. */
export const ENTRY_MAX_AGE_MS = 10 * 60_000;
export const MIN_REASON = 8;
const CLINICIANS = new Set(Object.values(STAFF).filter((s) => s.role === 'clinician').map((s) => s.actor));

/** The HPKE info of a release: the key is opened only for this patient and this request. */
export const releaseInfo = (patientId, requestId) => `phiseal-portal break-glass v1\npatient ${patientId}\nrequest ${requestId}`;

const fail = (status, message) => Object.assign(new Error(message), { status });
const b64 = (bytes) => Buffer.from(bytes).toString('base64url');

/** Appends one line to `file` and returns once it is on disk (fsync; the folder too when the file is new). */
async function appendDurably(file, line, dir) {
  const created = await access(file).then(() => false, () => true);
  const fh = await open(file, 'a', 0o600);
  try {
    await fh.appendFile(`${line}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  if (created) {
    const d = await open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  }
}

const readLines = async (file) => (await readFile(file, 'utf8').catch(() => '')).split('\n').filter(Boolean).map((l) => JSON.parse(l));

/**
 * Starts the escrow on 127.0.0.1. `desk`: the enrollment desk's URL,
 * `credential`: the escrow's desk credential, `root`: the organisation
 * root's public JWK (pinned). Resolves to {url, close}.
 */
export async function startEscrow({ dir, desk, credential, root, port = 0, origins = [] }) {
  await init();
  await mkdir(dir, { recursive: true });
  await chmod(dir, 0o700);
  const keysFile = join(dir, 'keys.jsonl');
  const logFile = join(dir, 'break-glass.jsonl');
  const rootKey = importPublicKey(root);
  /** patientId -> [{kid, pkcs8, certificate, created}], oldest first; the last is current. */
  const keys = new Map();
  for (const k of await readLines(keysFile)) (keys.get(k.patientId) ?? keys.set(k.patientId, []).get(k.patientId)).push(k);
  const used = new Set((await readLines(logFile)).map((r) => r.requestId));

  async function deskEnroll(patientId, jwk) {
    const res = await fetch(`${desk}/enroll`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${credential}` },
      body: JSON.stringify({ subject: breakGlassSubject(patientId), purpose: 'encrypt', jwk }),
    });
    const json = await res.json().catch(() => ({}));
    if (!res.ok) throw fail(502, `the enrollment desk refused the break-glass key: ${json.error ?? res.status}`);
    return json.certificate;
  }

  /** Makes a new emergency key for the patient, has it certified (the desk revokes the earlier ones) and stores it. */
  async function newKey(patientId) {
    const { privateKey, publicKey } = await generateKeyPair({ extractable: true, provider: 'wasm' });
    const pkcs8 = b64(await privateKey.exportPkcs8());
    privateKey.free();
    const certificate = await deskEnroll(patientId, publicKey.toJwk());
    const k = { patientId, kid: publicKey.kid, pkcs8, certificate, created: Date.now() };
    await appendDurably(keysFile, JSON.stringify(k), dir);
    (keys.get(patientId) ?? keys.set(patientId, []).get(patientId)).push(k);
    return k;
  }

  /** A Trust with the desk's current revocation list (KEY_EXPIRED without one): a revoked clinician cannot break glass. */
  async function trust() {
    const res = await fetch(`${desk}/revocations`);
    if (!res.ok) throw fail(503, 'no current revocation list from the enrollment desk');
    const { revocations } = await res.json();
    return new Trust({ roots: [rootKey], revocations });
  }

  async function certified(t, certificate, purpose, what) {
    try {
      return await t.certify(certificate, { purpose });
    } catch (e) {
      throw fail(403, `${what}: ${e.code ?? ''} ${e.message}`);
    }
  }

  // Patients whose released key could not be replaced: their intakes must not
  // be sealed to a key a clinician holds, so /patients retries the
  // replacement and answers 503 until it succeeds (review finding).
  const unreplaced = new Set();

  async function patients({ patientId }) {
    if (typeof patientId !== 'string' || !PATIENT_ID.test(patientId)) throw fail(400, 'patientId must be a patient id');
    if (unreplaced.has(patientId)) {
      try {
        await newKey(patientId);
        unreplaced.delete(patientId);
      } catch (err) {
        throw fail(503, `this patient's break-glass key was released and is not replaced yet: ${err.message}`);
      }
    }
    const current = keys.get(patientId)?.at(-1) ?? (await newKey(patientId));
    return { certificate: current.certificate };
  }

  // Answers by request id: the same request again (the storage server can
  // post her published request before her page does, to burn its id) gets
  // the same answer, sealed to her key, instead of 409 (review finding).
  const answers = new Map();
  const sameRequest = (a, b) => ['patientId', 'seq', 'signer', 'recipient'].every((k) => a[k] === b[k]) && entryAt(a) === entryAt(b);
  const entryAt = (b) => (typeof b.log === 'string' ? b.log.split('\n').find((l) => { try { const e = JSON.parse(l); return e.type === 'entry' && e.seq === b.seq; } catch { return false; } }) : undefined);

  /** Checks a request as the module comment says; resolves to what is stored. Throws a 4xx otherwise. */
  async function check(body) {
    const { patientId, requestId, seq, log, signer, recipient } = body ?? {};
    if (typeof patientId !== 'string' || !PATIENT_ID.test(patientId)) throw fail(400, 'patientId must be a patient id');
    if (typeof requestId !== 'string' || !REQUEST_ID.test(requestId)) throw fail(400, 'requestId must be a UUID');
    if (!Number.isSafeInteger(seq) || seq < 1) throw fail(400, 'seq must be the sequence number of the break-glass entry');
    if (typeof log !== 'string' || typeof signer !== 'string' || typeof recipient !== 'string') throw fail(400, 'log, signer and recipient must be strings');
    if (used.has(requestId)) throw fail(409, 'this request id was used already: a new request needs a new entry');
    // Who asks: a clinician's certified audit signer and her certified encryption key.
    const t = await trust();
    const s = await certified(t, signer, 'sign', 'the audit signer certificate');
    const r = await certified(t, recipient, 'encrypt', 'the encryption certificate');
    if (s.role !== 'clinician' || !CLINICIANS.has(s.subject)) throw fail(403, `${s.subject} (${s.role}) may not break the glass: clinicians only`);
    if (r.subject !== s.subject) throw fail(403, 'the encryption key is certified for another person than the audit signer');
    if (!keys.get(patientId)?.length) throw fail(404, 'this patient has no break-glass key');
    // Her chain, and a checkpoint her certified signer key signed.
    const report = verifyLog(log, { trusted: [s.publicKey] });
    if (!report.valid || report.problem) throw fail(403, `the audit log does not verify against her certified signer key: ${report.problem?.code} ${report.problem?.reason}`);
    const lines = log.split('\n').filter(Boolean);
    const line = lines.find((l) => {
      const e = JSON.parse(l);
      return e.type === 'entry' && e.seq === seq;
    });
    if (!line) throw fail(403, `the log has no entry ${seq}`);
    if (seq > report.lastCheckpointSeq) throw fail(403, `entry ${seq} is not covered by a signed checkpoint (the last covers ${report.lastCheckpointSeq})`);
    const checkpoint = report.checkpoint;
    const tree = parseCheckpoint(checkpoint);
    const proof = AuditTree.fromLog(`${lines.join('\n')}\n`).inclusionProof(seq, tree.size);
    try {
      verifyInclusion(line, tree, proof);
    } catch (e) {
      throw fail(403, `entry ${seq} is not in the signed tree: ${e.message}`);
    }
    // The entry itself.
    const e = JSON.parse(line);
    if (e.action !== 'break-glass') throw fail(403, `entry ${seq} is not a break-glass entry (${e.action})`);
    if (e.actor?.id !== s.subject || e.actor?.role !== 'clinician') throw fail(403, `entry ${seq} is by ${e.actor?.id}, not ${s.subject}`);
    if (e.patientId !== patientId) throw fail(403, `entry ${seq} is for another patient`);
    if (typeof e.reason !== 'string' || e.reason.trim().length < MIN_REASON) throw fail(400, `a break-glass entry needs a reason of ${MIN_REASON} characters at least`);
    if (e.resource !== `break-glass-request:${requestId}`) throw fail(403, `entry ${seq} names another request`);
    const now = Date.now();
    if (!(e.time <= now + 60_000 && now - e.time <= ENTRY_MAX_AGE_MS)) throw fail(403, `entry ${seq} was written ${Math.round((now - e.time) / 1000)} s ago: break-glass entries are good for ${ENTRY_MAX_AGE_MS / 60_000} minutes`);
    return {
      requestId, patientId, received: now, actor: s.subject, name: s.name, signerKid: s.kid, recipientKid: r.kid, logId: tree.origin,
      entry: line, checkpoint, inclusion: proof, recipientKey: r.publicKey,
    };
  }

  async function breakGlass(body) {
    const prior = answers.get(body?.requestId);
    if (prior && sameRequest(prior.body, body)) return prior.answer;
    const c = await check(body);
    const { recipientKey, ...stored } = c;
    const released = [...keys.get(c.patientId)];
    used.add(c.requestId);
    // Durable before anything is released: a crash after this line leaves the entry stored and nothing sent.
    await appendDurably(logFile, JSON.stringify({ ...stored, released: released.map((k) => k.kid) }), dir);
    // Replace the patient's key: later intakes are sealed to a key not released to anyone.
    let rotated = true;
    try {
      await newKey(c.patientId);
    } catch (err) {
      rotated = false;
      unreplaced.add(c.patientId);
      console.error(`escrow: the break-glass key of ${c.patientId} was released and could not be replaced: ${err.message}`);
    }
    const payload = new TextEncoder().encode(JSON.stringify({ patientId: c.patientId, requestId: c.requestId, keys: released.map((k) => ({ kid: k.kid, pkcs8: k.pkcs8 })) }));
    const info = releaseInfo(c.patientId, c.requestId);
    const { enc, ciphertext } = await hpkeSeal(recipientKey, payload, { info: new TextEncoder().encode(info) });
    payload.fill(0);
    const answer = { patientId: c.patientId, requestId: c.requestId, info, enc: b64(enc), ciphertext: b64(ciphertext), kids: released.map((k) => k.kid), rotated };
    answers.set(c.requestId, { body, answer });
    return answer;
  }

  // One request at a time: two requests with the same id cannot both pass the check.
  let queue = Promise.resolve();
  const serial = (fn) => {
    const run = queue.then(fn);
    queue = run.catch(() => {});
    return run;
  };
  const body = async (req) => {
    let text = '';
    for await (const chunk of req) {
      text += chunk;
      if (text.length > MAX_BODY) throw fail(413, 'body too large');
    }
    try {
      return JSON.parse(text);
    } catch {
      throw fail(400, 'body is not JSON');
    }
  };
  const routes = {
    'POST /patients': async (req) => {
      const b = await body(req);
      return serial(() => patients(b));
    },
    'POST /break-glass': async (req) => {
      const b = await body(req);
      return serial(() => breakGlass(b));
    },
  };
  const allowed = new Set(origins);
  const server = createServer(async (req, res) => {
    const origin = req.headers.origin;
    if (origin !== undefined && !allowed.has(origin)) {
      res.writeHead(403, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'this page may not call the escrow' }));
      return;
    }
    const cors = origin === undefined ? {} : { 'access-control-allow-origin': origin, 'access-control-allow-headers': 'content-type', vary: 'origin' };
    if (req.method === 'OPTIONS') return res.writeHead(204, cors).end();
    const route = routes[`${req.method} ${new URL(req.url, 'http://x').pathname}`];
    try {
      if (!route) throw fail(404, 'no such API');
      const result = JSON.stringify(await route(req));
      res.writeHead(200, { ...cors, 'content-type': 'application/json', 'cache-control': 'no-store' }).end(result);
    } catch (e) {
      const status = e.status ?? (e.code ? 400 : 500);
      if (status === 500) console.error('escrow:', e);
      res.writeHead(status, { ...cors, 'content-type': 'application/json' }).end(JSON.stringify({ error: e.message }));
    }
  });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}`;
  return {
    url,
    close: () => new Promise((r) => {
      server.close(r);
      server.closeAllConnections?.();
    }),
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const arg = (name, dflt) => {
    const i = process.argv.indexOf(name);
    return i >= 0 ? process.argv[i + 1] : dflt;
  };
  const dir = arg('--dir');
  if (!dir) {
    console.error('usage: escrow.mjs --dir DIR [--origin URL]... [--timeout SECONDS]  (and {desk, credential, root} on stdin)');
    process.exit(2);
  }
  const origins = process.argv.flatMap((a, i) => (a === '--origin' && process.argv[i + 1] ? [process.argv[i + 1]] : []));
  // The first stdin line: what the parent hands over (never on the command line, where `ps` shows it).
  const first = await new Promise((resolve, reject) => {
    let text = '';
    const onData = (d) => {
      text += d;
      const i = text.indexOf('\n');
      if (i >= 0) {
        process.stdin.off('data', onData);
        resolve(text.slice(0, i));
      }
    };
    process.stdin.on('data', onData);
    process.stdin.once('end', () => reject(new Error('no configuration on stdin')));
  });
  const { desk, credential, root } = JSON.parse(first);
  const escrow = await startEscrow({ dir, desk, credential, root, origins });
  console.log(JSON.stringify({ url: escrow.url }));
  const stop = () => escrow.close().then(() => process.exit(0));
  setTimeout(stop, Number(arg('--timeout', 3600)) * 1000).unref();
  process.stdin.on('end', stop);
  process.stdin.on('close', stop);
  process.stdin.resume();
  process.on('SIGTERM', stop);
}
