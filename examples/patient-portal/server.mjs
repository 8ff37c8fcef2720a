// The patient portal's server: a transparent key directory (certificates
// only: the care team's encryption keys, each patient's author key and
// each patient's break-glass key (escrow.mjs), each certified by the
// organisation's root at its enrollment desk, org.mjs), the
// care team's certified audit signer keys, sealed intake records (FHIR R4
// Bundles, sealed with the FHIR preset: schema.js) filed under their
// patient, and audit lines, stored in SQLite. It never holds a private
// key of a member, the root key or a plaintext PHI field: records arrive
// sealed and signed by the patient's browser, and a record in which a schema
// field is still plaintext is refused. It plays no part in break-glass
// access: the escrow (escrow.mjs) releases a patient's emergency key to a
// clinician after checking her signed audit entry itself, and this server
// holds nothing it would accept.
//
// Directory: this server runs it (it is the directory's operator, with its
// own directory signing key) and is not trusted with it. Every publication
// (subject -> certificate) is an entry of an append-only Merkle log with
// signed checkpoints (docs/TRUST.md §6); every lookup comes with an
// inclusion proof and a consistency proof from the checkpoint the page kept.
// The pages pin the organisation's root and the directory key (pins.js), so
// a key this server made, a certificate filed under another subject, a
// revoked key and a forked or rolled-back log are each refused in the
// browser before anything is sealed.
//
// This server is the adversary of the threat model: it can serve any record
// under any row. Readers therefore open each record against the row they
// asked for (record id and patient id, bound into the record and signed by
// the patient's author key), so a record moved to another row or patient is
// refused (CONTEXT_MISMATCH), not shown.
//
// Audit logs: the server stores them and is not trusted with them. It relays
// each checkpoint to a witness (witness.mjs, a child process on 127.0.0.1
// that this server does not control), with a consistency proof it computes
// from the stored log, and stores the cosigned checkpoint the witness
// returns; the audit page verifies against signer keys it pinned itself,
// the checkpoint it kept, and the witness's cosignature.
//
// SQLite: Node's built-in `node:sqlite` where the installed Node has it
// (22.5 and later), otherwise `sql.js` (SQLite compiled to WebAssembly, a
// plain npm package: no native build, unlike better-sqlite3, whose install
// compiles SQLite with node-gyp for over a minute on a 2-core machine and
// needs Node's headers). With sql.js the database lives in memory and is
// written to the file after every change.
//
//   import { portalApi } from './patient-portal/server.mjs'
//   const api = await portalApi({ file: 'portal.sqlite' });  // api.handle(req, res) -> true if answered

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  AuditTree, checkpointLine, importPublicKey, init, inspectRecord, KeyDirectory, parseCheckpoint, Trust, verifyAllPhiEncrypted,
} from '../../js/index.js';
import { BREAK_GLASS_ROLE, BREAK_GLASS_SUBJECT, DIRECTORY_ORIGIN, SCHEMA, STAFF } from './schema.js';

const MAX_BODY = 1 << 20; // 1 MiB: an intake record is a few KiB

const TABLES = `
  CREATE TABLE IF NOT EXISTS directory_log (
    idx INTEGER PRIMARY KEY, subject TEXT NOT NULL, certificate TEXT NOT NULL, published INTEGER NOT NULL);
  CREATE TABLE IF NOT EXISTS signers (
    kid TEXT PRIMARY KEY, subject TEXT NOT NULL, certificate TEXT NOT NULL, registered INTEGER NOT NULL);
  CREATE TABLE IF NOT EXISTS records (
    id TEXT PRIMARY KEY, patient_id TEXT NOT NULL DEFAULT '', received INTEGER NOT NULL, sealed TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS audit (
    log TEXT NOT NULL, type TEXT NOT NULL, seq INTEGER NOT NULL, digest TEXT NOT NULL, line TEXT NOT NULL,
    received INTEGER NOT NULL, UNIQUE (log, type, seq, digest));
`;

