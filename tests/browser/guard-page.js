// The red-team page's driver: sets up the protected visit (fake camera and
// microphone on a protected <video>, a protected <audio>, a PHI container
// with text and an image), runs one attempt at a time for tests/browser/
// guard.mjs, and holds the checks that are not attacks (indistinguishable
// hooks, platform-like errors, legitimate use, consent, audit, privacy).
// Engine-agnostic: what the engine lacks is named (notApplicable, skipped
// APIs in the info), and `?caps=` carries what the unguarded page measured
// the engine can do (engineCaps), so a check does not blame the guard for it.
import { env } from './guard-boot.js';
import { attacks, nonBlank, notApplicable, recordedSize } from './guard-attacks.js';

const params = new URLSearchParams(location.search);
const caps = JSON.parse(params.get('caps') ?? '{"videoRecording":true}');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function wavUrl(seconds = 2, hz = 440, rate = 44100) {
  const n = seconds * rate;
  const buf = new DataView(new ArrayBuffer(44 + n * 2));
  const text = (o, s) => [...s].forEach((ch, i) => buf.setUint8(o + i, ch.charCodeAt(0)));
  text(0, 'RIFF');
  buf.setUint32(4, 36 + n * 2, true);
  text(8, 'WAVEfmt ');
  buf.setUint32(16, 16, true);
  buf.setUint16(20, 1, true);
  buf.setUint16(22, 1, true);
  buf.setUint32(24, rate, true);
  buf.setUint32(28, rate * 2, true);
  buf.setUint16(32, 2, true);
  buf.setUint16(34, 16, true);
  text(36, 'data');
  buf.setUint32(40, n * 2, true);
  for (let i = 0; i < n; i++) buf.setInt16(44 + i * 2, Math.round(Math.sin((2 * Math.PI * hz * i) / rate) * 12000), true);
  return URL.createObjectURL(new Blob([buf], { type: 'audio/wav' }));
}

function cardDataUrl() {
  const c = document.createElement('canvas');
  c.width = c.height = 64;
  const ctx = c.getContext('2d');
  ctx.fillStyle = '#1d4ed8';
  ctx.fillRect(0, 0, 64, 64);
  ctx.fillStyle = '#fde047';
  ctx.fillRect(8, 8, 30, 20);
  ctx.fillStyle = '#fff';
  ctx.font = '12px sans-serif';
  ctx.fillText('ID 42', 10, 50);
  return c.toDataURL();
}

window.guardSetup = async () => {
  env.video = document.getElementById('video');
  env.audio = document.getElementById('audio');
  env.phi = document.getElementById('phi');
  env.phiImage = document.getElementById('phi-img');
  if (env.guard) {
    env.guard.protect(env.video); // before srcObject: the stream's tracks become protected on assignment
    env.guard.protect(env.phi);
  }
  env.phiImage.src = cardDataUrl();
  await env.phiImage.decode();
  env.audio.src = wavUrl();
  if (env.guard) env.guard.protect(env.audio);
  const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 320, height: 240 }, audio: true });
  env.video.srcObject = stream;
  await env.video.play();
  for (let i = 0; i < 100 && env.video.videoWidth === 0; i++) await sleep(30);
  await new Promise((r) => env.video.requestVideoFrameCallback(r));
  return `${env.mode}: video ${env.video.videoWidth}x${env.video.videoHeight}, guard ${env.guard ? env.guard.mode : 'absent'}`;
};

window.attackNames = Object.keys(attacks);
window.notApplicable = (name) => {
  if (!(name in attacks)) throw new Error(`no attempt named ${name}`);
  return notApplicable(name);
};

/** What this engine can do without the guard (run with ?mode=none): can MediaRecorder record a canvas's video? */
window.engineCaps = async () => {
  if (typeof MediaRecorder !== 'function' || typeof HTMLCanvasElement.prototype.captureStream !== 'function') return { videoRecording: false };
  const c = document.createElement('canvas');
  c.width = 160;
  c.height = 120;
  const ctx = c.getContext('2d');
  let n = 0;
  const timer = setInterval(() => {
    ctx.fillStyle = `hsl(${(n += 37) % 360} 80% 50%)`;
    ctx.fillRect(0, 0, 160, 120);
  }, 30);
  try {
    return { videoRecording: (await recordBytes(c.captureStream(30))) > 1000 };
  } finally {
    clearInterval(timer);
  }
};

