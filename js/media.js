// phiseal media: end-to-end encryption of WebRTC audio and video with SFrame
// (RFC 9605), so that media servers (SFUs, TURN) forward frames they cannot
// read.
//
//   const keyring = new MediaKeyring();                 // one worker, one local sender
//   const baseKey = generateBaseKey();
//   await keyring.setSendKey(mySenderId, 0, baseKey);   // what I send
//   await keyring.setKey(theirSenderId, 0, theirKey);   // what I may receive
//   for (const t of pc.getTransceivers()) attachE2EE(t.sender, { keyring });
//   pc.ontrack = (e) => attachE2EE(e.receiver, { keyring });
//
// Base keys are random per sender and travel to each participant wrapped
// with HPKE to the participant's P-384 public key (wrapBaseKey/unwrapBaseKey),
// so the signalling server never sees them.
//
// Frames are transformed in js/media-worker.js via RTCRtpScriptTransform, or
// createEncodedStreams() where that is missing (Chromium before it shipped
// RTCRtpScriptTransform: create the RTCPeerConnection with
// {encodedInsertableStreams: true}). Codec headers that the RTP packetizer
// and depacketizer read stay in clear but authenticated (see ClearPrefix).
//
// What JavaScript cannot guarantee: the page that holds the keys can read the
// media; base keys pass through main-thread memory when distributed; SFrame
// hides content, not sizes or timing of frames.

import { ErrorCode, PhisealError, invalidArgument } from './errors.js';
import { hpkeOpen, hpkeSeal } from './index.js';
import { bytes, options, requireInit, useFullBuild } from './internal.js';

useFullBuild();
export { h264ClearPrefix } from './codecs.js';

/** RFC 9605 §8.1 cipher suite ids. */
export const SframeSuite = Object.freeze({
  AES_128_CTR_HMAC_SHA256_80: 1,
  AES_128_CTR_HMAC_SHA256_64: 2,
  AES_128_CTR_HMAC_SHA256_32: 3,
  AES_128_GCM_SHA256_128: 4,
  AES_256_GCM_SHA512_128: 5,
});

/**
 * Clear prefix policies: bytes left unencrypted (but authenticated as SFrame
 * metadata) at the start of key frames and of other frames.
 * VP8: RFC 6386 §9.1 frame tag (3 bytes) plus, on key frames, the start code
 * and dimensions (7 bytes), which the depacketizer reads. Opus: nothing.
 */
export const ClearPrefix = Object.freeze({
  VP8: Object.freeze({ key: 10, delta: 3 }),
  /** H.264: parameter sets and the first slice's NAL header in clear (see js/codecs.js). */
  H264: Object.freeze({ codec: 'h264', key: 0, delta: 0 }),
  OPUS: Object.freeze({ key: 0, delta: 0 }),
  NONE: Object.freeze({ key: 0, delta: 0 }),
});

/** HPKE info string binding wrapped SFrame base keys to their purpose. */
export const SFRAME_KEY_INFO = 'phiseal-sframe-key-v1';

const te = new TextEncoder();
const MAX_SAFE = Number.MAX_SAFE_INTEGER;

function suiteArg(value) {
  const suite = value ?? SframeSuite.AES_128_GCM_SHA256_128;
  if (!Object.values(SframeSuite).includes(suite)) throw invalidArgument('suite must be one of SframeSuite');
  return suite;
}

function idArg(value, name) {
  if (!Number.isSafeInteger(value) || value < 0 || value > MAX_SAFE) throw invalidArgument(`${name} must be a safe integer >= 0`);
  return value;
}

function prefixArg(value, kind) {
  const p = value ?? (kind === 'video' ? 'vp8' : 'opus');
  if (typeof p === 'string') {
    const policy = ClearPrefix[p.toUpperCase()];
    if (policy === undefined) throw invalidArgument('clearPrefix must be "vp8", "h264", "opus", "none" or {key, delta}');
    return { ...policy };
  }
  if (p !== null && typeof p === 'object') {
    const ok = (n) => Number.isInteger(n) && n >= 0 && n <= 0xffff;
    if (!ok(p.key) || !ok(p.delta)) throw invalidArgument('clearPrefix.key and .delta must be integers from 0 to 65535');
    return { key: p.key, delta: p.delta };
  }
  throw invalidArgument('clearPrefix must be "vp8", "opus", "none" or {key, delta}');
}

