// The capture guard's red team (issues #6, #22), written once and run in each
// engine named on the command line (default chromium): Chromium (system
// /usr/bin/chromium through playwright-core), Firefox ESR (geckodriver) and
// WebKitGTK (WebKitWebDriver), all through tests/support/engines.mjs, against
// a server on 127.0.0.1 that stops at the end.
//
// Every attempt of tests/browser/guard-attacks.js runs three times: without
// the guard it must obtain real data (so the attempt is real), with the guard
// in block mode it must fail and be reported, in audit mode it must work and
// be reported. An attempt whose API the engine lacks (notApplicable in the
// page), or that cannot obtain data in this engine's headless, automated setup
// even without the guard (KNOWN_LIMITS below, each with its reason), is listed
// as "n/a" with the reason and still run with the guard on: anything that
// leaks with the guard is a FAIL. Then the checks that are not attacks
// (indistinguishable hooks, platform-like errors, legitimate use, the video
// keeps playing on screen, consent, queued events, pre-install tampering,
// privacy). Prints one line per test, per engine "ENGINE: N attempts run, L
// leaked without guard, B blocked with guard, X not applicable" and its wall
// time, and "guard: N passed, M failed"; stops everything by itself.
//
//   node tests/browser/guard.mjs [chromium] [firefox] [webkit]
import { openEngine, runEachEngine } from '../support/engines.mjs';
import { serve } from '../support/serve.mjs';

const CHROMIUM_EXTRA_ARGS = ['--auto-select-desktop-capture-source=Entire screen', '--enable-usermedia-screen-capturing'];

// Attempts whose API exists in the engine but which obtain nothing here even
// without the guard, for a reason that is not the guard's. Used only when the
// unguarded attempt does not leak; the block-mode run still has to stop them.
const USER_GESTURE = 'getDisplayMedia needs transient user activation, which WebDriver script execution does not give';
const NO_AUDIO_DEVICE = "no audio output device on this machine: Firefox's AudioContext stays 'suspended' and resume() never settles";
const KNOWN_LIMITS = {
  chromium: {},
  firefox: {
    'Web Audio: createMediaStreamSource -> MediaStreamDestination -> MediaRecorder': NO_AUDIO_DEVICE,
    'Web Audio: new MediaStreamAudioSourceNode -> AnalyserNode samples': NO_AUDIO_DEVICE,
    'Web Audio: createMediaElementSource(protected <audio>) -> AnalyserNode samples': NO_AUDIO_DEVICE,
    'navigator.mediaDevices.getDisplayMedia (screen capture)': USER_GESTURE,
    "iframe's navigator.mediaDevices.getDisplayMedia": USER_GESTURE,
  },
  webkit: {
    'navigator.mediaDevices.getDisplayMedia (screen capture)': USER_GESTURE,
    "iframe's navigator.mediaDevices.getDisplayMedia": USER_GESTURE,
  },
};
const TIME_LIMIT_MS = { chromium: 170_000, firefox: 300_000, webkit: 300_000 };

