// One browser, three engines: the harness the engine-agnostic browser suites
// share. `openEngine(name)` starts one browser for a whole suite and returns
//
//   { name, version, goto(url), evaluate(fnSource, ...args), screenshot(), close(),
//     setViewport(width, height), click(selector), clickAt(x, y) }
//
// (setViewport resolves to the viewport obtained, {width, height} in CSS px;
// click and clickAt are real pointer input, so they give user activation.)
//
// - 'chromium': the system /usr/bin/chromium through playwright-core (flags
//   from ../shared/BROWSER-TESTING.md, fresh profile), as tests/support/
//   chromium.mjs does;
// - 'firefox': Debian's firefox-esr through geckodriver (cargo install), headless,
//   fake camera and microphone, no permission prompts;
// - 'webkit': Debian's WebKitGTK MiniBrowser through WebKitWebDriver, under
//   xvfb-run (MiniBrowser needs an X display even when headless), mock capture
//   devices.
// Firefox and WebKit are driven with plain W3C WebDriver over HTTP
// (playwright-core cannot drive these builds). `evaluate` takes the source of
// a function (string or function), runs it in the page with the JSON args
// and resolves with its (awaited, JSON) result; a thrown error or rejection
// rejects. `screenshot()` resolves to the viewport as a base64 PNG.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';

export const GECKODRIVER = process.env.GECKODRIVER ?? join(process.env.CARGO_HOME ?? join(homedir(), '.cargo'), 'bin/geckodriver');
export const FIREFOX = process.env.FIREFOX ?? '/usr/bin/firefox-esr';
export const WEBKITDRIVER = process.env.WEBKITDRIVER ?? '/usr/bin/WebKitWebDriver';
export const MINIBROWSER = ['/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser', '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.0/MiniBrowser'].find(existsSync);
const XVFB_RUN = '/usr/bin/xvfb-run';

/** Process groups of the WebDriver servers started (each kills its browser and Xvfb with it). */
export const drivers = new Set();

/** Kills every driver still running (a time-out handler calls this). */
export function killDrivers(signal = 'SIGKILL') {
  for (const pid of drivers) {
    try {
      process.kill(-pid, signal);
    } catch {
      // already gone
    }
  }
  drivers.clear();
}

export const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

