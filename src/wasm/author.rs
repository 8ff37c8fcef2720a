//! `AuthorKey`: the ECDSA P-384 key that signs sealed records, sealed index
//! keys and streams. In browsers a non-extractable WebCrypto `CryptoKey` by
//! default; RustCrypto in wasm memory where WebCrypto is missing.

use crate::browser::scrub::{future_to_promise, scrubbed};
use js_sys::Promise;
use wasm_bindgen::prelude::*;

use super::args;
use super::error::{IntoJs as _, JsResult, to_js};
use super::keys::WasmPublicKey;
use crate::browser::provider::{Provider, SignerHandle};
use crate::browser::webcrypto::WebCryptoSigningKey;
use crate::error::{Error, ErrorCode};
use crate::keys::PrivateKey;
use crate::sign::SigningKey;

/// An author signing key.
#[wasm_bindgen(js_name = AuthorKey)]
pub struct WasmAuthorKey(pub(crate) std::rc::Rc<SignerHandle>);

fn provider_args(provider: &JsValue, extractable: &JsValue) -> JsResult<(Provider, bool)> {
    let provider = Provider::parse(&args::string(provider, "provider must be a string")?).js()?;
    Ok((provider, args::boolean(extractable, "extractable must be a boolean")?))
}

#[wasm_bindgen(js_class = AuthorKey)]
impl WasmAuthorKey {
    /// Generates a key (`provider`: "auto" | "webcrypto" | "wasm").
    pub fn generate(provider: JsValue, extractable: JsValue) -> JsResult<Promise> {
        let (provider, extractable) = provider_args(&provider, &extractable)?;
        Ok(future_to_promise(async move {
            let key = SignerHandle::generate(provider, extractable).await.js()?;
            Ok(WasmAuthorKey(std::rc::Rc::new(key)).into())
        }))
    }
    /// Imports DER PKCS#8 (an EC P-384 key).
    #[wasm_bindgen(js_name = importPkcs8)]
    pub fn import_pkcs8(der: JsValue, provider: JsValue, extractable: JsValue) -> JsResult<Promise> {
        scrubbed(|| {
            let (provider, extractable) = provider_args(&provider, &extractable)?;
            let der = zeroize::Zeroizing::new(args::bytes(&der, "PKCS#8 must be a Uint8Array")?);
            let scalar = PrivateKey::from_pkcs8_der(&der).js()?.to_scalar_bytes();
            let key = SigningKey::from_scalar_bytes(&scalar[..]).js()?;
            // adopt takes the key now (the future holds only its zeroizing PKCS#8 buffer).
            let adopted = SignerHandle::adopt(key, provider, extractable);
            Ok(future_to_promise(async move {
                let key = adopted.await.js()?;
                Ok(WasmAuthorKey(std::rc::Rc::new(key)).into())
            }))
        })
    }
    /// Wraps an existing WebCrypto ECDSA P-384 private `CryptoKey` (e.g. read
    /// back from IndexedDB) with its public key.
    #[wasm_bindgen(js_name = fromCryptoKey)]
    pub fn from_crypto_key(key: JsValue, public_key: &WasmPublicKey) -> JsResult<WasmAuthorKey> {
        let wrong =
            || to_js(Error::new(ErrorCode::InvalidKey, "expected an ECDSA P-384 private CryptoKey with sign usage"));
        let key: web_sys::CryptoKey = key.dyn_into().map_err(|_| wrong())?;
        let algorithm = key.algorithm().ok();
        let field = |name: &str| algorithm.as_ref().and_then(|a| js_sys::Reflect::get(a, &name.into()).ok());
        let is_ecdsa_p384 = field("name").and_then(|v| v.as_string()).as_deref() == Some("ECDSA")
            && field("namedCurve").and_then(|v| v.as_string()).as_deref() == Some("P-384");
        let can_sign = js_sys::Array::from(&key.usages()).includes(&"sign".into(), 0);
        if key.type_() != "private" || !is_ecdsa_p384 || !can_sign {
            return Err(wrong());
        }
        Ok(Self(std::rc::Rc::new(SignerHandle::WebCrypto(WebCryptoSigningKey::from_parts(key, public_key.0)))))
    }
    /// The public key that verifies this author's signatures.
    #[wasm_bindgen(getter, js_name = publicKey)]
    pub fn public_key(&self) -> WasmPublicKey {
        WasmPublicKey(self.0.public_key())
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
        match &*self.0 {
            SignerHandle::WebCrypto(k) => Some(k.crypto_key().clone()),
            SignerHandle::Wasm(_) => None,
        }
    }
    /// Exports DER PKCS#8 (rejects with MISUSE if not extractable).
    #[wasm_bindgen(js_name = exportPkcs8)]
    pub fn export_pkcs8(&self) -> Promise {
        let handle = self.0.clone();
        future_to_promise(async move {
            let der = match &*handle {
                SignerHandle::Wasm(k) => PrivateKey::from_scalar_bytes(&k.to_scalar_bytes()[..]).js()?.to_pkcs8_der(),
                SignerHandle::WebCrypto(k) => k.export_pkcs8().await.js()?,
            };
            Ok(js_sys::Uint8Array::from(der.as_slice()).into())
        })
    }
    /// A copy of this handle (used by `js/` for by-value arguments).
    #[wasm_bindgen(js_name = clone)]
    pub fn copy(&self) -> WasmAuthorKey {
        Self(self.0.clone())
    }
}
