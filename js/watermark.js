// phiseal/watermark: dynamic, tamper-resistant watermarks that show who was
// looking at PHI and when, over video, canvases and any PHI container.
//
//   import { Watermark } from 'phiseal/watermark';
//   const mark = Watermark.attach(video, {
//     text: ['dr.lee@clinic.example', 'Dr. Ana Lee', 'Northside Clinic'],   // + the time, to the second
//     forensic: { id: sessionNumber },          // optional invisible 32-bit id (decodeForensicMark)
//     onTamper: (e) => audit.append({ action: 'watermark-tamper', detail: e }),
//   });
//   ...
//   mark.detach();
//
// What it does, and what a page cannot do: docs/SECURITY.md §Watermarks.
//
// Design: the mark is drawn on canvases inside a closed shadow root of a
// host element that sits in the top layer (a manual popover: above every
// z-index, above fullscreen elements once re-raised, and untouched by the
// opacity, transform, clip-path, filter or visibility of its ancestors),
// whose only style is one inline declaration block with `all: initial
// !important` (so no stylesheet reaches it). The canvases are redrawn only
// when the text changes (once a second for the clock) or the pattern moves
// (every `moveEverySeconds`); following the target costs a few style writes
// inside the shadow root while it moves, nothing otherwise.
//
// Tamper resistance: a MutationObserver on the host, its ancestors and the
// target's parent restores synchronously (in the microtask after the
// change); a periodic check (every 40 ms) covers what mutations do not
// show (closed popover, hidden ancestors, elements over the target, top-layer
// elements opened above the mark, a replaced target). Every tamper is
// reported; repeated tampering hides the target (failurePolicy 'hide').
//
// This file imports no wasm: `phiseal/watermark` is small and synchronous.

import { ErrorCode, PhisealError, invalidArgument } from './errors.js';
import { drawForensic, drawText, markLines, markOptions, slotOf, slotOffset } from './watermark-render.js';

export { decodeForensicMark, forensicBitErrors, forensicCells, forensicId, forensicTile, FORENSIC_CELL, FORENSIC_STRENGTH } from './watermark-forensic.js';
export { formatTime } from './watermark-render.js';
export { watermarkTrack, watermarkTrackSupport } from './watermark-track.js';

// Platform functions captured when the module loads, so that a script that
// replaces them later cannot blind the checks (one that runs before phiseal
// can: load phiseal first).
const hasDom = typeof Element === 'function' && typeof document === 'object';
const N = hasDom
  ? {
      apply: Reflect.apply,
      now: performance.now.bind(performance),
      setTimeout: globalThis.setTimeout.bind(globalThis),
      clearTimeout: globalThis.clearTimeout.bind(globalThis),
      raf: globalThis.requestAnimationFrame.bind(globalThis),
      caf: globalThis.cancelAnimationFrame.bind(globalThis),
      getComputedStyle: globalThis.getComputedStyle.bind(globalThis),
      attachShadow: Element.prototype.attachShadow,
      setAttribute: Element.prototype.setAttribute,
      removeAttribute: Element.prototype.removeAttribute,
      getAttribute: Element.prototype.getAttribute,
      rect: Element.prototype.getBoundingClientRect,
      append: Element.prototype.append,
      remove: Element.prototype.remove,
      matches: Element.prototype.matches,
      checkVisibility: Element.prototype.checkVisibility,
      showPopover: HTMLElement.prototype.showPopover,
      hidePopover: HTMLElement.prototype.hidePopover,
      elementFromPoint: Document.prototype.elementFromPoint,
      contains: Node.prototype.contains,
      MutationObserver: globalThis.MutationObserver,
      ResizeObserver: globalThis.ResizeObserver,
      queueMicrotask: globalThis.queueMicrotask.bind(globalThis),
      Worker: globalThis.Worker,
      Blob: globalThis.Blob,
      createObjectURL: globalThis.URL?.createObjectURL?.bind(URL),
      revokeObjectURL: globalThis.URL?.revokeObjectURL?.bind(URL),
      querySelectorAll: Document.prototype.querySelectorAll,
      // Getters read by the checks, captured so that a page cannot redefine them to blind them.
      visibilityState: Object.getOwnPropertyDescriptor(Document.prototype, 'visibilityState')?.get,
      fullscreenElement: Object.getOwnPropertyDescriptor(Document.prototype, 'fullscreenElement')?.get,
      offsetWidth: Object.getOwnPropertyDescriptor(HTMLElement.prototype, 'offsetWidth')?.get,
      offsetHeight: Object.getOwnPropertyDescriptor(HTMLElement.prototype, 'offsetHeight')?.get,
      fillText: CanvasRenderingContext2D.prototype.fillText,
      drawImage: CanvasRenderingContext2D.prototype.drawImage,
    }
  : null;
