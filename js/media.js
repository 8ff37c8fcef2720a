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
// with HPKE auth mode from the sender's identity key to the participant's
// P-384 public key (wrapBaseKey/unwrapBaseKey), so the signalling server
// never sees them and cannot make one of its own. SecureCall pins each
// participant's identity, installs keys only from it, and gives the safety
// code the participants compare.
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
import { PublicKey, hpkeOpen, hpkeSeal } from './index.js';
import { trustArg } from './trust.js';
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

/** HPKE info string binding wrapped SFrame base keys (version 2, auth mode) to their purpose. */
export const SFRAME_KEY_INFO = 'phiseal-sframe-key-v2';

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

const MAX_CALL_ID = 256;

function callArg(value) {
  if (typeof value !== 'string' || value.length === 0) throw invalidArgument('call must be a non-empty string: the call id both sides agreed on');
  const b = te.encode(value);
  if (b.length > MAX_CALL_ID) throw invalidArgument(`call id longer than ${MAX_CALL_ID} bytes of UTF-8`);
  return b;
}

function publicKeyArg(value, name) {
  if (!(value instanceof PublicKey)) throw invalidArgument(`${name} must be a PublicKey (importPublicKey)`);
  return value;
}

/**
 * HPKE aad of a version 2 wrapped base key (docs/FORMAT.md §7.2):
 * suite (2 bytes) || senderId (8) || epoch (8) || len(call) (2) || call, big-endian.
 */
function wrapAad(suite, senderId, epoch, call) {
  const aad = new Uint8Array(20 + call.length);
  const v = new DataView(aad.buffer);
  v.setUint16(0, suite);
  v.setBigUint64(2, BigInt(senderId));
  v.setBigUint64(10, BigInt(epoch));
  v.setUint16(18, call.length);
  aad.set(call, 20);
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
 * Wraps a sender's base key to each participant's P-384 public key with
 * HPKE in auth mode (RFC 9180 §5.1.3): the wrap is made with the sender's
 * own identity key `senderKey`, so only the holder of that key can make a
 * wrap that opens with `{sender: itsPublicKey}`. The suite, sender id,
 * epoch and call id are authenticated (aad); the sender's and the
 * recipient's keys are bound by the KEM. The result is plain JSON (enc and
 * ciphertext in base64url): send it as it is.
 * @param {Uint8Array} baseKey
 * @param {PublicKey[]} recipients
 * @param {{senderKey: PrivateKey, call: string, senderId: number, epoch?: number, suite?: number}} meta
 * @returns {Promise<Array<{v: 2, call: string, sender: string, recipient: string, suite: number, senderId: number, epoch: number, enc: string, ciphertext: string}>>}
 */
export async function wrapBaseKey(baseKey, recipients, meta) {
  const key = bytes(baseKey, 'baseKey');
  if (!Array.isArray(recipients)) throw invalidArgument('recipients must be an array of PublicKey');
  const m = options(meta, 'meta');
  const suite = suiteArg(m.suite);
  const senderId = idArg(m.senderId, 'senderId');
  const epoch = idArg(m.epoch ?? 0, 'epoch');
  if (m.senderKey === undefined) {
    throw invalidArgument('meta.senderKey is required: your identity PrivateKey, which authenticates the wrap (HPKE auth mode)');
  }
  const call = m.call;
  const aad = wrapAad(suite, senderId, epoch, callArg(call));
  const info = te.encode(SFRAME_KEY_INFO);
  recipients.forEach((pk, i) => publicKeyArg(pk, `recipients[${i}]`));
  const sender = m.senderKey.kid;
  return Promise.all(
    recipients.map(async (pk) => {
      const { enc, ciphertext } = await hpkeSeal(pk, key, { info, aad, senderKey: m.senderKey });
      return { v: 2, call, sender, recipient: pk.kid, suite, senderId, epoch, enc: b64url(enc), ciphertext: b64url(ciphertext) };
    }),
  );
}

/**
 * Opens a key wrapped by wrapBaseKey with the participant's private key, if
 * and only if it was wrapped by `sender` (the identity you verified) for
 * `call`: one wrapped entry, or the whole array wrapBaseKey returned (the
 * entry for this key is picked by its `recipient` kid). Resolves to
 * `{senderId, epoch, suite, baseKey}`, ready for
 * `keyring.setKey(senderId, epoch, baseKey)`.
 * @param {PrivateKey} privateKey
 * @param {object | object[]} wrapped
 * @param {{sender: PublicKey, call: string}} expected
 * @throws {PhisealError} UNTRUSTED_AUTHOR if it names another sender;
 *   CONTEXT_MISMATCH for another call; NOT_RECIPIENT if it is not for this
 *   key; UNSUPPORTED for a version 1 wrap (unauthenticated: anyone holding
 *   your public key could make one); DECRYPT_FAILED if it was not made with
 *   the sender's key, or any field was altered.
 */
