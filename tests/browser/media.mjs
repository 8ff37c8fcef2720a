// Runs tests/browser/media-tests.js (SFrame media E2EE over a WebRTC loopback
// with fake camera and microphone) and checks examples/telehealth.html, in
// headless Chromium (system /usr/bin/chromium through playwright-core),
// against a server on 127.0.0.1 that stops at the end.
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

  // The telehealth example: E2EE on by default, ciphertext panel, counters.
  const demo = await context.newPage();
  demo.on('pageerror', (e) => console.error('telehealth page error:', e.message));
  try {
    await demo.goto(`${url}/examples/telehealth.html`);
    await demo.waitForFunction(() => window.telehealthReady === true, null, { timeout: 20_000 });
    await demo.waitForFunction(
      () => (window.telehealthCounters?.video?.decrypted ?? 0) > 30 && document.querySelectorAll('#wire .frame').length >= 3,
      null,
      { timeout: 25_000 },
    );
    const state = await demo.evaluate(() => ({
      e2ee: document.getElementById('e2ee').checked,
      wire: document.getElementById('wire').textContent,
      counters: document.getElementById('counters').textContent,
      decoded: window.telehealthCounters,
    }));
    if (!state.e2ee) throw new Error('E2EE is not on by default');
    if (!/[0-9a-f]{2} [0-9a-f]{2} [0-9a-f]{2}/.test(state.wire)) throw new Error(`no hex in the wire panel: ${state.wire.slice(0, 200)}`);
    if (!state.counters.includes('decrypted')) throw new Error(`no counters shown: ${state.counters}`);
    report('examples/telehealth.html: E2EE on by default, wire hex and counters shown, remote video decrypted', true,
      `decrypted video ${state.decoded.video.decrypted}, audio ${state.decoded.audio.decrypted}`);
  } catch (e) {
    report('examples/telehealth.html: E2EE on by default, wire hex and counters shown, remote video decrypted', false, e.message);
  }
});
