//! Field-encryption bindings. Records, schemas and results cross as JSON
//! text (the `js/` layer stringifies and parses), so every JSON value keeps
//! its exact type.

use crate::browser::scrub::future_to_promise;
use js_sys::Promise;
use wasm_bindgen::prelude::*;

use super::args;
use super::author::WasmAuthorKey;
use super::error::{IntoJs as _, JsResult, to_js};
use super::keys::WasmPrivateKey;
use crate::browser::provider::{self, Provider};
use crate::error::{Error, ErrorCode};
use crate::field::{self, Context, Expected, Header, IndexKey, Recipient, Schema, SealOptions};
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
    /// The schema's access groups.
    #[wasm_bindgen(getter)]
    pub fn groups(&self) -> Vec<String> {
        self.0.groups().into_iter().map(str::to_owned).collect()
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

fn invalid(message: &'static str) -> JsValue {
    to_js(Error::new(ErrorCode::InvalidArgument, message))
}

/// An encryption context: a JSON object of string values (built by `js/`).
fn context_value(value: Option<Value>) -> JsResult<Context> {
    const SHAPE: &str = "context must be an object of string values";
    match value {
        None | Some(Value::Null) => Ok(Context::new()),
        Some(Value::Object(map)) => map
            .into_iter()
            .map(|(k, v)| if let Value::String(v) = v { Ok((k, v)) } else { Err(invalid(SHAPE)) })
            .collect(),
        Some(_) => Err(invalid(SHAPE)),
    }
}

fn u64_value(value: Option<&Value>, default: u64, message: &'static str) -> JsResult<u64> {
    match value {
        None | Some(Value::Null) => Ok(default),
        Some(v) => v.as_u64().filter(|n| *n < (1u64 << 53)).ok_or_else(|| invalid(message)),
    }
}

fn digest_value(value: Option<&Value>) -> JsResult<Option<[u8; field::VERSION_DIGEST_LEN]>> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => crate::field::codec_unb64(s)
            .ok()
            .and_then(|b| <[u8; field::VERSION_DIGEST_LEN]>::try_from(b.as_slice()).ok())
            .map(Some)
            .ok_or_else(|| invalid("previous.digest must be a 48-byte base64url digest")),
        Some(_) => Err(invalid("previous.digest must be a string")),
    }
}

/// `{recordId, created, context?, version?, previous?}` as JSON text (built by `js/`).
fn seal_options(value: &JsValue, recipients: Vec<Recipient>) -> JsResult<SealOptions> {
    let Value::Object(mut o) = json_arg(value, "seal options must be JSON text")? else {
        return Err(invalid("seal options must be an object"));
    };
    let record_id = match o.remove("recordId") {
        Some(Value::String(s)) => s,
        _ => return Err(invalid("recordId must be a string")),
    };
    let created = u64_value(o.get("created"), 0, "created must be Unix seconds")?;
    let mut opts = SealOptions::new(&record_id, recipients, created);
    opts.context = context_value(o.remove("context"))?;
    opts.version = u64_value(o.get("version"), 1, "version must be a positive integer")?;
    opts.previous = digest_value(o.get("previous"))?;
    Ok(opts)
}

/// `{recordId, context?, authors: [{jwk}], minVersion?}` as JSON text (built by `js/`).
struct ExpectedArg {
    record_id: String,
    context: Context,
    authors: Vec<PublicKey>,
    min_version: u64,
}

impl ExpectedArg {
    fn parse(value: &JsValue) -> JsResult<Self> {
        let Value::Object(mut o) = json_arg(value, "expected must be JSON text")? else {
            return Err(invalid("expected must be an object"));
        };
        let record_id = match o.remove("recordId") {
            Some(Value::String(s)) => s,
            _ => return Err(invalid("recordId must be a string")),
        };
        let context = context_value(o.remove("context"))?;
        let min_version = u64_value(o.get("minVersion"), 0, "minVersion must be a non-negative integer")?;
        let authors = authors_value(o.remove("authors"))?;
        Ok(Self { record_id, context, authors, min_version })
    }

    fn expected(&self) -> Expected<'_> {
        Expected {
            record_id: &self.record_id,
            context: self.context.clone(),
            authors: &self.authors,
            min_version: self.min_version,
        }
    }
}

