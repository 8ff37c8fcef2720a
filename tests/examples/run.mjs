// End-to-end tests of the example apps (examples/patient-portal,
// examples/telehealth) in headless Chromium (system /usr/bin/chromium through
// playwright-core, fake camera and microphone), against the examples' own
// server (static files, portal API on a temporary SQLite file, signaling
// WebSocket) on 127.0.0.1. Screenshots go to test-results/screenshots/.
// Prints one line per check and "examples: N passed, M failed"; stops
// everything by itself within 3 minutes.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startExamples } from '../../examples/server.mjs';
import { runSuite } from '../support/chromium.mjs';
import { portalTests } from './portal.mjs';
import { telehealthTests } from './telehealth.mjs';

const only = process.argv[2]; // "portal" or "telehealth" to run one app
const dataDir = await mkdtemp(join(tmpdir(), 'phiseal-examples-'));
let server = null;
const startServer = async () => {
  const s = await startExamples({ dataDir });
  server = s;
  return {
    url: s.url,
    close: async () => {
      await s.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
};

await runSuite('examples', { timeoutMs: 170_000, permissions: ['camera', 'microphone'], startServer }, async ({ context, url, check }) => {
  const shots = [];
  if (only !== 'telehealth') shots.push(...(await portalTests({ context, url, check, server })));
  if (only !== 'portal') shots.push(...(await telehealthTests({ context, url, check })));
  console.log(`screenshots: ${shots.map((s) => s.replace(/^.*test-results\//, 'test-results/')).join(', ')}`);
});
