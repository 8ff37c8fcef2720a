// Runs tests/browser/media-tests.js (SFrame media E2EE over a WebRTC loopback
// with fake camera and microphone) in headless Chromium (system
// /usr/bin/chromium through playwright-core), against a server on 127.0.0.1
// that stops at the end. (The telehealth example app has its own end-to-end
// test: tests/examples/run.mjs.)
// Prints one line per test and "media: N passed, M failed"; stops everything
// by itself within 4 minutes.
import { runSuite, withTimeout } from '../support/chromium.mjs';

const TEST_TIMEOUT_MS = 45_000;

await runSuite('media', { timeoutMs: 230_000, permissions: ['camera', 'microphone'] }, async ({ context, page, url, report }) => {
  await page.goto(`${url}/tests/browser/media.html`);
  await page.waitForFunction(() => window.mediaTestsReady === true, null, { timeout: 20_000 });
  const support = await page.evaluate(() => ({
    scriptTransform: typeof RTCRtpScriptTransform === 'function',
    encodedStreams: typeof RTCRtpSender.prototype.createEncodedStreams === 'function',
  }));
  console.log(`chromium ${context.browser()?.version() ?? ''}: RTCRtpScriptTransform ${support.scriptTransform}, createEncodedStreams ${support.encodedStreams}`);
  const names = await page.evaluate(() => window.mediaTestNames);
  for (const name of names) {
    try {
      const r = await withTimeout(page.evaluate((n) => window.runMediaTest(n), name), TEST_TIMEOUT_MS, name);
      report(name, r.ok, r.ok ? r.info : r.error);
    } catch (e) {
      report(name, false, e.message);
    }
  }
});
