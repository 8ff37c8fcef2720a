// The npm package as a frontend developer meets it: `npm pack`, install the
// tarball into fresh temporary apps (offline: phiseal has no dependencies),
// then run the same smoke app in headless Chromium three ways: plain ES
// modules from a static server (an import map generated from the package's
// `exports`), a Vite production build, and a webpack 5 production build. Each
// must seal records (signed by an author key made in the page) and open them
// against the expected id, context and author (refusing another), keep an
// audit log, start the media worker, run encrypted streams and load the guard
// and watermark; an app importing only
// 'phiseal/fields' must load the lean wasm build alone.
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runSuite } from '../support/chromium.mjs';
import { ROOT, importMap, installInto, pack, pkgJson } from '../support/package.mjs';
import { serve } from '../support/serve.mjs';

const HERE = fileURLToPath(new URL('./', import.meta.url));

const html = (title, body) => `<!doctype html><meta charset="utf-8"><title>${title}</title>${body}`;

/** A fresh app with the tarball installed (offline) and the two smoke entries. */
async function makeApp(dir, tarball) {
  await installInto(dir, tarball);
  await mkdir(join(dir, 'src'), { recursive: true });
  await copyFile(join(HERE, 'app-main.js'), join(dir, 'src/main.js'));
  await copyFile(join(HERE, 'app-fields.js'), join(dir, 'src/fields.js'));
}

async function vite(dir) {
  const { build } = await import('vite');
  await writeFile(join(dir, 'index.html'), html('main', '<script type="module" src="/src/main.js"></script>'));
  await writeFile(join(dir, 'fields.html'), html('fields', '<script type="module" src="/src/fields.js"></script>'));
  await build({
    root: dir,
    logLevel: 'warn',
    configFile: false,
    // The one line phiseal needs in a Vite config: its media worker is an ES module.
    worker: { format: 'es' },
    build: { outDir: join(dir, 'dist-vite'), rollupOptions: { input: { main: join(dir, 'index.html'), fields: join(dir, 'fields.html') } } },
  });
  return join(dir, 'dist-vite');
}

async function webpack(dir) {
  const { default: wp } = await import('webpack');
  const out = join(dir, 'dist-webpack');
  const stats = await new Promise((resolve, reject) =>
    wp(
      {
        mode: 'production',
        context: dir,
        entry: { main: './src/main.js', fields: './src/fields.js' },
        output: { path: out, publicPath: 'auto', clean: true },
        resolve: { modules: [join(dir, 'node_modules')] },
        performance: { hints: false },
      },
      (err, s) => (err ? reject(err) : resolve(s)),
    ),
  );
  if (stats.hasErrors()) throw new Error(stats.toString({ all: false, errors: true }));
  await writeFile(join(out, 'index.html'), html('main', '<script src="main.js"></script>'));
  await writeFile(join(out, 'fields.html'), html('fields', '<script src="fields.js"></script>'));
  return out;
}

async function plain(dir) {
  const map = `<script type="importmap">${importMap('/node_modules/phiseal/')}</script>`;
  await writeFile(join(dir, 'plain.html'), html('main', `${map}<script type="module" src="/src/main.js"></script>`));
  await writeFile(join(dir, 'plain-fields.html'), html('fields', `${map}<script type="module" src="/src/fields.js"></script>`));
  return dir;
}