const brief = (e) => ({ api: e.api, blocked: e.blocked, consented: e.consented === true });

const ATTEMPT_TIMEOUT_MS = 12_000;
window.runAttack = async (name) => {
  const before = env.events.length;
  let r;
  try {
    let timer;
    const late = new Promise((resolve) => (timer = setTimeout(() => resolve({ leaked: false, timedOut: true, error: `no result after ${ATTEMPT_TIMEOUT_MS} ms` }), ATTEMPT_TIMEOUT_MS)));
    r = await Promise.race([attacks[name](), late]);
    clearTimeout(timer);
  } catch (e) {
    r = { leaked: false, error: `${e?.name ?? 'Error'}: ${e?.message ?? e}`, domException: e instanceof DOMException };
  }
  await new Promise((r) => setTimeout(r, 0)); // listeners are called in microtasks
  const events = env.events.slice(before).map(brief);
  return { ...r, events };
};

/** Pixels of a viewport screenshot (base64 PNG) inside the video's box (CSS pixels) are real. */
window.screenshotShowsVideo = async (b64, rect) => {
  const img = new Image();
  img.src = `data:image/png;base64,${b64}`;
  await img.decode();
  const scale = img.naturalWidth / window.innerWidth; // device pixels per CSS pixel in the screenshot
  const [x, y, w, h] = [rect.x, rect.y, rect.width, rect.height].map((v) => Math.round(v * scale));
  const c = document.createElement('canvas');
  c.width = w;
  c.height = h;
  const ctx = c.getContext('2d');
  ctx.drawImage(img, x, y, w, h, 0, 0, w, h);
  return nonBlank(ctx.getImageData(0, 0, w, h).data);
};

window.videoRect = () => {
  const r = env.video.getBoundingClientRect();
  return { x: r.x, y: r.y, width: r.width, height: r.height };
};

const recordBytes = (stream, ms = 700) => recordedSize(new MediaRecorder(stream), ms);

function taintedCanvas() {
  const c = document.createElement('canvas');
  c.width = 320;
  c.height = 240;
  c.getContext('2d').drawImage(env.video, 0, 0, 320, 240);
  return c;
}

