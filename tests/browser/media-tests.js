// SFrame media E2EE in headless Chromium (driven by media.mjs): two
// RTCPeerConnections in one page (loopback), fake camera and microphone,
// js/media.js attached on both sides.
import * as phiseal from '../../js/index.js';
import { wasm } from '../../js/internal.js';
import {
  ClearPrefix,
  MediaKeyring,
  SframeSuite,
  attachE2EE,
  createSecurePeerConnection,
  deviceCertificate,
  e2eeSupport,
  generateBaseKey,
  SecureCall,
  unwrapBaseKey,
  wrapBaseKey,
} from '../../js/media.js';

const te = new TextEncoder();
const toHex = (a) => [...a].map((x) => x.toString(16).padStart(2, '0')).join('');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

async function until(fn, ms, what) {
  const end = performance.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (performance.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(100);
  }
}

async function inbound(pc) {
  const out = {};
  (await pc.getStats()).forEach((s) => {
    if (s.type === 'inbound-rtp') out[s.kind] = s;
  });
  return out;
}

/** Luma variance of the remote <video>, drawn to a 160x120 canvas. */
function pictureVariance(video) {
  const canvas = document.getElementById('canvas');
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
  const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
  let sum = 0;
  let sq = 0;
  const n = data.length / 4;
  for (let i = 0; i < data.length; i += 4) {
    const y = 0.299 * data[i] + 0.587 * data[i + 1] + 0.114 * data[i + 2];
    sum += y;
    sq += y * y;
  }
  const mean = sum / n;
  return { mean, variance: sq / n - mean * mean };
}

/**
 * Two peer connections in this page: pc1 sends fake camera + mic (sender id
 * 1, key `sendKey`), pc2 receives with `recvKeys` ([[senderId, epoch, key]]).
 */
async function loopback({ api = 'auto', sendKey, recvKeys, suite, tap = 0, sendAead, recvAead }) {
  const config = api === 'encoded-streams' ? { encodedInsertableStreams: true } : {};
  const pc1 = new RTCPeerConnection(config);
  const pc2 = new RTCPeerConnection(config);
  pc1.onicecandidate = (e) => e.candidate && pc2.addIceCandidate(e.candidate).catch(() => {});
  pc2.onicecandidate = (e) => e.candidate && pc1.addIceCandidate(e.candidate).catch(() => {});
  const sendRing = new MediaKeyring({ suite, aead: sendAead });
  const recvRing = new MediaKeyring({ suite, aead: recvAead });
  const taps = [];
  sendRing.addEventListener('frame', (e) => taps.push(e.detail));
  if (tap > 0) await sendRing.tapFrames({ count: tap, plaintext: true });
  if (sendKey) await sendRing.setSendKey(1, 0, sendKey);
  for (const [id, epoch, key] of recvKeys) await recvRing.setKey(id, epoch, key);

  const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 320, height: 240, frameRate: 30 }, audio: true });
  const attached = [];
  for (const track of stream.getTracks()) {
    const t = pc1.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
    if (track.kind === 'video') {
      const vp8 = RTCRtpReceiver.getCapabilities('video').codecs.filter((c) => c.mimeType === 'video/VP8');
      t.setCodecPreferences(vp8);
    }
    attached.push(attachE2EE(t.sender, { keyring: sendRing, kind: track.kind, api }));
  }
  const remote = new MediaStream();
  pc2.ontrack = (e) => {
    attached.push(attachE2EE(e.receiver, { keyring: recvRing, api }));
    remote.addTrack(e.track);
  };
  await pc1.setLocalDescription(await pc1.createOffer());
  await pc2.setRemoteDescription(pc1.localDescription);
  await pc2.setLocalDescription(await pc2.createAnswer());
  await pc1.setRemoteDescription(pc2.localDescription);
  const video = document.getElementById('remote');
  video.srcObject = remote;
  video.play().catch(() => {});
  await until(() => pc1.connectionState === 'connected', 10_000, 'connection');
  return {
    pc1,
    pc2,
    sendRing,
    recvRing,
    taps,
    video,
    api: attached[0]?.api,
    close() {
      for (const t of stream.getTracks()) t.stop();
      pc1.close();
      pc2.close();
      sendRing.close();
      recvRing.close();
      video.srcObject = null;
    },
  };
}

