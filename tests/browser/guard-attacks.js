// Red-team attempts against the capture guard (tests/browser/guard.html).
// Each attempt tries to record, extract pixels or samples from, or screen
// capture the protected video, audio, PHI image or text, and returns
// evidence that it obtained real data (recorded bytes, non-blank pixels,
// non-zero samples). Run without the guard every attempt must leak (so it is
// a real attack); with the guard in block mode none may leak. The attempts
// are written once for every engine: `notApplicable(name)` names the API an
// attempt needs that this engine lacks (the runner lists it, never drops it).
import { env } from './guard-boot.js';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * True when the bytes are a picture: not blank and not one flat grey (Chromium's
 * and WebKit's fake cameras draw a pattern), or RGBA pixels of one saturated,
 * opaque colour (Firefox's fake camera shows a flat green that pulses), which
 * a blank, black or blocked surface never is.
 */
export function nonBlank(bytes, stride = 4) {
  let min = 255;
  let max = 0;
  const step = Math.max(stride, Math.floor(bytes.length / 8192 / stride) * stride);
  let samples = 0;
  let coloured = 0;
  for (let i = 0; i < bytes.length; i += step) {
    const v = bytes[i];
    if (v < min) min = v;
    if (v > max) max = v;
    if (stride === 4 && i % 4 === 0 && i + 3 < bytes.length) {
      samples++;
      const [r, g, b, a] = [bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]];
      if (a > 200 && Math.max(r, g, b) - Math.min(r, g, b) > 60) coloured++;
    }
  }
  return max - min > 24 || (samples > 0 && coloured > samples / 2);
}

function canvas(w = 320, h = 240) {
  const c = document.createElement('canvas');
  c.width = w;
  c.height = h;
  return c;
}

/** Draws an image source on a fresh, unprotected canvas and reads it back. */
function pixelsOf(source, w = 320, h = 240) {
  const c = canvas(w, h);
  const ctx = c.getContext('2d');
  ctx.drawImage(source, 0, 0, w, h);
  return ctx.getImageData(0, 0, w, h).data;
}

async function decodePixels(blobOrUrl) {
  const url = typeof blobOrUrl === 'string' ? blobOrUrl : URL.createObjectURL(blobOrUrl);
  const img = new Image();
  img.src = url;
  await img.decode();
  return pixelsOf(img, img.naturalWidth || 64, img.naturalHeight || 64);
}

async function videoOf(stream) {
  const v = document.createElement('video');
  v.muted = true;
  v.playsInline = true;
  v.srcObject = stream;
  await v.play();
  for (let i = 0; i < 100 && (v.videoWidth === 0 || v.readyState < 2); i++) await sleep(30);
  await new Promise((r) => v.requestVideoFrameCallback(r));
  return v;
}

/** Real pixels from a video stream (through a fresh, unprotected video element). */
async function streamPixels(stream, { keepDrawing } = {}) {
  const timer = keepDrawing ? setInterval(keepDrawing, 30) : null;
  try {
    const v = await videoOf(stream);
    const size = `${v.videoWidth}x${v.videoHeight}`;
    for (let i = 0; i < 30; i++) {
      await new Promise((r) => v.requestVideoFrameCallback(r));
      if (nonBlank(pixelsOf(v, v.videoWidth, v.videoHeight))) {
        v.srcObject = null;
        return { leaked: true, detail: `${size} live pixels` };
      }
    }
    v.srcObject = null;
    return { leaked: false, detail: 'stream showed only blank frames' };
  } finally {
    clearInterval(timer);
  }
}

async function recordBytes(stream, ms = 700) {
  return recorderResult(new MediaRecorder(stream), ms);
}

async function audioSamples(ctx, node) {
  const an = ctx.createAnalyser();
  an.fftSize = 2048;
  node.connect(an);
  if (ctx.state !== 'running') await ctx.resume();
  const buf = new Float32Array(an.fftSize);
  for (let i = 0; i < 60; i++) {
    await sleep(50);
    an.getFloatTimeDomainData(buf);
    const peak = buf.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
    if (peak > 0.01) {
      await ctx.close();
      return { leaked: true, detail: `audio samples, peak ${peak.toFixed(3)}` };
    }
  }
  await ctx.close();
  return { leaked: false, detail: 'only silence' };
}

function drawnCanvas() {
  const c = canvas();
  const ctx = c.getContext('2d');
  ctx.drawImage(env.video, 0, 0, 320, 240);
  return { c, ctx };
}

function glRead(gl, src, { sub = false } = {}) {
  const w = env.video.videoWidth;
  const h = env.video.videoHeight;
  const tex = gl.createTexture();
  gl.bindTexture(gl.TEXTURE_2D, tex);
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.NEAREST);
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
  if (sub) {
    gl.texStorage2D(gl.TEXTURE_2D, 1, gl.RGBA8, w, h);
    gl.texSubImage2D(gl.TEXTURE_2D, 0, 0, 0, gl.RGBA, gl.UNSIGNED_BYTE, src);
  } else {
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA, gl.RGBA, gl.UNSIGNED_BYTE, src);
  }
  const fb = gl.createFramebuffer();
  gl.bindFramebuffer(gl.FRAMEBUFFER, fb);
  gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, tex, 0);
  return { w, h, fb };
}

