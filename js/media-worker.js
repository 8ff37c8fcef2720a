// phiseal media worker: SFrame (RFC 9605) end-to-end encryption of encoded
// WebRTC frames. Started by js/media.js (one worker per MediaKeyring); not
// imported by applications directly.
//
// Frames arrive through RTCRtpScriptTransform (the `rtctransform` event) or,
// on browsers without it, through the streams of createEncodedStreams()
// posted in an {op: 'streams'} message. Every cryptographic step is the wasm
// SframeSender / SframeReceiver: this file only moves bytes.
//
// * Sending: one SframeSender for the local participant, shared by all its
//   tracks, so audio and video never reuse a (KID, counter) nonce. Without a
//   send key, frames are dropped: plaintext never leaves.
// * Receiving: one SframeReceiver (keys by sender id and epoch, replay
//   window); a frame that fails is dropped and counted by reason.
// * Counters are posted to the main thread ({type: 'counters'}) at most
//   every 250 ms while they change.

import initWasm, * as wasm from '../pkg/phiseal.js';
import { clearPrefixLength } from './codecs.js';
import { ErrorCode, PhisealError } from './errors.js';

const ready = initWasm().then(() => wasm.setErrorClass(PhisealError));

/** The longest SFrame header (1 + 8 + 8 bytes) plus an AES-GCM tag: all that SframeReceiver.begin reads after the clear prefix. */
const BEGIN_PEEK = 17 + 16;

let suite = 4;
let aead = 'auto'; // 'auto': WebCrypto AES-GCM for suites 4 and 5 where crypto.subtle exists; 'wasm': RustCrypto
let sender = null;
let receiver = null;
let tap = null; // {count, plaintext, kind}
const receiveTransformers = new Set();
const sendTransformers = new Set();
const counts = {
  encrypted: 0,
  droppedNoSendKey: 0,
  encryptErrors: 0,
  droppedEmpty: 0,
  video: { encrypted: 0, decrypted: 0, failed: 0 },
  audio: { encrypted: 0, decrypted: 0, failed: 0 },
};
let lastPosted = '';

function snapshot() {
  const failed = receiver ? receiver.counters : { decrypted: 0, unknownKey: 0, replay: 0, auth: 0, malformed: 0 };
  const { decrypted, ...reasons } = failed;
  return {
    suite,
    aead: webCrypto() ? 'webcrypto' : 'wasm',
    sendEpoch: sender ? sender.epoch : null,
    sendKid: sender ? sender.kid : null,
    encrypted: counts.encrypted,
    decrypted,
    failed: { ...reasons, total: reasons.unknownKey + reasons.replay + reasons.auth + reasons.malformed },
    dropped: { noSendKey: counts.droppedNoSendKey, encryptError: counts.encryptErrors, emptyReceived: counts.droppedEmpty },
    video: { ...counts.video },
    audio: { ...counts.audio },
  };
}

function postCounters(force = false) {
  const c = snapshot();
  const s = JSON.stringify(c);
  if (force || s !== lastPosted) {
    lastPosted = s;
    self.postMessage({ type: 'counters', counters: c });
  }
}
setInterval(postCounters, 250);

const kindCounts = (kind) => (kind === 'video' ? counts.video : counts.audio);

/** Clear prefix length of one frame under the track's policy. */
function prefixFor(opts, frame, data) {
  return clearPrefixLength(opts.clearPrefix, opts.kind, frame.type, data);
}

function setData(frame, bytes) {
  frame.data = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes.buffer : bytes.slice().buffer;
}

// ---- WebCrypto AES-GCM for suites 4 and 5: header, nonce, AAD, counters and
// the replay window stay in wasm (prepare / begin / complete); only the bulk
// AES-GCM runs in WebCrypto, producing the same bytes as the wasm path.
const subtle = globalThis.crypto?.subtle;
let sendKey = null; // Promise<CryptoKey> of the current send key
let recvKeys = new Map(); // kid -> Promise<CryptoKey>; replaced whenever keys change

function webCrypto() {
  return aead === 'auto' && subtle !== undefined && (suite === 4 || suite === 5);
}

async function importAes(raw) {
  try {
    return await subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt', 'decrypt']);
  } finally {
    raw.fill(0);
  }
}

