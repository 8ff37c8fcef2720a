// The README is tested code (issue "first hour"): every ```js / ```ts block
// of README.md and docs/*.md is a snippet, marked by the comment
// `<!-- snippet: NAME [uses: a, b] -->` on the line before its fence. Each
// is pasted, byte for byte, into its own module of a fresh STRICT TypeScript
// app (strict, noUnusedLocals, noUnusedParameters) that has the `npm pack`
// tarball installed, type-checked with tsc, built with Vite, and run in its
// own page of headless Chromium: it passes when it runs to its end with no
// error. The names after `uses:` come from tests/snippets/contexts.ts (real
// keys, a fake camera, DOM elements). Two synthetic snippets (a type error,
// a throw) prove the harness fails when a snippet does.
import { execFileSync } from 'node:child_process';
import { copyFile, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runSuite, withTimeout } from '../support/chromium.mjs';
import { ROOT, installInto, pack } from '../support/package.mjs';
import { serve } from '../support/serve.mjs';

const HERE = fileURLToPath(new URL('./', import.meta.url));
const MARKER = /^<!--\s*snippet:\s*([a-z0-9-]+)(?:\s+uses:\s*([A-Za-z0-9_$,\s]+?))?\s*-->$/;

/** Every js/ts block of the docs: {name, uses, code, where}, and the problems (unmarked, duplicate). */
async function extract() {
  const files = ['README.md', ...(await readdir(join(ROOT, 'docs'))).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
  const snippets = [];
  const problems = [];
  for (const file of files) {
    const lines = (await readFile(join(ROOT, file), 'utf8')).split('\n');
    for (let i = 0; i < lines.length; i++) {
      const fence = /^```(\w*)/.exec(lines[i]);
      if (!fence) continue;
      let end = i + 1;
      while (end < lines.length && !lines[end].startsWith('```')) end++;
      if (/^(js|ts|javascript|typescript)$/.test(fence[1])) {
        let m = i - 1;
        while (m >= 0 && lines[m].trim() === '') m--;
        const marker = m >= 0 ? MARKER.exec(lines[m].trim()) : null;
        const where = `${file}:${i + 1}`;
        if (!marker) problems.push(`${where}: a ${fence[1]} block without a <!-- snippet: NAME --> marker`);
        else if (snippets.some((s) => s.name === marker[1])) problems.push(`${where}: snippet name ${marker[1]} is used twice`);
        else {
          const uses = (marker[2] ?? '').split(',').map((u) => u.trim()).filter(Boolean);
          snippets.push({ name: marker[1], uses, code: lines.slice(i + 1, end).join('\n'), where });
        }
      }
      i = end;
    }
  }
  return { snippets, problems };
}

/** The snippet as a module: its imports first, then its context, then the rest verbatim, then the end mark. */
function moduleFor({ name, uses, code }) {
  const lines = code.split('\n');
  const imports = [];
  let i = 0;
  while (i < lines.length && (lines[i].startsWith('import ') || lines[i].trim() === '')) {
    // An import may span lines until its `from '...'` (or a bare `import '...'`).
    let stmt = lines[i];
    while (stmt.startsWith('import ') && !/(from\s+|import\s+)['"][^'"]+['"];?(\s*\/\/.*)?$/.test(stmt) && i + 1 < lines.length) stmt += `\n${lines[++i]}`;
    imports.push(stmt);
    i++;
  }
  const context = uses.length > 0 ? [`import { contexts } from './contexts';`, `const { ${uses.join(', ')} } = await contexts['${name}']();`] : [];
  return [...imports, ...context, ...lines.slice(i), '', '(globalThis as { __snippetDone?: boolean }).__snippetDone = true;', ''].join('\n');
}

const SELF_TESTS = [
  { name: 'selftest-type-error', uses: [], code: "const n: number = 'not a number';\nconsole.log(n);", where: 'synthetic', expect: 'type' },
  { name: 'selftest-throws', uses: [], code: "throw new Error('a snippet that fails at run time');", where: 'synthetic', expect: 'run' },
];

const TSCONFIG = {
  compilerOptions: {
    strict: true,
    noUnusedLocals: true,
    noUnusedParameters: true,
    noEmit: true,
    target: 'es2022',
    module: 'esnext',
    moduleResolution: 'bundler',
    lib: ['es2023', 'dom', 'dom.iterable'],
    types: [],
    skipLibCheck: false,
  },
  include: ['src'],
};

await runSuite('snippets', { timeoutMs: 600_000, permissions: ['camera', 'microphone'] }, async ({ context, check }) => {
  const { snippets, problems } = await extract();
  const contextsSource = await readFile(join(HERE, 'contexts.ts'), 'utf8');
  const contextNames = new Set([...contextsSource.matchAll(/^ {2}'([a-z0-9-]+)': async/gm)].map((m) => m[1]));
  await check('every js/ts block of README.md and docs/*.md has a snippet marker, names are unique', async () => {
    if (problems.length > 0) throw new Error(problems.join('\n     '));
    return `${snippets.length} snippets`;
  });
  await check('every snippet that uses names from the app has a context for them', async () => {
    const missing = snippets.filter((s) => s.uses.length > 0 && !contextNames.has(s.name)).map((s) => `${s.where} ${s.name}`);
    const unused = [...contextNames].filter((n) => !snippets.some((s) => s.name === n));
    if (missing.length > 0 || unused.length > 0) throw new Error(`no context: ${missing.join(', ') || '-'}; context of no snippet: ${unused.join(', ') || '-'}`);
  });

  const all = [...snippets, ...SELF_TESTS];
  const work = await mkdtemp(join(tmpdir(), 'phiseal-snippets-'));
  try {
    const app = join(work, 'app');
    await installInto(app, pack(work).tarball);
    // Libraries other than phiseal that docs snippets read phiseal's output with.
    await symlink(join(ROOT, 'node_modules/@hpke'), join(app, 'node_modules/@hpke'));
    await writeFile(join(app, 'tsconfig.json'), JSON.stringify(TSCONFIG, null, 2));
    await execFileSync('mkdir', ['-p', join(app, 'src')]);
    await copyFile(join(HERE, 'contexts.ts'), join(app, 'src/contexts.ts'));
    const body = '<video id="remote" muted></video><div id="chart">Diagnosis: J45.909</div>';
    const errorTrap = `<script>addEventListener('error', (e) => { window.__snippetError ??= String(e.error?.stack ?? e.error ?? e.message); });
addEventListener('unhandledrejection', (e) => { window.__snippetError ??= String(e.reason?.stack ?? e.reason); });</script>`;
    const input = {};
    for (const s of all) {
      await writeFile(join(app, 'src', `${s.name}.ts`), moduleFor(s));
      await writeFile(join(app, `${s.name}.html`), `<!doctype html><meta charset="utf-8"><title>${s.name}</title>${errorTrap}${body}<script type="module" src="/src/${s.name}.ts"></script>`);
      input[s.name] = join(app, `${s.name}.html`);
    }

    // tsc over the whole app; each diagnostic belongs to the snippet whose file it is in.
    const diagnostics = new Map();
    try {
      execFileSync(join(ROOT, 'node_modules/.bin/tsc'), ['-p', app, '--pretty', 'false'], { cwd: app, encoding: 'utf8' });
    } catch (e) {
      for (const line of `${e.stdout}`.split('\n').filter(Boolean)) {
        const file = /^src\/([a-z0-9-]+)\.ts\(/.exec(line)?.[1] ?? 'contexts';
        diagnostics.set(file, [...(diagnostics.get(file) ?? []), line]);
      }
    }
    await check('the contexts type-check', async () => {
      if (diagnostics.has('contexts')) throw new Error(diagnostics.get('contexts').join('\n     '));
    });

    const { build } = await import('vite');
    await build({
      root: app,
      logLevel: 'warn',
      configFile: false,
      worker: { format: 'es' },
      build: { outDir: join(app, 'dist'), target: 'es2022', rollupOptions: { input } },
    });
    const server = await serve({ root: join(app, 'dist') });
    try {
      for (const s of all) {
        const typeErrors = diagnostics.get(s.name) ?? [];
        const page = await context.newPage();
        const pageErrors = [];
        page.on('pageerror', (e) => pageErrors.push(e.message));
        let runError = null;
        try {
          await page.goto(`${server.url}/${s.name}.html`);
          const state = await withTimeout(
            page.waitForFunction(() => window.__snippetDone === true || window.__snippetError !== undefined, null, { timeout: 20_000 }).then(() =>
              page.evaluate(() => ({ done: window.__snippetDone === true, error: window.__snippetError })),
            ),
            25_000,
            s.name,
          );
          if (!state.done || state.error !== undefined || pageErrors.length > 0) runError = state.error ?? pageErrors.join('; ') ?? 'did not finish';
        } catch (e) {
          runError = pageErrors.join('; ') || e.message;
        } finally {
          await page.close();
        }
        if (s.expect) {
          // A synthetic snippet: the harness must report exactly the failure it contains.
          await check(`harness self-test: ${s.name} is reported as failing`, async () => {
            if (s.expect === 'type' && typeErrors.length === 0) throw new Error('a type error went unnoticed');
            if (s.expect === 'run' && runError === null) throw new Error('a thrown error went unnoticed');
          });
          continue;
        }
        await check(`${s.name} (${s.where}): type-checks (strict)`, async () => {
          if (typeErrors.length > 0) throw new Error(typeErrors.join('\n     '));
        });
        await check(`${s.name} (${s.where}): runs to its end in Chromium`, async () => {
          if (runError !== null) throw new Error(runError);
        });
      }
    } finally {
      await server.close();
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});