// Checks that are not attacks: name -> async () => info (throws on failure).
export const checks = {
  'patched APIs are indistinguishable from native ones (toString, name, length, descriptors, realm)': async () => {
    const ts = Function.prototype.toString;
    // The engine's own text for a native function (V8 on one line, SpiderMonkey and JavaScriptCore on three).
    const nativeText = (k) => ts.call(Math.max).replace('max', k);
    const nativeGetterText = (k) => ts.call(Object.getOwnPropertyDescriptor(Document.prototype, 'URL').get).replace('URL', k);
    const all = [
      [HTMLCanvasElement.prototype, 'toDataURL', 0], [HTMLCanvasElement.prototype, 'captureStream', 0],
      [CanvasRenderingContext2D.prototype, 'getImageData', 4], [CanvasRenderingContext2D.prototype, 'drawImage', 3],
      [WebGLRenderingContext.prototype, 'readPixels', 7], [MediaDevices.prototype, 'getDisplayMedia', 0],
      [HTMLMediaElement.prototype, 'captureStream', 0], [HTMLMediaElement.prototype, 'mozCaptureStream', 0],
      [OffscreenCanvas.prototype, 'convertToBlob', 0],
      [Node.prototype, 'appendChild', 1], [Function.prototype, 'toString', 0], [window, 'createImageBitmap', 1],
      [window, 'open', 0], [MediaStreamTrack.prototype, 'clone', 0],
    ];
    // What the engine does not have is named, not checked.
    const absent = all.filter(([o, k]) => typeof Object.getOwnPropertyDescriptor(o, k)?.value !== 'function').map(([, k]) => k);
    const methods = all.filter(([, k]) => !absent.includes(k));
    const ctorNames = ['MediaRecorder', 'VideoFrame', 'ImageCapture', 'MediaStreamTrackProcessor'];
    const ctors = ctorNames.filter((n) => typeof window[n] === 'function').map((n) => [window[n], 1]);
    absent.push(...ctorNames.filter((n) => typeof window[n] !== 'function'));
    const problems = [];
    for (const [o, k, len] of methods) {
      const d = Object.getOwnPropertyDescriptor(o, k);
      const fn = d.value;
      if (ts.call(fn) !== nativeText(k)) problems.push(`${k}: toString ${ts.call(fn)}`);
      if (fn.name !== k || fn.length !== len) problems.push(`${k}: name/length ${fn.name}/${fn.length}`);
      if (!d.writable || !d.configurable || d.enumerable !== (o !== Function.prototype)) problems.push(`${k}: descriptor ${JSON.stringify(d)}`);
      if (Object.hasOwn(fn, 'prototype')) problems.push(`${k}: has a prototype`);
      try {
        new fn();
        problems.push(`${k}: constructible`);
      } catch (e) {
        if (!(e instanceof TypeError)) problems.push(`${k}: new threw ${e}`);
      }
    }
    for (const [C, len] of ctors) {
      if (ts.call(C) !== nativeText(C.name) || C.length !== len) problems.push(`${C.name}: ${ts.call(C)} ${C.length}`);
      if (C.prototype.constructor !== C || Object.getOwnPropertyDescriptor(C, 'prototype').writable) problems.push(`${C.name}: prototype link`);
      try {
        C(new MediaStream());
        problems.push(`${C.name}: callable without new`);
      } catch (e) {
        if (!(e instanceof TypeError)) problems.push(`${C.name}: call threw ${e}`);
      }
    }
    if (typeof MediaRecorder.isTypeSupported !== 'function') problems.push('MediaRecorder.isTypeSupported lost');
    const getter = Object.getOwnPropertyDescriptor(HTMLIFrameElement.prototype, 'contentWindow').get;
    if (ts.call(getter) !== nativeGetterText('contentWindow') || getter.name !== 'get contentWindow') problems.push(`getter: ${ts.call(getter)}`);
    if (ts.call(ts) !== nativeText('toString')) problems.push('toString of toString');
    const f = document.createElement('iframe');
    document.body.appendChild(f);
    const w = f.contentWindow;
    const frameFn = w.HTMLCanvasElement.prototype.toDataURL;
    if (w.Function.prototype.toString.call(HTMLCanvasElement.prototype.toDataURL) !== nativeText('toDataURL')) problems.push('cross-realm toString');
    if (!(frameFn instanceof w.Function) || Object.getPrototypeOf(frameFn) !== w.Function.prototype) problems.push("a frame's hook is not of the frame's realm");
    if (ts.call(frameFn) !== nativeText('toDataURL')) problems.push("frame's hook toString");
    f.remove();
    if (problems.length) throw new Error(problems.join('; '));
    return `${methods.length} methods, ${ctors.length} constructors, a getter, toString itself and a frame checked${absent.length ? `; not in this engine: ${absent.join(', ')}` : ''}`;
  },
  'a blocked call fails like the platform, with no guard frame in its stack': async () => {
    const out = [];
    try {
      taintedCanvas().toDataURL();
      throw new Error('toDataURL of a tainted canvas succeeded');
    } catch (e) {
      if (!(e instanceof DOMException) || e.name !== 'SecurityError') throw e;
      if (/guard\.js/.test(e.stack)) throw new Error(`guard frame in the stack: ${e.stack}`);
      out.push(`toDataURL: ${e.name} "${e.message}"`);
    }
    try {
      await navigator.mediaDevices.getDisplayMedia({ video: true });
      throw new Error('getDisplayMedia resolved');
    } catch (e) {
      if (!(e instanceof DOMException) || e.name !== 'NotAllowedError') throw e;
      out.push(`getDisplayMedia: ${e.name}`);
    }
    try {
      HTMLCanvasElement.prototype.toDataURL.call({});
    } catch (e) {
      if (!(e instanceof TypeError) || /guard\.js/.test(e.stack)) throw new Error(`illegal invocation: ${e} ${e.stack}`);
      out.push(`illegal invocation: TypeError "${e.message}"`);
    }
    return out.join('; ');
  },
  'unprotected canvas: recording, readback and drawing still work': async () => {
    const c = document.createElement('canvas');
    c.width = 160;
    c.height = 120;
    const ctx = c.getContext('2d');
    let n = 0;
    const draw = () => {
      ctx.fillStyle = `hsl(${(n += 37) % 360} 80% 50%)`;
      ctx.fillRect(0, 0, 160, 120);
      ctx.fillStyle = '#000';
      ctx.fillRect(n % 140, 10, 20, 20);
    };
    draw();
    const timer = setInterval(draw, 30);
    try {
      const stream = c.captureStream(30);
      // Where MediaRecorder records no video even without the guard (engineCaps), that part is not the guard's to pass.
      const bytes = caps.videoRecording ? await recordBytes(stream) : null;
      if (bytes !== null && bytes <= 1000) throw new Error(`recording of an unprotected canvas: ${bytes} bytes`);
      const url = c.toDataURL();
      const px = ctx.getImageData(0, 0, 160, 120).data;
      if (!url.startsWith('data:image/png') || !nonBlank(px)) throw new Error('readback of an unprotected canvas failed');
      const bm = await createImageBitmap(c);
      const v = document.createElement('video');
      v.muted = true;
      v.srcObject = stream;
      await v.play();
      await new Promise((r) => v.requestVideoFrameCallback(r));
      const d = document.createElement('canvas').getContext('2d');
      d.drawImage(v, 0, 0);
      d.drawImage(bm, 0, 0);
      d.getImageData(0, 0, 10, 10);
      v.srcObject = null;
      const rec = bytes === null ? 'recording not applicable (this engine records no video without the guard either)' : `recorded ${bytes} bytes`;
      return `${rec}, toDataURL/getImageData/createImageBitmap/drawImage of an unprotected video work`;
    } finally {
      clearInterval(timer);
    }
  },
  'the protected video keeps playing for the viewer': async () => {
    const v = env.video;
    const t0 = v.currentTime;
    const f0 = v.getVideoPlaybackQuality().totalVideoFrames;
    // Frames presented: requestVideoFrameCallback (every engine here), or the
    // playback-quality counter (which Firefox leaves at 0 for a MediaStream).
    let presented = 0;
    const onFrame = () => {
      presented++;
      if (presented < 1000) v.requestVideoFrameCallback(onFrame);
    };
    v.requestVideoFrameCallback(onFrame);
    await sleep(600);
    const frames = Math.max(v.getVideoPlaybackQuality().totalVideoFrames - f0, presented);
    presented = 1000;
    if (v.paused || v.currentTime <= t0 || frames < 3) throw new Error(`video stalled: paused ${v.paused}, ${frames} frames`);
    return `playing, ${frames} frames in 600 ms, ${v.videoWidth}x${v.videoHeight}`;
  },
};

