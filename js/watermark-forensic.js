// phiseal forensic mark: an invisible, robust pattern that carries a 32-bit
// viewer/session id, drawn under the visible watermark (overlay and burned-in
// tracks), and a decoder that recovers the id from a screenshot.
//
// Layout (docs/SECURITY.md §Watermarks): a square tile of 16 × 16 cells
// (cell 8 px by default, so a 128 px tile) repeats over the whole picture.
// Every cell is lighter or darker by a few levels of 255 (white or black at
// `strength` alpha), following a fixed pseudo-random ±1 chip sequence:
//   - 64 sync cells carry the chip itself (a known pattern the decoder
//     searches for, which gives the tile's position);
//   - 192 data cells carry chip × bit, 4 cells for each of 48 bits: the id
//     (32 bits, big-endian) and its CRC-16/CCITT-FALSE.
// Because the tile repeats, a crop keeps whole copies, and the decoder
// averages all copies ("folding"), which cancels the picture under the mark.
//
// Decoding (no knowledge of scale or position): luma, local-mean removal and
// clipping (whitening), autocorrelation along both axes to find the tile
// period (hence the scale, 0.4–2.4×), folding at that period, a cyclic search
// for the sync pattern (hence the position), soft decisions per bit, CRC
// check. A photo of a screen (rotation, perspective) is out of scope.

const N = 16; // cells per tile side
const CELLS = N * N;
const BITS = 48; // 32-bit id + CRC-16
const SYNC = 64; // sync cells per tile
const SUB = 4; // folding bins per cell and axis
/** Default cell size in pixels (tile = 16 cells). */
export const FORENSIC_CELL = 8;
/** Default strength: the alpha of the white/black cells (0.02 ≈ ±2.5 levels on mid-grey). */
export const FORENSIC_STRENGTH = 0.02;

