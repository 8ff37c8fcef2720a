// One local server for both example apps (what `make demo` runs): the
// repository's static files, the patient portal's API (SQLite), and the
// telehealth signaling WebSocket; and, as child processes the portal's
// server does not control, the organisation's enrollment desk (org.mjs,
// the root key) and its break-glass escrow (escrow.mjs, the patients'
// emergency keys). 127.0.0.1 only; it stops by itself after --timeout
// seconds (default one hour).
//
//   node examples/server.mjs [--port 8417] [--timeout 3600] [--data DIR]
//   import { startExamples } from './examples/server.mjs'   (tests: random port, temporary data)

import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { chmod, mkdir, readFile, realpath, writeFile } from 'node:fs/promises';
import { join, normalize, posix, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { init, SigningKey } from '../js/index.js';
import { serve, ROOT } from '../tests/support/serve.mjs';
import { DIRECTORY_ORIGIN, STAFF } from './patient-portal/schema.js';
import { portalApi } from './patient-portal/server.mjs';
import { signaling } from './telehealth/server.mjs';

export const DEFAULT_DATA = join(ROOT, 'examples', '.data');

/** A P-384 signing key kept in `file` (a private JWK, mode 0600), made on the first run. */
async function keyFile(file) {
  let jwk;
  try {
    jwk = JSON.parse(await readFile(file, 'utf8'));
  } catch {
    jwk = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({ format: 'jwk' });
    await writeFile(file, JSON.stringify(jwk), { mode: 0o600 });
    await chmod(file, 0o600);
  }
  await init();
  return SigningKey.fromJwk(jwk);
}

/**
 * Starts the organisation's enrollment desk (patient-portal/org.mjs) as a child process holding the root key,
 * callable from the pages of `origins`. Resolves to its startup line {url, root, admin, staff} and `stop`: the
 * administrator's secret and the staff credentials stay here (this launcher stands in for the administrator's
 * console and the staff's SSO); the portal's storage server never receives them.
 */
async function startDesk(dir, origins) {
  const args = [fileURLToPath(new URL('./patient-portal/org.mjs', import.meta.url)), '--dir', dir, ...origins.flatMap((o) => ['--origin', o])];
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const first = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(out.split('\n')[0]);
    });
    child.once('exit', (code) => reject(new Error(`the enrollment desk exited (${code})`)));
  });
  return { ...JSON.parse(first), stop: () => child.kill() };
}

/**
 * Starts the break-glass escrow (patient-portal/escrow.mjs) as a child process keeping its emergency keys in `dir`,
 * callable from the pages of `origins`. It gets the desk's address, its desk credential and the pinned root on its
 * stdin (not its command line). Resolves to {url, stop}.
 */
async function startEscrowProcess(dir, desk, origins) {
  const args = [fileURLToPath(new URL('./patient-portal/escrow.mjs', import.meta.url)), '--dir', dir, ...origins.flatMap((o) => ['--origin', o])];
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  child.stdin.write(`${JSON.stringify({ desk: desk.url, credential: desk.escrow, root: desk.root })}\n`);
  const first = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(out.split('\n')[0]);
    });
    child.once('exit', (code) => reject(new Error(`the break-glass escrow exited (${code})`)));
  });
  return { ...JSON.parse(first), dir, stop: () => child.kill() };
}

/**
 * Whether the file a request path would be served from must not be: a path with a backslash or a NUL (a separator
 * or a terminator on some systems), a dot segment (`.data`, `.git`, any casing), or a file whose real path (links
 * resolved) lies in `dataDir` (compared without case: on a case-insensitive file system `.DATA` is `.data`).
 */
async function refused(pathname, dataDir) {
  let path;
  try {
    path = decodeURIComponent(pathname);
  } catch {
    return true; // undecodable
  }
  if (/[\\\0]/.test(path)) return true;
  if (posix.normalize(path).split('/').some((segment) => segment.startsWith('.'))) return true;
  let real;
  try {
    real = await realpath(normalize(join(ROOT, path)));
  } catch {
    return false; // no such file: the static server answers 404
  }
  const data = await realpath(dataDir).catch(() => dataDir);
  const inside = (dir) => real.toLowerCase() === dir.toLowerCase() || real.toLowerCase().startsWith(`${dir}${sep}`.toLowerCase());
  if (inside(data)) return true;
  // Nor a link into a dot folder (of the repository, or anywhere: ~/.ssh).
  const root = (await realpath(ROOT)).replace(/[\\/]+$/, '');
  const rest = inside(root) ? real.slice(root.length) : real;
  return rest.split(sep).some((segment) => segment.startsWith('.'));
}

