// Runs the encrypted-stream tests of tests/browser/stream.html in headless
// Chromium (system /usr/bin/chromium through playwright-core) against a
// server on 127.0.0.1 that stops at the end: 100 MiB through ReadableStreams
// on the WebCrypto and wasm AES-GCM paths with bounded buffering, interop of
// the two paths, tamper and truncation. Prints one line per test (with MB/s,
// for information only) and "stream: N passed, M failed"; exits non-zero on
// failure and stops everything by itself within 3 minutes.
import { runSuite, withTimeout } from '../support/chromium.mjs';

const TEST_TIMEOUT_MS = 60_000;

await runSuite('stream', { timeoutMs: 170_000 }, async ({ page, url, report }) => {
  await page.goto(`${url}/tests/browser/stream.html`);
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
});
