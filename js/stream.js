// phiseal streams: encrypted recordings, media files and uploads at rest
// (docs/FORMAT.md §8). STREAM-style chunked AES-256-GCM: segments of
// `segmentSize` bytes (default 64 KiB), the last one flagged, a fresh content
// key wrapped with HPKE (P-384) to each recipient.
//
//   const sealed = encryptStream(file.stream(), { recipients: [clinicianKey] });
//   await fetch(url, { method: 'PUT', body: sealed, duplex: 'half' });
//   const plain = decryptStream(response.body, { privateKey });
//
// Header, nonces, last flags and framing always come from the wasm core. The
// per-segment AES-GCM runs in WebCrypto when `crypto.subtle` exists (the
// segment key is derived in wasm and imported once as a non-extractable
// CryptoKey), else in wasm (`provider: 'wasm'` forces it); both give the same
// bytes. Memory stays bounded: about one segment is buffered on each side,
// and TransformStream backpressure holds the source back.
//
// What JavaScript cannot guarantee: plaintext is released segment by segment
// as it authenticates, and only a stream that *ends without error* is
// complete — a consumer must discard what it received from a stream that
// errors (truncation is reported at the end, as DECRYPT_FAILED).

import { ErrorCode, PhisealError, invalidArgument } from './errors.js';
import { certifiedAuthors, certifiedRecipients, trustArg } from './trust.js';
import { authorsArg, isA, options, privateKeyArg, providerArg, recipientKeyArg, requireCapability, useFullBuild, wasm } from './internal.js';

useFullBuild();

/** Segment sizes (plaintext bytes per segment). */
export const StreamSegmentSize = Object.freeze({ DEFAULT: 65536, MIN: 1024, MAX: 16777216 });

const MAX_HEADER_LEN = 87 + 64 * 177 + 128;

function recipientsArg(recipients) {
  if (!Array.isArray(recipients) || recipients.length === 0) throw invalidArgument('recipients must be a non-empty array of PublicKeys');
  return JSON.stringify(recipients.map((r) => ({ jwk: recipientKeyArg(r, 'a PublicKey').toJwk() })));
}

function segmentSizeArg(value) {
  const n = value ?? StreamSegmentSize.DEFAULT;
  if (!Number.isInteger(n) || n < StreamSegmentSize.MIN || n > StreamSegmentSize.MAX) {
    throw invalidArgument('segmentSize must be an integer from 1024 to 16777216');
  }
  return n;
}

function readableArg(value) {
  if (value instanceof ReadableStream) return value;
  if (typeof Blob !== 'undefined' && value instanceof Blob) return value.stream();
  throw invalidArgument('input must be a ReadableStream or Blob');
}

function chunkArg(chunk) {
  if (chunk instanceof Uint8Array) return chunk;
  if (chunk instanceof ArrayBuffer) return new Uint8Array(chunk);
  if (ArrayBuffer.isView(chunk)) return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  throw invalidArgument('stream chunks must be Uint8Array, ArrayBuffer or ArrayBufferView');
}

/** Whether the segment AES-GCM runs in WebCrypto for this provider. */
function useWebCrypto(provider) {
  const subtle = globalThis.crypto?.subtle;
  if (provider === 'wasm') return false;
  if (provider === 'webcrypto' && !subtle) throw new PhisealError('WebCrypto (crypto.subtle) is not available here', ErrorCode.UNSUPPORTED);
  return Boolean(subtle);
}

async function platform(p, code = ErrorCode.PLATFORM, message = 'WebCrypto operation failed') {
  try {
    return await p;
  } catch (e) {
    if (e instanceof PhisealError) throw e;
    throw new PhisealError(message, code);
  }
}

const gcm = (nonce, aad) => ({ name: 'AES-GCM', iv: nonce, additionalData: aad, tagLength: 128 });

