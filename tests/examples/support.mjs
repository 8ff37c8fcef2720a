// Helpers for the example apps' end-to-end tests.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { ROOT } from '../support/serve.mjs';

export const SCREENSHOTS = join(ROOT, 'test-results', 'screenshots');

/** Saves a full-page screenshot as test-results/screenshots/NAME.png; returns its path. */
export async function screenshot(page, name) {
  await mkdir(SCREENSHOTS, { recursive: true });
  const file = join(SCREENSHOTS, `${name}.png`);
  await writeFile(file, await page.screenshot({ fullPage: true }));
  return file;
}

export function assert(cond, message) {
  if (!cond) throw new Error(message);
}

export const decodePng = (buf) => PNG.sync.read(buf);

/**
 * Share of pixels whose largest channel difference exceeds `threshold`
 * between two RGBA images of the same size.
 */
export function differingShare(a, b, threshold = 48) {
  if (a.width !== b.width || a.height !== b.height) throw new Error(`sizes differ: ${a.width}x${a.height} vs ${b.width}x${b.height}`);
  let n = 0;
  for (let i = 0; i < a.data.length; i += 4) {
    const d = Math.max(Math.abs(a.data[i] - b.data[i]), Math.abs(a.data[i + 1] - b.data[i + 1]), Math.abs(a.data[i + 2] - b.data[i + 2]));
    if (d > threshold) n++;
  }
  return n / (a.width * a.height);
}

/** Polls `fn` (in Node) until it returns a truthy value. */
export async function until(fn, ms, what) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
