//! Key certificates (src/trust.rs) for JavaScript: a `TrustStore` class in
//! both builds; issuing (`issueCertificate`, `issueRevocations`) in the full
//! build, with a `SigningKey`.

use wasm_bindgen::prelude::*;

use super::args;
use super::error::{IntoJs as _, JsResult, to_js};
use crate::error::{Error, ErrorCode};
use crate::json::{Map, Value};
use crate::keys::{Jwk, PublicKey};
use crate::trust::{Purpose, Revocation, TrustStore};

fn json_array(value: &JsValue, shape: Error) -> JsResult<Vec<Value>> {
    let text = args::string(value, "expected JSON text")?;
    match Value::parse(&text) {
        Ok(Value::Array(items)) => Ok(items),
        _ => Err(to_js(shape)),
    }
}

fn string_array(value: &JsValue, shape: Error) -> JsResult<Vec<String>> {
    json_array(value, shape)?.into_iter().map(|v| v.as_str().map(str::to_owned).ok_or_else(|| to_js(shape))).collect()
}

/// Pinned roots and their revocation lists.
#[wasm_bindgen(js_name = TrustStore)]
pub struct WasmTrustStore(TrustStore);

#[wasm_bindgen(js_class = TrustStore)]
impl WasmTrustStore {
    /// `roots`: JSON text of an array of public JWKs; `requireRevocations`:
    /// refuse every chain without a current revocation list from its root.
    #[wasm_bindgen(constructor)]
    pub fn new(roots: JsValue, require_revocations: JsValue) -> JsResult<WasmTrustStore> {
        const SHAPE: Error = Error::new(ErrorCode::InvalidArgument, "roots must be PublicKeys");
        let roots = json_array(&roots, SHAPE)?
            .into_iter()
            .map(|v| Jwk::from_value(v).and_then(|j| PublicKey::from_jwk(&j)))
            .collect::<crate::Result<Vec<_>>>()
            .js()?;
        let policy = if args::boolean(&require_revocations, "requireRevocations must be a boolean")? {
            Revocation::Required
        } else {
            Revocation::NotChecked
        };
        Ok(Self(TrustStore::new(roots, policy)))
    }

    /// Verifies and adds a revocation list (`now` in seconds).
    #[wasm_bindgen(js_name = addRevocations)]
    pub fn add_revocations(&mut self, text: JsValue, now: JsValue) -> JsResult<()> {
        let text = args::string(&text, "a revocation list is a string")?;
        let now = args::safe_u64(&now, "now must be seconds, a safe integer")?;
        self.0.add_revocations(&text, now).js()
    }

    /// Verifies `chain` (JSON text of an array of certificate strings, leaf
    /// first) at `now` (seconds) for `purpose` and `groups` (JSON text of an
    /// array of strings). Returns JSON text of the certified identity:
    /// `{subject, name, role, groups, purposes, notBefore, notAfter, serial, root, issuers, jwk}`.
    pub fn verify(&mut self, chain: JsValue, now: JsValue, purpose: JsValue, groups: JsValue) -> JsResult<String> {
        const CHAIN: Error =
            Error::new(ErrorCode::InvalidArgument, "a certificate chain is an array of certificate strings");
        const GROUPS: Error = Error::new(ErrorCode::InvalidArgument, "groups must be an array of strings");
        let chain = string_array(&chain, CHAIN)?;
        let groups = string_array(&groups, GROUPS)?;
        let now = args::safe_u64(&now, "now must be seconds, a safe integer")?;
        let purpose = Purpose::parse(&args::string(&purpose, "purpose must be a string")?).js()?;
        let chain: Vec<&str> = chain.iter().map(String::as_str).collect();
        let groups: Vec<&str> = groups.iter().map(String::as_str).collect();
        let c = self.0.verify(&chain, now, purpose, &groups).js()?;
        let strings = |v: &[String]| Value::Array(v.iter().cloned().map(Value::String).collect());
        let number = |n: u64| crate::json::Number::from_text(&n.to_string()).map(Value::Number);
        let mut o = Map::default();
        o.insert("subject".into(), Value::String(c.claims.subject));
        o.insert("name".into(), Value::String(c.claims.name));
        o.insert("role".into(), Value::String(c.claims.role));
        o.insert("groups".into(), strings(&c.claims.groups));
        o.insert(
            "purposes".into(),
            Value::Array(c.claims.purposes.iter().map(|p| Value::String(p.as_str().into())).collect()),
        );
        o.insert("notBefore".into(), number(c.claims.not_before).js()?);
        o.insert("notAfter".into(), number(c.claims.not_after).js()?);
        o.insert("serial".into(), Value::String(c.claims.serial));
        o.insert("root".into(), Value::String(c.root));
        o.insert("issuers".into(), strings(&c.issuers));
        o.insert("jwk".into(), Value::parse(&c.claims.key.to_jwk().to_json()).js()?);
        Ok(Value::Object(o).to_json())
    }
}

