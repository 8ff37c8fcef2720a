// Shared harness for the headless-Chromium test runners: the system
// /usr/bin/chromium through playwright-core (flags from ../shared/
// BROWSER-TESTING.md), a fresh profile, a server on 127.0.0.1, one line per
// test, a closing "NAME: N passed, M failed", a hard time limit, and cleanup
// of everything it started.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { serve } from './serve.mjs';

export const CHROMIUM_ARGS = [
  '--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream', '--autoplay-policy=no-user-gesture-required', '--enable-precise-memory-info',
];

/** Resolves with `p`, or rejects after `ms` naming `what`. */
export const withTimeout = (p, ms, what) =>
  Promise.race([p, new Promise((_, reject) => setTimeout(() => reject(new Error(`${what}: no result after ${ms} ms`)), ms))]);

/**
 * Starts the server and a Chromium context for `body`; prints the results and exits.
 * `startServer` (optional) replaces the static server: an async function resolving to {url, close}.
 * `extraArgs` (optional): more Chromium flags for this suite only.
 */
export async function runSuite(name, { timeoutMs, permissions = [], startServer = serve, extraArgs = [] }, body) {
  const server = await startServer();
  const userDataDir = await mkdtemp(join(tmpdir(), `phiseal-chromium-${name}-`));
  let context = null;
  let passed = 0;
  let failed = 0;
  const cleanup = async () => {
    await context?.close().catch(() => {});
    await server.close();
    await rm(userDataDir, { recursive: true, force: true });
  };
  const timer = setTimeout(async () => {
    console.error(`${name} tests timed out (${timeoutMs / 1000} s)`);
    console.log(`${name}: ${passed} passed, ${failed + 1} failed`);
    await Promise.race([cleanup(), new Promise((r) => setTimeout(r, 5000))]);
    process.exit(1);
  }, timeoutMs);
  const report = (test, ok, detail) => {
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${test}${detail ? `\n     ${detail}` : ''}`);
    ok ? passed++ : failed++;
  };
  /** Runs `fn` as one test; its string result (if any) is printed as detail. */
  const check = async (test, fn) => {
    try {
      const info = await fn();
      report(test, true, typeof info === 'string' ? info : '');
    } catch (e) {
      report(test, false, e.message);
    }
  };
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
      args: [...CHROMIUM_ARGS, ...extraArgs],
      headless: true,
      permissions,
    });
    const page = context.pages()[0] ?? (await context.newPage());
    page.on('response', (r) => r.status() >= 400 && !r.url().endsWith('/favicon.ico') && console.error(`page: HTTP ${r.status()} ${r.url()}`));
    page.on('pageerror', (e) => console.error('page error:', e.message));
    await body({ context, page, url: server.url, report, check });
  } catch (e) {
    console.error(e);
    failed++;
  } finally {
    clearTimeout(timer);
    await cleanup();
  }
  console.log(`${name}: ${passed} passed, ${failed} failed`);
  process.exit(failed === 0 && passed > 0 ? 0 : 1);
}
