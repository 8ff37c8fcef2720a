// 'phiseal/devices': device linking (issue #20, docs/FORMAT.md §10): an existing device of a
// clinician enrols a new one through a server that relays the messages and
// may sit in the middle. The new device commits to its key before it sees
// the existing device's; both then show a 6-digit code over both keys and
// both nonces, and the people compare the two screens. A server that swaps
// either key must guess the other side's nonce: it matches with probability
// 10^-6 per attempt, and an attempt is visible (a code that differs).
//
//   new device                      server            existing device
//   link = await DeviceLink.create()
//   m1 = await link.commit()        ──────────────▶   link = await DeviceLink.create({privateKey: myKey})
//                                   ◀──────────────   m2 = await link.hello(m1)
//   m3 = await link.reveal(m2)      ──────────────▶   await link.accept(m3)
//   link.code ===================== (people compare) ================== link.code
//   link.confirm()                                    link.confirm()
//                                                     link.peer: the new device's PublicKey, to add as a
//                                                     recipient of records (addRecipient, rewrapRecord) and
//                                                     of index keys (sealIndexKey); link.sealTo(bytes) for others
//   link.open(package)              ◀──────────────   package = await link.sealTo(bytes)
//
// Keys never move: each device has its own non-extractable key, and what the
// existing device can open, it rewraps to the new key. Before confirm(),
// `peer`, sealTo and open throw MISUSE.

import { ErrorCode, PhisealError, invalidArgument } from './errors.js';
import { generateKeyPair, hpkeOpen, hpkeSeal, importPublicKey } from './api.js';
import { isA, options } from './internal.js';

const VERSION = 1;
const COMMIT_LABEL = 'phiseal-device-link-v1 commit';
const CODE_LABEL = 'phiseal-device-link-v1 code';
const SEAL_INFO = 'phiseal-device-link-v1 transfer';
const NONCE_LEN = 32;

