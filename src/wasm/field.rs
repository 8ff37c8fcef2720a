//! Field-encryption bindings. Records, schemas and results cross as JSON
//! text (the `js/` layer stringifies and parses), so every JSON value keeps
//! its exact type.

use js_sys::Promise;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use super::args;
use super::error::{IntoJs as _, JsResult, to_js};
use super::keys::WasmPrivateKey;
use crate::browser::provider::{self, Provider};
use crate::error::{Error, ErrorCode};
use crate::field::{self, IndexKey, Recipient, Schema, SealOptions};
use crate::json::{Map, Value};
use crate::keys::PublicKey;

fn json_arg(value: &JsValue, what: &'static str) -> JsResult<Value> {
    let text = args::string(value, what)?;
    Value::parse(&text).map_err(|_| to_js(Error::new(ErrorCode::MalformedInput, what)))
}

/// `[{jwk, groups?: [string]}]` as JSON text (built by `js/`).
fn recipients_arg(value: &JsValue) -> JsResult<Vec<Recipient>> {
    const SHAPE: Error = Error::new(ErrorCode::InvalidArgument, "recipients must be [{jwk, groups?}] (built by js/)");
    let groups = |o: &mut Map| match o.remove("groups") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(gs)) => gs
            .into_iter()
            .map(|g| if let Value::String(g) = g { Ok(g) } else { Err(SHAPE) })
            .collect::<crate::Result<_>>()
            .map(Some),
        Some(_) => Err(SHAPE),
    };
    Ok(args::recipients(value, SHAPE, groups)?.into_iter().map(|(key, groups)| Recipient { key, groups }).collect())
}

fn object(members: impl IntoIterator<Item = (&'static str, Value)>) -> Value {
    Value::Object(members.into_iter().map(|(k, v)| (k.to_owned(), v)).collect::<Map>())
}

fn strings(items: impl IntoIterator<Item = String>) -> Value {
    Value::Array(items.into_iter().map(Value::String).collect())
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
        Ok(plan.finish(&wrapped).js()?.to_json().into())
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
        let locked = opened
            .locked
            .into_iter()
            .map(|l| object([("path", l.pointer.into()), ("reason", l.reason.into())]))
            .collect::<Vec<_>>();
        Ok(object([("record", opened.record), ("locked", locked.into())]).to_json().into())
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
        Ok(plan.finish(&wrapped).js()?.to_json().into())
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
    let paths = field::verify_all_phi_encrypted(&json_arg(&record, "record must be JSON text")?, &schema.0).js()?;
    Ok(strings(paths).to_json())
}

/// A log-safe copy (JSON text).
#[wasm_bindgen]
pub fn redact(record: JsValue, schema: &WasmSchema) -> JsResult<String> {
    Ok(field::redact(&json_arg(&record, "record must be JSON text")?, &schema.0).to_json())
}

/// The unauthenticated header of a sealed record (JSON text).
#[wasm_bindgen(js_name = inspectRecord)]
pub fn inspect_record(sealed: JsValue) -> JsResult<String> {
    let h = field::inspect(&json_arg(&sealed, "sealed record must be JSON text")?).js()?;
    let groups = h
        .groups
        .iter()
        .map(|(g, kids)| {
            object([("group", g.as_str().into()), ("recipients", strings(kids.iter().map(crate::field::kid_string)))])
        })
        .collect::<Vec<_>>();
    Ok(object([
        ("recordId", h.record_id.into()),
        ("schemaId", h.schema_id.into()),
        ("schemaVersion", h.schema_version.into()),
        ("epoch", h.epoch.into()),
        ("created", h.created.into()),
        ("groups", groups.into()),
        ("indexKeyId", h.index_key_id.map(|id| crate::field::kid_string16(&id)).into()),
    ])
    .to_json())
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
