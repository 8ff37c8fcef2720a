//! Key bindings: `PublicKey` and `PrivateKey` handles.

use crate::browser::scrub::{future_to_promise, scrubbed};
use js_sys::Promise;
use wasm_bindgen::prelude::*;

use super::args;
use super::error::{IntoJs as _, JsResult, to_js};
use crate::browser::provider::{KeyHandle, Provider};
use crate::browser::webcrypto::WebCryptoKey;
use crate::error::{Error, ErrorCode};
use crate::keys::{Jwk, PrivateKey, PublicKey};

/// A JWK object from JavaScript (`MALFORMED_INPUT` for any other shape).
pub(crate) fn jwk_from_js(value: &JsValue) -> JsResult<Jwk> {
    crate::browser::webcrypto::jwk_from_js(value).js()
}

/// A JWK as a plain JS object, built member by member (no JSON text of a
/// private key on the JS heap).
pub(crate) fn jwk_to_js(jwk: &Jwk) -> JsResult<JsValue> {
    let out = js_sys::Object::new();
    let platform = |_| to_js(Error::new(ErrorCode::Platform, "could not build JWK object"));
    let members = [("kty", Some(&jwk.kty)), ("crv", Some(&jwk.crv)), ("x", Some(&jwk.x)), ("y", Some(&jwk.y))];
    for (name, value) in members.into_iter().chain([("d", jwk.d.as_deref()), ("kid", jwk.kid.as_ref())]) {
        if let Some(value) = value {
            js_sys::Reflect::set(&out, &JsValue::from_str(name), &JsValue::from_str(value)).map_err(platform)?;
        }
    }
    Ok(out.into())
}

fn provider_args(provider: &JsValue, extractable: &JsValue) -> JsResult<(Provider, bool)> {
    let provider = Provider::parse(&args::string(provider, "provider must be a string")?).js()?;
    Ok((provider, args::boolean(extractable, "extractable must be a boolean")?))
}

/// A validated P-384 public key.
#[wasm_bindgen(js_name = PublicKey)]
pub struct WasmPublicKey(pub(crate) PublicKey);

#[wasm_bindgen(js_class = PublicKey)]
impl WasmPublicKey {
    /// From a JWK object.
    #[wasm_bindgen(js_name = fromJwk)]
    pub fn from_jwk(jwk: JsValue) -> JsResult<WasmPublicKey> {
        PublicKey::from_jwk(&jwk_from_js(&jwk)?).map(Self).js()
    }
    /// From DER SubjectPublicKeyInfo.
    #[wasm_bindgen(js_name = fromSpki)]
    pub fn from_spki(der: JsValue) -> JsResult<WasmPublicKey> {
        PublicKey::from_spki_der(&args::bytes(&der, "SPKI must be a Uint8Array")?).map(Self).js()
    }
    /// From PEM `PUBLIC KEY`.
    #[wasm_bindgen(js_name = fromSpkiPem)]
    pub fn from_spki_pem(pem: JsValue) -> JsResult<WasmPublicKey> {
        PublicKey::from_spki_pem(&args::string(&pem, "PEM must be a string")?).map(Self).js()
    }
    /// From a SEC1 point (compressed or uncompressed).
    #[wasm_bindgen(js_name = fromSec1)]
    pub fn from_sec1(point: JsValue) -> JsResult<WasmPublicKey> {
        PublicKey::from_sec1(&args::bytes(&point, "SEC1 point must be a Uint8Array")?).map(Self).js()
    }
    /// To a JWK object (with `kid`).
    #[wasm_bindgen(js_name = toJwk)]
    pub fn to_jwk(&self) -> JsResult<JsValue> {
        jwk_to_js(&self.0.to_jwk())
    }
    /// To DER SubjectPublicKeyInfo.
    #[wasm_bindgen(js_name = toSpki)]
    pub fn to_spki(&self) -> Vec<u8> {
        self.0.to_spki_der()
    }
    /// To PEM `PUBLIC KEY`.
    #[wasm_bindgen(js_name = toSpkiPem)]
    pub fn to_spki_pem(&self) -> String {
        self.0.to_spki_pem()
    }
    /// To a SEC1 point, uncompressed unless `compressed` is true.
    #[wasm_bindgen(js_name = toSec1)]
    pub fn to_sec1(&self, compressed: JsValue) -> Vec<u8> {
        self.0.to_sec1(compressed.is_truthy())
    }
    /// RFC 7638 thumbprint.
    #[wasm_bindgen(getter)]
    pub fn kid(&self) -> String {
        self.0.kid()
    }
    /// A copy of this handle (used by `js/` for by-value arguments).
    #[wasm_bindgen(js_name = clone)]
    pub fn copy(&self) -> WasmPublicKey {
        Self(self.0)
    }
    /// Equality of keys.
    pub fn equals(&self, other: &WasmPublicKey) -> bool {
        self.0 == other.0
    }
}