export async function unwrapBaseKey(privateKey, wrapped, expected) {
  const e = options(expected, 'expected');
  if (e.sender === undefined) {
    throw invalidArgument('unwrapBaseKey needs {sender, call}: the public key of the participant you verified, and the call id');
  }
  const sender = publicKeyArg(e.sender, 'expected.sender');
  const call = callArg(e.call);
  const kid = privateKey?.kid;
  let one = wrapped;
  if (Array.isArray(wrapped)) {
    one = wrapped.find((w) => w?.recipient === kid);
    if (one === undefined) throw new PhisealError('none of the wrapped keys is for this private key', ErrorCode.NOT_RECIPIENT);
  }
  const w = options(one, 'wrapped');
  if (w.v === 1) {
    throw new PhisealError(
      'version 1 wrapped SFrame keys are not authenticated (anyone holding your public key can make one): refused; the sender must use wrapBaseKey with senderKey',
      ErrorCode.UNSUPPORTED,
    );
  }
  if (w.v !== 2) throw new PhisealError('unsupported wrapped SFrame key version', ErrorCode.UNSUPPORTED);
  if (w.call !== e.call) throw new PhisealError('this key was wrapped for another call', ErrorCode.CONTEXT_MISMATCH);
  if (w.sender !== sender.kid) {
    throw new PhisealError(`this key was wrapped by ${String(w.sender)}, not by the expected sender ${sender.kid}`, ErrorCode.UNTRUSTED_AUTHOR);
  }
  if (w.recipient !== kid) throw new PhisealError('this wrapped key is for another private key', ErrorCode.NOT_RECIPIENT);
  const suite = suiteArg(w.suite);
  const senderId = idArg(w.senderId, 'senderId');
  const epoch = idArg(w.epoch, 'epoch');
  const baseKey = await hpkeOpen(privateKey, unb64url(w.enc, 'enc'), unb64url(w.ciphertext, 'ciphertext'), {
    info: te.encode(SFRAME_KEY_INFO),
    aad: wrapAad(suite, senderId, epoch, call),
    senderPublicKey: sender,
  });
  return { senderId, epoch, suite, baseKey };
}

// ---------------------------------------------------------------- safety code

/** Domain label of the call fingerprint (docs/FORMAT.md §7.3). */
const SAFETY_LABEL = 'phiseal-call-safety-v1';
/** Digits of the safety code: 8 groups of 5 (about 132.9 bits). */
export const SAFETY_CODE_DIGITS = 40;

