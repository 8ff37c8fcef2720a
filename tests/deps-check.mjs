#!/usr/bin/env node
// Dependency checks (issue #11), in the spirit of `cargo deny`:
//   - every crate in Cargo.lock (all targets, dev and build deps included)
//     has a license expression satisfiable from ALLOWED_LICENSES;
//   - every crate comes from the registry (no git or path sources except
//     phiseal itself);
//   - no crate is present in two versions unless listed in DUPLICATES_ALLOWED
//     with a reason;
//   - every direct runtime dependency of phiseal has a rationale section in
//     docs/DEPENDENCIES.md;
//   - the npm devDependencies of package-lock.json have allowed licenses and
//     registry sources;
//   - the built npm package (pkg/, when present) exports no test-only
//     `dangerous_*`/hazmat API.
// Reads `cargo metadata --locked` (fails if Cargo.lock is stale; downloads
// the crates of every target when the Cargo cache is cold, so it works on a
// machine that never built phiseal) and package-lock.json. Ends with "deps: N passed, M failed".
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

const ALLOWED_LICENSES = new Set([
  'MIT',
  'Apache-2.0',
  'Apache-2.0 WITH LLVM-exception',
  'BSD-1-Clause',
  'BSD-2-Clause',
  'BSD-3-Clause',
  '0BSD',
  'ISC',
  'Zlib',
  'Unicode-3.0',
  'Unicode-DFS-2016',
  'CC0-1.0',
  'Unlicense',
  'BSL-1.0',
  'BlueOak-1.0.0',
]);

// Accepted for npm devDependencies only (build and test tools; nothing of
// them ships in the npm package): weak copyleft on unmodified tools, data
// under attribution licenses.
const DEV_ONLY_LICENSES = new Set(['MPL-2.0', 'CC-BY-4.0', 'CC-BY-3.0', 'Python-2.0']);

// name -> why two versions are acceptable.
const DUPLICATES_ALLOWED = new Map([
  [
    'syn',
    'proc-macro only (compile time, nothing linked): serde_derive and wasm-bindgen-test macros moved to syn 3, ' +
      'other derive macros (zeroize_derive, wasm-bindgen-macro) are still on syn 2',
  ],
]);

let passed = 0;
let failed = 0;
function check(ok, what) {
  if (ok) {
    passed += 1;
  } else {
    failed += 1;
    console.log(`FAIL ${what}`);
  }
}

