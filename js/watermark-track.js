// phiseal burned-in watermarks: a MediaStreamTrack whose frames carry the
// mark, so that a recording or a screenshot of that stream keeps it.
//
// Chromium: MediaStreamTrackProcessor → mark → VideoTrackGenerator /
// MediaStreamTrackGenerator: one output frame per input frame, same
// resolution, timestamp and duration. The mark is blended into the frame's
// own pixels (I420, I420A, NV12 planes, or RGBA/BGRA) from a layer converted
// to per-pixel alpha and colour once each time it is redrawn, so no frame is
// converted to RGB and back (that costs over 100 ms a 1080p frame in software
// rendering); other formats are drawn on an OffscreenCanvas. Elsewhere: a <video> playing the track, drawn on a
// canvas at each requestVideoFrameCallback, captured with captureStream(0)
// and requestFrame() (one frame per decoded frame).

import { ErrorCode, PhisealError, invalidArgument } from './errors.js';
import { drawForensic, drawText, markLines, markOptions, slotOf, slotOffset } from './watermark-render.js';
import { forensicCells } from './watermark-forensic.js';

/** Which burn-in path this browser offers ('processor', 'canvas' or null). */
export function watermarkTrackSupport() {
  const g = globalThis;
  const generator = typeof g.VideoTrackGenerator === 'function' || typeof g.MediaStreamTrackGenerator === 'function';
  if (typeof g.MediaStreamTrackProcessor === 'function' && generator && typeof g.OffscreenCanvas === 'function' && typeof g.VideoFrame === 'function') {
    return 'processor';
  }
  if (typeof g.HTMLCanvasElement === 'function' && typeof HTMLCanvasElement.prototype.captureStream === 'function' && typeof HTMLVideoElement.prototype.requestVideoFrameCallback === 'function') {
    return 'canvas';
  }
  return null;
}

/**
 * The mark as one transparent layer of the frame's size, redrawn only when
 * its text (the clock), position (the shift schedule) or size changes.
 */
export class MarkLayer {
  constructor(opts) {
    this.opts = opts;
    this.key = '';
    this.canvas = new OffscreenCanvas(1, 1);
    this.redraws = 0;
  }

  /** @returns {OffscreenCanvas} the layer for a w × h frame at this moment */
  at(w, h) {
    const now = Date.now();
    const lines = markLines(this.opts, new Date(now));
    const slot = slotOf(this.opts, now);
    const key = `${w}x${h}|${slot}|${lines.join('\n')}`;
    if (key !== this.key) {
      this.key = key;
      const c = this.canvas;
      if (c.width !== w || c.height !== h) {
        c.width = w;
        c.height = h;
      }
      const ctx = c.getContext('2d');
      ctx.setTransform(1, 0, 0, 1, 0, 0);
      ctx.clearRect(0, 0, w, h);
      if (this.opts.forensic) drawForensic(ctx, w, h, this.opts.forensic);
      // Text scaled with the frame: fontSize is in pixels of a 720-line frame.
      const k = Math.max(0.5, h / 720);
      ctx.setTransform(k, 0, 0, k, 0, 0);
      this.lines = lines;
      this.offset = slotOffset(slot);
      this.layout = drawText(ctx, w / k, h / k, this.opts, lines, this.offset);
      this.redraws++;
      this.planes = null;
    }
    return this.canvas;
  }