export const modeChecks = {
  allow: {
    'allow callback: a consented recording of the protected stream succeeds, an unconsented one is blocked': async () => {
      window.consent = false;
      let blocked = false;
      try {
        new MediaRecorder(env.video.srcObject);
      } catch (e) {
        blocked = e.name === 'SecurityError';
      }
      if (!blocked) throw new Error('recording without consent was not blocked');
      window.consent = true;
      const n = env.guard.events().length;
      // Where MediaRecorder records no video (engineCaps), the protected stream's audio track is recorded.
      const what = caps.videoRecording ? env.video.srcObject : new MediaStream(env.video.srcObject.getAudioTracks());
      const bytes = await recordBytes(what);
      window.consent = false;
      const ev = env.guard.events().slice(n).find((e) => e.api === 'MediaRecorder');
      if (bytes <= 1000) throw new Error(`consented recording: ${bytes} bytes`);
      if (!ev || ev.blocked || !ev.consented) throw new Error(`event: ${JSON.stringify(ev && brief(ev))}`);
      return `consented recording ${bytes} bytes${caps.videoRecording ? '' : ' (audio track: no video recording in this engine)'}, reported as {api: MediaRecorder, blocked: false, consented: true}`;
    },
  },
  late: {
    'events are queued until a listener is added, then delivered in order': async () => {
      try {
        taintedCanvas().toDataURL();
      } catch {}
      try {
        await navigator.mediaDevices.getDisplayMedia({ video: true });
      } catch {}
      const got = [];
      env.guard.onAttempt((e) => got.push(e));
      await sleep(0);
      const apis = got.map((e) => e.api);
      if (apis.join() !== 'HTMLCanvasElement.toDataURL,MediaDevices.getDisplayMedia') throw new Error(`delivered: ${apis}`);
      if (!got.every((e) => e.blocked && typeof e.time === 'number' && typeof e.stack === 'string' && e.target)) throw new Error('event shape');
      return `late listener received ${apis.join(', ')}`;
    },
  },
  tamper: {
    'an API replaced before install is reported (preinstall-tamper), and the guard still blocks': async () => {
      const ev = env.guard.events().find((e) => e.api === 'preinstall-tamper');
      if (!ev || ev.target !== 'HTMLCanvasElement.prototype.toDataURL') throw new Error(`no report: ${JSON.stringify(env.guard.events().map(brief))}`);
      let blocked = false;
      try {
        taintedCanvas().toDataURL();
      } catch (e) {
        blocked = e.name === 'SecurityError';
      }
      if (!blocked) throw new Error('the tampered toDataURL was not wrapped');
      // What cannot be covered: the pre-install script kept the original.
      const leaked = window.stolenToDataURL.call(taintedCanvas()).length > 1000;
      return `reported ${ev.target}; hook still blocks; a reference kept before install still works: ${leaked} (documented limit)`;
    },
  },
  privacy: {
    'privacy: protected content is blurred while the window is unfocused and hidden when printing (hide checked by the runner)': async () => {
      const filter = () => getComputedStyle(env.video).filter;
      window.dispatchEvent(new FocusEvent('blur'));
      const blurred = filter();
      window.dispatchEvent(new FocusEvent('focus'));
      const clear = filter();
      if (!/blur/.test(blurred) || /blur/.test(clear)) throw new Error(`filter: unfocused "${blurred}", focused "${clear}"`);
      return `unfocused: ${blurred}; focused: ${clear}`;
    },
  },
};