/// `[{jwk}]`: the trusted author keys.
fn authors_value(value: Option<Value>) -> JsResult<Vec<PublicKey>> {
    const SHAPE: &str = "authors must be a non-empty array of PublicKeys";
    let Some(Value::Array(items)) = value else { return Err(invalid(SHAPE)) };
    if items.is_empty() {
        return Err(invalid(SHAPE));
    }
    items
        .into_iter()
        .map(|item| {
            let Value::Object(mut o) = item else { return Err(invalid(SHAPE)) };
            let jwk = crate::keys::Jwk::from_value(o.remove("jwk").ok_or_else(|| invalid(SHAPE))?)
                .map_err(|_| invalid(SHAPE))?;
            PublicKey::from_jwk(&jwk).js()
        })
        .collect()
}

fn authors_arg(value: &JsValue) -> JsResult<Vec<PublicKey>> {
    authors_value(Some(json_arg(value, "authors must be JSON text")?))
}

fn b64(bytes: &[u8]) -> Value {
    Value::String(crate::field::codec_b64(bytes))
}

/// The header as the JSON `js/` returns (docs/FORMAT.md §5.9).
fn header_json(h: &Header) -> Value {
    let groups = h
        .groups
        .iter()
        .map(|(g, kids)| {
            object([("group", g.as_str().into()), ("recipients", strings(kids.iter().map(crate::field::kid_string)))])
        })
        .collect::<Vec<_>>();
    let context = Value::Object(h.context.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect());
    object([
        ("recordId", h.record_id.as_str().into()),
        ("schemaId", h.schema_id.as_str().into()),
        ("schemaVersion", h.schema_version.into()),
        ("version", h.version.into()),
        ("previous", h.previous.map_or(Value::Null, |d| b64(&d))),
        ("epoch", h.epoch.into()),
        ("created", h.created.into()),
        ("context", context),
        ("author", crate::field::kid_string(&h.author).into()),
        ("indexKeyId", h.index_key_id().map(|id| crate::field::kid_string16(&id)).into()),
        ("groups", groups.into()),
    ])
}

fn opened_json(opened: field::Opened) -> Value {
    let locked = opened
        .locked
        .into_iter()
        .map(|l| object([("path", l.pointer.into()), ("reason", l.reason.into())]))
        .collect::<Vec<_>>();
    let mut header = header_json(&opened.header);
    if let Value::Object(h) = &mut header {
        h.insert("digest".to_owned(), b64(&opened.digest));
    }
    let author = object([("kid", crate::field::kid_string(&opened.header.author).into())]);
    object([("record", opened.record), ("locked", locked.into()), ("header", header), ("author", author)])
}

/// Seals a record signed by `author`; resolves to the sealed record as JSON text.
#[wasm_bindgen(js_name = sealRecord)]
pub fn seal_record(
    record: JsValue,
    schema: &WasmSchema,
    recipients: JsValue,
    options: JsValue,
    index_key: Option<WasmIndexKey>,
    provider: JsValue,
    author: &WasmAuthorKey,
) -> JsResult<Promise> {
    let record = json_arg(&record, "record must be JSON text")?;
    let opts = seal_options(&options, recipients_arg(&recipients)?)?;
    let provider = provider_arg(&provider)?;
    let signer = author.0.clone();
    let (plan, jobs) =
        field::plan_seal(&record, &schema.0, &opts, index_key.as_ref().map(|k| &k.0), &signer.public_key()).js()?;
    Ok(future_to_promise(async move {
        let wrapped = provider::run_wrap_jobs(provider, &jobs).await.js()?;
        let plan = plan.finish(&wrapped).js()?;
        let signature = signer.sign(&plan.message()).await.js()?;
        Ok(plan.finish(&signature).js()?.to_json().into())
    }))
}

/// Opens a record as `expected` says; resolves to JSON text `{record, locked, header, author}`.
#[wasm_bindgen(js_name = openRecord)]
pub fn open_record(
    sealed: JsValue,
    schema: &WasmSchema,
    key: &WasmPrivateKey,
    index_key: Option<WasmIndexKey>,
    expected: JsValue,
) -> JsResult<Promise> {
    let sealed = json_arg(&sealed, "sealed record must be JSON text")?;
    let expected = ExpectedArg::parse(&expected)?;
    let (plan, verify, jobs) = field::plan_open(&sealed, &schema.0, key.0.public_key(), &expected.expected()).js()?;
    let (schema, key) = (schema.0.clone(), key.0.clone());
    Ok(future_to_promise(async move {
        let verified = provider::verify(&verify).await.js()?;
        let deks = provider::run_unwrap_jobs(&key, &jobs).await.js()?;
        let opened = plan.finish(&schema, &verified, &deks, index_key.as_ref().map(|k| &k.0)).js()?;
        Ok(opened_json(opened).to_json().into())
    }))
}

