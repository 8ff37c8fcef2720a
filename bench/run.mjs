// `make bench`: runs bench/cases.js in headless Chromium and in Node, prints
// one table (ops/s, ratio = phiseal / peer; above 1 means phiseal is faster).
// Timings are printed, never asserted.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { serve } from '../tests/support/serve.mjs';
import { runCases } from './cases.js';
import { runFieldCases } from './fields.js';
import { runAuditCases } from './audit.js';
import { runPrimitiveCases } from './primitives.js';
import { runFhirCases } from './fhir.js';
import { readdirSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

import { CHROMIUM_ARGS } from '../tests/support/chromium.mjs';

const results = [];

/** The clinical example resources of the FHIR R4 specification (top level: the seven types of docs/FHIR.md). */
function fhirCorpus() {
  const dir = new URL('../node_modules/hl7.fhir.r4.examples/', import.meta.url);
  const types = ['Patient', 'Observation', 'Condition', 'MedicationRequest', 'Encounter', 'DocumentReference', 'QuestionnaireResponse'];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json') && f !== 'package.json')
    .sort()
    .map((f) => JSON.parse(readFileSync(new URL(f, dir), 'utf8')))
    .filter((r) => types.includes(r.resourceType));
}
const corpus = fhirCorpus();

function print(runtime, rows) {
  console.log(`\n${runtime}`);
  console.log(`${'metric'.padEnd(52)} ${'phiseal /s'.padStart(11)} ${'peer'.padStart(11)} ${'peer /s'.padStart(9)} ${'ratio'.padStart(6)}`);
  for (const r of rows) {
    // Ratios above 1 always mean phiseal is better (faster or cheaper).
    const ratio = Number.isFinite(r.peerValue) ? (r.lowerIsBetter ? r.peerValue / r.phiseal : r.phiseal / r.peerValue).toFixed(2) : '-';
    const fmt = (v) => (v < 10 ? v.toFixed(3) : v.toFixed(0));
    const peer = Number.isFinite(r.peerValue) ? fmt(r.peerValue) : '-';
    console.log(`${r.metric.padEnd(52)} ${fmt(r.phiseal).padStart(11)} ${r.peer.padStart(11)} ${peer.padStart(9)} ${ratio.padStart(6)}`);
    results.push({ runtime, ...r });
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
  print(`Chromium ${version}`, await page.evaluate(() => window.runBench()));
  print(`Chromium ${version}: primitives (MB/s or ops/s)`, await page.evaluate(() => window.runPrimitiveBench()));
  print(`Chromium ${version}: field encryption (records/s)`, await page.evaluate(() => window.runFieldBench()));
  print(`Chromium ${version}: audit log (per second)`, await page.evaluate(() => window.runAuditBench()));
  print(`Chromium ${version}: FHIR R4 examples (resources/s)`, await page.evaluate((items) => window.runFhirBench(items), corpus));
  print(`Chromium ${version}: SFrame media (ratio for latency rows: WebCrypto / phiseal)`, await page.evaluate(() => window.runMediaBench()));
  print(`Chromium ${version}: encrypted streams`, await page.evaluate(() => window.runStreamBench()));
  print(`Chromium ${version}: capture guard (with guard / without)`, await page.evaluate(() => window.runGuardBench()));
  await page.setViewportSize({ width: 1920, height: 1080 }); // watermarks are measured at 1080p
  print(`Chromium ${version}: watermarks (ms, lower is better)`, await page.evaluate(() => window.runWatermarkBench()));
  await context.close();
} finally {
  await server.close();
  await rm(dir, { recursive: true, force: true });
}
print(`Node ${process.version}`, await runCases());
print(`Node ${process.version}: primitives (MB/s or ops/s)`, await runPrimitiveCases());
print(`Node ${process.version}: field encryption (records/s)`, await runFieldCases({ batch: 200 }));
print(`Node ${process.version}: audit log (per second)`, await runAuditCases());
print(`Node ${process.version}: FHIR R4 examples (resources/s)`, await runFhirCases(corpus));
console.log('\nsizes (bench/size.mjs)');
console.log(execFileSync(process.execPath, [new URL('./size.mjs', import.meta.url).pathname], { encoding: 'utf8' }));
await writeFile(new URL('./results.json', import.meta.url), JSON.stringify({ date: new Date().toISOString(), results }, null, 1) + '\n');
console.log('\nwritten bench/results.json');