/** Starts the example server; resolves to {url, close, portal, dbFile, desk, escrow, signIn, orgDir}. */
export async function startExamples({ port = 0, dataDir = DEFAULT_DATA } = {}) {
  const dbFile = join(dataDir, 'portal.sqlite');
  await mkdir(dataDir, { recursive: true });
  let portal = null;
  let pins = null;
  const handle = async (req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    // The data folder (databases, the root and directory keys) and every dot folder are never served.
    if (await refused(path, dataDir)) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return true;
    }
    if (!portal) {
      res.writeHead(503, { 'content-type': 'text/plain' }).end('starting');
      return true;
    }
    if (path === '/examples/patient-portal/pins.js') {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store' }).end(pins);
      return true;
    }
    return portal.handle(req, res);
  };
  // The HTTP server first: the desk answers the pages of its origin only.
  const http = await serve({ port, handle });
  const origins = [http.url, http.url.replace('//127.0.0.1:', '//localhost:')];
  // The organisation's root lives with its desk (made on the first run); the portal's server gets only its public key.
  const orgDir = join(dataDir, 'org');
  const desk = await startDesk(orgDir, origins);
  // The break-glass escrow: its own process and folder; the desk certifies its keys for its credential only.
  const escrow = await startEscrowProcess(join(dataDir, 'escrow'), desk, origins);
  // The directory's signing key belongs to its operator, the portal's server (untrusted: pages pin its public key
  // and check every lookup against the checkpoint they kept).
  const directoryKey = await keyFile(join(dataDir, 'directory.key.jwk'));
  // What the portal's pages pin, as a module (in a real deployment: written into the app when it is built, and
  // served with its code, never by the storage server's API).
  pins = `// Pinned by the app (generated by examples/server.mjs from ${orgDir}/root.pub.jwk).
export const PINS = ${JSON.stringify({ orgRoot: desk.root, directory: { origin: DIRECTORY_ORIGIN, key: directoryKey.publicKey.toJwk() }, desk: desk.url, escrow: escrow.url }, null, 2)};
`;
  portal = await portalApi({ file: dbFile, orgRoot: desk.root, directoryKey, desk: desk.url });
  const sig = signaling(http.server);
  /** Each staff member's sign-in link: the credential rides in the fragment, which the browser does not send to the server. */
  const signIn = Object.fromEntries(Object.entries(STAFF).map(([page, s]) => [s.actor, `${http.url}/examples/patient-portal/${page}.html#credential=${desk.staff[s.actor]}`]));
  return {
    url: http.url,
    dbFile,
    portal,
    desk,
    escrow,
    signIn,
    orgDir,
    server: http.server,
    close: async () => {
      sig.close();
      http.server.closeAllConnections?.();
      await http.close();
      portal.close();
      escrow.stop();
      desk.stop();
    },
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const arg = (name, dflt) => {
    const i = process.argv.indexOf(name);
    return i >= 0 ? process.argv[i + 1] : dflt;
  };
  const timeout = Number(arg('--timeout', 3600));
  const ex = await startExamples({ port: Number(arg('--port', 8417)), dataDir: arg('--data', DEFAULT_DATA) });
  console.log(`phiseal examples on ${ex.url}  (127.0.0.1 only; stops by itself after ${timeout} s; Ctrl-C to stop now)
  start here:      ${ex.url}/examples/
  patient portal:  ${ex.url}/examples/patient-portal/
  telehealth:      ${ex.url}/examples/telehealth/
  HPKE playground: ${ex.url}/examples/hpke.html
  portal database: ${ex.dbFile} (${ex.portal.engine}; it holds only ciphertext)
  organisation:    root key in ${ex.orgDir} (kept by the enrollment desk, ${ex.desk.url}; its public key is pinned in pins.js)
  break-glass:     patients' emergency keys in ${ex.escrow.dir} (kept by the escrow, ${ex.escrow.url}; released only after a signed audit entry)
  staff sign-in (stands in for the organisation's SSO; new links on every start, open each once in its browser):
${Object.entries(ex.signIn).map(([actor, link]) => `    ${actor.padEnd(14)} ${link}`).join('\n')}`);
  const stop = () => ex.close().then(() => process.exit(0));
  setTimeout(stop, timeout * 1000).unref();
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