/// Changes recipients (`rekey`: false) or re-keys the record (`rekey`: true):
/// the next version, signed by `author`, of a record checked as `expected` says.
#[wasm_bindgen(js_name = rewrapRecord)]
#[allow(clippy::too_many_arguments)]
pub fn rewrap_record(
    sealed: JsValue,
    schema: &WasmSchema,
    key: &WasmPrivateKey,
    recipients: JsValue,
    rekey: JsValue,
    now: JsValue,
    provider: JsValue,
    expected: JsValue,
    author: &WasmAuthorKey,
) -> JsResult<Promise> {
    let sealed = json_arg(&sealed, "sealed record must be JSON text")?;
    let recipients = recipients_arg(&recipients)?;
    let rekey = args::boolean(&rekey, "rekey must be a boolean")?;
    let now = args::safe_u64(&now, "now must be Unix seconds")?;
    let provider = provider_arg(&provider)?;
    let expected = ExpectedArg::parse(&expected)?;
    let (plan, verify, jobs) = field::plan_rewrap(&sealed, &schema.0, key.0.public_key(), &expected.expected()).js()?;
    let (schema, key, signer) = (schema.0.clone(), key.0.clone(), author.0.clone());
    Ok(future_to_promise(async move {
        let verified = provider::verify(&verify).await.js()?;
        let deks = provider::run_unwrap_jobs(&key, &jobs).await.js()?;
        let me = signer.public_key();
        let (plan, jobs) = if rekey {
            plan.rekey(&schema, &verified, &deks, &recipients, &me, now)
        } else {
            plan.rewrap(&schema, &verified, &deks, &recipients, &me)
        }
        .js()?;
        let wrapped = provider::run_wrap_jobs(provider, &jobs).await.js()?;
        let plan = plan.finish(&wrapped).js()?;
        let signature = signer.sign(&plan.message()).await.js()?;
        Ok(plan.finish(&signature).js()?.to_json().into())
    }))
}

/// Seals an index key to recipients, signed by `author`; resolves to a `phk2.` string.
#[wasm_bindgen(js_name = sealIndexKey)]
pub fn seal_index_key(
    index_key: &WasmIndexKey,
    recipients: JsValue,
    provider: JsValue,
    author: &WasmAuthorKey,
) -> JsResult<Promise> {
    let keys: Vec<PublicKey> = recipients_arg(&recipients)?.into_iter().map(|r| r.key).collect();
    let provider = provider_arg(&provider)?;
    let signer = author.0.clone();
    let jobs = index_key.0.plan_seal(&keys, &signer.public_key()).js()?;
    let ik = index_key.0.clone();
    Ok(future_to_promise(async move {
        let wrapped = provider::run_wrap_jobs(provider, &jobs).await.js()?;
        let plan = ik.finish_seal(&keys, &signer.public_key(), &wrapped).js()?;
        let signature = signer.sign(&plan.message()).await.js()?;
        Ok(plan.finish(&signature).js()?.into())
    }))
}

/// Opens a sealed index key by a trusted author; resolves to an `IndexKey`.
#[wasm_bindgen(js_name = openIndexKey)]
pub fn open_index_key(sealed: JsValue, key: &WasmPrivateKey, authors: JsValue) -> JsResult<Promise> {
    let sealed = args::string(&sealed, "sealed index key must be a string")?;
    let authors = authors_arg(&authors)?;
    let (plan, verify, job) = IndexKey::plan_open(&sealed, key.0.public_key(), &authors).js()?;
    let key = key.0.clone();
    Ok(future_to_promise(async move {
        let verified = provider::verify(&verify).await.js()?;
        let secret = provider::run_unwrap_jobs(&key, core::slice::from_ref(&job)).await.js()?;
        let secret = secret.first().ok_or_else(|| to_js(Error::DECRYPT_FAILED))?;
        Ok(WasmIndexKey(plan.finish(&verified, secret).js()?).into())
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
    let (h, digest) = field::inspect_with_digest(&json_arg(&sealed, "sealed record must be JSON text")?).js()?;
    let mut header = header_json(&h);
    if let Value::Object(o) = &mut header {
        o.insert("digest".to_owned(), b64(&digest));
    }
    Ok(header.to_json())
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