/// A P-384 private key, in WebCrypto or in wasm memory.
#[wasm_bindgen(js_name = PrivateKey)]
pub struct WasmPrivateKey(pub(crate) KeyHandle);

fn key_promise<F>(fut: F) -> Promise
where
    F: core::future::Future<Output = crate::Result<KeyHandle>> + 'static,
{
    future_to_promise(async move { fut.await.map(|k| JsValue::from(WasmPrivateKey(k))).js() })
}

#[wasm_bindgen(js_class = PrivateKey)]
impl WasmPrivateKey {
    /// Generates a key (`provider`: "auto" | "webcrypto" | "wasm").
    pub fn generate(provider: JsValue, extractable: JsValue) -> JsResult<Promise> {
        let (provider, extractable) = provider_args(&provider, &extractable)?;
        Ok(key_promise(KeyHandle::generate(provider, extractable)))
    }
    /// Imports a private JWK.
    #[wasm_bindgen(js_name = importJwk)]
    pub fn import_jwk(jwk: JsValue, provider: JsValue, extractable: JsValue) -> JsResult<Promise> {
        scrubbed(|| {
            let (provider, extractable) = provider_args(&provider, &extractable)?;
            let key = PrivateKey::from_jwk(&jwk_from_js(&jwk)?).js()?;
            Ok(key_promise(KeyHandle::adopt(key, provider, extractable)))
        })
    }
    /// Imports DER PKCS#8.
    #[wasm_bindgen(js_name = importPkcs8)]
    pub fn import_pkcs8(der: JsValue, provider: JsValue, extractable: JsValue) -> JsResult<Promise> {
        // The copy of the DER in wasm memory is wiped once parsed, and so is the stack the parse used (a page
        // script can read this memory).
        scrubbed(|| {
            let (provider, extractable) = provider_args(&provider, &extractable)?;
            let der = zeroize::Zeroizing::new(args::bytes(&der, "PKCS#8 must be a Uint8Array")?);
            let key = PrivateKey::from_pkcs8_der(&der).js()?;
            Ok(key_promise(KeyHandle::adopt(key, provider, extractable)))
        })
    }
    /// Imports PEM `PRIVATE KEY`.
    #[wasm_bindgen(js_name = importPkcs8Pem)]
    pub fn import_pkcs8_pem(pem: JsValue, provider: JsValue, extractable: JsValue) -> JsResult<Promise> {
        scrubbed(|| {
            let (provider, extractable) = provider_args(&provider, &extractable)?;
            let pem = zeroize::Zeroizing::new(args::string(&pem, "PEM must be a string")?);
            let key = PrivateKey::from_pkcs8_pem(&pem).js()?;
            Ok(key_promise(KeyHandle::adopt(key, provider, extractable)))
        })
    }
    /// Wraps an existing WebCrypto ECDH P-384 private `CryptoKey` (e.g. read
    /// back from IndexedDB) with its public key.
    #[wasm_bindgen(js_name = fromCryptoKey)]
    pub fn from_crypto_key(key: JsValue, public_key: &WasmPublicKey) -> JsResult<WasmPrivateKey> {
        let wrong = || to_js(Error::new(ErrorCode::InvalidKey, "expected an ECDH P-384 private CryptoKey"));
        let key: web_sys::CryptoKey = key.dyn_into().map_err(|_| wrong())?;
        let algorithm = key.algorithm().ok();
        let field = |name: &str| algorithm.as_ref().and_then(|a| js_sys::Reflect::get(a, &name.into()).ok());
        let is_ecdh_p384 = field("name").and_then(|v| v.as_string()).as_deref() == Some("ECDH")
            && field("namedCurve").and_then(|v| v.as_string()).as_deref() == Some("P-384");
        if key.type_() != "private" || !is_ecdh_p384 {
            return Err(wrong());
        }
        Ok(Self(KeyHandle::WebCrypto(WebCryptoKey::from_parts(key, public_key.0))))
    }
    /// A copy of this handle (used by `js/` for by-value arguments).
    #[wasm_bindgen(js_name = clone)]
    pub fn copy(&self) -> WasmPrivateKey {
        Self(self.0.clone())
    }
    /// RFC 9180 §7.1.3 DeriveKeyPair (wasm provider).
    #[wasm_bindgen(js_name = deriveKeyPair)]
    pub fn derive_key_pair(ikm: JsValue) -> JsResult<WasmPrivateKey> {
        let ikm = zeroize::Zeroizing::new(args::bytes(&ikm, "ikm must be a Uint8Array")?);
        crate::hpke::derive_key_pair(&ikm).map(|k| Self(KeyHandle::Wasm(k))).js()
    }
    /// The public key.
    #[wasm_bindgen(getter, js_name = publicKey)]
    pub fn public_key(&self) -> WasmPublicKey {
        WasmPublicKey(*self.0.public_key())
    }
    /// RFC 7638 thumbprint of the public key.
    #[wasm_bindgen(getter)]
    pub fn kid(&self) -> String {
        self.0.public_key().kid()
    }
    /// Whether the private key can be exported.
    #[wasm_bindgen(getter)]
    pub fn extractable(&self) -> bool {
        self.0.extractable()
    }
    /// "webcrypto" or "wasm".
    #[wasm_bindgen(getter)]
    pub fn provider(&self) -> String {
        self.0.provider_name().into()
    }
    /// The WebCrypto `CryptoKey`, or `undefined` for a wasm key.
    #[wasm_bindgen(js_name = cryptoKey)]
    pub fn crypto_key(&self) -> Option<web_sys::CryptoKey> {
        match &self.0 {
            KeyHandle::WebCrypto(k) => Some(k.crypto_key().clone()),
            KeyHandle::Wasm(_) => None,
        }
    }
    /// Exports a private JWK (rejects with MISUSE if not extractable).
    #[wasm_bindgen(js_name = exportJwk)]
    pub fn export_jwk(&self) -> Promise {
        let handle = self.0.clone();
        future_to_promise(async move { jwk_to_js(&handle.to_private_key().await.js()?.to_jwk()) })
    }
    /// Exports DER PKCS#8 (rejects with MISUSE if not extractable).
    #[wasm_bindgen(js_name = exportPkcs8)]
    pub fn export_pkcs8(&self) -> Promise {
        let handle = self.0.clone();
        future_to_promise(async move {
            let der = handle.to_private_key().await.js()?.to_pkcs8_der();
            Ok(js_sys::Uint8Array::from(der.as_slice()).into())
        })
    }
    /// Exports PEM `PRIVATE KEY` (rejects with MISUSE if not extractable).
    #[wasm_bindgen(js_name = exportPkcs8Pem)]
    pub fn export_pkcs8_pem(&self) -> Promise {
        let handle = self.0.clone();
        future_to_promise(async move { Ok(JsValue::from_str(&handle.to_private_key().await.js()?.to_pkcs8_pem())) })
    }
}