#[cfg(feature = "audit")]
mod issuing {
    use super::{Error, ErrorCode, JsResult, JsValue, Purpose, args, string_array, to_js, wasm_bindgen};
    use crate::json::Value;
    use crate::trust::{Claims, issue, issue_revocations};
    use crate::wasm::audit::WasmSigningKey;
    use crate::wasm::error::IntoJs as _;

    /// Issues a certificate: `claims` is JSON text of `{subject, name, role,
    /// groups, purposes, notBefore, notAfter, jwk}` (seconds), `issuedAt` seconds.
    #[wasm_bindgen(js_name = issueCertificate)]
    pub fn issue_certificate(claims: JsValue, issuer: &WasmSigningKey, issued_at: JsValue) -> JsResult<String> {
        const SHAPE: Error = Error::new(
            ErrorCode::InvalidArgument,
            "claims are {subject, name, role, groups, purposes, notBefore, notAfter, publicKey}",
        );
        let text = args::string(&claims, "claims must be JSON text")?;
        let Ok(Value::Object(mut o)) = Value::parse(&text) else { return Err(to_js(SHAPE)) };
        let mut take_str = |name: &str| match o.remove(name) {
            Some(Value::String(s)) => Ok(s),
            _ => Err(to_js(SHAPE)),
        };
        let (subject, name, role) = (take_str("subject")?, take_str("name")?, take_str("role")?);
        let list = |v: Option<Value>| -> JsResult<Vec<String>> {
            let text = JsValue::from_str(&v.ok_or_else(|| to_js(SHAPE))?.to_json());
            string_array(&text, SHAPE)
        };
        let groups = list(o.remove("groups"))?;
        let purposes =
            list(o.remove("purposes"))?.iter().map(|p| Purpose::parse(p)).collect::<crate::Result<Vec<_>>>().js()?;
        let secs = |v: Option<Value>| v.and_then(|v| v.as_u64()).ok_or_else(|| to_js(SHAPE));
        let (not_before, not_after) = (secs(o.remove("notBefore"))?, secs(o.remove("notAfter"))?);
        let jwk = crate::keys::Jwk::from_value(o.remove("jwk").ok_or_else(|| to_js(SHAPE))?).js()?;
        if !o.is_empty() {
            return Err(to_js(SHAPE));
        }
        let key = crate::keys::PublicKey::from_jwk(&jwk).js()?;
        let groups: Vec<&str> = groups.iter().map(String::as_str).collect();
        let claims =
            Claims::new(&subject, &name, &role, key, not_before, not_after).groups(&groups).purposes(&purposes);
        let issued_at = args::safe_u64(&issued_at, "issuedAt must be seconds, a safe integer")?;
        issue(&claims, &issuer.0, issued_at).js()
    }

    /// Issues a revocation list: `serials` JSON text of an array of serials.
    #[wasm_bindgen(js_name = issueRevocations)]
    pub fn issue_revocation_list(
        serials: JsValue,
        issuer: &WasmSigningKey,
        issued_at: JsValue,
        expires: JsValue,
    ) -> JsResult<String> {
        const SHAPE: Error = Error::new(ErrorCode::InvalidArgument, "serials must be an array of certificate serials");
        let serials = string_array(&serials, SHAPE)?;
        let serials: Vec<&str> = serials.iter().map(String::as_str).collect();
        let iat = args::safe_u64(&issued_at, "issuedAt must be seconds, a safe integer")?;
        let exp = args::safe_u64(&expires, "expires must be seconds, a safe integer")?;
        issue_revocations(&serials, &issuer.0, iat, exp).js()
    }
}