  /**
   * The layer as blend tables for w × h frames, for blending into the
   * frame's own bytes: every (alpha, mark value) pair, quantized to 2 and 8
   * levels, is a class with a 256-entry table base → blended. The forensic
   * pattern (dense, two classes) is built once per size from its cells; the
   * text (sparse) from its own canvas each time it is redrawn. Y and U/V are
   * BT.601 limited range (U/V per 2 × 2 block).
   */
  pixels(w, h) {
    this.at(w, h);
    if (this.planes) return this.planes;
    const lut = (this.lut ??= new Uint8Array(4096 * 256));
    const filled = (this.filled ??= new Uint8Array(4096));
    const classOf = (alpha, mark) => {
      if (alpha < 1) return 0;
      const key = ((Math.min(255, alpha) >> 1) << 5) | (Math.max(0, Math.min(255, Math.round(mark))) >> 3);
      if (!filled[key]) {
        filled[key] = 1;
        const al = (key >> 5) << 1;
        const m = ((key & 31) << 3) + 4;
        for (let base = 0; base < 256; base++) lut[(key << 8) | base] = base + (al * (m - base) + 127) / 255;
      }
      return key;
    };
    for (let base = 0; base < 256; base++) lut[base] = base; // class 0: unchanged
    const f = this.opts.forensic;
    const fkey = f ? `${w}x${h}/${f.id}/${f.cellSize}/${f.strength}` : '';
    if (f && this.forensicKey !== fkey) {
      this.forensicKey = fkey;
      const cells = forensicCells(f.id);
      const al = Math.round(f.strength * 255);
      const cls = { y: [classOf(al, 16), classOf(al, 235)], rgb: [classOf(al, 0), classOf(al, 255)] };
      const fy = new Uint16Array(w * h);
      const frgb = new Uint16Array(w * h);
      for (let j = 0; j < h; j++) {
        const cy = (Math.floor(j / f.cellSize) % 16) * 16;
        for (let i = 0; i < w; i++) {
          const sign = cells[cy + (Math.floor(i / f.cellSize) % 16)] > 0 ? 1 : 0;
          fy[j * w + i] = cls.y[sign];
          frgb[j * w + i] = cls.rgb[sign];
        }
      }
      this.forensicPlanes = { y: fy, rgb: frgb };
    }
    // Text: its own canvas (no forensic layer), scaled as in at().
    const t = (this.textCanvas ??= new OffscreenCanvas(w, h));
    if (t.width !== w || t.height !== h) {
      t.width = w;
      t.height = h;
    }
    const ctx = t.getContext('2d', { willReadFrequently: true });
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, w, h);
    const k = Math.max(0.5, h / 720);
    ctx.setTransform(k, 0, 0, k, 0, 0);
    drawText(ctx, w / k, h / k, this.opts, this.lines, this.offset);
    const rgba = ctx.getImageData(0, 0, w, h).data;
    let count = 0;
    for (let p = 3; p < rgba.length; p += 4) if (rgba[p] !== 0) count++;
    const idx = new Uint32Array(count);
    const y = new Uint16Array(count);
    const r = new Uint16Array(count);
    const g = new Uint16Array(count);
    const b = new Uint16Array(count);
    const cw = (w + 1) >> 1;
    const sums = (this.sums = this.sums?.length === cw * ((h + 1) >> 1) * 3 ? this.sums.fill(0) : new Float32Array(cw * ((h + 1) >> 1) * 3));
    let blocks = 0;
    for (let kk = 0, n = 0; n < count; kk++) {
      const p = kk * 4;
      const al = rgba[p + 3];
      if (al === 0) continue;
      const R = rgba[p];
      const G = rgba[p + 1];
      const B = rgba[p + 2];
      idx[n] = kk;
      y[n] = classOf(al, 16 + 0.257 * R + 0.504 * G + 0.098 * B);
      r[n] = classOf(al, R);
      g[n] = classOf(al, G);
      b[n] = classOf(al, B);
      n++;
      const q = ((((kk / w) | 0) >> 1) * cw + ((kk % w) >> 1)) * 3;
      if (sums[q] === 0) blocks++;
      sums[q] += al;
      sums[q + 1] += al * (128 - 0.148 * R - 0.291 * G + 0.439 * B);
      sums[q + 2] += al * (128 + 0.439 * R - 0.368 * G - 0.071 * B);
    }
    const cidx = new Uint32Array(blocks);
    const u = new Uint16Array(blocks);
    const v = new Uint16Array(blocks);
    for (let q = 0, n = 0; n < blocks; q += 3) {
      const s = sums[q];
      if (s === 0) continue;
      cidx[n] = q / 3;
      u[n] = classOf(s / 4, sums[q + 1] / s);
      v[n] = classOf(s / 4, sums[q + 2] / s);
      n++;
    }
    this.planes = { w, h, lut, forensic: f ? this.forensicPlanes : null, text: { idx, y, r, g, b, cidx, u, v }, cw };
    return this.planes;
  }
}

/** Dense: every byte of a plane through its class's table. */
function blendDense(buf, offset, stride, step, w, h, cls, lut) {
  for (let j = 0; j < h; j++) {
    const row = offset + j * stride;
    const mrow = j * w;
    for (let i = 0; i < w; i++) {
      const p = row + i * step;
      buf[p] = lut[(cls[mrow + i] << 8) | buf[p]];
    }
  }
}

