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

const AUTHOR = await phiseal.generateAuthorKey();
const AUTHORS = [AUTHOR.publicKey];
/** Header (87 fixed + 177 per recipient + 32 commitment + 96 signature) and the 96-byte trailer. */
const HEADER = (n) => 87 + 177 * n + 128;
const TRAILER = 96;

const encrypt = (pt, opts, sizes) => readAll(stream.encryptStream(source(pt, sizes), { segmentSize: SEG, author: AUTHOR, ...opts }));
const decrypt = (ct, opts, sizes) => readAll(stream.decryptStream(source(ct, sizes), { authors: AUTHORS, ...opts }));

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
      assert.equal(ct.length, HEADER(1) + n + 16 * segments + TRAILER, `size ${n}`);
      for (const decPath of PATHS) {
        assert.deepEqual(await decrypt(ct, { privateKey: a.privateKey, provider: decPath }, [13, 2000]), pt, `${n} ${encPath}->${decPath}`);
      }
    }
  }
});

test('blob helpers', async () => {
  const { a } = await keys;
  const pt = data(70_000);
  const sealed = await stream.encryptBlob(new Blob([pt]), { recipients: [a.publicKey], author: AUTHOR });
  assert.equal(sealed.size, HEADER(1) + 70_000 + 16 * 2 + TRAILER);
  const opened = await stream.decryptBlob(sealed, { privateKey: a.privateKey, authors: AUTHORS, type: 'video/webm' });
  assert.equal(opened.type, 'video/webm');
  assert.deepEqual(new Uint8Array(await opened.arrayBuffer()), pt);
});

test('tampering, truncation, extension and wrong recipient are detected on both paths', async () => {
  const { a, outsider } = await keys;
  const ct = await encrypt(data(3 * SEG + 10), { recipients: [a.publicKey] });
  const h = HEADER(1);
  const body = ct.length - TRAILER;
  const flip = (i) => {
    const c = ct.slice();
    c[i] ^= 1;
    return c;
  };
  for (const provider of PATHS) {
    const opts = { privateKey: a.privateKey, provider };
    // Header bytes (salt, nonce prefix, a wrap, the commitment, the signature) and the trailer are signed.
    for (const i of [20, 50, 120, h - 100, h - 1, ct.length - 1]) {
      await rejectsWith(assert, decrypt(flip(i), opts), ErrorCode.INVALID_SIGNATURE);
    }
    for (const i of [h, h + SEG + 16]) {
      await rejectsWith(assert, decrypt(flip(i), opts), ErrorCode.DECRYPT_FAILED);
    }
    // The final segment: the trailer signature over it is checked before it is opened.
    await rejectsWith(assert, decrypt(flip(body - 1), opts), ErrorCode.INVALID_SIGNATURE);
    for (const cut of [0, 10, h]) {
      await rejectsWith(assert, decrypt(ct.slice(0, cut), opts), ErrorCode.DECRYPT_FAILED);
    }
    // Cut in the body: what is left at the end is too short for a final segment and a
    // trailer (DECRYPT_FAILED), or its last 96 bytes are no signature over the rest.
    for (const cut of [h + 1, h + SEG + 16, h + 2 * (SEG + 16), body]) {
      // The reader keeps the last segment plus trailer (at most SEG + 16 + 96 bytes) for the end.
      let left = cut - h;
      while (left > SEG + 16 + TRAILER) left -= SEG + 16;
      const expected = left < 16 + TRAILER ? ErrorCode.DECRYPT_FAILED : ErrorCode.INVALID_SIGNATURE;
      await rejectsWith(assert, decrypt(ct.slice(0, cut), opts), expected);
    }
    // One byte short: the last 96 bytes read as the trailer start inside the final segment.
    await rejectsWith(assert, decrypt(ct.slice(0, ct.length - 1), opts), ErrorCode.INVALID_SIGNATURE);
    const longer = new Uint8Array(ct.length + 1);
    longer.set(ct);
    await rejectsWith(assert, decrypt(longer, opts), ErrorCode.INVALID_SIGNATURE); // the last 96 bytes are no longer the trailer
    // Swap segments 0 and 1.
    const swapped = ct.slice();
    swapped.set(ct.subarray(h + SEG + 16, h + 2 * (SEG + 16)), h);
    swapped.set(ct.subarray(h, h + SEG + 16), h + SEG + 16);
    await rejectsWith(assert, decrypt(swapped, opts), ErrorCode.DECRYPT_FAILED);
    await rejectsWith(assert, decrypt(ct, { privateKey: outsider.privateKey, provider }), ErrorCode.NOT_RECIPIENT);
    await rejectsWith(assert, decrypt(flip(90), opts), ErrorCode.NOT_RECIPIENT); // the recipient's key id
    await rejectsWith(assert, decrypt(flip(60), opts), ErrorCode.UNTRUSTED_AUTHOR); // the author's key id
    await rejectsWith(assert, decrypt(ct, { ...opts, authors: [outsider.publicKey] }), ErrorCode.UNTRUSTED_AUTHOR);
  }
  await rejectsWith(assert, decrypt(new TextEncoder().encode('not a phiseal stream at all, no'), { privateKey: a.privateKey }), ErrorCode.MALFORMED_INPUT);
});

test('argument checks', async () => {
  const { a } = await keys;
  const s = () => source(data(10));
  await rejectsWith(assert, () => stream.encryptStream(s(), { recipients: [a.publicKey] }), ErrorCode.INVALID_ARGUMENT); // no author
  await rejectsWith(assert, () => stream.decryptStream(s(), { privateKey: a.privateKey }), ErrorCode.INVALID_ARGUMENT); // no authors
  await rejectsWith(assert, () => stream.encryptStream(s(), { recipients: [], author: AUTHOR }), ErrorCode.INVALID_ARGUMENT);
  await rejectsWith(assert, () => stream.encryptStream(s(), { recipients: ['x'], author: AUTHOR }), ErrorCode.INVALID_ARGUMENT);
  await rejectsWith(assert, () => stream.encryptStream(s(), { recipients: [a.publicKey], segmentSize: 100, author: AUTHOR }), ErrorCode.INVALID_ARGUMENT);
  await rejectsWith(assert, () => stream.encryptStream('nope', { recipients: [a.publicKey], author: AUTHOR }), ErrorCode.INVALID_ARGUMENT);
  await rejectsWith(assert, () => stream.decryptStream(s(), { privateKey: a.publicKey, authors: AUTHORS }), ErrorCode.INVALID_ARGUMENT);
  await rejectsWith(assert, () => stream.encryptStream(s(), { recipients: [a.publicKey], provider: 'gpu', author: AUTHOR }), ErrorCode.INVALID_ARGUMENT);
});
