// Watermarks (js/watermark.js), written once and run in each engine named on
// the command line (default chromium): Chromium (system /usr/bin/chromium
// through playwright-core), Firefox ESR (geckodriver) and WebKitGTK
// (WebKitWebDriver under Xvfb), all through tests/support/engines.mjs (issues
// #6, #22), against a server on 127.0.0.1 that stops at the end.
//
// The overlay's pixels in screenshots of a fake-camera video, the clock and
// the shift schedule, following scroll/resize/fullscreen, tamper actions
// undone within 100 ms (measured in the page) and reported, the hide policy,
// page-script attacks, burned-in tracks (the MediaStreamTrackProcessor path
// where the engine has it, the canvas fallback everywhere; frames drawn and
// recorded, then decoded) and the forensic id recovered from screenshots (PNG,
// JPEG q70, scaled). Screenshots are kept in test-results/screenshots/
// (watermark-ENGINE-*.png). What an engine cannot do here is listed as
// "n/a ... not applicable: reason", never dropped silently.
// Prints one line per test, per engine "ENGINE: N passed, M failed, X not
// applicable; tamper restore max T ms" and its wall time, and
// "watermark: N passed, M failed"; stops everything by itself.
//
//   node tests/browser/watermark.mjs [chromium] [firefox] [webkit]
import { mkdir, writeFile } from 'node:fs/promises';
import { openEngine, runEachEngine } from '../support/engines.mjs';
import { serve } from '../support/serve.mjs';

const RESTORE_LIMIT_MS = 100;
const SLACK_MS = 15; // two shared cores: timers may run late
const ID = 0x5e55_10a7;
const VIEW = { width: 1280, height: 720 };
const SHOTS = 'test-results/screenshots';
const TIME_LIMIT_MS = { chromium: 170_000, firefox: 300_000, webkit: 300_000 };
// Screens large enough for the viewport and a fullscreen element: headless
// Firefox's screen (default 1366x768) and WebKit's Xvfb (xvfb-run: 640x480x8).
process.env.MOZ_HEADLESS_WIDTH ??= '1920';
process.env.MOZ_HEADLESS_HEIGHT ??= '1080';
const XVFB_SCREEN = '1920x1080x24';
// Engines whose fullscreen cannot be entered in this automated setup, with the reason.
const FULLSCREEN_NA = {};

