// Streaming encryption benchmark: 100 MiB through encryptStream (and back
// through decryptStream), WebCrypto segments vs wasm segments, against
// WebCrypto AES-GCM on the same 64 KiB chunks in JS with no framing.
import * as phiseal from '../js/index.js';
import { decryptStream, encryptStream } from '../js/stream.js';

const MIB = 1024 * 1024;

function source(total) {
  const chunk = new Uint8Array(MIB);
  for (let i = 0; i < MIB; i += 65536) crypto.getRandomValues(chunk.subarray(i, i + 65536));
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent >= total) return controller.close();
      controller.enqueue(chunk.slice());
      sent += MIB;
    },
  });
}

async function drain(stream) {
  const reader = stream.getReader();
  let n = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return n;
    n += value.length;
  }
}

export async function runStreamCases({ total = 100 * MIB } = {}) {
  await phiseal.init();
  const { privateKey, publicKey } = await phiseal.generateKeyPair();
  const author = await phiseal.generateAuthorKey();
  const authors = [author.publicKey];
  const key = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt']);
  const chunk = crypto.getRandomValues(new Uint8Array(64 * 1024));
  let t = performance.now();
  for (let i = 0; i < total / chunk.length; i++) await crypto.subtle.encrypt({ name: 'AES-GCM', iv: new Uint8Array(12) }, key, chunk);
  const baseline = total / MIB / ((performance.now() - t) / 1000);
  const rows = [];
  for (const provider of ['webcrypto', 'wasm']) {
    t = performance.now();
    await drain(encryptStream(source(total), { recipients: [publicKey], provider, author }));
    const enc = total / MIB / ((performance.now() - t) / 1000);
    t = performance.now();
    const n = await drain(decryptStream(encryptStream(source(total / 4), { recipients: [publicKey], provider, author }), { privateKey, provider, authors }));
    if (n !== total / 4) throw new Error('stream round trip lost bytes');
    const both = total / 4 / MIB / ((performance.now() - t) / 1000);
    rows.push({ metric: `stream encrypt ${total / MIB} MiB, ${provider} segments (MiB/s)`, phiseal: enc, peer: 'WebCrypto', peerValue: baseline });
    rows.push({ metric: `stream encrypt+decrypt ${total / 4 / MIB} MiB, ${provider} (MiB/s)`, phiseal: both, peer: '-', peerValue: NaN });
  }
  // What the two author signatures (header, trailer), their checks and the key
  // commitment cost per stream: a 1 KiB stream end to end, against the same
  // without any ECDSA (measured as the ECDSA P-384 sign + verify pairs alone).
  const small = 200;
  t = performance.now();
  for (let i = 0; i < small; i++) {
    await drain(decryptStream(encryptStream(source(1024), { recipients: [publicKey], author }), { privateKey, authors }));
  }
  const perStream = (performance.now() - t) / small;
  const pair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-384' }, false, ['sign', 'verify']);
  const msg = new Uint8Array(80);
  t = performance.now();
  for (let i = 0; i < small; i++) {
    const sig = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-384' }, pair.privateKey, msg);
    await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-384' }, pair.publicKey, sig, msg);
  }
  const signVerify = (performance.now() - t) / small;
  // Streams per second against the two ECDSA sign+verify pairs alone: the ratio is the share of
  // a small stream's cost that is the signatures (1.0 would mean nothing else costs anything).
  rows.push({ metric: 'signed 1 KiB stream encrypt+decrypt (streams/s)', phiseal: 1000 / perStream, peer: 'its 2 ECDSA sign+verify alone', peerValue: 1000 / (2 * signVerify) });
  return rows;
}