// A small SPDX expression evaluator: OR / AND / WITH, parentheses and the
// legacy "A/B" (= A OR B) spelling found in older crates.
function licenseOk(expr, allowed = ALLOWED_LICENSES) {
  if (!expr) return false;
  const tokens = expr.replace(/\//g, ' OR ').match(/\(|\)|[^\s()]+/g) ?? [];
  let i = 0;
  function primary() {
    const t = tokens[i++];
    if (t === '(') {
      const v = orExpr();
      i += 1; // ')'
      return v;
    }
    if (tokens[i] === 'WITH') {
      const exception = tokens[i + 1];
      i += 2;
      return allowed.has(`${t} WITH ${exception}`) || allowed.has(t);
    }
    return allowed.has(t);
  }
  function andExpr() {
    let v = primary();
    while (tokens[i] === 'AND') {
      i += 1;
      v = primary() && v;
    }
    return v;
  }
  function orExpr() {
    let v = andExpr();
    while (tokens[i] === 'OR') {
      i += 1;
      v = andExpr() || v;
    }
    return v;
  }
  const v = orExpr();
  return v && i === tokens.length;
}

// ---------------------------------------------------------------- Rust
let meta;
try {
  const out = execFileSync('cargo', ['metadata', '--format-version', '1', '--locked'], {
    cwd: root,
    maxBuffer: 64 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  meta = JSON.parse(out.toString());
  check(true, 'cargo metadata --locked');
} catch (e) {
  check(false, `cargo metadata --locked (Cargo.lock missing or stale?): ${e.stderr ?? e.message}`);
}

if (meta) {
  const versions = new Map();
  for (const p of meta.packages) {
    const id = `${p.name} ${p.version}`;
    const local = p.source === null && p.manifest_path.startsWith(root) && p.name === 'phiseal';
    check(local || (p.source ?? '').startsWith('registry+'), `${id}: source ${p.source ?? 'path'} is not the registry`);
    check(licenseOk(p.license), `${id}: license "${p.license ?? p.license_file ?? 'none'}" is not allowed`);
    versions.set(p.name, [...(versions.get(p.name) ?? []), p.version]);
  }
  for (const [name, vs] of versions) {
    check(vs.length === 1 || DUPLICATES_ALLOWED.has(name), `${name}: duplicate versions ${vs.join(', ')}`);
  }
  for (const [name] of DUPLICATES_ALLOWED) {
    // A stale allowance would hide the next real duplicate of that crate.
    check((versions.get(name) ?? []).length > 1, `${name}: listed in DUPLICATES_ALLOWED but no longer duplicated`);
  }

  const docPath = join(root, 'docs', 'DEPENDENCIES.md');
  const doc = existsSync(docPath) ? readFileSync(docPath, 'utf8') : '';
  const phiseal = meta.packages.find((p) => p.name === 'phiseal' && p.source === null);
  const runtime = new Set((phiseal?.dependencies ?? []).filter((d) => d.kind === null).map((d) => d.name));
  for (const name of runtime) {
    check(new RegExp(`^#+ .*\`${name}\``, 'm').test(doc), `${name}: no rationale section in docs/DEPENDENCIES.md`);
  }

  // What the npm package links: the wasm builds (all features, and the lean
  // field-encryption build) must not pull a JSON/serde stack back in (it was
  // a quarter of the wasm; phiseal has its own strict JSON in src/json.rs).
  for (const variant of [[], ['--no-default-features']]) {
    const label = `wasm32 ${variant.join(' ') || 'default features'}`;
    try {
      const tree = execFileSync(
        'cargo',
        ['tree', '--locked', '--target', 'wasm32-unknown-unknown', '-e', 'normal', '--prefix', 'none', ...variant],
        { cwd: root, maxBuffer: 16 * 1024 * 1024, stdio: ['ignore', 'pipe', 'pipe'] },
      ).toString();
      const linked = new Set(tree.split('\n').map((l) => l.split(' ')[0]).filter(Boolean));
      for (const banned of ['serde', 'serde_core', 'serde_json', 'serde-wasm-bindgen']) {
        check(!linked.has(banned), `${label}: ${banned} is in the runtime dependency graph`);
      }
    } catch (e) {
      check(false, `${label}: cargo tree failed: ${e.stderr ?? e.message}`);
    }
  }
}

// ---------------------------------------------------------------- npm
const lockPath = join(root, 'package-lock.json');
if (existsSync(lockPath)) {
  const lock = JSON.parse(readFileSync(lockPath, 'utf8'));
  for (const [path, p] of Object.entries(lock.packages ?? {})) {
    if (path === '') continue;
    const id = `${path.replace(/^.*node_modules\//, '')} ${p.version ?? ''}`.trim();
    let license = p.license;
    if (!license) {
      const pkgJson = join(root, path, 'package.json');
      if (existsSync(pkgJson)) license = JSON.parse(readFileSync(pkgJson, 'utf8')).license;
    }
    const allowed = p.dev ? new Set([...ALLOWED_LICENSES, ...DEV_ONLY_LICENSES]) : ALLOWED_LICENSES;
    const expr = typeof license === 'string' ? license : license?.type;
    check(licenseOk(expr, allowed), `npm ${id}: license "${expr}" is not allowed${p.dev ? '' : ' (runtime)'}`);
    const resolved = p.resolved ?? '';
    check(!p.link && !/^(git|file:|github:)/.test(resolved), `npm ${id}: not from the registry (${resolved || 'link'})`);
  }
} else {
  check(false, 'package-lock.json is missing');
}

// ---------------------------------------------------------------- shipped package
// The npm package must not contain the test-only `hazmat` API (fixed keys,
// salts and counters that can reuse nonces). Checked when pkg/ is built.
for (const file of ['pkg/phiseal.js', 'pkg/phiseal.d.ts', 'pkg/phiseal_bg.wasm.d.ts']) {
  const path = join(root, file);
  if (!existsSync(path)) continue;
  const hits = readFileSync(path, 'utf8').match(/\b\w*(dangerous|hazmat)\w*/gi) ?? [];
  check(hits.length === 0, `${file}: exports test-only API ${[...new Set(hits)].join(', ')}`);
}

console.log(`deps: ${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 ? 0 : 1;
