// In-page helpers for tests/browser/watermark.mjs: pixels of screenshots
// (PNG bytes decoded by the browser), references drawn with the mark's own
// renderer, tamper actions timed with the page clock.
import { drawText, markOptions } from '../../js/watermark-render.js';

/** RGBA pixels of a PNG/JPEG given as base64 (or a Blob). */
export async function pixels(src, type = 'image/png') {
  const blob = src instanceof Blob ? src : new Blob([Uint8Array.from(atob(src), (c) => c.charCodeAt(0))], { type });
  const bmp = await createImageBitmap(blob);
  const c = new OffscreenCanvas(bmp.width, bmp.height);
  const ctx = c.getContext('2d', { willReadFrequently: true });
  ctx.drawImage(bmp, 0, 0);
  return ctx.getImageData(0, 0, bmp.width, bmp.height);
}

/** An ImageData scaled by `f` (high-quality smoothing), then optionally JPEG-compressed at `quality`. */
export async function transform(img, { scale = 1, jpeg = null } = {}) {
  const src = new OffscreenCanvas(img.width, img.height);
  src.getContext('2d').putImageData(img, 0, 0);
  const w = Math.round(img.width * scale);
  const hgt = Math.round(img.height * scale);
  const c = new OffscreenCanvas(w, hgt);
  const ctx = c.getContext('2d', { willReadFrequently: true });
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(src, 0, 0, w, hgt);
  if (jpeg === null) return ctx.getImageData(0, 0, w, hgt);
  const blob = await c.convertToBlob({ type: 'image/jpeg', quality: jpeg });
  return pixels(blob);
}

/** Number of pixels whose RGB differs by more than `t` (max channel) inside rect {x,y,w,h}. */
export function diffCount(a, b, rect, t = 12) {
  let n = 0;
  for (let y = rect.y; y < rect.y + rect.h; y++) {
    for (let x = rect.x; x < rect.x + rect.w; x++) {
      const i = (y * a.width + x) * 4;
      const d = Math.max(Math.abs(a.data[i] - b.data[i]), Math.abs(a.data[i + 1] - b.data[i + 1]), Math.abs(a.data[i + 2] - b.data[i + 2]));
      if (d > t) n++;
    }
  }
  return n;
}

/**
 * Tiles whose text is in the screenshot: for each tile centre of `layout`
 * inside `rect`, the correlation of |marked − unmarked| with a reference
 * rendering of the same lines (alpha) over the tile's box.
 */
export function tilesWithText(marked, unmarked, layout, options, rect) {
  const o = markOptions({ ...options, opacity: 1 });
  const ref = new OffscreenCanvas(marked.width, marked.height);
  const ctx = ref.getContext('2d', { willReadFrequently: true });
  // The layout was drawn on a viewport-sized canvas; the screenshot is of the viewport.
  const drawn = drawText(ctx, layout.viewport[0], layout.viewport[1], o, layout.lines, layout.offset);
  const alpha = ctx.getImageData(0, 0, marked.width, marked.height).data;
  const results = [];
  const [tw, th] = drawn.tile;
  const r = Math.min(tw, th) / 2;
  for (const [cx, cy] of drawn.centers) {
    if (cx - r < rect.x || cy - r < rect.y || cx + r > rect.x + rect.w || cy + r > rect.y + rect.h) continue;
    let sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0, n = 0;
    for (let y = Math.round(cy - r); y < cy + r; y++) {
      for (let x = Math.round(cx - r); x < cx + r; x++) {
        const i = (y * marked.width + x) * 4;
        const d = Math.abs(marked.data[i] - unmarked.data[i]) + Math.abs(marked.data[i + 1] - unmarked.data[i + 1]) + Math.abs(marked.data[i + 2] - unmarked.data[i + 2]);
        const a = alpha[i + 3];
        sa += a; sb += d; saa += a * a; sbb += d * d; sab += a * d; n++;
      }
    }
    const cov = sab / n - (sa / n) * (sb / n);
    const corr = cov / Math.sqrt(Math.max(1e-9, (saa / n - (sa / n) ** 2) * (sbb / n - (sb / n) ** 2)));
    results.push(Math.round(corr * 100) / 100);
  }
  return results;
}

