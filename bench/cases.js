// Benchmark cases shared by Node and the browser page: HPKE P-384 single-shot
// seal and open of 1 KiB, phiseal (WebCrypto and wasm providers) against
// @hpke/core in the same run. Each case runs for a fixed time; ops/s are reported.
import * as phiseal from '../js/index.js';
import { Aes256Gcm, CipherSuite, DhkemP384HkdfSha384, HkdfSha384 } from '@hpke/core';

/** Calls `fn` (awaited) for `ms` after a warm-up; returns calls per second. */
export async function opsPerSecond(fn, ms = 1500) {
  for (let i = 0; i < 5; i++) await fn(); // warm-up
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < ms) {
    await fn();
    n++;
  }
  return (n * 1000) / (performance.now() - start);
}

export async function runCases() {
  await phiseal.init();
  const pt = new Uint8Array(1024).fill(7);
  const info = new TextEncoder().encode('bench');
  const suite = new CipherSuite({ kem: new DhkemP384HkdfSha384(), kdf: new HkdfSha384(), aead: new Aes256Gcm() });
  const theirs = await suite.kem.generateKeyPair();
  const theirSealed = await suite.seal({ recipientPublicKey: theirs.publicKey, info }, pt);
  const rows = [];
  const hpkejsSeal = await opsPerSecond(() => suite.seal({ recipientPublicKey: theirs.publicKey, info }, pt));
  const hpkejsOpen = await opsPerSecond(() => suite.open({ recipientKey: theirs.privateKey, enc: theirSealed.enc, info }, theirSealed.ct));
  for (const provider of ['webcrypto', 'wasm']) {
    const { privateKey, publicKey } = await phiseal.generateKeyPair({ provider });
    const sealed = await phiseal.hpkeSeal(publicKey, pt, { info, provider });
    const seal = await opsPerSecond(() => phiseal.hpkeSeal(publicKey, pt, { info, provider }));
    const open = await opsPerSecond(() => phiseal.hpkeOpen(privateKey, sealed.enc, sealed.ciphertext, { info }));
    rows.push({ metric: `HPKE P-384 seal 1 KiB (phiseal ${provider})`, phiseal: seal, peer: '@hpke/core', peerValue: hpkejsSeal });
    rows.push({ metric: `HPKE P-384 open 1 KiB (phiseal ${provider})`, phiseal: open, peer: '@hpke/core', peerValue: hpkejsOpen });
  }
  // A burst of seals after prepareEphemeralKeys() in idle time: each seal is
  // one ECDH (single-use ephemeral keys generated ahead, never reused).
  const { publicKey } = await phiseal.generateKeyPair();
  const burst = 128;
  const ready = await phiseal.prepareEphemeralKeys(burst);
  if (ready === burst) {
    const start = performance.now();
    for (let i = 0; i < burst; i++) await phiseal.hpkeSeal(publicKey, pt, { info });
    const perSecond = (burst * 1000) / (performance.now() - start);
    rows.push({ metric: 'HPKE P-384 seal 1 KiB (webcrypto, keys prepared)', phiseal: perSecond, peer: '@hpke/core', peerValue: hpkejsSeal });
  }
  return rows;
}
