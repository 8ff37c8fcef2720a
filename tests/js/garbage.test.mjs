// Garbage into every exported function: the npm surface answers with a
// PhisealError (never a panic / wasm trap, never a result from bad input),
// and the raw wasm-bindgen exports never trap either.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as raw from '../../pkg/phiseal.js';
import { phiseal, bytes, rand } from './helpers.mjs';

await phiseal.init();
const { privateKey, publicKey } = await phiseal.generateKeyPair({ provider: 'wasm', extractable: true });
const author = await phiseal.generateAuthorKey({ provider: 'wasm', extractable: true });

const GARBAGE = [
  undefined, null, 0, -1, 1.5, NaN, 2 ** 53, 'text', '', true, {}, [], [1, 2, 3], () => 1, Symbol('s'), 10n,
  new Uint8Array(0), new Uint8Array(97), rand(97), rand(1000), new Uint16Array(4), new ArrayBuffer(8),
  { kty: 'EC', crv: 'P-384', x: 1, y: null }, { kty: 'EC', crv: 'P-384', x: 'AA', y: 'AA', d: 'AA' },
  '-----BEGIN PUBLIC KEY-----\n' + 'A'.repeat(200) + '\n-----END PUBLIC KEY-----',
  new Proxy({}, { get() { throw new Error('hostile getter'); } }),
];

function show(v) {
  try {
    return typeof v === 'symbol' ? v.toString() : String(v).slice(0, 40);
  } catch {
    return '<hostile object>';
  }
}

function isTrap(e) {
  return e instanceof WebAssembly.RuntimeError || /unreachable|panicked/i.test(String(e?.message));
}

async function outcome(fn) {
  try {
    return { value: await fn() };
  } catch (error) {
    return { error };
  }
}

async function stillWorks() {
  const { enc, ciphertext } = await phiseal.hpkeSeal(publicKey, bytes('ok'));
  assert.deepEqual(await phiseal.hpkeOpen(privateKey, enc, ciphertext), bytes('ok'));
}

const FACADE = {
  generateKeyPair: 1,
  importPrivateKey: 2,
  importPublicKey: 1,
  fromCryptoKey: 2,
  deriveKeyPair: 1,
  hpkeSeal: 3,
  hpkeOpen: 4,
  hpkeSetupSender: 2,
  hpkeSetupRecipient: 3,
};

test('every facade function rejects garbage with a PhisealError', async () => {
  let calls = 0;
  for (const [name, arity] of Object.entries(FACADE)) {
    for (let pos = 0; pos < arity; pos++) {
      for (const g of GARBAGE) {
        const args = [publicKey, bytes('m'), bytes('x'), bytes('y')];
        if (name === 'hpkeOpen' || name === 'hpkeSetupRecipient') args[0] = privateKey;
        if (name === 'fromCryptoKey') args[1] = publicKey;
        args[pos] = g;
        const { error } = await outcome(() => phiseal[name](...args.slice(0, arity)));
        calls++;
        assert.ok(!isTrap(error), `${name} arg ${pos}: trap ${error}`);
        // A hostile getter's own exception may propagate; nothing else but PhisealError.
        if (error && error.message !== 'hostile getter') {
          assert.ok(error instanceof phiseal.PhisealError, `${name} arg ${pos} (${show(g)}): ${error?.name} ${error?.message}`);
          assert.ok(Object.values(phiseal.ErrorCode).includes(error.code));
        }
      }
    }
  }
  assert.ok(calls > 300);
  await stillWorks();
});

test('garbage into context methods and key methods gives PhisealError', async () => {
  const { context } = await phiseal.hpkeSetupSender(publicKey);
  for (const g of GARBAGE) {
    for (const call of [() => context.seal(g), () => context.seal(bytes('m'), g), () => context.export(g, 32), () => context.export(bytes('c'), g)]) {
      const { error } = await outcome(call);
      if (g instanceof Uint8Array || g instanceof ArrayBuffer || g === undefined || g === null || (typeof g === 'number' && g >= 0 && g <= 65535 && Number.isInteger(g))) continue;
      if (error?.message === 'hostile getter') continue;
      assert.ok(error instanceof phiseal.PhisealError, `context method with ${show(g)}: ${error}`);
    }
  }
  await stillWorks();
});