const call = (fn, self, ...args) => N.apply(fn, self, args);

const MAX_Z = '2147483647';
const HOST_STYLE = [
  ['all', 'initial'],
  ['position', 'fixed'],
  ['inset', '0px'],
  ['display', 'block'],
  ['visibility', 'visible'],
  ['opacity', '1'],
  ['pointer-events', 'none'],
  ['z-index', MAX_Z],
  ['overflow', 'hidden'],
  ['contain', 'strict'],
]
  .map(([k, v]) => `${k}: ${v} !important`)
  .join('; ');
/** Computed values the host must have; anything else is reported. */
const EXPECTED = { display: 'block', visibility: 'visible', opacity: '1', transform: 'none', clipPath: 'none', filter: 'none', position: 'fixed' };
const TOP_LAYER = ':modal, :fullscreen, :popover-open';
// Five points (centre and four around it) where covering elements are looked for.
const SAMPLE = [[0.5, 0.5], [0.25, 0.25], [0.75, 0.25], [0.25, 0.75], [0.75, 0.75]];

const token = Symbol('phiseal.watermark');

/** Every watermark host of this module: they recognise each other and never report one another as a cover. */
const HOSTS = new WeakSet();

/**
 * A heartbeat from a dedicated worker: the page can cancel its own timers
 * (clearTimeout on every id) and animation frames, but not a worker's
 * timer it has no handle to. Each tick calls every subscriber; without
 * workers (a CSP that forbids blob: workers) there is no heartbeat and the
 * checks run on the page's timers and observers only.
 */
const heartbeat = { worker: null, failed: false, subs: new Set() };
const HEARTBEAT_MS = 25;

function onHeartbeat(fn) {
  if (heartbeat.worker === null && !heartbeat.failed) {
    try {
      const src = 'let t=0;onmessage=(e)=>{clearInterval(t);t=setInterval(()=>postMessage(0),e.data)};';
      const url = N.createObjectURL(new N.Blob([src], { type: 'text/javascript' }));
      const w = new N.Worker(url);
      let loaded = false;
      w.onmessage = () => {
        if (!loaded) {
          loaded = true;
          N.revokeObjectURL(url);
        }
        for (const f of heartbeat.subs) f();
      };
      w.onerror = () => {
        heartbeat.failed = true;
      };
      w.postMessage(HEARTBEAT_MS);
      heartbeat.worker = w;
    } catch {
      heartbeat.failed = true;
    }
  }
  heartbeat.subs.add(fn);
  return () => {
    heartbeat.subs.delete(fn);
    if (heartbeat.subs.size === 0 && heartbeat.worker !== null) {
      heartbeat.worker.terminate();
      heartbeat.worker = null;
    }
  };
}

/**
 * A watermark attached to one target. Create with Watermark.attach().
 */
export class Watermark {
  #target;
  #opts;
  #cfg;
  #host;
  #clip;
  #fCanvas;
  #tCanvas;
  #block;
  #mo;
  #ro;
  #timer = 0;
  #raf = 0;
  #stable = 0;
  #clipRect = '';
  #size = '';
  #drawnKey = '';
  #drawnForensic = '';
  #layout = null;
  #layers = new Set();
  #covers = new WeakSet();
  #tampers = [];
  #blocked = false;
  #targetStyle = null;
  #lastTamper = 0;
  #targetMissing = false;
  #clippers = [];
  #off = [];
  #detached = false;
  #popover;
  #checking = false;
  #probe;
  #zoom = 1;
  #timerDue = Infinity;
  #lastBeat = 0;
  #stalled = false;
  #collapsed = false;

  /**
   * Draws a tiled, rotated, semi-transparent mark over `target` and keeps it
   * there (see the file header).
   * @param {Element | string} target a video, a canvas or any PHI container, or a CSS selector
   * @param {object} options see js/watermark.d.ts (WatermarkOptions)
   * @returns {Watermark}
   * @throws {PhisealError} INVALID_ARGUMENT for bad options or target; UNSUPPORTED outside a browser
   */
  static attach(target, options) {
    return new Watermark(token, target, options);
  }

