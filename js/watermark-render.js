// phiseal watermark drawing, shared by the overlay (js/watermark.js) and
// burned-in tracks (js/watermark-track.js): option checks, the text lines
// of a moment, the tiled rotated text, and the forensic layer.

import { invalidArgument } from './errors.js';
import { FORENSIC_CELL, FORENSIC_STRENGTH, forensicId, forensicTile } from './watermark-forensic.js';

const pad = (n) => String(n).padStart(2, '0');

/** "YYYY-MM-DD HH:MM:SS UTC": the time in the default mark, to the second. */
export function formatTime(date) {
  return `${date.getUTCFullYear()}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())} ${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} UTC`;
}

const num = (v, name, lo, hi, dflt) => {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi) throw invalidArgument(`${name} must be a number from ${lo} to ${hi}`);
  return v;
};

/** Checks and completes the drawing options (shared by attach and watermarkTrack). */
export function markOptions(o, previous = {}) {
  if (o === null || typeof o !== 'object') throw invalidArgument('options must be an object');
  const text = o.text ?? previous.text;
  if (typeof text !== 'string' && typeof text !== 'function' && !(Array.isArray(text) && text.every((l) => typeof l === 'string'))) {
    throw invalidArgument('text must be a string, an array of strings or a function (date) => string | string[]');
  }
  if (o.color !== undefined && typeof o.color !== 'string') throw invalidArgument('color must be a CSS color string');
  if (o.showTime !== undefined && typeof o.showTime !== 'boolean') throw invalidArgument('showTime must be a boolean');
  let forensic = previous.forensic ?? null;
  if (o.forensic !== undefined) {
    if (o.forensic === null || o.forensic === false) forensic = null;
    else {
      const f = typeof o.forensic === 'object' ? o.forensic : { id: o.forensic };
      const id = forensicId(f.id);
      if (id === null) throw invalidArgument('forensic.id must be an integer from 0 to 2^32-1 or a non-empty string');
      forensic = {
        id,
        cellSize: num(f.cellSize, 'forensic.cellSize', 2, 64, FORENSIC_CELL),
        strength: num(f.strength, 'forensic.strength', 0.002, 0.2, FORENSIC_STRENGTH),
      };
    }
  }
  return {
    text,
    showTime: o.showTime ?? previous.showTime ?? typeof text !== 'function',
    opacity: num(o.opacity, 'opacity', 0.01, 1, previous.opacity ?? 0.3),
    fontSize: num(o.fontSize, 'fontSize', 6, 200, previous.fontSize ?? 16),
    angle: num(o.angle, 'angle', -90, 90, previous.angle ?? -30),
    density: num(o.density, 'density', 0.1, 10, previous.density ?? 1),
    moveEverySeconds: num(o.moveEverySeconds, 'moveEverySeconds', 0, 3600, previous.moveEverySeconds ?? 5),
    color: o.color ?? previous.color ?? '#ffffff',
    forensic,
  };
}

/** The lines of the mark at `date`. */
export function markLines(opts, date) {
  let t = typeof opts.text === 'function' ? opts.text(date) : opts.text;
  if (typeof t === 'string') t = t.split('\n');
  const lines = Array.isArray(t) ? t.map(String).filter((l) => l.length > 0) : [String(t)];
  if (opts.showTime) lines.push(formatTime(date));
  return lines.length > 0 ? lines : [formatTime(date)];
}

/** Whether the mark must be redrawn each second (its text shows the time). */
export const dependsOnTime = (opts) => opts.showTime || typeof opts.text === 'function';

/** Pseudo-random offset (fraction of a tile, 0..1 each) of time slot `slot`: the shift schedule. */
export function slotOffset(slot) {
  let h = Math.imul((slot | 0) ^ 0x9e3779b9, 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return [(h & 0xffff) / 0x10000, (h >>> 16) / 0x10000];
}

/** The time slot of `ms` (epoch) under the shift schedule. */
export const slotOf = (opts, ms) => (opts.moveEverySeconds > 0 ? Math.floor(ms / 1000 / opts.moveEverySeconds) : 0);

/**
 * Draws the text tiles onto ctx (already scaled to CSS px) over a w × h area.
 * The grid is rotated by `angle` (so its rows are not aligned with page
 * lines) and shifted by `offset` (fractions of a tile).
 * @returns {{tile: [number, number], lines: string[], centers: Array<[number, number]>}}
 *   centers: the tiles' centres in CSS px (inside the area), for tests.
 */
export function drawText(ctx, w, h, opts, lines, offset) {
  const fs = opts.fontSize;
  const lh = Math.round(fs * 1.25);
  ctx.font = `600 ${fs}px sans-serif`;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  let maxW = 0;
  for (const l of lines) maxW = Math.max(maxW, ctx.measureText(l).width);
  const tw = maxW + (fs * 4) / opts.density;
  const th = lines.length * lh + (fs * 3) / opts.density;
  const rad = (opts.angle * Math.PI) / 180;
  const cos = Math.cos(rad);
  const sin = Math.sin(rad);
  const half = Math.hypot(w, h) / 2 + Math.max(tw, th);
  const cx = w / 2;
  const cy = h / 2;
  ctx.save();
  ctx.globalAlpha = opts.opacity;
  ctx.fillStyle = opts.color;
  ctx.strokeStyle = 'rgba(0,0,0,0.85)';
  ctx.lineWidth = Math.max(1, fs / 10);
  ctx.lineJoin = 'round';
  const s = ctx.getTransform().a;
  const centers = [];
  const ox = offset[0] * tw;
  const oy = offset[1] * th;
  for (let row = Math.floor(-half / th) - 1; row * th <= half; row++) {
    const stagger = (row & 1) * tw * 0.5;
    for (let col = Math.floor(-half / tw) - 1; col * tw <= half; col++) {
      // Tile centre in the rotated frame, then in canvas coordinates.
      const u = col * tw + stagger + ox;
      const v = row * th + oy;
      const x = cx + u * cos - v * sin;
      const y = cy + u * sin + v * cos;
      if (x < -tw || y < -tw || x > w + tw || y > h + tw) continue;
      ctx.setTransform(s * cos, s * sin, -s * sin, s * cos, s * x, s * y);
      const top = -((lines.length - 1) * lh) / 2;
      for (let i = 0; i < lines.length; i++) {
        ctx.strokeText(lines[i], 0, top + i * lh);
        ctx.fillText(lines[i], 0, top + i * lh);
      }
      ctx.setTransform(s, 0, 0, s, 0, 0);
      if (x > 0 && y > 0 && x < w && y < h) centers.push([x, y]);
    }
  }
  ctx.restore();
  return { tile: [tw, th], lines, centers };
}

const tiles = new Map();
/** The forensic tile canvas for these options (cached). */
export function forensicTileFor(f) {
  const key = `${f.id}/${f.cellSize}/${f.strength}`;
  if (!tiles.has(key)) {
    if (tiles.size > 16) tiles.clear();
    tiles.set(key, forensicTile(f.id, f));
  }
  return tiles.get(key);
}

/** Fills ctx (scaled so that one unit is one pixel of the target picture) with the forensic pattern. */
export function drawForensic(ctx, w, h, f) {
  const pattern = ctx.createPattern(forensicTileFor(f), 'repeat');
  ctx.save();
  ctx.fillStyle = pattern;
  ctx.fillRect(0, 0, w, h);
  ctx.restore();
}