/** Sparse: only the listed pixels (index j·w + i). */
function blendSparse(buf, offset, stride, step, w, idx, cls, lut) {
  for (let n = 0; n < idx.length; n++) {
    const k = idx[n];
    const j = (k / w) | 0;
    const p = offset + j * stride + (k - j * w) * step;
    buf[p] = lut[(cls[n] << 8) | buf[p]];
  }
}

const PIXEL_FORMATS = new Set(['I420', 'I420A', 'NV12', 'RGBA', 'RGBX', 'BGRA', 'BGRX']);

/** Blends the layer into a copy of the frame's pixels; null when the format is not handled. */
async function markPixels(frame, layer, scratch) {
  const format = frame.format;
  if (!PIXEL_FORMATS.has(format)) return null;
  const { width: w, height: h } = frame.visibleRect;
  if (w !== frame.displayWidth || h !== frame.displayHeight) return null; // non-square pixels: the canvas path scales
  const size = frame.allocationSize();
  if (!scratch.buf || scratch.buf.length !== size) scratch.buf = new Uint8Array(size);
  const buf = scratch.buf;
  const planes = await frame.copyTo(buf);
  const m = layer.pixels(w, h);
  const { lut, forensic, text, cw } = m;
  if (format === 'I420' || format === 'I420A' || format === 'NV12') {
    const [yp, up] = planes;
    if (forensic) blendDense(buf, yp.offset, yp.stride, 1, w, h, forensic.y, lut);
    blendSparse(buf, yp.offset, yp.stride, 1, w, text.idx, text.y, lut);
    if (format === 'NV12') {
      blendSparse(buf, up.offset, up.stride, 2, cw, text.cidx, text.u, lut);
      blendSparse(buf, up.offset + 1, up.stride, 2, cw, text.cidx, text.v, lut);
    } else {
      blendSparse(buf, up.offset, up.stride, 1, cw, text.cidx, text.u, lut);
      blendSparse(buf, planes[2].offset, planes[2].stride, 1, cw, text.cidx, text.v, lut);
    }
  } else {
    const bgr = format.startsWith('BGR');
    const { offset, stride } = planes[0];
    const channels = [[bgr ? 2 : 0, text.r], [1, text.g], [bgr ? 0 : 2, text.b]];
    for (const [c, cls] of channels) {
      if (forensic) blendDense(buf, offset + c, stride, 4, w, h, forensic.rgb, lut);
      blendSparse(buf, offset + c, stride, 4, w, text.idx, cls, lut);
    }
  }
  const init = { format, codedWidth: w, codedHeight: h, timestamp: frame.timestamp, layout: planes };
  if (frame.duration !== null) init.duration = frame.duration;
  if (frame.colorSpace) init.colorSpace = frame.colorSpace.toJSON ? frame.colorSpace.toJSON() : frame.colorSpace;
  return new VideoFrame(buf, init);
}

/**
 * A new video track whose frames carry the watermark (visible text and,
 * with `forensic`, the invisible id). Frame rate and resolution are kept;
 * stopping the returned track stops the processing (not `track`).
 *
 * @param {MediaStreamTrack} track a video track
 * @param {object} options the drawing options of Watermark.attach (text, opacity,
 *   fontSize, angle, density, moveEverySeconds, color, showTime, forensic) and
 *   `method: 'auto' | 'processor' | 'canvas'`, `onStats(stats)` (every second:
 *   frames, average and max ms per frame)
 * @returns {MediaStreamTrack & {watermarkStats: () => object}}
 * @throws {PhisealError} INVALID_ARGUMENT; UNSUPPORTED when no path works here
 */
export function watermarkTrack(track, options) {
  if (typeof MediaStreamTrack !== 'function' || !(track instanceof MediaStreamTrack) || track.kind !== 'video') {
    throw invalidArgument('track must be a video MediaStreamTrack');
  }
  const o = options ?? {};
  const opts = markOptions(o);
  const method = o.method ?? 'auto';
  if (!['auto', 'processor', 'canvas'].includes(method)) throw invalidArgument('method must be "auto", "processor" or "canvas"');
  if (o.onStats !== undefined && typeof o.onStats !== 'function') throw invalidArgument('onStats must be a function');
  const support = watermarkTrackSupport();
  const path = method === 'auto' ? support : method;
  if (path === 'processor' && support === 'processor') return viaProcessor(track, opts, o.onStats);
  if (path === 'canvas' || (path === 'processor' && support === 'canvas')) {
    if (typeof HTMLCanvasElement === 'function' && typeof HTMLVideoElement.prototype.requestVideoFrameCallback === 'function') {
      return viaCanvas(track, opts, o.onStats);
    }
  }
  throw new PhisealError('burning a watermark into a track needs MediaStreamTrackProcessor or canvas.captureStream with requestVideoFrameCallback', ErrorCode.UNSUPPORTED);
}

