// The capability matrix of the npm package (the `npm pack` tarball,
// installed into a fresh app) in the other browser engines: Firefox (Debian's
// firefox-esr through geckodriver) and WebKit (Debian's WebKitGTK through
// WebKitWebDriver), driven with plain W3C WebDriver over HTTP (playwright-core
// cannot drive these builds). Loads tests/engines/smoke.html, prints one line
// per engine and capability, and fails on any FAIL (UNSUPPORTED is an honest
// answer; docs/BROWSERS.md publishes the matrix). Chromium runs everything
// else in make test. An engine whose driver is not installed fails the run.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { importMap, installInto, pack } from '../support/package.mjs';
import { serve } from '../support/serve.mjs';

const GECKODRIVER = process.env.GECKODRIVER ?? join(process.env.CARGO_HOME ?? join(homedir(), '.cargo'), 'bin/geckodriver');
const FIREFOX = process.env.FIREFOX ?? '/usr/bin/firefox-esr';
const WEBKITDRIVER = process.env.WEBKITDRIVER ?? '/usr/bin/WebKitWebDriver';
const MINIBROWSER = ['/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser', '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.0/MiniBrowser'].find(existsSync);

/** Process groups of the drivers started, killed on a time-out. */
const drivers = new Set();

// Only these may answer UNSUPPORTED in an engine (and must say so rather than
// fail): everything else is core and must work everywhere.
const MAY_BE_UNSUPPORTED = ['media: WebRTC frame transform', 'watermark: burned into a track'];

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

async function wd(base, method, path, body) {
  const r = await fetch(`${base}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const j = await r.json();
  if (!r.ok) throw new Error(`${method} ${path}: ${j.value?.error ?? r.status} ${j.value?.message ?? ''}`.trim());
  return j.value;
}

async function runEngine(name, driverArgs, capabilities, pageUrl) {
  const port = await freePort();
  const [cmd, ...args] = driverArgs(port);
  const driver = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], env: process.env, detached: true });
  drivers.add(driver.pid);
  let stderr = '';
  driver.stderr.on('data', (d) => (stderr += d));
  const base = `http://127.0.0.1:${port}`;
  let session = null;
  try {
    for (let i = 0; ; i++) {
      try {
        await wd(base, 'GET', '/status');
        break;
      } catch (e) {
        if (i > 100) throw new Error(`${name} driver did not start: ${e.message} ${stderr.slice(-500)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    session = (await wd(base, 'POST', '/session', { capabilities: { alwaysMatch: capabilities } })).sessionId;
    const s = `/session/${session}`;
    await wd(base, 'POST', `${s}/timeouts`, { script: 120_000, pageLoad: 60_000 });
    await wd(base, 'POST', `${s}/url`, { url: pageUrl });
    for (let i = 0; !(await wd(base, 'POST', `${s}/execute/sync`, { script: 'return window.smokeReady === true', args: [] })); i++) {
      if (i > 300) throw new Error('the smoke page did not load');
      await new Promise((r) => setTimeout(r, 100));
    }
    const version = await wd(base, 'POST', `${s}/execute/sync`, { script: 'return navigator.userAgent', args: [] });
    const results = await wd(base, 'POST', `${s}/execute/async`, {
      script: 'const done = arguments[arguments.length - 1]; window.smoke().then(done, (e) => done({ smoke: `FAIL: ${e}` }));',
      args: [],
    });
    return { version, results };
  } finally {
    if (session) await wd(base, 'DELETE', `/session/${session}`).catch(() => {});
    try {
      process.kill(-driver.pid, 'SIGTERM'); // the driver, its browser and (WebKit) Xvfb
    } catch {
      // already gone
    }
    drivers.delete(driver.pid);
  }
}

const engines = [
  {
    name: 'Firefox',
    available: existsSync(GECKODRIVER) && existsSync(FIREFOX),
    missing: `${GECKODRIVER} and ${FIREFOX} (make tool-engines)`,
    driver: (port) => [GECKODRIVER, '--host', '127.0.0.1', '--port', String(port)],
    capabilities: { browserName: 'firefox', 'moz:firefoxOptions': { binary: FIREFOX, args: ['-headless'] } },
  },
  {
    name: 'WebKit',
    available: existsSync(WEBKITDRIVER) && MINIBROWSER !== undefined && existsSync('/usr/bin/xvfb-run'),
    missing: `${WEBKITDRIVER}, MiniBrowser and xvfb-run (make tool-engines)`,
    // WebKitGTK's MiniBrowser needs an X display even with --headless: Xvfb.
    driver: (port) => ['/usr/bin/xvfb-run', '-a', WEBKITDRIVER, `--host=127.0.0.1`, `--port=${port}`],
    capabilities: {
      browserName: 'MiniBrowser',
      'webkitgtk:browserOptions': { binary: MINIBROWSER, args: ['--automation'] },
    },
  },
];

// The page runs against the npm pack tarball installed into a fresh app.
const work = await mkdtemp(join(tmpdir(), 'phiseal-engines-'));
const app = join(work, 'app');
await installInto(app, pack(work).tarball);
const smoke = await readFile(new URL('./smoke.html', import.meta.url), 'utf8');
await writeFile(join(app, 'smoke.html'), smoke.replace('IMPORT_MAP', importMap('/node_modules/phiseal/')));
const server = await serve({ root: app });
let passed = 0;
let failed = 0;
const timer = setTimeout(() => {
  console.log(`engines: ${passed} passed, ${failed + 1} failed (timed out)`);
  for (const pid of drivers) {
    try {
      process.kill(-pid, 'SIGKILL'); // the driver, its browser and Xvfb
    } catch {
      // already gone
    }
  }
  process.exit(1);
}, 400_000);
try {
  for (const e of engines) {
    if (!e.available) {
      console.log(`FAIL ${e.name}: not installed: ${e.missing}`);
      failed++;
      continue;
    }
    try {
      const { version, results } = await runEngine(e.name, e.driver, e.capabilities, `${server.url}/smoke.html`);
      console.log(`${e.name}: ${version}`);
      for (const [cap, r] of Object.entries(results)) {
        const ok = r.startsWith('ok') || (r.startsWith('UNSUPPORTED') && MAY_BE_UNSUPPORTED.includes(cap));
        console.log(`${ok ? 'ok  ' : 'FAIL'} ${e.name}: ${cap}: ${r}`);
        ok ? passed++ : failed++;
      }
    } catch (err) {
      console.log(`FAIL ${e.name}: ${err.message}`);
      failed++;
    }
  }
} finally {
  clearTimeout(timer);
  await server.close();
  await rm(work, { recursive: true, force: true });
}
console.log(`engines: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