function pixelsResult(px, what) {
  return { leaked: nonBlank(px), detail: `${what}: ${nonBlank(px) ? 'real pixels' : 'blank'}` };
}

function newFrame(parent = document.body, html) {
  const f = document.createElement('iframe');
  if (html !== undefined) f.srcdoc = html;
  parent.appendChild(f);
  return f;
}

const loaded = (f) => new Promise((r) => f.addEventListener('load', r, { once: true }));
const videoTrack = () => env.video.srcObject.getVideoTracks()[0];
const audioTrack = () => env.video.srcObject.getAudioTracks()[0];

// Every attempt: name -> async () => {leaked, detail}. Throwing means it failed.
export const attacks = {
  // ---- recording
  'MediaRecorder on the protected stream': () => recordBytes(env.video.srcObject),
  'MediaRecorder built on an empty stream, protected track added before start()': async () => {
    const s = new MediaStream();
    const rec = new MediaRecorder(s);
    s.addTrack(videoTrack());
    return recorderResult(rec);
  },
  'MediaRecorder on a clone of the protected track': () => recordBytes(new MediaStream([videoTrack().clone()])),
  'MediaRecorder on new MediaStream([protected audio track])': () => recordBytes(new MediaStream([audioTrack()])),
  'HTMLMediaElement.captureStream of the protected video': () => streamPixels(env.video.captureStream()),
  'HTMLMediaElement.mozCaptureStream of the protected video (Firefox)': () => streamPixels(env.video.mozCaptureStream()),
  'HTMLMediaElement.mozCaptureStreamUntilEnded of the protected video (Firefox)': () => streamPixels(env.video.mozCaptureStreamUntilEnded()),
  'HTMLCanvasElement.captureStream of a canvas the video was drawn on': async () => {
    const { c, ctx } = drawnCanvas();
    const s = c.captureStream(30);
    return streamPixels(s, { keepDrawing: () => ctx.drawImage(env.video, 0, 0, 320, 240) });
  },
  'canvas captured first, then the protected video drawn into it': async () => {
    const c = canvas();
    const ctx = c.getContext('2d');
    const s = c.captureStream(30);
    ctx.drawImage(env.video, 0, 0, 320, 240);
    return streamPixels(s, { keepDrawing: () => ctx.drawImage(env.video, 0, 0, 320, 240) });
  },
  'navigator.mediaDevices.getDisplayMedia (screen capture)': async () => {
    const s = await navigator.mediaDevices.getDisplayMedia({ video: true });
    const t = s.getVideoTracks()[0];
    const live = t.readyState === 'live';
    s.getTracks().forEach((x) => x.stop());
    return { leaked: live, detail: `screen track "${t.label}" ${t.readyState}` };
  },
  'Web Audio: createMediaStreamSource -> MediaStreamDestination -> MediaRecorder': async () => {
    const ctx = new AudioContext();
    const src = ctx.createMediaStreamSource(env.video.srcObject);
    const dest = ctx.createMediaStreamDestination();
    src.connect(dest);
    const r = await recordBytes(dest.stream);
    await ctx.close();
    return r;
  },
  'Web Audio: new MediaStreamAudioSourceNode -> AnalyserNode samples': () => {
    const ctx = new AudioContext();
    return audioSamples(ctx, new MediaStreamAudioSourceNode(ctx, { mediaStream: env.video.srcObject }));
  },
  'Web Audio: createMediaElementSource(protected <audio>) -> AnalyserNode samples': async () => {
    const a = env.audio;
    const ctx = new AudioContext();
    const node = ctx.createMediaElementSource(a);
    await a.play();
    const r = await audioSamples(ctx, node);
    a.pause();
    return r;
  },

  // ---- pixel extraction
  '2D drawImage(video) + getImageData': () => {
    const { ctx } = drawnCanvas();
    return pixelsResult(ctx.getImageData(0, 0, 320, 240).data, 'getImageData');
  },
  '2D drawImage(video) + toDataURL': async () => pixelsResult(await decodePixels(drawnCanvas().c.toDataURL('image/png')), 'toDataURL'),
  '2D drawImage(video) + toBlob': async () => {
    const { c } = drawnCanvas();
    const blob = await new Promise((r) => c.toBlob(r, 'image/png'));
    return pixelsResult(await decodePixels(blob), 'toBlob');
  },
  '2D createPattern(video) as fillStyle + getImageData': () => {
    const c = canvas();
    const ctx = c.getContext('2d');
    ctx.fillStyle = ctx.createPattern(env.video, 'no-repeat');
    ctx.fillRect(0, 0, 320, 240);
    return pixelsResult(ctx.getImageData(0, 0, 320, 240).data, 'pattern');
  },
  'taint propagation: video -> canvas A -> drawImage(A) on canvas B -> getImageData': () => {
    const { c } = drawnCanvas();
    const b = canvas().getContext('2d');
    b.drawImage(c, 0, 0);
    return pixelsResult(b.getImageData(0, 0, 320, 240).data, 'canvas B');
  },
  'OffscreenCanvas drawImage(video) + convertToBlob': async () => {
    const off = new OffscreenCanvas(320, 240);
    off.getContext('2d').drawImage(env.video, 0, 0, 320, 240);
    return pixelsResult(await decodePixels(await off.convertToBlob()), 'convertToBlob');
  },
  'OffscreenCanvas 2D getImageData': () => {
    const off = new OffscreenCanvas(320, 240);
    const ctx = off.getContext('2d');
    ctx.drawImage(env.video, 0, 0, 320, 240);
    return pixelsResult(ctx.getImageData(0, 0, 320, 240).data, 'offscreen getImageData');
  },
  'OffscreenCanvas transferToImageBitmap -> bitmaprenderer -> drawImage': () => {
    const off = new OffscreenCanvas(320, 240);
    off.getContext('2d').drawImage(env.video, 0, 0, 320, 240);
    const bm = off.transferToImageBitmap();
    return pixelsResult(pixelsOf(bm), 'transferred bitmap');
  },
  'transferControlToOffscreen canvas: drawImage(video) + convertToBlob': async () => {
    const c = canvas();
    document.body.appendChild(c);
    const off = c.transferControlToOffscreen();
    off.getContext('2d').drawImage(env.video, 0, 0, 320, 240);
    const blob = await off.convertToBlob();
    c.remove();
    return pixelsResult(await decodePixels(blob), 'placeholder offscreen');
  },
  'WebGL texImage2D(video) + readPixels': () => {
    const gl = canvas().getContext('webgl');
    const { w, h } = glRead(gl, env.video);
    const out = new Uint8Array(w * h * 4);
    gl.readPixels(0, 0, w, h, gl.RGBA, gl.UNSIGNED_BYTE, out);
    return pixelsResult(out, 'readPixels');
  },
  'WebGL2 texStorage2D + texSubImage2D(video) + readPixels': () => {
    const gl = canvas().getContext('webgl2');
    const { w, h } = glRead(gl, env.video, { sub: true });
    const out = new Uint8Array(w * h * 4);
    gl.readPixels(0, 0, w, h, gl.RGBA, gl.UNSIGNED_BYTE, out);
    return pixelsResult(out, 'readPixels');
  },
  'WebGL2 texImage2D(video) + copyTexImage2D into a second texture + readPixels': () => {
    const gl = canvas().getContext('webgl2');
    const { w, h } = glRead(gl, env.video);
    const t2 = gl.createTexture();
    gl.bindTexture(gl.TEXTURE_2D, t2);
    gl.copyTexImage2D(gl.TEXTURE_2D, 0, gl.RGBA, 0, 0, w, h, 0);
    const fb2 = gl.createFramebuffer();
    gl.bindFramebuffer(gl.FRAMEBUFFER, fb2);
    gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, t2, 0);
    const out = new Uint8Array(w * h * 4);
    gl.readPixels(0, 0, w, h, gl.RGBA, gl.UNSIGNED_BYTE, out);
    return pixelsResult(out, 'copied texture');
  },
  'WebGL2 blitFramebuffer to the drawing buffer + canvas.toDataURL': async () => {
    const { c } = blitVideoToWebGlCanvas();
    return pixelsResult(await decodePixels(c.toDataURL()), 'WebGL canvas');
  },
  'WebGL canvas drawn onto a 2D canvas + getImageData': () => {
    const { c, w, h } = blitVideoToWebGlCanvas();
    return pixelsResult(pixelsOf(c, w, h), '2D copy of the WebGL canvas');
  },
  'createImageBitmap(video)': async () => pixelsResult(pixelsOf(await createImageBitmap(env.video)), 'ImageBitmap'),
  'createImageBitmap(tainted canvas)': async () => pixelsResult(pixelsOf(await createImageBitmap(drawnCanvas().c)), 'ImageBitmap'),
  'new VideoFrame(video) + copyTo': async () => {
    const f = new VideoFrame(env.video, { timestamp: 0 });
    const buf = new Uint8Array(f.allocationSize());
    await f.copyTo(buf);
    f.close();
    return pixelsResult(buf, 'VideoFrame');
  },
  'new VideoFrame(tainted OffscreenCanvas) drawn on a canvas': () => {
    const off = new OffscreenCanvas(320, 240);
    off.getContext('2d').drawImage(env.video, 0, 0, 320, 240);
    const f = new VideoFrame(off, { timestamp: 0 });
    const px = pixelsOf(f);
    f.close();
    return pixelsResult(px, 'VideoFrame');
  },
  'ImageCapture(track).grabFrame': async () => pixelsResult(pixelsOf(await new ImageCapture(videoTrack()).grabFrame()), 'grabFrame'),
  'ImageCapture(track).takePhoto': async () => pixelsResult(await decodePixels(await new ImageCapture(videoTrack()).takePhoto()), 'takePhoto'),
  'ImageCapture on a track of MediaStream.clone()': async () =>
    pixelsResult(pixelsOf(await new ImageCapture(env.video.srcObject.clone().getVideoTracks()[0]).grabFrame()), 'grabFrame'),
  'MediaStreamTrackProcessor(track) VideoFrames': async () => {
    const reader = new MediaStreamTrackProcessor({ track: videoTrack().clone() }).readable.getReader();
    const { value: frame } = await reader.read();
    const buf = new Uint8Array(frame.allocationSize());
    await frame.copyTo(buf);
    frame.close();
    await reader.cancel();
    return pixelsResult(buf, 'processor frame');
  },
  'a fresh <video> showing new MediaStream([protected track]), drawn to a canvas': async () => {
    const v = await videoOf(new MediaStream([videoTrack()]));
    const px = pixelsOf(v);
    v.srcObject = null;
    return pixelsResult(px, 'fresh video');
  },
  'drawImage of the <img> inside the protected PHI container': () => pixelsResult(pixelsOf(env.phiImage, 64, 64), 'PHI image'),
  'RTCPeerConnection loopback: addTrack(protected track) to an unconsented peer': async () => {
    const a = new RTCPeerConnection();
    const b = new RTCPeerConnection();
    a.onicecandidate = (e) => e.candidate && b.addIceCandidate(e.candidate);
    b.onicecandidate = (e) => e.candidate && a.addIceCandidate(e.candidate);
    const remote = new Promise((r) => (b.ontrack = (e) => r(new MediaStream([e.track]))));
    try {
      a.addTrack(videoTrack());
      await a.setLocalDescription();
      await b.setRemoteDescription(a.localDescription);
      await b.setLocalDescription();
      await a.setRemoteDescription(b.localDescription);
      return await streamPixels(await remote);
    } finally {
      a.close();
      b.close();
    }
  },
  'RTCRtpSender.replaceTrack(protected track)': async () => {
    const a = new RTCPeerConnection();
    const c = canvas();
    c.getContext('2d').fillRect(0, 0, 1, 1);
    const sender = a.addTrack(c.captureStream().getVideoTracks()[0]);
    try {
      await sender.replaceTrack(videoTrack());
      return { leaked: sender.track === videoTrack(), detail: 'protected track is being sent' };
    } finally {
      a.close();
    }
  },

  // ---- bypasses
  'new about:blank iframe: its toDataURL on a tainted canvas': async () => {
    const f = newFrame();
    const w = f.contentWindow;
    const url = w.HTMLCanvasElement.prototype.toDataURL.call(drawnCanvas().c);
    f.remove();
    return pixelsResult(await decodePixels(url), 'frame toDataURL');
  },
  "window[n] right after appendChild: that realm's MediaRecorder": async () => {
    const f = document.createElement('iframe');
    document.body.appendChild(f);
    const w = window[window.length - 1];
    const result = await recorderResult(new w.MediaRecorder(env.video.srcObject));
    f.remove();
    return result;
  },
  'iframe inserted by innerHTML: window[n] getImageData': () => {
    const d = document.createElement('div');
    document.body.appendChild(d);
    d.innerHTML = '<iframe></iframe>';
    const w = window[window.length - 1];
    const { ctx } = drawnCanvas();
    const px = w.CanvasRenderingContext2D.prototype.getImageData.call(ctx, 0, 0, 320, 240).data;
    d.remove();
    return pixelsResult(px, 'frame getImageData');
  },
  'srcdoc iframe (after load): its HTMLMediaElement.captureStream': async () => {
    const f = newFrame(document.body, '<p>frame</p>');
    await loaded(f);
    const w = window[window.length - 1];
    const s = w.HTMLMediaElement.prototype.captureStream.call(env.video);
    const r = await streamPixels(s);
    f.remove();
    return r;
  },
  "nested iframes: the grandchild's createImageBitmap": async () => {
    const f = newFrame();
    const inner = f.contentDocument.createElement('iframe');
    f.contentDocument.body.appendChild(inner);
    const w = f.contentWindow[0];
    const bm = await w.createImageBitmap(env.video);
    f.remove();
    return pixelsResult(pixelsOf(bm), 'grandchild ImageBitmap');
  },
  'iframe present in the markup before install: its VideoFrame': async () => {
    const w = window.frames[0];
    const f = new w.VideoFrame(env.video, { timestamp: 0 });
    const px = pixelsOf(f);
    f.close();
    return pixelsResult(px, 'pre-install frame VideoFrame');
  },
  "iframe's navigator.mediaDevices.getDisplayMedia": async () => {
    const f = newFrame();
    const s = await f.contentWindow.navigator.mediaDevices.getDisplayMedia({ video: true });
    const live = s.getVideoTracks()[0].readyState === 'live';
    s.getTracks().forEach((t) => t.stop());
    f.remove();
    return { leaked: live, detail: 'screen track from a frame' };
  },
  'window.open popup: its ImageCapture': async () => {
    const p = window.open('about:blank', '_blank');
    try {
      const bm = await new p.ImageCapture(videoTrack()).grabFrame();
      return pixelsResult(pixelsOf(bm), 'popup ImageCapture');
    } finally {
      p.close();
    }
  },
  'delete the patched method and walk the prototype chain for the original': async () => {
    const proto = HTMLCanvasElement.prototype;
    const saved = Object.getOwnPropertyDescriptor(proto, 'toDataURL');
    delete proto.toDataURL;
    let fn = null;
    for (let p = proto; p && !fn; p = Object.getPrototypeOf(p)) fn = Object.getOwnPropertyDescriptor(p, 'toDataURL')?.value ?? null;
    Object.defineProperty(proto, 'toDataURL', saved);
    const url = (fn ?? saved.value).call(drawnCanvas().c);
    return pixelsResult(await decodePixels(url), 'toDataURL');
  },
  'Object.defineProperty: shadow srcObject so the stream looks unprotected': () => {
    const proto = HTMLMediaElement.prototype;
    const saved = Object.getOwnPropertyDescriptor(proto, 'srcObject');
    Object.defineProperty(proto, 'srcObject', { get: () => null, set: saved.set, configurable: true, enumerable: true });
    try {
      const { ctx } = drawnCanvas();
      return pixelsResult(ctx.getImageData(0, 0, 320, 240).data, 'getImageData');
    } finally {
      Object.defineProperty(proto, 'srcObject', saved);
    }
  },
  "poison the guard's helpers (WeakSet/WeakMap, Reflect.apply, Function.prototype.apply, iterators)": async () => {
    const saved = [
      [WeakSet.prototype, 'has'], [WeakMap.prototype, 'get'], [Reflect, 'apply'], [Function.prototype, 'apply'],
      [Array.prototype, Symbol.iterator], [Array.prototype, 'slice'],
    ].map(([o, k]) => [o, k, Object.getOwnPropertyDescriptor(o, k)]);
    const { c } = drawnCanvas();
    let url;
    try {
      WeakSet.prototype.has = () => false;
      WeakMap.prototype.get = () => undefined;
      Reflect.apply = (f, t, a) => Function.prototype.call.call(f, t, ...Array.from(a));
      Function.prototype.apply = function (t, a) {
        return this.call(t, ...(a ?? []));
      };
      url = c.toDataURL();
    } finally {
      for (const [o, k, d] of saved) Object.defineProperty(o, k, d);
    }
    return pixelsResult(await decodePixels(url), 'toDataURL');
  },
  'Reflect.construct(MediaRecorder) with another newTarget': () => {
    function Other() {}
    Other.prototype = MediaRecorder.prototype;
    const rec = Reflect.construct(MediaRecorder, [env.video.srcObject], Other);
    return recorderResult(rec);
  },
  'class extends MediaRecorder': () => {
    class Sneaky extends MediaRecorder {}
    return recorderResult(new Sneaky(env.video.srcObject));
  },
  'Function.prototype.call.call / bind on getImageData': () => {
    const { ctx } = drawnCanvas();
    const bound = Function.prototype.bind.call(CanvasRenderingContext2D.prototype.getImageData, ctx);
    const px = Function.prototype.call.call(bound, null, 0, 0, 320, 240).data;
    return pixelsResult(px, 'getImageData');
  },
  "another realm's native applied to this page's objects (Reflect.construct of a frame's VideoFrame)": async () => {
    const f = newFrame();
    const frame = Reflect.construct(f.contentWindow.VideoFrame, [env.video, { timestamp: 0 }]);
    const px = pixelsOf(frame);
    frame.close();
    f.remove();
    return pixelsResult(px, 'VideoFrame');
  },
  'copy PHI text out of the protected container': () => {
    const sel = getSelection();
    sel.removeAllRanges();
    const range = document.createRange();
    range.selectNodeContents(env.phi);
    sel.addRange(range);
    let prevented = null;
    const late = (e) => (prevented = e.defaultPrevented);
    window.addEventListener('copy', late);
    document.execCommand('copy');
    if (prevented === null) {
      // execCommand needs a user gesture in some builds: the same event, dispatched.
      env.phi.firstChild.dispatchEvent(new ClipboardEvent('copy', { clipboardData: new DataTransfer(), bubbles: true, cancelable: true }));
    }
    window.removeEventListener('copy', late);
    sel.removeAllRanges();
    if (prevented === null) throw new Error('no copy event');
    return { leaked: !prevented, detail: prevented ? 'copy cancelled' : 'PHI text went to the clipboard' };
  },
};

