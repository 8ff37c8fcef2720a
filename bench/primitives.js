// Primitives side by side in one run, in the browser and in Node:
// AES-256-GCM throughput (phiseal's RustCrypto AES-256-GCM in wasm, measured
// through SFrame suite 5 = AES_256_GCM_SHA512_128, one frame per call)
// against WebCrypto (awaited one by one, and 16 calls in flight) and
// @noble/ciphers; P-384 key generation and ECDSA signing against WebCrypto
// and @noble/curves. phiseal itself runs P-384 DH in WebCrypto in browsers
// (non-extractable keys), so its DH is WebCrypto's; the rows here show why.
import { gcm } from '@noble/ciphers/aes.js';
import { p384 } from '@noble/curves/nist.js';
import * as phiseal from '../js/index.js';
import { wasm } from '../js/internal.js';
import { opsPerSecond } from './cases.js';

const SUITE_AES256 = 5;

const perSecond = (fn, ms = 1000) => opsPerSecond(fn, ms);

export async function runPrimitiveCases() {
  await phiseal.init();
  const rows = [];
  const key = crypto.getRandomValues(new Uint8Array(32));
  const sender = new wasm.SframeSender(SUITE_AES256, 1, 0, crypto.getRandomValues(new Uint8Array(64)));
  const aes = await crypto.subtle.importKey('raw', key, 'AES-GCM', false, ['encrypt']);
  const iv = new Uint8Array(12);
  for (const size of [1024, 64 * 1024, 1024 * 1024]) {
    const data = new Uint8Array(size).map((_, i) => (i * 131) & 0xff); // getRandomValues stops at 64 KiB
    const mb = size / 1e6;
    const label = size >= 1048576 ? '1 MiB' : `${size / 1024} KiB`;
    const ms = size >= 1048576 ? 2000 : 1000;
    const ours = mb * (await perSecond(() => sender.encrypt(data, 0), ms));
    const webSerial = mb * (await perSecond(() => crypto.subtle.encrypt({ name: 'AES-GCM', iv }, aes, data), ms));
    const webBatched =
      16 * mb * (await perSecond(() => Promise.all(Array.from({ length: 16 }, () => crypto.subtle.encrypt({ name: 'AES-GCM', iv }, aes, data))), ms));
    const noble = mb * (await perSecond(() => gcm(key, iv).encrypt(data), ms));
    const metric = `AES-256-GCM ${label} MB/s (phiseal wasm)`;
    rows.push({ metric, phiseal: ours, peer: '@noble/ciphers', peerValue: noble });
    rows.push({ metric, phiseal: ours, peer: 'WebCrypto', peerValue: webSerial });
    rows.push({ metric, phiseal: ours, peer: 'WebCrypto x16', peerValue: webBatched });
  }
  const ecdh = { name: 'ECDH', namedCurve: 'P-384' };
  const ecdsa = { name: 'ECDSA', namedCurve: 'P-384' };
  const oursKeygen = await perSecond(() => phiseal.generateKeyPair({ provider: 'wasm', extractable: true }));
  const webKeygen = await perSecond(() => crypto.subtle.generateKey(ecdh, false, ['deriveBits']));
  const nobleKeygen = await perSecond(() => p384.keygen());
  rows.push({ metric: 'P-384 key generation /s (phiseal wasm)', phiseal: oursKeygen, peer: '@noble/curves', peerValue: nobleKeygen });
  rows.push({ metric: 'P-384 key generation /s (phiseal wasm)', phiseal: oursKeygen, peer: 'WebCrypto', peerValue: webKeygen });
  const oursWebKeygen = await perSecond(() => phiseal.generateKeyPair());
  rows.push({ metric: 'P-384 key generation /s (phiseal webcrypto)', phiseal: oursWebKeygen, peer: 'WebCrypto', peerValue: webKeygen });
  const a = await crypto.subtle.generateKey(ecdh, false, ['deriveBits']);
  const b = await crypto.subtle.generateKey(ecdh, false, ['deriveBits']);
  const webEcdh = await perSecond(() => crypto.subtle.deriveBits({ name: 'ECDH', public: b.publicKey }, a.privateKey, 384));
  const na = p384.keygen();
  const nb = p384.keygen();
  const nobleEcdh = await perSecond(() => p384.getSharedSecret(na.secretKey, nb.publicKey));
  rows.push({ metric: 'P-384 ECDH /s (WebCrypto, what phiseal uses)', phiseal: webEcdh, peer: '@noble/curves', peerValue: nobleEcdh });
  // ECDSA: phiseal signs audit checkpoints (SHA-384 chain head + ECDSA
  // P-384); a checkpoint per entry measures append + hash + sign.
  const signingKey = phiseal.SigningKey.generate();
  const log = new phiseal.AuditLog({ signingKey, checkpointEvery: 1 });
  const oursSign = await perSecond(() => log.append({ actor: { id: 'b', role: 'bench' }, action: 'view' }));
  const sk = await crypto.subtle.generateKey(ecdsa, false, ['sign', 'verify']);
  const msg = new Uint8Array(48).fill(1);
  const webSign = await perSecond(() => crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-384' }, sk.privateKey, msg));
  const nobleSign = await perSecond(() => p384.sign(msg, na.secretKey));
  rows.push({ metric: 'ECDSA P-384 sign /s (phiseal wasm, checkpoint)', phiseal: oursSign, peer: '@noble/curves', peerValue: nobleSign });
  rows.push({ metric: 'ECDSA P-384 sign /s (phiseal wasm, checkpoint)', phiseal: oursSign, peer: 'WebCrypto', peerValue: webSign });
  const sig = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-384' }, sk.privateKey, msg);
  const webVerify = await perSecond(() => crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-384' }, sk.publicKey, sig, msg));
  const nsig = p384.sign(msg, na.secretKey);
  const nobleVerify = await perSecond(() => p384.verify(nsig, msg, na.publicKey));
  rows.push({ metric: 'ECDSA P-384 verify /s (WebCrypto)', phiseal: webVerify, peer: '@noble/curves', peerValue: nobleVerify });
  return rows;
}
