//! Checked conversion of JavaScript arguments. Exports take `JsValue` for
//! bytes, strings and numbers because wasm-bindgen's own glue converts a
//! wrong type silently (a string into zero bytes, a number into an
//! out-of-bounds copy); here every wrong type is an `INVALID_ARGUMENT`.

use js_sys::Uint8Array;
use wasm_bindgen::{JsCast as _, JsValue};

use super::error::{IntoJs as _, JsResult, to_js};
use crate::audit::merkle::{TREE_HASH_LEN, TreeHash};
use crate::error::{Error, ErrorCode};
use crate::json::{Map, Value};
use crate::keys::{Jwk, PublicKey};
use base64ct::{Base64, Encoding as _};

fn invalid(message: &'static str) -> JsValue {
    to_js(Error::new(ErrorCode::InvalidArgument, message))
}

/// A required `Uint8Array`, copied into wasm memory.
pub fn bytes(value: &JsValue, message: &'static str) -> JsResult<Vec<u8>> {
    value.dyn_ref::<Uint8Array>().map(Uint8Array::to_vec).ok_or_else(|| invalid(message))
}

/// An optional `Uint8Array` (`undefined` or `null` for none).
pub fn opt_bytes(value: &JsValue, message: &'static str) -> JsResult<Option<Vec<u8>>> {
    if value.is_undefined() || value.is_null() { Ok(None) } else { bytes(value, message).map(Some) }
}

/// A required string.
pub fn string(value: &JsValue, message: &'static str) -> JsResult<String> {
    value.as_string().ok_or_else(|| invalid(message))
}

/// A required integer in `0..=max`.
pub fn integer(value: &JsValue, max: u32, message: &'static str) -> JsResult<u32> {
    match value.as_f64() {
        Some(n) if n.fract() == 0.0 && (0.0..=f64::from(max)).contains(&n) => Ok(n as u32),
        _ => Err(invalid(message)),
    }
}

/// A required boolean.
pub fn boolean(value: &JsValue, message: &'static str) -> JsResult<bool> {
    value.as_bool().ok_or_else(|| invalid(message))
}

/// A required integer in `0..=2^53-1` (a JavaScript safe integer).
pub fn safe_u64(value: &JsValue, message: &'static str) -> JsResult<u64> {
    const MAX_SAFE: f64 = 9_007_199_254_740_991.0;
    match value.as_f64() {
        Some(n) if n.fract() == 0.0 && (0.0..=MAX_SAFE).contains(&n) => Ok(n as u64),
        _ => Err(invalid(message)),
    }
}

/// JSON text of `[{jwk, ...}]` (built by `js/`): per recipient its public key
/// and what `rest` reads from its other members (removing each it takes).
/// Any other shape, or a member left over, is `shape`.
pub fn recipients<T>(
    value: &JsValue,
    shape: Error,
    mut rest: impl FnMut(&mut Map) -> crate::Result<T>,
) -> JsResult<Vec<(PublicKey, T)>> {
    let text = string(value, "recipients must be JSON text")?;
    let Ok(Value::Array(items)) = Value::parse(&text) else { return Err(to_js(shape)) };
    let recipient = |item: Value| -> crate::Result<(PublicKey, T)> {
        let Value::Object(mut o) = item else { return Err(shape) };
        let jwk = Jwk::from_value(o.remove("jwk").ok_or(shape)?).map_err(|_| shape)?;
        let extra = rest(&mut o)?;
        if !o.is_empty() {
            return Err(shape);
        }
        Ok((PublicKey::from_jwk(&jwk)?, extra))
    };
    items.into_iter().map(recipient).collect::<crate::Result<_>>().js()
}

/// JSON text of an array of public JWKs (built by `js/` from PublicKeys);
/// any other shape is an `INVALID_ARGUMENT` with `message`.
pub fn public_keys(value: &JsValue, message: &'static str) -> JsResult<Vec<PublicKey>> {
    let text = string(value, message)?;
    let shape = Error::new(ErrorCode::InvalidArgument, message);
    let Ok(Value::Array(items)) = Value::parse(&text) else { return Err(to_js(shape)) };
    items
        .into_iter()
        .map(|v| Jwk::from_value(v).map_err(|_| shape).and_then(|jwk| PublicKey::from_jwk(&jwk)))
        .collect::<crate::Result<Vec<_>>>()
        .js()
}

/// JSON text of an array of standard-base64 Merkle hashes (a proof).
pub fn proof(value: &JsValue) -> JsResult<Vec<TreeHash>> {
    const SHAPE: Error = Error::new(ErrorCode::InvalidArgument, "a proof is JSON text of an array of base64 hashes");
    let text = string(value, SHAPE.message())?;
    let Ok(Value::Array(items)) = Value::parse(&text) else { return Err(to_js(SHAPE)) };
    items
        .iter()
        .map(|v| {
            v.as_str()
                .and_then(|s| Base64::decode_vec(s).ok())
                .and_then(|b| <[u8; TREE_HASH_LEN]>::try_from(b.as_slice()).ok())
                .ok_or_else(|| to_js(SHAPE))
        })
        .collect()
}

/// A proof as JSON text of standard-base64 hashes (what [`proof`] reads).
pub fn proof_json(proof: &[TreeHash]) -> String {
    Value::Array(proof.iter().map(|h| Value::from(Base64::encode_string(h))).collect()).to_json()
}
