//! HPKE bindings: single-shot seal/open and multi-message contexts.
//!
//! Optional key arguments are taken by value (wasm-bindgen cannot take
//! `Option<&T>`), so `js/` passes a `clone()` of the caller's handle.

use crate::browser::scrub::future_to_promise;
use js_sys::{Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;

use super::args;
use super::error::{IntoJs as _, JsResult};
use super::keys::{WasmPrivateKey, WasmPublicKey};
use crate::browser::provider::{self, KeyHandle, Provider};
use crate::hpke::{Psk, RecipientContext, SenderContext, Suite};
use crate::keys::PublicKey;

/// Options shared by the HPKE calls, converted once from JS arguments.
struct Opts {
    suite: Suite,
    info: Vec<u8>,
    psk: Option<(Vec<u8>, Vec<u8>)>,
}

impl Opts {
    fn new(kdf: &JsValue, aead: &JsValue, info: &JsValue, psk: &JsValue, psk_id: &JsValue) -> JsResult<Self> {
        let kdf = args::integer(kdf, 0xFFFF, "kdf must be an RFC 9180 KDF id")? as u16;
        let aead = args::integer(aead, 0xFFFF, "aead must be an RFC 9180 AEAD id")? as u16;
        let suite = Suite::from_ids(crate::hpke::KEM_P384_HKDF_SHA384, kdf, aead).js()?;
        let info = args::bytes(info, "info must be a Uint8Array")?;
        let psk = args::opt_bytes(psk, "psk must be a Uint8Array")?;
        let psk_id = args::opt_bytes(psk_id, "pskId must be a Uint8Array")?;
        let psk = match (psk, psk_id) {
            (None, None) => None,
            (Some(psk), Some(id)) => Some((psk, id)),
            _ => {
                return Err(super::error::to_js(crate::Error::new(
                    crate::ErrorCode::InvalidArgument,
                    "psk and pskId must be given together",
                )));
            }
        };
        Ok(Self { suite, info, psk })
    }
    fn psk(&self) -> Option<Psk<'_>> {
        self.psk.as_ref().map(|(psk, id)| Psk { psk, id })
    }
}

fn pair(enc: &[u8], ct_or_ctx: &JsValue, name: &str) -> JsResult<JsValue> {
    let out = Object::new();
    Reflect::set(&out, &"enc".into(), &Uint8Array::from(enc))?;
    Reflect::set(&out, &name.into(), ct_or_ctx)?;
    Ok(out.into())
}

/// Single-shot HPKE seal; resolves to `{enc, ciphertext}`.
#[wasm_bindgen(js_name = hpkeSeal)]
#[allow(clippy::too_many_arguments)]
pub fn hpke_seal(
    recipient: &WasmPublicKey,
    plaintext: JsValue,
    info: JsValue,
    aad: JsValue,
    psk: JsValue,
    psk_id: JsValue,
    sender: Option<WasmPrivateKey>,
    kdf: JsValue,
    aead: JsValue,
    provider: JsValue,
) -> JsResult<Promise> {
    let opts = Opts::new(&kdf, &aead, &info, &psk, &psk_id)?;
    let provider = Provider::parse(&args::string(&provider, "provider must be a string")?).js()?;
    let plaintext = args::bytes(&plaintext, "plaintext must be a Uint8Array")?;
    let aad = args::bytes(&aad, "aad must be a Uint8Array")?;
    let pk_r: PublicKey = recipient.0;
    let sender: Option<KeyHandle> = sender.map(|s| s.0);
    Ok(future_to_promise(async move {
        let (enc, mut ctx) =
            provider::setup_sender(provider, opts.suite, &pk_r, &opts.info, opts.psk(), sender.as_ref()).await.js()?;
        let ct = ctx.seal(&aad, &plaintext).js()?;
        pair(&enc, &Uint8Array::from(ct.as_slice()).into(), "ciphertext")
    }))
}

/// Single-shot HPKE open; resolves to the plaintext.
#[wasm_bindgen(js_name = hpkeOpen)]
#[allow(clippy::too_many_arguments)]
pub fn hpke_open(
    recipient: &WasmPrivateKey,
    enc: JsValue,
    ciphertext: JsValue,
    info: JsValue,
    aad: JsValue,
    psk: JsValue,
    psk_id: JsValue,
    sender: Option<WasmPublicKey>,
    kdf: JsValue,
    aead: JsValue,
) -> JsResult<Promise> {
    let opts = Opts::new(&kdf, &aead, &info, &psk, &psk_id)?;
    let enc = args::bytes(&enc, "enc must be a Uint8Array")?;
    let ciphertext = args::bytes(&ciphertext, "ciphertext must be a Uint8Array")?;
    let aad = args::bytes(&aad, "aad must be a Uint8Array")?;
    let sk_r = recipient.0.clone();
    let pk_s = sender.map(|s| s.0);
    Ok(future_to_promise(async move {
        let mut ctx =
            provider::setup_recipient(opts.suite, &enc, &sk_r, &opts.info, opts.psk(), pk_s.as_ref()).await.js()?;
        let pt = ctx.open(&aad, &ciphertext).js()?;
        Ok(Uint8Array::from(pt.as_slice()).into())
    }))
}