function keysChanged() {
  sendKey = null;
  recvKeys = new Map();
}

async function encryptFrameWebCrypto(opts, frame, controller) {
  if (sender === null) {
    counts.droppedNoSendKey++;
    return;
  }
  const plain = new Uint8Array(frame.data);
  const n = Math.min(prefixFor(opts, frame, plain), plain.length);
  let out;
  try {
    // prepare and the key are taken together, before any await, so a key
    // change between frames cannot pair one frame's header with another key.
    const p = sender.prepare(plain.subarray(0, n));
    const key = (sendKey ??= importAes(sender.aeadKey()));
    const ct = new Uint8Array(await subtle.encrypt({ name: 'AES-GCM', iv: p.nonce, additionalData: p.aad }, await key, plain.subarray(n)));
    out = new Uint8Array(n + p.header.length + ct.length);
    out.set(plain.subarray(0, n));
    out.set(p.header, n);
    out.set(ct, n + p.header.length);
  } catch {
    counts.encryptErrors++;
    return;
  }
  sent(opts, frame, plain, n, out, controller);
}

async function decryptFrameWebCrypto(opts, frame, controller) {
  if (!receivable(opts, frame)) return;
  const data = new Uint8Array(frame.data);
  const n = prefixFor(opts, frame, data);
  // begin() reads the clear prefix, the header and a tag's worth of bytes;
  // the rest of a large frame need not be copied into wasm.
  const b = receiver.begin(data.subarray(0, n + BEGIN_PEEK), n);
  if (b === undefined) {
    kindCounts(opts.kind).failed++;
    return;
  }
  const cache = recvKeys;
  let key = cache.get(b.kid);
  if (key === undefined) {
    key = importAes(receiver.aeadKeyOf(b.id));
    cache.set(b.kid, key);
  }
  let pt;
  try {
    pt = new Uint8Array(await subtle.decrypt({ name: 'AES-GCM', iv: b.nonce, additionalData: b.aad }, await key, data.subarray(b.offset)));
  } catch {
    receiver.fail(b.id);
    kindCounts(opts.kind).failed++;
    return;
  }
  if (!receiver.complete(b.id)) {
    kindCounts(opts.kind).failed++;
    return;
  }
  const clear = Math.min(n, data.length);
  let out = pt;
  if (clear > 0) {
    out = new Uint8Array(clear + pt.length);
    out.set(data.subarray(0, clear));
    out.set(pt, clear);
  }
  kindCounts(opts.kind).decrypted++;
  setData(frame, out);
  controller.enqueue(frame);
}

function encryptFrame(opts, frame, controller) {
  if (sender === null) {
    counts.droppedNoSendKey++;
    return;
  }
  const plain = new Uint8Array(frame.data);
  const n = prefixFor(opts, frame, plain);
  let out;
  try {
    out = sender.encrypt(plain, n);
  } catch {
    counts.encryptErrors++;
    return;
  }
  sent(opts, frame, plain, n, out, controller);
}

/** Counts, taps and forwards an encrypted frame. */
function sent(opts, frame, plain, n, out, controller) {
  counts.encrypted++;
  kindCounts(opts.kind).encrypted++;
  if (tap !== null && tap.count > 0 && (tap.kind === null || tap.kind === opts.kind)) {
    tap.count--;
    self.postMessage({
      type: 'tap',
      frame: {
        kind: opts.kind,
        frameType: frame.type ?? null,
        clearPrefix: Math.min(n, plain.length),
        ciphertext: out.slice(),
        plaintext: tap.plaintext ? plain.slice() : undefined,
        kid: sender.kid,
        epoch: sender.epoch,
      },
    });
    if (tap.count === 0) tap = null;
  }
  setData(frame, out);
  controller.enqueue(frame);
}

/** Whether a received frame can be decrypted at all; counts it when not. */
function receivable(opts, frame) {
  if (frame.data.byteLength === 0) {
    // Chromium delivers an empty audio frame at the start of a stream: it
    // carries nothing (no media, nothing SFrame could authenticate).
    counts.droppedEmpty++;
    return false;
  }
  if (receiver === null) {
    kindCounts(opts.kind).failed++;
    return false;
  }
  return true;
}