/** Opens `file` with node:sqlite when present, else sql.js; the same small interface either way. */
export async function openDatabase(file) {
  await mkdir(dirname(file), { recursive: true });
  let sqlite = null;
  try {
    sqlite = await import('node:sqlite');
  } catch {
    // Node before 22.5: no built-in SQLite.
  }
  if (sqlite) {
    const db = new sqlite.DatabaseSync(file);
    db.exec(TABLES);
    migrate(db.prepare('PRAGMA table_info(records)').all().map((c) => c.name), (sql) => db.exec(sql));
    return {
      engine: 'node:sqlite',
      run: (sql, params = []) => db.prepare(sql).run(...params),
      all: (sql, params = []) => db.prepare(sql).all(...params),
      save: async () => {},
      close: () => db.close(),
    };
  }
  const { default: initSqlJs } = await import('sql.js');
  const SQL = await initSqlJs();
  let existing = null;
  try {
    existing = await readFile(file);
  } catch {
    // a new database
  }
  const db = new SQL.Database(existing ?? undefined);
  db.exec(TABLES);
  migrate((db.exec('PRAGMA table_info(records)')[0]?.values ?? []).map((c) => c[1]), (sql) => db.exec(sql));
  let saving = Promise.resolve();
  const store = {
    engine: 'sql.js',
    run: (sql, params = []) => db.run(sql, params),
    all: (sql, params = []) => {
      const stmt = db.prepare(sql);
      try {
        stmt.bind(params);
        const rows = [];
        while (stmt.step()) rows.push(stmt.getAsObject());
        return rows;
      } finally {
        stmt.free();
      }
    },
    /** Writes the database file (atomically: a temporary file, then rename). */
    save: () => {
      saving = saving.then(async () => {
        await writeFile(`${file}.tmp`, db.export());
        await rename(`${file}.tmp`, file);
      });
      return saving;
    },
    close: () => db.close(),
  };
  await store.save();
  return store;
}

/** A database made before records were filed per patient gets the column (`columns`: those of records now). */
function migrate(columns, exec) {
  if (!columns.includes('patient_id')) {
    exec("ALTER TABLE records ADD COLUMN patient_id TEXT NOT NULL DEFAULT ''");
  }
}

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function readJson(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BODY) throw new HttpError(413, 'body too large');
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'body is not JSON');
  }
}

const b64url = (buf) => buf.toString('base64url');

const STAFF_ACTORS = new Set(Object.values(STAFF).map((s) => s.actor));
/** Patient ids are made by the patient's browser: opaque, never PHI. */
const PATIENT_ID = /^patient-[0-9a-f-]{36}$/;

/** Starts witness.mjs as a child process (it stops with this process: its stdin closes). */
async function startWitnessProcess() {
  const child = spawn(process.execPath, [fileURLToPath(new URL('./witness.mjs', import.meta.url))], { stdio: ['pipe', 'pipe', 'inherit'] });
  const first = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(out.split('\n')[0]);
    });
    child.once('exit', (code) => reject(new Error(`the witness exited (${code})`)));
  });
  return { ...JSON.parse(first), stop: () => child.kill() };
}

/**
 * The portal API on `file` (a SQLite database). `handle(req, res)` answers
 * requests under /api/portal/ and resolves to true for those.
 */