// What each attempt needs from the engine, checked in the page without
// calling anything the guard hooks: name -> list of requirements.
const fn = (o, k) => typeof o?.[k] === 'function';
const glContext = (type) => {
  const c = document.createElement('canvas');
  return c.getContext(type) !== null;
};
const REQ = {
  MediaRecorder: () => fn(window, 'MediaRecorder'),
  'HTMLMediaElement.captureStream': () => fn(HTMLMediaElement.prototype, 'captureStream'),
  'HTMLMediaElement.mozCaptureStream': () => fn(HTMLMediaElement.prototype, 'mozCaptureStream'),
  'HTMLMediaElement.mozCaptureStreamUntilEnded': () => fn(HTMLMediaElement.prototype, 'mozCaptureStreamUntilEnded'),
  'HTMLCanvasElement.captureStream': () => fn(HTMLCanvasElement.prototype, 'captureStream'),
  getDisplayMedia: () => fn(navigator.mediaDevices, 'getDisplayMedia'),
  AudioContext: () => fn(window, 'AudioContext'),
  MediaStreamAudioSourceNode: () => fn(window, 'MediaStreamAudioSourceNode'),
  OffscreenCanvas: () => fn(window, 'OffscreenCanvas'),
  transferControlToOffscreen: () => fn(HTMLCanvasElement.prototype, 'transferControlToOffscreen'),
  'a WebGL context': () => glContext('webgl'),
  'a WebGL2 context': () => glContext('webgl2'),
  createImageBitmap: () => fn(window, 'createImageBitmap'),
  VideoFrame: () => fn(window, 'VideoFrame'),
  ImageCapture: () => fn(window, 'ImageCapture'),
  MediaStreamTrackProcessor: () => fn(window, 'MediaStreamTrackProcessor'),
  RTCPeerConnection: () => fn(window, 'RTCPeerConnection'),
  ClipboardEvent: () => fn(window, 'ClipboardEvent'),
};
const NEEDS = {
  'MediaRecorder on the protected stream': ['MediaRecorder'],
  'MediaRecorder built on an empty stream, protected track added before start()': ['MediaRecorder'],
  'MediaRecorder on a clone of the protected track': ['MediaRecorder'],
  'MediaRecorder on new MediaStream([protected audio track])': ['MediaRecorder'],
  'HTMLMediaElement.captureStream of the protected video': ['HTMLMediaElement.captureStream'],
  'HTMLMediaElement.mozCaptureStream of the protected video (Firefox)': ['HTMLMediaElement.mozCaptureStream'],
  'HTMLMediaElement.mozCaptureStreamUntilEnded of the protected video (Firefox)': ['HTMLMediaElement.mozCaptureStreamUntilEnded'],
  'HTMLCanvasElement.captureStream of a canvas the video was drawn on': ['HTMLCanvasElement.captureStream'],
  'canvas captured first, then the protected video drawn into it': ['HTMLCanvasElement.captureStream'],
  'navigator.mediaDevices.getDisplayMedia (screen capture)': ['getDisplayMedia'],
  'Web Audio: createMediaStreamSource -> MediaStreamDestination -> MediaRecorder': ['AudioContext', 'MediaRecorder'],
  'Web Audio: new MediaStreamAudioSourceNode -> AnalyserNode samples': ['AudioContext', 'MediaStreamAudioSourceNode'],
  'Web Audio: createMediaElementSource(protected <audio>) -> AnalyserNode samples': ['AudioContext'],
  'OffscreenCanvas drawImage(video) + convertToBlob': ['OffscreenCanvas'],
  'OffscreenCanvas 2D getImageData': ['OffscreenCanvas'],
  'OffscreenCanvas transferToImageBitmap -> bitmaprenderer -> drawImage': ['OffscreenCanvas'],
  'transferControlToOffscreen canvas: drawImage(video) + convertToBlob': ['transferControlToOffscreen'],
  'WebGL texImage2D(video) + readPixels': ['a WebGL context'],
  'WebGL2 texStorage2D + texSubImage2D(video) + readPixels': ['a WebGL2 context'],
  'WebGL2 texImage2D(video) + copyTexImage2D into a second texture + readPixels': ['a WebGL2 context'],
  'WebGL2 blitFramebuffer to the drawing buffer + canvas.toDataURL': ['a WebGL2 context'],
  'WebGL canvas drawn onto a 2D canvas + getImageData': ['a WebGL2 context'],
  'createImageBitmap(video)': ['createImageBitmap'],
  'createImageBitmap(tainted canvas)': ['createImageBitmap'],
  'new VideoFrame(video) + copyTo': ['VideoFrame'],
  'new VideoFrame(tainted OffscreenCanvas) drawn on a canvas': ['VideoFrame', 'OffscreenCanvas'],
  'ImageCapture(track).grabFrame': ['ImageCapture'],
  'ImageCapture(track).takePhoto': ['ImageCapture'],
  'ImageCapture on a track of MediaStream.clone()': ['ImageCapture'],
  'MediaStreamTrackProcessor(track) VideoFrames': ['MediaStreamTrackProcessor'],
  'RTCPeerConnection loopback: addTrack(protected track) to an unconsented peer': ['RTCPeerConnection'],
  'RTCRtpSender.replaceTrack(protected track)': ['RTCPeerConnection', 'HTMLCanvasElement.captureStream'],
  "window[n] right after appendChild: that realm's MediaRecorder": ['MediaRecorder'],
  'srcdoc iframe (after load): its HTMLMediaElement.captureStream': ['HTMLMediaElement.captureStream'],
  "nested iframes: the grandchild's createImageBitmap": ['createImageBitmap'],
  'iframe present in the markup before install: its VideoFrame': ['VideoFrame'],
  "iframe's navigator.mediaDevices.getDisplayMedia": ['getDisplayMedia'],
  'window.open popup: its ImageCapture': ['ImageCapture'],
  'Reflect.construct(MediaRecorder) with another newTarget': ['MediaRecorder'],
  'class extends MediaRecorder': ['MediaRecorder'],
  "another realm's native applied to this page's objects (Reflect.construct of a frame's VideoFrame)": ['VideoFrame'],
  'copy PHI text out of the protected container': ['ClipboardEvent'],
};

