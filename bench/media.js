// SFrame benchmark: per-frame encrypt+decrypt latency (p50/p99) and MB/s for
// 1, 16 and 64 KiB frames, phiseal (wasm, AES_128_GCM_SHA256_128) against
// WebCrypto AES-GCM doing the same frames one by one in JS; and the CPU share
// of a 1080p30 video (2.5 Mbit/s) + Opus (32 kbit/s) call at that speed.
import { generateKeyPair, hpkeOpen, hpkeSeal, init } from '../js/index.js';
import { wasm } from '../js/internal.js';
import { callSafetyCode, generateBaseKey, unwrapBaseKey, wrapBaseKey } from '../js/media.js';

const SUITE = 4;

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Latency per frame from batches of 10 frames (the page clock has 0.1 ms resolution). */
async function measure(frameBytes, n, fn) {
  const frame = crypto.getRandomValues(new Uint8Array(frameBytes));
  for (let i = 0; i < 20; i++) await fn(frame);
  const BATCH = 10;
  const times = [];
  const t0 = performance.now();
  for (let i = 0; i < n; i += BATCH) {
    const s = performance.now();
    for (let j = 0; j < BATCH; j++) await fn(frame);
    times.push((performance.now() - s) / BATCH);
  }
  const total = performance.now() - t0;
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99), mbps: (frameBytes * n) / 1e6 / (total / 1000) };
}

export async function runMediaCases() {
  await init();
  const key = crypto.getRandomValues(new Uint8Array(32));
  const sender = new wasm.SframeSender(SUITE, 1, 0, key);
  const receiver = new wasm.SframeReceiver(SUITE);
  receiver.setKey(1, 0, key);
  const aes = await crypto.subtle.importKey('raw', key.slice(0, 16), 'AES-GCM', false, ['encrypt', 'decrypt']);
  let ctr = 0;
  const rows = [];
  let videoMsPerByte = 0;
  // phiseal in the browser: framing, nonces and replay window in wasm, AES-GCM in WebCrypto (what the worker does).
  const sendKey = await crypto.subtle.importKey('raw', sender.aeadKey(), 'AES-GCM', false, ['encrypt']);
  const empty = new Uint8Array(0);
  let recvKey = null;
  const split = async (f) => {
    const p = sender.prepare(empty);
    const ct = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv: p.nonce, additionalData: p.aad }, sendKey, f));
    const frame = new Uint8Array(p.header.length + ct.length);
    frame.set(p.header);
    frame.set(ct, p.header.length);
    const b = receiver.begin(frame.subarray(0, 33), 0); // as the worker: header + tag only
    recvKey ??= await crypto.subtle.importKey('raw', receiver.aeadKeyOf(b.id), 'AES-GCM', false, ['decrypt']);
    await crypto.subtle.decrypt({ name: 'AES-GCM', iv: b.nonce, additionalData: b.aad }, recvKey, frame.subarray(b.offset));
    if (!receiver.complete(b.id)) throw new Error('sframe complete failed');
  };
  for (const size of [1024, 16 * 1024, 64 * 1024]) {
    // At least 150 batches per size, so p99 is a percentile, not the maximum.
    const n = 1500;
    const wasmOnly = await measure(size, n, (f) => {
      const c = sender.encrypt(f, 0);
      if (!receiver.decrypt(c, 0)) throw new Error('sframe decrypt failed');
    });
    const ours = await measure(size, n, split);
    const web = await measure(size, n, async (f) => {
      const iv = new Uint8Array(12);
      new DataView(iv.buffer).setUint32(8, ctr++);
      const c = await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, aes, f);
      await crypto.subtle.decrypt({ name: 'AES-GCM', iv }, aes, c);
    });
    const kib = size / 1024;
    rows.push({ metric: `SFrame enc+dec ${kib} KiB frame p50 (ms)`, phiseal: ours.p50, peer: 'WebCrypto', peerValue: web.p50, lowerIsBetter: true });
    rows.push({ metric: `SFrame enc+dec ${kib} KiB frame p99 (ms)`, phiseal: ours.p99, peer: 'WebCrypto', peerValue: web.p99, lowerIsBetter: true });
    rows.push({ metric: `SFrame enc+dec ${kib} KiB frames (MB/s)`, phiseal: ours.mbps, peer: 'WebCrypto', peerValue: web.mbps });
    rows.push({ metric: `  same, AES-GCM in wasm instead (MB/s)`, phiseal: wasmOnly.mbps, peer: 'WebCrypto', peerValue: web.mbps });
    if (size === 16 * 1024) videoMsPerByte = ours.p50 / size;
  }
  // 1080p30 at 2.5 Mbit/s is about 10 KiB per frame; Opus 32 kbit/s at 50 frames/s is 80 B per frame.
  const perSecondMs = videoMsPerByte * (2.5e6 / 8) + 50 * (rows[0].phiseal / 1024) * 80;
  rows.push({ metric: 'CPU share of one core, 1080p30 video + audio (%)', phiseal: perSecondMs / 10, peer: '-', peerValue: NaN, lowerIsBetter: true });
  sender.free();
  receiver.free();
  rows.push(...(await keyWrapCases()));
  return rows;
}

/** Mean ms per call of `fn` over `n` calls (after 5 warm-up calls). */
async function perCall(n, fn) {
  for (let i = 0; i < 5; i++) await fn();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await fn();
  return (performance.now() - t0) / n;
}

/**
 * The cost of authenticated key wraps (issue "calls"): a version 2 wrap
 * (HPKE auth mode from the sender's identity key, non-extractable WebCrypto
 * keys) against the version 1 wrap it replaced (HPKE base mode, same aad
 * size), per recipient; and the safety code.
 */
async function keyWrapCases() {
  const sender = await generateKeyPair();
  const recipient = await generateKeyPair();
  const baseKey = generateBaseKey();
  const call = 'telehealth:bench';
  const info = new TextEncoder().encode('phiseal-sframe-key-v1');
  const aad = new Uint8Array(18);
  const n = 60;
  const v2 = await perCall(n, () => wrapBaseKey(baseKey, [recipient.publicKey], { senderKey: sender.privateKey, call, senderId: 1 }));
  const v1 = await perCall(n, () => hpkeSeal(recipient.publicKey, baseKey, { info, aad }));
  const wrapped = await wrapBaseKey(baseKey, [recipient.publicKey], { senderKey: sender.privateKey, call, senderId: 1 });
  const sealed = await hpkeSeal(recipient.publicKey, baseKey, { info, aad });
  const open2 = await perCall(n, () => unwrapBaseKey(recipient.privateKey, wrapped, { sender: sender.publicKey, call }));
  const open1 = await perCall(n, () => hpkeOpen(recipient.privateKey, sealed.enc, sealed.ciphertext, { info, aad }));
  const parts = [{ publicKey: sender.publicKey, senderId: 1 }, { publicKey: recipient.publicKey, senderId: 2 }];
  const code = await perCall(n, () => callSafetyCode(call, parts));
  return [
    { metric: 'key wrap v2 (auth mode), per recipient (ms)', phiseal: v2, peer: 'v1 base', peerValue: v1, lowerIsBetter: true },
    { metric: 'key unwrap v2 (auth mode, sender checked) (ms)', phiseal: open2, peer: 'v1 base', peerValue: open1, lowerIsBetter: true },
    { metric: 'safety code, 2 participants (ms)', phiseal: code, peer: '-', peerValue: NaN, lowerIsBetter: true },
  ];
}