  /** @internal use Watermark.attach */
  constructor(t, target, options) {
    if (t !== token) throw new PhisealError('use Watermark.attach(target, options)', ErrorCode.MISUSE);
    if (!hasDom) throw new PhisealError('watermarks need a browser DOM', ErrorCode.UNSUPPORTED);
    const o = options ?? {};
    this.#opts = markOptions(o);
    this.#cfg = watchOptions(o, {});
    const el = typeof target === 'string' ? document.querySelector(target) : target;
    if (!(el instanceof Element)) throw invalidArgument('target must be an element or a selector that matches one');
    if (typeof target === 'string' && this.#cfg.selector === undefined) this.#cfg.selector = target;
    this.#target = el;
    this.#popover = typeof N.showPopover === 'function';
    this.#build();
    // Top-layer elements open before the mark are covered by it (see #place), not reported.
    this.#layers = new Set(this.#foreignLayers());
    this.#place();
    this.#redraw(true);
    this.#observe();
    this.#listen();
    this.#schedule();
  }

  /** The protected element (changes when a re-rendered target is re-found). */
  get target() {
    return this.#target;
  }

  /** The host element of the overlay (in the light DOM; its contents are in a closed shadow root). */
  get host() {
    return this.#host;
  }

  /** 'top-layer' (a manual popover) or 'fixed' (browsers without the Popover API). */
  get mode() {
    return this.#popover ? 'top-layer' : 'fixed';
  }

  /** Whether the target is hidden after repeated tampering. */
  get blocked() {
    return this.#blocked;
  }

  /** The text lines drawn now. */
  get lines() {
    return this.#layout ? [...this.#layout.lines] : [];
  }

  /**
   * Where the tiles are now (for tests and demos): tile size, tile centres in
   * viewport CSS px, the lines, the schedule's offset and the drawn viewport size.
   */
  get layout() {
    const l = this.#layout;
    return l ? { tile: [...l.tile], centers: l.centers.map((c) => [...c]), lines: [...l.lines], offset: [...l.offset], viewport: [...l.viewport] } : null;
  }

  /** Changes options (any of attach's) and redraws. */
  update(options) {
    this.#alive();
    if (options !== undefined) {
      this.#opts = markOptions(options, this.#opts);
      this.#cfg = watchOptions(options, this.#cfg);
    }
    this.#drawnForensic = '';
    this.#redraw(true);
    this.#schedule();
  }

  /** Runs every check now (they also run on mutations and every checkIntervalMs), e.g. after the app moved things. */
  checkNow() {
    this.#alive();
    this.#check(true);
  }

  /** Removes the mark and stops watching; the target is shown again if it was hidden. */
  detach() {
    if (this.#detached) return;
    this.#detached = true;
    N.clearTimeout(this.#timer);
    if (this.#raf) N.caf(this.#raf);
    this.#mo.disconnect();
    this.#ro?.disconnect();
    for (const off of this.#off) off();
    this.#unblock(false);
    call(N.remove, this.#host);
  }

  #alive() {
    if (this.#detached) throw new PhisealError('this watermark was detached', ErrorCode.MISUSE);
  }

  // ---------------------------------------------------------------- building

  #build() {
    const host = document.createElement('div');
    call(N.setAttribute, host, 'style', HOST_STYLE);
    if (this.#popover) call(N.setAttribute, host, 'popover', 'manual');
    const root = call(N.attachShadow, host, { mode: 'closed' });
    const clip = document.createElement('div');
    clip.style.cssText = 'position:absolute;overflow:hidden;left:0;top:0;width:0;height:0;pointer-events:none';
    const canvas = () => {
      const c = document.createElement('canvas');
      c.style.cssText = 'position:absolute;left:0;top:0;pointer-events:none';
      return c;
    };
    this.#fCanvas = canvas();
    this.#tCanvas = canvas();
    this.#block = document.createElement('div');
    this.#block.style.cssText =
      'position:absolute;inset:0;display:none;background:#1b1b1b;color:#eee;font:600 16px sans-serif;align-items:center;justify-content:center;text-align:center';
    this.#block.textContent = 'Hidden: the watermark over this content was tampered with';
    clip.append(this.#fCanvas, this.#tCanvas, this.#block);
    // 100 CSS px wide at the host's effective zoom: measures what `zoom` on an ancestor does to the mark.
    this.#probe = document.createElement('div');
    this.#probe.style.cssText = 'position:absolute;left:0;top:0;width:100px;height:1px;visibility:hidden;pointer-events:none';
    root.append(this.#probe, clip);
    HOSTS.add(host);
    this.#clip = clip;
    this.#host = host;
    this.#insertHost();
  }

  #container() {
    const c = this.#cfg.container;
    if (c?.isConnected && !this.#hiddenBranch(c)) return c;
    if (document.body?.isConnected && !this.#hiddenBranch(document.body)) return document.body;
    return document.documentElement;
  }

  #hiddenBranch(el) {
    return typeof N.checkVisibility === 'function' && el !== document.documentElement && !call(N.checkVisibility, el);
  }

  #insertHost() {
    const host = this.#host;
    let parent = this.#container();
    // Fallback without the top layer: inside a fullscreen element that can hold children.
    const fs = call(N.fullscreenElement, document);
    if (!this.#popover && fs && !(fs instanceof HTMLMediaElement) && !(fs instanceof HTMLCanvasElement) && !(fs instanceof HTMLImageElement)) parent = fs;
    call(N.append, parent, host);
    this.#raise();
  }

  /** Shows the popover again, which puts it on top of the top layer. */
  #raise() {
    if (!this.#popover) return;
    const host = this.#host;
    try {
      if (call(N.matches, host, ':popover-open')) call(N.hidePopover, host);
      call(N.showPopover, host);
    } catch {
      // Not connected or popover attribute gone: the next check restores both.
    }
    // WebKit showed the re-raised host without its canvases' pixels for 100-300 ms
    // (a modal dialog opened over the content was on screen unmarked): draw them again.
    if (this.#size !== '') {
      this.#drawnKey = '';
      this.#drawnForensic = '';
      this.#redraw(false);
    }
  }

  /**
   * Open top-layer elements that are not phiseal's (modal dialogs, popovers,
   * fullscreen elements), except a fullscreen element holding the target.
   * Such an element may hold a copy of the protected content, so the mark
   * covers it too, and the host is raised above it.
   */
  #foreignLayers() {
    const target = this.#target;
    return [...call(N.querySelectorAll, document, TOP_LAYER)].filter(
      (e) => !HOSTS.has(e) && !(call(N.matches, e, ':fullscreen') && (e === target || call(N.contains, e, target))),
    );
  }

  // ---------------------------------------------------------------- drawing

  /** Positions the clip box over the visible part of the target; true when it moved. */
  #place() {
    const vw = window.innerWidth;
    const vh = window.innerHeight;
    const dpr = window.devicePixelRatio || 1;
    const size = `${vw}x${vh}@${dpr}`;
    if (size !== this.#size) {
      this.#size = size;
      for (const c of [this.#fCanvas, this.#tCanvas]) {
        c.width = Math.max(1, Math.round(vw * dpr));
        c.height = Math.max(1, Math.round(vh * dpr));
        c.style.width = `${vw}px`;
        c.style.height = `${vh}px`;
      }
      this.#drawnKey = '';
      this.#drawnForensic = '';
      this.#redraw(false);
    }
    // `zoom` on an ancestor scales the host too: undo it inside the shadow root,
    // so that the clip box and canvases are in viewport CSS px like the rectangles.
    const z = call(N.rect, this.#probe).width / 100;
    if (z > 0 && Math.abs(z - this.#zoom) > 1e-4) {
      this.#zoom = z;
      this.#clip.style.zoom = Math.abs(z - 1) > 1e-4 ? String(1 / z) : '';
      this.#clipRect = '';
    }
    // Rectangles are taken relative to the host's own box (the clip's origin), which
    // is (0, 0) where getBoundingClientRect is in viewport px. WebKit's, under `zoom`
    // on an ancestor of a scrolled page, shifts every box, the fixed host's too, by
    // the scroll offset in other units: measured from the viewport, the mark missed
    // the target (none on screen); measured from the host, it lands on it.
    const o = call(N.rect, this.#host);
    const box = (e) => {
      const q = call(N.rect, e);
      return { left: q.left - o.left, top: q.top - o.top, right: q.right - o.left, bottom: q.bottom - o.top };
    };
    let l = 0;
    let t = 0;
    let r = 0;
    let b = 0;
    const fs = call(N.fullscreenElement, document);
    const shown = !fs || fs === this.#target || call(N.contains, fs, this.#target);
    if (this.#target.isConnected && !this.#targetMissing && shown) {
      const rect = box(this.#target);
      l = Math.max(0, rect.left);
      t = Math.max(0, rect.top);
      r = Math.min(vw, rect.right);
      b = Math.min(vh, rect.bottom);
      for (const c of this.#clippers) {
        const cr = box(c);
        l = Math.max(l, cr.left);
        t = Math.max(t, cr.top);
        r = Math.min(r, cr.right);
        b = Math.min(b, cr.bottom);
      }
    }
    // Every foreign top-layer element is marked as well (one box: the union).
    if (this.#popover) {
      for (const e of this.#foreignLayers()) {
        const er = box(e);
        const el = Math.max(0, er.left);
        const et = Math.max(0, er.top);
        const eR = Math.min(vw, er.right);
        const eB = Math.min(vh, er.bottom);
        if (eR <= el || eB <= et) continue;
        if (r <= l || b <= t) [l, t, r, b] = [el, et, eR, eB];
        else [l, t, r, b] = [Math.min(l, el), Math.min(t, et), Math.max(r, eR), Math.max(b, eB)];
      }
    }
    const w = Math.max(0, r - l);
    const h = Math.max(0, b - t);
    const key = `${l},${t},${w},${h}`;
    if (key === this.#clipRect) return false;
    this.#clipRect = key;
    const s = this.#clip.style;
    s.left = `${l}px`;
    s.top = `${t}px`;
    s.width = `${w}px`;
    s.height = `${h}px`;
    this.#fCanvas.style.left = this.#tCanvas.style.left = `${-l}px`;
    this.#fCanvas.style.top = this.#tCanvas.style.top = `${-t}px`;
    return true;
  }

  /** Redraws the text canvas when its lines or position changed (or `force`). */
  #redraw(force) {
    const o = this.#opts;
    const now = Date.now();
    const date = new Date(now);
    const lines = markLines(o, date);
    const slot = slotOf(o, now);
    const key = `${lines.join('\n')}|${slot}|${this.#size}`;
    if (!force && key === this.#drawnKey) return;
    this.#drawnKey = key;
    const c = this.#tCanvas;
    const dpr = window.devicePixelRatio || 1;
    const ctx = c.getContext('2d');
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, c.width, c.height);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const offset = slotOffset(slot);
    this.#layout = { ...drawText(ctx, c.width / dpr, c.height / dpr, o, lines, offset), offset, viewport: [c.width / dpr, c.height / dpr] };
    const fkey = o.forensic ? `${o.forensic.id}/${o.forensic.cellSize}/${o.forensic.strength}|${this.#size}` : `none|${this.#size}`;
    if (fkey !== this.#drawnForensic) {
      this.#drawnForensic = fkey;
      const f = this.#fCanvas;
      const fctx = f.getContext('2d');
      fctx.setTransform(1, 0, 0, 1, 0, 0);
      fctx.clearRect(0, 0, f.width, f.height);
      // Device pixels: one cell is cellSize pixels of a screenshot.
      if (o.forensic) drawForensic(fctx, f.width, f.height, o.forensic);
    }
  }

  // ---------------------------------------------------------------- watching

  #observe() {
    const mo = this.#mo ?? new N.MutationObserver(() => this.#check(false));
    this.#mo = mo;
    mo.disconnect();
    mo.observe(this.#host, { attributes: true });
    for (let n = this.#host.parentNode; n; n = n.parentNode) {
      mo.observe(n, n.nodeType === Node.ELEMENT_NODE ? { childList: true, attributes: true, attributeFilter: ['style', 'class', 'hidden'] } : { childList: true });
    }
    const parent = this.#target.parentNode;
    if (parent) mo.observe(parent, { childList: true });
    this.#ro ??= typeof N.ResizeObserver === 'function' ? new N.ResizeObserver(() => this.#kick()) : null;
    this.#ro?.disconnect();
    this.#ro?.observe(this.#target);
    // Scroll containers that clip the target.
    this.#clippers = [];
    for (let e = this.#target.parentElement; e && e !== document.body && e !== document.documentElement; e = e.parentElement) {
      const cs = N.getComputedStyle(e);
      if (cs.overflowX !== 'visible' || cs.overflowY !== 'visible') this.#clippers.push(e);
    }
  }

  #listen() {
    const on = (t, type, fn, opts) => {
      t.addEventListener(type, fn, opts);
      this.#off.push(() => t.removeEventListener(type, fn, opts));
    };
    const kick = () => this.#kick();
    on(window, 'scroll', kick, { capture: true, passive: true });
    on(window, 'resize', kick, { passive: true });
    on(document, 'fullscreenchange', () => {
      if (!this.#popover) {
        call(N.append, this.#container(), this.#host);
        this.#insertHost();
        this.#observe();
        this.#mo.takeRecords();
      }
      this.#raise();
      this.#emit('info', 'fullscreen', true, { fullscreen: document.fullscreenElement !== null });
      this.#topLayerChanged(); // a fullscreen element without the target: a cover, marked and reported
      this.#kick();
    });
    // A closed popover (hidePopover()) is re-opened at once.
    on(this.#host, 'toggle', (e) => {
      if (e.newState === 'closed' && !this.#detached) this.#check(false);
    });
    // Something entering the top layer goes above the mark: raise the mark in
    // the microtask after it (before the next paint), whatever the page's timers do.
    // Popovers: beforetoggle (fires inside showPopover; captured at the window).
    on(
      window,
      'beforetoggle',
      (e) => {
        if (HOSTS.has(e.target) || this.#detached) return;
        if (e.newState === 'closed') {
          N.queueMicrotask(() => {
            this.#layers.delete(e.target);
            this.#place();
          });
        } else N.queueMicrotask(() => this.#topLayerChanged());
      },
      { capture: true },
    );
    // Modal dialogs: showModal() sets the open attribute.
    this.#layerMo = new N.MutationObserver(() => this.#topLayerChanged());
    this.#layerMo.observe(document, { subtree: true, attributes: true, attributeFilter: ['open'] });
    this.#off.push(() => this.#layerMo.disconnect());
    this.#off.push(onHeartbeat(() => this.#beat()));
  }

  #layerMo;

  /** After a top-layer change: raise, cover and report at once (not at the next periodic check). */
  #topLayerChanged() {
    if (this.#detached || this.#checking) return;
    this.#checking = true;
    try {
      this.#checkTopLayer();
      if (this.#place()) this.#kick();
    } finally {
      this.#mo.takeRecords();
      this.#checking = false;
    }
  }

  /**
   * A heartbeat tick (from the worker). When this watermark's timer is
   * overdue by three intervals, run the checks here and restart the timer;
   * if the heartbeat itself arrived on time (the page is not just busy:
   * a busy page delays both), the timer was cancelled: report it. A hidden
   * page is skipped: browsers throttle its timers, and nothing is on screen.
   */
  #beat() {
    if (this.#detached) return;
    const now = N.now();
    const gap = now - this.#lastBeat;
    this.#lastBeat = now;
    if (call(N.visibilityState, document) !== 'visible') {
      this.#timerDue = now + this.#cfg.checkIntervalMs;
      return;
    }
    const overdue = now - this.#timerDue;
    if (overdue <= 3 * this.#cfg.checkIntervalMs) return;
    if (gap < 3 * HEARTBEAT_MS && !this.#stalled) {
      this.#stalled = true;
      this.#emit('tamper', 'timers-stopped', true, { overdueMs: Math.round(overdue) });
    }
    this.#check(true);
    this.#schedule();
  }

  /** Follows the target every frame while it moves (scroll, resize, animation). */
  #kick() {
    this.#stable = 0;
    if (this.#raf || this.#detached) return;
    const frame = () => {
      this.#raf = 0;
      if (this.#detached) return;
      if (this.#place()) this.#stable = 0;
      else this.#stable++;
      if (this.#stable < 10) this.#raf = N.raf(frame);
    };
    this.#raf = N.raf(frame);
  }

  #schedule() {
    N.clearTimeout(this.#timer);
    if (this.#detached) return;
    this.#timerDue = N.now() + this.#cfg.checkIntervalMs;
    this.#timer = N.setTimeout(() => {
      this.#stalled = false;
      this.#check(true);
      this.#schedule();
    }, this.#cfg.checkIntervalMs);
  }

  #emit(type, action, restored, detail) {
    const event = { type, action, restored, time: Date.now() };
    if (detail !== undefined) event.detail = detail;
    for (const fn of [this.#cfg.onEvent, type === 'tamper' ? this.#cfg.onTamper : undefined]) {
      if (typeof fn === 'function') {
        try {
          fn(event);
        } catch (e) {
          N.setTimeout(() => {
            throw e;
          });
        }
      }
    }
    if (type === 'tamper') this.#noteTamper(restored);
  }

  #noteTamper(restored) {
    const now = N.now();
    this.#lastTamper = now;
    this.#tampers.push(now);
    if (!restored) this.#tampers.push(now); // a failed restore counts twice
    while (this.#tampers.length && now - this.#tampers[0] > this.#cfg.failureWindowMs) this.#tampers.shift();
    if (!this.#blocked && this.#tampers.length >= this.#cfg.maxRestoreFailures && this.#cfg.failurePolicy === 'hide') this.#blockTarget();
  }

  #blockTarget() {
    this.#blocked = true;
    this.#block.style.display = 'flex';
    const s = this.#target.style;
    this.#targetStyle = { target: this.#target, value: s.getPropertyValue('visibility'), priority: s.getPropertyPriority('visibility') };
    s.setProperty('visibility', 'hidden', 'important');
    this.#mo.takeRecords();
    this.#emit('tamper', 'hide-target', false, { reason: 'repeated tampering', count: this.#tampers.length });
  }

  #unblock(report) {
    if (!this.#blocked) return;
    this.#blocked = false;
    this.#block.style.display = 'none';
    const saved = this.#targetStyle;
    if (saved) {
      if (saved.value) saved.target.style.setProperty('visibility', saved.value, saved.priority);
      else saved.target.style.removeProperty('visibility');
    }
    this.#targetStyle = null;
    this.#tampers = [];
    if (report) this.#emit('info', 'show-target', true);
  }

  /** Finds the target again after it was removed (a framework re-rendered it). */
  #refind() {
    const old = this.#target;
    const cfg = this.#cfg;
    let found = null;
    if (typeof cfg.findTarget === 'function') found = cfg.findTarget();
    else if (cfg.selector) found = document.querySelector(cfg.selector);
    else if (old.id) found = document.getElementById(old.id);
    if (!found && !cfg.selector && old.className && typeof old.className === 'string') {
      found = document.querySelector(`${old.localName}.${[...old.classList].map((c) => CSS.escape(c)).join('.')}`);
    }
    return found instanceof Element && found.isConnected && found !== this.#host ? found : null;
  }

  /**
   * The checks. `full` (periodic): also the ones that need layout (covering
   * elements, top-layer order, rectangles). Restores what it finds and
   * reports each finding.
   */
  #check(full) {
    if (this.#detached || this.#checking) return;
    this.#checking = true;
    try {
      this.#checkTarget();
      this.#checkHost();
      if (full) {
        this.#checkTopLayer();
        this.#checkCollapsed();
        this.#checkCover();
        this.#checkComputed();
        if (this.#place()) this.#kick();
        this.#redraw(false);
        if (this.#blocked && N.now() - this.#lastTamper > this.#cfg.recoverAfterMs) this.#unblock(true);
        if (this.#blocked && this.#target.style.getPropertyValue('visibility') !== 'hidden') {
          this.#target.style.setProperty('visibility', 'hidden', 'important');
        }
      }
    } finally {
      this.#mo.takeRecords();
      this.#checking = false;
    }
  }

  #checkTarget() {
    if (this.#target.isConnected) {
      this.#targetMissing = false;
      return;
    }
    const found = this.#refind();
    if (found) {
      const wasMissing = this.#targetMissing;
      if (this.#blocked && this.#targetStyle) {
        this.#targetStyle.target = found;
        found.style.setProperty('visibility', 'hidden', 'important');
      }
      this.#target = found;
      this.#targetMissing = false;
      this.#observe();
      this.#place();
      this.#emit('tamper', 'target-replaced', true, { late: wasMissing });
    } else if (!this.#targetMissing) {
      this.#targetMissing = true;
      this.#place();
      this.#emit('info', 'target-removed', false);
    }
  }

  #checkHost() {
    const host = this.#host;
    // Attributes: only ours, exactly.
    const changed = [];
    for (const a of [...host.attributes]) {
      if (a.name === 'style' || a.name === 'popover') continue;
      changed.push(a.name);
      call(N.removeAttribute, host, a.name);
    }
    const style = call(N.getAttribute, host, 'style');
    if (style !== HOST_STYLE) {
      changed.push(...styleDiff(host.style));
      call(N.setAttribute, host, 'style', HOST_STYLE);
    }
    if (this.#popover && call(N.getAttribute, host, 'popover') !== 'manual') {
      changed.push('popover');
      call(N.setAttribute, host, 'popover', 'manual');
    }
    // Place: connected, in a shown branch.
    let moved = null;
    if (!host.isConnected) moved = host.parentNode ? 'parent-removed' : 'remove';
    else if (this.#hiddenBranch(host)) moved = 'hidden-ancestor';
    if (moved) {
      call(N.remove, host);
      this.#insertHost();
      this.#observe();
    }
    let reopened = false;
    if (this.#popover && host.isConnected && !call(N.matches, host, ':popover-open')) {
      this.#raise();
      reopened = true;
    }
    if (!moved && changed.length === 0 && !reopened) return;
    const ok = this.#healthy();
    if (moved) this.#emit('tamper', moved, ok);
    if (changed.length) this.#emit('tamper', 'style', ok, { properties: [...new Set(changed)] });
    if (reopened && !moved && !changed.includes('popover')) this.#emit('tamper', 'popover-closed', ok);
  }

  /** Whether the host is where it must be and shown. */
  #healthy() {
    const host = this.#host;
    return (
      host.isConnected &&
      call(N.getAttribute, host, 'style') === HOST_STYLE &&
      !this.#hiddenBranch(host) &&
      (!this.#popover || call(N.matches, host, ':popover-open'))
    );
  }

  /**
   * A foreign top-layer element (modal dialog, popover, fullscreen) opened
   * since the last look: raise the mark above it, mark it (see #place) and
   * report it, every time it opens (a show/hide loop is a stream of reports
   * that escalates to the failure policy).
   */
  #checkTopLayer() {
    if (!this.#popover) return;
    const open = this.#foreignLayers();
    const fresh = open.filter((e) => !this.#layers.has(e));
    this.#layers = new Set(open);
    if (fresh.length === 0) return;
    this.#raise();
    for (const e of fresh) {
      const kind = call(N.matches, e, ':fullscreen') ? 'fullscreen' : call(N.matches, e, ':modal') ? 'modal' : 'popover';
      this.#emit('tamper', 'cover', this.#healthy(), { element: e.localName, topLayer: true, kind });
    }
  }

  /** The target laid out but drawn with no area (transform: scale(0) on an ancestor): reported once per onset. */
  #checkCollapsed() {
    const t = this.#target;
    if (!t.isConnected || this.#targetMissing || !(t instanceof HTMLElement)) return;
    const r = call(N.rect, t);
    const collapsed = call(N.offsetWidth, t) > 0 && call(N.offsetHeight, t) > 0 && (r.width < 1 || r.height < 1);
    if (collapsed && !this.#collapsed) this.#emit('tamper', 'target-collapsed', false, { width: r.width, height: r.height });
    this.#collapsed = collapsed;
  }

  #clipBox() {
    const [l, t, w, h] = this.#clipRect.split(',').map(Number);
    return w > 0 && h > 0 ? { l, t, r: l + w, b: t + h } : null;
  }

  /** An element laid over most of the target (at 3 of 5 sampled points). */
  #checkCover() {
    const box = this.#clipBox();
    if (!box || this.#targetMissing) return;
    const target = this.#target;
    const counts = new Map();
    for (const [fx, fy] of SAMPLE) {
      const e = call(N.elementFromPoint, document, box.l + (box.r - box.l) * fx, box.t + (box.b - box.t) * fy);
      if (!e || e === target || e === this.#host || call(N.contains, target, e) || call(N.contains, e, target)) continue;
      counts.set(e, (counts.get(e) ?? 0) + 1);
    }
    for (const [e, n] of counts) {
      if (n < 3 || this.#covers.has(e)) continue;
      this.#covers.add(e);
      // The top layer stays above any element in the page; without it, the host moves last with the highest z-index.
      if (!this.#popover) {
        call(N.append, this.#host.parentNode ?? this.#container(), this.#host);
        this.#observe();
      }
      this.#emit('tamper', 'cover', this.#popover && this.#healthy(), { element: e.localName, points: n });
    }
  }

  /** Computed style: what inline `all: initial !important` cannot prevent is reported (not restorable here). */
  #checkComputed() {
    const cs = N.getComputedStyle(this.#host);
    const bad = Object.entries(EXPECTED)
      .filter(([k, v]) => cs[k] !== v)
      .map(([k]) => k);
    if (cs.zIndex !== MAX_Z) bad.push('zIndex');
    if (bad.length) this.#emit('tamper', 'computed-style', false, { properties: bad });
  }
}

function styleDiff(style) {
  const ref = document.createElement('div').style;
  ref.cssText = HOST_STYLE;
  const out = [];
  const names = new Set([...style, ...ref]);
  for (const p of names) {
    if (style.getPropertyValue(p) !== ref.getPropertyValue(p) || style.getPropertyPriority(p) !== ref.getPropertyPriority(p)) out.push(p);
  }
  return out.length ? out : ['style'];
}

function watchOptions(o, prev) {
  const pick = (k) => (o[k] !== undefined ? o[k] : prev[k]);
  const cfg = {
    onEvent: pick('onEvent'),
    onTamper: pick('onTamper'),
    failurePolicy: pick('failurePolicy') ?? 'hide',
    maxRestoreFailures: pick('maxRestoreFailures') ?? 5,
    failureWindowMs: pick('failureWindowMs') ?? 2000,
    recoverAfterMs: pick('recoverAfterMs') ?? 5000,
    checkIntervalMs: pick('checkIntervalMs') ?? 40,
    container: pick('container'),
    selector: pick('selector'),
    findTarget: pick('findTarget'),
  };
  for (const k of ['onEvent', 'onTamper', 'findTarget']) {
    if (cfg[k] !== undefined && typeof cfg[k] !== 'function') throw invalidArgument(`${k} must be a function`);
  }
  if (cfg.failurePolicy !== 'hide' && cfg.failurePolicy !== 'keep') throw invalidArgument('failurePolicy must be "hide" or "keep"');
  if (!Number.isInteger(cfg.maxRestoreFailures) || cfg.maxRestoreFailures < 1) throw invalidArgument('maxRestoreFailures must be an integer >= 1');
  for (const k of ['failureWindowMs', 'recoverAfterMs']) {
    if (typeof cfg[k] !== 'number' || !(cfg[k] >= 0)) throw invalidArgument(`${k} must be a number >= 0`);
  }
  if (typeof cfg.checkIntervalMs !== 'number' || !(cfg.checkIntervalMs >= 10 && cfg.checkIntervalMs <= 1000)) {
    throw invalidArgument('checkIntervalMs must be a number from 10 to 1000');
  }
  if (cfg.container !== undefined && !(cfg.container instanceof Element)) throw invalidArgument('container must be an element');
  if (cfg.selector !== undefined && typeof cfg.selector !== 'string') throw invalidArgument('selector must be a CSS selector string');
  return cfg;
}