/** Longest run of `k` bytes of `needle` found anywhere in `hay` (k-gram set). */
function sharesRun(hay, needle, k) {
  if (hay.length < k || needle.length < k) return false;
  const grams = new Set();
  for (let i = 0; i + k <= hay.length; i++) grams.add(toHex(hay.subarray(i, i + k)));
  for (let i = 0; i + k <= needle.length; i++) if (grams.has(toHex(needle.subarray(i, i + k)))) return true;
  return false;
}

async function waitDecoding(s, minFrames, ms) {
  return until(async () => {
    const v = (await inbound(s.pc2)).video;
    return v && v.framesDecoded >= minFrames ? v : null;
  }, ms, `${minFrames} decoded frames`);
}

let session = null; // shared by the matching-key, tap and ratchet tests
const KEY_A = generateBaseKey();

export const tests = {
  async 'bindings: clear prefix stays in clear and is authenticated; replay, tamper, unknown KID counted'() {
    await phiseal.init();
    const key = new Uint8Array(32).fill(7);
    const sender = new wasm.SframeSender(SframeSuite.AES_128_GCM_SHA256_128, 5, 3, key);
    assert(sender.kid === 0x0503, `kid ${sender.kid}`);
    const frame = te.encode('0123456789 this is the encoded frame payload');
    const wire = sender.encrypt(frame, 10);
    assert(toHex(wire.subarray(0, 10)) === toHex(frame.subarray(0, 10)), 'prefix not in clear');
    assert(wire.length === frame.length + 1 + 2 + 16, `length ${wire.length}`); // header: config byte + 2-byte KID, CTR 0 inline
    const rx = new wasm.SframeReceiver(SframeSuite.AES_128_GCM_SHA256_128);
    rx.setKey(5, 3, key);
    assert(toHex(rx.decrypt(wire, 10)) === toHex(frame), 'round trip');
    assert(rx.decrypt(wire, 10) === undefined, 'replay accepted');
    const w2 = sender.encrypt(frame, 10);
    const prefixFlip = w2.slice();
    prefixFlip[0] ^= 1;
    assert(rx.decrypt(prefixFlip, 10) === undefined, 'altered clear prefix accepted');
    const bodyFlip = w2.slice();
    bodyFlip[bodyFlip.length - 1] ^= 1;
    assert(rx.decrypt(bodyFlip, 10) === undefined, 'tampered tag accepted');
    assert(toHex(rx.decrypt(w2, 10)) === toHex(frame), 'genuine frame after forgeries');
    const other = new wasm.SframeSender(SframeSuite.AES_128_GCM_SHA256_128, 6, 0, key);
    assert(rx.decrypt(other.encrypt(frame, 0), 0) === undefined, 'unknown sender accepted');
    const c = rx.counters;
    assert(c.decrypted === 2 && c.replay === 1 && c.auth === 2 && c.unknownKey === 1, JSON.stringify(c));
    assert(sender.encrypted === 2, `encrypted ${sender.encrypted}`);
    assert((await sender.ratchet()) === 4 && rx.ratchet(5) === 4, 'ratchet epochs');
    assert(toHex(rx.decrypt(sender.encrypt(frame, 3), 3)) === toHex(frame), 'after ratchet');
    let threw = false;
    try {
      sender.encrypt('not bytes', 0);
    } catch (e) {
      threw = e instanceof phiseal.PhisealError && e.code === 'INVALID_ARGUMENT';
    }
    assert(threw, 'wrong argument type must throw INVALID_ARGUMENT');
    sender.free();
    other.free();
    rx.free();
    return JSON.stringify(c);
  },

  async 'wrapBaseKey (HPKE auth mode, non-extractable WebCrypto keys): each participant unwraps; another sender, call or altered field fails'() {
    const alice = await phiseal.generateKeyPair();
    const bob = await phiseal.generateKeyPair();
    const eve = await phiseal.generateKeyPair();
    const sender = await phiseal.generateKeyPair();
    assert(sender.privateKey.provider === 'webcrypto' && !sender.privateKey.extractable, 'the sender identity is a non-extractable WebCrypto key');
    const baseKey = generateBaseKey();
    const call = 'visit-7';
    const wrapped = await wrapBaseKey(baseKey, [alice.publicKey, bob.publicKey], { senderKey: sender.privateKey, call, senderId: 7, epoch: 2 });
    assert(wrapped.length === 2 && wrapped[1].recipient === bob.publicKey.kid && wrapped[1].sender === sender.publicKey.kid, 'one entry per recipient');
    const expected = { sender: sender.publicKey, call };
    const opened = await unwrapBaseKey(bob.privateKey, wrapped[1], expected);
    assert(toHex(opened.baseKey) === toHex(baseKey) && opened.senderId === 7 && opened.epoch === 2, 'unwrap');
    // Plain JSON on the wire: a JSON round trip of the whole array opens, each key picks its entry.
    const wire = JSON.parse(JSON.stringify(wrapped));
    const viaJson = await unwrapBaseKey(alice.privateKey, wire, expected);
    assert(toHex(viaJson.baseKey) === toHex(baseKey) && typeof wire[0].enc === 'string', 'JSON-safe wraps, array picked by kid');
    const codeOf = (p) => p.then(() => 'resolved', (e) => e.code);
    assert((await codeOf(unwrapBaseKey(eve.privateKey, wire, expected))) === 'NOT_RECIPIENT', 'array without an entry for the key');
    // The signalling server's own wrap, and a genuine one with fields changed.
    const forged = await wrapBaseKey(generateBaseKey(), [bob.publicKey], { senderKey: eve.privateKey, call, senderId: 7, epoch: 3 });
    for (const [w, want, what] of [
      [forged[0], 'UNTRUSTED_AUTHOR', 'the server\'s own wrap'],
      [{ ...forged[0], sender: sender.publicKey.kid }, 'DECRYPT_FAILED', 'the server\'s wrap naming the sender'],
      [{ ...wrapped[1], senderId: 8 }, 'DECRYPT_FAILED', 'altered sender id'],
      [{ ...wrapped[1], epoch: 3 }, 'DECRYPT_FAILED', 'altered epoch'],
      [{ ...wrapped[1], call: 'visit-8' }, 'CONTEXT_MISMATCH', 'another call'],
      [{ v: 1, recipient: bob.publicKey.kid, suite: 4, senderId: 7, epoch: 3, enc: forged[0].enc, ciphertext: forged[0].ciphertext }, 'UNSUPPORTED', 'a version 1 wrap'],
    ]) {
      const got = await codeOf(unwrapBaseKey(bob.privateKey, w, expected));
      assert(got === want, `${what}: ${got}`);
    }
  },

  async 'SecureCall over MediaKeyring workers: a pinned identity, a refused injected key, a rekey when a participant leaves'() {
    const rings = [new MediaKeyring(), new MediaKeyring()];
    try {
      const ids = [await phiseal.generateKeyPair(), await phiseal.generateKeyPair()];
      const calls = ids.map((identity, i) => new SecureCall({ call: 'visit-9', identity, senderId: i + 1, keyring: rings[i] }));
      for (const c of calls) await c.start();
      const toB = await calls[0].admit({ publicKey: ids[1].publicKey, senderId: 2 });
      const toA = await calls[1].admit({ publicKey: ids[0].publicKey, senderId: 1 });
      await calls[1].acceptKey(toB);
      await calls[0].acceptKey(toA);
      const [a, b] = [await calls[0].safetyCode(), await calls[1].safetyCode()];
      assert(a.code === b.code && /^\d{5}( \d{5}){7}$/.test(a.code), `codes ${a.code} / ${b.code}`);
      const server = await phiseal.generateKeyPair();
      const events = [];
      calls[0].addEventListener('identitychange', (e) => events.push(e.detail));
      const injected = await wrapBaseKey(generateBaseKey(), [ids[0].publicKey], { senderKey: server.privateKey, call: 'visit-9', senderId: 2, epoch: 5 });
      const code = await calls[0].acceptKey(injected).then(() => 'accepted', (e) => e.code);
      assert(code === 'UNTRUSTED_AUTHOR' && events.length === 1 && events[0].offered === server.publicKey.kid, `injected wrap: ${code}`);
      const swapped = await calls[0].admit({ publicKey: server.publicKey, senderId: 2 }).then(() => 'admitted', (e) => e.code);
      assert(swapped === 'UNTRUSTED_AUTHOR' && events.length === 2, `swapped hello: ${swapped}`);
      const wraps = await calls[0].remove(2);
      assert(calls[0].epoch === 1 && wraps.length === 0 && (await rings[0].getCounters()).sendEpoch === 1, 'a new epoch after the participant left');
    } finally {
      for (const r of rings) r.close();
    }
  },

  async 'keyring: a send key is set once per epoch and sender id (no counter restart, no nonce reuse)'() {
    const ring = new MediaKeyring();
    try {
      assert((await ring.setSendKey(3, 0, KEY_A)) === 0, 'first send key');
      const code = (p) => p.then(() => 'resolved', (e) => `${e.name} ${e.code}`);
      assert((await code(ring.setSendKey(3, 0, KEY_A))) === 'PhisealError INVALID_ARGUMENT', 'same epoch accepted again');
      assert((await code(ring.setSendKey(4, 1, KEY_A))) === 'PhisealError MISUSE', 'second sender id accepted');
      assert((await code(ring.setKey(9, 0, new Uint8Array(8)))) === 'PhisealError INVALID_KEY', 'short base key accepted');
      assert((await ring.setSendKey(3, 1, generateBaseKey())) === 1, 'rekey at epoch 1');
      assert((await ring.ratchetSend()) === 2, 'ratchet to epoch 2');
      assert((await ring.getCounters()).sendKid === 0x0302, 'KID 3<<8|2');
      let threw = null;
      try {
        await ring.setKey(-1, 0, KEY_A);
      } catch (e) {
        threw = e.code;
      }
      assert(threw === 'INVALID_ARGUMENT', `negative sender id: ${threw}`);
    } finally {
      ring.close();
    }
  },

  async '(a) matching keys: remote video decodes and is not black; audio decodes'() {
    session = await loopback({ sendKey: KEY_A, recvKeys: [[1, 0, KEY_A]], tap: 40 });
    const v = await waitDecoding(session, 45, 20_000);
    await until(() => session.video.readyState >= 2 && session.video.videoWidth > 0, 10_000, 'remote video playing');
    const pic = pictureVariance(session.video);
    assert(pic.variance > 100, `remote picture looks blank: ${JSON.stringify(pic)}`);
    const a = (await inbound(session.pc2)).audio;
    const c = await session.recvRing.getCounters();
    assert(a && a.packetsReceived > 20, `audio packets ${a?.packetsReceived}`);
    assert(c.audio.decrypted > 20 && c.video.decrypted > 20, `decrypted ${JSON.stringify(c)}`);
    const concealed = a.concealedSamples / Math.max(1, a.totalSamplesReceived);
    assert(concealed < 0.5, `audio mostly concealed (${concealed.toFixed(2)}): not decoded`);
    assert(c.failed.total === 0, `failures with matching keys: ${JSON.stringify(c.failed)}`);
    assert(c.aead === 'webcrypto', `AES-GCM suites should run in WebCrypto here, got ${c.aead}`);
    return `api ${session.api}; aead ${c.aead}; framesDecoded ${v.framesDecoded}; luma variance ${pic.variance.toFixed(0)}; audio packets ${a.packetsReceived}, concealed ${(100 * concealed).toFixed(1)}%`;
  },

  async '(b) sender tap: encrypted frames show no plaintext beyond the clear prefix'() {
    assert(session !== null, 'needs the session of (a)');
    await until(() => session.taps.length >= 40, 10_000, '40 tapped frames');
    const kinds = { key: 0, delta: 0, audio: 0 };
    for (const f of session.taps) {
      const { plaintext: pt, ciphertext: ct, clearPrefix: n } = f;
      const expected = f.kind === 'audio' ? 0 : f.frameType === 'key' ? ClearPrefix.VP8.key : ClearPrefix.VP8.delta;
      assert(n === Math.min(expected, pt.length), `${f.kind}/${f.frameType}: prefix ${n}, expected ${expected}`);
      assert(toHex(ct.subarray(0, n)) === toHex(pt.subarray(0, n)), 'clear prefix altered');
      assert(ct.length > pt.length + 16, `no SFrame overhead: ${pt.length} -> ${ct.length}`);
      assert(!sharesRun(ct.subarray(n), pt.subarray(n), 8), `${f.kind} frame: 8-byte plaintext run in ciphertext`);
      let same = 0;
      for (let i = n; i < pt.length; i++) same += pt[i] === ct[i] ? 1 : 0;
      assert(pt.length - n < 64 || same / (pt.length - n) < 0.05, `${f.kind}: ${same} bytes unchanged in place`);
      kinds[f.kind === 'audio' ? 'audio' : f.frameType === 'key' ? 'key' : 'delta']++;
    }
    assert(kinds.key > 0 && kinds.delta > 0 && kinds.audio > 0, `frame kinds tapped: ${JSON.stringify(kinds)}`);
    return `frames checked: ${JSON.stringify(kinds)}`;
  },

  async '(d) ratchet, then a new epoch with a fresh key, on both sides: decoding continues'() {
    assert(session !== null, 'needs the session of (a)');
    const s = session;
    try {
      // Receivers first (they keep the previous epoch for an overlap), then the sender.
      assert((await s.recvRing.ratchet(1)) === 1, 'receiver ratchet epoch');
      assert((await s.sendRing.ratchetSend()) === 1, 'sender ratchet epoch');
      let before = (await inbound(s.pc2)).video.framesDecoded;
      s.taps.length = 0;
      await s.sendRing.tapFrames({ count: 5 });
      await waitDecoding(s, before + 45, 15_000);
      let c = await s.recvRing.getCounters();
      const sent = await s.sendRing.getCounters();
      assert(sent.sendEpoch === 1, `send epoch ${sent.sendEpoch}`);
      assert(s.taps.length === 5 && s.taps.every((f) => f.epoch === 1 && f.kid === 0x0101), 'frames on the wire not at epoch 1');
      const afterRatchet = c.failed.total;
      assert(afterRatchet <= 2, `failures across the ratchet: ${JSON.stringify(c.failed)}`);

      const fresh = generateBaseKey();
      await s.recvRing.setKey(1, 5, fresh);
      await s.sendRing.setSendKey(1, 5, fresh);
      before = (await inbound(s.pc2)).video.framesDecoded;
      const v = await waitDecoding(s, before + 45, 15_000);
      c = await s.recvRing.getCounters();
      assert((await s.sendRing.getCounters()).sendEpoch === 5, 'send epoch 5');
      assert(pictureVariance(s.video).variance > 100, 'picture blank after rekey');
      assert(c.failed.total - afterRatchet <= 2, `failures across the rekey: ${JSON.stringify(c.failed)}`);
      return `framesDecoded ${v.framesDecoded}; failures after ratchet ${afterRatchet}, after rekey ${c.failed.total}`;
    } finally {
      s.close();
      session = null;
    }
  },

  async '(c) wrong key on the receiver: nothing decodes, failures counted'() {
    const s = await loopback({ sendKey: KEY_A, recvKeys: [[1, 0, generateBaseKey()]] });
    try {
      await until(async () => (await s.recvRing.getCounters()).failed.auth > 60, 15_000, 'auth failures');
      await sleep(2000);
      const { video, audio } = await inbound(s.pc2);
      const c = await s.recvRing.getCounters();
      assert((video?.framesDecoded ?? 0) <= 1, `decoded ${video.framesDecoded} frames with a wrong key`);
      assert(c.decrypted === 0, `decrypted ${c.decrypted}`);
      assert(c.video.failed > 20 && c.audio.failed > 20, `failures ${JSON.stringify(c)}`);
      const decodedAudio = (audio?.totalSamplesReceived ?? 0) - (audio?.concealedSamples ?? 0);
      assert(decodedAudio < 48_000 * 0.2, `audio decoded with a wrong key: ${decodedAudio} samples not concealed`);
      return `framesDecoded ${video?.framesDecoded ?? 0}, video packets ${video?.packetsReceived}, audio packets ${audio?.packetsReceived}, audio samples not concealed ${decodedAudio}; failed ${JSON.stringify(c.failed)}`;
    } finally {
      s.close();
    }
  },

  async 'unknown sender and no send key: dropped and counted, never sent in clear'() {
    const s = await loopback({ sendKey: KEY_A, recvKeys: [[2, 0, KEY_A]] });
    let unknown;
    try {
      await until(async () => (await s.recvRing.getCounters()).failed.unknownKey > 30, 10_000, 'unknownKey failures');
      unknown = (await s.recvRing.getCounters()).failed;
    } finally {
      s.close();
    }
    const n = await loopback({ recvKeys: [[1, 0, KEY_A]] });
    try {
      await until(async () => (await n.sendRing.getCounters()).dropped.noSendKey > 30, 10_000, 'dropped frames');
      const c = await n.sendRing.getCounters();
      const { video } = await inbound(n.pc2);
      assert(c.encrypted === 0 && (video?.framesDecoded ?? 0) === 0, `sent without a key: ${JSON.stringify(c)}`);
      return `unknown sender: ${JSON.stringify(unknown)}; no send key: dropped ${c.dropped.noSendKey}`;
    } finally {
      n.close();
    }
  },

  async 'createEncodedStreams fallback (encodedInsertableStreams): video decodes, suite AES_256_GCM_SHA512_128'() {
    if (!e2eeSupport().encodedStreams) return 'skipped: no createEncodedStreams in this browser';
    const suite = SframeSuite.AES_256_GCM_SHA512_128;
    const key = generateBaseKey(suite);
    const s = await loopback({ api: 'encoded-streams', sendKey: key, recvKeys: [[1, 0, key]], suite });
    try {
      assert(s.api === 'encoded-streams', s.api);
      const v = await waitDecoding(s, 30, 20_000);
      const c = await s.recvRing.getCounters();
      assert(c.audio.decrypted > 10 && c.failed.total === 0, JSON.stringify(c));
      return `framesDecoded ${v.framesDecoded}`;
    } finally {
      s.close();
    }
  },
};

