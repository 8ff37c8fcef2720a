//! Audit-log bindings (docs/FORMAT.md §6): entries, reports, proofs and
//! alerts cross as JSON text; hashes as standard base64.

use wasm_bindgen::prelude::*;

use super::args;
use super::error::{IntoJs as _, JsResult, to_js};
use super::field::WasmSchema;
use super::keys::WasmPublicKey;
use crate::audit::merkle::{TREE_HASH_LEN, TreeHash};
use crate::audit::{self, AlertRules, AuditLog, CheckpointNote, Entry, MerkleTree, VerifyOptions, Witness};
use crate::error::{Error, ErrorCode};
use crate::json::Value;
use crate::keys::PrivateKey;
use crate::sign::SigningKey;
use base64ct::{Base64, Encoding as _};

fn hash_arg(value: &JsValue, message: &'static str) -> JsResult<TreeHash> {
    let text = args::string(value, message)?;
    Base64::decode_vec(&text)
        .ok()
        .and_then(|v| <[u8; TREE_HASH_LEN]>::try_from(v.as_slice()).ok())
        .ok_or_else(|| to_js(Error::new(ErrorCode::InvalidArgument, message)))
}

/// `{trusted, since, witnesses, required}` from the JS wrapper's arguments.
fn options_arg(trusted: &JsValue, since: &JsValue, witnesses: &JsValue, required: &JsValue) -> JsResult<VerifyOptions> {
    Ok(VerifyOptions {
        trusted: args::public_keys(trusted, "trusted keys must be public JWKs")?,
        since: if since.is_undefined() || since.is_null() {
            None
        } else {
            Some(args::string(since, "since must be a checkpoint note (text)")?)
        },
        witnesses: args::public_keys(witnesses, "witness keys must be public JWKs")?,
        witnesses_required: args::integer(required, 64, "witnesses.required must be a whole number")? as usize,
    })
}

fn entry_arg(value: &JsValue) -> JsResult<Entry> {
    let text = args::string(value, "entry must be JSON text")?;
    Entry::from_json(&text).map_err(|_| {
        to_js(Error::new(ErrorCode::InvalidArgument, "entry must be {time, actor: {id, role}, action, ...} (see docs)"))
    })
}

/// An ECDSA P-384 key for signing checkpoints.
#[wasm_bindgen(js_name = SigningKey)]
pub struct WasmSigningKey(pub(crate) SigningKey);