/** A TransformStream that encrypts with `makeEncryptor()` (a Promise of a wasm StreamEncryptor). */
function encryptTransform(makeEncryptor, webcrypto) {
  let enc;
  let key;
  let aad;
  const sealAll = async (jobs, controller) => {
    const cts = await Promise.all(jobs.map(([nonce, pt]) => platform(crypto.subtle.encrypt(gcm(nonce, aad), key, pt)).finally(() => pt.fill(0))));
    for (const ct of cts) {
      const bytes = new Uint8Array(ct);
      enc.absorb(bytes);
      controller.enqueue(bytes);
    }
  };
  return new TransformStream({
    async start() {
      enc = await makeEncryptor();
      if (webcrypto) {
        key = await platform(enc.webCryptoKey());
        aad = enc.aad;
      }
    },
    async transform(chunk, controller) {
      const data = chunkArg(chunk);
      if (!webcrypto) {
        const out = enc.push(data);
        if (out.length > 0) controller.enqueue(out);
        return;
      }
      const header = enc.takeHeader();
      if (header !== undefined) controller.enqueue(header);
      await sealAll(enc.pushSegments(data), controller);
    },
    async flush(controller) {
      if (!webcrypto) {
        controller.enqueue(enc.finish());
      } else {
        const header = enc.takeHeader();
        if (header !== undefined) controller.enqueue(header);
        await sealAll([enc.finishSegment()], controller);
      }
      // The author's signature over the header and every segment: the stream's last 96 bytes.
      controller.enqueue(await enc.signTrailer());
      enc.free();
    },
  });
}

/**
 * Encrypts a stream of bytes to `recipients` (PublicKeys), signed by `author`.
 * @param {ReadableStream<Uint8Array> | Blob} readable
 * @param {{recipients: Array, author: AuthorKey, segmentSize?: number, provider?: 'auto'|'webcrypto'|'wasm'}} opts
 * @returns {ReadableStream<Uint8Array>} the encrypted stream (errors with a PhisealError)
 */
export function encryptStream(readable, opts) {
  const { input, size, provider, webcrypto, recipients, author } = encryptArgs(readable, opts);
  return input.pipeThrough(encryptTransform(async () => wasm.StreamEncryptor.create(await recipients(), size, provider, author), webcrypto));
}

/** The checked arguments shared by the encrypting entry points. */
function encryptArgs(readable, opts) {
  requireCapability('media');
  const o = options(opts, 'options');
  const input = readableArg(readable);
  const size = segmentSizeArg(o.segmentSize);
  const provider = providerArg(o.provider);
  const webcrypto = useWebCrypto(provider);
  const trust = trustArg(o.trust);
  // With trust: recipients are certificates for "encrypt" (groups do not apply to streams), checked before the
  // stream starts; a refusal errors the stream. Without: checked now.
  const plain = trust ? null : recipientsArg(o.recipients);
  const certified = trust ? certifiedRecipients(trust, o.recipients, []).then((rs) => recipientsArg(rs.map((r) => r.publicKey))) : null;
  certified?.catch(() => {}); // reported through the stream, not as an unhandled rejection
  if (!isA(o.author, 'AuthorKey')) throw invalidArgument('author is required: the AuthorKey that signs the stream (generateAuthorKey())');
  return { o, input, size, provider, webcrypto, recipients: async () => plain ?? certified, author: o.author };
}

/**
 * Decrypts a phiseal stream by one of `authors` with a recipient's private
 * key. Plaintext comes out segment by segment as each authenticates (the
 * header's author signature is checked before any); the final segment comes
 * out only once the author's trailer signature over the whole stream
 * verifies, so a stream is complete and authentic only when the output ends
 * without error. Errors: UNTRUSTED_AUTHOR, NOT_RECIPIENT, INVALID_SIGNATURE,
 * DECRYPT_FAILED (tampering or truncation).
 * @param {ReadableStream<Uint8Array> | Blob} readable
 * @param {{privateKey: PrivateKey, authors: PublicKey[], provider?: 'auto'|'webcrypto'|'wasm'}} opts
 * @returns {ReadableStream<Uint8Array>}
 */