tests['WebCrypto and wasm AES-GCM paths produce the same frames: each side decodes the other'] = async () => {
  for (const [sendAead, recvAead] of [['auto', 'wasm'], ['wasm', 'auto']]) {
    const s = await loopback({ sendKey: KEY_A, recvKeys: [[1, 0, KEY_A]], sendAead, recvAead });
    try {
      await waitDecoding(s, 20, 20_000);
      const sent = await s.sendRing.getCounters();
      const got = await s.recvRing.getCounters();
      assert(sent.aead === (sendAead === 'auto' ? 'webcrypto' : 'wasm') && got.aead === (recvAead === 'auto' ? 'webcrypto' : 'wasm'), `${sent.aead} -> ${got.aead}`);
      assert(got.failed.total === 0 && got.video.decrypted > 10, JSON.stringify(got));
    } finally {
      s.close();
    }
  }
  return 'webcrypto -> wasm and wasm -> webcrypto both decode';
};

tests['hardened setup: ECDSA DTLS certificate persisted, rotated and in use, max-bundle, E2EE attached to every track'] = async () => {
  const first = await deviceCertificate({ store: 'phiseal-dtls-test' });
  const cert = first.certificate;
  const again = (await deviceCertificate({ store: 'phiseal-dtls-test' })).certificate;
  assert(cert.getFingerprints()[0].value === again.getFingerprints()[0].value, 'certificate not persisted');
  const rotated = (await deviceCertificate({ store: 'phiseal-dtls-test', now: cert.expires - 3600e3 })).certificate;
  assert(rotated.getFingerprints()[0].value !== cert.getFingerprints()[0].value, 'certificate not rotated before expiry');
  // P-384 where the browser allows it; Chromium 156 allows only P-256 for DTLS certificates.
  let p384 = true;
  try {
    await RTCPeerConnection.generateCertificate({ name: 'ECDSA', namedCurve: 'P-384' });
  } catch {
    p384 = false;
  }
  assert(first.namedCurve === (p384 ? 'P-384' : 'P-256'), `curve ${first.namedCurve}, browser P-384 support ${p384}`);
  const aliceRing = new MediaKeyring();
  const bobRing = new MediaKeyring();
  const key = generateBaseKey();
  const bobKey = generateBaseKey();
  await aliceRing.setSendKey(1, 0, key);
  await bobRing.setKey(1, 0, key);
  await bobRing.setSendKey(2, 0, bobKey);
  await aliceRing.setKey(2, 0, bobKey);
  const alice = await createSecurePeerConnection({ keyring: aliceRing, store: 'phiseal-dtls-a' });
  const bob = await createSecurePeerConnection({ keyring: bobRing, store: 'phiseal-dtls-b' });
  assert(alice.getConfiguration().bundlePolicy === 'max-bundle', 'bundle policy');
  let threw = false;
  try {
    alice.addTransceiver('video');
  } catch (e) {
    threw = e.code === 'MISUSE';
  }
  assert(threw, 'addTransceiver must refuse');
  alice.onicecandidate = (e) => e.candidate && bob.addIceCandidate(e.candidate);
  bob.onicecandidate = (e) => e.candidate && alice.addIceCandidate(e.candidate);
  const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 320, height: 240 } });
  const sender = alice.addTrack(stream.getVideoTracks()[0], stream);
  assert(sender.transform, 'no transform attached to the sender');
  const got = new Promise((r) => (bob.ontrack = (e) => r(e)));
  await alice.setLocalDescription(await alice.createOffer());
  await bob.setRemoteDescription(alice.localDescription);
  // Two-way: Bob answers with his own camera on the same transceiver.
  const bobStream = await navigator.mediaDevices.getUserMedia({ video: { width: 320, height: 240 } });
  bob.addTrack(bobStream.getVideoTracks()[0], bobStream);
  await bob.setLocalDescription(await bob.createAnswer());
  await alice.setRemoteDescription(bob.localDescription);
  const ev = await got;
  await sleep(50);
  assert(ev.receiver.transform, 'no transform attached to the receiver');
  const stats = await until(async () => {
    let decoded = 0;
    let certAlg = '';
    const s = await bob.getStats();
    s.forEach((r) => {
      if (r.type === 'inbound-rtp' && r.kind === 'video') decoded = r.framesDecoded ?? 0;
    });
    const a = await alice.getStats();
    a.forEach((r) => {
      if (r.type === 'certificate' && r.base64Certificate) certAlg += r.base64Certificate;
    });
    return decoded > 5 && certAlg ? { decoded, certAlg } : null;
  }, 20000, 'video decoded through the secure connection');
  // Decoded is not enough: both sides must have decrypted frames (a receiver
  // without its transform would pass ciphertext to the decoder).
  let last = null;
  const rings = await until(async () => {
    const [a, b] = [await aliceRing.getCounters(), await bobRing.getCounters()];
    last = { a, b };
    return a.video.decrypted > 5 && b.video.decrypted > 5 ? { a, b } : null;
  }, 20000, 'frames decrypted on both sides of the two-way call').catch((e) => {
    throw new Error(`${e.message}: ${JSON.stringify(last)}`);
  });
  assert(rings.a.video.failed === 0 && rings.b.video.failed === 0, `decrypt failures ${JSON.stringify(rings)}`);
  bobStream.getTracks().forEach((t) => t.stop());
  // The certificate in use is the device's ECDSA one: its DER carries the curve OID
  // (secp384r1 06 05 2B 81 04 00 22, or prime256v1 06 08 2A 86 48 CE 3D 03 01 07 where P-384 is refused).
  const all = [...(await alice.getStats()).values()];
  const localCertId = all.find((r) => r.type === 'transport')?.localCertificateId;
  const local = all.find((r) => r.id === localCertId);
  const der = Uint8Array.from(atob(local.base64Certificate), (c) => c.charCodeAt(0));
  const oid = p384 ? '06052b81040022' : '06082a8648ce3d030107';
  assert(toHex(der).includes(oid), `the DTLS certificate in use is not ECDSA ${p384 ? 'P-384' : 'P-256'}`);
  stream.getTracks().forEach((t) => t.stop());
  alice.close();
  bob.close();
  aliceRing.close();
  bobRing.close();
  assert(stats.decoded > 5, 'decoded');
};