test('garbage in each option of sealRecord and openRecord gives PhisealError, never a record', async () => {
  const schema = { id: 's', version: 1, fields: { note: true } };
  const seal = { schema, recordId: 'r', recipients: [publicKey], author, context: { patientId: 'p' } };
  const sealed = await phiseal.sealRecord({ note: 'x' }, seal);
  const open = { schema, privateKey, recordId: 'r', authors: [author.publicKey], context: { patientId: 'p' } };
  // The only garbage that may succeed: defaults (undefined, null), a non-empty string as the id of a
  // new record, a plain object of strings as its context, and minVersion 0 (every version is at least 1).
  const isContext = (g) => g?.constructor === Object && Object.values(g).every((v) => typeof v === 'string');
  const mayPass = {
    seal: { recordId: (g) => typeof g === 'string' && g.length > 0 && new TextEncoder().encode(g).length <= 255, author: () => false, context: (g) => g == null || isContext(g), previous: (g) => g == null },
    open: { recordId: () => false, authors: () => false, context: () => false, minVersion: (g) => g == null || g === 0, versions: (g) => g == null },
  };
  for (const g of GARBAGE) {
    for (const [name, ok] of Object.entries(mayPass.seal)) {
      const { error } = await outcome(() => phiseal.sealRecord({ note: 'x' }, { ...seal, [name]: g }));
      if (error?.message === 'hostile getter') continue;
      assert.ok(error ? error instanceof phiseal.PhisealError : ok(g), `sealRecord ${name} = ${show(g)}: ${error ?? 'sealed'}`);
    }
    for (const [name, ok] of Object.entries(mayPass.open)) {
      const { error } = await outcome(() => phiseal.openRecord(sealed, { ...open, [name]: g }));
      if (error?.message === 'hostile getter') continue;
      assert.ok(error ? error instanceof phiseal.PhisealError : ok(g), `openRecord ${name} = ${show(g)}: ${error ?? 'opened'}`);
    }
    const { error } = await outcome(() => phiseal.openRecord(sealed, { ...open, authors: [g] }));
    if (error?.message !== 'hostile getter') assert.ok(error instanceof phiseal.PhisealError, `openRecord authors = [${show(g)}]: ${error}`);
  }
  await stillWorks();
});

test('raw wasm exports never trap on garbage', async () => {
  const targets = [];
  for (const [name, value] of Object.entries(raw)) {
    if (name === 'default' || name === 'initSync' || name === 'setErrorClass') continue;
    if (typeof value !== 'function') continue;
    if (/^[A-Z]/.test(name)) {
      for (const m of Object.getOwnPropertyNames(value)) {
        if (typeof value[m] === 'function' && !['length', 'name', 'prototype', '__wrap'].includes(m)) targets.push([`${name}.${m}`, (...a) => value[m](...a)]);
      }
    } else {
      targets.push([name, value]);
    }
  }
  const methods = [
    ['PublicKey#', () => publicKey],
    ['PrivateKey#', () => privateKey],
    ['AuthorKey#', () => author],
  ];
  for (const [label, get] of methods) {
    const obj = get();
    for (const m of Object.getOwnPropertyNames(Object.getPrototypeOf(obj))) {
      if (m === 'constructor' || m === 'free' || m === '__destroy_into_raw' || m === 'clone') continue;
      const desc = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(obj), m);
      if (typeof desc.value === 'function') targets.push([`${label}${m}`, (...a) => obj[m](...a)]);
    }
  }
  assert.ok(targets.length >= 20, `only ${targets.length} raw exports found`);
  for (const [name, fn] of targets) {
    for (const g of GARBAGE) {
      for (const args of [[g], [g, g], [g, g, g, g, g, g, g, g, g, g], [rand(97), g, 'auto', true]]) {
        const { error } = await outcome(() => fn(...args));
        assert.ok(!isTrap(error), `${name}(${args.map(show).join(', ')}): trap ${error}`);
      }
    }
  }
  await stillWorks();
});
