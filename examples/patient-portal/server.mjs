// The patient portal's server: a key directory (public keys only: the care
// team's HPKE and audit keys, and each patient's author key), sealed intake
// records filed under their patient, and audit lines, stored in SQLite. It
// never holds a private key or a plaintext PHI field: records arrive sealed
// and signed by the patient's browser, and a record in which a schema field is
// still plaintext is refused.
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
import { createHash, createPublicKey } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AuditTree, checkpointLine, init, inspectRecord, parseCheckpoint, verifyAllPhiEncrypted } from '../../js/index.js';
import { SCHEMA, STAFF } from './schema.js';

const MAX_BODY = 1 << 20; // 1 MiB: an intake record is a few KiB

const TABLES = `
  CREATE TABLE IF NOT EXISTS directory (
    kid TEXT PRIMARY KEY, actor TEXT NOT NULL, role TEXT NOT NULL, name TEXT NOT NULL,
    purpose TEXT NOT NULL, jwk TEXT NOT NULL, registered INTEGER NOT NULL);
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

/** RFC 7638 thumbprint of a P-384 public JWK (what phiseal calls kid). */
function thumbprint(jwk) {
  return b64url(createHash('sha256').update(`{"crv":"P-384","kty":"EC","x":"${jwk.x}","y":"${jwk.y}"}`).digest());
}

/** A public P-384 JWK, checked: a private key (`d`) is refused, never stored. */
function publicJwk(value) {
  if (value === null || typeof value !== 'object') throw new HttpError(400, 'jwk must be an object');
  if ('d' in value) throw new HttpError(400, 'that is a private key: the server accepts public keys only');
  if (value.kty !== 'EC' || value.crv !== 'P-384' || typeof value.x !== 'string' || typeof value.y !== 'string') {
    throw new HttpError(400, 'jwk must be a P-384 public key');
  }
  try {
    createPublicKey({ key: { kty: 'EC', crv: 'P-384', x: value.x, y: value.y }, format: 'jwk' });
  } catch {
    throw new HttpError(400, 'jwk is not a valid P-384 point');
  }
  return { kty: 'EC', crv: 'P-384', x: value.x, y: value.y };
}

const KNOWN_ACTORS = new Map(Object.values(STAFF).map((s) => [s.actor, s]));
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
export async function portalApi({ file }) {
  await init();
  const db = await openDatabase(file);
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
      engine: db.engine, file, schema: SCHEMA, staff: STAFF,
      witness: { url: witness.url, name: witness.name, publicKey: witness.publicKey },
    }),

    // Key directory: the public keys of the care team, made in their browsers.
    'GET /api/portal/directory': () =>
      db.all('SELECT kid, actor, role, name, purpose, jwk, registered FROM directory ORDER BY registered').map((r) => ({ ...r, jwk: JSON.parse(r.jwk) })),
    'POST /api/portal/directory': async (req) => {
      const body = await readJson(req);
      const staff = KNOWN_ACTORS.get(body.actor);
      if (!staff) throw new HttpError(400, `unknown actor ${body.actor}`);
      if (body.purpose !== 'hpke' && body.purpose !== 'audit-signer') throw new HttpError(400, 'purpose must be hpke or audit-signer');
      const jwk = publicJwk(body.jwk);
      const kid = thumbprint(jwk);
      db.run('INSERT OR REPLACE INTO directory (kid, actor, role, name, purpose, jwk, registered) VALUES (?, ?, ?, ?, ?, ?, ?)', [
        kid, staff.actor, staff.role, staff.name, body.purpose, JSON.stringify(jwk), Date.now(),
      ]);
      await db.save();
      return { kid };
    },
    // A patient's author key (ECDSA P-384, made and kept in the patient's
    // browser; it signs every record the patient seals), stored with the
    // registration like the other public keys. Staff views take it from here
    // to check the records' signatures. This server is the party the
    // signatures guard against, and it could hand out a key of its own
    // instead: pinning or certifying the patient's key (registration desk,
    // out of band) is issue "certified keys".
    'POST /api/portal/patients': async (req) => {
      const body = await readJson(req);
      if (typeof body.patientId !== 'string' || !PATIENT_ID.test(body.patientId)) throw new HttpError(400, 'patientId must be patient-<uuid>');
      const jwk = publicJwk(body.jwk);
      const kid = thumbprint(jwk);
      const existing = db.all("SELECT kid FROM directory WHERE actor = ? AND purpose = 'author'", [body.patientId]);
      if (existing.some((r) => r.kid !== kid)) throw new HttpError(409, 'this patient id is registered to another author key');
      db.run('INSERT OR REPLACE INTO directory (kid, actor, role, name, purpose, jwk, registered) VALUES (?, ?, ?, ?, ?, ?, ?)', [
        kid, body.patientId, 'patient', 'patient', 'author', JSON.stringify(jwk), Date.now(),
      ]);
      await db.save();
      return { kid, patientId: body.patientId };
    },

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
      const plaintext = verifyAllPhiEncrypted(sealed, SCHEMA);
      if (plaintext.length > 0) throw new HttpError(422, `refused: PHI in plaintext at ${plaintext.join(', ')}`);
      if (!/^[A-Za-z0-9_-]{8,64}$/.test(header.recordId)) throw new HttpError(400, 'recordId must be 8 to 64 url-safe characters');
      const patientId = header.context.patientId;
      const author = db.all("SELECT kid FROM directory WHERE actor = ? AND purpose = 'author'", [patientId ?? '']);
      if (author.length === 0) throw new HttpError(400, 'the record names no registered patient (context.patientId)');
      // A courtesy check (readers verify the signature themselves): the record names its patient's registered key.
      if (!author.some((r) => r.kid === header.author)) throw new HttpError(400, 'the record is not by this patient\'s registered author key');
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

  // `db` (run, all, save) is for tests that play a compromised server editing its own database.
  return {
    handle, engine: db.engine, file, db, witness,
    close: () => {
      witness.stop();
      db.close();
    },
  };
}