export function decryptStream(readable, opts) {
  requireCapability('media');
  const o = options(opts, 'options');
  const input = readableArg(readable);
  const provider = providerArg(o.provider);
  const webcrypto = useWebCrypto(provider);
  const privateKey = privateKeyArg(o.privateKey, 'privateKey');
  const trust = trustArg(o.trust);
  // With trust: author certificates for "sign", checked before the header is opened (a refusal errors the stream).
  const plainAuthors = trust ? null : JSON.stringify(authorsArg(o.authors, null));
  const certified = trust ? certifiedAuthors(trust, o.authors).then((c) => JSON.stringify(authorsArg(c.ok.map((k) => k.publicKey), c))) : null;
  certified?.catch(() => {}); // reported through the stream
  const authors = async () => plainAuthors ?? certified;
  let dec;
  let key;
  let aad;
  let pending = new Uint8Array(0);
  const openAll = async (jobs, controller) => {
    const pts = await Promise.all(
      jobs.map(([nonce, ct]) => platform(crypto.subtle.decrypt(gcm(nonce, aad), key, ct), ErrorCode.DECRYPT_FAILED, 'decryption failed')),
    );
    for (const pt of pts) controller.enqueue(new Uint8Array(pt));
  };
  const body = async (data, controller) => {
    if (!webcrypto) {
      const out = dec.push(data);
      if (out.length > 0) controller.enqueue(out);
    } else {
      await openAll(dec.pushSegments(data), controller);
    }
  };
  return input.pipeThrough(
    new TransformStream({
      async transform(chunk, controller) {
        const data = chunkArg(chunk);
        if (dec) return body(data, controller);
        // Header: gather only up to its length, then open it.
        const joined = new Uint8Array(pending.length + data.length);
        joined.set(pending);
        joined.set(data, pending.length);
        const n = wasm.StreamDecryptor.headerLength(joined.subarray(0, Math.min(joined.length, MAX_HEADER_LEN)));
        if (n === undefined) {
          pending = joined;
          return undefined;
        }
        pending = new Uint8Array(0);
        dec = await wasm.StreamDecryptor.open(joined.slice(0, n), privateKey, await authors());
        if (webcrypto) {
          key = await platform(dec.webCryptoKey());
          aad = dec.aad;
        }
        if (joined.length > n) await body(joined.subarray(n), controller);
        return undefined;
      },
      async flush(controller) {
        if (!dec) throw new PhisealError('decryption failed', ErrorCode.DECRYPT_FAILED);
        if (!webcrypto) {
          const out = dec.finish();
          if (out.length > 0) controller.enqueue(out);
        } else {
          await openAll([dec.finishSegment()], controller);
        }
        dec.free();
      },
    }),
  );
}

/**
 * Encrypts a Blob (or File); resolves to the encrypted Blob.
 * @param {Blob} blob
 * @param {{recipients: Array, segmentSize?: number, provider?: string}} opts
 * @returns {Promise<Blob>}
 */
export async function encryptBlob(blob, opts) {
  if (!(blob instanceof Blob)) throw invalidArgument('blob must be a Blob');
  return collect(encryptStream(blob.stream(), opts), 'application/octet-stream');
}

/**
 * Decrypts a Blob; resolves to the plaintext Blob (`type` from opts.type).
 * @param {Blob} blob
 * @param {{privateKey: PrivateKey, type?: string, provider?: string}} opts
 * @returns {Promise<Blob>}
 */
export async function decryptBlob(blob, opts) {
  if (!(blob instanceof Blob)) throw invalidArgument('blob must be a Blob');
  const o = options(opts, 'options');
  return collect(decryptStream(blob.stream(), o), typeof o.type === 'string' ? o.type : '');
}

async function collect(stream, type) {
  const parts = [];
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
  }
  return new Blob(parts, { type });
}