export async function portalApi({ file, orgRoot, directoryKey, desk }) {
  await init();
  const db = await openDatabase(file);
  // The server reads certificates with the root's public key (a courtesy check: the pages verify them themselves).
  const certs = new Trust({ roots: [importPublicKey(orgRoot)], requireRevocations: false });
  const certified = async (certificate, purpose) => {
    try {
      return await certs.certify(certificate, { purpose });
    } catch (e) {
      throw new HttpError(400, `certificate refused: ${e.code} ${e.message}`);
    }
  };
  /** The directory log, rebuilt from its table (so a test playing this server can rewrite the table). */
  let directory;
  const rebuild = () => {
    directory = new KeyDirectory({ origin: DIRECTORY_ORIGIN, signingKey: directoryKey });
    for (const r of db.all('SELECT subject, certificate FROM directory_log ORDER BY idx')) directory.publish(r.subject, r.certificate);
  };
  rebuild();
  const newest = (subject) => db.all('SELECT idx, certificate FROM directory_log WHERE subject = ? ORDER BY idx DESC LIMIT 1', [subject])[0];
  async function publish(subject, certificate) {
    const index = directory.publish(subject, certificate);
    db.run('INSERT INTO directory_log (idx, subject, certificate, published) VALUES (?, ?, ?, ?)', [index, subject, certificate, Date.now()]);
    await db.save();
    return index;
  }
  const witness = await startWitnessProcess();
  const witnessCall = async (path, body) => {
    const res = await fetch(`${witness.url}${path}`, body === undefined ? {} : { method: 'POST', body: JSON.stringify(body) });
    return { ok: res.ok, json: await res.json() };
  };
  /** Relays a checkpoint note to the witness with a consistency proof from what it cosigned last; stores the cosigned note. */
  async function cosign(note) {
    const { origin, size } = parseCheckpoint(note);
    const last = (await witnessCall(`/last?origin=${encodeURIComponent(origin)}`)).json;
    const lines = db.all('SELECT line FROM audit WHERE log = ? ORDER BY rowid', [origin]).map((r) => r.line);
    const proof = last && last.size < size ? AuditTree.fromLog(`${lines.join('\n')}\n`).consistencyProof(last.size, size) : [];
    const r = await witnessCall('/cosign', { note, proof });
    if (!r.ok) {
      console.error(`portal: the witness refused the checkpoint of ${origin} at ${size}: ${r.json.code} ${r.json.error}`);
      return;
    }
    store(checkpointLine(note + r.json.cosignature));
  }
  /** Stores one audit line (deduplicated by log, type, seq or tree size, and digest); returns 1 if new. */
  function store(line) {
    let parsed;
    try {
      parsed = JSON.parse(line);
    } catch {
      throw new HttpError(400, 'an audit line is not JSON');
    }
    let log = parsed.log;
    let seq = parsed.seq;
    if (parsed.type === 'checkpoint' && typeof parsed.note === 'string') {
      try {
        ({ origin: log, size: seq } = parseCheckpoint(parsed.note));
      } catch {
        throw new HttpError(400, 'a checkpoint line does not hold a checkpoint note');
      }
    }
    if (typeof log !== 'string' || !Number.isSafeInteger(seq)) throw new HttpError(400, 'an audit line has no log or seq');
    const digest = b64url(createHash('sha256').update(line).digest());
    const before = db.all('SELECT count(*) AS n FROM audit')[0].n;
    db.run('INSERT OR IGNORE INTO audit (log, type, seq, digest, line, received) VALUES (?, ?, ?, ?, ?, ?)', [
      log, String(parsed.type), seq, digest, line, Date.now(),
    ]);
    return db.all('SELECT count(*) AS n FROM audit')[0].n - before;
  }

  const routes = {
    // The witness's address and key, for convenience: the audit page pins the key the first time (see audit.html).
    'GET /api/portal/info': () => ({
      engine: db.engine, file, schema: SCHEMA, staff: STAFF, desk,
      witness: { url: witness.url, name: witness.name, publicKey: witness.publicKey },
    }),

    // The transparent directory: publish a certificate (a care-team member's encryption key, a patient's
    // author key), look a subject up with proofs, or read the whole log (the subjects' monitors).
    'POST /api/portal/directory': async (req) => {
      const { certificate } = await readJson(req);
      if (typeof certificate !== 'string') throw new HttpError(400, 'certificate must be a string');
      let c;
      try {
        c = await certs.certify(certificate, { purpose: 'encrypt' });
      } catch (e) {
        if (e.code !== 'WRONG_PURPOSE') throw new HttpError(400, `certificate refused: ${e.code} ${e.message}`);
        c = await certified(certificate, 'sign');
        if (!PATIENT_ID.test(c.subject)) throw new HttpError(400, "signing keys in this directory are patients' author keys");
      }
      const breakGlass = BREAK_GLASS_SUBJECT.test(c.subject) && c.role === BREAK_GLASS_ROLE;
      if (c.purposes.includes('encrypt') && !STAFF_ACTORS.has(c.subject) && !breakGlass) {
        throw new HttpError(400, "encryption keys in this directory are the staff's and the patients' break-glass keys");
      }
      const current = newest(c.subject);
      if (current?.certificate === certificate) return { subject: c.subject, index: current.idx };
      return { subject: c.subject, index: await publish(c.subject, certificate) };
    },
    'GET /api/portal/directory/lookup': (req) => {
      const q = new URL(req.url, 'http://x').searchParams;
      const subject = q.get('subject') ?? '';
      if (!newest(subject)) throw new HttpError(404, `no key is published for ${subject}`);
      const kept = q.get('kept');
      return directory.lookup(subject, { keptSize: kept ? Number(kept) : undefined });
    },
    // With `kept` (the size of the checkpoint a monitor's browser kept): a consistency proof from it to this checkpoint.
    'GET /api/portal/directory/log': (req) => {
      const kept = Number(new URL(req.url, 'http://x').searchParams.get('kept') || NaN);
      const entries = directory.entries();
      const consistency = Number.isSafeInteger(kept) && kept > 0 && kept <= entries.length ? directory.consistency(kept, entries.length) : [];
      return { checkpoint: directory.checkpoint(), entries, consistency };
    },

    // The care team's audit signer keys (certified, purpose sign; one per staff member and browser): the audit page
    // trusts those of them its pinned root certified, not this list.
    'POST /api/portal/signers': async (req) => {
      const { certificate } = await readJson(req);
      if (typeof certificate !== 'string') throw new HttpError(400, 'certificate must be a string');
      const c = await certified(certificate, 'sign');
      if (!STAFF_ACTORS.has(c.subject)) throw new HttpError(400, 'audit signers are care-team members');
      db.run('INSERT OR REPLACE INTO signers (kid, subject, certificate, registered) VALUES (?, ?, ?, ?)', [c.kid, c.subject, certificate, Date.now()]);
      await db.save();
      return { kid: c.kid };
    },
    'GET /api/portal/signers': () => db.all('SELECT certificate FROM signers ORDER BY registered').map((r) => r.certificate),

    // Sealed intake records, filed under the patient named in their (signed) context.
    'POST /api/portal/records': async (req) => {
      const sealed = await readJson(req);
      let header;
      try {
        header = inspectRecord(sealed);
      } catch (e) {
        throw new HttpError(400, e.message);
      }
      if (header.schemaId !== SCHEMA.id) throw new HttpError(400, `schema ${header.schemaId} is not ${SCHEMA.id}`);
      if (sealed.resourceType !== 'Bundle' || sealed.type !== 'collection') throw new HttpError(400, 'an intake is a FHIR Bundle of type collection');
      const plaintext = verifyAllPhiEncrypted(sealed, SCHEMA);
      if (plaintext.length > 0) throw new HttpError(422, `refused: PHI in plaintext at ${plaintext.join(', ')}`);
      if (!/^[A-Za-z0-9_-]{8,64}$/.test(header.recordId)) throw new HttpError(400, 'recordId must be 8 to 64 url-safe characters');
      const patientId = header.context.patientId;
      const author = typeof patientId === 'string' ? newest(patientId) : undefined;
      if (!author) throw new HttpError(400, 'the record names no patient with a published author key (context.patientId)');
      // A courtesy check (readers verify the signature themselves): the record names its patient's published key.
      if ((await certified(author.certificate, 'sign')).kid !== header.author) throw new HttpError(400, 'the record is not by this patient\'s published author key');
      if (db.all('SELECT id FROM records WHERE id = ?', [header.recordId]).length) throw new HttpError(409, 'a record with this id exists');
      db.run('INSERT INTO records (id, patient_id, received, sealed) VALUES (?, ?, ?, ?)', [header.recordId, patientId, Date.now(), JSON.stringify(sealed)]);
      await db.save();
      return { id: header.recordId, patientId };
    },
    'GET /api/portal/records': () =>
      db.all('SELECT id, patient_id, received, sealed FROM records ORDER BY received').map((r) => ({
        id: r.id, patientId: r.patient_id, received: r.received, sealed: JSON.parse(r.sealed),
      })),

    // Audit lines, delivered at least once by each browser's AuditQueue; deduplicated here.
    'POST /api/portal/audit': async (req) => {
      const body = await readJson(req);
      if (!Array.isArray(body.lines) || body.lines.some((l) => typeof l !== 'string')) throw new HttpError(400, 'lines must be strings');
      let added = 0;
      const notes = [];
      for (const line of body.lines) {
        const n = store(line);
        added += n;
        const parsed = JSON.parse(line);
        if (n && parsed.type === 'checkpoint' && typeof parsed.note === 'string') notes.push(parsed.note);
      }
      // After the whole batch is stored (a checkpoint covers entries sent with it): one witness call per new checkpoint.
      for (const note of notes) await cosign(note);
      await db.save();
      return { received: body.lines.length, added };
    },
    'GET /api/portal/audit': () => {
      const logs = {};
      for (const r of db.all('SELECT log, line FROM audit ORDER BY rowid')) (logs[r.log] ??= []).push(r.line);
      return Object.fromEntries(Object.entries(logs).map(([log, lines]) => [log, `${lines.join('\n')}\n`]));
    },
  };

  async function handle(req, res) {
    const path = new URL(req.url, 'http://x').pathname;
    if (!path.startsWith('/api/portal/')) return false;
    const route = routes[`${req.method} ${path}`];
    try {
      if (!route) throw new HttpError(404, 'no such API');
      const body = JSON.stringify(await route(req));
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(body);
    } catch (e) {
      const status = e instanceof HttpError ? e.status : 500;
      if (status === 500) console.error('portal API:', e);
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: e.message }));
    }
    return true;
  }

  // `db` (run, all, save) is for tests that play a compromised server editing its own database;
  // `directory.rebuild()` makes the server serve what its directory_log table then holds.
  return {
    handle, engine: db.engine, file, db, witness,
    directory: { rebuild, publish, lookup: (subject) => directory.lookup(subject) },
    close: () => {
      witness.stop();
      db.close();
    },
  };
}
