//! P-384 ECDH through WebCrypto (`crypto.subtle`), W3C Web Cryptography API
//! §ECDH. Works in windows, workers and Node (which has `globalThis.crypto`).

use js_sys::{Array, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::{JsCast as _, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{CryptoKey, SubtleCrypto};
use zeroize::Zeroizing;

use crate::error::{Error, ErrorCode, Result};
use crate::keys::{Jwk, PrivateKey, PublicKey, SHARED_SECRET_LEN};

const PLATFORM: Error = Error::new(ErrorCode::Platform, "WebCrypto operation failed");

/// `globalThis.crypto.subtle`, if the platform has it (secure contexts only).
#[must_use]
pub fn subtle() -> Option<SubtleCrypto> {
    let crypto = Reflect::get(&js_sys::global(), &JsValue::from_str("crypto")).ok()?;
    if !crypto.is_object() {
        return None;
    }
    let subtle = Reflect::get(&crypto, &JsValue::from_str("subtle")).ok()?;
    subtle.is_object().then(|| subtle.unchecked_into())
}

fn require_subtle() -> Result<SubtleCrypto> {
    subtle().ok_or(Error::new(ErrorCode::Unsupported, "WebCrypto (crypto.subtle) is not available here"))
}

fn object(entries: &[(&str, &JsValue)]) -> Result<Object> {
    let obj = Object::new();
    for (k, v) in entries {
        Reflect::set(&obj, &JsValue::from_str(k), v).map_err(|_| PLATFORM)?;
    }
    Ok(obj)
}

fn ecdh_algorithm() -> Result<Object> {
    object(&[("name", &"ECDH".into()), ("namedCurve", &"P-384".into())])
}

fn usages(derive: bool) -> JsValue {
    let arr = Array::new();
    if derive {
        arr.push(&"deriveBits".into());
    }
    arr.into()
}

async fn await_promise(p: core::result::Result<Promise, JsValue>, on_error: Error) -> Result<JsValue> {
    let p = p.map_err(|_| on_error)?;
    JsFuture::from(p).await.map_err(|_| on_error)
}

/// A P-384 ECDH private key held by WebCrypto, with its public key.
#[derive(Clone)]
pub struct WebCryptoKey {
    key: CryptoKey,
    public: PublicKey,
}

impl core::fmt::Debug for WebCryptoKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("WebCryptoKey").field("kid", &self.public.kid()).finish_non_exhaustive()
    }
}

impl WebCryptoKey {
    /// Generates a key pair in WebCrypto; with `extractable = false` the
    /// private key can never be exported by any script.
    ///
    /// # Errors
    /// [`ErrorCode::Unsupported`] without WebCrypto; [`ErrorCode::Platform`] if it fails.
    pub async fn generate(extractable: bool) -> Result<Self> {
        let subtle = require_subtle()?;
        let pair =
            await_promise(subtle.generate_key_with_object(&ecdh_algorithm()?, extractable, &usages(true)), PLATFORM)
                .await?;
        let private: CryptoKey = Reflect::get(&pair, &"privateKey".into()).map_err(|_| PLATFORM)?.unchecked_into();
        let public: CryptoKey = Reflect::get(&pair, &"publicKey".into()).map_err(|_| PLATFORM)?.unchecked_into();
        let raw = await_promise(subtle.export_key("raw", &public), PLATFORM).await?;
        let public = PublicKey::from_sec1(&Uint8Array::new(&raw).to_vec())?;
        Ok(Self { key: private, public })
    }

    /// Imports a RustCrypto key into WebCrypto (via JWK).
    ///
    /// # Errors
    /// [`ErrorCode::Unsupported`] without WebCrypto; [`ErrorCode::InvalidKey`] if WebCrypto refuses it.
    pub async fn import(key: &PrivateKey, extractable: bool) -> Result<Self> {
        Self::import_pkcs8(&key.to_pkcs8_der(), *key.public_key(), extractable).await
    }