function decryptFrame(opts, frame, controller) {
  if (!receivable(opts, frame)) return;
  const data = new Uint8Array(frame.data);
  const out = receiver.decrypt(data, prefixFor(opts, frame, data));
  if (out === undefined) {
    kindCounts(opts.kind).failed++;
    return;
  }
  kindCounts(opts.kind).decrypted++;
  setData(frame, out);
  controller.enqueue(frame);
}

async function pipe(readable, writable, opts, transformer) {
  await ready;
  const set = opts.role === 'encrypt' ? sendTransformers : receiveTransformers;
  if (transformer) set.add(transformer);
  const step =
    opts.role === 'encrypt'
      ? (o, f, c) => (webCrypto() ? encryptFrameWebCrypto(o, f, c) : encryptFrame(o, f, c))
      : (o, f, c) => (webCrypto() ? decryptFrameWebCrypto(o, f, c) : decryptFrame(o, f, c));
  try {
    await readable
      .pipeThrough(new TransformStream({ transform: (frame, controller) => step(opts, frame, controller) }))
      .pipeTo(writable);
  } catch {
    // The sender or receiver went away (track stopped, connection closed).
  } finally {
    if (transformer) set.delete(transformer);
  }
}

/** Asks every receiving transform for a key frame (after a key change). */
function requestKeyFrames() {
  for (const t of receiveTransformers) {
    if (typeof t.sendKeyFrameRequest === 'function') t.sendKeyFrameRequest().catch(() => {});
  }
}

const ops = {
  configure(m) {
    suite = m.suite;
    if (m.aead === 'wasm' || m.aead === 'auto') aead = m.aead;
    keysChanged();
    receiver?.free();
    receiver = new wasm.SframeReceiver(suite);
  },
  setSendKey(m) {
    if (sender === null) {
      sender = new wasm.SframeSender(suite, m.senderId, m.epoch, m.baseKey);
    } else {
      // One sender per keyring, and a new key only at a newer epoch: a fresh
      // SframeSender at an old (KID, key) would restart its counter and reuse nonces.
      if (sender.senderId !== m.senderId) {
        throw new PhisealError('a keyring sends as one sender id: use a new MediaKeyring', ErrorCode.MISUSE);
      }
      sender.rekey(m.epoch, m.baseKey);
    }
    keysChanged();
    for (const t of sendTransformers) {
      if (typeof t.generateKeyFrame === 'function') t.generateKeyFrame().catch(() => {});
    }
    return sender.epoch;
  },
  ratchetSend() {
    if (sender === null) throw new PhisealError('no send key: call setSendKey first', ErrorCode.MISUSE);
    keysChanged();
    return sender.ratchet();
  },
  setKey(m) {
    keysChanged();
    receiver.setKey(m.senderId, m.epoch, m.baseKey);
    requestKeyFrames();
  },
  ratchet(m) {
    keysChanged();
    return receiver.ratchet(m.senderId);
  },
  removeKey(m) {
    keysChanged();
    return receiver.removeKey(m.senderId);
  },
  tap(m) {
    tap = m.count > 0 ? { count: m.count, plaintext: m.plaintext === true, kind: m.kind ?? null } : null;
  },
  streams(m) {
    pipe(m.readable, m.writable, m.options, null);
  },
  counters() {
    return snapshot();
  },
  close() {
    sender?.free();
    receiver?.free();
    sender = null;
    receiver = null;
  },
};

let queue = ready;
self.onmessage = (event) => {
  const m = event.data;
  queue = queue.then(async () => {
    try {
      const op = ops[m.op];
      if (op === undefined) throw new PhisealError(`unknown media worker op ${m.op}`, ErrorCode.INVALID_ARGUMENT);
      const result = op(m);
      if (m.id !== undefined) self.postMessage({ type: 'reply', id: m.id, ok: true, result });
      postCounters();
    } catch (e) {
      const error = { message: String(e?.message ?? e), code: e?.code ?? ErrorCode.PLATFORM };
      if (m.id !== undefined) self.postMessage({ type: 'reply', id: m.id, ok: false, error });
    }
  });
};

// RTCRtpScriptTransform (Safari, Firefox, recent Chromium).
self.onrtctransform = (event) => {
  const t = event.transformer;
  pipe(t.readable, t.writable, t.options, t);
};
