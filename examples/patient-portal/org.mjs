// The organisation's enrollment desk for the patient portal (docs/TRUST.md):
// a separate process on 127.0.0.1 that holds the organisation's root key
// (ECDSA P-384) and certifies member keys with it. The portal's storage
// server never holds the root key and cannot make certificates; the pages
// pin the root's public key (pins.js, written by examples/server.mjs when
// the root is created) and refuse every key it did not certify.
//
//   node examples/patient-portal/org.mjs --dir DIR [--origin URL]... [--timeout 3600]
//     DIR/root.key.jwk (the root's private key, mode 0600, made on the first
//     run), DIR/root.pub.jwk (pin this), DIR/issued.jsonl, DIR/revoked.json;
//     prints one JSON line {url, root, admin, escrow, staff: {actor: credential}}
//     (to its parent only: the credentials are new random values on every
//     start) and serves, to the pages of the --origin URLs only (CORS):
//     GET  /root                                 {root: jwk}
//     POST /enroll {subject, purpose, jwk}       {certificate} (policy below)
//     GET  /revocations                          the current revocation list (valid 1 hour)
//     POST /revoke {serial}                      revokes; `authorization: Bearer ADMIN`
//     GET  /issued                               what it issued, with "revoked"
//
// Enrollment policy, stated plainly (it stands in for the identity proofing
// a real organisation does: the registration desk checks a patient's ID,
// staff sign in through the organisation's SSO): the desk certifies the
// encryption key of each care-team member of schema.js STAFF for the access
// groups of that role (ROLE_GROUPS), an audit signer key of a care-team
// member for one day, a patient's author key for its patient id, and a
// patient's break-glass key (subject `break-glass:<patientId>`, role
// `break-glass`, every group of the schema) for the break-glass escrow
// (escrow.mjs) only. A subject's encryption or author key is certified
// once: another key for the same subject is refused until the
// administrator revokes the first (a lost device). A break-glass key is
// the exception: the escrow replaces it after each release (the new one is
// certified, the one it released is revoked here at once). The same key
// enrolled again gets its certificate again (a new one if its role's groups
// changed meanwhile).
//
// Who may ask. A staff key (encrypt or sign) is certified only for a
// request carrying `authorization: Bearer CREDENTIAL`, the credential this
// desk made for that staff member at start (401 without one, 403 with
// another); a break-glass key needs the escrow's credential (made here at
// start too, handed by the launcher to the escrow process only); /revoke
// needs the administrator's secret. They stand in for the
// staff member's SSO session and the administrator's console: the desk
// hands them to its parent (the demo launcher, which prints each staff
// member's sign-in link in its console, and the tests), never to the
// portal's storage server, which therefore cannot have its own key
// certified for Dr. Lee (to have patients seal to it) or as a care-team
// audit signer (to forge audit logs), nor revoke a genuine key to make room
// for one of its own, nor have a break-glass key of its own certified for
// a patient (which every intake would then be sealed to). A staff page keeps its credential in localStorage: a
// script running in that page can use it, as it could use an SSO session
// (the desk still certifies one encryption key per member). Patients'
// author keys need no credential here (a real desk proofs the patient's
// identity first): each is for a new random patient id, certified once.
//
// It stops by itself after --timeout seconds, or when its parent closes its
// stdin. This is the demo's stand-in for `phiseal org` (the CLI of the
// native binary, docs/TRUST.md §5), which does the same on the
// administrator's machine.

