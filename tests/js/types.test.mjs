// The TypeScript declarations compile, strictly, against a usage sample.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

test('js/index.d.ts type-checks a usage sample with tsc --strict', () => {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const tsc = `${root}node_modules/.bin/tsc`;
  const args = ['--noEmit', '--strict', '--target', 'es2022', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--lib', 'es2022,dom', 'tests/types/usage.ts'];
  let out = '';
  try {
    out = execFileSync(tsc, args, { cwd: root, encoding: 'utf8' });
  } catch (e) {
    assert.fail(`tsc failed:\n${e.stdout}${e.stderr}`);
  }
  assert.equal(out.trim(), '');
});