/** Resolves after `n` animation frames. */
export const frames = (n = 2) => new Promise((res) => {
  const step = () => (--n <= 0 ? res() : requestAnimationFrame(step));
  requestAnimationFrame(step);
});
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The fake camera, playing in #cam (or a new element). */
export async function startCamera(video = document.getElementById('cam')) {
  window.camStream ??= await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 360 } });
  video.srcObject = window.camStream;
  await video.play();
  while (video.videoWidth === 0) await sleep(20);
  return { width: video.videoWidth, height: video.videoHeight };
}

/** Rect of an element in viewport CSS px (integers, inside). */
export function rectOf(el) {
  const r = el.getBoundingClientRect();
  return { x: Math.ceil(r.left), y: Math.ceil(r.top), w: Math.floor(r.width), h: Math.floor(r.height) };
}

/** Independent check that the host is in place and shown over the target. */
export function hostState(mark) {
  const host = mark.host;
  const cs = getComputedStyle(host);
  return {
    connected: host.isConnected,
    open: host.matches(':popover-open'),
    display: cs.display,
    visibility: cs.visibility,
    opacity: cs.opacity,
    transform: cs.transform,
    clipPath: cs.clipPath,
    zIndex: cs.zIndex,
    visible: host.checkVisibility(),
    left: host.getBoundingClientRect().left,
    top: host.getBoundingClientRect().top,
  };
}

export function healthy(mark) {
  const s = hostState(mark);
  return s.connected && s.open && s.display === 'block' && s.visibility === 'visible' && s.opacity === '1' && s.transform === 'none' && s.clipPath === 'none' && s.visible && s.left === 0 && s.top === 0;
}

/**
 * Runs one tamper action at a measured page time and waits (up to `waitMs`)
 * for the tamper event with `action`; the latency is the event's arrival
 * (emitted after the restore) minus the tamper time.
 */
export async function timedTamper(mark, events, action, fn, waitMs = 400) {
  const from = events.length;
  const t0 = performance.now();
  fn();
  const deadline = t0 + waitMs;
  for (;;) {
    const e = events.slice(from).find((x) => x.type === 'tamper' && x.action === action);
    if (e) return { action, ms: e.at - t0, restored: e.restored, healthy: healthy(mark), event: e };
    if (performance.now() > deadline) return { action, ms: null, restored: false, healthy: healthy(mark), got: events.slice(from).map((x) => x.action) };
    await new Promise((r) => setTimeout(r, 1));
  }
}

/** A page script's copy of protected content: a manual popover with `style`, shown (it enters the top layer). */
export function popoverCopy(id, style) {
  const copy = document.createElement('div');
  copy.id = id;
  copy.setAttribute('popover', 'manual');
  copy.style.cssText = style;
  document.body.append(copy);
  copy.showPopover();
  return copy;
}

/** An ImageData as a base64 PNG (to keep decoded frames next to the screenshots). */
export async function pngOf(img) {
  const c = new OffscreenCanvas(img.width, img.height);
  c.getContext('2d').putImageData(img, 0, 0);
  const bytes = new Uint8Array(await (await c.convertToBlob({ type: 'image/png' })).arrayBuffer());
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/** Number of pixels inside rect whose RGB is more than `t` (max channel) from every colour of `colors`. */
export function countUnlike(img, colors, rect, t = 12) {
  let n = 0;
  for (let y = rect.y; y < rect.y + rect.h; y++) {
    for (let x = rect.x; x < rect.x + rect.w; x++) {
      const i = (y * img.width + x) * 4;
      const d = img.data;
      if (colors.every(([r, g, b]) => Math.max(Math.abs(d[i] - r), Math.abs(d[i + 1] - g), Math.abs(d[i + 2] - b)) > t)) n++;
    }
  }
  return n;
}

/** Bounding box {x,y,w,h} (screenshot px) of the pixels within `t` of colour [r,g,b]; null when there are none. */
export function boxOf(img, [r, g, b], t = 12) {
  let x0 = Infinity, y0 = Infinity, x1 = -1, y1 = -1;
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      const i = (y * img.width + x) * 4;
      const d = img.data;
      if (Math.abs(d[i] - r) <= t && Math.abs(d[i + 1] - g) <= t && Math.abs(d[i + 2] - b) <= t) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  return x1 < 0 ? null : { x: x0, y: y0, w: x1 - x0 + 1, h: y1 - y0 + 1 };
}
