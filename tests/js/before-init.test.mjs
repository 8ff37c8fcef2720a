// Before init(): the wasm classes exported by 'phiseal' say NOT_INITIALIZED,
// never a TypeError, and instanceof is simply false. (Its own process: node
// --test runs each file separately, and nothing here calls init().)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as phiseal from '../../js/index.js';

test('wasm classes before init(): NOT_INITIALIZED, instanceof false', () => {
  for (const C of [phiseal.PublicKey, phiseal.PrivateKey, phiseal.AuthorKey, phiseal.SigningKey]) {
    assert.equal({} instanceof C, false);
    assert.throws(() => C.generate(), (e) => e instanceof phiseal.PhisealError && e.code === phiseal.ErrorCode.NOT_INITIALIZED);
  }
});

test('one rule: async functions need init() too (they reject, nothing half-works)', async () => {
  const notInit = (e) => e instanceof phiseal.PhisealError && e.code === phiseal.ErrorCode.NOT_INITIALIZED && /await init\(\)/.test(e.message);
  await assert.rejects(phiseal.generateKeyPair(), notInit);
  await assert.rejects(phiseal.generateIndexKey(), notInit);
  await assert.rejects(phiseal.generateAuthorKey(), notInit);
  await assert.rejects(phiseal.importAuthorKey(new Uint8Array(8)), notInit);
  await assert.rejects(phiseal.sealRecord({}, { schema: { id: 's', version: 1, fields: {} }, recordId: 'r', recipients: [], author: undefined }), notInit);
  await assert.rejects(phiseal.openRecord({}, { schema: { id: 's', version: 1, fields: {} }, privateKey: undefined, recordId: 'r', authors: [] }), notInit);
  assert.throws(() => phiseal.importPublicKey('x'), notInit);
});