window.checkNames = (mode) => Object.keys(checks).concat(Object.keys(modeChecks[mode] ?? {}));
window.runCheck = async (mode, name) => {
  try {
    const fn = checks[name] ?? modeChecks[mode][name];
    return { ok: true, info: (await fn()) ?? '' };
  } catch (e) {
    return { ok: false, error: `${e?.name ?? 'Error'}: ${e?.message ?? e}` };
  }
};
window.printHidden = () => ['video', 'phi'].map((id) => getComputedStyle(document.getElementById(id)).visibility);
/** For engines where print media cannot be emulated: the visibility a `@media print` rule gives the video and the PHI container. */
window.printRuleVisibility = () => {
  const sheets = [...document.styleSheets, ...(document.adoptedStyleSheets ?? [])];
  const printRules = sheets.flatMap((s) => [...s.cssRules]).filter((r) => r instanceof CSSMediaRule && /\bprint\b/.test(r.media.mediaText));
  return ['video', 'phi'].map((id) => {
    const el = document.getElementById(id);
    const hit = printRules.flatMap((m) => [...m.cssRules]).find((r) => r.selectorText && el.matches(r.selectorText) && r.style.visibility === 'hidden');
    return hit ? 'hidden' : 'visible';
  });
};
window.guardReady = true;
