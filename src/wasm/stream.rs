//! Encrypted-stream bindings (docs/FORMAT.md §8), wrapping
//! [`crate::media::stream`]. `js/stream.js` drives them from a
//! `TransformStream`: either `push`/`finish` (AES-GCM in wasm) or
//! `pushSegments`/`finishSegment` with a non-extractable WebCrypto key from
//! `webCryptoKey()` (AES-GCM in WebCrypto). Header, nonces, last flags and
//! framing always come from Rust, so both give the same bytes.

use crate::browser::scrub::future_to_promise;
use js_sys::{Array, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;

use super::args;
use super::author::WasmAuthorKey;
use super::error::{IntoJs as _, JsResult, to_js};
use super::keys::WasmPrivateKey;
use std::rc::Rc;

use crate::browser::provider::{self, Provider, SignerHandle};
use crate::browser::webcrypto;
use crate::error::{Error, ErrorCode};
use crate::keys::PublicKey;
use crate::media::stream::{
    MAX_SEGMENT_SIZE, PlainSegment, SealedSegment, StreamDecryptor, StreamEncryptor, StreamHeader,
};

/// `[{jwk}]` as JSON text (built by `js/`).
fn recipients_arg(value: &JsValue) -> JsResult<Vec<PublicKey>> {
    const SHAPE: Error = Error::new(ErrorCode::InvalidArgument, "recipients must be [{jwk}] (built by js/)");
    Ok(args::recipients(value, SHAPE, |_| Ok(()))?.into_iter().map(|(key, ())| key).collect())
}

fn segment_size_arg(value: &JsValue) -> JsResult<usize> {
    Ok(args::integer(value, MAX_SEGMENT_SIZE as u32, "segmentSize must be an integer from 1024 to 16777216")? as usize)
}

/// Imports a segment key into WebCrypto as a non-extractable AES-GCM key;
/// the JS copy of the bytes is wiped once `importKey` has taken its copy.
fn import_aes_key(raw: &[u8], usage: &str) -> JsResult<Promise> {
    let subtle = webcrypto::subtle()
        .ok_or_else(|| to_js(Error::new(ErrorCode::Unsupported, "WebCrypto (crypto.subtle) is not available here")))?;
    let platform = |_| to_js(Error::new(ErrorCode::Platform, "WebCrypto operation failed"));
    let alg = Object::new();
    Reflect::set(&alg, &"name".into(), &"AES-GCM".into()).map_err(platform)?;
    let view = Uint8Array::from(raw);
    let promise = subtle.import_key_with_object("raw", &view, &alg, false, &Array::of1(&usage.into()));
    view.fill(0, 0, view.length());
    promise.map_err(platform)
}

fn plain_job(s: PlainSegment) -> Array {
    Array::of2(&Uint8Array::from(&s.nonce[..]), &Uint8Array::from(&s.plaintext[..]))
}

fn sealed_job(s: SealedSegment) -> Array {
    Array::of2(&Uint8Array::from(&s.nonce[..]), &Uint8Array::from(&s.ciphertext[..]))
}

/// `[{jwk}]`: the trusted author keys (built by `js/`).
fn authors_arg(value: &JsValue) -> JsResult<Vec<PublicKey>> {
    const SHAPE: Error = Error::new(ErrorCode::InvalidArgument, "authors must be [{jwk}] (built by js/)");
    let authors: Vec<PublicKey> =
        args::recipients(value, SHAPE, |_| Ok(()))?.into_iter().map(|(key, ())| key).collect();
    if authors.is_empty() {
        return Err(to_js(SHAPE));
    }
    Ok(authors)
}

/// Encrypts one stream, signed by its author.
#[wasm_bindgen(js_name = StreamEncryptor)]
pub struct WasmStreamEncryptor(StreamEncryptor, Rc<SignerHandle>);

#[wasm_bindgen(js_class = StreamEncryptor)]
impl WasmStreamEncryptor {
    /// A stream to `recipients` (JSON `[{jwk}]`) signed by `author`; HPKE with `provider`.
    pub fn create(
        recipients: JsValue,
        segment_size: JsValue,
        provider: JsValue,
        author: &WasmAuthorKey,
    ) -> JsResult<Promise> {
        let recipients = recipients_arg(&recipients)?;
        let provider = Provider::parse(&args::string(&provider, "provider must be a string")?).js()?;
        let signer = author.0.clone();
        let (plan, jobs) =
            StreamEncryptor::plan(&recipients, segment_size_arg(&segment_size)?, &signer.public_key()).js()?;
        Ok(future_to_promise(async move {
            let wrapped = provider::run_wrap_jobs(provider, &jobs).await.js()?;
            let plan = plan.finish(&wrapped).js()?;
            let signature = signer.sign(&plan.message()).await.js()?;
            Ok(Self(plan.finish(&signature).js()?, signer).into())
        }))
    }

    /// Adds a segment sealed in WebCrypto to the transcript the trailer signs (every one, in order).
    pub fn absorb(&mut self, ciphertext: JsValue) -> JsResult<()> {
        self.0.absorb(&args::bytes(&ciphertext, "ciphertext must be a Uint8Array")?).js()
    }

    /// After the final segment: resolves to the trailer (the author's signature), the stream's last bytes.
    #[wasm_bindgen(js_name = signTrailer)]
    pub fn sign_trailer(&mut self) -> JsResult<Promise> {
        let message = self.0.trailer_message().js()?;
        let signer = self.1.clone();
        Ok(future_to_promise(async move {
            let signature = signer.sign(&message).await.js()?;
            Ok(Uint8Array::from(&signature[..]).into())
        }))
    }

    /// The header, once (`undefined` afterwards).
    #[wasm_bindgen(js_name = takeHeader)]
    pub fn take_header(&mut self) -> Option<Vec<u8>> {
        self.0.take_header()
    }

    /// Encrypts in wasm: header (first time) and completed segments.
    pub fn push(&mut self, chunk: JsValue) -> JsResult<Vec<u8>> {
        self.0.push(&args::bytes(&chunk, "chunk must be a Uint8Array")?).js()
    }

    /// Ends the stream in wasm: header (if not yet out) and final segment.
    pub fn finish(&mut self) -> JsResult<Vec<u8>> {
        self.0.finish().js()
    }

    /// Completed non-final segments as `[nonce, plaintext]` pairs, for WebCrypto.
    #[wasm_bindgen(js_name = pushSegments)]
    pub fn push_segments(&mut self, chunk: JsValue) -> JsResult<Array> {
        let segments = self.0.push_segments(&args::bytes(&chunk, "chunk must be a Uint8Array")?).js()?;
        Ok(segments.into_iter().map(plain_job).collect())
    }

    /// The final segment as a `[nonce, plaintext]` pair, for WebCrypto.
    #[wasm_bindgen(js_name = finishSegment)]
    pub fn finish_segment(&mut self) -> JsResult<Array> {
        self.0.finish_segment().map(plain_job).js()
    }

    /// The AAD of every segment.
    #[wasm_bindgen(getter)]
    pub fn aad(&self) -> Vec<u8> {
        self.0.aad().to_vec()
    }

    /// Plaintext bytes buffered.
    #[wasm_bindgen(getter, js_name = bufferedLength)]
    pub fn buffered_length(&self) -> u32 {
        u32::try_from(self.0.buffered_len()).unwrap_or(u32::MAX)
    }

    /// The segment key as a non-extractable WebCrypto AES-GCM key (once).
    #[wasm_bindgen(js_name = webCryptoKey)]
    pub fn web_crypto_key(&mut self) -> JsResult<Promise> {
        import_aes_key(&self.0.export_segment_key().js()?[..], "encrypt")
    }
}

/// Decrypts one stream (after its header was opened with `open`).
#[wasm_bindgen(js_name = StreamDecryptor)]
pub struct WasmStreamDecryptor(StreamDecryptor);

#[wasm_bindgen(js_class = StreamDecryptor)]
impl WasmStreamDecryptor {
    /// The header length at the start of `bytes`, `undefined` if more are needed.
    #[wasm_bindgen(js_name = headerLength)]
    pub fn header_length(bytes: JsValue) -> JsResult<Option<u32>> {
        let n = StreamHeader::length(&args::bytes(&bytes, "bytes must be a Uint8Array")?).js()?;
        Ok(n.map(|n| u32::try_from(n).unwrap_or(u32::MAX)))
    }

    /// Reads a complete header, checks that one of `authors` (JSON `[{jwk}]`)
    /// signed it, and unwraps the content key with `key` (WebCrypto or wasm,
    /// wherever the key lives).
    pub fn open(header: JsValue, key: &WasmPrivateKey, authors: JsValue) -> JsResult<Promise> {
        let authors = authors_arg(&authors)?;
        let bytes = args::bytes(&header, "header must be a Uint8Array")?;
        let (header, n) = StreamHeader::parse(&bytes).js()?.ok_or_else(|| to_js(Error::DECRYPT_FAILED))?;
        if n != bytes.len() {
            return Err(to_js(Error::new(ErrorCode::InvalidArgument, "header must be exactly the stream header")));
        }
        let verify = header.verify_job(&authors).js()?;
        let job = header.unwrap_job(key.0.public_key()).js()?;
        let key = key.0.clone();
        Ok(future_to_promise(async move {
            let verified = provider::verify(&verify).await.js()?;
            let unwrapped = provider::run_unwrap_jobs(&key, core::slice::from_ref(&job)).await;
            let ck = unwrapped.and_then(|mut keys| keys.pop().ok_or(Error::DECRYPT_FAILED));
            Ok(Self(StreamDecryptor::from_unwrapped(&header, &verify, &verified, ck).js()?).into())
        }))
    }

    /// Decrypts in wasm: plaintext of every authenticated segment so far.
    pub fn push(&mut self, chunk: JsValue) -> JsResult<Vec<u8>> {
        self.0.push(&args::bytes(&chunk, "chunk must be a Uint8Array")?).js()
    }

    /// Ends the stream in wasm: the final segment's plaintext.
    pub fn finish(&mut self) -> JsResult<Vec<u8>> {
        self.0.finish().js()
    }

    /// Completed non-final segments as `[nonce, ciphertext]` pairs, for WebCrypto.
    #[wasm_bindgen(js_name = pushSegments)]
    pub fn push_segments(&mut self, chunk: JsValue) -> JsResult<Array> {
        let segments = self.0.push_segments(&args::bytes(&chunk, "chunk must be a Uint8Array")?).js()?;
        Ok(segments.into_iter().map(sealed_job).collect())
    }

    /// The final segment as a `[nonce, ciphertext]` pair, for WebCrypto.
    #[wasm_bindgen(js_name = finishSegment)]
    pub fn finish_segment(&mut self) -> JsResult<Array> {
        self.0.finish_segment().map(sealed_job).js()
    }

    /// The AAD of every segment.
    #[wasm_bindgen(getter)]
    pub fn aad(&self) -> Vec<u8> {
        self.0.aad().map(|a| a.to_vec()).unwrap_or_default()
    }

    /// Ciphertext bytes buffered (at most one segment).
    #[wasm_bindgen(getter, js_name = bufferedLength)]
    pub fn buffered_length(&self) -> u32 {
        u32::try_from(self.0.buffered_len()).unwrap_or(u32::MAX)
    }

    /// The segment key as a non-extractable WebCrypto AES-GCM key (once).
    #[wasm_bindgen(js_name = webCryptoKey)]
    pub fn web_crypto_key(&mut self) -> JsResult<Promise> {
        import_aes_key(&self.0.export_segment_key().js()?[..], "decrypt")
    }
}
