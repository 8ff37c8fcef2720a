// Shared helpers for the Node tests (they run against the built package).
import * as phiseal from '../../js/index.js';

// phiseal's rule: await init() once before anything else (README).
await phiseal.init();

export { phiseal };
export const te = new TextEncoder();
export const td = new TextDecoder();
export const bytes = (s) => te.encode(s);
export const rand = (n) => crypto.getRandomValues(new Uint8Array(n));
export const hex = (b) => Buffer.from(b).toString('hex');
export const PSK = bytes('0123456789abcdef0123456789abcdef-psk');
export const PSK_ID = bytes('psk-id-1');

/** The four RFC 9180 modes as phiseal option sets. */
export async function modes() {
  const sender = await phiseal.generateKeyPair({ provider: 'wasm', extractable: true });
  return [
    { name: 'base', seal: {}, open: {} },
    { name: 'psk', seal: { psk: PSK, pskId: PSK_ID }, open: { psk: PSK, pskId: PSK_ID } },
    { name: 'auth', seal: { senderKey: sender.privateKey }, open: { senderPublicKey: sender.publicKey }, sender },
    {
      name: 'auth_psk',
      seal: { senderKey: sender.privateKey, psk: PSK, pskId: PSK_ID },
      open: { senderPublicKey: sender.publicKey, psk: PSK, pskId: PSK_ID },
      sender,
    },
  ];
}

/**
 * Asserts that `promiseOrFn` fails with a PhisealError of `code` (and, when
 * given, a message matching `message`: errors that must name the fix).
 */
export async function rejectsWith(assert, promiseOrFn, code, message) {
  let error;
  try {
    await (typeof promiseOrFn === 'function' ? promiseOrFn() : promiseOrFn);
  } catch (e) {
    error = e;
  }
  assert.ok(error, `expected a PhisealError ${code}, but the call succeeded`);
  assert.ok(error instanceof phiseal.PhisealError, `expected PhisealError, got ${error?.name}: ${error?.message}`);
  assert.equal(error.code, code, error.message);
  if (message !== undefined) assert.match(error.message, message);
  return error;
}