export function statsKeeper(onStats, layer, method) {
  const s = { method, frames: 0, totalMs: 0, maxMs: 0, width: 0, height: 0, redraws: 0 };
  const recent = [];
  const p50 = () => (recent.length ? [...recent].sort((a, b) => a - b)[recent.length >> 1] : 0);
  let windowStart = performance.now();
  return {
    stats: () => ({ ...s, redraws: layer.redraws, lines: layer.lines ? [...layer.lines] : [], avgMs: s.frames ? s.totalMs / s.frames : 0, p50Ms: p50() }),
    frame(ms, w, h, format) {
      if (format) s.format = format;
      s.frames++;
      s.totalMs += ms;
      s.maxMs = Math.max(s.maxMs, ms);
      recent.push(ms);
      if (recent.length > 300) recent.shift();
      s.width = w;
      s.height = h;
      const now = performance.now();
      if (onStats && now - windowStart >= 1000) {
        windowStart = now;
        try {
          onStats({ ...s, redraws: layer.redraws, avgMs: s.totalMs / s.frames });
        } catch {
          // a failing callback must not stop the video
        }
      }
    },
  };
}

/**
 * The per-frame transform of the processor path: each VideoFrame in, the
 * same frame with the mark blended into its pixels out (or drawn on an
 * OffscreenCanvas for pixel formats not handled). Runs in the watermark
 * worker, or on the main thread where no worker can be started.
 * @param {MarkLayer} layer
 * @param {{frame: (ms: number, w: number, h: number, format?: string) => void}} keeper
 */
export function markTransform(layer, keeper) {
  let canvas = null;
  let ctx = null;
  const scratch = {};
  let pixelPath = true;
  return new TransformStream({
    async transform(frame, controller) {
      const t0 = performance.now();
      const w = frame.displayWidth;
      const h = frame.displayHeight;
      let marked = null;
      if (pixelPath) {
        try {
          marked = await markPixels(frame, layer, scratch);
        } catch {
          pixelPath = false; // e.g. copyTo refused: draw from now on
        }
      }
      if (!marked) {
        if (!canvas || canvas.width !== w || canvas.height !== h) {
          canvas = new OffscreenCanvas(w, h);
          ctx = canvas.getContext('2d', { alpha: false, desynchronized: true });
        }
        ctx.drawImage(frame, 0, 0, w, h);
        ctx.drawImage(layer.at(w, h), 0, 0);
        const init = { timestamp: frame.timestamp, alpha: 'discard' };
        if (frame.duration !== null) init.duration = frame.duration;
        marked = new VideoFrame(canvas, init);
      }
      keeper.frame(performance.now() - t0, w, h, frame.format);
      frame.close();
      controller.enqueue(marked);
    },
  });
}

/** The drawing options without the text function (which cannot cross to a worker). */
function workerOptions(opts) {
  const { text, ...rest } = opts;
  return { ...rest, showTime: false };
}

