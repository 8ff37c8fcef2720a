//! SFrame (RFC 9605) bindings for media end-to-end encryption: a sender and
//! a receiver keyring, wrapping [`crate::media::sframe`]. Used by
//! `js/media-worker.js` inside `RTCRtpScriptTransform` / encoded streams.
//!
//! Frames may keep a clear prefix of `clearPrefix` bytes (e.g. the VP8
//! payload header, so that RTP packetizers and SFUs can still read it): the
//! wire frame is `prefix || SFrame(header || ct || tag)` and the prefix is
//! the SFrame metadata, i.e. authenticated as AAD (RFC 9605 §4.4.3). A frame
//! shorter than the prefix is left wholly in the prefix.
//!
//! Receiving never throws for a bad frame: [`WasmSframeReceiver::decrypt`]
//! returns `undefined` and counts the reason, so a media pipeline drops the
//! frame. Argument errors still throw.

use js_sys::{Object, Reflect};
use wasm_bindgen::prelude::*;

use super::args;
use super::error::{IntoJs as _, JsResult};
use crate::error::{Error, ErrorCode};
use crate::media::sframe::{
    CipherSuite, MAX_SENDER_ID, PendingFrame, REPLAYED_FRAME, STALE_FRAME, SframeReceiver, SframeSender, UNKNOWN_KID,
    split_kid,
};

/// Frames begun but not completed, at most (older ones are forgotten).
const MAX_PENDING: usize = 64;

fn object(entries: &[(&str, JsValue)]) -> JsResult<JsValue> {
    let obj = Object::new();
    for (k, v) in entries {
        Reflect::set(&obj, &JsValue::from_str(k), v)?;
    }
    Ok(obj.into())
}

/// Largest clear prefix accepted (bytes); codec headers are far shorter.
const MAX_CLEAR_PREFIX: u32 = 0xFFFF;
/// The largest sender id JavaScript can pass exactly (2^53 - 1 < 2^56 - 1).
const _: () = assert!(MAX_SENDER_ID >= (1 << 53) - 1);

fn suite_arg(suite: &JsValue) -> JsResult<CipherSuite> {
    let id = args::integer(suite, 0xFFFF, "suite must be an RFC 9605 cipher suite id (1 to 5)")?;
    CipherSuite::from_id(id as u16).js()
}

/// Where `frame` splits into its clear prefix and the rest: `min(prefix, len)`.
fn split_at(frame: &[u8], prefix: &JsValue) -> JsResult<usize> {
    let n = args::integer(prefix, MAX_CLEAR_PREFIX, "clearPrefix must be an integer from 0 to 65535")? as usize;
    Ok(n.min(frame.len()))
}

/// Encrypts media frames for one sender (phiseal KID layout: sender id and
/// key epoch). It owns the frame counter: never create two for the same
/// sender id, epoch and base key.
#[wasm_bindgen(js_name = SframeSender)]
pub struct WasmSframeSender {
    inner: SframeSender,
    encrypted: u64,
}

#[wasm_bindgen(js_class = SframeSender)]
impl WasmSframeSender {
    /// A sender for `senderId` at `epoch` with `baseKey` (at least 16 bytes).
    #[wasm_bindgen(constructor)]
    pub fn new(suite: JsValue, sender_id: JsValue, epoch: JsValue, base_key: JsValue) -> JsResult<WasmSframeSender> {
        let suite = suite_arg(&suite)?;
        let sender_id = args::safe_u64(&sender_id, "senderId must be a safe integer >= 0")?;
        let epoch = args::safe_u64(&epoch, "epoch must be a safe integer >= 0")?;
        let base_key = zeroize::Zeroizing::new(args::bytes(&base_key, "baseKey must be a Uint8Array")?);
        let inner = SframeSender::for_member(suite, sender_id, epoch, &base_key).js()?;
        Ok(Self { inner, encrypted: 0 })
    }

    /// Encrypts one frame, leaving its first `clearPrefix` bytes in clear
    /// (and authenticated): `prefix || SFrame ciphertext`.
    pub fn encrypt(&mut self, frame: JsValue, clear_prefix: JsValue) -> JsResult<Vec<u8>> {
        let frame = args::bytes(&frame, "frame must be a Uint8Array")?;
        let n = split_at(&frame, &clear_prefix)?;
        let (clear, payload) = frame.split_at(n);
        let sealed = self.inner.encrypt(clear, payload).js()?;
        self.encrypted += 1;
        Ok([clear, sealed.as_slice()].concat())
    }

    /// For the AES-GCM suites, where the AES-GCM runs in WebCrypto: takes the
    /// next counter for a frame whose clear prefix is `clear` and returns
    /// `{header, nonce, aad}`; the wire frame is `clear || header ||
    /// AES-GCM(aeadKey, nonce, aad, rest)`, byte for byte what `encrypt` gives.
    pub fn prepare(&mut self, clear: JsValue) -> JsResult<JsValue> {
        let clear = args::bytes(&clear, "clear prefix must be a Uint8Array")?;
        let p = self.inner.prepare(&clear).js()?;
        self.encrypted += 1;
        object(&[
            ("header", js_sys::Uint8Array::from(p.header.as_slice()).into()),
            ("nonce", js_sys::Uint8Array::from(&p.nonce[..]).into()),
            ("aad", js_sys::Uint8Array::from(p.aad.as_slice()).into()),
        ])
    }

