//! Field-encryption bindings. Records, schemas and results cross as JSON
//! text (the `js/` layer stringifies and parses), so every JSON value keeps
//! its exact type.

use js_sys::Promise;
use serde::Deserialize;
use serde_json::Value;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use super::args;
use super::error::{IntoJs as _, JsResult, to_js};
use super::keys::WasmPrivateKey;
use crate::browser::provider::{self, Provider};
use crate::error::{Error, ErrorCode};
use crate::field::{self, IndexKey, Recipient, Schema, SealOptions};
use crate::keys::{Jwk, PublicKey};

fn json_arg(value: &JsValue, what: &'static str) -> JsResult<Value> {
    let text = args::string(value, what)?;
    serde_json::from_str(&text).map_err(|_| to_js(Error::new(ErrorCode::MalformedInput, what)))
}

fn to_json(value: &impl serde::Serialize) -> JsResult<String> {
    serde_json::to_string(value).map_err(|_| to_js(Error::new(ErrorCode::Platform, "could not serialize the result")))
}

#[derive(Deserialize)]
struct RecipientArg {
    jwk: Jwk,
    groups: Option<Vec<String>>,
}

fn recipients_arg(value: &JsValue) -> JsResult<Vec<Recipient>> {
    let text = args::string(value, "recipients must be JSON text")?;
    let raw: Vec<RecipientArg> = serde_json::from_str(&text)
        .map_err(|_| to_js(Error::new(ErrorCode::InvalidArgument, "recipients must be [{publicKey, groups?}]")))?;
    raw.into_iter().map(|r| Ok(Recipient { key: PublicKey::from_jwk(&r.jwk).js()?, groups: r.groups })).collect()
}

fn provider_arg(value: &JsValue) -> JsResult<Provider> {
    Provider::parse(&args::string(value, "provider must be a string")?).js()
}

/// A validated schema.
#[wasm_bindgen(js_name = Schema)]
pub struct WasmSchema(pub(crate) Schema);

#[wasm_bindgen(js_class = Schema)]
impl WasmSchema {
    /// Parses a schema from JSON text.
    #[wasm_bindgen(constructor)]
    pub fn new(json: JsValue) -> JsResult<WasmSchema> {
        Schema::from_json(&args::string(&json, "schema must be JSON text")?).map(Self).js()
    }
    /// The schema id.
    #[wasm_bindgen(getter)]
    pub fn id(&self) -> String {
        self.0.id().to_owned()
    }
    /// The schema version.
    #[wasm_bindgen(getter)]
    pub fn version(&self) -> u32 {
        self.0.version()
    }
}

/// A tenant index key (deterministic and blind-index fields).
#[wasm_bindgen(js_name = IndexKey)]
pub struct WasmIndexKey(IndexKey);

#[wasm_bindgen(js_class = IndexKey)]
impl WasmIndexKey {
    /// A fresh random index key.
    pub fn generate() -> JsResult<WasmIndexKey> {
        IndexKey::generate().map(Self).js()
    }
    /// The key id (base64url).
    #[wasm_bindgen(getter)]
    pub fn id(&self) -> String {
        self.0.id_string()
    }
    /// A copy of this handle (used by `js/` for by-value arguments).
    #[wasm_bindgen(js_name = clone)]
    pub fn copy(&self) -> WasmIndexKey {
        Self(self.0.clone())
    }
}

/// Seals a record; resolves to the sealed record as JSON text.
#[wasm_bindgen(js_name = sealRecord)]
pub fn seal_record(
    record: JsValue,
    schema: &WasmSchema,
    record_id: JsValue,
    recipients: JsValue,
    created: JsValue,
    index_key: Option<WasmIndexKey>,
    provider: JsValue,
) -> JsResult<Promise> {
    let record = json_arg(&record, "record must be JSON text")?;
    let record_id = args::string(&record_id, "recordId must be a string")?;
    let created = args::integer(&created, u32::MAX, "created must be Unix seconds")?;
    let opts = SealOptions::new(&record_id, recipients_arg(&recipients)?, u64::from(created));
    let provider = provider_arg(&provider)?;
    let (plan, jobs) = field::plan_seal(&record, &schema.0, &opts, index_key.as_ref().map(|k| &k.0)).js()?;
    Ok(future_to_promise(async move {
        let wrapped = provider::run_wrap_jobs(provider, &jobs).await.js()?;
        Ok(to_json(&plan.finish(&wrapped).js()?)?.into())
    }))
}

/// Opens a record; resolves to JSON text `{record, locked}`.
#[wasm_bindgen(js_name = openRecord)]
pub fn open_record(
    sealed: JsValue,
    schema: &WasmSchema,
    key: &WasmPrivateKey,
    index_key: Option<WasmIndexKey>,
) -> JsResult<Promise> {
    let sealed = json_arg(&sealed, "sealed record must be JSON text")?;
    let (plan, jobs) = field::plan_open(&sealed, &schema.0, key.0.public_key()).js()?;
    let (schema, key) = (schema.0.clone(), key.0.clone());
    Ok(future_to_promise(async move {
        let deks = provider::run_unwrap_jobs(&key, &jobs).await.js()?;
        let opened = plan.finish(&schema, &deks, index_key.as_ref().map(|k| &k.0)).js()?;
        let locked: Vec<Value> =
            opened.locked.iter().map(|l| serde_json::json!({"path": l.pointer, "reason": l.reason})).collect();
        Ok(to_json(&serde_json::json!({"record": opened.record, "locked": locked}))?.into())
    }))
}

