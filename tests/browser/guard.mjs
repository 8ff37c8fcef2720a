// The capture guard's red team (issue #6) in headless Chromium (system
// /usr/bin/chromium through playwright-core), against a server on 127.0.0.1
// that stops at the end. Every attempt of tests/browser/guard-attacks.js runs
// three times: without the guard it must obtain real data (so the attempt is
// real), with the guard in block mode it must fail and be reported, in audit
// mode it must work and be reported. Then the checks that are not attacks
// (indistinguishable hooks, platform-like errors, legitimate use, the video
// keeps playing on screen, consent, queued events, pre-install tampering,
// privacy). Prints one line per test, "N blocked, M leaked" and
// "guard: N passed, M failed"; stops everything by itself within 3 minutes.
import { runSuite, withTimeout } from '../support/chromium.mjs';

const ATTEMPT_TIMEOUT_MS = 15_000;

await runSuite(
  'guard',
  {
    timeoutMs: 170_000,
    permissions: ['camera', 'microphone'],
    extraArgs: ['--auto-select-desktop-capture-source=Entire screen', '--enable-usermedia-screen-capturing'],
  },
  async ({ context, url, report, check }) => {
    const open = async (mode) => {
      const page = await context.newPage();
      page.on('pageerror', (e) => console.error(`${mode} page error:`, e.message));
      await page.goto(`${url}/tests/browser/guard.html?mode=${mode}`);
      await page.waitForFunction(() => window.guardReady === true, null, { timeout: 20_000 });
      console.log(`-- ${await withTimeout(page.evaluate(() => window.guardSetup()), 20_000, `${mode} setup`)}`);
      return page;
    };
    const attempt = (page, name) => withTimeout(page.evaluate((n) => window.runAttack(n), name), ATTEMPT_TIMEOUT_MS, name);
    const runChecks = async (page, mode, only) => {
      const names = await page.evaluate((m) => window.checkNames(m), mode);
      for (const name of names.filter(only ?? (() => true))) {
        const r = await withTimeout(page.evaluate(([m, n]) => window.runCheck(m, n), [mode, name]), 30_000, name).catch((e) => ({ ok: false, error: e.message }));
        report(`${mode}: ${name}`, r.ok, r.ok ? r.info : r.error);
      }
    };

    // 1. Without the guard every attempt is real.
    let page = await open('none');
    const names = await page.evaluate(() => window.attackNames);
    console.log(`${names.length} distinct capture and extraction attempts`);
    for (const name of names) {
      const r = await attempt(page, name).catch((e) => ({ leaked: false, error: e.message }));
      report(`without guard, works: ${name}`, r.leaked, r.leaked ? r.detail : `attempt is not real: ${r.error ?? r.detail}`);
    }
    await runChecks(page, 'none', (n) => n.startsWith('patched APIs'));
    await page.close();

    // 2. Block mode: nothing leaks, every attempt is reported.
    page = await open('block');
    let blocked = 0;
    let leaked = 0;
    for (const name of names) {
      const r = await attempt(page, name).catch((e) => ({ leaked: true, error: `no answer: ${e.message}` }));
      const reported = r.events?.some((e) => e.blocked);
      if (r.leaked) leaked++;
      else blocked++;
      const events = [...new Set((r.events ?? []).map((e) => e.api))].join(', ');
      report(`blocked: ${name}`, !r.leaked && reported, r.leaked ? `LEAKED: ${r.detail ?? r.error}` : `${r.error ?? r.detail}${reported ? ` [event ${events}]` : ' [NOT REPORTED]'}`);
    }
    console.log(`${blocked} blocked, ${leaked} leaked`);
    await runChecks(page, 'block');
    await check('block: the viewer still sees the protected video on screen (screenshot pixels)', async () => {
      const rect = await page.evaluate(() => window.videoRect());
      const png = await page.screenshot({ clip: rect });
      if (!(await page.evaluate((b64) => window.screenshotShowsVideo(b64), png.toString('base64')))) throw new Error('the video area of the screenshot is blank');
      return `${rect.width}x${rect.height} video area shows a picture`;
    });
    await page.close();

    // 3. Audit mode: everything goes through, every attempt is reported.
    page = await open('audit');
    for (const name of names) {
      const r = await attempt(page, name).catch((e) => ({ leaked: false, error: e.message }));
      const reported = r.events?.some((e) => !e.blocked);
      report(`audit mode lets through and reports: ${name}`, r.leaked && reported, `${r.detail ?? r.error}${reported ? '' : ' [NOT REPORTED]'}`);
    }
    await page.close();

    // 4. Consent, queued events, pre-install tampering, privacy.
    for (const mode of ['allow', 'late', 'tamper', 'privacy']) {
      page = await open(mode);
      await runChecks(page, mode, (n) => !Object.keys({}).includes(n) && !/^(patched|a blocked|unprotected|the protected)/.test(n));
      if (mode === 'privacy') {
        await check('privacy: protected content is hidden when printing', async () => {
          await page.emulateMedia({ media: 'print' });
          const vis = await page.evaluate(() => window.printHidden());
          await page.emulateMedia({ media: 'screen' });
          if (vis.some((v) => v !== 'hidden')) throw new Error(`print visibility: ${vis}`);
          return `video and PHI container: ${vis.join(', ')} in print`;
        });
      }
      await page.close();
    }
  },
);