    /// Imports PKCS#8 bytes of the private key of `public` into WebCrypto.
    ///
    /// # Errors
    /// [`ErrorCode::InvalidKey`] if WebCrypto refuses it.
    pub async fn import_pkcs8(der: &[u8], public: PublicKey, extractable: bool) -> Result<Self> {
        let subtle = require_subtle()?;
        // PKCS#8 bytes (wiped below), not a JWK: a JWK's `d` would be a JS
        // string, which can never be wiped.
        let bytes = Uint8Array::from(der);
        let result = await_promise(
            subtle.import_key_with_object("pkcs8", &bytes, &ecdh_algorithm()?, extractable, &usages(true)),
            Error::new(ErrorCode::InvalidKey, "WebCrypto refused the private key"),
        )
        .await;
        bytes.fill(0, 0, bytes.length());
        Ok(Self { key: result?.unchecked_into(), public })
    }

    /// Exports the private key back into a RustCrypto key.
    ///
    /// # Errors
    /// [`ErrorCode::Misuse`] if the key is not extractable.
    pub async fn export(&self) -> Result<PrivateKey> {
        if !self.extractable() {
            return Err(Error::new(ErrorCode::Misuse, "this private key is not extractable"));
        }
        let subtle = require_subtle()?;
        let jwk = await_promise(subtle.export_key("jwk", &self.key), PLATFORM).await?;
        let jwk = jwk_from_js(&jwk).map_err(|_| PLATFORM)?;
        PrivateKey::from_jwk(&jwk)
    }

    /// Whether WebCrypto lets this key be exported.
    #[must_use]
    pub fn extractable(&self) -> bool {
        self.key.extractable()
    }

    /// The public key.
    #[must_use]
    pub const fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// The underlying `CryptoKey` (for apps that store it in IndexedDB).
    #[must_use]
    pub const fn crypto_key(&self) -> &CryptoKey {
        &self.key
    }

    /// Wraps an existing WebCrypto ECDH P-384 private key with its public key.
    #[must_use]
    pub const fn from_parts(key: CryptoKey, public: PublicKey) -> Self {
        Self { key, public }
    }

    /// ECDH with a validated peer public key: the 48-byte x-coordinate.
    ///
    /// # Errors
    /// [`ErrorCode::Platform`] if WebCrypto fails.
    pub async fn diffie_hellman(&self, peer: &PublicKey) -> Result<Zeroizing<Vec<u8>>> {
        let subtle = require_subtle()?;
        let peer_key = import_public(&subtle, peer).await?;
        let params = object(&[("name", &"ECDH".into()), ("public", &peer_key)])?;
        let bits =
            await_promise(subtle.derive_bits_with_object(&params, &self.key, 8 * SHARED_SECRET_LEN as u32), PLATFORM)
                .await?;
        let view = Uint8Array::new(&bits);
        let mut out = Zeroizing::new(vec![0u8; view.length() as usize]);
        view.copy_to(&mut out);
        view.fill(0, 0, view.length());
        if out.len() != SHARED_SECRET_LEN {
            return Err(PLATFORM);
        }
        Ok(out)
    }
}

/// Recently imported public keys: a record sealed to the same recipients as
/// the last one skips their `importKey`. Public data only; bounded.
const PEER_CACHE_SIZE: usize = 32;
thread_local! {
    static PEER_CACHE: core::cell::RefCell<Vec<(Vec<u8>, CryptoKey)>> = const { core::cell::RefCell::new(Vec::new()) };
}

async fn import_public(subtle: &SubtleCrypto, peer: &PublicKey) -> Result<CryptoKey> {
    let point = peer.to_sec1(false);
    if let Some(key) = PEER_CACHE.with(|c| c.borrow().iter().find(|(p, _)| *p == point).map(|(_, k)| k.clone())) {
        return Ok(key);
    }
    let raw = Uint8Array::from(point.as_slice());
    let key: CryptoKey =
        await_promise(subtle.import_key_with_object("raw", &raw, &ecdh_algorithm()?, true, &usages(false)), PLATFORM)
            .await?
            .unchecked_into();
    PEER_CACHE.with(|c| {
        let mut cache = c.borrow_mut();
        if cache.len() >= PEER_CACHE_SIZE {
            cache.remove(0);
        }
        cache.push((point, key.clone()));
    });
    Ok(key)
}

