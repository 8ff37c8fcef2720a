// The split SFrame path (header, nonce, AAD and replay window in wasm; AES-GCM
// in WebCrypto), as js/media-worker.js runs it: begin() on only the clear
// prefix + 33 bytes of a frame answers exactly as on the whole frame.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { init } from '../../js/index.js';
import { wasm } from '../../js/internal.js';

const PEEK = 17 + 16;

test('SframeReceiver.begin on the header and a tag of a frame equals begin on the whole frame', async () => {
  await init();
  const key = crypto.getRandomValues(new Uint8Array(32));
  for (const suite of [4, 5]) {
    const sender = new wasm.SframeSender(suite, 3, 0, key);
    const whole = new wasm.SframeReceiver(suite);
    const peek = new wasm.SframeReceiver(suite);
    whole.setKey(3, 0, key);
    peek.setKey(3, 0, key);
    for (const [size, n] of [[64 * 1024, 10], [1000, 0], [0, 0], [1, 1], [40, 3]]) {
      const frame = sender.encrypt(crypto.getRandomValues(new Uint8Array(size)), n);
      const a = whole.begin(frame, n);
      const b = peek.begin(frame.subarray(0, n + PEEK), n);
      assert.ok(a !== undefined, `suite ${suite} size ${size}`);
      assert.deepEqual({ ...b, id: 0 }, { ...a, id: 0 });
      // The ciphertext really is where `offset` says, and WebCrypto opens it.
      const aeadKey = await crypto.subtle.importKey('raw', peek.aeadKeyOf(b.id), 'AES-GCM', false, ['decrypt']);
      const pt = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: b.nonce, additionalData: b.aad }, aeadKey, frame.subarray(b.offset));
      assert.equal(pt.byteLength, Math.max(0, size - n));
      assert.equal(peek.complete(b.id), true);
      assert.equal(whole.complete(a.id), true);
    }
    // Long headers: the largest sender id (an 8-byte KID) and a counter past
    // 2^16, so the header is 12 bytes, not 1-3; and a clear prefix longer
    // than the frame.
    const big = 2 ** 53 - 1;
    const bigSender = new wasm.SframeSender(suite, big, 0, key);
    for (let i = 0; i < 70_000; i++) bigSender.encrypt(new Uint8Array(0), 0);
    for (const r of [whole, peek]) r.setKey(big, 0, key);
    const longHeader = bigSender.encrypt(crypto.getRandomValues(new Uint8Array(4096)), 2);
    const a = whole.begin(longHeader, 2);
    const b = peek.begin(longHeader.subarray(0, 2 + PEEK), 2);
    assert.ok(a !== undefined);
    assert.equal(a.offset, 2 + 12, 'a 12-byte header');
    assert.deepEqual({ ...b, id: 0 }, { ...a, id: 0 });
    assert.equal(whole.begin(longHeader, longHeader.length + 5), undefined);
    assert.equal(peek.begin(longHeader.subarray(0, longHeader.length + 5 + PEEK), longHeader.length + 5), undefined);
    bigSender.free();
    // Too short for a tag: dropped either way.
    const frame = sender.encrypt(new Uint8Array(0), 0); // header + 16-byte tag
    const short = frame.subarray(0, frame.length - 5);
    assert.equal(whole.begin(short, 0), undefined);
    assert.equal(peek.begin(short.subarray(0, PEEK), 0), undefined);
    sender.free();
    whole.free();
    peek.free();
  }
});