function compareBytes(a, b) {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/**
 * The call's safety code: what every participant compares (read aloud, or
 * by machine as `fingerprint`) to detect a server that swapped an identity
 * key. It commits to the call id, every participant's identity public key
 * and its sender id, in an order-independent way, so all participants of a
 * call that nobody tampered with see the same code, and a server in the
 * middle (each side seeing one of its keys) must find two key sets whose
 * codes collide: about 2^66 key generations for 40 digits.
 * @param {string} call
 * @param {{publicKey: PublicKey, senderId: number}[]} participants at least two
 * @returns {Promise<{code: string, fingerprint: string}>} code: 8 groups of 5 digits; fingerprint: SHA-384, hex
 */
export async function callSafetyCode(call, participants) {
  const callBytes = callArg(call);
  if (!Array.isArray(participants) || participants.length < 2 || participants.length > 0xffff) {
    throw invalidArgument('participants must be an array of at least two {publicKey, senderId}');
  }
  const rows = participants.map((p, i) => {
    const o = options(p, `participants[${i}]`);
    const point = publicKeyArg(o.publicKey, `participants[${i}].publicKey`).toSec1(false);
    const row = new Uint8Array(point.length + 8);
    row.set(point);
    new DataView(row.buffer).setBigUint64(point.length, BigInt(idArg(o.senderId, `participants[${i}].senderId`)));
    return { row, point, senderId: o.senderId };
  });
  rows.sort((a, b) => compareBytes(a.row, b.row));
  for (let i = 1; i < rows.length; i++) {
    if (compareBytes(rows[i - 1].point, rows[i].point) === 0) throw invalidArgument('a public key appears twice among the participants');
  }
  if (new Set(rows.map((r) => r.senderId)).size !== rows.length) throw invalidArgument('a sender id appears twice among the participants');
  const label = te.encode(SAFETY_LABEL);
  const parts = [label, new Uint8Array([0, callBytes.length >> 8, callBytes.length & 0xff]), callBytes, new Uint8Array([rows.length >> 8, rows.length & 0xff]), ...rows.map((r) => r.row)];
  const input = new Uint8Array(parts.reduce((n, x) => n + x.length, 0));
  let at = 0;
  for (const x of parts) {
    input.set(x, at);
    at += x.length;
  }
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-384', input));
  const groups = [];
  for (let i = 0; i < SAFETY_CODE_DIGITS / 5; i++) {
    let n = 0n;
    for (let j = 0; j < 5; j++) n = (n << 8n) | BigInt(digest[5 * i + j]);
    groups.push(String(n % 100000n).padStart(5, '0'));
  }
  return { code: groups.join(' '), fingerprint: [...digest].map((x) => x.toString(16).padStart(2, '0')).join('') };
}

// ---------------------------------------------------------------- a call's keys

/**
 * The SFrame keys of one participant in one call, driven by identities: the
 * other participants are pinned by their identity public key and sender id
 * when admitted (at most `maxParticipants` of them); a key is installed only
 * from a wrap their identity key made for this call; a pinned participant's
 * key never changes (an attempt is an `identitychange` event and an
 * UNTRUSTED_AUTHOR error, never applied); removing a participant starts a
 * new epoch with a fresh base key wrapped only to those who remain.
 *
 * With `requireVerified`, nothing flows before the people compared the
 * safety code: `admit` pins without wrapping, `acceptKey` checks a wrap but
 * holds it, and `verify(senderId)` installs the held key and returns the
 * wraps to send. Key changes (rekey, remove) are applied one at a time.
 *
 * With `trust`, participants are admitted by certificate (purpose "media"):
 * a key the server made, or one certified by another root, expired or
 * revoked, is refused before anything is wrapped to it.
 *
 * Events: `identitychange` ({detail: {senderId, pinned, offered}}: kids),
 * `refused` ({detail: {senderId, code, message}}: a key wrap that was not applied).
 */
export class SecureCall extends EventTarget {
  #call;
  #identity;
  #senderId;
  #keyring;
  #suite;
  #max;
  #requireVerified;
  #trust;
  #epoch = -1;
  #baseKey = null;
  #peers = new Map(); // senderId -> {publicKey, verified, held: wrapped | null}
  #turn = Promise.resolve();

  /**
   * @param {{call: string, identity: {privateKey: PrivateKey, publicKey: PublicKey}, senderId: number, keyring: MediaKeyring, suite?: number, maxParticipants?: number, requireVerified?: boolean}} opts
   */
  constructor(opts) {
    super();
    const o = options(opts, 'options');
    callArg(o.call);
    this.#call = o.call;
    const id = options(o.identity, 'identity');
    if (id.privateKey?.kid === undefined || id.privateKey.kid !== publicKeyArg(id.publicKey, 'identity.publicKey').kid) {
      throw invalidArgument('identity must be {privateKey, publicKey} of one key pair (generateKeyPair)');
    }
    this.#identity = { privateKey: id.privateKey, publicKey: id.publicKey };
    this.#senderId = idArg(o.senderId, 'senderId');
    const k = o.keyring;
    if (!k || typeof k.setSendKey !== 'function' || typeof k.setKey !== 'function' || typeof k.removeKey !== 'function') {
      throw invalidArgument('keyring must be a MediaKeyring');
    }
    this.#keyring = k;
    this.#suite = suiteArg(o.suite ?? k.suite);
    this.#max = o.maxParticipants ?? Infinity;
    if (this.#max !== Infinity && (!Number.isSafeInteger(this.#max) || this.#max < 1)) {
      throw invalidArgument('maxParticipants must be an integer >= 1 (the others in the call; 1 for a two-party visit)');
    }
    if (o.requireVerified !== undefined && typeof o.requireVerified !== 'boolean') throw invalidArgument('requireVerified must be a boolean');
    this.#requireVerified = o.requireVerified ?? false;
    this.#trust = trustArg(o.trust);
  }

  get call() {
    return this.#call;
  }

  get senderId() {
    return this.#senderId;
  }

  /** The current send epoch (-1 before start). */
  get epoch() {
    return this.#epoch;
  }

  /** The pinned participants. */
  get participants() {
    return [...this.#peers].map(([senderId, p]) => ({ senderId, kid: p.publicKey.kid, verified: p.verified, ...(p.identity ? { identity: p.identity } : {}) }));
  }

  /** Runs key changes one at a time, in call order. */
  #serial(fn) {
    const run = this.#turn.then(fn);
    this.#turn = run.catch(() => {});
    return run;
  }

  /** Starts sending under a fresh base key at epoch 0. */
  start() {
    return this.#serial(async () => {
      if (this.#epoch >= 0) throw new PhisealError('the call has already started', ErrorCode.MISUSE);
      await this.#newSendKey(0);
    });
  }

  /** Recipients of the send key: every pinned peer (only verified ones with requireVerified). */
  #recipients() {
    return [...this.#peers.values()].filter((p) => p.verified || !this.#requireVerified).map((p) => p.publicKey);
  }

  async #newSendKey(epoch) {
    const baseKey = generateBaseKey(this.#suite);
    const to = this.#recipients();
    const wraps = to.length ? await this.#wrap(baseKey, epoch, to) : [];
    await this.#keyring.setSendKey(this.#senderId, epoch, baseKey);
    this.#baseKey?.fill(0);
    this.#baseKey = baseKey;
    this.#epoch = epoch;
    return wraps;
  }

  #wrap(baseKey, epoch, recipients) {
    return wrapBaseKey(baseKey, recipients, {
      senderKey: this.#identity.privateKey,
      call: this.#call,
      senderId: this.#senderId,
      epoch,
      suite: this.#suite,
    });
  }

  #changed(senderId, pinned, offered) {
    this.dispatchEvent(new CustomEvent('identitychange', { detail: { senderId, pinned, offered } }));
    return new PhisealError(
      `participant ${senderId} is pinned to identity ${pinned}; refusing ${offered}: compare the safety code again before trusting a new key`,
      ErrorCode.UNTRUSTED_AUTHOR,
    );
  }

  /**
   * Admits (pins) a participant and resolves to the current send key
   * wrapped to it, to send as it is (none yet with `requireVerified`: see
   * verify). Admitting the same identity again returns a new wrap. Refused
   * with UNTRUSTED_AUTHOR and an `identitychange` event: another key for a
   * pinned sender id, a pinned key under another sender id, this
   * participant's own key or sender id, and a participant beyond
   * `maxParticipants`. Admitting does not start a new epoch: call rekey()
   * if the newcomer must not read frames sent before it joined.
   * @param {{publicKey: PublicKey, senderId: number}} participant
   */
  admit(participant) {
    const p = options(participant, 'participant');
    let bare = null;
    if (this.#trust !== undefined) {
      // With trust, a participant is its certificate for purpose "media": a bare key is not admitted.
      if (p.certificate === undefined) {
        return Promise.reject(new PhisealError('with trust set, admit({certificate, senderId}): a bare public key is not certified', ErrorCode.UNTRUSTED_KEY));
      }
    } else {
      bare = publicKeyArg(p.publicKey, 'participant.publicKey');
    }
    const senderId = idArg(p.senderId, 'participant.senderId');
    const certified = bare === null ? this.#trust.certify(p.certificate, { purpose: 'media' }) : null;
    certified?.catch(() => {}); // rejected through the serialised step below
    return this.#serial(async () => {
      let publicKey = bare;
      let identity = null;
      if (certified !== null) {
        const c = await certified;
        publicKey = c.publicKey;
        identity = { subject: c.subject, name: c.name, role: c.role };
      }
      if (this.#epoch < 0) throw new PhisealError('call start() first', ErrorCode.MISUSE);
      if (senderId === this.#senderId || publicKey.kid === this.#identity.publicKey.kid) {
        throw this.#changed(senderId, senderId === this.#senderId ? 'this participant' : `sender ${senderId}`, publicKey.kid);
      }
      const pinned = this.#peers.get(senderId);
      if (pinned !== undefined && pinned.publicKey.kid !== publicKey.kid) throw this.#changed(senderId, pinned.publicKey.kid, publicKey.kid);
      for (const [id, q] of this.#peers) {
        if (id !== senderId && q.publicKey.kid === publicKey.kid) throw this.#changed(senderId, `sender ${id}`, publicKey.kid);
      }
      if (pinned === undefined) {
        if (this.#peers.size >= this.#max) {
          throw this.#changed(senderId, `the ${this.#peers.size} participant(s) admitted (maxParticipants ${this.#max})`, publicKey.kid);
        }
        this.#peers.set(senderId, { publicKey, verified: false, held: null, identity });
      }
      if (this.#requireVerified && !this.#peers.get(senderId).verified) return [];
      return this.#wrap(this.#baseKey, this.#epoch, [publicKey]);
    });
  }

  /**
   * Marks a participant verified (the people compared the safety code).
   * With `requireVerified`, installs the key it sent meanwhile and resolves
   * to the current send key wrapped to it (send them); otherwise to [].
   */
  verify(senderId) {
    return this.#serial(async () => {
      const p = this.#peers.get(senderId);
      if (p === undefined) throw invalidArgument(`no participant ${senderId}`);
      const first = !p.verified;
      p.verified = true;
      if (!this.#requireVerified || !first) return [];
      if (p.held !== null) {
        const held = p.held;
        p.held = null;
        await this.#install(held, p).catch((e) => this.#refused(senderId, e));
      }
      return this.#wrap(this.#baseKey, this.#epoch, [p.publicKey]);
    });
  }

  #refused(senderId, e) {
    const id = Number.isSafeInteger(senderId) ? senderId : null;
    this.dispatchEvent(new CustomEvent('refused', { detail: { senderId: id, code: e.code ?? ErrorCode.PLATFORM, message: e.message } }));
  }

  async #install(wrapped, peer) {
    const opened = await unwrapBaseKey(this.#identity.privateKey, wrapped, { sender: peer.publicKey, call: this.#call });
    try {
      if (opened.suite !== this.#suite) throw new PhisealError('this key was wrapped for another cipher suite', ErrorCode.CONTEXT_MISMATCH);
      if (peer.verified || !this.#requireVerified) {
        await this.#keyring.setKey(opened.senderId, opened.epoch, opened.baseKey);
        return { senderId: opened.senderId, epoch: opened.epoch, held: false };
      }
      peer.held = wrapped; // authentic; installed by verify()
      return { senderId: opened.senderId, epoch: opened.epoch, held: true };
    } finally {
      opened.baseKey.fill(0);
    }
  }

  /**
   * Installs a participant's key from its wrap, if the pinned identity of
   * the sender id it names made it for this call and suite; otherwise
   * rejects (UNTRUSTED_AUTHOR for an unknown or other sender,
   * CONTEXT_MISMATCH, DECRYPT_FAILED, UNSUPPORTED for a v1 wrap, or the
   * keyring's refusal of an old epoch or a reused key) and dispatches
   * `refused`. With `requireVerified`, an authentic wrap from a participant
   * not yet verified is held (`held: true`) and installed by verify().
   * Resolves to `{senderId, epoch, held}`.
   */
  acceptKey(wrapped) {
    return this.#serial(async () => {
      let senderId = null;
      try {
        const list = Array.isArray(wrapped) ? wrapped : [wrapped];
        const mine = list.find((w) => w?.recipient === this.#identity.privateKey.kid) ?? list[0];
        senderId = mine?.senderId ?? null;
        const peer = this.#peers.get(senderId);
        if (peer === undefined) throw new PhisealError(`a key from sender id ${String(senderId)}, who was not admitted to this call`, ErrorCode.UNTRUSTED_AUTHOR);
        // Version and call first (as unwrapBaseKey checks them), then whose key made it.
        if (mine.v === 2 && mine.call === this.#call && typeof mine.sender === 'string' && mine.sender !== peer.publicKey.kid) {
          throw this.#changed(senderId, peer.publicKey.kid, mine.sender);
        }
        return await this.#install(mine, peer);
      } catch (e) {
        this.#refused(senderId, e);
        throw e;
      }
    });
  }

  /**
   * Removes a participant: its receive key is dropped, and this sender moves
   * to a new epoch with a fresh base key, wrapped only to those who remain.
   * Resolves to those wraps (send them).
   */
  remove(senderId) {
    return this.#serial(async () => {
      if (!this.#peers.delete(senderId)) throw invalidArgument(`no participant ${senderId}`);
      await this.#keyring.removeKey(senderId);
      return this.#newSendKey(this.#epoch + 1);
    });
  }

  /** A fresh base key at the next epoch, wrapped to every participant (verified ones with requireVerified); resolves to the wraps. */
  rekey() {
    return this.#serial(async () => {
      if (this.#epoch < 0) throw new PhisealError('call start() first', ErrorCode.MISUSE);
      return this.#newSendKey(this.#epoch + 1);
    });
  }

  /** The safety code over this participant and every pinned one (see callSafetyCode); recompute it whenever the participants change. */
  safetyCode() {
    const all = [{ publicKey: this.#identity.publicKey, senderId: this.#senderId }];
    for (const [senderId, p] of this.#peers) all.push({ publicKey: p.publicKey, senderId });
    return callSafetyCode(this.#call, all);
  }

  /** Zeroizes the send key this object holds (the keyring keeps its own copy until closed). */
  close() {
    this.#baseKey?.fill(0);
    this.#baseKey = null;
  }
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
