//! Checked conversion of JavaScript arguments. Exports take `JsValue` for
//! bytes, strings and numbers because wasm-bindgen's own glue converts a
//! wrong type silently (a string into zero bytes, a number into an
//! out-of-bounds copy); here every wrong type is an `INVALID_ARGUMENT`.

use js_sys::Uint8Array;
use wasm_bindgen::{JsCast as _, JsValue};

use super::error::{IntoJs as _, JsResult, to_js};
use crate::error::{Error, ErrorCode};
use crate::json::{Map, Value};
use crate::keys::{Jwk, PublicKey};

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
