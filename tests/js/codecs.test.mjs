// Codec-aware clear prefixes (pure functions; the worker uses the same module).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clearPrefixLength, h264ClearPrefix } from '../../js/codecs.js';

const sc4 = [0, 0, 0, 1];
const sc3 = [0, 0, 1];

test('H.264: parameter sets and the first slice NAL header stay in clear', () => {
  const sps = [...sc4, 0x67, 0x42, 0xc0, 0x1f, 0x8c];
  const pps = [...sc4, 0x68, 0xce, 0x3c, 0x80];
  const idr = [...sc4, 0x65, 0x88, 0x84, 0x00, 0x33, 0xff];
  const frame = new Uint8Array([...sps, ...pps, ...idr]);
  const boundary = sps.length + pps.length + 4 + 2;
  assert.equal(h264ClearPrefix(frame), boundary);
  assert.equal(frame[boundary - 2], 0x65);
  const delta = new Uint8Array([...sc3, 0x41, 0x9a, 0x12, 0x34]);
  assert.equal(h264ClearPrefix(delta), 5);
  assert.equal(h264ClearPrefix(new Uint8Array([1, 2, 3, 4, 5])), 0, 'no start code: encrypt everything');
  assert.equal(h264ClearPrefix(new Uint8Array([...sc4, 0x67, 1, 2])), 0, 'no slice: encrypt everything');
  assert.equal(h264ClearPrefix(new Uint8Array([...sc4, 0x65])), 5, 'never past the end');
  assert.equal(clearPrefixLength({ codec: 'h264' }, 'video', 'delta', delta), 5);
  assert.equal(clearPrefixLength({ key: 10, delta: 3 }, 'video', 'key', delta), 10);
  assert.equal(clearPrefixLength({ key: 10, delta: 3 }, 'audio', 'key', delta), 3);
});