    /// The raw AES-GCM key for `prepare` (AES-GCM suites), or `undefined`.
    #[wasm_bindgen(js_name = aeadKey)]
    pub fn aead_key(&self) -> Option<Vec<u8>> {
        self.inner.aead_key().map(|k| k.to_vec())
    }

    /// Next epoch by the RFC 9605 §5.1 ratchet; returns the new epoch.
    pub fn ratchet(&mut self) -> JsResult<f64> {
        self.inner.ratchet().map(|e| e as f64).js()
    }

    /// Next epoch with a fresh base key (`epoch` must increase).
    pub fn rekey(&mut self, epoch: JsValue, base_key: JsValue) -> JsResult<()> {
        let epoch = args::safe_u64(&epoch, "epoch must be a safe integer >= 0")?;
        let base_key = zeroize::Zeroizing::new(args::bytes(&base_key, "baseKey must be a Uint8Array")?);
        self.inner.rekey(epoch, &base_key).js()
    }

    /// The RFC 9605 cipher suite id.
    #[wasm_bindgen(getter)]
    pub fn suite(&self) -> u16 {
        self.inner.suite().id()
    }
    /// The KID in every frame (`senderId << 8 | epoch mod 256`).
    #[wasm_bindgen(getter)]
    pub fn kid(&self) -> f64 {
        self.inner.kid() as f64
    }
    /// The sender id (the KID without its epoch bits).
    #[wasm_bindgen(getter, js_name = senderId)]
    pub fn sender_id(&self) -> f64 {
        split_kid(self.inner.kid()).0 as f64
    }
    /// The current key epoch.
    #[wasm_bindgen(getter)]
    pub fn epoch(&self) -> f64 {
        self.inner.epoch().unwrap_or_default() as f64
    }
    /// Frames encrypted by this object (all epochs).
    #[wasm_bindgen(getter)]
    pub fn encrypted(&self) -> f64 {
        self.encrypted as f64
    }
}

/// Why frames were dropped, by reason.
#[derive(Default)]
struct Counters {
    decrypted: u64,
    unknown_key: u64,
    replay: u64,
    auth: u64,
    malformed: u64,
}

impl Counters {
    fn fail(&mut self, e: Error) {
        if e == UNKNOWN_KID {
            self.unknown_key += 1;
        } else if e == REPLAYED_FRAME || e == STALE_FRAME {
            self.replay += 1;
        } else if e.code() == ErrorCode::MalformedInput {
            self.malformed += 1;
        } else {
            // Wrong key for a known KID and tampering look the same (by design).
            self.auth += 1;
        }
    }
}

/// Decrypts media frames from many senders: keys by sender id and epoch,
/// replay window per key, failures counted by reason.
#[wasm_bindgen(js_name = SframeReceiver)]
pub struct WasmSframeReceiver {
    inner: SframeReceiver,
    counters: Counters,
    pending: Vec<(u32, PendingFrame)>,
    next_id: u32,
}

#[wasm_bindgen(js_class = SframeReceiver)]
impl WasmSframeReceiver {
    /// An empty keyring for one cipher suite.
    #[wasm_bindgen(constructor)]
    pub fn new(suite: JsValue) -> JsResult<WasmSframeReceiver> {
        Ok(Self {
            inner: SframeReceiver::new(suite_arg(&suite)?),
            counters: Counters::default(),
            pending: Vec::new(),
            next_id: 0,
        })
    }

    /// Installs a sender's base key at `epoch` (newer than its current one).
    #[wasm_bindgen(js_name = setKey)]
    pub fn set_key(&mut self, sender_id: JsValue, epoch: JsValue, base_key: JsValue) -> JsResult<()> {
        let sender_id = args::safe_u64(&sender_id, "senderId must be a safe integer >= 0")?;
        let epoch = args::safe_u64(&epoch, "epoch must be a safe integer >= 0")?;
        let base_key = zeroize::Zeroizing::new(args::bytes(&base_key, "baseKey must be a Uint8Array")?);
        self.pending.clear();
        self.inner.set_sender_key(sender_id, epoch, &base_key).js()
    }

    /// Follows a sender's RFC 9605 §5.1 ratchet; returns the new epoch.
    pub fn ratchet(&mut self, sender_id: JsValue) -> JsResult<f64> {
        let sender_id = args::safe_u64(&sender_id, "senderId must be a safe integer >= 0")?;
        self.pending.clear();
        self.inner.ratchet(sender_id).map(|e| e as f64).js()
    }