const engineNames = process.argv.slice(2).length ? process.argv.slice(2) : ['chromium'];
let passed = 0;
let failed = 0;
const report = (test, ok, detail) => {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${test}${detail ? `\n     ${detail}` : ''}`);
  ok ? passed++ : failed++;
};
const check = async (test, fn) => {
  try {
    const info = await fn();
    report(test, true, typeof info === 'string' ? info : '');
  } catch (e) {
    report(test, false, e.message);
  }
};

async function runEngine(name, url) {
  const t0 = Date.now();
  const b = await openEngine(name, { media: true, extraArgs: CHROMIUM_EXTRA_ARGS, scriptTimeoutMs: 60_000 });
  const E = b.label;
  console.log(`== ${E}: ${b.version}`);
  const known = KNOWN_LIMITS[name] ?? {};
  const stats = { run: 0, leakedWithout: 0, blocked: 0, na: 0 };
  let caps = null;
  try {
    const open = async (mode) => {
      const q = caps ? `&caps=${encodeURIComponent(JSON.stringify(caps))}` : '';
      await b.goto(`${url}/tests/browser/guard.html?mode=${mode}${q}`);
      for (let i = 0; !(await b.evaluate('() => window.guardReady === true').catch(() => false)); i++) {
        if (i > 200) throw new Error(`${mode}: the page did not load`);
        await new Promise((r) => setTimeout(r, 100));
      }
      console.log(`-- ${E} ${await b.evaluate('() => window.guardSetup()')}`);
    };
    const attempt = (n) => b.evaluate('(n) => window.runAttack(n)', n);
    const runChecks = async (mode, only) => {
      const names = await b.evaluate('(m) => window.checkNames(m)', mode);
      for (const n of names.filter(only ?? (() => true))) {
        const r = await b.evaluate('([m, n]) => window.runCheck(m, n)', [mode, n]).catch((e) => ({ ok: false, error: e.message }));
        report(`${E} ${mode}: ${n}`, r.ok, r.ok ? r.info : r.error);
      }
    };

    // 1. Without the guard every attempt is real, or says why it cannot be here.
    await open('none');
    caps = await b.evaluate('() => window.engineCaps()');
    const names = await b.evaluate('() => window.attackNames');
    const na = new Map(); // name -> reason
    console.log(`${names.length} distinct capture and extraction attempts; ${E} ${caps.videoRecording ? 'records' : 'does not record'} video with MediaRecorder`);
    for (const n of names) {
      const missing = await b.evaluate('(n) => window.notApplicable(n)', n);
      if (missing) {
        na.set(n, missing);
        console.log(`n/a  ${E} without guard: ${n}\n     not applicable: ${missing}`);
        continue;
      }
      const r = await attempt(n).catch((e) => ({ leaked: false, error: e.message }));
      const why = r.error ?? r.detail;
      if (!r.leaked && known[n]) {
        na.set(n, `${known[n]} (without the guard: ${why})`);
        console.log(`n/a  ${E} without guard: ${n}\n     not applicable: ${na.get(n)}`);
        continue;
      }
      if (!r.leaked && !caps.videoRecording && /recorded \d+ bytes/.test(why ?? '') && !/audio/i.test(n)) {
        na.set(n, `MediaRecorder records no video in this engine, guard or not (${why})`);
        console.log(`n/a  ${E} without guard: ${n}\n     not applicable: ${na.get(n)}`);
        continue;
      }
      stats.run++;
      if (r.leaked) stats.leakedWithout++;
      report(`${E} without guard, works: ${n}`, r.leaked, r.leaked ? r.detail : `attempt is not real: ${why}`);
    }
    stats.na = na.size;
    await runChecks('none', (n) => n.startsWith('patched APIs'));

    // 2. Block mode: nothing leaks, every attempt is reported. The n/a ones
    //    run too: they may not leak either.
    await open('block');
    let leaked = 0;
    for (const n of names) {
      const r = await attempt(n).catch((e) => ({ leaked: true, error: `no answer: ${e.message}` }));
      const bad = r.leaked || r.timedOut;
      if (bad) leaked++;
      if (na.has(n)) {
        if (bad) report(`${E} blocked (n/a attempt): ${n}`, false, `LEAKED: ${r.detail ?? r.error}`);
        else console.log(`n/a  ${E} blocked: ${n}\n     did not leak (${r.error ?? r.detail})`);
        continue;
      }
      const reported = r.events?.some((e) => e.blocked);
      if (!bad && reported) stats.blocked++;
      const events = [...new Set((r.events ?? []).map((e) => e.api))].join(', ');
      report(`${E} blocked: ${n}`, !bad && reported, bad ? `LEAKED: ${r.detail ?? r.error}` : `${r.error ?? r.detail}${reported ? ` [event ${events}]` : ' [NOT REPORTED]'}`);
    }
    console.log(`${E}: ${stats.blocked} blocked, ${leaked} leaked`);
    await runChecks('block');
    await check(`${E} block: the viewer still sees the protected video on screen (screenshot pixels)`, async () => {
      const rect = await b.evaluate('() => window.videoRect()');
      const png = await b.screenshot();
      if (!(await b.evaluate('([b64, r]) => window.screenshotShowsVideo(b64, r)', [png, rect]))) throw new Error('the video area of the screenshot is blank');
      return `${rect.width}x${rect.height} video area shows a picture`;
    });

    // 3. Audit mode: everything goes through, every attempt is reported.
    await open('audit');
    for (const n of names.filter((x) => !na.has(x))) {
      const r = await attempt(n).catch((e) => ({ leaked: false, error: e.message }));
      const reported = r.events?.some((e) => !e.blocked);
      report(`${E} audit mode lets through and reports: ${n}`, r.leaked && reported, `${r.detail ?? r.error}${reported ? '' : ' [NOT REPORTED]'}`);
    }

    // 4. Consent, queued events, pre-install tampering, privacy.
    for (const mode of ['allow', 'late', 'tamper', 'privacy']) {
      await open(mode);
      await runChecks(mode, (n) => !/^(patched|a blocked|unprotected|the protected)/.test(n));
      if (mode === 'privacy') {
        await check(`${E} privacy: protected content is hidden when printing`, async () => {
          if (b.page) {
            await b.page.emulateMedia({ media: 'print' });
            const vis = await b.evaluate('() => window.printHidden()');
            await b.page.emulateMedia({ media: 'screen' });
            if (vis.some((v) => v !== 'hidden')) throw new Error(`print visibility: ${vis}`);
            return `video and PHI container: ${vis.join(', ')} in print (print media emulated)`;
          }
          // W3C WebDriver cannot emulate print media: the @media print rule is read instead.
          const vis = await b.evaluate('() => window.printRuleVisibility()');
          if (vis.some((v) => v !== 'hidden')) throw new Error(`print rule visibility: ${vis}`);
          return `video and PHI container: ${vis.join(', ')} by the @media print rule (WebDriver cannot emulate print media)`;
        });
      }
    }
  } finally {
    await b.close();
  }
  const wall = ((Date.now() - t0) / 1000).toFixed(1);
  console.log(`${E}: ${stats.run} attempts run, ${stats.leakedWithout} leaked without guard, ${stats.blocked} blocked with guard, ${stats.na} not applicable; wall time ${wall} s`);
  return { E, stats, wall };
}

const server = await serve();
let summary;
try {
  summary = await runEachEngine(engineNames, TIME_LIMIT_MS, (name) => runEngine(name, server.url), report);
} finally {
  await server.close();
}
for (const { E, stats, wall } of summary.length > 1 ? summary : []) {
  console.log(`${E}: ${stats.run} attempts run, ${stats.leakedWithout} leaked without guard, ${stats.blocked} blocked with guard, ${stats.na} not applicable; wall time ${wall} s`);
}
console.log(`guard: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