impl WasmSigningKey {
    /// A second handle on the same key, for an object that keeps it (a witness, a directory).
    pub(crate) fn copy_key(&self) -> JsResult<SigningKey> {
        SigningKey::from_scalar_bytes(&self.0.to_scalar_bytes()[..]).js()
    }
}

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
    /// Continues a chain and its tree (what `treeState` returned).
    #[wasm_bindgen(js_name = resumeWithTree)]
    pub fn resume_with_tree(id: JsValue, seq: JsValue, head: JsValue, tree: JsValue) -> JsResult<WasmAuditLog> {
        let id = args::string(&id, "log id must be a string")?;
        let seq = args::safe_u64(&seq, "seq must be a non-negative integer")?;
        let head = args::string(&head, "head must be a string")?;
        let tree = args::string(&tree, "tree must be a string")?;
        AuditLog::resume_with_tree(&id, seq, &head, &tree).map(Self).js()
    }
    /// The tree state to keep with seq and head (undefined if unknown).
    #[wasm_bindgen(getter, js_name = treeState)]
    pub fn tree_state(&self) -> Option<String> {
        self.0.tree_state()
    }
    /// Root hash of all entries (base64), undefined if the tree state is unknown.
    #[wasm_bindgen(getter)]
    pub fn root(&self) -> Option<String> {
        self.0.root().map(|r| Base64::encode_string(&r))
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
    /// The body a checkpoint now would sign, for `signCheckpoint` (an AuthorKey).
    #[wasm_bindgen(js_name = checkpointDraft)]
    pub fn checkpoint_draft(&self, time: JsValue) -> JsResult<WasmCheckpointDraft> {
        let time = args::safe_u64(&time, "time must be Unix milliseconds")?;
        self.0.checkpoint_body(time).map(WasmCheckpointDraft).js()
    }
    /// Adds a checkpoint `signCheckpoint` made (MISUSE if the log changed since its draft); returns its JSON line.
    #[wasm_bindgen(js_name = addCheckpoint)]
    pub fn add_checkpoint(&mut self, note: WasmSignedCheckpoint) -> JsResult<String> {
        let line = audit::Line::Note(note.0.clone()).to_json();
        self.0.add_checkpoint(note.0).js()?;
        Ok(line)
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

/// Verifies a JSON Lines log; keys are JSON text of public JWKs.
#[wasm_bindgen(js_name = verifyLog)]
pub fn verify_log(
    jsonl: JsValue,
    trusted: JsValue,
    since: JsValue,
    witnesses: JsValue,
    required: JsValue,
) -> JsResult<String> {
    let jsonl = args::string(&jsonl, "log must be JSON Lines text")?;
    let opts = options_arg(&trusted, &since, &witnesses, &required)?;
    Ok(audit::verify_log_with(&jsonl, &opts).js()?.to_json())
}

/// Verifies a log, then runs the access alerts on it: `{report, alerts}`.
#[wasm_bindgen(js_name = accessAlerts)]
pub fn access_alerts(
    jsonl: JsValue,
    trusted: JsValue,
    since: JsValue,
    witnesses: JsValue,
    required: JsValue,
    rules: JsValue,
) -> JsResult<String> {
    let jsonl = args::string(&jsonl, "log must be JSON Lines text")?;
    let opts = options_arg(&trusted, &since, &witnesses, &required)?;
    let rules = AlertRules::from_json(&args::string(&rules, "rules must be JSON text")?).js()?;
    let (report, alerts) = audit::access_alerts(&jsonl, &opts, &rules).js()?;
    let alerts = Value::Array(alerts.iter().map(audit::Alert::to_value).collect()).to_json();
    Ok(format!("{{\"report\":{},\"alerts\":{alerts}}}", report.to_json()))
}

/// The Merkle tree of a log's entries, for inclusion and consistency proofs.
#[wasm_bindgen(js_name = AuditTree)]
pub struct WasmAuditTree(MerkleTree);

#[wasm_bindgen(js_class = AuditTree)]
impl WasmAuditTree {
    /// The tree of a JSON Lines log (its chain must verify).
    #[wasm_bindgen(js_name = fromLog)]
    pub fn from_log(jsonl: JsValue) -> JsResult<WasmAuditTree> {
        let jsonl = args::string(&jsonl, "log must be JSON Lines text")?;
        audit::tree_of(&jsonl).map(|(t, _)| Self(t)).js()
    }
    /// Number of entries.
    #[wasm_bindgen(getter)]
    pub fn size(&self) -> f64 {
        self.0.size() as f64
    }
    /// Root of the tree of the first `size` entries (base64).
    pub fn root(&self, size: JsValue) -> JsResult<String> {
        let size = args::safe_u64(&size, "size must be a non-negative integer")?;
        Ok(Base64::encode_string(&self.0.root_at(size).js()?))
    }
    /// Inclusion proof of entry `seq` in the tree of `size` entries (JSON array).
    #[wasm_bindgen(js_name = inclusionProof)]
    pub fn inclusion_proof(&self, seq: JsValue, size: JsValue) -> JsResult<String> {
        let seq = args::safe_u64(&seq, "seq must be a positive integer")?;
        let size = args::safe_u64(&size, "size must be a non-negative integer")?;
        let index =
            seq.checked_sub(1).ok_or_else(|| to_js(Error::new(ErrorCode::InvalidArgument, "seq starts at 1")))?;
        Ok(args::proof_json(&self.0.inclusion_proof(index, size).js()?))
    }
    /// Consistency proof from `oldSize` to `newSize` entries (JSON array).
    #[wasm_bindgen(js_name = consistencyProof)]
    pub fn consistency_proof(&self, old: JsValue, new: JsValue) -> JsResult<String> {
        let old = args::safe_u64(&old, "oldSize must be a non-negative integer")?;
        let new = args::safe_u64(&new, "newSize must be a non-negative integer")?;
        Ok(args::proof_json(&self.0.consistency_proof(old, new).js()?))
    }
}

/// Verifies that an entry line is entry `seq` of the tree of `size` entries
/// with `root`; throws INVALID_SIGNATURE if not.
#[wasm_bindgen(js_name = verifyInclusion)]
pub fn verify_inclusion(entry: JsValue, size: JsValue, root: JsValue, proof: JsValue) -> JsResult<()> {
    let line = args::string(&entry, "entry must be its JSON line")?;
    let Ok(audit::Line::Entry(e)) = audit::Line::from_json(&line) else {
        return Err(to_js(Error::new(ErrorCode::InvalidArgument, "entry must be its JSON line")));
    };
    let size = args::safe_u64(&size, "size must be a non-negative integer")?;
    let root = hash_arg(&root, "root must be a base64 hash")?;
    let index = e.seq.checked_sub(1).ok_or_else(|| to_js(Error::new(ErrorCode::InvalidArgument, "seq starts at 1")))?;
    audit::verify_inclusion(index, size, &e.leaf_hash().js()?, &args::proof(&proof)?, &root).js()
}

/// Verifies that the tree (`newSize`, `newRoot`) extends (`oldSize`,
/// `oldRoot`); throws INVALID_SIGNATURE if not.
#[wasm_bindgen(js_name = verifyConsistency)]
pub fn verify_consistency(
    old_size: JsValue,
    old_root: JsValue,
    new_size: JsValue,
    new_root: JsValue,
    proof: JsValue,
) -> JsResult<()> {
    let old = args::safe_u64(&old_size, "oldSize must be a non-negative integer")?;
    let new = args::safe_u64(&new_size, "newSize must be a non-negative integer")?;
    let (a, b) =
        (hash_arg(&old_root, "oldRoot must be a base64 hash")?, hash_arg(&new_root, "newRoot must be a base64 hash")?);
    audit::verify_consistency(old, new, &a, &b, &args::proof(&proof)?).js()
}

/// A checkpoint note's body as JSON: `{origin, size, root, time}`.
#[wasm_bindgen(js_name = parseCheckpoint)]
pub fn parse_checkpoint(note: JsValue) -> JsResult<String> {
    let note = CheckpointNote::parse(&args::string(&note, "a checkpoint note is text")?).js()?;
    let mut o = crate::json::Map::new();
    o.insert("origin".into(), note.body.origin.as_str().into());
    o.insert("size".into(), note.body.size.into());
    o.insert("root".into(), Base64::encode_string(&note.body.root).into());
    o.insert("time".into(), note.body.time.into());
    Ok(Value::Object(o).to_json())
}

/// A witness that cosigns consistent checkpoints of the logs it accepts.
#[wasm_bindgen(js_name = Witness)]
pub struct WasmWitness(Witness);

#[wasm_bindgen(js_class = Witness)]
impl WasmWitness {
    /// `name` (e.g. `witness.example/w1`), its key, and the log keys it accepts (JSON of JWKs).
    #[wasm_bindgen(constructor)]
    pub fn new(name: JsValue, key: &WasmSigningKey, log_keys: JsValue) -> JsResult<WasmWitness> {
        let name = args::string(&name, "witness name must be a string")?;
        let key = key.copy_key()?;
        Witness::new(&name, key, args::public_keys(&log_keys, "log keys must be public JWKs")?).map(Self).js()
    }
    /// Cosigns `note` at `time` (POSIX seconds) given the consistency proof
    /// from the size last cosigned; returns the signature line to append.
    pub fn cosign(&mut self, note: JsValue, proof: JsValue, time: JsValue) -> JsResult<String> {
        let note = args::string(&note, "a checkpoint note is text")?;
        let time = args::safe_u64(&time, "time must be POSIX seconds")?;
        self.0.cosign(&note, &args::proof(&proof)?, time).js()
    }
    /// `{size, root}` last cosigned for `origin` (JSON), or undefined.
    pub fn last(&self, origin: JsValue) -> JsResult<Option<String>> {
        let origin = args::string(&origin, "origin must be a string")?;
        Ok(self
            .0
            .last(&origin)
            .map(|(size, root)| format!("{{\"size\":{size},\"root\":\"{}\"}}", Base64::encode_string(&root))))
    }
    /// Restores what was cosigned before (from the witness's own storage).
    pub fn remember(&mut self, origin: JsValue, size: JsValue, root: JsValue) -> JsResult<()> {
        let origin = args::string(&origin, "origin must be a string")?;
        let size = args::safe_u64(&size, "size must be a non-negative integer")?;
        self.0.remember(&origin, size, hash_arg(&root, "root must be a base64 hash")?);
        Ok(())
    }
    /// The witness's name.
    #[wasm_bindgen(getter)]
    pub fn name(&self) -> String {
        self.0.name().to_owned()
    }
    /// The public key verifiers require cosignatures from.
    #[wasm_bindgen(getter, js_name = publicKey)]
    pub fn public_key(&self) -> WasmPublicKey {
        WasmPublicKey(self.0.public_key())
    }
}

/// A checkpoint body waiting for its signature.
#[wasm_bindgen(js_name = CheckpointDraft)]
pub struct WasmCheckpointDraft(audit::CheckpointBody);

/// A checkpoint signed with an AuthorKey, for `AuditLog.addCheckpoint`.
#[wasm_bindgen(js_name = SignedCheckpoint)]
pub struct WasmSignedCheckpoint(CheckpointNote);

/// Signs a checkpoint draft with an AuthorKey (in browsers a non-extractable
/// WebCrypto ECDSA P-384 key); resolves to a `SignedCheckpoint`.
#[wasm_bindgen(js_name = signCheckpoint)]
pub fn sign_checkpoint(draft: WasmCheckpointDraft, key: &super::author::WasmAuthorKey) -> js_sys::Promise {
    let signer = key.0.clone();
    crate::browser::scrub::future_to_promise(async move {
        let body = draft.0;
        let signature = signer.sign(body.text().as_bytes()).await.js()?;
        Ok(WasmSignedCheckpoint(CheckpointNote::from_signature(body, &signer.public_key(), signature)).into())
    })
}