// Fixed chip sequence, sync positions and bit assignment (xorshift32, seed
// "PHIS"): part of the format, never change without a new version.
const LAYOUT = (() => {
  let s = 0x50484953;
  const next = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
  const chip = new Int8Array(CELLS);
  for (let i = 0; i < CELLS; i++) chip[i] = next() & 0x100 ? 1 : -1;
  const order = Array.from({ length: CELLS }, (_, i) => i);
  for (let i = CELLS - 1; i > 0; i--) {
    const j = next() % (i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  const bitOf = new Int16Array(CELLS).fill(-1); // -1: sync cell
  for (let k = SYNC; k < CELLS; k++) bitOf[order[k]] = (k - SYNC) % BITS;
  return { chip, bitOf };
})();

/** CRC-16/CCITT-FALSE over bytes. */
function crc16(bytes) {
  let crc = 0xffff;
  for (const b of bytes) {
    crc ^= b << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

function payloadBits(id) {
  const bytes = [(id >>> 24) & 255, (id >>> 16) & 255, (id >>> 8) & 255, id & 255];
  const crc = crc16(bytes);
  const all = [...bytes, crc >>> 8, crc & 255];
  const bits = new Int8Array(BITS);
  for (let i = 0; i < BITS; i++) bits[i] = (all[i >> 3] >> (7 - (i & 7))) & 1 ? 1 : -1;
  return bits;
}

/**
 * Normalizes an id: an integer 0..2^32-1, or a string hashed to 32 bits
 * (FNV-1a over UTF-8; keep a table from session to id on the server: the
 * decoder returns the 32-bit number).
 */
export function forensicId(id) {
  if (Number.isInteger(id) && id >= 0 && id <= 0xffffffff) return id >>> 0;
  if (typeof id === 'string' && id.length > 0) {
    let h = 0x811c9dc5;
    for (const b of new TextEncoder().encode(id)) h = Math.imul(h ^ b, 0x01000193) >>> 0;
    return h;
  }
  return null;
}

/** The ±1 value of each of the 256 cells of the tile for `id` (row-major). */
export function forensicCells(id) {
  const bits = payloadBits(id >>> 0);
  const cells = new Int8Array(CELLS);
  for (let i = 0; i < CELLS; i++) cells[i] = LAYOUT.bitOf[i] < 0 ? LAYOUT.chip[i] : LAYOUT.chip[i] * bits[LAYOUT.bitOf[i]];
  return cells;
}

/**
 * One tile as a canvas (`cellSize` px cells, white or black at `strength`
 * alpha), for `ctx.createPattern(tile, 'repeat')`.
 * @returns {OffscreenCanvas | HTMLCanvasElement}
 */
export function forensicTile(id, { cellSize = FORENSIC_CELL, strength = FORENSIC_STRENGTH } = {}) {
  const size = N * cellSize;
  const canvas = typeof OffscreenCanvas === 'function' ? new OffscreenCanvas(size, size) : Object.assign(document.createElement('canvas'), { width: size, height: size });
  const ctx = canvas.getContext('2d');
  const cells = forensicCells(id);
  for (const [sign, color] of [[1, `rgba(255,255,255,${strength})`], [-1, `rgba(0,0,0,${strength})`]]) {
    ctx.fillStyle = color;
    for (let i = 0; i < CELLS; i++) if (cells[i] === sign) ctx.fillRect((i % N) * cellSize, Math.floor(i / N) * cellSize, cellSize, cellSize);
  }
  return canvas;
}

// ------------------------------------------------------------------ decoder

function luma(img) {
  const { width: w, height: h, data } = img;
  const y = new Float32Array(w * h);
  for (let i = 0, p = 0; i < y.length; i++, p += 4) y[i] = 0.299 * data[p] + 0.587 * data[p + 1] + 0.114 * data[p + 2];
  return y;
}

function integralOf(y, w, h) {
  const iw = w + 1;
  const integral = new Float64Array(iw * (h + 1));
  for (let j = 0; j < h; j++) {
    let row = 0;
    for (let i = 0; i < w; i++) {
      row += y[j * w + i];
      integral[(j + 1) * iw + i + 1] = integral[j * iw + i + 1] + row;
    }
  }
  return integral;
}

function boxSum(integral, w, h, i, j, r) {
  const iw = w + 1;
  const x0 = Math.max(0, i - r);
  const x1 = Math.min(w, i + r + 1);
  const y0 = Math.max(0, j - r);
  const y1 = Math.min(h, j + r + 1);
  return [integral[y1 * iw + x1] - integral[y0 * iw + x1] - integral[y1 * iw + x0] + integral[y0 * iw + x0], (x1 - x0) * (y1 - y0)];
}

/**
 * Whitening: pixel minus the local mean of its (2r+1)² box, clipped to
 * ±clip. Strong detail (text, edges: more than `edge` from the box mean) and
 * its 1 px neighbourhood are left out, both as samples (zero) and from the
 * means of their neighbours; otherwise text would bring its own periodicity
 * (line spacing) into the period search.
 */
function whiten(y, w, h, r, clip, edge = 12) {
  const integral = integralOf(y, w, h);
  const strong = new Float32Array(w * h);
  for (let j = 0; j < h; j++) {
    for (let i = 0; i < w; i++) {
      const [sum, n] = boxSum(integral, w, h, i, j, r);
      const v = y[j * w + i] - sum / n;
      if (v > edge || v < -edge) strong[j * w + i] = 1;
    }
  }
  const nearInt = integralOf(strong, w, h);
  const keep = new Float32Array(w * h);
  const kept = new Float32Array(w * h);
  for (let j = 0; j < h; j++) {
    for (let i = 0; i < w; i++) {
      const k = j * w + i;
      if (boxSum(nearInt, w, h, i, j, 1)[0] === 0) {
        keep[k] = 1;
        kept[k] = y[k];
      }
    }
  }
  const sumInt = integralOf(kept, w, h);
  const countInt = integralOf(keep, w, h);
  const out = new Float32Array(w * h);
  for (let j = 0; j < h; j++) {
    for (let i = 0; i < w; i++) {
      const k = j * w + i;
      if (!keep[k]) continue;
      const n = boxSum(countInt, w, h, i, j, r)[0];
      const v = y[k] - boxSum(sumInt, w, h, i, j, r)[0] / n;
      out[k] = v > clip ? clip : v < -clip ? -clip : v;
    }
  }
  return out;
}

/** Autocorrelation of r at lags lo..hi along x (axis 0) or y (axis 1), on a subsampled grid. */
function autocorr(r, w, h, lo, hi, axis) {
  const a = new Float64Array(hi + 1);
  for (let lag = lo; lag <= hi; lag++) {
    let sum = 0;
    let n = 0;
    if (axis === 0) {
      for (let j = 0; j < h; j += 2) {
        const row = j * w;
        for (let i = 0; i + lag < w; i += 2) sum += r[row + i] * r[row + i + lag];
        n += Math.max(0, Math.ceil((w - lag) / 2));
      }
    } else {
      for (let j = 0; j + lag < h; j += 2) {
        const row = j * w;
        const other = (j + lag) * w;
        for (let i = 0; i < w; i += 2) sum += r[row + i] * r[other + i];
        n += Math.ceil(w / 2);
      }
    }
    a[lag] = n > 0 ? sum / n : 0;
  }
  return a;
}

/** Sub-sample position of the peak near `lag` (parabolic fit over ±2). */
function refinePeak(a, lag, lo, hi) {
  let best = lag;
  for (let l = Math.max(lo, lag - 2); l <= Math.min(hi, lag + 2); l++) if (a[l] > a[best]) best = l;
  if (best <= lo || best >= hi) return best;
  const y0 = a[best - 1];
  const y1 = a[best];
  const y2 = a[best + 1];
  const d = y0 - 2 * y1 + y2;
  return d < 0 ? best + (0.5 * (y0 - y2)) / d : best;
}

/** Period along one axis near `lag`, refined with the highest harmonic inside the searched lags. */
function refinePeriod(a, lag, lo, hi) {
  let period = refinePeak(a, lag, lo, hi);
  for (let k = Math.floor(hi / period); k >= 2; k--) {
    const h = refinePeak(a, Math.round(k * period), lo, hi);
    if (Math.abs(h / k - period) < 0.5 && a[Math.round(h)] > 0) return h / k;
  }
  return period;
}

/** Mean of r folded modulo (px, py) into a (N·SUB)² grid. */
function fold(r, w, h, px, py) {
  const B = N * SUB;
  const bx = new Int32Array(w);
  const by = new Int32Array(h);
  for (let i = 0; i < w; i++) bx[i] = Math.floor((((i + 0.5) / px) % 1) * B) % B;
  for (let j = 0; j < h; j++) by[j] = Math.floor((((j + 0.5) / py) % 1) * B) % B;
  const sum = new Float64Array(B * B);
  const count = new Float64Array(B * B);
  for (let j = 0; j < h; j++) {
    const base = by[j] * B;
    const row = j * w;
    for (let i = 0; i < w; i++) {
      const k = base + bx[i];
      sum[k] += r[row + i];
      count[k]++;
    }
  }
  for (let k = 0; k < sum.length; k++) sum[k] = count[k] > 0 ? sum[k] / count[k] : 0;
  return sum;
}

/** Cell values (N×N) of a folded grid for cells starting at bin phase (px, py): the mean of each cell's central bins. */
function cellGrid(F, px, py) {
  const B = N * SUB;
  const g = new Float64Array(CELLS);
  for (let c = 0; c < CELLS; c++) {
    const cx = (c % N) * SUB + px;
    const cy = Math.floor(c / N) * SUB + py;
    let v = 0;
    for (let dy = 1; dy < SUB - 1; dy++) {
      const row = ((cy + dy) % B) * B;
      for (let dx = 1; dx < SUB - 1; dx++) v += F[row + ((cx + dx) % B)];
    }
    g[c] = v;
  }
  return g;
}

const SYNC_CELLS = (() => {
  const list = [];
  for (let c = 0; c < CELLS; c++) if (LAYOUT.bitOf[c] < 0) list.push([c % N, Math.floor(c / N), LAYOUT.chip[c]]);
  return list;
})();

/** Best tile position in a folded grid (bin phase × cyclic cell shift), and the bits read there. */
function readFolded(F) {
  let best = { score: -Infinity, g: null, cx: 0, cy: 0 };
  for (let py = 0; py < SUB; py++) {
    for (let px = 0; px < SUB; px++) {
      const g = cellGrid(F, px, py);
      let energy = 0;
      for (let c = 0; c < CELLS; c++) energy += g[c] * g[c];
      if (energy === 0) continue;
      // Normalized by the grid's energy as if it were spread evenly over the cells.
      const norm = Math.sqrt((energy / CELLS) * SYNC);
      for (let cy = 0; cy < N; cy++) {
        for (let cx = 0; cx < N; cx++) {
          let dot = 0;
          for (const [x, y, chip] of SYNC_CELLS) dot += g[((y + cy) % N) * N + ((x + cx) % N)] * chip;
          const score = dot / norm;
          if (score > best.score) best = { score, g, cx, cy };
        }
      }
    }
  }
  const soft = new Float64Array(BITS);
  if (best.g) {
    for (let c = 0; c < CELLS; c++) {
      const bit = LAYOUT.bitOf[c];
      if (bit >= 0) soft[bit] += best.g[(((Math.floor(c / N) + best.cy) % N) * N) + (((c % N) + best.cx) % N)] * LAYOUT.chip[c];
    }
  }
  const bytes = new Uint8Array(6);
  for (let i = 0; i < BITS; i++) if (soft[i] > 0) bytes[i >> 3] |= 1 << (7 - (i & 7));
  const ok = best.g !== null && crc16(bytes.subarray(0, 4)) === ((bytes[4] << 8) | bytes[5]);
  const id = ((bytes[0] << 24) | (bytes[1] << 16) | (bytes[2] << 8) | bytes[3]) >>> 0;
  return { score: best.score / Math.sqrt(SYNC), ok, id, soft };
}

/**
 * Recovers the forensic id from a screenshot (ImageData or {width, height,
 * data} RGBA). Scale 0.4–2.4× of the embedded size, any position, crops that
 * keep at least a few tiles, lossy compression down to about JPEG q70.
 *
 * @param {{width: number, height: number, data: Uint8ClampedArray | Uint8Array}} image
 * @param {{tileSize?: number, minScale?: number, maxScale?: number, expectedId?: number}} [opts]
 *   tileSize: embedded tile size in px (16 × cellSize, default 128).
 *   expectedId: also report the bit errors against this id (for measurements).
 * @returns {{id: number, confidence: number, scale: number, period: [number, number], bitErrors?: number} | null}
 *   null when no id with a valid CRC is found.
 */
export function decodeForensicMark(image, opts = {}) {
  const best = analyze(image, opts);
  if (!best || !best.ok || best.score < 0.55) return null;
  const tile = opts.tileSize ?? N * FORENSIC_CELL;
  const result = { id: best.id, confidence: Math.min(1, Math.round(best.score * 1000) / 1000), scale: (best.px + best.py) / (2 * tile), period: [best.px, best.py] };
  if (opts.expectedId !== undefined) result.bitErrors = bitErrors(best, opts.expectedId);
  return result;
}

function bitErrors(best, expectedId) {
  const want = payloadBits(expectedId >>> 0);
  return want.reduce((n, b, i) => n + ((best.soft[i] > 0 ? 1 : -1) !== b ? 1 : 0), 0);
}

/**
 * Bit errors (of 48) of the best reading against `expectedId`, even when the
 * CRC fails (48 when nothing periodic is found): for robustness measurements.
 */
export function forensicBitErrors(image, expectedId, opts = {}) {
  const best = analyze(image, opts);
  return best ? bitErrors(best, expectedId) : BITS;
}

function analyze(image, opts) {
  const w = image?.width;
  const h = image?.height;
  if (!Number.isInteger(w) || !Number.isInteger(h) || !image.data || image.data.length < w * h * 4) {
    throw new TypeError('image must be an ImageData-like {width, height, data}');
  }
  const tile = opts.tileSize ?? N * FORENSIC_CELL;
  const lo = Math.max(N * 2, Math.floor(tile * (opts.minScale ?? 0.4)));
  const hi = Math.min(Math.floor(Math.min(w, h) / 2), Math.ceil(tile * (opts.maxScale ?? 2.4)));
  if (hi <= lo) return null;
  const y = luma(image);
  // Period search on a central crop of at most 1024², whitened with a small box.
  const cw = Math.min(w, 1024);
  const ch = Math.min(h, 1024);
  const ox = (w - cw) >> 1;
  const oy = (h - ch) >> 1;
  const crop = new Float32Array(cw * ch);
  for (let j = 0; j < ch; j++) crop.set(y.subarray((oy + j) * w + ox, (oy + j) * w + ox + cw), j * cw);
  const rc = whiten(crop, cw, ch, 6, 4);
  const ax = autocorr(rc, cw, ch, lo - 2, hi + 2, 0);
  const ay = autocorr(rc, cw, ch, lo - 2, hi + 2, 1);
  const peaks = [];
  for (let l = lo; l <= hi; l++) {
    const s = ax[l] + ay[l];
    if (s > ax[l - 1] + ay[l - 1] && s >= ax[l + 1] + ay[l + 1] && s > 0) peaks.push({ l, s });
  }
  peaks.sort((a, b) => b.s - a.s);
  const candidates = [];
  const seen = new Set();
  for (const { l } of peaks.slice(0, 5)) {
    for (const k of [1, 2, 3]) {
      const lag = Math.round(l / k);
      if (lag < lo || [...seen].some((s) => Math.abs(s - lag) <= 1)) continue;
      seen.add(lag);
      candidates.push([refinePeriod(ax, lag, lo - 2, hi + 2), refinePeriod(ay, lag, lo - 2, hi + 2)]);
    }
  }
  const whitened = new Map();
  let best = null;
  for (const [px0, py0] of candidates) {
    const radius = Math.max(1, Math.round((px0 + py0) / (4 * N)) | 1);
    if (!whitened.has(radius)) whitened.set(radius, whiten(y, w, h, radius * 2, 6));
    const r = whitened.get(radius);
    // Small corrections of the period (±0.25 %) when the first reading fails its CRC.
    for (const f of [0, 0.0025, -0.0025, 0.005, -0.005]) {
      const px = px0 * (1 + f);
      const py = py0 * (1 + f);
      const read = readFolded(fold(r, w, h, px, py));
      if (!best || (read.ok && !best.ok) || (read.ok === best.ok && read.score > best.score)) best = { ...read, px, py };
      if (read.ok && read.score > 0.7) break;
    }
    if (best?.ok && best.score > 0.7) break;
  }
  return best;
}
