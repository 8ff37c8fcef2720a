//! Audit-log bindings: entries and reports cross as JSON text.

use wasm_bindgen::prelude::*;

use super::args;
use super::error::{IntoJs as _, JsResult, to_js};
use super::field::WasmSchema;
use super::keys::WasmPublicKey;
use crate::audit::{self, AuditLog, Entry};
use crate::error::{Error, ErrorCode};
use crate::keys::{Jwk, PrivateKey};
use crate::sign::SigningKey;

fn entry_arg(value: &JsValue) -> JsResult<Entry> {
    let text = args::string(value, "entry must be JSON text")?;
    Entry::from_json(&text).map_err(|_| {
        to_js(Error::new(ErrorCode::InvalidArgument, "entry must be {time, actor: {id, role}, action, ...} (see docs)"))
    })
}

/// An ECDSA P-384 key for signing checkpoints.
#[wasm_bindgen(js_name = SigningKey)]
pub struct WasmSigningKey(SigningKey);

#[wasm_bindgen(js_class = SigningKey)]
impl WasmSigningKey {
    /// A fresh key.
    pub fn generate() -> JsResult<WasmSigningKey> {
        SigningKey::generate().map(Self).js()
    }
    /// From a private JWK.
    #[wasm_bindgen(js_name = fromJwk)]
    pub fn from_jwk(jwk: JsValue) -> JsResult<WasmSigningKey> {
        let jwk = super::keys::jwk_from_js(&jwk)?;
        let scalar = PrivateKey::from_jwk(&jwk).js()?.to_scalar_bytes();
        SigningKey::from_scalar_bytes(&scalar[..]).map(Self).js()
    }
    /// PKCS#8 DER of the key (as `PrivateKey.exportPkcs8` writes it), for
    /// `KeyStore`, which stores it wrapped under its non-extractable key.
    #[wasm_bindgen(js_name = exportPkcs8)]
    pub fn export_pkcs8(&self) -> JsResult<Vec<u8>> {
        let key = PrivateKey::from_scalar_bytes(&self.0.to_scalar_bytes()[..]).js()?;
        Ok(key.to_pkcs8_der().to_vec())
    }
    /// From PKCS#8 DER (what `exportPkcs8` wrote).
    #[wasm_bindgen(js_name = importPkcs8)]
    pub fn import_pkcs8(der: &[u8]) -> JsResult<WasmSigningKey> {
        let scalar = PrivateKey::from_pkcs8_der(der).js()?.to_scalar_bytes();
        SigningKey::from_scalar_bytes(&scalar[..]).map(Self).js()
    }
    /// The public key that verifies checkpoints.
    #[wasm_bindgen(getter, js_name = publicKey)]
    pub fn public_key(&self) -> WasmPublicKey {
        WasmPublicKey(self.0.verifying_key())
    }
}

/// An append-only, hash-chained audit log.
#[wasm_bindgen(js_name = AuditLog)]
pub struct WasmAuditLog(AuditLog);

#[wasm_bindgen(js_class = AuditLog)]
impl WasmAuditLog {
    /// A new log; `id` names the chain.
    #[wasm_bindgen(constructor)]
    pub fn new(id: JsValue) -> JsResult<WasmAuditLog> {
        AuditLog::new(&args::string(&id, "log id must be a string")?).map(Self).js()
    }
    /// Continues a chain after its entry `seq` with hash `head`.
    pub fn resume(id: JsValue, seq: JsValue, head: JsValue) -> JsResult<WasmAuditLog> {
        let id = args::string(&id, "log id must be a string")?;
        let seq = args::safe_u64(&seq, "seq must be a non-negative integer")?;
        let head = args::string(&head, "head must be a string")?;
        AuditLog::resume(&id, seq, &head).map(Self).js()
    }
    /// Appends an entry (JSON text); returns its JSON line.
    pub fn append(&mut self, entry: JsValue) -> JsResult<String> {
        Ok(audit::Line::Entry(self.0.append(entry_arg(&entry)?).js()?).to_json())
    }
    /// Appends after refusing PHI values of `record` (JSON text) found in the entry.
    #[wasm_bindgen(js_name = appendChecked)]
    pub fn append_checked(&mut self, entry: JsValue, record: JsValue, schema: &WasmSchema) -> JsResult<String> {
        let text = args::string(&record, "record must be JSON text")?;
        let record = crate::json::Value::parse(&text)
            .map_err(|_| to_js(Error::new(ErrorCode::MalformedInput, "record must be JSON")))?;
        Ok(audit::Line::Entry(self.0.append_checked(entry_arg(&entry)?, &record, &schema.0).js()?).to_json())
    }
    /// Signs a checkpoint; returns its JSON line.
    pub fn checkpoint(&mut self, key: &WasmSigningKey, time: JsValue) -> JsResult<String> {
        let time = args::safe_u64(&time, "time must be Unix milliseconds")?;
        Ok(audit::Line::Note(self.0.checkpoint(&key.0, time).js()?).to_json())
    }
    /// JSON Lines export.
    #[wasm_bindgen(js_name = toJsonl)]
    pub fn to_jsonl(&self) -> String {
        self.0.to_jsonl()
    }
    /// Sequence number of the last entry.
    #[wasm_bindgen(getter)]
    pub fn seq(&self) -> f64 {
        self.0.seq() as f64
    }
    /// Hash of the last entry.
    #[wasm_bindgen(getter)]
    pub fn head(&self) -> String {
        self.0.head()
    }
}

/// Verifies a JSON Lines log; `trusted` is JSON text of public JWKs.
#[wasm_bindgen(js_name = verifyLog)]
pub fn verify_log(jsonl: JsValue, trusted: JsValue) -> JsResult<String> {
    let jsonl = args::string(&jsonl, "log must be JSON Lines text")?;
    let trusted = args::string(&trusted, "trusted keys must be JSON text")?;
    const SHAPE: Error = Error::new(ErrorCode::InvalidArgument, "trusted keys must be public JWKs");
    let Ok(crate::json::Value::Array(items)) = crate::json::Value::parse(&trusted) else { return Err(to_js(SHAPE)) };
    let keys = items
        .into_iter()
        .map(|v| Jwk::from_value(v).map_err(|_| SHAPE).and_then(|jwk| crate::keys::PublicKey::from_jwk(&jwk)))
        .collect::<crate::Result<Vec<_>>>()
        .js()?;
    Ok(audit::verify_log(&jsonl, &keys).to_json())
}
