// Runs the encrypted-stream tests of tests/browser/stream.html in headless
// Chromium (system /usr/bin/chromium through playwright-core) against a
// server on 127.0.0.1 that stops at the end: 100 MiB through ReadableStreams
// on the WebCrypto and wasm AES-GCM paths with bounded buffering, interop of
// the two paths, tamper and truncation. Prints one line per test (with MB/s,
// for information only) and "stream: N passed, M failed"; exits non-zero on
// failure and stops everything by itself within 3 minutes.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { serve } from '../support/serve.mjs';

const CHROMIUM_ARGS = [
  '--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--enable-precise-memory-info',
];
const TEST_TIMEOUT_MS = 60_000;

const server = await serve();
const userDataDir = await mkdtemp(join(tmpdir(), 'phiseal-chromium-stream-'));
let context = null;
let passed = 0;
let failed = 0;

async function cleanup() {
  await context?.close().catch(() => {});
  await server.close();
  await rm(userDataDir, { recursive: true, force: true });
}

const timer = setTimeout(async () => {
  console.error('stream tests timed out (3 minutes)');
  console.log(`stream: ${passed} passed, ${failed + 1} failed`);
  await Promise.race([cleanup(), new Promise((r) => setTimeout(r, 5000))]);
  process.exit(1);
}, 170_000);

const withTimeout = (p, ms, what) =>
  Promise.race([p, new Promise((_, reject) => setTimeout(() => reject(new Error(`${what}: no result after ${ms} ms`)), ms))]);

function report(name, ok, detail) {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? `\n     ${detail}` : ''}`);
  ok ? passed++ : failed++;
}

try {
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: CHROMIUM_ARGS,
    headless: true,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('response', (r) => r.status() >= 400 && !r.url().endsWith('/favicon.ico') && console.error(`page: HTTP ${r.status()} ${r.url()}`));
  page.on('pageerror', (e) => console.error('page error:', e.message));
  await page.goto(`${server.url}/tests/browser/stream.html`);
  await page.waitForFunction(() => window.streamTestsReady === true, null, { timeout: 20_000 });
  const names = await page.evaluate(() => window.streamTestNames);
  for (const name of names) {
    try {
      const r = await withTimeout(page.evaluate((n) => window.runStreamTest(n), name), TEST_TIMEOUT_MS, name);
      report(name, r.ok, r.ok ? r.info : r.error);
    } catch (e) {
      report(name, false, e.message);
    }
  }
} catch (e) {
  console.error(e);
  failed++;
} finally {
  clearTimeout(timer);
  await cleanup();
}
console.log(`stream: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