function viaProcessor(track, opts, onStats) {
  const processor = new MediaStreamTrackProcessor({ track });
  const generator = typeof VideoTrackGenerator === 'function' ? new VideoTrackGenerator() : new MediaStreamTrackGenerator({ kind: 'video' });
  const out = generator.track ?? generator;
  const layer = new MarkLayer(opts);
  const keeper = statsKeeper(onStats, layer, 'processor');
  const stop = out.stop.bind(out);
  let state = 'starting'; // 'worker' | 'main' | 'stopped'
  let last = null; // the worker's latest stats (with `error` if it failed)
  let worker = null;
  let timer = null;
  const onMainThread = () => {
    state = 'main';
    processor.readable
      .pipeThrough(markTransform(layer, keeper))
      .pipeTo(generator.writable)
      .catch(() => {
        // The output track was stopped, or the input ended.
      });
  };
  const finish = () => {
    clearInterval(timer);
    worker?.terminate();
  };
  // In a worker, so the per-frame work (about 16 ms for a 1080p frame here)
  // stays off the main thread. The streams move there only once the worker
  // says it is running (frames wait in the processor meanwhile); if it
  // cannot start, the main thread does the work. The text (possibly a
  // function of time) is evaluated here and posted when it changes.
  try {
    worker = new Worker(new URL('./watermark-worker.js', import.meta.url), { type: 'module', name: 'phiseal-watermark' });
  } catch {
    onMainThread();
  }
  if (worker !== null) {
    const lines = () => markLines(opts, new Date());
    let sent = null;
    timer = setInterval(() => {
      const now = lines();
      if (state === 'worker' && now.join('\n') !== sent.join('\n')) {
        sent = now;
        worker.postMessage({ op: 'lines', lines: now });
      }
    }, 200);
    worker.onmessage = (e) => {
      const m = e.data;
      if (m?.op === 'ready' && state === 'starting') {
        sent = lines();
        try {
          worker.postMessage(
            { op: 'start', readable: processor.readable, writable: generator.writable, opts: workerOptions(opts), lines: sent },
            [processor.readable, generator.writable],
          );
          state = 'worker';
        } catch {
          // The streams cannot move to a worker here: mark on the main thread.
          finish();
          onMainThread();
        }
      } else if (m?.op === 'ended') {
        // The pipeline ended (track stopped, input ended or failed): the output
        // track has no more frames; stop the clock and the worker.
        if (m.error) last = { ...(last ?? keeper.stats()), error: m.error };
        state = 'stopped';
        finish();
      } else if (m?.op === 'stats') {
        last = m.stats;
        if (onStats && m.second) {
          try {
            onStats(last);
          } catch {
            // a failing callback must not stop the video
          }
        }
      }
    };
    worker.onerror = (e) => {
      if (state === 'starting') {
        finish();
        onMainThread();
      } else if (state === 'worker') {
        // The worker failed after taking the streams: the output track stalls
        // (no unmarked frame is ever sent); report it in the stats.
        last = { ...(last ?? keeper.stats()), error: String(e?.message ?? 'watermark worker failed') };
        state = 'stopped';
        finish();
      }
    };
  }
  out.watermarkStats = () => last ?? keeper.stats();
  out.stop = () => {
    stop();
    clearInterval(timer);
    if (state === 'worker') worker.postMessage({ op: 'stop' }); // it cancels its input and closes itself
    else if (state !== 'stopped') {
      processor.readable.cancel().catch(() => {});
      finish();
    }
    state = 'stopped';
  };
  return out;
}

function viaCanvas(track, opts, onStats) {
  const video = document.createElement('video');
  video.muted = true;
  video.playsInline = true;
  video.srcObject = new MediaStream([track]);
  const canvas = document.createElement('canvas');
  const ctx = canvas.getContext('2d', { alpha: false });
  const stream = canvas.captureStream(0);
  const out = stream.getVideoTracks()[0];
  // Chromium and WebKit put requestFrame() on the track (CanvasCaptureMediaStreamTrack),
  // Firefox on the stream (CanvasCaptureMediaStream): calling the track's alone froze
  // Firefox's output at its first frame.
  const requestFrame = typeof out.requestFrame === 'function' ? () => out.requestFrame() : () => stream.requestFrame();
  const layer = new MarkLayer(opts);
  const keeper = statsKeeper(onStats, layer, 'canvas');
  let stopped = false;
  const draw = () => {
    if (stopped) return;
    const t0 = performance.now();
    const w = video.videoWidth;
    const h = video.videoHeight;
    if (w > 0 && h > 0) {
      if (canvas.width !== w || canvas.height !== h) {
        canvas.width = w;
        canvas.height = h;
      }
      ctx.drawImage(video, 0, 0, w, h);
      ctx.drawImage(layer.at(w, h), 0, 0);
      requestFrame();
      keeper.frame(performance.now() - t0, w, h);
    }
    video.requestVideoFrameCallback(draw);
  };
  video.requestVideoFrameCallback(draw);
  video.play().catch(() => {});
  const stop = out.stop.bind(out);
  out.stop = () => {
    stopped = true;
    stop();
    video.pause();
    video.srcObject = null;
  };
  out.watermarkStats = keeper.stats;
  return out;
}