/** One W3C WebDriver command; resolves to its `value`. */
export async function wd(base, method, path, body) {
  const r = await fetch(`${base}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const j = await r.json();
  if (!r.ok) throw new Error(`${method} ${path}: ${j.value?.error ?? r.status} ${j.value?.message ?? ''}`.trim());
  return j.value;
}

/** The WebDriver engines: how to start the driver and which capabilities to ask for. */
export const WEBDRIVER_ENGINES = {
  firefox: {
    label: 'Firefox',
    available: () => existsSync(GECKODRIVER) && existsSync(FIREFOX),
    missing: () => `${GECKODRIVER} and ${FIREFOX} (make tool-engines)`,
    driver: (port) => [GECKODRIVER, '--host', '127.0.0.1', '--port', String(port)],
    capabilities: ({ media = false } = {}) => ({
      browserName: 'firefox',
      'moz:firefoxOptions': {
        binary: FIREFOX,
        args: ['-headless'],
        prefs: media
          ? {
              'media.navigator.streams.fake': true,
              'media.navigator.permission.disabled': true,
              'media.autoplay.default': 0,
              'media.autoplay.blocking_policy': 0,
              'media.autoplay.block-webaudio': false,
              'webgl.force-enabled': true,
              'dom.disable_open_during_load': false,
            }
          : {},
      },
    }),
  },
  webkit: {
    label: 'WebKit',
    available: () => existsSync(WEBKITDRIVER) && MINIBROWSER !== undefined && existsSync(XVFB_RUN),
    missing: () => `${WEBKITDRIVER}, MiniBrowser and xvfb-run (make tool-engines)`,
    // WebKitGTK's MiniBrowser needs an X display even with --headless: Xvfb.
    // options.xvfbScreen ('WxHxDEPTH'): the Xvfb screen (xvfb-run's default is 640x480x8).
    driver: (port, { xvfbScreen } = {}) => [XVFB_RUN, '-a', ...(xvfbScreen ? ['-s', `-screen 0 ${xvfbScreen}`] : []), WEBKITDRIVER, '--host=127.0.0.1', `--port=${port}`],
    capabilities: ({ media = false } = {}) => ({
      browserName: 'MiniBrowser',
      'webkitgtk:browserOptions': {
        binary: MINIBROWSER,
        args: ['--automation', ...(media ? ['--enable-mock-capture-devices=true', '--enable-media-stream=true', '--enable-webrtc=true', '--enable-media-capabilities=true'] : [])],
      },
    }),
  },
};

/**
 * Starts a WebDriver server and one session. Resolves to {base, session, stop()}.
 * `options.media`: fake capture devices and no permission prompts.
 */
export async function startWebDriver(name, options = {}) {
  const e = WEBDRIVER_ENGINES[name];
  if (!e.available()) throw new Error(`${e.label}: not installed: ${e.missing()}`);
  const port = await freePort();
  const [cmd, ...args] = e.driver(port, options);
  const driver = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], env: process.env, detached: true });
  drivers.add(driver.pid);
  let stderr = '';
  driver.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  const base = `http://127.0.0.1:${port}`;
  let session = null;
  const stop = async () => {
    if (session) await wd(base, 'DELETE', `/session/${session}`).catch(() => {});
    session = null;
    try {
      process.kill(-driver.pid, 'SIGTERM'); // the driver, its browser and (WebKit) Xvfb
    } catch {
      // already gone
    }
    drivers.delete(driver.pid);
  };
  try {
    for (let i = 0; ; i++) {
      try {
        await wd(base, 'GET', '/status');
        break;
      } catch (err) {
        if (i > 100) throw new Error(`${e.label} driver did not start: ${err.message} ${stderr.slice(-500)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    session = (await wd(base, 'POST', '/session', { capabilities: { alwaysMatch: e.capabilities(options) } })).sessionId;
    await wd(base, 'POST', `/session/${session}/timeouts`, { script: options.scriptTimeoutMs ?? 120_000, pageLoad: 60_000 });
    return { base, session, label: e.label, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

const ELEMENT_KEY = 'element-6066-11e4-a52e-4f735466cecf';

// Runs the function source in the page with the args; reports {ok} or {error}
// to the WebDriver callback, so a rejection becomes a rejection in Node.
const ASYNC_WRAPPER = `const done = arguments[arguments.length - 1];
const args = [];
for (let i = 0; i < arguments.length - 2; i++) args[i] = arguments[i + 1];
new Promise((resolve) => resolve((0, eval)('(' + arguments[0] + ')')(...args))).then(
  (v) => done({ ok: v === undefined ? null : v }),
  (e) => done({ error: String(e && e.stack ? e.name + ': ' + e.message : e) }),
);`;

async function openWebDriver(name, options) {
  const { base, session, label, stop } = await startWebDriver(name, options);
  const s = `/session/${session}`;
  const evaluate = async (fn, ...args) => {
    const r = await wd(base, 'POST', `${s}/execute/async`, { script: ASYNC_WRAPPER, args: [String(fn), ...args] });
    if (r && 'error' in r) throw new Error(r.error);
    return r?.ok ?? null;
  };
  const version = await wd(base, 'POST', `${s}/execute/sync`, { script: 'return navigator.userAgent', args: [] });
  return {
    name,
    label,
    version,
    goto: (url) => wd(base, 'POST', `${s}/url`, { url }),
    evaluate,
    screenshot: () => wd(base, 'GET', `${s}/screenshot`),
    setViewport: async (width, height) => {
      // The window's rect includes its frame: grow it by what the viewport lacks.
      const inner = () => wd(base, 'POST', `${s}/execute/sync`, { script: 'return [innerWidth, innerHeight]', args: [] });
      let [w, h] = [width, height];
      for (let i = 0; i < 3; i++) {
        await wd(base, 'POST', `${s}/window/rect`, { width: w, height: h });
        const [iw, ih] = await inner();
        if (iw === width && ih === height) break;
        [w, h] = [w + width - iw, h + height - ih];
      }
      const [iw, ih] = await inner();
      return { width: iw, height: ih };
    },
    click: async (selector) => {
      const el = await wd(base, 'POST', `${s}/element`, { using: 'css selector', value: selector });
      await wd(base, 'POST', `${s}/element/${el[ELEMENT_KEY]}/click`, {});
    },
    clickAt: async (x, y) => {
      const actions = [{ type: 'pointer', id: 'mouse', parameters: { pointerType: 'mouse' }, actions: [
        { type: 'pointerMove', x: Math.round(x), y: Math.round(y), origin: 'viewport', duration: 0 },
        { type: 'pointerDown', button: 0 },
        { type: 'pointerUp', button: 0 },
      ] }];
      await wd(base, 'POST', `${s}/actions`, { actions });
      await wd(base, 'DELETE', `${s}/actions`).catch(() => {});
    },
    close: stop,
  };
}

async function openChromium(options) {
  const { chromium } = await import('playwright-core');
  const { CHROMIUM_ARGS } = await import('./chromium.mjs');
  const userDataDir = await mkdtemp(join(tmpdir(), 'phiseal-chromium-engine-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: [...CHROMIUM_ARGS, ...(options.extraArgs ?? [])],
    headless: true,
    permissions: options.media ? ['camera', 'microphone'] : [],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (e) => console.error('page error:', e.message));
  return {
    name: 'chromium',
    label: 'Chromium',
    version: await page.evaluate(() => navigator.userAgent),
    goto: (url) => page.goto(url),
    evaluate: (fn, ...args) => page.evaluate(([src, a]) => (0, eval)(`(${src})`)(...a), [String(fn), args]),
    screenshot: async () => (await page.screenshot()).toString('base64'),
    setViewport: async (width, height) => {
      await page.setViewportSize({ width, height });
      return page.evaluate(() => ({ width: innerWidth, height: innerHeight }));
    },
    click: (selector) => page.click(selector),
    clickAt: (x, y) => page.mouse.click(x, y),
    page,
    close: async () => {
      await context.close().catch(() => {});
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Opens `name` ('chromium', 'firefox' or 'webkit') for a suite.
 * options: {media: fake camera/microphone, no prompts; extraArgs: more Chromium flags; scriptTimeoutMs}.
 */
export function openEngine(name, options = {}) {
  if (name === 'chromium') return openChromium(options);
  if (name in WEBDRIVER_ENGINES) return openWebDriver(name, options);
  throw new Error(`unknown engine ${name} (chromium, firefox, webkit)`);
}

/**
 * Runs `run(name)` for each engine in turn, each within its time limit
 * (`limits[name]`, default 300 s; on a time-out every driver is killed and
 * the engines after it are skipped). A failure is reported as
 * `report("NAME: suite", false, message)`. Resolves to what each run gave.
 */
export async function runEachEngine(names, limits, run, report) {
  const summary = [];
  for (const name of names) {
    const limit = limits[name] ?? 300_000;
    let timer = null;
    const killer = new Promise((_, reject) => {
      timer = setTimeout(() => {
        killDrivers();
        reject(new Error(`${name}: timed out (${limit / 1000} s)`));
      }, limit);
    });
    try {
      summary.push(await Promise.race([run(name), killer]));
    } catch (e) {
      report(`${name}: suite`, false, e.message);
      if (/timed out/.test(e.message)) break;
    } finally {
      clearTimeout(timer);
    }
  }
  return summary;
}