import { createHash, generateKeyPairSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { appendFile, chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { init, importPublicKey, issueCertificate, issueRevocations, SigningKey, Trust } from '../../js/index.js';
import { ALL_GROUPS, BREAK_GLASS_ROLE, BREAK_GLASS_SUBJECT, ROLE_GROUPS, STAFF } from './schema.js';

const MAX_BODY = 1 << 16;
const DAY = 86_400_000;
const PATIENT_ID = /^patient-[0-9a-f-]{36}$/;
const STAFF_BY_ACTOR = new Map(Object.values(STAFF).map((s) => [s.actor, s]));

const fail = (status, message) => Object.assign(new Error(message), { status });

/** A new random bearer secret (256 bits, base64url). */
const secret = () => randomBytes(32).toString('base64url');

/** Refuses a request whose bearer token is not `expected` (compared in constant time): 401 without a token, 403 with another. */
function requireBearer(req, expected, who) {
  const m = /^Bearer ([A-Za-z0-9_-]{1,256})$/.exec(req.headers.authorization ?? '');
  if (!m) throw Object.assign(fail(401, `${who}: this needs a credential (authorization: Bearer …)`), { headers: { 'www-authenticate': 'Bearer' } });
  const digest = (s) => createHash('sha256').update(s).digest();
  if (!timingSafeEqual(digest(m[1]), digest(expected))) throw fail(403, `${who}: this credential does not allow it`);
}

/** The root key of DIR, made on the first run (the private JWK file is 0600). */
export async function orgRoot(dir) {
  await mkdir(dir, { recursive: true });
  const file = join(dir, 'root.key.jwk');
  let jwk;
  try {
    jwk = JSON.parse(await readFile(file, 'utf8'));
  } catch {
    jwk = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({ format: 'jwk' });
    await writeFile(file, JSON.stringify(jwk), { mode: 0o600 });
    await chmod(file, 0o600);
  }
  await init();
  const root = SigningKey.fromJwk(jwk);
  await writeFile(join(dir, 'root.pub.jwk'), JSON.stringify(root.publicKey.toJwk()));
  return root;
}

/**
 * Starts the desk on 127.0.0.1. `origins`: the pages allowed to call it
 * (CORS; a request from any other page is refused). Resolves to
 * {url, root, admin, escrow, staff, close}: `admin` the administrator's
 * secret, `escrow` the break-glass escrow's, `staff` each staff member's
 * credential (actor -> secret), all new on every start.
 */
export async function startOrgDesk({ dir, port = 0, origins = [] }) {
  const root = await orgRoot(dir);
  const admin = secret();
  const escrow = secret();
  const staffCredentials = Object.fromEntries([...STAFF_BY_ACTOR.keys()].map((actor) => [actor, secret()]));
  const issuedFile = join(dir, 'issued.jsonl');
  const revokedFile = join(dir, 'revoked.json');
  const issued = (await readFile(issuedFile, 'utf8').catch(() => '')).split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const revoked = new Set(JSON.parse(await readFile(revokedFile, 'utf8').catch(() => '[]')));
  const trust = new Trust({ roots: [root.publicKey], requireRevocations: false });
  const live = (e, now) => !revoked.has(e.serial) && e.notAfter > now;

  async function enroll(req, { subject, purpose, jwk }) {
    if (typeof subject !== 'string' || typeof purpose !== 'string') throw fail(400, 'subject and purpose must be strings');
    const staff = STAFF_BY_ACTOR.get(subject);
    // A staff member's key only with that staff member's credential (before anything else is looked at).
    if (staff) requireBearer(req, staffCredentials[subject], `enrolling a key for ${subject}`);
    const breakGlass = BREAK_GLASS_SUBJECT.test(subject);
    if (breakGlass) requireBearer(req, escrow, `enrolling a break-glass key for ${subject.slice('break-glass:'.length)}`);
    let publicKey;
    try {
      publicKey = importPublicKey(jwk); // a P-384 public key only: a private JWK is refused
    } catch (e) {
      throw fail(400, `jwk: ${e.message}`);
    }
    if (jwk.d !== undefined) throw fail(400, 'that is a private key: the desk certifies public keys only');
    let claims;
    let once = true;
    let replaces = false;
    const now = Date.now();
    if (breakGlass && purpose === 'encrypt') {
      // Every group: the escrow can open every record sealed to it, and releases it only after the audit entry (escrow.mjs).
      claims = { subject, name: 'break-glass escrow', role: BREAK_GLASS_ROLE, groups: ALL_GROUPS, purposes: ['encrypt'], notBefore: now - 60_000, notAfter: now + 365 * DAY };
      replaces = true;
      once = false;
    } else if (staff && purpose === 'encrypt') {
      claims = { subject, name: staff.name, role: staff.role, groups: ROLE_GROUPS[staff.role], purposes: ['encrypt'], notBefore: now - 60_000, notAfter: now + 30 * DAY };
    } else if (staff && purpose === 'sign') {
      // Audit signer keys (non-extractable, kept in each staff member's KeyStore; a new one per browser): short-lived, any number.
      claims = { subject, name: staff.name, role: staff.role, groups: [], purposes: ['sign'], notBefore: now - 60_000, notAfter: now + DAY };
      once = false;
    } else if (PATIENT_ID.test(subject) && purpose === 'sign') {
      // Not the patient's name: certificates sit in the (server-run) directory.
      claims = { subject, name: 'patient', role: 'patient', groups: [], purposes: ['sign'], notBefore: now - 60_000, notAfter: now + 365 * DAY };
    } else {
      throw fail(403, `the desk does not certify ${purpose} keys for ${subject}`);
    }
    if (issued.some((e) => e.kid === publicKey.kid && revoked.has(e.serial))) throw fail(409, 'this key was revoked: make a new one');
    // The same key again: its certificate again, unless the role's groups changed since (a new one, for the same key).
    const groups = JSON.stringify(claims.groups);
    const same = issued.find((e) => e.subject === subject && e.purpose === purpose && e.kid === publicKey.kid && live(e, now + DAY) && JSON.stringify(e.groups) === groups);
    if (same) return { certificate: same.certificate };
    if (once && issued.some((e) => e.subject === subject && e.purpose === purpose && e.kid !== publicKey.kid && live(e, now))) {
      throw fail(409, `${subject} already has a certified ${purpose} key: the administrator revokes it first (a lost device)`);
    }
    const certificate = issueCertificate({ ...claims, publicKey }, root);
    const c = await trust.certify(certificate, { purpose });
    const entry = { subject, purpose, kid: c.kid, serial: c.serial, notAfter: c.notAfter, groups: claims.groups, certificate };
    // A new break-glass key replaces the patient's earlier ones: revoked now, so no browser seals to a released key again.
    const replaced = replaces ? issued.filter((e) => e.subject === subject && e.purpose === purpose && live(e, now)).map((e) => e.serial) : [];
    issued.push(entry);
    await appendFile(issuedFile, `${JSON.stringify(entry)}\n`);
    if (replaced.length) {
      for (const serial of replaced) revoked.add(serial);
      await writeFile(revokedFile, JSON.stringify([...revoked]));
    }
    return { certificate, revoked: replaced };
  }

  async function revoke({ serial }) {
    if (!issued.some((e) => e.serial === serial)) throw fail(404, 'no certificate with this serial was issued here');
    revoked.add(serial);
    await writeFile(revokedFile, JSON.stringify([...revoked]));
    return { revoked: [...revoked] };
  }

  /**
   * The current list, valid for one hour (the revocation window of this
   * demo): made again after a revocation or when half its hour has passed.
   * Each list's iat is a later second than the one before (clients refuse
   * an older list, and another list of the same second).
   */
  let current = null;
  async function revocations() {
    const now = Date.now();
    if (current && current.count === revoked.size && now - current.iat < 1_800_000) return { revocations: current.text };
    let iat = now;
    if (current && Math.floor(iat / 1000) <= Math.floor(current.iat / 1000)) {
      await new Promise((r) => setTimeout(r, 1000 - (iat % 1000) + 5));
      iat = Date.now();
    }
    const text = issueRevocations([...revoked], root, { issuedAt: iat, expires: iat + 3_600_000 });
    current = { text, iat, count: revoked.size };
    return { revocations: text };
  }

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
    'GET /root': () => ({ root: root.publicKey.toJwk() }),
    'POST /enroll': async (req) => enroll(req, await body(req)),
    'GET /revocations': () => revocations(),
    'POST /revoke': async (req) => {
      requireBearer(req, admin, 'revoking'); // before the body is read
      return revoke(await body(req));
    },
    'GET /issued': () => issued.map(({ certificate, ...e }) => ({ ...e, revoked: revoked.has(e.serial) })),
  };
  const allowed = new Set(origins);
  const server = createServer(async (req, res) => {
    // CORS for the portal's pages only; a request another page sends (a browser names its origin) is refused.
    // Programs without a browser (the launcher, the tests, the storage server) send no Origin: the credentials above
    // are what keeps them from certifying staff keys or revoking.
    const origin = req.headers.origin;
    if (origin !== undefined && !allowed.has(origin)) {
      res.writeHead(403, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'this page may not call the enrollment desk', code: null }));
      return;
    }
    const cors = origin === undefined ? {} : {
      'access-control-allow-origin': origin, 'access-control-allow-headers': 'content-type, authorization', vary: 'origin',
    };
    if (req.method === 'OPTIONS') return res.writeHead(204, cors).end();
    const route = routes[`${req.method} ${new URL(req.url, 'http://x').pathname}`];
    try {
      if (!route) throw fail(404, 'no such API');
      const result = JSON.stringify(await route(req));
      res.writeHead(200, { ...cors, 'content-type': 'application/json', 'cache-control': 'no-store' }).end(result);
    } catch (e) {
      res.writeHead(e.status ?? 400, { ...cors, ...e.headers, 'content-type': 'application/json' }).end(JSON.stringify({ error: e.message, code: e.code ?? null }));
    }
  });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}`;
  return { url, root: root.publicKey.toJwk(), admin, escrow, staff: staffCredentials, close: () => new Promise((r) => server.close(r)) };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const arg = (name, dflt) => {
    const i = process.argv.indexOf(name);
    return i >= 0 ? process.argv[i + 1] : dflt;
  };
  const dir = arg('--dir');
  if (!dir) {
    console.error('usage: org.mjs --dir DIR [--origin URL]... [--timeout SECONDS]');
    process.exit(2);
  }
  const origins = process.argv.flatMap((a, i) => (a === '--origin' && process.argv[i + 1] ? [process.argv[i + 1]] : []));
  const desk = await startOrgDesk({ dir, origins });
  console.log(JSON.stringify({ url: desk.url, root: desk.root, admin: desk.admin, escrow: desk.escrow, staff: desk.staff }));
  const stop = () => desk.close().then(() => process.exit(0));
  setTimeout(stop, Number(arg('--timeout', 3600)) * 1000).unref();
  process.stdin.on('end', stop);
  process.stdin.on('close', stop);
  process.stdin.resume();
  process.on('SIGTERM', stop);
}
