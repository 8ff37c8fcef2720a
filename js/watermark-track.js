// phiseal burned-in watermarks: a MediaStreamTrack whose frames carry the
// mark, so that a recording or a screenshot of that stream keeps it.
//
// Chromium: MediaStreamTrackProcessor → (draw frame + mark on an
// OffscreenCanvas → new VideoFrame with the same timestamp and duration) →
// VideoTrackGenerator / MediaStreamTrackGenerator: one output frame per input
// frame, same resolution. Elsewhere: a <video> playing the track, drawn on a
// canvas at each requestVideoFrameCallback, captured with captureStream(0)
// and requestFrame() (one frame per decoded frame).

import { ErrorCode, PhisealError, invalidArgument } from './errors.js';
import { drawForensic, drawText, markLines, markOptions, slotOf, slotOffset } from './watermark-render.js';

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
class MarkLayer {
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
      this.layout = drawText(ctx, w / k, h / k, this.opts, lines, slotOffset(slot));
      this.redraws++;
    }
    return this.canvas;
  }
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

function statsKeeper(onStats, layer, method) {
  const s = { method, frames: 0, totalMs: 0, maxMs: 0, width: 0, height: 0, redraws: 0 };
  let windowStart = performance.now();
  return {
    stats: () => ({ ...s, redraws: layer.redraws, lines: layer.lines ? [...layer.lines] : [], avgMs: s.frames ? s.totalMs / s.frames : 0 }),
    frame(ms, w, h) {
      s.frames++;
      s.totalMs += ms;
      s.maxMs = Math.max(s.maxMs, ms);
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

function viaProcessor(track, opts, onStats) {
  const processor = new MediaStreamTrackProcessor({ track });
  const generator = typeof VideoTrackGenerator === 'function' ? new VideoTrackGenerator() : new MediaStreamTrackGenerator({ kind: 'video' });
  const out = generator.track ?? generator;
  const layer = new MarkLayer(opts);
  const keeper = statsKeeper(onStats, layer, 'processor');
  let canvas = null;
  let ctx = null;
  const transform = new TransformStream({
    transform(frame, controller) {
      const t0 = performance.now();
      const w = frame.displayWidth;
      const h = frame.displayHeight;
      if (!canvas || canvas.width !== w || canvas.height !== h) {
        canvas = new OffscreenCanvas(w, h);
        ctx = canvas.getContext('2d', { alpha: false, desynchronized: true });
      }
      ctx.drawImage(frame, 0, 0, w, h);
      ctx.drawImage(layer.at(w, h), 0, 0);
      const init = { timestamp: frame.timestamp, alpha: 'discard' };
      if (frame.duration !== null) init.duration = frame.duration;
      const marked = new VideoFrame(canvas, init);
      frame.close();
      controller.enqueue(marked);
      keeper.frame(performance.now() - t0, w, h);
    },
  });
  const writable = generator.writable;
  processor.readable
    .pipeThrough(transform)
    .pipeTo(writable)
    .catch(() => {
      // The output track was stopped, or the input ended.
    });
  const stop = out.stop.bind(out);
  out.stop = () => {
    stop();
    processor.readable.cancel().catch(() => {});
  };
  out.watermarkStats = keeper.stats;
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
      out.requestFrame();
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