const engineNames = process.argv.slice(2).length ? process.argv.slice(2) : ['chromium'];
let passed = 0;
let failed = 0;
const report = (test, ok, detail) => {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${test}${detail ? `\n     ${detail}` : ''}`);
  ok ? passed++ : failed++;
};
/** A test the engine cannot run here, with the reason: listed, not counted as passed. */
class NotApplicable extends Error {}

async function runEngine(name, url) {
  const t0 = Date.now();
  const b = await openEngine(name, { media: true, xvfbScreen: XVFB_SCREEN, scriptTimeoutMs: 120_000 });
  const E = b.label;
  console.log(`== ${E}: ${b.version}`);
  const stats = { passed: 0, failed: 0, na: 0, shots: 0, restores: [] };
  const check = async (test, fn) => {
    try {
      const info = await fn();
      report(test, true, typeof info === 'string' ? info : '');
      stats.passed++;
    } catch (e) {
      if (e instanceof NotApplicable) {
        console.log(`n/a  ${test}\n     not applicable: ${e.message}`);
        stats.na++;
        return;
      }
      report(test, false, e.message);
      stats.failed++;
    }
  };
  try {
    const shot = () => b.screenshot();
    /** Keeps a screenshot (base64 PNG) for people to look at: test-results/screenshots/watermark-ENGINE-LABEL.png. */
    const keep = async (label, png) => {
      await mkdir(SHOTS, { recursive: true });
      await writeFile(`${SHOTS}/watermark-${name}-${label}.png`, Buffer.from(png, 'base64'));
      stats.shots++;
    };
    const waitFor = async (fn, arg, timeoutMs) => {
      const t0 = Date.now();
      while (!(await b.evaluate(fn, arg))) {
        if (Date.now() - t0 > timeoutMs) throw new Error(`no ${String(fn)} after ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 30));
      }
    };
    /** Clicks `selector` (whose handler requests fullscreen) and waits for it; NotApplicable (after `cleanup`) where FULLSCREEN_NA says why. */
    const enterFullscreen = async (selector, cleanup) => {
      await b.click(selector);
      try {
        await waitFor(() => document.fullscreenElement !== null, null, 5000);
      } catch {
        const why = await b.evaluate(() => window.fsError ?? 'neither fullscreenchange nor an error in 5 s');
        await cleanup?.();
        if (FULLSCREEN_NA[name]) throw new NotApplicable(`${FULLSCREEN_NA[name]} (requestFullscreen: ${why})`);
        throw new Error(`fullscreen not entered: ${why}`);
      }
    };
    const leaveFullscreen = async () => {
      await b.evaluate(() => document.fullscreenElement && document.exitFullscreen());
      await waitFor(() => document.fullscreenElement === null, null, 5000);
      // The window comes back to its size (WebDriver engines: a moment later).
      await waitFor(([w, hh]) => innerWidth === w && innerHeight === hh, [VIEW.width, VIEW.height], 3000).catch(() => b.setViewport(VIEW.width, VIEW.height));
    };
    await b.goto(`${url}/tests/browser/watermark.html`);
    await waitFor(() => window.watermarkReady === true, null, 20_000);
    const view = await b.setViewport(VIEW.width, VIEW.height);
    if (view.width !== VIEW.width || view.height !== VIEW.height) throw new Error(`viewport ${view.width}x${view.height}, not ${VIEW.width}x${VIEW.height}`);
    const cam = await b.evaluate(async () => {
      const size = await h.startCamera();
      window.events = [];
      window.log = (e) => window.events.push({ ...e, at: performance.now() });
      return size;
    });
    console.log(`fake camera ${cam.width}x${cam.height}`);

    const OPTS = { text: ['viewer u-7781', 'Dr. Ana Lee', 'Northside Clinic'], opacity: 0.6, fontSize: 16, density: 1.6, moveEverySeconds: 0 };

    await check(`${E} overlay: a screenshot of the fake-camera video shows the mark, its text in several tiles`, async () => {
      await b.evaluate(() => { document.getElementById('cam').pause(); });
      await b.evaluate(() => h.frames(3));
      const before = await shot();
      await b.evaluate((o) => { window.mark = wm.Watermark.attach('#cam', { ...o, onEvent: log, failurePolicy: 'keep' }); return h.frames(3); }, OPTS);
      const after = await shot();
      await keep('overlay', after);
      const r = await b.evaluate(async ({ before, after, o }) => {
        const a = await h.pixels(before);
        const b = await h.pixels(after);
        const rect = h.rectOf(document.getElementById('cam'));
        const outside = { x: 700, y: 20, w: 500, h: 300 };
        const layout = mark.layout;
        return {
          inside: h.diffCount(a, b, rect),
          outside: h.diffCount(a, b, outside),
          area: rect.w * rect.h,
          tiles: h.tilesWithText(b, a, layout, o, rect),
          lines: layout.lines,
          mode: mark.mode,
        };
      }, { before, after, o: OPTS });
      if (r.inside < r.area * 0.03) throw new Error(`only ${r.inside} changed pixels over the video`);
      if (r.outside !== 0) throw new Error(`${r.outside} changed pixels outside the video`);
      const good = r.tiles.filter((c) => c > 0.5).length;
      // Whether 3 or 4 whole tiles fit over the 640x360 video depends on the layout's offset and the engine's text metrics.
      if (good < Math.min(4, r.tiles.length) || good < 3) throw new Error(`text found in ${good} of ${r.tiles.length} whole tiles (correlations ${r.tiles.join(', ')})`);
      if (!/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/.test(r.lines.at(-1))) throw new Error(`no time line: ${r.lines}`);
      return `${r.mode}; ${r.inside} of ${r.area} pixels changed, none outside; text in ${good}/${r.tiles.length} whole tiles (correlation ${Math.min(...r.tiles.filter((c) => c > 0.5))}–${Math.max(...r.tiles)}); lines ${JSON.stringify(r.lines)}`;
    });

    await check(`${E} overlay: the time in the mark changes every second, the pattern shifts on its schedule`, async () => {
      const rect = await b.evaluate(() => h.rectOf(document.getElementById('cam')));
      const l1 = await b.evaluate(() => mark.layout.lines.at(-1));
      const s1 = await shot();
      await waitFor((l) => mark.layout.lines.at(-1) !== l, l1, 3000);
      await b.evaluate(() => h.frames(2));
      const s2 = await shot();
      const l2 = await b.evaluate(() => mark.layout.lines.at(-1));
      const changed = await b.evaluate(async ({ s1, s2, rect }) => h.diffCount(await h.pixels(s1), await h.pixels(s2), rect), { s1, s2, rect });
      if (changed === 0) throw new Error('the screenshot did not change with the time');
      // Shift schedule: every second here.
      const c1 = await b.evaluate(() => { mark.update({ moveEverySeconds: 1 }); return mark.layout.offset; });
      await waitFor((c) => mark.layout.offset[0] !== c[0], c1, 3000);
      const c2 = await b.evaluate(() => { const o = mark.layout.offset; mark.update({ moveEverySeconds: 0 }); return o; });
      return `"${l1}" → "${l2}": ${changed} pixels changed; offset (${c1.map((v) => v.toFixed(2))}) → (${c2.map((v) => v.toFixed(2))}) of a tile`;
    });

    await check(`${E} overlay: clicks pass through, no reflow, follows scrolling, resizing and fullscreen`, async () => {
      const r = await b.evaluate(async () => {
        const flat = document.getElementById('flat');
        const layoutBefore = [...document.body.children].map((e) => JSON.stringify(e.getBoundingClientRect()));
        const m = wm.Watermark.attach(flat, { text: 'follow me', opacity: 0.8, moveEverySeconds: 0, failurePolicy: 'keep' });
        await h.frames(2);
        const layoutAfter = [...document.body.children].filter((e) => e !== m.host).map((e) => JSON.stringify(e.getBoundingClientRect()));
        window.flatMark = m;
        return { reflow: layoutBefore.join() !== layoutAfter.join() };
      });
      if (r.reflow) throw new Error('attaching moved elements of the page');
      const fr = await b.evaluate(() => {
        window.flatClicks = 0;
        document.getElementById('flat').onclick = () => window.flatClicks++;
        return h.rectOf(document.getElementById('flat'));
      });
      await b.clickAt(fr.x + fr.w / 2, fr.y + fr.h / 2);
      const clicks = await b.evaluate(() => window.flatClicks);
      if (clicks !== 1) throw new Error(`a click on the marked target reached it ${clicks} times`);
      // Pixels: mark inside the target's rectangle, nothing around it, after each move.
      const inspect = async (label) => {
        await b.evaluate(() => h.frames(3));
        const s = await shot();
        return b.evaluate(async ({ s, label }) => {
          const img = await h.pixels(s);
          const r = h.rectOf(document.getElementById('flat'));
          const flatColor = { data: new Uint8ClampedArray(img.data.length), width: img.width };
          for (let i = 0; i < flatColor.data.length; i += 4) flatColor.data.set([0x33, 0x66, 0x99, 255], i);
          const white = { data: new Uint8ClampedArray(img.data.length).fill(255), width: img.width };
          const inside = h.diffCount(img, flatColor, { x: r.x + 2, y: r.y + 2, w: r.w - 4, h: r.h - 4 }, 20);
          const band = { x: Math.max(0, r.x - 12), y: Math.max(0, r.y + r.h + 2), w: Math.min(img.width - r.x, r.w + 24), h: Math.max(0, Math.min(10, img.height - r.y - r.h - 2)) };
          const below = band.h > 0 ? h.diffCount(img, white, band, 20) : 0;
          return { label, rect: r, inside, below };
        }, { s, label });
      };
      const results = [await inspect('attached')];
      await b.evaluate(() => window.scrollBy(0, 180));
      results.push(await inspect('scrolled 180 px'));
      await b.evaluate(() => { document.getElementById('flat').style.width = '520px'; });
      results.push(await inspect('resized to 520 px'));
      await b.evaluate(() => { window.scrollTo(0, 0); document.getElementById('flat').style.width = ''; });
      for (const r of results) {
        if (r.inside < 300) throw new Error(`${r.label}: only ${r.inside} mark pixels over the target`);
        if (r.below > 0) throw new Error(`${r.label}: ${r.below} mark pixels below the target (not following)`);
      }
      return `click reached the target; no reflow; ${results.map((r) => `${r.label}: ${r.inside} mark px inside, ${r.below} below`).join('; ')}`;
    });

    await check(`${E} overlay: follows the video into fullscreen, re-raised above it; the other target's mark covers the fullscreen element`, async () => {
      // Fullscreen: the video's container, from a real click (user activation).
      await b.evaluate(() => {
        const b = document.createElement('button');
        b.id = 'fs';
        b.textContent = 'fullscreen';
        b.style.cssText = 'position:fixed;right:4px;bottom:4px;z-index:10';
        b.onclick = () => document.getElementById('stage').requestFullscreen().catch((e) => { window.fsError = `${e.name}: ${e.message}`; });
        document.body.append(b);
        window.events.length = 0;
      });
      await enterFullscreen('#fs', () => b.evaluate(() => { flatMark.detach(); document.getElementById('fs').remove(); }));
      await b.evaluate(() => h.frames(4));
      // Each mark is removed in turn (the other target's mark first: it also covers the fullscreen element).
      const shotA = await shot();
      await b.evaluate(() => { flatMark.detach(); return h.frames(3); });
      const shotB = await shot();
      await b.evaluate(() => { mark.detach(); return h.frames(3); });
      const shotC = await shot();
      const fs = await b.evaluate(async ({ shotA, shotB, shotC, o }) => {
        const [a, b, c] = await Promise.all([h.pixels(shotA), h.pixels(shotB), h.pixels(shotC)]);
        const r = h.rectOf(document.getElementById('cam'));
        const all = { x: 0, y: 0, w: a.width, h: a.height };
        const out = { rect: h.rectOf(document.getElementById('stage')), cam: r, changed: h.diffCount(b, c, r), elsewhere: h.diffCount(b, c, all) - h.diffCount(b, c, r), flat: h.diffCount(a, b, all) - h.diffCount(a, b, r), events: window.events.map((e) => e.action) };
        window.mark = wm.Watermark.attach('#cam', { ...o, onEvent: log, failurePolicy: 'keep' });
        return out;
      }, { shotA, shotB, shotC, o: OPTS });
      await keep('fullscreen', shotA);
      await leaveFullscreen();
      await b.evaluate(() => { document.getElementById('fs').remove(); });
      if (fs.rect.w < 1000) throw new Error(`fullscreen element only ${fs.rect.w} px wide`);
      if (fs.changed < fs.cam.w * fs.cam.h * 0.03) throw new Error(`fullscreen: only ${fs.changed} mark pixels over the video`);
      if (fs.elsewhere !== 0) throw new Error(`fullscreen: ${fs.elsewhere} mark pixels outside the video`);
      // A fullscreen element that does not hold a mark's target may hold a copy of it: that mark covers it too.
      if (fs.flat < fs.rect.w * fs.rect.h * 0.02) throw new Error(`fullscreen: the other target's mark does not cover the fullscreen element (${fs.flat} px)`);
      if (!fs.events.includes('fullscreen')) throw new Error(`no fullscreen event: ${fs.events}`);
      return `fullscreen ${fs.rect.w}x${fs.rect.h}: ${fs.changed} mark px over the video (re-raised above it), none elsewhere, the other target's mark covers the fullscreen element too (${fs.flat} px: it may hold a copy)`;
    });

    await check(`${E} tamper: each action undone within ${RESTORE_LIMIT_MS} ms (page clock) and reported`, async () => {
      const r = await b.evaluate(async () => {
        // The host's parent is an app-chosen layer element here, so that removing and hiding it can be tested.
        mark.detach();
        const layer = document.getElementById('layer');
        window.mark = wm.Watermark.attach('#cam', { text: ['viewer u-7781'], opacity: 0.6, moveEverySeconds: 0, failurePolicy: 'keep', container: layer, onEvent: log });
        await h.frames(2);
        const out = [];
        const run = async (label, action, fn) => {
          await h.sleep(60);
          const res = await h.timedTamper(mark, events, action, fn);
          out.push({ label, ...res, event: undefined });
        };
        const host = () => mark.host;
        await run('remove the host', 'remove', () => host().remove());
        await run('display: none', 'style', () => { host().style.display = 'none'; });
        await run('visibility: hidden !important', 'style', () => host().style.setProperty('visibility', 'hidden', 'important'));
        await run('opacity: 0', 'style', () => { host().style.opacity = '0'; });
        await run('transform: scale(0)', 'style', () => { host().style.transform = 'scale(0)'; });
        await run('clip-path: inset(100%)', 'style', () => { host().style.clipPath = 'inset(100%)'; });
        await run('z-index: -1', 'style', () => { host().style.zIndex = '-1'; });
        await run('moved off-screen (left: -10000px)', 'style', () => { host().style.cssText += ';position:absolute !important;left:-10000px !important'; });
        await run('hidden attribute', 'style', () => { host().hidden = true; });
        await run('hidePopover()', 'popover-closed', () => host().hidePopover());
        await run('popover attribute removed', 'style', () => host().removeAttribute('popover'));
        await run("host's parent hidden (display: none)", 'hidden-ancestor', () => { host().parentElement.style.display = 'none'; });
        // The host left the hidden layer for the body; put it back in a fresh layer to remove that layer.
        const layer2 = document.createElement('div');
        document.body.append(layer2);
        mark.update({ container: layer2 });
        layer2.append(mark.host); // a move: restored into the container at once
        await h.sleep(60);
        await run("host's parent removed", 'parent-removed', () => layer2.remove());
        const cover = document.createElement('div');
        cover.style.cssText = 'position:fixed;left:0;top:0;width:100vw;height:100vh;background:#c00;z-index:2147483647';
        await run('covered by an element (z-index max)', 'cover', () => document.body.append(cover));
        const dlg = document.createElement('dialog');
        dlg.style.cssText = 'width:100vw;height:100vh;max-width:none;max-height:none;margin:0;padding:0;border:0;background:#0a0';
        document.body.append(dlg);
        await run('covered by a modal dialog (top layer)', 'cover', () => dlg.showModal());
        window.coverElements = [cover, dlg];
        return out;
      });
      // The screenshot must show the dialog (WebKit's may predate its first paint): only then is the mark's absence a hole.
      let coverShot = null;
      for (let i = 0; i < 10; i++) {
        coverShot = await shot();
        const dialogPainted = await b.evaluate(async (s) => {
          const img = await h.pixels(s);
          const r = h.rectOf(document.getElementById('cam'));
          return r.w * r.h - h.countUnlike(img, [[0, 0xaa, 0]], r, 20) > 0;
        }, coverShot);
        if (dialogPainted) break;
        await b.evaluate(() => h.frames(1));
      }
      await keep('over-modal-dialog', coverShot);
      const covered = await b.evaluate(async (s) => {
        const img = await h.pixels(s);
        const r = h.rectOf(document.getElementById('cam'));
        // The dialog is solid green over the solid red cover: anything else over the video is the mark, drawn above both.
        const n = h.countUnlike(img, [[0, 0xaa, 0], [0xcc, 0, 0]], r, 20);
        const [cover, dlg] = window.coverElements;
        dlg.close(); dlg.remove(); cover.remove();
        return n;
      }, coverShot);
      const remount = await b.evaluate(async () => {
        await h.sleep(60);
        const old = document.getElementById('cam');
        const fresh = document.createElement('video');
        fresh.id = 'cam';
        fresh.muted = true;
        fresh.autoplay = true;
        fresh.srcObject = old.srcObject;
        const res = await h.timedTamper(mark, events, 'target-replaced', () => old.replaceWith(fresh));
        return { label: 'target re-rendered (video element replaced)', ...res, event: undefined, follows: mark.target === fresh };
      });
      const sheet = await b.evaluate(async () => {
        const st = document.createElement('style');
        st.textContent = 'div[popover], body > div, div { display: none !important; opacity: 0 !important; visibility: hidden !important; transform: scale(0) !important; }';
        const host = mark.host;
        document.body.append(host); // make it match "body > div" too
        await h.sleep(60);
        document.head.append(st);
        await h.frames(2);
        const s = h.hostState(mark);
        st.remove();
        return s;
      });
      const all = [...r, remount];
      const lines = all.map((x) => `${x.label}: ${x.ms === null ? 'NOT REPORTED' : `${x.ms.toFixed(1)} ms`}${x.restored ? '' : ' (not restored)'}${x.healthy ? '' : ' (unhealthy after)'}${x.got ? ` got ${x.got}` : ''}`);
      const bad = all.filter((x) => x.ms === null || x.ms > RESTORE_LIMIT_MS + SLACK_MS || !x.restored || !x.healthy);
      if (!remount.follows) bad.push({ label: 'the mark did not follow the new target' });
      if (covered < 2000) bad.push({ label: `mark not visible over the modal dialog (${covered} px)` });
      if (!(sheet.display === 'block' && sheet.opacity === '1' && sheet.visibility === 'visible' && sheet.transform === 'none' && sheet.visible)) bad.push({ label: `a stylesheet reached the host: ${JSON.stringify(sheet)}` });
      const max = Math.max(...all.map((x) => x.ms ?? Infinity));
      stats.restores.push(...all.map((x) => x.ms ?? Infinity));
      console.log(`     measured restore+report latency, max ${max.toFixed(1)} ms:\n       ${lines.join('\n       ')}`);
      if (bad.length) throw new Error(bad.map((b) => b.label).join('; '));
      return `${all.length} actions, max ${max.toFixed(1)} ms (limit ${RESTORE_LIMIT_MS} ms); mark drawn over a modal dialog (${covered} px); !important stylesheet rules do not reach the host`;
    });

    await check(`${E} tamper: repeated tampering hides the target (failurePolicy "hide"), "keep" keeps it shown`, async () => {
      const r = await b.evaluate(async () => {
        const flat = document.getElementById('flat');
        const runAttack = async (policy) => {
          const ev = [];
          const m = wm.Watermark.attach(flat, { text: 'x', failurePolicy: policy, maxRestoreFailures: 5, recoverAfterMs: 400, onEvent: (e) => ev.push(e) });
          await h.frames(2);
          const attack = setInterval(() => m.host.remove(), 10);
          await h.sleep(300);
          const during = { blocked: m.blocked, visibility: getComputedStyle(flat).visibility };
          clearInterval(attack);
          await h.sleep(700);
          const after = { blocked: m.blocked, visibility: getComputedStyle(flat).visibility };
          m.detach();
          return { policy, during, after, removes: ev.filter((e) => e.action === 'remove').length, hide: ev.some((e) => e.action === 'hide-target'), shown: ev.some((e) => e.action === 'show-target') };
        };
        return [await runAttack('hide'), await runAttack('keep')];
      });
      const [hide, keep] = r;
      if (!hide.hide || !hide.during.blocked || hide.during.visibility !== 'hidden') throw new Error(`hide policy: ${JSON.stringify(hide)}`);
      if (hide.after.blocked || hide.after.visibility !== 'visible' || !hide.shown) throw new Error(`not shown again after the attack stopped: ${JSON.stringify(hide)}`);
      if (keep.hide || keep.during.visibility !== 'visible') throw new Error(`keep policy hid the target: ${JSON.stringify(keep)}`);
      return `hide: target hidden during the attack (${hide.removes} removals reported), shown again 400 ms after it; keep: ${keep.removes} removals reported, target stayed visible`;
    });

    // Issue "watermarks a page script cannot outlast": attacks that won a race
    // or outlived the checks. Each copy below is a solid #336699 block (like
    // #flat), so every pixel of another colour over it is the mark.
    // `rect` null: the whole screenshot. Resolves to {px, area}.
    const markOverShot = (s, rect) =>
      b.evaluate(async ({ s, rect }) => {
        const img = await h.pixels(s);
        const solid = { data: new Uint8ClampedArray(img.data.length), width: img.width };
        for (let i = 0; i < solid.data.length; i += 4) solid.data.set([0x33, 0x66, 0x99, 255], i);
        const r = rect ?? { x: 0, y: 0, w: img.width, h: img.height };
        return { px: h.diffCount(img, solid, r, 20), area: r.w * r.h };
      }, { s, rect });
    const markOver = async (rect) => (await markOverShot(await shot(), rect)).px;
    const copyStyle = 'position:fixed;left:700px;top:380px;width:400px;height:200px;margin:0;padding:0;border:0;background:#336699';
    const COPY = { x: 702, y: 382, w: 396, h: 196 };

    await check(`${E} page-script attacks: a fullscreen copy of the content is marked and reported`, async () => {
      await b.evaluate((copyStyle) => {
        window.pm = { events: [] };
        pm.mark = wm.Watermark.attach('#flat', { text: ['viewer u-7781'], opacity: 0.7, moveEverySeconds: 0, failurePolicy: 'keep', onEvent: (e) => pm.events.push(e) });
        const copy = document.createElement('div');
        copy.id = 'fscopy';
        copy.style.cssText = copyStyle;
        document.body.append(copy);
        const b = document.createElement('button');
        b.id = 'fsb';
        b.textContent = 'copy fullscreen';
        b.style.cssText = 'position:fixed;left:4px;bottom:4px;z-index:10';
        b.onclick = () => copy.requestFullscreen().catch((e) => { window.fsError = `${e.name}: ${e.message}`; });
        document.body.append(b);
        return h.frames(3);
      }, copyStyle);
      await enterFullscreen('#fsb', () => b.evaluate(() => { document.getElementById('fscopy').remove(); document.getElementById('fsb').remove(); }));
      await waitFor(() => document.fullscreenElement?.id === 'fscopy', null, 5000);
      await b.evaluate(() => h.frames(4));
      const s = await shot();
      await keep('fullscreen-copy', s);
      const { px, area } = await markOverShot(s, null);
      const r = await b.evaluate(async () => {
        const ev = pm.events.filter((e) => e.type === 'tamper').map((e) => `${e.action}:${e.detail?.kind ?? ''}`);
        return { ev };
      });
      await leaveFullscreen();
      await b.evaluate(() => { document.getElementById('fscopy').remove(); document.getElementById('fsb').remove(); });
      if (px < area * 0.02) throw new Error(`only ${px} mark pixels over the fullscreen copy`);
      if (!r.ev.includes('cover:fullscreen')) throw new Error(`not reported as a fullscreen cover: ${r.ev}`);
      return `${px} mark pixels over the fullscreen copy; reported ${r.ev.join(', ')}`;
    });

    await check(`${E} page-script attacks: every timer cleared, then a popover copy: marked at once, the stopped timers reported`, async () => {
      const r = await b.evaluate(async (copyStyle) => {
        pm.events.length = 0;
        // What a script can reach: every timeout, interval and animation-frame id of the page.
        const top = setTimeout(() => {}, 0);
        for (let i = 0; i <= top + 10_000; i++) {
          clearTimeout(i);
          clearInterval(i);
          cancelAnimationFrame(i);
        }
        const t0 = performance.now();
        const copy = h.popoverCopy('popcopy', copyStyle);
        await h.sleep(800);
        const at = (action) => {
          const e = pm.events.find((x) => x.action === action);
          return e ? Math.round(e.time - (performance.timeOrigin + t0)) : null;
        };
        return { cover: at('cover'), stopped: at('timers-stopped'), actions: pm.events.map((e) => e.action) };
      }, copyStyle);
      await b.evaluate(() => h.frames(2));
      const px = await markOver(COPY);
      await b.evaluate(() => document.getElementById('popcopy').remove());
      if (px < COPY.w * COPY.h * 0.02) throw new Error(`only ${px} mark pixels over the popover copy`);
      if (r.cover === null) throw new Error(`the popover copy was not reported: ${r.actions}`);
      if (r.stopped === null) throw new Error(`the stopped timers were not reported: ${r.actions}`);
      if (r.cover > RESTORE_LIMIT_MS + SLACK_MS) throw new Error(`cover reported after ${r.cover} ms`);
      return `${px} mark pixels over the popover copy; cover reported after ${r.cover} ms, stopped timers after ${r.stopped} ms (worker heartbeat)`;
    });

    await check(`${E} page-script attacks: a popover copy re-raised every 20 ms stays marked, and the loop escalates to the failure policy`, async () => {
      await b.evaluate((copyStyle) => {
        pm.mark.detach();
        pm.events.length = 0;
        pm.mark = wm.Watermark.attach('#flat', { text: ['viewer u-7781'], opacity: 0.7, moveEverySeconds: 0, failurePolicy: 'hide', recoverAfterMs: 600, onEvent: (e) => pm.events.push(e) });
        const copy = h.popoverCopy('loopcopy', copyStyle);
        pm.loop = setInterval(() => {
          copy.hidePopover();
          copy.showPopover();
        }, 20);
      }, copyStyle);
      const samples = [];
      for (let i = 0; i < 4; i++) {
        await b.evaluate(() => h.sleep(150));
        samples.push(await markOver(COPY));
      }
      const r = await b.evaluate(async () => {
        const during = { blocked: pm.mark.blocked, covers: pm.events.filter((e) => e.action === 'cover').length, hid: pm.events.some((e) => e.action === 'hide-target') };
        clearInterval(pm.loop);
        document.getElementById('loopcopy').remove();
        await h.sleep(900);
        return { during, after: pm.mark.blocked };
      });
      const low = samples.filter((n) => n < COPY.w * COPY.h * 0.02);
      if (low.length) throw new Error(`mark missing over the copy in ${low.length} of ${samples.length} screenshots (${samples.join(', ')} px)`);
      if (!r.during.hid || !r.during.blocked) throw new Error(`the loop did not escalate: ${JSON.stringify(r)}`);
      if (r.after) throw new Error('the target stayed hidden after the loop stopped');
      return `mark over the copy in ${samples.length}/${samples.length} screenshots (${samples.join(', ')} px); ${r.during.covers} covers reported, target hidden during the loop, shown again after`;
    });

    await check(`${E} page-script attacks: zoom: 2 on <html> keeps the mark at full density over the whole target`, async () => {
      await b.evaluate(() => { pm.mark.update({ failurePolicy: 'keep' }); window.scrollTo(0, 0); return h.frames(3); });
      const measure = async () => {
        // The target's rectangle on screen, from the screenshot (WebKit's getBoundingClientRect leaves out the zoom of <html>).
        await b.evaluate(() => { document.getElementById('flat').scrollIntoView({ block: 'start' }); return h.frames(3); });
        const rect = await b.evaluate(async (s) => h.boxOf(await h.pixels(s), [0x33, 0x66, 0x99], 20), await shot());
        const inner = { x: rect.x + 2, y: rect.y + 2, w: Math.min(rect.w, VIEW.width - rect.x) - 4, h: Math.min(rect.h, VIEW.height - rect.y) - 4 };
        const all = await markOver(inner);
        const top = await markOver({ x: inner.x, y: inner.y, w: inner.w, h: 70 });
        const left = await markOver({ x: inner.x, y: inner.y, w: 70, h: inner.h });
        return { rect, density: all / (inner.w * inner.h), top, left };
      };
      const one = await measure();
      await b.evaluate(() => { document.documentElement.style.zoom = '2'; return h.frames(4); });
      const two = await measure();
      await keep('zoom-2', await shot());
      await b.evaluate(() => { document.documentElement.style.zoom = ''; window.scrollTo(0, 0); return h.frames(3); });
      const ratio = two.density / one.density;
      if (two.rect.w < one.rect.w * 1.8) throw new Error(`zoom not applied (${one.rect.w} -> ${two.rect.w} px)`);
      if (ratio < 0.6 || ratio > 1.6) throw new Error(`mark density changed ${ratio.toFixed(2)}x under zoom 2`);
      if (two.top < 200 || two.left < 200) throw new Error(`unmarked strips along the edges under zoom 2 (top ${two.top} px, left ${two.left} px)`);
      return `density ${(one.density * 100).toFixed(1)}% at zoom 1, ${(two.density * 100).toFixed(1)}% at zoom 2 (${ratio.toFixed(2)}x); edge strips marked (top ${two.top}, left ${two.left} px)`;
    });

    await check(`${E} page-script attacks: two watermarks on one page do not report each other; transform: scale(0) on <body> or <html> is reported`, async () => {
      const r = await b.evaluate(async () => {
        const a = [];
        const b = [];
        const ma = wm.Watermark.attach('#phi', { text: 'a', failurePolicy: 'keep', onEvent: (e) => a.push(e) });
        const mb = wm.Watermark.attach('#flat', { text: 'b', failurePolicy: 'keep', onEvent: (e) => b.push({ ...e, at: performance.now() }) });
        await h.sleep(400);
        const cross = [...a, ...b].filter((e) => e.type === 'tamper').map((e) => e.action);
        const collapse = [];
        for (const el of [document.body, document.documentElement]) {
          const res = await h.timedTamper(mb, b, 'target-collapsed', () => { el.style.transform = 'scale(0)'; });
          collapse.push(res.ms === null ? null : Math.round(res.ms));
          el.style.transform = '';
          await h.sleep(100);
        }
        ma.detach();
        mb.detach();
        pm.mark.detach();
        return { cross, collapse };
      });
      if (r.cross.length) throw new Error(`two watermarks reported: ${r.cross}`);
      if (r.collapse.some((ms) => ms === null || ms > RESTORE_LIMIT_MS + SLACK_MS)) throw new Error(`scale(0) reports: ${JSON.stringify(r.collapse)} ms`);
      return `no tamper report between two marks in 400 ms (and the ones above); scale(0) on <body> reported after ${r.collapse[0]} ms, on <html> after ${r.collapse[1]} ms`;
    });

    // Burned-in tracks: every path this engine offers, its frames drawn to a
    // canvas and decoded (mark pixels, forensic id), a recording of the
    // marked track decoded the same way, and size and frame rate against the
    // fake camera.
    const burn = await b.evaluate(async (ID) => {
      const support = wm.watermarkTrackSupport();
      if (support === null) {
        const cam = window.camStream.getVideoTracks()[0];
        try {
          wm.watermarkTrack(cam, { text: 'x' });
          return { support, refused: 'no error' };
        } catch (e) {
          return { support, refused: e.code ?? String(e) };
        }
      }
      // A flat grey source, so every changed pixel is the mark; and the fake camera for frame rate and size.
      const src = document.createElement('canvas');
      src.width = 640; src.height = 360;
      const sctx = src.getContext('2d');
      const paint = () => { sctx.fillStyle = '#777'; sctx.fillRect(0, 0, 640, 360); sctx.fillStyle = '#787878'; sctx.fillRect(Math.random() * 4, 0, 1, 1); };
      paint();
      const srcStream = src.captureStream(30);
      const painter = setInterval(paint, 33);
      const grey = (n) => {
        const g = { data: new Uint8ClampedArray(n * 4), width: 0 };
        for (let i = 0; i < g.data.length; i += 4) g.data.set([0x77, 0x77, 0x77, 255], i);
        return g;
      };
      const decodeImage = async (img) => {
        const g = { ...grey(img.width * img.height), width: img.width };
        return { size: [img.width, img.height], marked: h.diffCount(img, g, { x: 0, y: 0, w: img.width, h: img.height }, 20), total: img.width * img.height, decoded: wm.decodeForensicMark(img)?.id ?? null, png: await h.pngOf(img) };
      };
      const frameOf = (v) => {
        const c = new OffscreenCanvas(v.videoWidth, v.videoHeight);
        const ctx = c.getContext('2d', { willReadFrequently: true });
        ctx.drawImage(v, 0, 0);
        return ctx.getImageData(0, 0, c.width, c.height);
      };
      // A 1.5 s recording of `track`, played back, one frame decoded; or why there is none.
      const record = async (track) => {
        if (typeof MediaRecorder !== 'function') return { error: 'no MediaRecorder' };
        const type = ['video/webm;codecs=vp8', 'video/webm', 'video/mp4'].find((t) => MediaRecorder.isTypeSupported(t));
        if (!type) return { error: 'MediaRecorder supports none of video/webm, video/mp4' };
        const rec = new MediaRecorder(new MediaStream([track]), { mimeType: type, videoBitsPerSecond: 4e6 });
        const chunks = [];
        rec.ondataavailable = (e) => e.data.size && chunks.push(e.data);
        rec.start();
        await h.sleep(1500);
        await new Promise((res) => { rec.onstop = res; rec.stop(); });
        const blob = new Blob(chunks, { type: type.split(';')[0] });
        const pv = document.createElement('video');
        pv.muted = true; pv.src = URL.createObjectURL(blob);
        try {
          await Promise.race([pv.play(), h.sleep(4000).then(() => { throw new Error('play() did not settle in 4 s'); })]);
        } catch (e) {
          return { type, bytes: blob.size, error: `the recording does not play: ${e.message ?? e}` };
        }
        await h.sleep(400); pv.pause();
        if (!pv.videoWidth) return { type, bytes: blob.size, error: 'the recording has no video frames' };
        return { type, bytes: blob.size, ...(await decodeImage(frameOf(pv))) };
      };
      const methods = support === 'processor' ? ['processor', 'canvas'] : ['canvas'];
      const results = {};
      let recorded = null;
      for (const method of methods) {
        const out = wm.watermarkTrack(srcStream.getVideoTracks()[0], { text: ['viewer u-7781', 'Dr. Ana Lee'], opacity: 0.7, method, forensic: { id: ID, strength: 0.03 } });
        const v = document.createElement('video');
        v.muted = true; v.srcObject = new MediaStream([out]); await v.play();
        while (v.videoWidth === 0) await h.sleep(20);
        await h.sleep(500);
        const frame = await decodeImage(frameOf(v));
        // The path 'auto' picks here is the one recorded.
        if (method === support) {
          recorded = await record(out);
          // No video in the recording: does this engine record a canvas track at all, watermark or not?
          if (recorded.error) recorded.unmarked = await record(srcStream.getVideoTracks()[0]);
        }
        const stats = out.watermarkStats();
        out.stop();
        results[method] = { ...frame, stats: { method: stats.method, frames: stats.frames, avgMs: stats.avgMs, maxMs: stats.maxMs } };
      }
      clearInterval(painter);
      // Frame rate and size against the fake camera.
      const camTrack = window.camStream.getVideoTracks()[0];
      const count = async (track) => {
        const v = document.createElement('video'); v.muted = true; v.srcObject = new MediaStream([track]); await v.play();
        let n = 0; const t0 = performance.now();
        const cb = () => { n++; if (performance.now() - t0 < 2000) v.requestVideoFrameCallback(cb); };
        v.requestVideoFrameCallback(cb);
        await h.sleep(2100);
        return { fps: n / 2, size: [v.videoWidth, v.videoHeight] };
      };
      const marked = wm.watermarkTrack(camTrack, { text: 'viewer u-7781' });
      const [a, bb] = await Promise.all([count(camTrack), count(marked)]);
      const settings = camTrack.getSettings();
      const st = marked.watermarkStats();
      marked.stop();
      return { support, results, recorded, cam: { fps: a.fps, size: a.size, settingsFps: settings.frameRate }, out: { fps: bb.fps, size: bb.size }, camStats: { method: st.method, frames: st.frames, avgMs: st.avgMs } };
    }, ID).catch((e) => ({ error: e.message }));
    const burnCheck = (path) => async () => {
      if (burn.error) throw new Error(burn.error);
      if (burn.support === null) throw new NotApplicable(`no burn-in path here (no MediaStreamTrackProcessor, no canvas.captureStream with requestVideoFrameCallback); watermarkTrack refuses with ${burn.refused}`);
      const x = burn.results[path];
      if (!x) throw new NotApplicable(`no MediaStreamTrackProcessor with VideoTrackGenerator/MediaStreamTrackGenerator in this engine (watermarkTrack uses the canvas fallback, checked below)`);
      await keep(`burned-${path}-frame`, x.png);
      const problems = [];
      if (x.size.join() !== '640,360') problems.push(`size ${x.size}`);
      if (x.marked < x.total * 0.02) problems.push(`only ${x.marked} mark pixels`);
      if (x.decoded !== ID) problems.push(`forensic id ${x.decoded}`);
      const want = path === 'processor' ? 'processor-worker' : 'canvas';
      if (x.stats.method !== want || !(x.stats.frames > 0)) problems.push(`not the ${want} path: ${JSON.stringify(x.stats)}`);
      if (problems.length) throw new Error(`${problems.join('; ')} ${JSON.stringify({ ...x, png: undefined })}`);
      return `${x.stats.method}: a frame drawn to a canvas has ${x.marked}/${x.total} px marked, forensic id decoded; ${x.stats.avgMs.toFixed(2)} ms/frame at 640x360 over ${x.stats.frames} frames`;
    };
    await check(`${E} burned-in track, MediaStreamTrackProcessor path (in a worker): the mark and the forensic id decoded from its frames`, burnCheck('processor'));
    await check(`${E} burned-in track, canvas fallback (method: 'canvas'): the mark and the forensic id decoded from its frames`, burnCheck('canvas'));
    await check(`${E} burned-in track: a MediaRecorder recording of the marked track, played back, shows the mark`, async () => {
      if (burn.error) throw new Error(burn.error);
      if (burn.support === null) throw new NotApplicable('no burn-in path here (see above)');
      const r = burn.recorded;
      if (r.error) {
        if (r.unmarked?.error) throw new NotApplicable(`this engine's MediaRecorder gives no playable video of a canvas track, watermark or not (marked: ${r.type ?? ''} ${r.bytes ?? 0} bytes, ${r.error}; unmarked: ${r.unmarked.type ?? ''} ${r.unmarked.bytes ?? 0} bytes, ${r.unmarked.error})`);
        throw new Error(`the marked track records no video (${r.type} ${r.bytes} bytes: ${r.error}) though the unmarked one does (${r.unmarked.bytes} bytes)`);
      }
      await keep(`burned-${burn.support}-recording-frame`, r.png);
      if (r.marked < 2000) throw new Error(`recording: only ${r.marked} mark pixels ${JSON.stringify({ ...r, png: undefined })}`);
      return `${burn.support} path, ${r.type} ${r.size.join('x')} (${r.bytes} bytes in 1.5 s): ${r.marked} px marked, forensic id ${r.decoded === ID ? 'decoded' : 'not decoded (not required after lossy coding)'}`;
    });
    await check(`${E} burned-in track: same size and frame rate as the fake camera`, async () => {
      if (burn.error) throw new Error(burn.error);
      if (burn.support === null) throw new NotApplicable('no burn-in path here (see above)');
      if (burn.out.size.join() !== burn.cam.size.join()) throw new Error(`camera size ${burn.cam.size} → ${burn.out.size}`);
      if (burn.out.fps < burn.cam.fps * 0.8) throw new Error(`frame rate ${burn.cam.fps} → ${burn.out.fps}`);
      return `fake camera ${burn.cam.size.join('x')} ${burn.cam.fps} fps → ${burn.out.size.join('x')} ${burn.out.fps} fps (${burn.camStats.method}, ${burn.camStats.avgMs.toFixed(2)} ms/frame)`;
    });

    await check(`${E} forensic mark: the id is decoded from a screenshot, a JPEG q70 of it, and scaled copies; not from an unmarked one`, async () => {
      const before = await b.evaluate(async () => { mark.detach(); document.getElementById('cam').pause(); await h.frames(2); return null; });
      void before;
      const unmarked = await shot();
      await b.evaluate((ID) => {
        window.fmarks = [
          wm.Watermark.attach('#cam', { text: 'viewer u-7781', opacity: 0.35, forensic: { id: ID }, failurePolicy: 'keep' }),
          wm.Watermark.attach('#phi', { text: 'viewer u-7781', opacity: 0.2, forensic: { id: ID }, failurePolicy: 'keep' }),
        ];
        return h.frames(3);
      }, ID);
      const marked = await shot();
      await keep('forensic', marked);
      const r = await b.evaluate(async ({ marked, unmarked, ID }) => {
        const img = await h.pixels(marked);
        const clean = await h.pixels(unmarked);
        const out = [];
        for (const [label, t] of [['screenshot (PNG)', {}], ['JPEG q70', { jpeg: 0.7 }], ['scaled 0.5x + JPEG q70', { scale: 0.5, jpeg: 0.7 }], ['scaled 0.75x', { scale: 0.75 }], ['scaled 1.5x + JPEG q70', { scale: 1.5, jpeg: 0.7 }]]) {
          const x = await h.transform(img, t);
          const t0 = performance.now();
          const d = wm.decodeForensicMark(x);
          out.push({ label, id: d?.id ?? null, confidence: d?.confidence, scale: d?.scale, ms: performance.now() - t0, bitErrors: wm.forensicBitErrors(x, ID) });
        }
        const none = [wm.decodeForensicMark(clean), wm.decodeForensicMark(await h.transform(clean, { jpeg: 0.7 }))];
        for (const m of fmarks) m.detach();
        return { out, none: none.map((d) => d?.id ?? null) };
      }, { marked, unmarked, ID });
      const bad = r.out.filter((x) => x.id !== ID);
      const table = r.out.map((x) => `${x.label}: ${x.id === ID ? 'ok' : 'FAILED'} (bit errors ${x.bitErrors}/48, confidence ${x.confidence}, scale ${x.scale?.toFixed(3)}, ${x.ms.toFixed(0)} ms)`).join('; ');
      if (bad.length || r.none.some((x) => x !== null)) throw new Error(`${table}; unmarked: ${r.none}`);
      return `${table}; unmarked screenshot and its JPEG: no id`;
    });
  } finally {
    await b.close();
  }
  const wall = ((Date.now() - t0) / 1000).toFixed(1);
  const max = stats.restores.length ? Math.max(...stats.restores) : NaN;
  const line = `${E}: ${stats.passed} passed, ${stats.failed} failed, ${stats.na} not applicable; tamper restore+report max ${max.toFixed(1)} ms over ${stats.restores.length} timed actions (limit ${RESTORE_LIMIT_MS} ms); ${stats.shots} screenshots in ${SHOTS}/; wall time ${wall} s`;
  console.log(line);
  return line;
}

const server = await serve();
let summary;
try {
  summary = await runEachEngine(engineNames, TIME_LIMIT_MS, (name) => runEngine(name, server.url), report);
} finally {
  await server.close();
}
for (const line of summary.length > 1 ? summary : []) console.log(line);
console.log(`watermark: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