/// Changes recipients (`rekey`: false) or re-keys the record (`rekey`: true).
#[wasm_bindgen(js_name = rewrapRecord)]
pub fn rewrap_record(
    sealed: JsValue,
    schema: &WasmSchema,
    key: &WasmPrivateKey,
    recipients: JsValue,
    rekey: JsValue,
    now: JsValue,
    provider: JsValue,
) -> JsResult<Promise> {
    let sealed = json_arg(&sealed, "sealed record must be JSON text")?;
    let recipients = recipients_arg(&recipients)?;
    let rekey = args::boolean(&rekey, "rekey must be a boolean")?;
    let now = u64::from(args::integer(&now, u32::MAX, "now must be Unix seconds")?);
    let provider = provider_arg(&provider)?;
    let (plan, jobs) = field::plan_rewrap(&sealed, &schema.0, key.0.public_key()).js()?;
    let (schema, key) = (schema.0.clone(), key.0.clone());
    Ok(future_to_promise(async move {
        let deks = provider::run_unwrap_jobs(&key, &jobs).await.js()?;
        let (plan, jobs) =
            if rekey { plan.rekey(&schema, &deks, &recipients, now) } else { plan.rewrap(&schema, &deks, &recipients) }
                .js()?;
        let wrapped = provider::run_wrap_jobs(provider, &jobs).await.js()?;
        Ok(to_json(&plan.finish(&wrapped).js()?)?.into())
    }))
}

/// Seals an index key to recipients; resolves to a `phk1.` string.
#[wasm_bindgen(js_name = sealIndexKey)]
pub fn seal_index_key(index_key: &WasmIndexKey, recipients: JsValue, provider: JsValue) -> JsResult<Promise> {
    let keys: Vec<PublicKey> = recipients_arg(&recipients)?.into_iter().map(|r| r.key).collect();
    let provider = provider_arg(&provider)?;
    let jobs = index_key.0.plan_seal(&keys).js()?;
    let ik = index_key.0.clone();
    Ok(future_to_promise(async move {
        let wrapped = provider::run_wrap_jobs(provider, &jobs).await.js()?;
        Ok(ik.finish_seal(&keys, &wrapped).js()?.into())
    }))
}

/// Opens a sealed index key; resolves to an `IndexKey`.
#[wasm_bindgen(js_name = openIndexKey)]
pub fn open_index_key(sealed: JsValue, key: &WasmPrivateKey) -> JsResult<Promise> {
    let sealed = args::string(&sealed, "sealed index key must be a string")?;
    let (plan, job) = IndexKey::plan_open(&sealed, key.0.public_key()).js()?;
    let key = key.0.clone();
    Ok(future_to_promise(async move {
        let secret = provider::run_unwrap_jobs(&key, core::slice::from_ref(&job)).await.js()?;
        let secret = secret.first().ok_or_else(|| to_js(Error::DECRYPT_FAILED))?;
        Ok(WasmIndexKey(plan.finish(secret).js()?).into())
    }))
}

/// PHI paths present in plaintext (JSON text array of JSON Pointers).
#[wasm_bindgen(js_name = verifyAllPhiEncrypted)]
pub fn verify_all_phi_encrypted(record: JsValue, schema: &WasmSchema) -> JsResult<String> {
    to_json(&field::verify_all_phi_encrypted(&json_arg(&record, "record must be JSON text")?, &schema.0).js()?)
}

/// A log-safe copy (JSON text).
#[wasm_bindgen]
pub fn redact(record: JsValue, schema: &WasmSchema) -> JsResult<String> {
    to_json(&field::redact(&json_arg(&record, "record must be JSON text")?, &schema.0))
}

/// The unauthenticated header of a sealed record (JSON text).
#[wasm_bindgen(js_name = inspectRecord)]
pub fn inspect_record(sealed: JsValue) -> JsResult<String> {
    let h = field::inspect(&json_arg(&sealed, "sealed record must be JSON text")?).js()?;
    let groups: Vec<Value> = h
        .groups
        .iter()
        .map(|(g, kids)| serde_json::json!({"group": g, "recipients": kids.iter().map(crate::field::kid_string).collect::<Vec<_>>()}))
        .collect();
    to_json(&serde_json::json!({
        "recordId": h.record_id, "schemaId": h.schema_id, "schemaVersion": h.schema_version,
        "epoch": h.epoch, "created": h.created, "groups": groups,
        "indexKeyId": h.index_key_id.map(|id| crate::field::kid_string16(&id)),
    }))
}

/// Whether the record's keys are older than `maxAgeDays` at `now` (Unix seconds).
#[wasm_bindgen(js_name = needsRotation)]
pub fn needs_rotation(sealed: JsValue, max_age_days: JsValue, now: JsValue) -> JsResult<bool> {
    let sealed = json_arg(&sealed, "sealed record must be JSON text")?;
    let days = args::integer(&max_age_days, 1_000_000, "maxAgeDays must be a non-negative integer")?;
    let now = args::integer(&now, u32::MAX, "now must be Unix seconds")?;
    field::needs_rotation(&sealed, days, u64::from(now)).js()
}

/// The search token of a value for a deterministic or blind-index field.
#[wasm_bindgen(js_name = searchToken)]
pub fn search_token(schema: &WasmSchema, path: JsValue, value: JsValue, index_key: &WasmIndexKey) -> JsResult<String> {
    let path = args::string(&path, "path must be a string")?;
    field::search_token(&schema.0, &path, &json_arg(&value, "value must be JSON text")?, &index_key.0).js()
}