/** null when the engine has what attempt `name` needs, else "no X in this engine". */
export function notApplicable(name) {
  const missing = (NEEDS[name] ?? []).filter((r) => !REQ[r]());
  return missing.length ? `no ${missing.join(', no ')} in this engine` : null;
}

/** A WebGL2 canvas whose drawing buffer holds the protected video (texture -> framebuffer -> blit). */
function blitVideoToWebGlCanvas() {
  const c = canvas(env.video.videoWidth, env.video.videoHeight);
  const gl = c.getContext('webgl2', { preserveDrawingBuffer: true, antialias: false });
  const { w, h, fb } = glRead(gl, env.video);
  gl.bindFramebuffer(gl.READ_FRAMEBUFFER, fb);
  gl.bindFramebuffer(gl.DRAW_FRAMEBUFFER, null);
  gl.blitFramebuffer(0, 0, w, h, 0, 0, w, h, gl.COLOR_BUFFER_BIT, gl.NEAREST);
  return { c, w, h };
}

/**
 * Records with `rec` for `ms`, longer (up to 3 s) while fewer than 1000 bytes
 * have arrived (WebKit delivers its first chunks late); resolves to the bytes recorded.
 */
export async function recordedSize(rec, ms = 700) {
  const chunks = [];
  const size = () => chunks.reduce((n, b) => n + b.size, 0);
  rec.ondataavailable = (e) => chunks.push(e.data);
  const stopped = new Promise((r) => (rec.onstop = r));
  rec.start(100);
  await sleep(ms);
  for (let waited = ms; waited < 3000 && size() <= 1000; waited += 100) await sleep(100);
  rec.stop();
  await stopped;
  return chunks.reduce((n, b) => n + b.size, 0);
}

async function recorderResult(rec, ms = 700) {
  const size = await recordedSize(rec, ms);
  return { leaked: size > 1000, detail: `recorded ${size} bytes` };
}