const te = new TextEncoder();
const b64u = (bytes) => btoa(String.fromCharCode(...bytes)).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
function unb64u(text, what) {
  if (typeof text !== 'string' || !/^[A-Za-z0-9_-]*$/.test(text)) throw new PhisealError(`${what}: not base64url`, ErrorCode.MALFORMED_INPUT);
  const bin = atob(text.replaceAll('-', '+').replaceAll('_', '/') + '='.repeat((4 - (text.length % 4)) % 4));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

/** `str8(label) ‖ parts…`, each part as u16 length ‖ bytes. */
function framed(label, ...parts) {
  const l = te.encode(label);
  const out = [l.length, ...l];
  for (const p of parts) out.push(p.length >> 8, p.length & 0xff, ...p);
  return new Uint8Array(out);
}

const sha384 = async (bytes) => new Uint8Array(await crypto.subtle.digest('SHA-384', bytes));
const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

function message(m, type) {
  const o = options(m, 'message');
  if (o.v !== VERSION || o.type !== type) throw new PhisealError(`expected a ${type} message, version ${VERSION}`, ErrorCode.MALFORMED_INPUT);
  return o;
}

function keyOf(jwk) {
  try {
    return importPublicKey(jwk);
  } catch (e) {
    throw new PhisealError(`device link: ${e.message}`, ErrorCode.INVALID_KEY);
  }
}

/** One side of a device link (docs/FORMAT.md §10). */
export class DeviceLink {
  #role;
  #key;
  #nonce = crypto.getRandomValues(new Uint8Array(NONCE_LEN));
  #peer = null;
  #peerNonce = null;
  #commitment = null;
  #code = null;
  #transcript = null;
  #confirmed = false;

  constructor(key, role) {
    this.#key = key;
    this.#role = role;
  }

  /**
   * The new device: `{}` makes its key pair (non-extractable in WebCrypto);
   * the existing device: `{privateKey}` (its own long-term key).
   */
  static async create(opts) {
    const o = options(opts, 'options');
    if (o.privateKey !== undefined) {
      if (!isA(o.privateKey, 'PrivateKey')) throw invalidArgument('privateKey must be a PrivateKey (the existing device\'s key)');
      return new DeviceLink(o.privateKey, 'existing');
    }
    return new DeviceLink((await generateKeyPair()).privateKey, 'new');
  }

  /** This device's key (the new device keeps it: it is its key from now on). */
  get privateKey() {
    return this.#key;
  }

  /** The 6-digit code to compare, once both keys and nonces are known (null before). */
  get code() {
    return this.#code;
  }

  /** SHA-384 of the transcript, hex: the same on both devices exactly when the codes are (for machines). */
  get fingerprint() {
    return this.#transcript && [...this.#transcript].map((x) => x.toString(16).padStart(2, '0')).join('');
  }

  /** The other device's PublicKey, after confirm(); MISUSE before. */
  get peer() {
    if (!this.#confirmed) throw new PhisealError('compare the codes on both screens and call confirm() first', ErrorCode.MISUSE);
    return this.#peer;
  }

  #need(role, step) {
    if (this.#role !== role) throw new PhisealError(`${step} is the ${role} device's step`, ErrorCode.MISUSE);
  }

  /** New device, step 1: the commitment to its key and nonce. */
  async commit() {
    this.#need('new', 'commit');
    if (this.#commitment) throw new PhisealError('commit() runs once per link', ErrorCode.MISUSE);
    this.#commitment = await sha384(framed(COMMIT_LABEL, this.#key.publicKey.toSec1(), this.#nonce));
    return { v: VERSION, type: 'phiseal-device-commit', commitment: b64u(this.#commitment) };
  }

  /** Existing device, step 2: keeps the commitment, answers with its key and nonce. */
  async hello(commitMessage) {
    this.#need('existing', 'hello');
    if (this.#commitment) throw new PhisealError('hello() runs once per link', ErrorCode.MISUSE);
    const c = unb64u(message(commitMessage, 'phiseal-device-commit').commitment, 'commitment');
    if (c.length !== 48) throw new PhisealError('commitment: 48 bytes expected', ErrorCode.MALFORMED_INPUT);
    this.#commitment = c;
    return { v: VERSION, type: 'phiseal-device-hello', publicKey: this.#key.publicKey.toJwk(), nonce: b64u(this.#nonce) };
  }

  /** New device, step 3: reveals its key and nonce; the code is then known. */
  async reveal(helloMessage) {
    this.#need('new', 'reveal');
    if (!this.#commitment || this.#peer) throw new PhisealError('reveal() follows commit(), once', ErrorCode.MISUSE);
    const h = message(helloMessage, 'phiseal-device-hello');
    this.#peer = keyOf(h.publicKey);
    this.#peerNonce = unb64u(h.nonce, 'nonce');
    if (this.#peerNonce.length !== NONCE_LEN) throw new PhisealError('nonce: 32 bytes expected', ErrorCode.MALFORMED_INPUT);
    if (this.#peer.equals(this.#key.publicKey)) throw new PhisealError('the other device answered with this device\'s own key', ErrorCode.UNTRUSTED_AUTHOR);
    await this.#finish(this.#peer, this.#key.publicKey, this.#peerNonce, this.#nonce);
    return { v: VERSION, type: 'phiseal-device-reveal', publicKey: this.#key.publicKey.toJwk(), nonce: b64u(this.#nonce) };
  }

  /** Existing device, step 4: checks the revealed key against the commitment (CONTEXT_MISMATCH if it differs). */
  async accept(revealMessage) {
    this.#need('existing', 'accept');
    if (!this.#commitment || this.#peer) throw new PhisealError('accept() follows hello(), once', ErrorCode.MISUSE);
    const r = message(revealMessage, 'phiseal-device-reveal');
    const peer = keyOf(r.publicKey);
    const nonce = unb64u(r.nonce, 'nonce');
    if (nonce.length !== NONCE_LEN) throw new PhisealError('nonce: 32 bytes expected', ErrorCode.MALFORMED_INPUT);
    if (!same(await sha384(framed(COMMIT_LABEL, peer.toSec1(), nonce)), this.#commitment)) {
      throw new PhisealError('the revealed key is not the one the new device committed to (a relay changed it)', ErrorCode.CONTEXT_MISMATCH);
    }
    if (peer.equals(this.#key.publicKey)) throw new PhisealError('the new device revealed this device\'s own key', ErrorCode.UNTRUSTED_AUTHOR);
    this.#peer = peer;
    this.#peerNonce = nonce;
    await this.#finish(this.#key.publicKey, peer, this.#nonce, nonce);
  }

  async #finish(existing, fresh, existingNonce, freshNonce) {
    this.#transcript = await sha384(framed(CODE_LABEL, existing.toSec1(), fresh.toSec1(), existingNonce, freshNonce));
    const n = new DataView(this.#transcript.buffer).getBigUint64(0) % 1_000_000n;
    this.#code = n.toString().padStart(6, '0');
  }

  /** The people compared the codes on both screens and they match. */
  confirm() {
    if (!this.#code) throw new PhisealError('there is no code to confirm yet', ErrorCode.MISUSE);
    this.#confirmed = true;
  }

  /**
   * Existing device: seals `bytes` to the new device (HPKE auth mode from
   * this device's key; the transcript is the AAD), after confirm().
   */
  async sealTo(bytes) {
    this.#need('existing', 'sealTo');
    const peer = this.peer;
    const { enc, ciphertext } = await hpkeSeal(peer, bytes, { info: te.encode(SEAL_INFO), aad: this.#transcript, senderKey: this.#key });
    return { v: VERSION, type: 'phiseal-device-transfer', enc: b64u(enc), ciphertext: b64u(ciphertext) };
  }

  /** New device: opens what the existing device sealed to it (only from that device, for this link). */
  async open(transfer) {
    this.#need('new', 'open');
    const peer = this.peer;
    const t = message(transfer, 'phiseal-device-transfer');
    return hpkeOpen(this.#key, unb64u(t.enc, 'enc'), unb64u(t.ciphertext, 'ciphertext'), {
      info: te.encode(SEAL_INFO),
      aad: this.#transcript,
      senderPublicKey: peer,
    });
  }
}