/// A JWK object from JavaScript: its string members read one by one (no
/// JSON text of a private key is made on the JS heap). Unknown members are
/// ignored; `null` or `undefined` means absent.
///
/// # Errors
/// [`ErrorCode::MalformedInput`] if it is not an object with string `kty`,
/// `crv`, `x`, `y` (and optionally `d`, `kid`).
pub fn jwk_from_js(value: &JsValue) -> Result<Jwk> {
    const SHAPE: Error = Error::new(ErrorCode::MalformedInput, "JWK must be an object with string kty, crv, x, y");
    if !value.is_object() {
        return Err(SHAPE);
    }
    let get = |name: &str| -> Result<Option<String>> {
        let v = Reflect::get(value, &JsValue::from_str(name)).map_err(|_| SHAPE)?;
        if v.is_undefined() || v.is_null() { Ok(None) } else { v.as_string().map(Some).ok_or(SHAPE) }
    };
    let required = |name: &str| get(name)?.ok_or(SHAPE);
    Ok(Jwk {
        kty: required("kty")?,
        crv: required("crv")?,
        x: required("x")?,
        y: required("y")?,
        d: get("d")?.map(Zeroizing::new),
        kid: get("kid")?,
    })
}

fn ecdsa_algorithm() -> Result<Object> {
    object(&[("name", &"ECDSA".into()), ("namedCurve", &"P-384".into())])
}

fn ecdsa_params() -> Result<Object> {
    object(&[("name", &"ECDSA".into()), ("hash", &"SHA-384".into())])
}

fn usage(name: &str) -> JsValue {
    let arr = Array::new();
    arr.push(&name.into());
    arr.into()
}

/// An ECDSA P-384 signing key held by WebCrypto, with its public key.
#[derive(Clone)]
pub struct WebCryptoSigningKey {
    key: CryptoKey,
    public: PublicKey,
}

impl core::fmt::Debug for WebCryptoSigningKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("WebCryptoSigningKey").field("kid", &self.public.kid()).finish_non_exhaustive()
    }
}

impl WebCryptoSigningKey {
    /// Generates an ECDSA P-384 key pair; with `extractable = false` no
    /// script can ever read the private key.
    ///
    /// # Errors
    /// [`ErrorCode::Unsupported`] without WebCrypto; [`ErrorCode::Platform`] if it fails.
    pub async fn generate(extractable: bool) -> Result<Self> {
        let subtle = require_subtle()?;
        let usages = Array::of2(&"sign".into(), &"verify".into());
        let pair =
            await_promise(subtle.generate_key_with_object(&ecdsa_algorithm()?, extractable, &usages), PLATFORM).await?;
        let private: CryptoKey = Reflect::get(&pair, &"privateKey".into()).map_err(|_| PLATFORM)?.unchecked_into();
        let public: CryptoKey = Reflect::get(&pair, &"publicKey".into()).map_err(|_| PLATFORM)?.unchecked_into();
        let raw = await_promise(subtle.export_key("raw", &public), PLATFORM).await?;
        let public = PublicKey::from_sec1(&Uint8Array::new(&raw).to_vec())?;
        Ok(Self { key: private, public })
    }

    /// Imports a PKCS#8 ECDSA P-384 key (the JS copy of the bytes is wiped).
    ///
    /// # Errors
    /// [`ErrorCode::InvalidKey`] if WebCrypto refuses it.
    pub async fn import_pkcs8(der: &[u8], public: PublicKey, extractable: bool) -> Result<Self> {
        let subtle = require_subtle()?;
        let bytes = Uint8Array::from(der);
        let result = await_promise(
            subtle.import_key_with_object("pkcs8", &bytes, &ecdsa_algorithm()?, extractable, &usage("sign")),
            Error::new(ErrorCode::InvalidKey, "WebCrypto refused the signing key"),
        )
        .await;
        bytes.fill(0, 0, bytes.length());
        Ok(Self { key: result?.unchecked_into(), public })
    }

