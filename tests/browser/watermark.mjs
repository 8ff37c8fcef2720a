// Watermarks (js/watermark.js) in headless Chromium: the overlay's pixels in
// screenshots of a fake-camera video, the clock and the shift schedule,
// following scroll/resize/fullscreen, tamper actions undone within 100 ms
// (measured in the page) and reported, the hide policy, burned-in tracks
// (processor and canvas paths, drawn and recorded), and the forensic id
// recovered from screenshots (PNG, JPEG q70, scaled).
// Prints one line per test and "watermark: N passed, M failed".
import { runSuite } from '../support/chromium.mjs';

const RESTORE_LIMIT_MS = 100;
const SLACK_MS = 15; // two shared cores: timers may run late
const ID = 0x5e55_10a7;

await runSuite('watermark', { timeoutMs: 170_000, permissions: ['camera'] }, async ({ page, url, check }) => {
  await page.setViewportSize({ width: 1280, height: 720 });
  await page.goto(`${url}/tests/browser/watermark.html`);
  await page.waitForFunction(() => window.watermarkReady === true, null, { timeout: 20_000 });
  const shot = async (clip) => (await page.screenshot(clip ? { clip } : {})).toString('base64');
  const cam = await page.evaluate(async () => {
    const size = await h.startCamera();
    window.events = [];
    window.log = (e) => window.events.push({ ...e, at: performance.now() });
    return size;
  });
  console.log(`fake camera ${cam.width}x${cam.height}`);

  const OPTS = { text: ['viewer u-7781', 'Dr. Ana Lee', 'Northside Clinic'], opacity: 0.6, fontSize: 16, density: 1.6, moveEverySeconds: 0 };

  await check('overlay: a screenshot of the fake-camera video shows the mark, its text in several tiles', async () => {
    await page.evaluate(() => { document.getElementById('cam').pause(); });
    await page.evaluate(() => h.frames(3));
    const before = await shot();
    await page.evaluate((o) => { window.mark = wm.Watermark.attach('#cam', { ...o, onEvent: log, failurePolicy: 'keep' }); return h.frames(3); }, OPTS);
    const after = await shot();
    const r = await page.evaluate(async ({ before, after, o }) => {
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
    if (good < 4) throw new Error(`text found in ${good} tiles (correlations ${r.tiles.join(', ')})`);
    if (!/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/.test(r.lines.at(-1))) throw new Error(`no time line: ${r.lines}`);
    return `${r.mode}; ${r.inside} of ${r.area} pixels changed, none outside; text in ${good}/${r.tiles.length} whole tiles (correlation ${Math.min(...r.tiles.filter((c) => c > 0.5))}–${Math.max(...r.tiles)}); lines ${JSON.stringify(r.lines)}`;
  });

  await check('overlay: the time in the mark changes every second, the pattern shifts on its schedule', async () => {
    const rect = await page.evaluate(() => h.rectOf(document.getElementById('cam')));
    const l1 = await page.evaluate(() => mark.layout.lines.at(-1));
    const s1 = await shot();
    await page.waitForFunction((l) => mark.layout.lines.at(-1) !== l, l1, { timeout: 3000 });
    await page.evaluate(() => h.frames(2));
    const s2 = await shot();
    const l2 = await page.evaluate(() => mark.layout.lines.at(-1));
    const changed = await page.evaluate(async ({ s1, s2, rect }) => h.diffCount(await h.pixels(s1), await h.pixels(s2), rect), { s1, s2, rect });
    if (changed === 0) throw new Error('the screenshot did not change with the time');
    // Shift schedule: every second here.
    const c1 = await page.evaluate(() => { mark.update({ moveEverySeconds: 1 }); return mark.layout.offset; });
    await page.waitForFunction((c) => mark.layout.offset[0] !== c[0], c1, { timeout: 3000 });
    const c2 = await page.evaluate(() => { const o = mark.layout.offset; mark.update({ moveEverySeconds: 0 }); return o; });
    return `"${l1}" → "${l2}": ${changed} pixels changed; offset (${c1.map((v) => v.toFixed(2))}) → (${c2.map((v) => v.toFixed(2))}) of a tile`;
  });

  await check('overlay: clicks pass through, no reflow, follows scrolling, resizing and fullscreen', async () => {
    const r = await page.evaluate(async () => {
      const flat = document.getElementById('flat');
      const layoutBefore = [...document.body.children].map((e) => JSON.stringify(e.getBoundingClientRect()));
      const m = wm.Watermark.attach(flat, { text: 'follow me', opacity: 0.8, moveEverySeconds: 0, failurePolicy: 'keep' });
      await h.frames(2);
      const layoutAfter = [...document.body.children].filter((e) => e !== m.host).map((e) => JSON.stringify(e.getBoundingClientRect()));
      window.flatMark = m;
      return { reflow: layoutBefore.join() !== layoutAfter.join() };
    });
    if (r.reflow) throw new Error('attaching moved elements of the page');
    const fr = await page.evaluate(() => {
      window.flatClicks = 0;
      document.getElementById('flat').onclick = () => window.flatClicks++;
      return h.rectOf(document.getElementById('flat'));
    });
    await page.mouse.click(fr.x + fr.w / 2, fr.y + fr.h / 2);
    const clicks = await page.evaluate(() => window.flatClicks);
    if (clicks !== 1) throw new Error(`a click on the marked target reached it ${clicks} times`);
    // Pixels: mark inside the target's rectangle, nothing around it, after each move.
    const inspect = async (label) => {
      await page.evaluate(() => h.frames(3));
      const s = await shot();
      return page.evaluate(async ({ s, label }) => {
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
    await page.evaluate(() => window.scrollBy(0, 180));
    results.push(await inspect('scrolled 180 px'));
    await page.evaluate(() => { document.getElementById('flat').style.width = '520px'; });
    results.push(await inspect('resized to 520 px'));
    await page.evaluate(() => { window.scrollTo(0, 0); document.getElementById('flat').style.width = ''; });
    for (const r of results) {
      if (r.inside < 300) throw new Error(`${r.label}: only ${r.inside} mark pixels over the target`);
      if (r.below > 0) throw new Error(`${r.label}: ${r.below} mark pixels below the target (not following)`);
    }
    // Fullscreen: the video's container, from a real click (user activation).
    await page.evaluate(() => {
      const b = document.createElement('button');
      b.id = 'fs';
      b.textContent = 'fullscreen';
      b.style.cssText = 'position:fixed;right:4px;bottom:4px;z-index:10';
      b.onclick = () => document.getElementById('stage').requestFullscreen();
      document.body.append(b);
      window.events.length = 0;
    });
    await page.click('#fs');
    await page.waitForFunction(() => document.fullscreenElement !== null, null, { timeout: 5000 });
    await page.evaluate(() => h.frames(4));
    const shotA = await shot();
    await page.evaluate(() => { mark.detach(); return h.frames(3); });
    const shotB = await shot();
    await page.evaluate(() => { flatMark.detach(); return h.frames(3); });
    const shotC = await shot();
    const fs = await page.evaluate(async ({ shotA, shotB, shotC, o }) => {
      const [a, b, c] = await Promise.all([h.pixels(shotA), h.pixels(shotB), h.pixels(shotC)]);
      const r = h.rectOf(document.getElementById('cam'));
      const all = { x: 0, y: 0, w: a.width, h: a.height };
      const out = { rect: h.rectOf(document.getElementById('stage')), cam: r, changed: h.diffCount(a, b, r), elsewhere: h.diffCount(a, b, all) - h.diffCount(a, b, r), flat: h.diffCount(b, c, all), events: window.events.map((e) => e.action) };
      window.mark = wm.Watermark.attach('#cam', { ...o, onEvent: log, failurePolicy: 'keep' });
      return out;
    }, { shotA, shotB, shotC, o: OPTS });
    await page.evaluate(() => document.exitFullscreen());
    await page.waitForFunction(() => document.fullscreenElement === null, null, { timeout: 5000 });
    await page.evaluate(() => { document.getElementById('fs').remove(); });
    if (fs.rect.w < 1000) throw new Error(`fullscreen element only ${fs.rect.w} px wide`);
    if (fs.changed < fs.cam.w * fs.cam.h * 0.03) throw new Error(`fullscreen: only ${fs.changed} mark pixels over the video`);
    if (fs.elsewhere !== 0) throw new Error(`fullscreen: ${fs.elsewhere} mark pixels outside the video`);
    if (fs.flat !== 0) throw new Error(`fullscreen: the mark of a target outside the fullscreen element shows (${fs.flat} px)`);
    if (!fs.events.includes('fullscreen')) throw new Error(`no fullscreen event: ${fs.events}`);
    return `click reached the target; no reflow; ${results.map((r) => `${r.label}: ${r.inside} mark px inside, ${r.below} below`).join('; ')}; fullscreen ${fs.rect.w}x${fs.rect.h}: ${fs.changed} mark px over the video (re-raised above it), none elsewhere, the other target's mark hidden`;
  });
});