    /// Forgets a sender (keys zeroized); returns whether it was known.
    #[wasm_bindgen(js_name = removeKey)]
    pub fn remove_key(&mut self, sender_id: JsValue) -> JsResult<bool> {
        let sender_id = args::safe_u64(&sender_id, "senderId must be a safe integer >= 0")?;
        self.pending.clear();
        Ok(self.inner.remove_sender(sender_id))
    }

    /// Decrypts `prefix || SFrame ciphertext` to `prefix || plaintext`, or
    /// returns `undefined` (and counts why) for a frame that must be dropped.
    pub fn decrypt(&mut self, frame: JsValue, clear_prefix: JsValue) -> JsResult<Option<Vec<u8>>> {
        let frame = args::bytes(&frame, "frame must be a Uint8Array")?;
        let n = split_at(&frame, &clear_prefix)?;
        let (clear, sealed) = frame.split_at(n);
        match self.inner.decrypt(clear, sealed) {
            Ok(received) => {
                self.counters.decrypted += 1;
                Ok(Some([clear, received.plaintext.as_slice()].concat()))
            }
            Err(e) => {
                self.counters.fail(e);
                Ok(None)
            }
        }
    }

    /// First half of a decryption whose AES-GCM runs in WebCrypto (AES-GCM
    /// suites): checks the header, key and replay window of `prefix || frame`
    /// and returns `{id, kid, offset, nonce, aad}` (the ciphertext starts at
    /// `offset`), or `undefined` (counted) for a frame to drop. Nothing past
    /// `clearPrefix + 33` bytes (the longest header, 17, and a 16-byte tag) is
    /// read, so callers may pass just that much of a large frame and skip
    /// copying the rest into wasm (the answer is the same).
    pub fn begin(&mut self, frame: JsValue, clear_prefix: JsValue) -> JsResult<JsValue> {
        let frame = args::bytes(&frame, "frame must be a Uint8Array")?;
        let n = split_at(&frame, &clear_prefix)?;
        let (clear, sealed) = frame.split_at(n);
        match self.inner.begin(clear, sealed) {
            Ok(p) => {
                let id = self.next_id;
                self.next_id = self.next_id.wrapping_add(1);
                let out = object(&[
                    ("id", JsValue::from(id)),
                    ("kid", JsValue::from(p.kid as f64)),
                    ("offset", JsValue::from((n + p.header_len) as u32)),
                    ("nonce", js_sys::Uint8Array::from(&p.nonce[..]).into()),
                    ("aad", js_sys::Uint8Array::from(p.aad.as_slice()).into()),
                ])?;
                if self.pending.len() >= MAX_PENDING {
                    self.pending.remove(0);
                }
                self.pending.push((id, p));
                Ok(out)
            }
            Err(e) => {
                self.counters.fail(e);
                Ok(JsValue::UNDEFINED)
            }
        }
    }

    /// The raw AES-GCM key of a begun frame (to import into WebCrypto once per KID).
    #[wasm_bindgen(js_name = aeadKeyOf)]
    pub fn aead_key_of(&self, id: JsValue) -> JsResult<Option<Vec<u8>>> {
        let id = args::integer(&id, u32::MAX, "id must be a frame id from begin")?;
        Ok(self.pending.iter().find(|(i, _)| *i == id).map(|(_, p)| p.key.to_vec()))
    }

    /// Second half, after WebCrypto verified the tag: accepts the counter.
    /// Returns `false` (counted) if the frame must still be dropped (replayed meanwhile).
    pub fn complete(&mut self, id: JsValue) -> JsResult<bool> {
        let id = args::integer(&id, u32::MAX, "id must be a frame id from begin")?;
        let Some(i) = self.pending.iter().position(|(p, _)| *p == id) else { return Ok(false) };
        let (_, pending) = self.pending.remove(i);
        match self.inner.complete(&pending) {
            Ok(()) => {
                self.counters.decrypted += 1;
                Ok(true)
            }
            Err(e) => {
                self.counters.fail(e);
                Ok(false)
            }
        }
    }

    /// A begun frame failed authentication in WebCrypto: forget it, count it.
    pub fn fail(&mut self, id: JsValue) -> JsResult<()> {
        let id = args::integer(&id, u32::MAX, "id must be a frame id from begin")?;
        self.pending.retain(|(p, _)| *p != id);
        self.counters.fail(Error::DECRYPT_FAILED);
        Ok(())
    }

    /// `{decrypted, unknownKey, replay, auth, malformed}` since creation.
    #[wasm_bindgen(getter)]
    pub fn counters(&self) -> JsResult<JsValue> {
        let c = &self.counters;
        let out = Object::new();
        for (name, value) in [
            ("decrypted", c.decrypted),
            ("unknownKey", c.unknown_key),
            ("replay", c.replay),
            ("auth", c.auth),
            ("malformed", c.malformed),
        ] {
            Reflect::set(&out, &name.into(), &JsValue::from_f64(value as f64))?;
        }
        Ok(out.into())
    }

    /// The RFC 9605 cipher suite id.
    #[wasm_bindgen(getter)]
    pub fn suite(&self) -> u16 {
        self.inner.suite().id()
    }
}