/** A fresh random SFrame base key: 32 bytes (64 for AES_256_GCM_SHA512_128). */
export function generateBaseKey(suite) {
  const s = suiteArg(suite);
  return crypto.getRandomValues(new Uint8Array(s === SframeSuite.AES_256_GCM_SHA512_128 ? 64 : 32));
}

/** Which frame-transform API this browser offers. */
export function e2eeSupport() {
  const script = typeof globalThis.RTCRtpScriptTransform === 'function';
  const streams =
    typeof globalThis.RTCRtpSender === 'function' && typeof RTCRtpSender.prototype.createEncodedStreams === 'function';
  return { scriptTransform: script, encodedStreams: streams, supported: script || streams };
}

/**
 * The SFrame keys of one participant, held in a dedicated worker: one send
 * key (the local sender id and epoch) and the receive keys of the others.
 * Dispatches `counters` events ({detail: counters}) and, after tapFrames(),
 * `frame` events ({detail: {kind, frameType, clearPrefix, ciphertext, ...}}).
 */
export class MediaKeyring extends EventTarget {
  #worker;
  #pending = new Map();
  #nextId = 1;
  #suite;
  /** The latest counters posted by the worker (null until the first). */
  counters = null;

  /**
   * @param {{suite?: number, workerUrl?: string | URL, aead?: 'auto'|'wasm'}} [opts]
   *   `aead: 'auto'` (default) runs the AES-GCM of suites 4 and 5 in WebCrypto
   *   (same bytes, far faster in browsers); `'wasm'` keeps it in RustCrypto.
   */
  constructor(opts) {
    super();
    requireInit(); // one rule for the whole package: await init() first
    const o = options(opts, 'options');
    this.#suite = suiteArg(o.suite);
    // The literal `new Worker(new URL('./media-worker.js', import.meta.url))`
    // is the pattern Vite and webpack recognise and bundle as a worker.
    this.#worker =
      o.workerUrl === undefined
        ? new Worker(new URL('./media-worker.js', import.meta.url), { type: 'module', name: 'phiseal-media' })
        : new Worker(o.workerUrl, { type: 'module', name: 'phiseal-media' });
    this.#worker.onmessage = (e) => this.#onMessage(e.data);
    this.#worker.onerror = (e) => {
      const err = new PhisealError(`media worker failed: ${e.message ?? 'error'}`, ErrorCode.PLATFORM);
      for (const { reject } of this.#pending.values()) reject(err);
      this.#pending.clear();
      this.dispatchEvent(new CustomEvent('error', { detail: err }));
    };
    if (o.aead !== undefined && o.aead !== 'auto' && o.aead !== 'wasm') throw invalidArgument('aead must be "auto" or "wasm"');
    this.#request('configure', { suite: this.#suite, aead: o.aead ?? 'auto' }).catch(() => {});
  }

  /** The RFC 9605 cipher suite id. */
  get suite() {
    return this.#suite;
  }

  /** @internal The worker that transforms frames. */
  get worker() {
    return this.#worker;
  }

