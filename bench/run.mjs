// `make bench`: runs bench/cases.js in headless Chromium and in Node, prints
// one table (ops/s, ratio = phiseal / peer; above 1 means phiseal is faster).
// Timings are printed, never asserted.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { serve } from '../tests/support/serve.mjs';
import { runCases } from './cases.js';

const CHROMIUM_ARGS = ['--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

function print(runtime, rows) {
  console.log(`\n${runtime}`);
  console.log(`${'metric'.padEnd(46)} ${'phiseal ops/s'.padStart(14)} ${'peer'.padStart(12)} ${'peer ops/s'.padStart(11)} ${'ratio'.padStart(6)}`);
  for (const r of rows) {
    console.log(`${r.metric.padEnd(46)} ${r.phiseal.toFixed(0).padStart(14)} ${r.peer.padStart(12)} ${r.peerValue.toFixed(0).padStart(11)} ${(r.phiseal / r.peerValue).toFixed(2).padStart(6)}`);
  }
}

const server = await serve();
const dir = await mkdtemp(join(tmpdir(), 'phiseal-bench-'));
try {
  const context = await chromium.launchPersistentContext(dir, { executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: CHROMIUM_ARGS, headless: true });
  const page = context.pages()[0] ?? (await context.newPage());
  await page.goto(`${server.url}/bench/page.html`);
  await page.waitForFunction(() => window.benchReady === true);
  const version = context.browser()?.version() ?? (await page.evaluate(() => navigator.userAgent));
  print(`Chromium (${version})`, await page.evaluate(() => window.runBench()));
  await context.close();
} finally {
  await server.close();
  await rm(dir, { recursive: true, force: true });
}
print(`Node ${process.version}`, await runCases());
