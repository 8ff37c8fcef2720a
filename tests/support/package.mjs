// Shared by the package and engine tests: pack the npm package and install
// the tarball into a fresh app, offline (phiseal has no dependencies).
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const pkgJson = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'));

/** `npm pack` into `dir`; returns the tarball path and its file list. */
export function pack(dir) {
  const out = execFileSync('npm', ['pack', '--json', '--pack-destination', dir], { cwd: ROOT, encoding: 'utf8' });
  const [info] = JSON.parse(out);
  return { tarball: join(dir, info.filename), files: info.files.map((f) => f.path), size: info.size };
}

/** A fresh app folder with the tarball installed in node_modules/phiseal. */
export async function installInto(dir, tarball) {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'smoke-app', private: true, type: 'module' }));
  execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', '--no-save', tarball], { cwd: dir, stdio: 'pipe' });
}

/** An import map for every subpath export (what the README tells plain-ESM users to write). */
export function importMap(prefix) {
  const imports = {};
  for (const [key, target] of Object.entries(pkgJson.exports)) {
    const file = typeof target === 'string' ? target : target.default;
    if (!file.endsWith('.js')) continue;
    imports[key === '.' ? 'phiseal' : `phiseal/${key.slice(2)}`] = `${prefix}${file.slice(2)}`;
  }
  return JSON.stringify({ imports });
}