await runSuite('package', { timeoutMs: 300_000 }, async ({ context, check }) => {
  const work = await mkdtemp(join(tmpdir(), 'phiseal-package-'));
  try {
    let packed;
    await check('npm pack: the tarball has every entry, both wasm builds and the worker, and no tests or sources', async () => {
      packed = pack(work);
      const need = ['package.json', 'js/index.js', 'js/index.d.ts', 'js/fields-entry.js', 'js/media-worker.js', 'js/guard.js', 'js/watermark.js', 'js/watermark-worker.js',
        'pkg/phiseal_bg.wasm', 'pkg/fields/phiseal_bg.wasm', 'README.md'];
      for (const [, t] of Object.entries(pkgJson.exports)) for (const f of typeof t === 'string' ? [t] : Object.values(t)) need.push(f.slice(2));
      // Every document the README links (a link into the package must not 404 after npm install),
      // and the API reference (make docs runs before this suite in make test).
      const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
      for (const [, link] of readme.matchAll(/\]\(((?:docs|js|examples)\/[^)#\s]+)\)/g)) if (!link.startsWith('examples/')) need.push(link);
      need.push('docs/api/index.html');
      const missing = [...new Set(need)].filter((f) => !packed.files.includes(f));
      if (missing.length) throw new Error(`missing from the tarball: ${missing.join(', ')}`);
      const stray = packed.files.filter((f) => /^(src|tests|target|bench|examples)\//.test(f));
      if (stray.length) throw new Error(`should not ship: ${stray.join(', ')}`);
      // Every relative import of every shipped JS file resolves inside the tarball.
      for (const f of packed.files.filter((x) => x.endsWith('.js'))) {
        const text = await readFile(join(ROOT, f), 'utf8');
        for (const m of text.matchAll(/(?:from\s+|import\(\s*|new URL\(\s*)'(\.\.?\/[^']+)'/g)) {
          const target = new URL(m[1], `file:///${f}`).pathname.slice(1);
          if (!packed.files.includes(target)) throw new Error(`${f} refers to ${m[1]}, not in the tarball`);
        }
      }
      return `${packed.files.length} files, ${(packed.size / 1024).toFixed(0)} KiB packed`;
    });
    if (!packed) return;
    const app = join(work, 'app');
    await check('the tarball installs into a fresh app offline', async () => {
      await makeApp(app, packed.tarball);
      const installed = await readdir(join(app, 'node_modules/phiseal'));
      if (!installed.includes('pkg')) throw new Error('pkg/ not installed');
    });

    const variants = [
      ['plain ES modules + import map', () => plain(app), 'plain.html', 'plain-fields.html'],
      ['Vite production build', () => vite(app), 'index.html', 'fields.html'],
      ['webpack 5 production build', () => webpack(app), 'index.html', 'fields.html'],
    ];
    for (const [name, make, mainPage, fieldsPage] of variants) {
      let root = null;
      await check(`${name}: builds`, async () => {
        root = await make();
      });
      if (!root) continue;
      const server = await serve({ root });
      try {
        const run = async (file) => {
          const page = await context.newPage();
          const errors = [];
          page.on('pageerror', (e) => errors.push(e.message));
          try {
            await page.goto(`${server.url}/${file}`);
            await page.waitForFunction(() => window.appReady === true, null, { timeout: 30_000 });
            const r = await page.evaluate(() => window.smoke());
            if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);
            return r;
          } finally {
            await page.close();
          }
        };
        await check(`${name}: signed fields (and a refusal), audit, media worker, streams, guard, watermark and its worker work`, async () => {
          const r = await run(mainPage);
          const bad = ['fields', 'fieldsRefusal', 'audit', 'mediaWorker', 'frameTransform', 'stream', 'guard', 'watermark', 'burnInWorker'].filter((k) => r[k] !== true);
          if (bad.length || r.capabilities.build !== 'full') throw new Error(`failed: ${bad.join(', ')} ${JSON.stringify(r.capabilities)}`);
          if (r.wasmFiles !== 1) throw new Error(`${r.wasmFiles} wasm files fetched by the page (expected the full build once)`);
          return `build ${r.capabilities.build}, frame transform ${r.capabilities.frameTransform}`;
        });
        await check(`${name}: a 'phiseal/fields' app loads only the lean wasm`, async () => {
          const r = await run(fieldsPage);
          if (!r.fields) throw new Error('seal/open failed');
          if (!r.fieldsRefusal) throw new Error('a record by an untrusted author was not refused with UNTRUSTED_AUTHOR');
          if (r.capabilities.build !== 'fields' || r.capabilities.audit || r.capabilities.media) {
            throw new Error(`loaded ${JSON.stringify(r.capabilities)}`);
          }
          if (r.wasmBytes.length !== 1) throw new Error(`${r.wasmBytes.length} wasm files fetched`);
          // Bundlers rename chunks, so look inside every script the page loaded
          // (the entry's own inline bundle included) for code of other capabilities.
          const texts = await Promise.all(r.scripts.map(async (u) => (await fetch(u)).text()));
          texts.push(await (await fetch(`${server.url}/${fieldsPage}`)).text());
          // Markers: the full build's glue (its wasm-bindgen free functions), the
          // media and stream modules, the guard and the watermark worker.
          for (const marker of ['sframesender_free', 'auditlog_free', 'phiseal-media', 'StreamEncryptor', 'CaptureGuard', 'phiseal-watermark']) {
            if (texts.some((t) => t.includes(marker))) throw new Error(`the fields-only app loaded code with ${marker}`);
          }
          return `1 wasm file, ${(r.wasmBytes[0] / 1024).toFixed(0)} KiB`;
        });
      } finally {
        await server.close();
      }
    }
    // The Vite dev server, with the two lines the README gives for it.
    await check('Vite dev server (worker format es, optimizeDeps.exclude phiseal): the main smoke app works', async () => {
      const { createServer } = await import('vite');
      const dev = await createServer({
        root: app,
        logLevel: 'warn',
        configFile: false,
        worker: { format: 'es' },
        optimizeDeps: { exclude: ['phiseal'] },
        server: { host: '127.0.0.1', port: 0, strictPort: false, hmr: false },
      });
      await dev.listen();
      const page = await context.newPage();
      const errors = [];
      page.on('pageerror', (e) => errors.push(e.message));
      try {
        await page.goto(`${dev.resolvedUrls.local[0]}index.html`);
        await page.waitForFunction(() => window.appReady === true, null, { timeout: 60_000 });
        const r = await page.evaluate(() => window.smoke());
        if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);
        const bad = ['fields', 'fieldsRefusal', 'audit', 'mediaWorker', 'frameTransform', 'stream', 'guard', 'watermark', 'burnInWorker'].filter((k) => r[k] !== true);
        if (bad.length || r.capabilities.build !== 'full') throw new Error(`failed: ${bad.join(', ')} ${JSON.stringify(r.capabilities)}`);
        return `build ${r.capabilities.build}, frame transform ${r.capabilities.frameTransform}`;
      } finally {
        await page.close();
        await dev.close();
      }
    });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});