/// Multi-message sender context setup; resolves to `{enc, context}`.
#[wasm_bindgen(js_name = hpkeSetupSender)]
#[allow(clippy::too_many_arguments)]
pub fn hpke_setup_sender(
    recipient: &WasmPublicKey,
    info: JsValue,
    psk: JsValue,
    psk_id: JsValue,
    sender: Option<WasmPrivateKey>,
    kdf: JsValue,
    aead: JsValue,
    provider: JsValue,
) -> JsResult<Promise> {
    // No caller-chosen ephemeral key here: a fixed one would repeat the key
    // schedule (and the AES-GCM nonces). The vectors reach
    // provider::setup_sender_with_ephemeral from Rust tests only.
    let opts = Opts::new(&kdf, &aead, &info, &psk, &psk_id)?;
    let provider = Provider::parse(&args::string(&provider, "provider must be a string")?).js()?;
    let pk_r = recipient.0;
    let sender = sender.map(|s| s.0);
    Ok(future_to_promise(async move {
        let (enc, ctx) =
            provider::setup_sender(provider, opts.suite, &pk_r, &opts.info, opts.psk(), sender.as_ref()).await.js()?;
        pair(&enc, &WasmSenderContext(ctx).into(), "context")
    }))
}

/// Multi-message recipient context setup; resolves to the context.
#[wasm_bindgen(js_name = hpkeSetupRecipient)]
#[allow(clippy::too_many_arguments)]
pub fn hpke_setup_recipient(
    recipient: &WasmPrivateKey,
    enc: JsValue,
    info: JsValue,
    psk: JsValue,
    psk_id: JsValue,
    sender: Option<WasmPublicKey>,
    kdf: JsValue,
    aead: JsValue,
) -> JsResult<Promise> {
    let opts = Opts::new(&kdf, &aead, &info, &psk, &psk_id)?;
    let enc = args::bytes(&enc, "enc must be a Uint8Array")?;
    let sk_r = recipient.0.clone();
    let pk_s = sender.map(|s| s.0);
    Ok(future_to_promise(async move {
        let ctx =
            provider::setup_recipient(opts.suite, &enc, &sk_r, &opts.info, opts.psk(), pk_s.as_ref()).await.js()?;
        Ok(WasmRecipientContext(ctx).into())
    }))
}

/// An HPKE sender context.
#[wasm_bindgen(js_name = SenderContext)]
pub struct WasmSenderContext(SenderContext);

#[wasm_bindgen(js_class = SenderContext)]
impl WasmSenderContext {
    /// Seals the next message.
    pub fn seal(&mut self, aad: JsValue, plaintext: JsValue) -> JsResult<Vec<u8>> {
        let aad = args::bytes(&aad, "aad must be a Uint8Array")?;
        self.0.seal(&aad, &args::bytes(&plaintext, "plaintext must be a Uint8Array")?).js()
    }
    /// Exports a secret of `length` bytes.
    pub fn export(&self, exporter_context: JsValue, length: JsValue) -> JsResult<Vec<u8>> {
        let exporter_context = args::bytes(&exporter_context, "exporterContext must be a Uint8Array")?;
        let length = args::integer(&length, 0xFFFF, "length must be an integer from 0 to 65535")? as usize;
        self.0.export(&exporter_context, length).map(|s| s.to_vec()).js()
    }
    /// Sequence number of the next message.
    #[wasm_bindgen(getter)]
    pub fn seq(&self) -> f64 {
        self.0.seq() as f64
    }
}

/// An HPKE recipient context.
#[wasm_bindgen(js_name = RecipientContext)]
pub struct WasmRecipientContext(RecipientContext);

#[wasm_bindgen(js_class = RecipientContext)]
impl WasmRecipientContext {
    /// Opens the next message.
    pub fn open(&mut self, aad: JsValue, ciphertext: JsValue) -> JsResult<Vec<u8>> {
        let aad = args::bytes(&aad, "aad must be a Uint8Array")?;
        self.0.open(&aad, &args::bytes(&ciphertext, "ciphertext must be a Uint8Array")?).js()
    }
    /// Exports a secret of `length` bytes.
    pub fn export(&self, exporter_context: JsValue, length: JsValue) -> JsResult<Vec<u8>> {
        let exporter_context = args::bytes(&exporter_context, "exporterContext must be a Uint8Array")?;
        let length = args::integer(&length, 0xFFFF, "length must be an integer from 0 to 65535")? as usize;
        self.0.export(&exporter_context, length).map(|s| s.to_vec()).js()
    }
    /// Sequence number of the next message.
    #[wasm_bindgen(getter)]
    pub fn seq(&self) -> f64 {
        self.0.seq() as f64
    }
}

/// Generates up to `count` single-use HPKE ephemeral keys ahead of time
/// (WebCrypto, non-extractable) so later seals cost one ECDH. Resolves to
/// the number ready (0 without WebCrypto).
#[wasm_bindgen(js_name = prepareEphemeralKeys)]
pub fn prepare_ephemeral_keys(count: JsValue) -> JsResult<Promise> {
    let count =
        args::integer(&count, provider::EPHEMERAL_POOL_MAX as u32, "count must be an integer from 0 to 256")? as usize;
    Ok(future_to_promise(async move {
        let ready = provider::prepare_ephemeral_keys(count).await.js()?;
        Ok(JsValue::from(ready as u32))
    }))
}
