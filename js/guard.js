// phiseal/guard: the capture guard (issue #6). Stops scripts in the page from
// recording protected video and audio, reading back their pixels or samples,
// or starting screen capture without the app's consent, and reports every
// attempt. docs/SECURITY.md §"Capture guard" has the threat model and limits.
//
// Why this is JavaScript and not Rust: the hooks must be in place before any
// other script runs, synchronously, while the wasm module is still loading
// (it loads asynchronously); and a patched platform function must itself be
// a JavaScript function. So this file is a small, dependency-free module that
// patches the page's realm when it is imported. Policy is simple (a WeakSet
// lookup); auditing goes through the app's `onAttempt` listener into
// phiseal's AuditLog (wasm), and events are queued until a listener exists.
//
// Load it as the page's first script. Importing it installs the hooks
// (block mode, nothing protected yet); `CaptureGuard.install(options)` sets
// the policy once and returns the guard.
//
// Design notes:
// - Every platform function the guard calls is captured at import, so a
//   script that later replaces WeakSet.prototype.has, Reflect.apply or
//   Array iterators cannot steer the checks (no spread, no for-of here).
// - Patched functions keep the native name, length, property descriptors and
//   prototype; Function.prototype.toString is patched in every realm to show
//   the native source; errors thrown from a hook carry no guard frame.
// - Same-origin realms (iframes of any kind, nested, popups, Document
//   Picture-in-Picture windows) are patched before the caller gets them:
//   contentWindow/contentDocument getters, window.open, DOM insertion
//   methods (window[0] right after appendChild), a capturing `load` listener
//   (navigations) and a MutationObserver.
// - Taint: drawing protected content onto a 2D, WebGL or offscreen canvas is
//   allowed (the viewer may render it) but taints the canvas; readbacks of a
//   tainted canvas fail like a cross-origin-tainted canvas does.

import { ErrorCode, PhisealError } from './errors.js';

// ---------------------------------------------------------------- captured intrinsics
const G = globalThis;
const { apply, construct } = Reflect;
const { defineProperty, getOwnPropertyDescriptor: gopd, getPrototypeOf, setPrototypeOf, getOwnPropertyNames, freeze } = Object;
const uncurry = (fn) => (self, ...args) => apply(fn, self, args);
const wsHas = uncurry(WeakSet.prototype.has);
const wsAdd = uncurry(WeakSet.prototype.add);
const wmGet = uncurry(WeakMap.prototype.get);
const wmSet = uncurry(WeakMap.prototype.set);
const setHas = uncurry(Set.prototype.has);
const setAdd = uncurry(Set.prototype.add);
const strEndsWith = uncurry(String.prototype.endsWith);
const strStartsWith = uncurry(String.prototype.startsWith);
const strIndexOf = uncurry(String.prototype.indexOf);
const strSlice = uncurry(String.prototype.slice);
const promiseThen = uncurry(Promise.prototype.then);
const dateNow = Date.now;
const jsonStringify = JSON.stringify;
const jsonParse = JSON.parse;
const NativeError = Error;
const captureStackTrace = typeof Error.captureStackTrace === 'function' ? Error.captureStackTrace : null;
const NativeWeakSet = WeakSet;
const NativeWeakMap = WeakMap;
const NativeWeakRef = typeof WeakRef === 'function' ? WeakRef : null;
const weakRefDeref = NativeWeakRef ? uncurry(NativeWeakRef.prototype.deref) : null;
const microtask = typeof queueMicrotask === 'function' ? queueMicrotask : (f) => Promise.resolve().then(f);
const fnToString = uncurry(Function.prototype.toString);
const arrSlice = uncurry(Array.prototype.slice);
const arrSplice = uncurry(Array.prototype.splice);
const arrIndexOf = uncurry(Array.prototype.indexOf);
const setAttr = typeof Element === 'function' ? uncurry(Element.prototype.setAttribute) : null;
const addListener = typeof EventTarget === 'function' ? uncurry(EventTarget.prototype.addEventListener) : null;

/** A copy of an array made without the (replaceable) Array iterator. */
function copyOf(a) {
  const out = [];
  for (let i = 0; i < a.length; i++) out[i] = a[i];
  return out;
}

/** Returns the getter of `name` on `proto` (or on its prototype chain), or null. */
function getterOf(proto, name) {
  for (let p = proto; p; p = getPrototypeOf(p)) {
    const d = gopd(p, name);
    if (d) return d.get ?? null;
  }
  return null;
}
function methodOf(ctor, name) {
  const d = ctor && gopd(ctor.prototype, name);
  return d && typeof d.value === 'function' ? d.value : null;
}
const has = (name) => typeof G[name] === 'function';

// Brand checks: a native getter throws on an object of another interface, in
// any realm, whatever the object's prototype chain says.
const B = {
  node: has('Node') ? getterOf(Node.prototype, 'parentNode') : null,
  host: has('ShadowRoot') ? getterOf(ShadowRoot.prototype, 'host') : null,
  media: has('HTMLMediaElement') ? getterOf(HTMLMediaElement.prototype, 'srcObject') : null,
  currentSrc: has('HTMLMediaElement') ? getterOf(HTMLMediaElement.prototype, 'currentSrc') : null,
  canvas: has('HTMLCanvasElement') ? getterOf(HTMLCanvasElement.prototype, 'width') : null,
  offscreen: has('OffscreenCanvas') ? getterOf(OffscreenCanvas.prototype, 'width') : null,
  image: has('HTMLImageElement') ? getterOf(HTMLImageElement.prototype, 'naturalWidth') : null,
  svgImage: has('SVGImageElement') ? getterOf(SVGImageElement.prototype, 'href') : null,
  track: has('MediaStreamTrack') ? getterOf(MediaStreamTrack.prototype, 'kind') : null,
  stream: has('MediaStream') ? getterOf(MediaStream.prototype, 'id') : null,
  trackId: has('MediaStreamTrack') ? getterOf(MediaStreamTrack.prototype, 'id') : null,
  element: has('Element') ? getterOf(Element.prototype, 'tagName') : null,
  recorderStream: has('MediaRecorder') ? getterOf(MediaRecorder.prototype, 'stream') : null,
  ctx2dCanvas: has('CanvasRenderingContext2D') ? getterOf(CanvasRenderingContext2D.prototype, 'canvas') : null,
  off2dCanvas: has('OffscreenCanvasRenderingContext2D') ? getterOf(OffscreenCanvasRenderingContext2D.prototype, 'canvas') : null,
  glCanvas: has('WebGLRenderingContext') ? getterOf(WebGLRenderingContext.prototype, 'canvas') : null,
  gl2Canvas: has('WebGL2RenderingContext') ? getterOf(WebGL2RenderingContext.prototype, 'canvas') : null,
  bitmapCanvas: has('ImageBitmapRenderingContext') ? getterOf(ImageBitmapRenderingContext.prototype, 'canvas') : null,
  frameWindow: has('HTMLIFrameElement') ? getterOf(HTMLIFrameElement.prototype, 'contentWindow') : null,
  frameElWindow: has('HTMLFrameElement') ? getterOf(HTMLFrameElement.prototype, 'contentWindow') : null,
  objectWindow: has('HTMLObjectElement') ? getterOf(HTMLObjectElement.prototype, 'contentWindow') : null,
  docView: has('Document') ? getterOf(Document.prototype, 'defaultView') : null,
  docElement: has('Document') ? getterOf(Document.prototype, 'documentElement') : null,
};
const getTracks = has('MediaStream') ? methodOf(MediaStream, 'getTracks') : null;
const wsTop = typeof window === 'object' && window ? getterOf(window, 'top') : null;
const wsLength = typeof window === 'object' && window ? getterOf(window, 'length') : null;
const selectionGet = has('Document') ? methodOf(Document, 'getSelection') : null;