  #onMessage(m) {
    if (m.type === 'reply') {
      const p = this.#pending.get(m.id);
      if (p === undefined) return;
      this.#pending.delete(m.id);
      if (m.ok) p.resolve(m.result);
      else p.reject(new PhisealError(m.error.message, m.error.code));
    } else if (m.type === 'counters') {
      this.counters = m.counters;
      this.dispatchEvent(new CustomEvent('counters', { detail: m.counters }));
    } else if (m.type === 'tap') {
      this.dispatchEvent(new CustomEvent('frame', { detail: m.frame }));
    }
  }

  #request(op, args = {}) {
    if (this.#worker === null) return Promise.reject(new PhisealError('keyring is closed', ErrorCode.MISUSE));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ op, id, ...args });
    });
  }

  /**
   * Sets the key this participant sends with. A later call with a higher
   * epoch rekeys the same sender; never reuse a (senderId, epoch, baseKey)
   * after a reload. Resolves to the epoch.
   */
  setSendKey(senderId, epoch, baseKey) {
    return this.#request('setSendKey', {
      senderId: idArg(senderId, 'senderId'),
      epoch: idArg(epoch, 'epoch'),
      baseKey: bytes(baseKey, 'baseKey').slice(),
    });
  }

  /** RFC 9605 §5.1 ratchet of the send key; resolves to the new epoch. Ratchet receivers first. */
  ratchetSend() {
    return this.#request('ratchetSend');
  }

  /** Adds (or moves to a newer epoch) the key of a remote sender. */
  setKey(senderId, epoch, baseKey) {
    if (baseKey !== null && typeof baseKey === 'object' && !(baseKey instanceof Uint8Array) && 'baseKey' in baseKey) {
      throw invalidArgument('baseKey must be a Uint8Array: unwrapBaseKey resolves to {senderId, epoch, baseKey}; pass its .baseKey');
    }
    return this.#request('setKey', {
      senderId: idArg(senderId, 'senderId'),
      epoch: idArg(epoch, 'epoch'),
      baseKey: bytes(baseKey, 'baseKey').slice(),
    });
  }

  /** Follows a remote sender's ratchet; resolves to its new epoch. */
  ratchet(senderId) {
    return this.#request('ratchet', { senderId: idArg(senderId, 'senderId') });
  }

  /** Forgets a remote sender (keys zeroized); resolves to whether it was known. */
  removeKey(senderId) {
    return this.#request('removeKey', { senderId: idArg(senderId, 'senderId') });
  }

  /** The current counters, fresh from the worker. */
  getCounters() {
    return this.#request('counters');
  }

  /**
   * Posts the next `count` encrypted frames (of `kind` only, if given) as
   * `frame` events, for a wire view. `plaintext: true` also posts each frame
   * before encryption: for tests only, it copies media out of the worker.
   */
  tapFrames({ count = 4, plaintext = false, kind } = {}) {
    if (!Number.isInteger(count) || count < 0) throw invalidArgument('count must be an integer >= 0');
    if (kind !== undefined && kind !== 'video' && kind !== 'audio') throw invalidArgument('kind must be "video" or "audio"');
    return this.#request('tap', { count, plaintext: plaintext === true, kind });
  }

  /** Stops the worker; every attached transform stops passing frames. */
  close() {
    if (this.#worker === null) return;
    this.#worker.terminate();
    this.#worker = null;
    const err = new PhisealError('keyring is closed', ErrorCode.MISUSE);
    for (const { reject } of this.#pending.values()) reject(err);
    this.#pending.clear();
  }
}

/**
 * Encrypts what an RTCRtpSender sends, or decrypts what an RTCRtpReceiver
 * receives, with SFrame.
 *
 * @param {RTCRtpSender | RTCRtpReceiver} senderOrReceiver
 * @param {{keyring?: MediaKeyring, suite?: number, senderId?: number, epoch?: number, baseKey?: Uint8Array,
 *          kind?: 'video'|'audio', clearPrefix?: 'vp8'|'opus'|'none'|{key: number, delta: number},
 *          api?: 'auto'|'script-transform'|'encoded-streams'}} opts
 *   Either a `keyring`, or key material (`senderId`, `epoch`, `baseKey`) for a
 *   new keyring of its own. `kind` defaults to the track's; `clearPrefix` to
 *   VP8 for video and none for audio.
 * @returns {{keyring: MediaKeyring, api: string, role: 'encrypt'|'decrypt', kind: string, ready: Promise<void>}}
 */
export function attachE2EE(senderOrReceiver, opts) {
  const o = options(opts, 'options');
  let role;
  if (typeof RTCRtpSender === 'function' && senderOrReceiver instanceof RTCRtpSender) role = 'encrypt';
  else if (typeof RTCRtpReceiver === 'function' && senderOrReceiver instanceof RTCRtpReceiver) role = 'decrypt';
  else throw invalidArgument('senderOrReceiver must be an RTCRtpSender or RTCRtpReceiver');
  const kind = o.kind ?? senderOrReceiver.track?.kind;
  if (kind !== 'video' && kind !== 'audio') throw invalidArgument('kind must be "video" or "audio"');
  const clearPrefix = prefixArg(o.clearPrefix, kind);

  const support = e2eeSupport();
  const api = o.api ?? 'auto';
  let use;
  if (api === 'auto') use = support.scriptTransform ? 'script-transform' : 'encoded-streams';
  else if (api === 'script-transform' || api === 'encoded-streams') use = api;
  else throw invalidArgument('api must be "auto", "script-transform" or "encoded-streams"');
  if ((use === 'script-transform' && !support.scriptTransform) || (use === 'encoded-streams' && !support.encodedStreams)) {
    throw new PhisealError(`this browser has no ${use} API for WebRTC frames`, ErrorCode.UNSUPPORTED);
  }

  let keyring = o.keyring;
  let ready = Promise.resolve();
  if (keyring === undefined) {
    keyring = new MediaKeyring({ suite: o.suite });
    if (o.baseKey !== undefined) {
      const id = o.senderId ?? 0;
      const epoch = o.epoch ?? 0;
      ready = role === 'encrypt' ? keyring.setSendKey(id, epoch, o.baseKey) : keyring.setKey(id, epoch, o.baseKey);
      ready = ready.then(() => undefined);
    }
  } else if (!(keyring instanceof MediaKeyring)) {
    throw invalidArgument('keyring must be a MediaKeyring');
  }

  const transformOptions = { role, kind, clearPrefix };
  if (use === 'script-transform') {
    senderOrReceiver.transform = new RTCRtpScriptTransform(keyring.worker, transformOptions);
  } else {
    let streams;
    try {
      streams = senderOrReceiver.createEncodedStreams();
    } catch (e) {
      throw new PhisealError(
        `createEncodedStreams failed (create the RTCPeerConnection with {encodedInsertableStreams: true}): ${e.message}`,
        ErrorCode.UNSUPPORTED,
      );
    }
    const { readable, writable } = streams;
    keyring.worker.postMessage({ op: 'streams', readable, writable, options: transformOptions }, [readable, writable]);
  }
  return { keyring, api: use, role, kind, clearPrefix, ready };
}

/** HPKE aad of a wrapped base key: suite (2 bytes) || senderId (8) || epoch (8), big-endian. */
function wrapAad(suite, senderId, epoch) {
  const aad = new Uint8Array(18);
  const v = new DataView(aad.buffer);
  v.setUint16(0, suite);
  v.setBigUint64(2, BigInt(senderId));
  v.setBigUint64(10, BigInt(epoch));
  return aad;
}

const b64url = (u8) => btoa(String.fromCharCode(...u8)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

function unb64url(value, name) {
  if (typeof value !== 'string' || !/^[A-Za-z0-9_-]*$/.test(value) || value.length % 4 === 1) {
    throw new PhisealError(`wrapped.${name} must be a base64url string (as wrapBaseKey writes it)`, ErrorCode.MALFORMED_INPUT);
  }
  const bin = atob(value.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(value.length / 4) * 4, '='));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

/**
 * Wraps a sender's base key to each participant's P-384 public key with HPKE
 * (info "phiseal-sframe-key-v1"; suite, sender id and epoch authenticated as
 * aad), so a signalling server can deliver keys it cannot read. The result
 * is plain JSON (enc and ciphertext in base64url): send it as it is.
 * @param {Uint8Array} baseKey
 * @param {PublicKey[]} recipients
 * @param {{senderId: number, epoch?: number, suite?: number}} meta
 * @returns {Promise<Array<{v: 1, recipient: string, suite: number, senderId: number, epoch: number, enc: string, ciphertext: string}>>}
 */
export async function wrapBaseKey(baseKey, recipients, meta) {
  const key = bytes(baseKey, 'baseKey');
  if (!Array.isArray(recipients)) throw invalidArgument('recipients must be an array of PublicKey');
  const m = options(meta, 'meta');
  const suite = suiteArg(m.suite);
  const senderId = idArg(m.senderId, 'senderId');
  const epoch = idArg(m.epoch ?? 0, 'epoch');
  const aad = wrapAad(suite, senderId, epoch);
  const info = te.encode(SFRAME_KEY_INFO);
  return Promise.all(
    recipients.map(async (pk) => {
      const { enc, ciphertext } = await hpkeSeal(pk, key, { info, aad });
      return { v: 1, recipient: pk.kid, suite, senderId, epoch, enc: b64url(enc), ciphertext: b64url(ciphertext) };
    }),
  );
}

/**
 * Opens a key wrapped by wrapBaseKey with the participant's private key:
 * one wrapped entry, or the whole array wrapBaseKey returned (the entry for
 * this key is picked by its `recipient` kid). Resolves to
 * `{senderId, epoch, suite, baseKey}`, ready for
 * `keyring.setKey(senderId, epoch, baseKey)`.
 * @throws {PhisealError} DECRYPT_FAILED if it was not wrapped to this key, or
 *   its suite, sender id or epoch were altered; NOT_RECIPIENT if an array has
 *   no entry for this key.
 */
export async function unwrapBaseKey(privateKey, wrapped) {
  let one = wrapped;
  if (Array.isArray(wrapped)) {
    const kid = privateKey?.kid;
    one = wrapped.find((w) => w?.recipient === kid);
    if (one === undefined) throw new PhisealError('none of the wrapped keys is for this private key', ErrorCode.NOT_RECIPIENT);
  }
  const w = options(one, 'wrapped');
  if (w.v !== 1) throw new PhisealError('unsupported wrapped SFrame key version', ErrorCode.UNSUPPORTED);
  const suite = suiteArg(w.suite);
  const senderId = idArg(w.senderId, 'senderId');
  const epoch = idArg(w.epoch, 'epoch');
  const baseKey = await hpkeOpen(privateKey, unb64url(w.enc, 'enc'), unb64url(w.ciphertext, 'ciphertext'), {
    info: te.encode(SFRAME_KEY_INFO),
    aad: wrapAad(suite, senderId, epoch),
  });
  return { senderId, epoch, suite, baseKey };
}

// ---------------------------------------------------------------- hardened connection setup

const DTLS_STORE = 'phiseal-dtls';
const DAY_MS = 86_400_000;

function idb(name) {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(name, 1);
    req.onupgradeneeded = () => req.result.createObjectStore('certs');
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/**
 * This device's DTLS certificate: ECDSA P-384 where the browser can make one
 * (Chromium 156 accepts only P-256 for `generateCertificate` and refuses
 * P-384 with NotSupportedError; phiseal then uses P-256 and says so in
 * `namedCurve`), kept in IndexedDB and replaced `rotateBeforeDays` (default
 * 7) before it expires (lifetime `lifetimeDays`, default 30). Without
 * IndexedDB a fresh certificate is made per call.
 * @returns {Promise<{certificate: RTCCertificate, namedCurve: 'P-384'|'P-256'}>}
 */
export async function deviceCertificate(opts) {
  const o = options(opts, 'options');
  const lifetime = (o.lifetimeDays ?? 30) * DAY_MS;
  const margin = (o.rotateBeforeDays ?? 7) * DAY_MS;
  const now = o.now ?? Date.now();
  const generate = async () => {
    try {
      const certificate = await RTCPeerConnection.generateCertificate({ name: 'ECDSA', namedCurve: 'P-384', expires: lifetime });
      return { certificate, namedCurve: 'P-384' };
    } catch (e) {
      if (e?.name !== 'NotSupportedError') throw e;
      const certificate = await RTCPeerConnection.generateCertificate({ name: 'ECDSA', namedCurve: 'P-256', expires: lifetime });
      return { certificate, namedCurve: 'P-256' };
    }
  };
  if (typeof indexedDB === 'undefined') return generate();
  const db = await idb(o.store ?? DTLS_STORE);
  try {
    const existing = await new Promise((resolve, reject) => {
      const r = db.transaction('certs').objectStore('certs').get('device');
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
    if (existing && existing.certificate.expires - now > margin) return existing;
    const cert = await generate();
    await new Promise((resolve, reject) => {
      const tx = db.transaction('certs', 'readwrite');
      tx.objectStore('certs').put(cert, 'device');
      tx.oncomplete = resolve;
      tx.onerror = () => reject(tx.error);
    });
    return cert;
  } finally {
    db.close();
  }
}

/**
 * The RTCPeerConnection configuration of a telehealth call: the device's
 * P-384 DTLS certificate, `bundlePolicy: 'max-bundle'`, `rtcpMuxPolicy:
 * 'require'`, and relay-only ICE when `relayOnly` (hides participants' IP
 * addresses from each other; needs a TURN server in `iceServers`).
 */
export async function secureConnectionConfig(opts) {
  const o = options(opts, 'options');
  if (o.relayOnly && !(Array.isArray(o.iceServers) && o.iceServers.length > 0)) {
    throw invalidArgument('relayOnly needs a TURN server in iceServers');
  }
  return {
    iceServers: o.iceServers ?? [],
    iceTransportPolicy: o.relayOnly ? 'relay' : 'all',
    bundlePolicy: 'max-bundle',
    rtcpMuxPolicy: 'require',
    certificates: [(await deviceCertificate(o)).certificate],
  };
}

/**
 * An RTCPeerConnection that never sends media without E2EE: it throws
 * `UNSUPPORTED` up front where no frame-transform API exists, attaches
 * SFrame to every track added with `addTrack` before it is returned, and to
 * every receiver as tracks arrive.
 * @param {{keyring: MediaKeyring, iceServers?: RTCIceServer[], relayOnly?: boolean, api?: string}} opts
 */
export async function createSecurePeerConnection(opts) {
  const o = options(opts, 'options');
  if (!(o.keyring instanceof MediaKeyring)) throw invalidArgument('keyring must be a MediaKeyring');
  const support = e2eeSupport();
  if (!support.supported) {
    throw new PhisealError('E2EE cannot be attached in this browser: refusing to send media unencrypted', ErrorCode.UNSUPPORTED);
  }
  const config = await secureConnectionConfig(o);
  const api = o.api ?? (support.scriptTransform ? 'script-transform' : 'encoded-streams');
  if (api === 'encoded-streams') config.encodedInsertableStreams = true;
  const pc = new RTCPeerConnection(config);
  // Both ends of every transceiver get their transform as soon as the
  // transceiver exists: made by addTrack, right there; made by a remote
  // offer, in its 'track' event, before any local track is added to it.
  // (Chromium 156 ignores a transform set later: a receiver's set in 'track'
  // on a transceiver made by addTrack, or a sender's set in addTrack on a
  // transceiver made by the remote offer. Both two-way orders are tested.)
  const attached = new WeakSet();
  const attach = (senderOrReceiver, kind) => {
    if (attached.has(senderOrReceiver)) return;
    attachE2EE(senderOrReceiver, { keyring: o.keyring, kind, api });
    attached.add(senderOrReceiver);
  };
  const attachTransceiver = (t, kind) => {
    attach(t.sender, kind);
    attach(t.receiver, kind);
  };
  const addTrack = pc.addTrack.bind(pc);
  pc.addTrack = (track, ...streams) => {
    const sender = addTrack(track, ...streams);
    try {
      const transceiver = pc.getTransceivers().find((t) => t.sender === sender);
      if (transceiver) attachTransceiver(transceiver, track.kind);
      else attach(sender, track.kind);
    } catch (e) {
      pc.removeTrack(sender);
      throw e;
    }
    return sender;
  };
  pc.addTransceiver = () => {
    throw new PhisealError('use addTrack on a secure peer connection (every sender gets E2EE)', ErrorCode.MISUSE);
  };
  pc.addEventListener('track', (e) => attachTransceiver(e.transceiver, e.track.kind));
  // A remote offer can also create transceivers without a 'track' event (a
  // recvonly or inactive m-line): attach those as soon as the description is
  // applied, before any local track can be added to them.
  const attachAll = () => {
    for (const t of pc.getTransceivers()) {
      const kind = t.receiver.track?.kind;
      if (kind === 'video' || kind === 'audio') attachTransceiver(t, kind);
    }
  };
  for (const method of ['setRemoteDescription', 'setLocalDescription']) {
    const original = pc[method].bind(pc);
    pc[method] = async (...args) => {
      const result = await original(...args);
      attachAll();
      return result;
    };
  }
  return pc;
}