    /// Wraps an existing WebCrypto ECDSA P-384 private key with its public key.
    #[must_use]
    pub const fn from_parts(key: CryptoKey, public: PublicKey) -> Self {
        Self { key, public }
    }

    /// The public key.
    #[must_use]
    pub const fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// The underlying `CryptoKey`.
    #[must_use]
    pub const fn crypto_key(&self) -> &CryptoKey {
        &self.key
    }

    /// Whether WebCrypto lets this key be exported.
    #[must_use]
    pub fn extractable(&self) -> bool {
        self.key.extractable()
    }

    /// Exports the private key as PKCS#8 DER (zeroized on drop).
    ///
    /// # Errors
    /// [`ErrorCode::Misuse`] if the key is not extractable.
    pub async fn export_pkcs8(&self) -> Result<Zeroizing<Vec<u8>>> {
        if !self.extractable() {
            return Err(Error::new(ErrorCode::Misuse, "this signing key is not extractable"));
        }
        let subtle = require_subtle()?;
        let der = await_promise(subtle.export_key("pkcs8", &self.key), PLATFORM).await?;
        let view = Uint8Array::new(&der);
        let out = Zeroizing::new(view.to_vec());
        view.fill(0, 0, view.length());
        Ok(out)
    }

    /// ECDSA P-384 / SHA-384 over `message`: P1363 `r ‖ s`.
    ///
    /// # Errors
    /// [`ErrorCode::Platform`] if WebCrypto fails (e.g. a key without `sign` usage).
    pub async fn sign(&self, message: &[u8]) -> Result<[u8; crate::sign::SIGNATURE_LEN]> {
        let subtle = require_subtle()?;
        let data = Uint8Array::from(message);
        let sig =
            await_promise(subtle.sign_with_object_and_buffer_source(&ecdsa_params()?, &self.key, &data), PLATFORM)
                .await?;
        Uint8Array::new(&sig).to_vec().try_into().map_err(|_| PLATFORM)
    }
}

thread_local! {
    static VERIFY_CACHE: core::cell::RefCell<Vec<(Vec<u8>, CryptoKey)>> = const { core::cell::RefCell::new(Vec::new()) };
}

/// Verifies an ECDSA P-384 / SHA-384 P1363 signature with WebCrypto (the
/// key is validated by phiseal before it gets here; imported keys are
/// cached, public data only, bounded).
///
/// # Errors
/// [`ErrorCode::Platform`] if WebCrypto fails; `Ok(false)` for a bad signature.
pub async fn ecdsa_verify(public: &PublicKey, message: &[u8], signature: &[u8]) -> Result<bool> {
    let subtle = require_subtle()?;
    let point = public.to_sec1(false);
    let cached = VERIFY_CACHE.with(|c| c.borrow().iter().find(|(p, _)| *p == point).map(|(_, k)| k.clone()));
    let key = match cached {
        Some(k) => k,
        None => {
            let raw = Uint8Array::from(point.as_slice());
            let key: CryptoKey = await_promise(
                subtle.import_key_with_object("raw", &raw, &ecdsa_algorithm()?, true, &usage("verify")),
                PLATFORM,
            )
            .await?
            .unchecked_into();
            VERIFY_CACHE.with(|c| {
                let mut cache = c.borrow_mut();
                if cache.len() >= PEER_CACHE_SIZE {
                    cache.remove(0);
                }
                cache.push((point, key.clone()));
            });
            key
        }
    };
    let sig = Uint8Array::from(signature);
    let data = Uint8Array::from(message);
    let ok = await_promise(
        subtle.verify_with_object_and_buffer_source_and_buffer_source(&ecdsa_params()?, &key, &sig, &data),
        PLATFORM,
    )
    .await?;
    Ok(ok.as_bool() == Some(true))
}
