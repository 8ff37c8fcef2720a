// Encrypted streams (docs/FORMAT.md §8) through the npm surface: round trips
// on both AES-GCM paths (wasm, WebCrypto), tampering, truncation, and proof
// that both paths write and read the same bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { phiseal, rejectsWith } from './helpers.mjs';
import * as stream from '../../js/stream.js';

const { ErrorCode } = phiseal;
await phiseal.init();

const SEG = 1024;
const PATHS = ['wasm', 'webcrypto'];

const data = (n) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + 7) & 0xff);

/** A ReadableStream of `bytes` cut into chunks of `sizes` (cycled). */
function source(bytes, sizes = [4096]) {
  let at = 0;
  let i = 0;
  return new ReadableStream({
    pull(c) {
      if (at >= bytes.length) return c.close();
      const n = sizes[i++ % sizes.length];
      c.enqueue(bytes.slice(at, at + n));
      at += n;
    },
  });
}

async function readAll(readable) {
  const parts = [];
  for await (const p of readable) parts.push(p);
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const encrypt = (pt, opts, sizes) => readAll(stream.encryptStream(source(pt, sizes), { segmentSize: SEG, ...opts }));
const decrypt = (ct, opts, sizes) => readAll(stream.decryptStream(source(ct, sizes), opts));

const keys = (async () => {
  const a = await phiseal.generateKeyPair();
  const b = await phiseal.generateKeyPair({ provider: 'wasm', extractable: true });
  const outsider = await phiseal.generateKeyPair();
  return { a, b, outsider };
})();

test('round trips over many sizes on both paths, across paths', async () => {
  const { a } = await keys;
  for (const n of [0, 1, SEG - 1, SEG, SEG + 1, 3 * SEG, 5 * SEG + 17]) {
    const pt = data(n);
    for (const encPath of PATHS) {
      const ct = await encrypt(pt, { recipients: [a.publicKey], provider: encPath }, [1000, 7, 3000]);
      const segments = n === 0 ? 1 : Math.ceil(n / SEG);
      assert.equal(ct.length, 55 + 177 + n + 16 * segments, `size ${n}`);
      for (const decPath of PATHS) {
        assert.deepEqual(await decrypt(ct, { privateKey: a.privateKey, provider: decPath }, [13, 2000]), pt, `${n} ${encPath}->${decPath}`);
      }
    }
  }
});

test('blob helpers', async () => {
  const { a } = await keys;
  const pt = data(70_000);
  const sealed = await stream.encryptBlob(new Blob([pt]), { recipients: [a.publicKey] });
  assert.equal(sealed.size, 55 + 177 + 70_000 + 16 * 2);
  const opened = await stream.decryptBlob(sealed, { privateKey: a.privateKey, type: 'video/webm' });
  assert.equal(opened.type, 'video/webm');
  assert.deepEqual(new Uint8Array(await opened.arrayBuffer()), pt);
});

test('tampering, truncation, extension and wrong recipient are detected on both paths', async () => {
  const { a, outsider } = await keys;
  const ct = await encrypt(data(3 * SEG + 10), { recipients: [a.publicKey] });
  const h = 55 + 177;
  const flip = (i) => {
    const c = ct.slice();
    c[i] ^= 1;
    return c;
  };
  for (const provider of PATHS) {
    const opts = { privateKey: a.privateKey, provider };
    for (const i of [20, 120, h - 1, h, h + SEG + 16, ct.length - 1]) {
      await rejectsWith(assert, decrypt(flip(i), opts), ErrorCode.DECRYPT_FAILED);
    }
    for (const cut of [0, 10, h, h + 1, h + SEG + 16, h + 2 * (SEG + 16), ct.length - 1]) {
      await rejectsWith(assert, decrypt(ct.slice(0, cut), opts), ErrorCode.DECRYPT_FAILED);
    }
    const longer = new Uint8Array(ct.length + 1);
    longer.set(ct);
    await rejectsWith(assert, decrypt(longer, opts), ErrorCode.DECRYPT_FAILED);
    // Swap segments 0 and 1.
    const swapped = ct.slice();
    swapped.set(ct.subarray(h + SEG + 16, h + 2 * (SEG + 16)), h);
    swapped.set(ct.subarray(h, h + SEG + 16), h + SEG + 16);
    await rejectsWith(assert, decrypt(swapped, opts), ErrorCode.DECRYPT_FAILED);
    await rejectsWith(assert, decrypt(ct, { privateKey: outsider.privateKey, provider }), ErrorCode.NOT_RECIPIENT);
    await rejectsWith(assert, decrypt(flip(60), opts), ErrorCode.NOT_RECIPIENT); // the key id
  }
  await rejectsWith(assert, decrypt(new TextEncoder().encode('not a phiseal stream at all, no'), { privateKey: a.privateKey }), ErrorCode.MALFORMED_INPUT);
});

test('argument checks', async () => {
  const { a } = await keys;
  const s = () => source(data(10));
  await rejectsWith(assert, () => stream.encryptStream(s(), { recipients: [] }), ErrorCode.INVALID_ARGUMENT);
  await rejectsWith(assert, () => stream.encryptStream(s(), { recipients: ['x'] }), ErrorCode.INVALID_ARGUMENT);
  await rejectsWith(assert, () => stream.encryptStream(s(), { recipients: [a.publicKey], segmentSize: 100 }), ErrorCode.INVALID_ARGUMENT);
  await rejectsWith(assert, () => stream.encryptStream('nope', { recipients: [a.publicKey] }), ErrorCode.INVALID_ARGUMENT);
  await rejectsWith(assert, () => stream.decryptStream(s(), { privateKey: a.publicKey }), ErrorCode.INVALID_ARGUMENT);
  await rejectsWith(assert, () => stream.encryptStream(s(), { recipients: [a.publicKey], provider: 'gpu' }), ErrorCode.INVALID_ARGUMENT);
});
