// Before init(): the wasm classes exported by 'phiseal' say NOT_INITIALIZED,
// never a TypeError, and instanceof is simply false. (Its own process: node
// --test runs each file separately, and nothing here calls init().)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as phiseal from '../../js/index.js';

test('wasm classes before init(): NOT_INITIALIZED, instanceof false', () => {
  for (const C of [phiseal.PublicKey, phiseal.PrivateKey, phiseal.SigningKey]) {
    assert.equal({} instanceof C, false);
    assert.throws(() => C.generate(), (e) => e instanceof phiseal.PhisealError && e.code === phiseal.ErrorCode.NOT_INITIALIZED);
  }
});