tests['secure connection answering a recvonly offer: the answerer\'s media is still encrypted'] = async () => {
  // The offerer only wants to receive (a recvonly m-line): the answerer's
  // transceiver comes from the offer with no 'track' event.
  const ring = new MediaKeyring();
  await ring.setSendKey(3, 0, generateBaseKey());
  const viewer = new RTCPeerConnection();
  viewer.addTransceiver('video', { direction: 'recvonly' });
  const sender = await createSecurePeerConnection({ keyring: ring, store: 'phiseal-dtls-c' });
  viewer.onicecandidate = (e) => e.candidate && sender.addIceCandidate(e.candidate);
  sender.onicecandidate = (e) => e.candidate && viewer.addIceCandidate(e.candidate);
  const got = new Promise((r) => (viewer.ontrack = (e) => r(e)));
  await viewer.setLocalDescription(await viewer.createOffer());
  await sender.setRemoteDescription(viewer.localDescription);
  const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 320, height: 240 } });
  sender.addTrack(stream.getVideoTracks()[0], stream);
  await sender.setLocalDescription(await sender.createAnswer());
  await viewer.setRemoteDescription(sender.localDescription);
  await got;
  let last = null;
  await until(async () => {
    last = await ring.getCounters();
    return last.video.encrypted > 10 ? last : null;
  }, 20000, 'frames encrypted by the answerer').catch((e) => {
    throw new Error(`${e.message}: ${JSON.stringify(last)}`);
  });
  stream.getTracks().forEach((t) => t.stop());
  viewer.close();
  sender.close();
  ring.close();
  return `${last.video.encrypted} frames encrypted`;
};

export const support = e2eeSupport;