// ---------------------------------------------------------------- shared state (all realms)
// Marks are private class fields stamped on the objects themselves, not
// WeakSet entries: V8 may drop an unmodified wrapper of a platform object
// (a MediaStreamTrack, say) and make a new one later, which a WeakSet would
// not recognise. A private field makes the wrapper modified (so it is kept),
// is invisible to reflection, and cannot be forged or removed by a script.
class Stamp {
  constructor(o) {
    return o;
  }
}
const isObj = (o) => o !== null && (typeof o === 'object' || typeof o === 'function');
function makeMark() {
  const fallback = new NativeWeakMap(); // objects a private field cannot be added to
  class Mark extends Stamp {
    #v;
    constructor(o, v) {
      super(o);
      this.#v = v;
    }
    static has(o) {
      return isObj(o) && (#v in o || wmGet(fallback, o) !== undefined);
    }
    static get(o) {
      if (!isObj(o)) return undefined;
      return #v in o ? o.#v : wmGet(fallback, o);
    }
    static add(o, v = true) {
      if (!isObj(o)) return;
      if (#v in o) {
        o.#v = v;
        return;
      }
      try {
        new Mark(o, v);
      } catch {
        wmSet(fallback, o, v);
      }
    }
  }
  return { has: Mark.has, get: Mark.get, add: Mark.add };
}
const protectedSet = makeMark(); // elements, tracks, streams the app protected
const protectedStreams = makeMark();
const tainted = makeMark(); // canvases, offscreen canvases, patterns, bitmaps, frames
const captured = makeMark(); // canvases whose captureStream() was called
const consentedRecorders = makeMark(); // MediaRecorders constructed with consent
const linked = makeMark(); // canvas <-> its transferred OffscreenCanvas (value: the other one)
const kinds = new NativeWeakMap(); // object -> brand (cached)
const hookSource = new NativeWeakMap(); // hook function -> native-looking source text
const patchedRealms = new NativeWeakSet(); // Window.prototype of each patched realm
const protectedUrls = new Set();
// Chromium hands out new MediaStream and MediaStreamTrack objects with the
// same ids for a playing element after captureStream(): protection follows
// the (unguessable, platform-made) ids too.
const protectedIds = new Set();
const protectedRefs = []; // WeakRefs of protected elements (copy checks)
const popups = [];
const patchedProps = []; // [object, property name] of every hook, for `lock`
const MAX_EVENTS = 1000;
const state = {
  mode: 'block',
  allow: null,
  configured: false,
  listeners: [],
  pending: [],
  events: [],
  stacks: true,
  lock: false,
  anyProtected: false,
  privacy: { blurWhenHidden: false, hideWhenPrinting: true, copy: 'allow' },
};

// ---------------------------------------------------------------- events
function stackNow() {
  if (!state.stacks) return undefined;
  try {
    const holder = {};
    if (captureStackTrace) captureStackTrace(holder, stackNow);
    const s = holder.stack ?? new NativeError().stack;
    return typeof s === 'string' ? strSlice(s, 0, 4000) : undefined;
  } catch {
    return undefined;
  }
}

function deliver(ev) {
  const ls = state.listeners;
  for (let i = 0; i < ls.length; i++) {
    const fn = ls[i];
    microtask(() => {
      try {
        fn(ev);
      } catch {
        // A failing listener must not break the page or the guard.
      }
    });
  }
}

function record(ev) {
  freeze(ev);
  const evs = state.events;
  if (evs.length >= MAX_EVENTS) arrSplice(evs, 0, evs.length - MAX_EVENTS + 1);
  evs[evs.length] = ev;
  if (state.listeners.length === 0) {
    if (state.pending.length < MAX_EVENTS) state.pending[state.pending.length] = ev;
  } else {
    deliver(ev);
  }
}

/** Reports an attempt; returns true when it may proceed (audit mode, or the app's allow callback said yes). */
function attempt(api, target, detail) {
  const ev = { api, target, blocked: true, time: dateNow(), stack: stackNow() };
  if (detail !== undefined) ev.detail = detail;
  let consented = false;
  if (state.allow) {
    try {
      consented = state.allow({ api, target, detail, time: ev.time }) === true;
    } catch {
      consented = false;
    }
  }
  if (consented) ev.consented = true;
  ev.blocked = !(consented || state.mode === 'audit');
  record(ev);
  return !ev.blocked;
}

// ---------------------------------------------------------------- classification
function brand(x, getter) {
  if (!getter) return false;
  try {
    apply(getter, x, []);
    return true;
  } catch {
    return false;
  }
}

// Prototype -> [kind, brand getter], registered for each patched realm: the
// common platform objects are classified without a throwing brand check (a
// spoofed prototype fails the getter and takes the full path).
const protoKinds = new NativeWeakMap();

function kindOf(x) {
  let k = wmGet(kinds, x);
  if (k !== undefined) return k;
  const entry = wmGet(protoKinds, getPrototypeOf(x));
  if (entry !== undefined && brand(x, entry[1])) {
    k = entry[0];
  } else if (brand(x, B.node)) {
    if (brand(x, B.media)) k = 'media';
    else if (brand(x, B.canvas)) k = 'canvas';
    else if (brand(x, B.image) || brand(x, B.svgImage)) k = 'image';
    else if (brand(x, B.element)) k = 'element';
    else if (brand(x, B.host)) k = 'shadow';
    else k = 'node';
  } else if (brand(x, B.offscreen)) k = 'offscreen';
  else if (brand(x, B.track)) k = 'track';
  else if (brand(x, B.stream)) k = 'stream';
  else k = 'other';
  wmSet(kinds, x, k);
  return k;
}

function tracksOf(stream) {
  try {
    return apply(getTracks, stream, []);
  } catch {
    return [];
  }
}

function idOf(x, getter) {
  try {
    return apply(getter, x, []);
  } catch {
    return undefined;
  }
}

function isProtectedTrack(t) {
  if (protectedSet.has(t)) return true;
  const id = protectedIds.size > 0 ? idOf(t, B.trackId) : undefined;
  return id !== undefined && setHas(protectedIds, `t:${id}`);
}

function isProtectedStream(s) {
  if (protectedStreams.has(s)) return true;
  const id = protectedIds.size > 0 ? idOf(s, B.stream) : undefined;
  if (id !== undefined && setHas(protectedIds, `s:${id}`)) return true;
  const ts = tracksOf(s);
  for (let i = 0; i < ts.length; i++) if (isProtectedTrack(ts[i])) return true;
  return false;
}

function protectTrack(t) {
  protectedSet.add(t);
  const id = idOf(t, B.trackId);
  if (id !== undefined) setAdd(protectedIds, `t:${id}`);
}

function parentOf(node) {
  let p = null;
  try {
    p = apply(B.node, node, []);
  } catch {
    return null;
  }
  if (p !== null || kindOf(node) !== 'shadow') return p;
  try {
    return apply(B.host, node, []); // a shadow root's host
  } catch {
    return null;
  }
}

function insideProtected(node) {
  for (let n = node, depth = 0; n && depth < 512; n = parentOf(n), depth++) if (protectedSet.has(n)) return true;
  return false;
}

function isProtectedMedia(el) {
  try {
    const so = apply(B.media, el, []);
    if (so && kindOf(so) === 'stream' && isProtectedStream(so)) return true;
  } catch {}
  if (protectedUrls.size > 0) {
    try {
      const url = apply(B.currentSrc, el, []);
      if (url && setHas(protectedUrls, url)) return true;
    } catch {}
  }
  return false;
}

/** True when `src` shows protected pixels or samples (or carries a taint). */
function isProtectedSource(src) {
  if (src === null || (typeof src !== 'object' && typeof src !== 'function')) return false;
  if (protectedSet.has(src) || tainted.has(src)) return true;
  if (!state.anyProtected) return false;
  switch (kindOf(src)) {
    case 'media':
      return isProtectedMedia(src) || insideProtected(src);
    case 'canvas':
    case 'image':
      return insideProtected(src);
    case 'stream':
      return isProtectedStream(src);
    case 'track':
      return isProtectedTrack(src);
    default:
      return false;
  }
}

function isTaintedSurface(surface) {
  if (!surface) return false;
  if (tainted.has(surface) || protectedSet.has(surface)) return true;
  if (state.anyProtected && kindOf(surface) === 'canvas' && insideProtected(surface)) return true;
  const other = linked.get(surface);
  return other !== undefined && (tainted.has(other) || protectedSet.has(other));
}

function isCaptured(surface) {
  if (!surface) return false;
  if (captured.has(surface)) return true;
  const other = linked.get(surface);
  return other !== undefined && captured.has(other);
}

function taintSurface(surface) {
  if (!surface) return;
  tainted.add(surface);
  const other = linked.get(surface);
  if (other !== undefined) tainted.add(other);
}

function surfaceOf(ctx, getter) {
  try {
    return apply(getter, ctx, []);
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------- protection
function protectStream(stream) {
  protectedSet.add(stream);
  protectedStreams.add(stream);
  const id = idOf(stream, B.stream);
  if (id !== undefined) setAdd(protectedIds, `s:${id}`);
  const ts = tracksOf(stream);
  for (let i = 0; i < ts.length; i++) protectTrack(ts[i]);
}

function rememberUrl(el) {
  try {
    const url = apply(B.currentSrc, el, []);
    if (url) setAdd(protectedUrls, url);
  } catch {}
}

function protect(x) {
  if (x === null || x === undefined) {
    throw new PhisealError(
      `protect() got ${x}: the element was not found (document.querySelector returned null). Call it once the element exists, e.g. after DOMContentLoaded or when you create it`,
      ErrorCode.INVALID_ARGUMENT,
    );
  }
  if (typeof x !== 'object') throw new PhisealError('protect() takes an element, a MediaStream or a MediaStreamTrack', ErrorCode.INVALID_ARGUMENT);
  const k = kindOf(x);
  state.anyProtected = true;
  if (k === 'track') {
    protectTrack(x);
  } else if (k === 'stream') {
    protectStream(x);
  } else if (k === 'offscreen') {
    protectedSet.add(x);
    taintSurface(x);
  } else if (k === 'media' || k === 'canvas' || k === 'image' || k === 'element') {
    protectedSet.add(x);
    if (NativeWeakRef) protectedRefs[protectedRefs.length] = new NativeWeakRef(x);
    try {
      setAttr(x, 'data-phiseal-protected', '');
    } catch {}
    if (k === 'media') {
      try {
        const so = apply(B.media, x, []);
        if (so && kindOf(so) === 'stream') protectStream(so);
      } catch {}
      rememberUrl(x);
      addListener(x, 'loadedmetadata', () => rememberUrl(x));
    }
    if (k === 'canvas') taintSurface(x);
  } else {
    throw new PhisealError('protect() takes an element, a MediaStream or a MediaStreamTrack', ErrorCode.INVALID_ARGUMENT);
  }
  return x;
}

// ---------------------------------------------------------------- hooking machinery
// V8 prints `function f() { [native code] }`; SpiderMonkey and JavaScriptCore
// put `[native code]` on its own indented line.
const NATIVE_SOURCE = /^function [^(]*\([^)]*\) \{\s*\[native code\]\s*\}$/;
const reTest = uncurry(RegExp.prototype.test);
function isNativeSource(s) {
  return typeof s === 'string' && strStartsWith(s, 'function ') && reTest(NATIVE_SOURCE, s);
}

function finishHook(hook, native, nameOverride) {
  defineProperty(hook, 'length', { value: native.length, writable: false, enumerable: false, configurable: true });
  if (nameOverride !== undefined) defineProperty(hook, 'name', { value: nameOverride, writable: false, enumerable: false, configurable: true });
  setPrototypeOf(hook, getPrototypeOf(native));
  let src;
  try {
    src = fnToString(native);
  } catch {
    src = `function ${native.name}() { [native code] }`;
  }
  wmSet(hookSource, hook, src);
  return hook;
}

/** Removes the guard's frames from an error's stack and rethrows it. */
function rethrow(e, hook) {
  if (e !== null && typeof e === 'object') {
    if (captureStackTrace) {
      try {
        captureStackTrace(e, hook);
      } catch {}
    }
    // JavaScriptCore's captureStackTrace (where it has one) leaves the stack
    // of an error thrown by native code as it was.
    dropHookFrame(e);
  }
  throw e;
}

/**
 * JavaScriptCore: an error thrown by the native call inside a hook has a
 * stack that starts with the native frame
 * (`name@[native code]`) and then the hook's own frame, which would tell a
 * script the method is hooked. Drops that one line (SpiderMonkey's stacks
 * show no native frame and no hook frame here: left as they are).
 */
function dropHookFrame(e) {
  let s;
  try {
    s = e.stack;
  } catch {
    return;
  }
  if (typeof s !== 'string') return;
  const first = strIndexOf(s, '\n');
  if (first < 0 || strIndexOf(strSlice(s, 0, first), '[native code]') < 0) return;
  const second = strIndexOf(s, '\n', first + 1);
  const rest = second < 0 ? '' : strSlice(s, second);
  try {
    defineProperty(e, 'stack', { value: strSlice(s, 0, first) + rest, writable: true, configurable: true, enumerable: false });
  } catch {}
}

function defineLike(target, name, desc, patch) {
  const d = { enumerable: desc.enumerable, configurable: state.lock ? false : desc.configurable };
  if ('value' in patch) {
    d.value = patch.value;
    d.writable = state.lock ? false : desc.writable;
  } else {
    d.get = patch.get;
    d.set = patch.set;
  }
  try {
    defineProperty(target, name, d);
    patchedProps[patchedProps.length] = [target, name];
    return true;
  } catch {
    return false;
  }
}

/** `lock: true`: makes every hook non-configurable (and non-writable), now and in realms patched later. */
function lockAll() {
  for (let i = 0; i < patchedProps.length; i++) {
    const target = patchedProps[i][0];
    const name = patchedProps[i][1];
    try {
      const d = gopd(target, name);
      if (!d || !d.configurable) continue;
      const locked = { configurable: false };
      if ('value' in d) locked.writable = false;
      defineProperty(target, name, locked);
    } catch {}
  }
}

/** Realm helpers: errors and rejected promises made in the realm of the patched API. */
function realmOf(win) {
  const DOMEx = win.DOMException ?? DOMException;
  const P = win.Promise ?? Promise;
  const reject = gopd(P, 'reject').value;
  const fail = (hook, name, message) => {
    const e = new DOMEx(message, name);
    if (captureStackTrace) captureStackTrace(e, hook);
    return e;
  };
  return {
    win,
    throwSecurity(hook, message) {
      throw fail(hook, 'SecurityError', message);
    },
    reject(hook, name, message) {
      return apply(reject, P, [fail(hook, name, message)]);
    },
  };
}

// Exact Chromium messages for a tainted canvas, so a blocked readback looks
// like the platform's own refusal.
const TAINTED = (method, iface) => `Failed to execute '${method}' on '${iface}': Tainted canvases may not be exported.`;
const TAINTED_READ = (method, iface) => `Failed to execute '${method}' on '${iface}': The canvas has been tainted by cross-origin data.`;
const DENIED = 'Permission denied';

function patchRealm(win) {
  let key;
  try {
    key = getPrototypeOf(win);
    if (!key || wsHas(patchedRealms, key)) return;
    void win.document; // throws for another origin
  } catch {
    return;
  }
  wsAdd(patchedRealms, key);
  const R = realmOf(win);
  const W = (name) => (typeof win[name] === 'function' ? win[name] : null);
  const P = (name) => W(name)?.prototype ?? null;
  const known = [
    ['HTMLVideoElement', 'media', B.media], ['HTMLAudioElement', 'media', B.media], ['HTMLCanvasElement', 'canvas', B.canvas],
    ['HTMLImageElement', 'image', B.image], ['OffscreenCanvas', 'offscreen', B.offscreen], ['MediaStreamTrack', 'track', B.track],
    ['CanvasCaptureMediaStreamTrack', 'track', B.track], ['MediaStream', 'stream', B.stream],
    ['ImageBitmap', 'other', has('ImageBitmap') ? getterOf(ImageBitmap.prototype, 'width') : null],
    ['VideoFrame', 'other', has('VideoFrame') ? getterOf(VideoFrame.prototype, 'codedWidth') : null],
    ['ImageData', 'other', has('ImageData') ? getterOf(ImageData.prototype, 'width') : null],
  ];
  for (let i = 0; i < known.length; i++) {
    const proto = P(known[i][0]);
    if (proto && known[i][2]) wmSet(protoKinds, proto, [known[i][1], known[i][2]]);
  }

  // method(proto, name, impl): impl(self, args, native, hook) replaces the call.
  function method(proto, name, impl) {
    if (!proto) return;
    const desc = gopd(proto, name);
    if (!desc || typeof desc.value !== 'function' || wmGet(hookSource, desc.value) !== undefined) return;
    const native = desc.value;
    const hook = {
      [name](...args) {
        try {
          return impl(this, args, native, hook);
        } catch (e) {
          rethrow(e, hook);
        }
      },
    }[name];
    finishHook(hook, native);
    defineLike(proto, name, desc, { value: hook });
  }
  // after(proto, name, fn): run the native, then fn(result, self).
  function after(proto, name, fn) {
    method(proto, name, (self, args, native) => {
      const r = apply(native, self, args);
      fn(r, self);
      return r;
    });
  }
  function accessor(proto, name, onGet, onSet) {
    if (!proto) return;
    const desc = gopd(proto, name);
    if (!desc || (!desc.get && !desc.set)) return;
    if ((desc.get && wmGet(hookSource, desc.get) !== undefined) || (desc.set && wmGet(hookSource, desc.set) !== undefined)) return;
    let get = desc.get;
    let set = desc.set;
    if (onGet && desc.get) {
      const nget = desc.get;
      const hook = gopd({
        get [name]() {
          try {
            return onGet(this, apply(nget, this, []));
          } catch (e) {
            rethrow(e, hook);
          }
        },
      }, name).get;
      get = finishHook(hook, nget);
    }
    if (onSet && desc.set) {
      const nset = desc.set;
      const hook = gopd({
        set [name](v) {
          try {
            onSet(this, v, nset);
          } catch (e) {
            rethrow(e, hook);
          }
        },
      }, name).set;
      set = finishHook(hook, nset);
    }
    defineLike(proto, name, desc, { get, set });
  }
  function ctor(name, check, onCreate) {
    const desc = gopd(win, name);
    if (!desc || typeof desc.value !== 'function' || wmGet(hookSource, desc.value) !== undefined) return;
    const native = desc.value;
    const hook = {
      [name]: function (...args) {
        try {
          if (new.target === undefined) return apply(native, this, args);
          const a = check(args, hook);
          const obj = construct(native, a ?? args, new.target);
          if (onCreate) onCreate(obj, a ?? args);
          return obj;
        } catch (e) {
          rethrow(e, hook);
        }
      },
    }[name];
    finishHook(hook, native);
    defineProperty(hook, 'prototype', { value: native.prototype, writable: false, enumerable: false, configurable: false });
    const names = getOwnPropertyNames(native);
    for (let i = 0; i < names.length; i++) {
      const n = names[i];
      if (n === 'length' || n === 'name' || n === 'prototype') continue;
      defineProperty(hook, n, gopd(native, n));
    }
    const cdesc = gopd(native.prototype, 'constructor');
    if (cdesc) defineLike(native.prototype, 'constructor', cdesc, { value: hook });
    defineLike(win, name, desc, { value: hook });
  }

  // Function.prototype.toString: native source for every hook, in every realm.
  method(P('Function'), 'toString', (self, args, native) => {
    const s = wmGet(hookSource, self);
    return s !== undefined ? s : apply(native, self, args);
  });

  // ---- recording
  const recorderStreamOk = (stream, api, hook) => {
    if (stream && typeof stream === 'object' && isProtectedSource(stream) && !attempt(api, stream)) R.throwSecurity(hook, DENIED);
  };
  let consentedStream = false;
  ctor(
    'MediaRecorder',
    (args, hook) => {
      consentedStream = false;
      const stream = args[0];
      if (isObj(stream) && isProtectedSource(stream)) {
        if (!attempt('MediaRecorder', stream)) R.throwSecurity(hook, DENIED);
        consentedStream = true;
      }
    },
    (rec) => {
      if (consentedStream) consentedRecorders.add(rec);
      consentedStream = false;
    },
  );
  method(P('MediaRecorder'), 'start', (self, args, native, hook) => {
    // A recorder made with consent (or in audit mode) records its stream; any
    // other recorder is checked again, since tracks may have been added.
    if (!consentedRecorders.has(self)) {
      let stream = null;
      try {
        stream = apply(B.recorderStream, self, []);
      } catch {}
      recorderStreamOk(stream, 'MediaRecorder.start', hook);
    }
    return apply(native, self, args);
  });
  method(P('HTMLMediaElement'), 'captureStream', (self, args, native, hook) => {
    if (isProtectedSource(self) && !attempt('HTMLMediaElement.captureStream', self)) R.throwSecurity(hook, DENIED);
    return apply(native, self, args);
  });
  // Firefox's prefixed spellings of the same capture (issue #22: without
  // these, mozCaptureStream() of a protected video gave live frames).
  const mozNames = ['mozCaptureStream', 'mozCaptureStreamUntilEnded'];
  for (let i = 0; i < mozNames.length; i++) {
    const moz = mozNames[i];
    method(P('HTMLMediaElement'), moz, (self, args, native, hook) => {
      if (isProtectedSource(self) && !attempt(`HTMLMediaElement.${moz}`, self)) R.throwSecurity(hook, DENIED);
      return apply(native, self, args);
    });
  }
  method(P('HTMLCanvasElement'), 'captureStream', (self, args, native, hook) => {
    if (isTaintedSurface(self) && !attempt('HTMLCanvasElement.captureStream', self)) R.throwSecurity(hook, TAINTED('captureStream', 'HTMLCanvasElement'));
    const r = apply(native, self, args);
    captured.add(self);
    return r;
  });
  const displayApi = (name) => (self, args, native, hook) => {
    if (!attempt(`MediaDevices.${name}`, self)) return R.reject(hook, 'NotAllowedError', DENIED);
    return apply(native, self, args);
  };
  method(P('MediaDevices'), 'getDisplayMedia', displayApi('getDisplayMedia'));
  method(P('MediaDevices'), 'getAllScreensMedia', displayApi('getAllScreensMedia'));
  method(P('MediaDevices'), 'getViewportMedia', displayApi('getViewportMedia'));
  // Legacy Chromium desktop capture through getUserMedia constraints.
  const screenConstraints = (c) => {
    if (c === null || typeof c !== 'object') return { screen: false, value: c };
    let text;
    try {
      text = jsonStringify(c);
    } catch {
      return { screen: true, value: c };
    }
    const screen = strIndexOf(text, 'MediaSource') >= 0 || strIndexOf(text, 'mediaSource') >= 0;
    return { screen, value: jsonParse(text) };
  };
  method(P('MediaDevices'), 'getUserMedia', (self, args, native, hook) => {
    const { screen, value } = screenConstraints(args[0]);
    if (screen && !attempt('MediaDevices.getUserMedia', self, { constraints: value })) return R.reject(hook, 'NotAllowedError', DENIED);
    const a = copyOf(args);
    a[0] = value;
    return apply(native, self, a);
  });
  const legacyNames = ['getUserMedia', 'webkitGetUserMedia'];
  for (let i = 0; i < legacyNames.length; i++) {
    const legacy = legacyNames[i];
    method(P('Navigator'), legacy, (self, args, native, hook) => {
      const { screen, value } = screenConstraints(args[0]);
      if (screen && !attempt(`Navigator.${legacy}`, self, { constraints: value })) R.throwSecurity(hook, DENIED);
      const a = copyOf(args);
      a[0] = value;
      return apply(native, self, a);
    });
  }

  // ---- Web Audio: a protected element or track as a source node
  const audioSource = (api, pick) => (self, args, native, hook) => {
    const src = pick(args);
    if (isProtectedSource(src) && !attempt(api, src)) R.throwSecurity(hook, DENIED);
    return apply(native, self, args);
  };
  const audioProto = P('AudioContext');
  method(audioProto, 'createMediaElementSource', audioSource('AudioContext.createMediaElementSource', (a) => a[0]));
  method(audioProto, 'createMediaStreamSource', audioSource('AudioContext.createMediaStreamSource', (a) => a[0]));
  method(audioProto, 'createMediaStreamTrackSource', audioSource('AudioContext.createMediaStreamTrackSource', (a) => a[0]));
  const nodeCtor = (name, field) =>
    ctor(name, (args, hook) => {
      const opts = args[1] !== null && typeof args[1] === 'object' ? { ...args[1] } : args[1];
      if (opts && isProtectedSource(opts[field]) && !attempt(name, opts[field])) R.throwSecurity(hook, DENIED);
      return [args[0], opts];
    });
  nodeCtor('MediaElementAudioSourceNode', 'mediaElement');
  nodeCtor('MediaStreamAudioSourceNode', 'mediaStream');
  nodeCtor('MediaStreamTrackAudioSourceNode', 'mediaStreamTrack');

  // ---- 2D canvases: taint on draw, refuse readback
  const drawInto = (surface, src, api, hook) => {
    if (!isProtectedSource(src)) return;
    if (isCaptured(surface) && !attempt(api, src, { canvas: surface, reason: 'canvas is being captured' })) R.throwSecurity(hook, DENIED);
    taintSurface(surface);
  };
  const patch2d = (iface, canvasGetter) => {
    const proto = P(iface);
    if (!proto) return;
    method(proto, 'drawImage', (self, args, native, hook) => {
      drawInto(surfaceOf(self, canvasGetter), args[0], `${iface}.drawImage`, hook);
      return apply(native, self, args);
    });
    method(proto, 'createPattern', (self, args, native) => {
      const p = apply(native, self, args);
      if (p && isProtectedSource(args[0])) tainted.add(p);
      return p;
    });
    const styles = ['fillStyle', 'strokeStyle'];
    for (let i = 0; i < styles.length; i++) {
      const style = styles[i];
      accessor(proto, style, null, (self, v, nset) => {
        if (v !== null && typeof v === 'object' && tainted.has(v)) drawInto(surfaceOf(self, canvasGetter), v, `${iface}.${style}`, setterHookOf(proto, style));
        apply(nset, self, [v]);
      });
    }
    method(proto, 'getImageData', (self, args, native, hook) => {
      const surface = surfaceOf(self, canvasGetter);
      if (isTaintedSurface(surface) && !attempt(`${iface}.getImageData`, surface)) R.throwSecurity(hook, TAINTED_READ('getImageData', iface));
      return apply(native, self, args);
    });
  };
  const setterHookOf = (proto, name) => gopd(proto, name)?.set;
  patch2d('CanvasRenderingContext2D', B.ctx2dCanvas);
  patch2d('OffscreenCanvasRenderingContext2D', B.off2dCanvas);
  method(P('ImageBitmapRenderingContext'), 'transferFromImageBitmap', (self, args, native, hook) => {
    drawInto(surfaceOf(self, B.bitmapCanvas), args[0], 'ImageBitmapRenderingContext.transferFromImageBitmap', hook);
    return apply(native, self, args);
  });

  const canvasProto = P('HTMLCanvasElement');
  method(canvasProto, 'toDataURL', (self, args, native, hook) => {
    if (isTaintedSurface(self) && !attempt('HTMLCanvasElement.toDataURL', self)) R.throwSecurity(hook, TAINTED('toDataURL', 'HTMLCanvasElement'));
    return apply(native, self, args);
  });
  method(canvasProto, 'toBlob', (self, args, native, hook) => {
    if (isTaintedSurface(self) && !attempt('HTMLCanvasElement.toBlob', self)) R.throwSecurity(hook, TAINTED('toBlob', 'HTMLCanvasElement'));
    return apply(native, self, args);
  });
  method(canvasProto, 'transferControlToOffscreen', (self, args, native) => {
    const off = apply(native, self, args);
    linked.add(self, off);
    linked.add(off, self);
    if (isTaintedSurface(self)) taintSurface(off);
    return off;
  });
  const offProto = P('OffscreenCanvas');
  method(offProto, 'convertToBlob', (self, args, native, hook) => {
    if (isTaintedSurface(self) && !attempt('OffscreenCanvas.convertToBlob', self)) {
      return R.reject(hook, 'SecurityError', "Failed to execute 'convertToBlob' on 'OffscreenCanvas': Tainted OffscreenCanvas may not be exported.");
    }
    return apply(native, self, args);
  });
  method(offProto, 'transferToImageBitmap', (self, args, native, hook) => {
    const t = isTaintedSurface(self);
    if (t && !attempt('OffscreenCanvas.transferToImageBitmap', self)) R.throwSecurity(hook, TAINTED('transferToImageBitmap', 'OffscreenCanvas'));
    const bm = apply(native, self, args);
    if (t) tainted.add(bm);
    return bm;
  });

  // ---- WebGL 1 and 2: uploads of protected sources taint, readPixels refused
  const patchGl = (iface, canvasGetter) => {
    const proto = P(iface);
    if (!proto) return;
    const uploads = ['texImage2D', 'texSubImage2D', 'texImage3D', 'texSubImage3D'];
    for (let u = 0; u < uploads.length; u++) {
      const upload = uploads[u];
      method(proto, upload, (self, args, native, hook) => {
        for (let i = 0; i < args.length; i++) {
          const a = args[i];
          if (a !== null && typeof a === 'object' && isProtectedSource(a)) {
            drawInto(surfaceOf(self, canvasGetter), a, `${iface}.${upload}`, hook);
            break;
          }
        }
        return apply(native, self, args);
      });
    }
    method(proto, 'readPixels', (self, args, native, hook) => {
      const surface = surfaceOf(self, canvasGetter);
      if (isTaintedSurface(surface) && !attempt(`${iface}.readPixels`, surface)) R.throwSecurity(hook, TAINTED_READ('readPixels', iface));
      return apply(native, self, args);
    });
  };
  patchGl('WebGLRenderingContext', B.glCanvas);
  patchGl('WebGL2RenderingContext', B.gl2Canvas);

  // ---- WebGPU (where present)
  method(P('GPUQueue'), 'copyExternalImageToTexture', (self, args, native, hook) => {
    const src = args[0] !== null && typeof args[0] === 'object' ? { ...args[0] } : args[0];
    if (src && isProtectedSource(src.source) && !attempt('GPUQueue.copyExternalImageToTexture', src.source)) R.throwSecurity(hook, DENIED);
    const a = copyOf(args);
    a[0] = src;
    return apply(native, self, a);
  });
  method(P('GPUDevice'), 'importExternalTexture', (self, args, native, hook) => {
    const d = args[0] !== null && typeof args[0] === 'object' ? { ...args[0] } : args[0];
    if (d && isProtectedSource(d.source) && !attempt('GPUDevice.importExternalTexture', d.source)) R.throwSecurity(hook, DENIED);
    return apply(native, self, [d]);
  });

  // ---- bitmaps, frames, track readers
  const ownCib = gopd(win, 'createImageBitmap');
  if (ownCib && typeof ownCib.value === 'function') {
    const holder = { __proto__: null, createImageBitmap: ownCib.value };
    method(holder, 'createImageBitmap', (self, args, native, hook) => {
      const t = isProtectedSource(args[0]);
      if (t && !attempt('createImageBitmap', args[0])) return R.reject(hook, 'NotAllowedError', DENIED);
      const p = apply(native, self, args);
      if (t) promiseThen(p, (bm) => tainted.add(bm), () => {});
      return p;
    });
    defineLike(win, 'createImageBitmap', ownCib, { value: holder.createImageBitmap });
  }
  ctor(
    'VideoFrame',
    (args, hook) => {
      if (isProtectedSource(args[0]) && !attempt('VideoFrame', args[0])) R.throwSecurity(hook, DENIED);
    },
    (frame, args) => {
      if (isProtectedSource(args[0])) tainted.add(frame);
    },
  );
  ctor('ImageCapture', (args, hook) => {
    if (isProtectedSource(args[0]) && !attempt('ImageCapture', args[0])) R.throwSecurity(hook, DENIED);
  });
  const processor = (name) =>
    ctor(name, (args, hook) => {
      const init = args[0] !== null && typeof args[0] === 'object' ? { ...args[0] } : args[0];
      if (init && isProtectedSource(init.track) && !attempt(name, init.track)) R.throwSecurity(hook, DENIED);
      const a = copyOf(args);
      a[0] = init;
      return a;
    });
  processor('MediaStreamTrackProcessor');

  // ---- tracks and streams: protection follows clones and additions
  after(P('MediaStreamTrack'), 'clone', (copy, self) => {
    if (isProtectedTrack(self)) protectTrack(copy);
  });
  after(P('MediaStream'), 'clone', (copy, self) => {
    if (isProtectedStream(self)) protectStream(copy);
  });
  after(P('MediaStream'), 'addTrack', (r, self) => {
    if (protectedStreams.has(self)) protectStream(self);
  });
  accessor(P('HTMLMediaElement'), 'srcObject', null, (self, v, nset) => {
    if (v !== null && typeof v === 'object' && kindOf(v) === 'stream' && state.anyProtected && (protectedSet.has(self) || insideProtected(self))) protectStream(v);
    apply(nset, self, [v]);
  });

  // ---- WebRTC: sending a protected track to a peer the app did not consent to
  const pcProto = P('RTCPeerConnection');
  method(pcProto, 'addTrack', (self, args, native, hook) => {
    if (isProtectedSource(args[0]) && !attempt('RTCPeerConnection.addTrack', args[0], { peer: self })) R.throwSecurity(hook, DENIED);
    return apply(native, self, args);
  });
  method(pcProto, 'addTransceiver', (self, args, native, hook) => {
    if (typeof args[0] === 'object' && isProtectedSource(args[0]) && !attempt('RTCPeerConnection.addTransceiver', args[0], { peer: self })) R.throwSecurity(hook, DENIED);
    return apply(native, self, args);
  });
  method(pcProto, 'addStream', (self, args, native, hook) => {
    if (isProtectedSource(args[0]) && !attempt('RTCPeerConnection.addStream', args[0], { peer: self })) R.throwSecurity(hook, DENIED);
    return apply(native, self, args);
  });
  method(P('RTCRtpSender'), 'replaceTrack', (self, args, native, hook) => {
    if (isProtectedSource(args[0]) && !attempt('RTCRtpSender.replaceTrack', args[0], { sender: self })) return R.reject(hook, 'NotAllowedError', DENIED);
    return apply(native, self, args);
  });

  // ---- new realms: frames, popups, Picture-in-Picture windows
  const windowOut = (w) => {
    if (w) {
      patchRealm(w);
      scanTree(w);
    }
    return w;
  };
  const docOut = (d) => {
    if (d) {
      try {
        windowOut(apply(B.docView, d, []));
      } catch {}
    }
    return d;
  };
  const frameIfaces = ['HTMLIFrameElement', 'HTMLFrameElement', 'HTMLObjectElement', 'HTMLEmbedElement'];
  for (let i = 0; i < frameIfaces.length; i++) {
    accessor(P(frameIfaces[i]), 'contentWindow', (self, w) => windowOut(w));
    accessor(P(frameIfaces[i]), 'contentDocument', (self, d) => docOut(d));
    after(P(frameIfaces[i]), 'getSVGDocument', (d) => docOut(d));
  }
  const ownOpen = gopd(win, 'open');
  if (ownOpen && typeof ownOpen.value === 'function') {
    const holder = { __proto__: null, open: ownOpen.value };
    method(holder, 'open', (self, args, native) => {
      const w = apply(native, self, args);
      if (w) {
        popups[popups.length] = w;
        windowOut(w);
        watchNavigation(w);
      }
      return w;
    });
    defineLike(win, 'open', ownOpen, { value: holder.open });
  }
  method(P('DocumentPictureInPicture'), 'requestWindow', (self, args, native) =>
    promiseThen(apply(native, self, args), (w) => windowOut(w)),
  );
  accessor(P('MessageEvent'), 'source', (self, s) => {
    if (s && getPrototypeOf(s) !== null && s === s.window) windowOut(s);
    return s;
  });

  // Insertion of a frame by any DOM method is followed, synchronously, by a
  // scan of the frame tree (so window[0] right after appendChild is patched).
  const rescan = () => scanTree(win);
  const insertions = [
    ['Node', ['appendChild', 'insertBefore', 'replaceChild']],
    ['Element', ['append', 'prepend', 'before', 'after', 'replaceWith', 'insertAdjacentElement', 'insertAdjacentHTML', 'replaceChildren', 'moveBefore', 'setHTMLUnsafe']],
    ['CharacterData', ['before', 'after', 'replaceWith']],
    ['DocumentFragment', ['append', 'prepend', 'replaceChildren', 'moveBefore']],
    ['Document', ['append', 'prepend', 'replaceChildren', 'write', 'writeln', 'moveBefore']],
    ['ShadowRoot', ['setHTMLUnsafe']],
    ['Range', ['insertNode', 'surroundContents']],
  ];
  for (let i = 0; i < insertions.length; i++) {
    const names = insertions[i][1];
    for (let j = 0; j < names.length; j++) after(P(insertions[i][0]), names[j], rescan);
  }
  const htmlSetters = [['Element', 'innerHTML'], ['Element', 'outerHTML'], ['ShadowRoot', 'innerHTML']];
  for (let i = 0; i < htmlSetters.length; i++) {
    accessor(P(htmlSetters[i][0]), htmlSetters[i][1], null, (self, v, nset) => {
      apply(nset, self, [v]);
      rescan();
    });
  }
  try {
    const doc = win.document;
    // `load` of an about:blank iframe fires synchronously on insertion, and
    // after every navigation of a frame (load events do not reach Window).
    doc.addEventListener('load', (e) => {
      const t = e.target;
      if (t && t !== doc) {
        const getters = [B.frameWindow, B.frameElWindow, B.objectWindow];
        for (let i = 0; i < getters.length; i++) {
          if (!getters[i]) continue;
          try {
            const w = apply(getters[i], t, []);
            if (w) windowOut(w);
            break;
          } catch {}
        }
      }
    }, true);
    if (typeof win.MutationObserver === 'function') {
      const mo = new win.MutationObserver(rescan);
      mo.observe(doc, { childList: true, subtree: true });
    }
  } catch {}
  if (win !== G) watchNavigation(win);
}

/** A later navigation of a patched frame or popup makes a new realm: patch it as soon as it appears. */
function watchNavigation(w) {
  try {
    w.addEventListener('pagehide', () => {
      let tries = 0;
      const poll = () => {
        scanAll();
        if (++tries < 20) setTimeout(poll, tries < 5 ? 0 : 10);
      };
      setTimeout(poll, 0);
    });
  } catch {}
}

function scanTree(w) {
  let n = 0;
  try {
    n = apply(wsLength, w, []);
  } catch {
    return;
  }
  for (let i = 0; i < n; i++) {
    let child;
    try {
      child = w[i];
    } catch {
      continue;
    }
    if (!child) continue;
    patchRealm(child);
    scanTree(child);
  }
}

function scanAll() {
  try {
    scanTree(apply(wsTop, G, []) ?? G);
  } catch {
    scanTree(G);
  }
  for (let i = 0; i < popups.length; i++) {
    const w = popups[i];
    try {
      if (w.closed) continue;
    } catch {
      continue;
    }
    patchRealm(w);
    scanTree(w);
  }
}

// ---------------------------------------------------------------- pre-install tampering
const WATCHED = [
  ['MediaRecorder', null], ['MediaRecorder', 'start'], ['HTMLMediaElement', 'captureStream'], ['HTMLMediaElement', 'mozCaptureStream'],
  ['HTMLMediaElement', 'mozCaptureStreamUntilEnded'], ['HTMLCanvasElement', 'captureStream'],
  ['HTMLCanvasElement', 'toDataURL'], ['HTMLCanvasElement', 'toBlob'], ['CanvasRenderingContext2D', 'drawImage'],
  ['CanvasRenderingContext2D', 'getImageData'], ['OffscreenCanvas', 'convertToBlob'], ['WebGLRenderingContext', 'readPixels'],
  ['WebGL2RenderingContext', 'readPixels'], ['MediaDevices', 'getDisplayMedia'], ['MediaDevices', 'getUserMedia'],
  ['VideoFrame', null], ['ImageCapture', null], ['MediaStreamTrackProcessor', null], ['AudioContext', 'createMediaStreamSource'],
  ['AudioContext', 'createMediaElementSource'], ['RTCPeerConnection', 'addTrack'], ['Function', 'toString'],
  ['Reflect', 'apply'], ['Object', 'defineProperty'], ['WeakSet', 'has'],
];

function detectTampering() {
  // Best effort: a replaced API shows its own source. (A fresh iframe's
  // toString would also see through a replaced toString, but creating a
  // realm costs ~20 ms of page load; a script that ran first owns the page
  // anyway, see docs/SECURITY.md.)
  const toStr = fnToString;
  const found = [];
  const check = (label, fn) => {
    if (typeof fn !== 'function') return;
    let s;
    try {
      s = toStr(fn);
    } catch {
      return;
    }
    if (!isNativeSource(s)) found[found.length] = label;
  };
  for (let i = 0; i < WATCHED.length; i++) {
    const iface = WATCHED[i][0];
    const name = WATCHED[i][1];
    const owner = G[iface];
    if (!owner) continue;
    if (name === null) check(iface, owner);
    else if (iface === 'Reflect' || iface === 'Object') check(`${iface}.${name}`, owner[name]);
    else {
      const d = owner.prototype && gopd(owner.prototype, name);
      if (d && typeof d.value === 'function') check(`${iface}.prototype.${name}`, d.value);
    }
  }
  check('createImageBitmap', G.createImageBitmap);
  check('window.open', G.open);
  for (let i = 0; i < found.length; i++) {
    record({ api: 'preinstall-tamper', target: found[i], blocked: false, time: dateNow(), stack: undefined });
  }
}

// ---------------------------------------------------------------- privacy features
let privacyInstalled = false;
function installPrivacy() {
  if (privacyInstalled || typeof document === 'undefined') return;
  privacyInstalled = true;
  const p = state.privacy;
  const rules = [];
  if (p.blurWhenHidden) rules[rules.length] = ':root[data-phiseal-obscured] [data-phiseal-protected]{filter:blur(30px)!important}';
  if (p.hideWhenPrinting) rules[rules.length] = '@media print{[data-phiseal-protected]{visibility:hidden!important}}';
  if (rules.length > 0) {
    try {
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(rules.join('\n'));
      document.adoptedStyleSheets.push(sheet);
    } catch {}
  }
  if (p.blurWhenHidden) {
    const set = (on) => {
      const root = document.documentElement;
      if (!root) return;
      if (on) root.setAttribute('data-phiseal-obscured', '');
      else root.removeAttribute('data-phiseal-obscured');
    };
    document.addEventListener('visibilitychange', () => set(document.visibilityState === 'hidden'), true);
    window.addEventListener('blur', (e) => e.target === window && set(true), true);
    window.addEventListener('focus', (e) => e.target === window && set(document.visibilityState === 'hidden'), true);
    window.addEventListener('pagehide', () => set(true), true);
  }
  if (p.copy !== 'allow') {
    const onCopy = (e) => {
      const hit = selectionTouchesProtected();
      if (!hit) return;
      if (!attemptWithMode(`clipboard.${e.type}`, hit, p.copy)) {
        e.preventDefault();
        try {
          e.clipboardData?.setData('text/plain', '');
        } catch {}
      }
    };
    const types = ['copy', 'cut', 'dragstart'];
    for (let i = 0; i < types.length; i++) document.addEventListener(types[i], onCopy, true);
  }
}

function attemptWithMode(api, target, mode) {
  const saved = state.mode;
  state.mode = mode === 'audit' ? 'audit' : 'block';
  try {
    return attempt(api, target);
  } finally {
    state.mode = saved;
  }
}

function selectionTouchesProtected() {
  let sel;
  try {
    sel = apply(selectionGet, document, []);
  } catch {
    return null;
  }
  if (!sel || sel.rangeCount === 0 || sel.isCollapsed) return null;
  for (let r = 0; r < sel.rangeCount; r++) {
    const range = sel.getRangeAt(r);
    if (insideProtected(range.commonAncestorContainer)) return range.commonAncestorContainer;
    for (let i = 0; i < protectedRefs.length; i++) {
      const el = weakRefDeref(protectedRefs[i]);
      if (el && range.intersectsNode(el)) return el;
    }
  }
  return null;
}

// ---------------------------------------------------------------- install at import
let hooked = false;
if (typeof window === 'object' && window && window.document && window === G) {
  try {
    detectTampering();
  } catch {}
  try {
    patchRealm(window);
    scanAll();
    hooked = true;
  } catch {
    hooked = false;
  }
}

// ---------------------------------------------------------------- public API
/** The installed guard (returned by CaptureGuard.install). */
class Guard {
  /** Marks a video/audio/canvas/img element, a PHI container, a MediaStream or a MediaStreamTrack as protected. */
  protect(target) {
    return protect(target);
  }
  /** True when `target` is protected (directly, by a container, or through its stream) or tainted. */
  isProtected(target) {
    return isProtectedSource(target) || (target !== null && typeof target === 'object' && isTaintedSurface(target));
  }
  /** Adds an attempt listener; it first receives every event queued so far. Returns a function that removes it. */
  onAttempt(listener) {
    if (typeof listener !== 'function') throw new PhisealError('onAttempt needs a function', ErrorCode.INVALID_ARGUMENT);
    state.listeners[state.listeners.length] = listener;
    const queued = state.pending;
    state.pending = [];
    for (let i = 0; i < queued.length; i++) deliver(queued[i]);
    return () => {
      const i = arrIndexOf(state.listeners, listener);
      if (i >= 0) arrSplice(state.listeners, i, 1);
    };
  }
  /** Every attempt recorded so far (the last 1000), oldest first. */
  events() {
    return arrSlice(state.events);
  }
  /** 'block' or 'audit'. */
  get mode() {
    return state.mode;
  }
  /** Whether the hooks are in place in this page. */
  get active() {
    return hooked;
  }
}

let theGuard = null;

export const CaptureGuard = freeze({
  /**
   * Sets the guard's policy, once, and returns the guard. The hooks are
   * already in place (importing this module installs them in block mode).
   * @param {{mode?: 'block'|'audit', onAttempt?: (event: object) => void, allow?: (attempt: object) => boolean,
   *          stacks?: boolean, lock?: boolean,
   *          privacy?: {blurWhenHidden?: boolean, hideWhenPrinting?: boolean, copy?: 'block'|'audit'|'allow'}}} [options]
   */
  install(options) {
    if (theGuard) {
      // The policy is set once; install() without options hands back the guard (for code that runs later).
      if (options === undefined) return theGuard;
      throw new PhisealError('the capture guard is already installed: its policy is set once; CaptureGuard.install() without options returns it', ErrorCode.MISUSE);
    }
    const o = options ?? {};
    if (typeof o !== 'object') throw new PhisealError('options must be an object', ErrorCode.INVALID_ARGUMENT);
    const mode = o.mode ?? 'block';
    if (mode !== 'block' && mode !== 'audit') throw new PhisealError("mode must be 'block' or 'audit'", ErrorCode.INVALID_ARGUMENT);
    if (o.allow !== undefined && typeof o.allow !== 'function') throw new PhisealError('allow must be a function', ErrorCode.INVALID_ARGUMENT);
    if (o.onAttempt !== undefined && typeof o.onAttempt !== 'function') throw new PhisealError('onAttempt must be a function', ErrorCode.INVALID_ARGUMENT);
    const pv = o.privacy ?? {};
    const copy = pv.copy ?? 'allow';
    if (copy !== 'block' && copy !== 'audit' && copy !== 'allow') throw new PhisealError("privacy.copy must be 'block', 'audit' or 'allow'", ErrorCode.INVALID_ARGUMENT);
    state.mode = mode;
    state.allow = o.allow ?? null;
    state.stacks = o.stacks ?? true;
    state.lock = o.lock === true;
    state.privacy = { blurWhenHidden: pv.blurWhenHidden === true, hideWhenPrinting: pv.hideWhenPrinting !== false, copy };
    state.configured = true;
    if (state.lock) lockAll();
    theGuard = new Guard();
    if (o.onAttempt) theGuard.onAttempt(o.onAttempt);
    if (hooked) installPrivacy();
    return theGuard;
  },
  /** Whether importing the module put the hooks in place (false outside a browser window). */
  get active() {
    return hooked;
  },
});
