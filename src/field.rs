//! Field-level encryption of PHI records (docs/FORMAT.md §5).
//!
//! A record (a JSON object) is sealed field by field: each PHI value named
//! by a [`Schema`] becomes a compact string (`phs1.` random, `phd1.`
//! deterministic, `phb1.` blind index) and one envelope entry, `_phiseal`
//! (`phe2.`), carries the record's data keys wrapped with HPKE to each
//! recipient, per access group, and its author's ECDSA P-384 signature over
//! the header, the wraps and the whole record (every field string and every
//! clear member). The result keeps the record's shape.
//!
//! Opening checks what the caller expects ([`Expected`]: record id,
//! encryption context, trusted authors, minimum version) before any key is
//! unwrapped, and the author's signature before any field is released.
//!
//! The public-key steps are [`WrapJob`]s / [`UnwrapJob`]s / [`VerifyJob`]s
//! and a signing message, so that they can run in RustCrypto or WebCrypto;
//! [`seal_record`] and [`open_record`] run them with RustCrypto.
//!
//! ```
//! use phiseal::field::{self, Context, Expected, Recipient, Schema, SealOptions};
//! use phiseal::keys::PrivateKey;
//! use phiseal::sign::SigningKey;
//! let schema = Schema::from_json(r#"{"id":"intake","version":1,"fields":{"ssn":true}}"#)?;
//! let clinician = PrivateKey::generate()?;
//! let author = SigningKey::generate()?;
//! let record = phiseal::json::Value::parse(r#"{"ssn": "123-45-6789", "visit": 3}"#)?;
//! let opts = SealOptions::new("rec-1", vec![Recipient::all_groups(*clinician.public_key())], 1_700_000_000);
//! let sealed = field::seal_record(&record, &schema, &opts, None, &author)?;
//! assert!(sealed["ssn"].as_str().is_some_and(|s| s.starts_with("phs1.")));
//! let authors = [author.verifying_key()];
//! let expected = Expected::new("rec-1", &authors);
//! let opened = field::open_record(&sealed, &schema, &clinician, None, &expected)?;
//! assert_eq!(opened.record, record);
//! # Ok::<(), phiseal::Error>(())
//! ```

mod codec;
pub(crate) use codec::{b64 as codec_b64, unb64 as codec_unb64};
pub mod index_key;
mod resolve;
pub mod schema;
pub mod wrap;

use std::collections::BTreeMap;

use crate::json::Value;
use sha2::{Digest as _, Sha384};
use zeroize::Zeroizing;

use self::codec::{Reader, Writer, b64, unb64};
pub use self::index_key::IndexKey;
use self::index_key::{INDEX_KEY_COMMITMENT_LEN, INDEX_KEY_ID_LEN};
pub use self::schema::{FieldMode, FieldSpec, Schema};
pub use self::wrap::{UnwrapJob, WrapJob, Wrapped};
use crate::aead::{AesGcm, NONCE_LEN};
use crate::error::{Error, ErrorCode, Result};
use crate::hpke::{ENC_LEN, Suite};
use crate::keys::{PrivateKey, PublicKey, random_bytes};
use crate::sign::SigningKey;
pub use crate::sign::{SIGNATURE_LEN, Verified, VerifyJob};

/// The member of a sealed record that holds the envelope.
pub const ENVELOPE_MEMBER: &str = "_phiseal";
/// Envelope string prefix (format version 2).
pub const ENVELOPE_PREFIX: &str = "phe2.";
/// Random-mode field prefix.
pub const RANDOM_PREFIX: &str = "phs1.";
/// Deterministic-mode field prefix.
pub const DETERMINISTIC_PREFIX: &str = "phd1.";
/// Blind-index-mode field prefix.
pub const BLIND_PREFIX: &str = "phb1.";
/// Length of a record version digest.
pub const VERSION_DIGEST_LEN: usize = 48;
const FORMAT_VERSION: u8 = 2;
const DEK_LEN: usize = 32;
const WRAPPED_DEK_LEN: usize = DEK_LEN + 16;
const FIELD_LABEL: &[u8] = b"phiseal-field-v1";
const DEK_INFO_LABEL: &[u8] = b"phiseal-dek-v2";
const SIGNATURE_LABEL: &[u8] = b"phiseal-record-v2 signature";
const VERSION_LABEL: &[u8] = b"phiseal-record-v2 version";
const CONTENT_LABEL: &[u8] = b"phiseal-record-v2 content";
const COMMIT_LABEL: &[u8] = b"phiseal-record-v2 key commitment";
const COMMIT_LEN: usize = 32;
const CONTENT_DIGEST_LEN: usize = 48;
/// The most entries an encryption context may hold.
pub const MAX_CONTEXT_ENTRIES: usize = 64;
/// The longest encryption-context value, in bytes.
pub const MAX_CONTEXT_VALUE_LEN: usize = 1024;

/// An encryption context: clear key/values the app binds a record to
/// (patient id, table, tenant). Authenticated by the author's signature,
/// compared exactly on open; keys sorted by UTF-8 bytes (a `BTreeMap` of
/// `String`s is).
pub type Context = BTreeMap<String, String>;

/// A recipient and the access groups it may read.
#[derive(Clone, Debug)]
pub struct Recipient {
    /// The recipient's public key.
    pub key: PublicKey,
    /// Groups granted; `None` means every group of the schema.
    pub groups: Option<Vec<String>>,
}

impl Recipient {
    /// A recipient of every group.
    #[must_use]
    pub const fn all_groups(key: PublicKey) -> Self {
        Self { key, groups: None }
    }
}

/// Options for sealing one record.
#[derive(Clone, Debug)]
pub struct SealOptions {
    /// The record id, bound into every field and the envelope (1..=255 bytes).
    pub record_id: String,
    /// Who may open which groups.
    pub recipients: Vec<Recipient>,
    /// Creation time of the data keys, Unix seconds.
    pub created: u64,
    /// Data-key epoch (1 for a new record; raised by [`rekey_record`]).
    pub epoch: u32,
    /// The encryption context (empty by default).
    pub context: Context,
    /// The record version: 1 for a new record, previous + 1 for an update.
    pub version: u64,
    /// The version digest of the previous version ([`Opened::digest`]);
    /// required exactly when `version` > 1.
    pub previous: Option<[u8; VERSION_DIGEST_LEN]>,
}

impl SealOptions {
    /// Options for a new record (version 1, epoch 1, empty context).
    #[must_use]
    pub fn new(record_id: &str, recipients: Vec<Recipient>, created: u64) -> Self {
        Self {
            record_id: record_id.to_owned(),
            recipients,
            created,
            epoch: 1,
            context: Context::new(),
            version: 1,
            previous: None,
        }
    }

    /// These options for the next version of an opened record: version + 1,
    /// linked to its digest, same record id and context.
    ///
    /// # Errors
    /// [`ErrorCode::Misuse`] if the record is at the last version (`u64::MAX`).
    pub fn update_of(opened: &Opened, recipients: Vec<Recipient>, created: u64) -> Result<Self> {
        let version = opened.header.version.checked_add(1).ok_or(Error::misuse("record version exhausted"))?;
        Ok(Self {
            record_id: opened.header.record_id.clone(),
            recipients,
            created,
            // New content, fresh data keys: an update starts its epochs again.
            epoch: 1,
            context: opened.header.context.clone(),
            version,
            previous: Some(opened.digest),
        })
    }
}

/// What the opener expects of a record; anything else is refused.
#[derive(Clone, Debug)]
pub struct Expected<'a> {
    /// The record id the caller asked for (`CONTEXT_MISMATCH` otherwise).
    pub record_id: &'a str,
    /// The exact encryption context (`CONTEXT_MISMATCH` otherwise).
    pub context: Context,
    /// The author keys the caller trusts (`UNTRUSTED_AUTHOR` otherwise).
    pub authors: &'a [PublicKey],
    /// The lowest version accepted (`STALE_VERSION` below it); 0 or 1 accepts all.
    pub min_version: u64,
}

impl<'a> Expected<'a> {
    /// Expects `record_id`, an empty context, one of `authors`, any version.
    #[must_use]
    pub const fn new(record_id: &'a str, authors: &'a [PublicKey]) -> Self {
        Self { record_id, context: Context::new(), authors, min_version: 0 }
    }
}

/// The parsed envelope header (authenticated once the record is opened).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// Record id.
    pub record_id: String,
    /// Schema id.
    pub schema_id: String,
    /// Schema version.
    pub schema_version: u32,
    /// Record version (1 for a new record, raised by every update, rewrap and re-key).
    pub version: u64,
    /// The version digest of the previous version (`None` for version 1).
    pub previous: Option<[u8; VERSION_DIGEST_LEN]>,
    /// Data-key epoch.
    pub epoch: u32,
    /// Creation time of the data keys (Unix seconds).
    pub created: u64,
    /// The encryption context.
    pub context: Context,
    /// The author's key id (RFC 7638 thumbprint, raw).
    pub author: [u8; 32],
    /// Id and commitment of the tenant index key used by deterministic / blind-index fields.
    pub index_key: Option<([u8; INDEX_KEY_ID_LEN], [u8; INDEX_KEY_COMMITMENT_LEN])>,
    /// SHA-384 of the record's content (every member but the envelope and the unsigned ones).
    content_digest: [u8; CONTENT_DIGEST_LEN],
    /// Groups (sorted) with their recipients' RFC 7638 thumbprints.
    pub groups: Vec<(String, Vec<[u8; 32]>)>,
    /// The data-key commitment of each group, in `groups` order.
    commitments: Vec<[u8; COMMIT_LEN]>,
}

impl Header {
    /// The index key id, if the record uses one.
    #[must_use]
    pub fn index_key_id(&self) -> Option<[u8; INDEX_KEY_ID_LEN]> {
        self.index_key.map(|(id, _)| id)
    }

    fn encode(&self) -> Result<Vec<u8>> {
        let mut w = Writer::default();
        let suite = Suite::PHISEAL;
        w.u8(FORMAT_VERSION).u16(suite.kem_id()).u16(suite.kdf().id()).u16(suite.aead().id());
        w.str8(self.record_id.as_bytes())?.str8(self.schema_id.as_bytes())?;
        w.u32(self.schema_version).u64(self.version);
        w.raw(&self.previous.unwrap_or([0u8; VERSION_DIGEST_LEN]));
        w.u32(self.epoch).u64(self.created);
        encode_context(&mut w, &self.context)?;
        w.raw(&self.author);
        match &self.index_key {
            None => w.u8(0),
            Some((id, commitment)) => w
                .u8(u8::try_from(INDEX_KEY_ID_LEN + INDEX_KEY_COMMITMENT_LEN).unwrap_or(u8::MAX))
                .raw(id)
                .raw(commitment),
        };
        w.raw(&self.content_digest);
        w.u8(u8::try_from(self.groups.len()).map_err(|_| Error::invalid_argument("at most 255 groups"))?);
        for ((name, kids), commitment) in self.groups.iter().zip(&self.commitments) {
            w.str8(name.as_bytes())?.raw(commitment);
            w.u8(u8::try_from(kids.len()).map_err(|_| Error::invalid_argument("at most 255 recipients per group"))?);
            for kid in kids {
                w.raw(kid);
            }
        }
        Ok(w.finish())
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self> {
        const BAD: Error = Error::malformed("malformed sealed-record header");
        if r.u8()? != FORMAT_VERSION {
            return Err(Error::unsupported("unsupported sealed-record format version"));
        }
        let suite = Suite::PHISEAL;
        if (r.u16()?, r.u16()?, r.u16()?) != (suite.kem_id(), suite.kdf().id(), suite.aead().id()) {
            return Err(Error::unsupported("unsupported sealed-record HPKE suite"));
        }
        let record_id = r.utf8_8()?.to_owned();
        let schema_id = r.utf8_8()?.to_owned();
        if record_id.is_empty() || schema_id.is_empty() {
            return Err(BAD);
        }
        let (schema_version, version) = (r.u32()?, r.u64()?);
        let previous: [u8; VERSION_DIGEST_LEN] = r.array()?;
        let previous = match (version, previous == [0u8; VERSION_DIGEST_LEN]) {
            (0, _) | (1, false) => return Err(BAD),
            (1, true) => None,
            (_, true) => return Err(BAD),
            (_, false) => Some(previous),
        };
        let (epoch, created) = (r.u32()?, r.u64()?);
        let context = decode_context(r)?;
        let author = r.array()?;
        let index_key = match r.str8()? {
            [] => None,
            bytes if bytes.len() == INDEX_KEY_ID_LEN + INDEX_KEY_COMMITMENT_LEN => {
                let (id, commitment) = bytes.split_at(INDEX_KEY_ID_LEN);
                Some((id.try_into().map_err(|_| BAD)?, commitment.try_into().map_err(|_| BAD)?))
            }
            _ => return Err(BAD),
        };
        let content_digest = r.array()?;
        let n = r.u8()?;
        if n == 0 {
            return Err(BAD);
        }
        let mut groups: Vec<(String, Vec<[u8; 32]>)> = Vec::with_capacity(usize::from(n));
        let mut commitments = Vec::with_capacity(usize::from(n));
        for _ in 0..n {
            let name = r.utf8_8()?.to_owned();
            if name.is_empty() || groups.last().is_some_and(|(prev, _)| prev.as_bytes() >= name.as_bytes()) {
                return Err(BAD);
            }
            commitments.push(r.array()?);
            let k = r.u8()?;
            let kids = (0..k).map(|_| r.array()).collect::<Result<Vec<[u8; 32]>>>()?;
            if kids.is_empty() || kids.iter().enumerate().any(|(i, a)| kids.iter().skip(i + 1).any(|b| a == b)) {
                return Err(BAD);
            }
            groups.push((name, kids));
        }
        Ok(Self {
            record_id,
            schema_id,
            schema_version,
            version,
            previous,
            epoch,
            created,
            context,
            author,
            index_key,
            content_digest,
            groups,
            commitments,
        })
    }
}

/// `u8(n) ‖ n × (str8(key) ‖ str16(value))`, keys strictly increasing by bytes.
fn encode_context(w: &mut Writer, context: &Context) -> Result<()> {
    check_context(context)?;
    w.u8(u8::try_from(context.len()).map_err(|_| Error::invalid_argument("too many context entries"))?);
    for (k, v) in context {
        w.str8(k.as_bytes())?.str16(v.as_bytes())?;
    }
    Ok(())
}

fn decode_context(r: &mut Reader<'_>) -> Result<Context> {
    const BAD: Error = Error::malformed("malformed encryption context");
    let n = usize::from(r.u8()?);
    let mut out = Context::new();
    let mut last: Option<String> = None;
    for _ in 0..n {
        let key = r.utf8_8()?.to_owned();
        let len = usize::from(r.u16()?);
        let value = core::str::from_utf8(r.raw(len)?).map_err(|_| BAD)?.to_owned();
        if key.is_empty() || last.as_ref().is_some_and(|l| l.as_bytes() >= key.as_bytes()) {
            return Err(BAD);
        }
        last = Some(key.clone());
        out.insert(key, value);
    }
    check_context(&out).map_err(|_| BAD)?;
    Ok(out)
}

/// Context limits: at most 64 entries, keys 1 to 255 bytes, values at most 1024 bytes.
fn check_context(context: &Context) -> Result<()> {
    if context.len() > MAX_CONTEXT_ENTRIES
        || context.iter().any(|(k, v)| k.is_empty() || k.len() > 255 || v.len() > MAX_CONTEXT_VALUE_LEN)
    {
        return Err(Error::invalid_argument(
            "an encryption context has at most 64 entries, keys of 1 to 255 bytes and values of at most 1024 bytes",
        ));
    }
    Ok(())
}

fn dek_info(group: &str) -> Result<Vec<u8>> {
    let mut w = Writer::default();
    w.str8(DEK_INFO_LABEL)?.str8(group.as_bytes())?;
    Ok(w.finish())
}

/// `HKDF-SHA384(salt = "", IKM = DEK_g, info = str8(label) ‖ str8(group), L = 32)`:
/// every recipient of a group checks that its data key is this one.
fn key_commitment(dek: &[u8], group: &str) -> Result<[u8; COMMIT_LEN]> {
    let mut info = Writer::default();
    info.str8(COMMIT_LABEL)?.str8(group.as_bytes())?;
    let mut out = [0u8; COMMIT_LEN];
    crate::kdf::Kdf::Sha384.hkdf(b"", dek, info.as_slice(), &mut out)?;
    Ok(out)
}

/// AAD of a random or blind-index field (docs/FORMAT.md §5.3).
fn field_aad(h: &Header, mode: FieldMode, pointer: &str, index: &[u8]) -> Result<Vec<u8>> {
    let mut w = Writer::default();
    w.str8(FIELD_LABEL)?.u8(mode.id()).str8(h.record_id.as_bytes())?.str8(h.schema_id.as_bytes())?;
    w.u32(h.schema_version).str16(pointer.as_bytes())?.u32(h.epoch).str8(index)?;
    Ok(w.finish())
}

/// The value as compact JSON, members in record order (random and
/// blind-index ciphertexts open back to the same text).
fn plain(value: &Value) -> Zeroizing<Vec<u8>> {
    Zeroizing::new(value.to_json().into_bytes())
}

/// The canonical form for deterministic ciphertexts and blind indexes:
/// compact JSON with object members sorted by key bytes, recursively, so
/// equal values give equal bytes whatever their member order.
fn canonical(value: &Value) -> Zeroizing<Vec<u8>> {
    plain(&value.sorted())
}

/// `content_digest` (docs/FORMAT.md §5.2): SHA-384 of `str8(label)` and the
/// canonical JSON of the sealed record without `_phiseal` and without the
/// schema's unsigned members. It commits to every field string, in every
/// mode and group, and to every clear member.
fn content_digest(record: &Value, schema: &Schema) -> Result<[u8; CONTENT_DIGEST_LEN]> {
    let mut record = record.clone();
    let obj = record.as_object_mut().ok_or(Error::invalid_argument("a record must be a JSON object"))?;
    obj.remove(ENVELOPE_MEMBER);
    for name in schema.unsigned() {
        obj.remove(name);
    }
    let mut h = Sha384::new();
    h.update([u8::try_from(CONTENT_LABEL.len()).unwrap_or(u8::MAX)]);
    h.update(CONTENT_LABEL);
    h.update(record.sorted().to_json().as_bytes());
    Ok(h.finalize().into())
}

fn check_record(record: &Value) -> Result<()> {
    let obj = record.as_object().ok_or(Error::invalid_argument("a record must be a JSON object"))?;
    if obj.contains_key(ENVELOPE_MEMBER) {
        return Err(Error::invalid_argument("the record already has a _phiseal member (sealed already?)"));
    }
    Ok(())
}

fn check_version(version: u64, previous: Option<&[u8; VERSION_DIGEST_LEN]>) -> Result<()> {
    match (version, previous) {
        (1, None) => Ok(()),
        // An all-zero digest is what a header without a previous version
        // holds (§5.1); no version digest is all zero.
        (2.., Some(p)) if p.iter().any(|&b| b != 0) => Ok(()),
        _ => Err(Error::invalid_argument(
            "version 1 has no previous digest; a later version needs the previous version's digest",
        )),
    }
}

/// The data keys of one record, per group. Zeroized on drop.
struct DataKeys(Vec<(String, Zeroizing<[u8; DEK_LEN]>)>);

impl DataKeys {
    fn get(&self, group: &str) -> Option<&[u8; DEK_LEN]> {
        self.0.iter().find(|(g, _)| g == group).map(|(_, k)| &**k)
    }
}

/// A record with its fields sealed, waiting for its data keys to be wrapped.
pub struct SealPlan {
    record: Value,
    header: Vec<u8>,
}

/// A sealed record waiting for its author's signature over [`SignPlan::message`].
pub struct SignPlan {
    record: Value,
    signed: Vec<u8>,
    author: [u8; 32],
}

/// Seals the fields of `record` and plans the key wrapping. Run every job
/// (in order), then [`SealPlan::finish`], then sign.
///
/// # Errors
/// [`ErrorCode::InvalidArgument`] for a record that is not an object or does
/// not match the schema, a bad record id, context or version, a group
/// without recipients, or a missing index key when the schema needs one.
pub fn plan_seal(
    record: &Value,
    schema: &Schema,
    opts: &SealOptions,
    index_key: Option<&IndexKey>,
    author: &PublicKey,
) -> Result<(SealPlan, Vec<WrapJob>)> {
    check_record(record)?;
    if opts.record_id.is_empty() || opts.record_id.len() > schema::MAX_NAME_LEN {
        return Err(Error::invalid_argument("record id must be 1 to 255 bytes"));
    }
    if schema.needs_index_key() && index_key.is_none() {
        return Err(Error::invalid_argument(
            "this schema has deterministic or blind-index fields: pass the tenant index key",
        ));
    }
    check_context(&opts.context)?;
    check_version(opts.version, opts.previous.as_ref())?;
    // Recipients are checked before any key is made or any field sealed.
    members_by_group(schema, &opts.recipients)?;
    let mut keys = Vec::new();
    for group in schema.groups() {
        let mut dek = Zeroizing::new([0u8; DEK_LEN]);
        random_bytes(&mut dek[..])?;
        keys.push((group.to_owned(), dek));
    }
    let deks = DataKeys(keys);
    let mut record = record.clone();
    let mut header = Header {
        record_id: opts.record_id.clone(),
        schema_id: schema.id().to_owned(),
        schema_version: schema.version(),
        version: opts.version,
        previous: opts.previous,
        epoch: opts.epoch,
        created: opts.created,
        context: opts.context.clone(),
        author: author.thumbprint(),
        index_key: if schema.needs_index_key() { index_key.map(|k| (*k.id(), k.commitment())) } else { None },
        // Set once the fields are sealed; field AAD does not include it.
        content_digest: [0u8; CONTENT_DIGEST_LEN],
        groups: Vec::new(),
        commitments: Vec::new(),
    };
    each_field(&mut record, schema, &mut |pointer, spec, value| {
        *value = Value::String(seal_field(&header, spec, pointer, value, &deks, index_key)?);
        Ok(())
    })?;
    header.content_digest = content_digest(&record, schema)?;
    let (header_bytes, jobs) = wrap_plan(header, schema, &opts.recipients, &deks.0)?;
    Ok((SealPlan { record, header: header_bytes }, jobs))
}

/// Calls `f(pointer, spec, value)` for every value the schema selects
/// (docs/FORMAT.md §5.11), in field order. The selection is made before the
/// first call, on the record as given.
fn each_field(
    record: &mut Value,
    schema: &Schema,
    f: &mut dyn FnMut(&str, &FieldSpec, &mut Value) -> Result<()>,
) -> Result<()> {
    for selected in resolve::select(record, schema)? {
        let value = selected.get_mut(record).ok_or(Error::misuse("a selected value is missing"))?;
        f(&selected.pointer, selected.spec, value)?;
    }
    Ok(())
}

fn seal_field(
    h: &Header,
    spec: &FieldSpec,
    pointer: &str,
    value: &Value,
    deks: &DataKeys,
    ik: Option<&IndexKey>,
) -> Result<String> {
    let missing_ik = || Error::invalid_argument("the tenant index key is required");
    match spec.mode() {
        FieldMode::Random => {
            let dek = deks.get(spec.group()).ok_or(Error::misuse("no data key for the field's group"))?;
            let pt = plain(value);
            Ok(format!("{RANDOM_PREFIX}{}", b64(&gcm_seal(dek, &field_aad(h, spec.mode(), pointer, &[])?, &pt)?)))
        }
        FieldMode::Deterministic => {
            let (mut cipher, ad) = ik.ok_or_else(missing_ik)?.siv(h.schema_id.as_str(), spec.path())?;
            let ct = cipher.encrypt([&ad], &canonical(value)).map_err(|_| Error::invalid_argument("value too long"))?;
            Ok(format!("{DETERMINISTIC_PREFIX}{}", b64(&ct)))
        }
        FieldMode::BlindIndex { bits } => {
            let dek = deks.get(spec.group()).ok_or(Error::misuse("no data key for the field's group"))?;
            let index = ik.ok_or_else(missing_ik)?.blind_index(&h.schema_id, spec.path(), bits, &canonical(value))?;
            let ct = gcm_seal(dek, &field_aad(h, spec.mode(), pointer, &index)?, &plain(value))?;
            Ok(format!("{BLIND_PREFIX}{}.{}", b64(&index), b64(&ct)))
        }
    }
}

fn gcm_seal(key: &[u8], aad: &[u8], pt: &[u8]) -> Result<Vec<u8>> {
    let mut nonce = [0u8; NONCE_LEN];
    random_bytes(&mut nonce)?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&AesGcm::Aes256.seal_raw(key, &nonce, aad, pt)?);
    Ok(out)
}

fn gcm_open(key: &[u8], aad: &[u8], data: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    let (nonce, ct) = data.split_at_checked(NONCE_LEN).ok_or(Error::DECRYPT_FAILED)?;
    AesGcm::Aes256.open(key, nonce, aad, ct).map(Zeroizing::new)
}

/// `str8(label) ‖ bytes`.
fn labelled(label: &[u8], bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + label.len() + bytes.len());
    out.push(u8::try_from(label.len()).unwrap_or(u8::MAX));
    out.extend_from_slice(label);
    out.extend_from_slice(bytes);
    out
}

/// `SHA-384(str8("phiseal-record-v2 version") ‖ header ‖ wraps)`.
fn version_digest(signed: &[u8]) -> [u8; VERSION_DIGEST_LEN] {
    Sha384::digest(labelled(VERSION_LABEL, signed)).into()
}

impl SealPlan {
    /// Adds the wraps (in job order); the author then signs [`SignPlan::message`].
    ///
    /// # Errors
    /// [`ErrorCode::InvalidArgument`] if the results do not fit the plan.
    pub fn finish(self, wrapped: &[Wrapped]) -> Result<SignPlan> {
        let mut r = Reader::new(&self.header);
        let header = Header::decode(&mut r)?;
        let expected: usize = header.groups.iter().map(|(_, k)| k.len()).sum();
        if wrapped.len() != expected {
            return Err(Error::invalid_argument("wrap results do not match the plan"));
        }
        let mut w = Writer::default();
        w.raw(&self.header);
        for x in wrapped {
            x.write_to(&mut w, WRAPPED_DEK_LEN)?;
        }
        Ok(SignPlan { record: self.record, signed: w.finish(), author: header.author })
    }
}

impl SignPlan {
    /// The bytes the author signs: `str8("phiseal-record-v2 signature") ‖ header ‖ wraps`.
    #[must_use]
    pub fn message(&self) -> Vec<u8> {
        labelled(SIGNATURE_LABEL, &self.signed)
    }

    /// The author key id the header names (the signer must be that key).
    #[must_use]
    pub const fn author(&self) -> &[u8; 32] {
        &self.author
    }

    /// The sealed record with its envelope (header ‖ wraps ‖ signature).
    ///
    /// # Errors
    /// [`ErrorCode::InvalidArgument`] for a signature that is not 96 bytes.
    pub fn finish(self, signature: &[u8]) -> Result<Value> {
        if signature.len() != SIGNATURE_LEN {
            return Err(Error::invalid_argument("an author signature is 96 bytes (P1363 r ‖ s)"));
        }
        let mut bytes = self.signed;
        bytes.extend_from_slice(signature);
        let mut record = self.record;
        if let Some(obj) = record.as_object_mut() {
            obj.insert(ENVELOPE_MEMBER.to_owned(), Value::String(format!("{ENVELOPE_PREFIX}{}", b64(&bytes))));
        }
        Ok(record)
    }

    /// Signs with a RustCrypto key and finishes.
    ///
    /// # Errors
    /// [`ErrorCode::InvalidArgument`] if `author` is not the key the header names.
    pub fn sign(self, author: &SigningKey) -> Result<Value> {
        if author.verifying_key().thumbprint() != self.author {
            return Err(Error::invalid_argument("the signing key is not the author the record names"));
        }
        let signature = author.sign(&self.message())?;
        self.finish(&signature)
    }
}

/// Seals a record with RustCrypto HPKE, signed by `author`.
///
/// # Errors
/// As [`plan_seal`].
pub fn seal_record(
    record: &Value,
    schema: &Schema,
    opts: &SealOptions,
    index_key: Option<&IndexKey>,
    author: &SigningKey,
) -> Result<Value> {
    let (plan, jobs) = plan_seal(record, schema, opts, index_key, &author.verifying_key())?;
    let wrapped = jobs.iter().map(WrapJob::run).collect::<Result<Vec<_>>>()?;
    plan.finish(&wrapped)?.sign(author)
}

/// A field the opener may not read, left sealed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Locked {
    /// JSON Pointer of the field.
    pub pointer: String,
    /// Why: the access group not granted, or `"indexKey"` for a
    /// deterministic field opened without the tenant index key.
    pub reason: String,
}

/// The result of opening a record.
#[derive(Clone, Debug, PartialEq)]
pub struct Opened {
    /// The record: readable fields in plaintext, locked fields still sealed,
    /// without the `_phiseal` member.
    pub record: Value,
    /// The fields left sealed.
    pub locked: Vec<Locked>,
    /// The authenticated header (its `author` is the verified signer).
    pub header: Header,
    /// This version's digest: what the next version links to, and what a
    /// rollback store keeps.
    pub digest: [u8; VERSION_DIGEST_LEN],
}

/// A sealed record, parsed and checked against what the opener expects,
/// waiting for its signature check and its data keys.
pub struct OpenPlan {
    record: Value,
    header: Header,
    groups: Vec<String>,
    verify: VerifyJob,
    digest: [u8; VERSION_DIGEST_LEN],
}

/// A parsed envelope: the record without it, the header, the header bytes,
/// the wraps per group, the signed bytes and the signature.
struct Envelope {
    record: Value,
    header: Header,
    header_bytes: Vec<u8>,
    wrapped: Vec<Vec<Wrapped>>,
    signed: Vec<u8>,
    signature: [u8; SIGNATURE_LEN],
}

fn parse_envelope(sealed: &Value) -> Result<Envelope> {
    let obj = sealed.as_object().ok_or(Error::invalid_argument("a sealed record must be a JSON object"))?;
    let env = obj.get(ENVELOPE_MEMBER).ok_or(Error::malformed("not a sealed record: no _phiseal member"))?;
    let env = env.as_str().ok_or(Error::malformed("_phiseal must be a string"))?;
    let body = env.strip_prefix(ENVELOPE_PREFIX).ok_or_else(|| {
        if env.starts_with("phe") {
            Error::unsupported("unsupported sealed-record version (this phiseal reads phe2.)")
        } else {
            Error::malformed("_phiseal is not a phe2. envelope")
        }
    })?;
    let bytes = unb64(body)?;
    let mut r = Reader::new(&bytes);
    let header = Header::decode(&mut r)?;
    let header_bytes = bytes.get(..r.position()).ok_or(Error::malformed("truncated"))?.to_vec();
    let mut wrapped = Vec::with_capacity(header.groups.len());
    for (_, kids) in &header.groups {
        wrapped.push(kids.iter().map(|_| Wrapped::read_from(&mut r, WRAPPED_DEK_LEN)).collect::<Result<Vec<_>>>()?);
    }
    let signed = bytes.get(..r.position()).ok_or(Error::malformed("truncated"))?.to_vec();
    let signature = r.array()?;
    r.finish()?;
    let mut record = sealed.clone();
    if let Some(o) = record.as_object_mut() {
        o.remove(ENVELOPE_MEMBER);
    }
    Ok(Envelope { record, header, header_bytes, wrapped, signed, signature })
}

const fn mismatch(message: &'static str) -> Error {
    Error::new(ErrorCode::ContextMismatch, message)
}

/// Every check that needs no key: schema, record id, context, author,
/// content digest, version. Returns the signature job.
fn check_expected(env: &Envelope, schema: &Schema, expected: &Expected<'_>) -> Result<VerifyJob> {
    let header = &env.header;
    if header.schema_id != schema.id() || header.schema_version != schema.version() {
        return Err(mismatch("the record was sealed with another schema (id or version differs)"));
    }
    let groups: Vec<&str> = header.groups.iter().map(|(g, _)| g.as_str()).collect();
    if groups != schema.groups() {
        return Err(mismatch("the record's access groups are not the schema's"));
    }
    if header.index_key.is_some() != schema.needs_index_key() {
        return Err(mismatch(
            "the record names an index key exactly when its schema has deterministic or blind-index fields",
        ));
    }
    if header.record_id != expected.record_id {
        return Err(mismatch("the record was sealed under another record id"));
    }
    if header.context != expected.context {
        return Err(mismatch("the record was sealed with another encryption context"));
    }
    let key = expected
        .authors
        .iter()
        .find(|k| k.thumbprint() == header.author)
        .ok_or(Error::new(ErrorCode::UntrustedAuthor, "the record's author is not among the trusted authors"))?;
    if !bool::from(subtle::ConstantTimeEq::ct_eq(&content_digest(&env.record, schema)?[..], &header.content_digest[..]))
    {
        return Err(Error::new(ErrorCode::InvalidSignature, "the record's content is not what its author signed"));
    }
    if header.version < expected.min_version {
        return Err(Error::new(ErrorCode::StaleVersion, "the record is older than the lowest version accepted"));
    }
    Ok(VerifyJob { key: *key, message: labelled(SIGNATURE_LABEL, &env.signed), signature: env.signature })
}

/// Parses a sealed record, checks it against `expected`, and plans the
/// author's signature check and the unwrapping of the data keys of the
/// groups `me` is a recipient of. Run the jobs, then [`OpenPlan::finish`].
///
/// # Errors
/// [`ErrorCode::MalformedInput`] / [`ErrorCode::Unsupported`] for a bad or
/// unknown envelope; [`ErrorCode::ContextMismatch`] for another schema,
/// record id or context; [`ErrorCode::UntrustedAuthor`];
/// [`ErrorCode::InvalidSignature`] for content its author did not sign;
/// [`ErrorCode::StaleVersion`]; [`ErrorCode::NotRecipient`] if `me` is a
/// recipient of no group.
pub fn plan_open(
    sealed: &Value,
    schema: &Schema,
    me: &PublicKey,
    expected: &Expected<'_>,
) -> Result<(OpenPlan, VerifyJob, Vec<UnwrapJob>)> {
    let env = parse_envelope(sealed)?;
    let verify = check_expected(&env, schema, expected)?;
    let Envelope { record, header, header_bytes, wrapped, signed, .. } = env;
    let mine = me.thumbprint();
    let mut jobs = Vec::new();
    let mut groups = Vec::new();
    for ((group, kids), wraps) in header.groups.iter().zip(&wrapped) {
        if let Some(i) = kids.iter().position(|k| *k == mine) {
            let w = wraps.get(i).ok_or(Error::malformed("truncated"))?;
            jobs.push(UnwrapJob {
                enc: w.enc.clone(),
                ct: w.ct.clone(),
                info: dek_info(group)?,
                aad: header_bytes.clone(),
            });
            groups.push(group.clone());
        }
    }
    if jobs.is_empty() {
        return Err(Error::new(ErrorCode::NotRecipient, "this key is not a recipient of the record"));
    }
    let digest = version_digest(&signed);
    Ok((OpenPlan { record, header, groups, verify: verify.clone(), digest }, verify, jobs))
}

impl OpenPlan {
    /// The groups whose keys the jobs unwrap, in job order.
    #[must_use]
    pub fn groups(&self) -> &[String] {
        &self.groups
    }

    /// The header, checked against the expectations but not yet against
    /// the signature.
    #[must_use]
    pub const fn header(&self) -> &Header {
        &self.header
    }

    /// Opens every readable field. Nothing is returned unless the author's
    /// signature verified (`verified` is the proof of this plan's job), every
    /// data key matches its commitment, and every readable field authenticates.
    ///
    /// # Errors
    /// [`ErrorCode::InvalidSignature`] without the proof;
    /// [`ErrorCode::DecryptFailed`] on any tampering.
    pub fn finish(
        self,
        schema: &Schema,
        verified: &Verified,
        deks: &[Zeroizing<Vec<u8>>],
        index_key: Option<&IndexKey>,
    ) -> Result<Opened> {
        let keys = self.keys(verified, deks)?;
        self.open_fields(schema, &DataKeys(keys), index_key)
    }

    fn open_fields(self, schema: &Schema, deks: &DataKeys, index_key: Option<&IndexKey>) -> Result<Opened> {
        let Self { mut record, header, digest, .. } = self;
        let index_key = match (header.index_key, index_key) {
            (Some((id, commitment)), Some(k)) if id == *k.id() && commitment == k.commitment() => Some(k),
            (Some(_), Some(_)) => return Err(Error::invalid_argument("the record was sealed with another index key")),
            _ => None,
        };
        let mut locked = Vec::new();
        each_field(&mut record, schema, &mut |pointer, spec, value| {
            let s = value.as_str().ok_or(Error::DECRYPT_FAILED)?;
            match open_field(&header, spec, pointer, s, deks, index_key)? {
                Some(v) => *value = v,
                None => locked.push(Locked {
                    pointer: pointer.to_owned(),
                    reason: if deks.get(spec.group()).is_none() {
                        spec.group().to_owned()
                    } else {
                        "indexKey".to_owned()
                    },
                }),
            }
            Ok(())
        })?;
        Ok(Opened { record, locked, header, digest })
    }

    /// The unwrapped data keys, after the signature proof, each checked
    /// against its group's commitment in the signed header (so every
    /// recipient of a group holds the same key, and a ciphertext opens to
    /// one plaintext only).
    fn keys(
        &self,
        verified: &Verified,
        deks: &[Zeroizing<Vec<u8>>],
    ) -> Result<Vec<(String, Zeroizing<[u8; DEK_LEN]>)>> {
        if !self.verify.accepts(verified) {
            return Err(Error::new(ErrorCode::InvalidSignature, "the record's signature was not verified"));
        }
        if deks.len() != self.groups.len() {
            return Err(Error::invalid_argument("unwrap results do not match the plan"));
        }
        let mut keys = Vec::with_capacity(deks.len());
        for (g, k) in self.groups.iter().zip(deks) {
            let key: [u8; DEK_LEN] = k.as_slice().try_into().map_err(|_| Error::DECRYPT_FAILED)?;
            let i = self.header.groups.iter().position(|(name, _)| name == g).ok_or(Error::DECRYPT_FAILED)?;
            let expected = self.header.commitments.get(i).ok_or(Error::DECRYPT_FAILED)?;
            if !bool::from(subtle::ConstantTimeEq::ct_eq(&key_commitment(&key, g)?[..], &expected[..])) {
                return Err(Error::DECRYPT_FAILED);
            }
            keys.push((g.clone(), Zeroizing::new(key)));
        }
        Ok(keys)
    }
}

/// Opens a record with a RustCrypto private key.
///
/// # Errors
/// As [`plan_open`] and [`OpenPlan::finish`].
pub fn open_record(
    sealed: &Value,
    schema: &Schema,
    key: &PrivateKey,
    index_key: Option<&IndexKey>,
    expected: &Expected<'_>,
) -> Result<Opened> {
    let (plan, verify, jobs) = plan_open(sealed, schema, key.public_key(), expected)?;
    let verified = verify.run()?;
    let deks = jobs.iter().map(|j| j.run(key)).collect::<Result<Vec<_>>>()?;
    plan.finish(schema, &verified, &deks, index_key)
}

const _: () = assert!(ENC_LEN == 97);

/// Opens one field string; `Ok(None)` when the opener lacks the key.
fn open_field(
    h: &Header,
    spec: &FieldSpec,
    pointer: &str,
    s: &str,
    deks: &DataKeys,
    ik: Option<&IndexKey>,
) -> Result<Option<Value>> {
    let pt = match spec.mode() {
        FieldMode::Random => {
            let body = s.strip_prefix(RANDOM_PREFIX).ok_or(Error::DECRYPT_FAILED)?;
            let Some(dek) = deks.get(spec.group()) else { return Ok(None) };
            gcm_open(dek, &field_aad(h, spec.mode(), pointer, &[])?, &unb64(body).map_err(|_| Error::DECRYPT_FAILED)?)?
        }
        FieldMode::Deterministic => {
            let body = s.strip_prefix(DETERMINISTIC_PREFIX).ok_or(Error::DECRYPT_FAILED)?;
            let ct = unb64(body).map_err(|_| Error::DECRYPT_FAILED)?;
            // The index key alone decrypts a deterministic field; phiseal still
            // keeps it locked for an opener without the field's group (the
            // access policy), see docs/FORMAT.md §5.3.
            let (Some(ik), Some(_)) = (ik, deks.get(spec.group())) else { return Ok(None) };
            let (mut cipher, ad) = ik.siv(&h.schema_id, spec.path())?;
            Zeroizing::new(cipher.decrypt([&ad], &ct).map_err(|_| Error::DECRYPT_FAILED)?)
        }
        FieldMode::BlindIndex { bits } => {
            let body = s.strip_prefix(BLIND_PREFIX).ok_or(Error::DECRYPT_FAILED)?;
            let (index, ct) = body.split_once('.').ok_or(Error::DECRYPT_FAILED)?;
            let index = unb64(index).map_err(|_| Error::DECRYPT_FAILED)?;
            if index.len() != usize::from(bits).div_ceil(8) {
                return Err(Error::DECRYPT_FAILED);
            }
            let Some(dek) = deks.get(spec.group()) else { return Ok(None) };
            let pt = gcm_open(
                dek,
                &field_aad(h, spec.mode(), pointer, &index)?,
                &unb64(ct).map_err(|_| Error::DECRYPT_FAILED)?,
            )?;
            // With the index key, the index must be the value's (a wrong one would
            // hide the record from searches or match it to another value).
            if let Some(ik) = ik {
                let value = Value::from_slice(&pt).map_err(|_| Error::DECRYPT_FAILED)?;
                let expected = ik.blind_index(&h.schema_id, spec.path(), bits, &canonical(&value))?;
                if !bool::from(subtle::ConstantTimeEq::ct_eq(&expected[..], &index[..])) {
                    return Err(Error::DECRYPT_FAILED);
                }
                return Ok(Some(value));
            }
            pt
        }
    };
    Value::from_slice(&pt).map(Some).map_err(|_| Error::DECRYPT_FAILED)
}

/// Unwraps every group key `me` holds, for rewrapping or re-keying.
fn unwrap_all(
    sealed: &Value,
    schema: &Schema,
    me: &PublicKey,
    expected: &Expected<'_>,
) -> Result<(OpenPlan, VerifyJob, Vec<UnwrapJob>)> {
    let (plan, verify, jobs) = plan_open(sealed, schema, me, expected)?;
    if plan.groups.len() != plan.header.groups.len() {
        return Err(Error::misuse("rewrapping or re-keying needs a key that is a recipient of every group"));
    }
    Ok((plan, verify, jobs))
}

/// Plans [`rewrap_record`] (first step): check the record as [`plan_open`]
/// does and unwrap every group key with `me`.
///
/// # Errors
/// As [`plan_open`]; [`ErrorCode::Misuse`] if `me` lacks a group.
pub fn plan_rewrap(
    sealed: &Value,
    schema: &Schema,
    me: &PublicKey,
    expected: &Expected<'_>,
) -> Result<(OpenPlan, VerifyJob, Vec<UnwrapJob>)> {
    unwrap_all(sealed, schema, me, expected)
}

impl OpenPlan {
    /// The next version's header: version + 1, linked to this version, by `author`.
    fn successor(&self, author: &PublicKey) -> Result<Header> {
        let version = self.header.version.checked_add(1).ok_or(Error::misuse("record version exhausted"))?;
        Ok(Header {
            version,
            previous: Some(self.digest),
            author: author.thumbprint(),
            groups: Vec::new(),
            commitments: Vec::new(),
            ..self.header.clone()
        })
    }

    /// Second step of a rewrap: the same data keys wrapped to `recipients`
    /// (the fields are not re-encrypted), as the next version signed by
    /// `author`. The record is authenticated first (signature, commitments,
    /// every field), so a forged or tampered record is never re-signed.
    ///
    /// # Errors
    /// As [`plan_seal`] for the recipients; [`ErrorCode::InvalidSignature`]
    /// or [`ErrorCode::DecryptFailed`] if the record does not authenticate.
    pub fn rewrap(
        self,
        schema: &Schema,
        verified: &Verified,
        deks: &[Zeroizing<Vec<u8>>],
        recipients: &[Recipient],
        author: &PublicKey,
    ) -> Result<(SealPlan, Vec<WrapJob>)> {
        let keys = self.keys(verified, deks)?;
        self.verify_fields(schema, &keys)?;
        let header = self.successor(author)?;
        let (header, jobs) = wrap_plan(header, schema, recipients, &keys)?;
        Ok((SealPlan { record: self.record, header }, jobs))
    }

    /// Second step of a re-key (after removing a recipient, or on rotation):
    /// fresh data keys created at `now` (Unix seconds), random and
    /// blind-index fields re-encrypted under them at `epoch + 1` (blind
    /// indexes and deterministic fields are unchanged), wrapped to
    /// `recipients`, as the next version signed by `author`.
    ///
    /// # Errors
    /// As [`OpenPlan::rewrap`].
    pub fn rekey(
        self,
        schema: &Schema,
        verified: &Verified,
        deks: &[Zeroizing<Vec<u8>>],
        recipients: &[Recipient],
        author: &PublicKey,
        now: u64,
    ) -> Result<(SealPlan, Vec<WrapJob>)> {
        let old = self.keys(verified, deks)?;
        self.verify_fields(schema, &old)?;
        let old = DataKeys(old);
        let mut fresh = Vec::with_capacity(old.0.len());
        for (g, _) in &old.0 {
            let mut k = Zeroizing::new([0u8; DEK_LEN]);
            random_bytes(&mut k[..])?;
            fresh.push((g.clone(), k));
        }
        let epoch = self.header.epoch.checked_add(1).ok_or(Error::misuse("key epoch exhausted"))?;
        let mut new_header = Header { epoch, created: now, ..self.successor(author)? };
        let fresh_keys = DataKeys(fresh);
        let mut record = self.record;
        each_field(&mut record, schema, &mut |pointer, spec, value| {
            if spec.mode() == FieldMode::Deterministic {
                return Ok(());
            }
            let s = value.as_str().ok_or(Error::DECRYPT_FAILED)?;
            let (index, data) = split_field(spec.mode(), s)?;
            let dek = old.get(spec.group()).ok_or(Error::DECRYPT_FAILED)?;
            let pt = gcm_open(dek, &field_aad(&self.header, spec.mode(), pointer, &index)?, &data)?;
            let new_dek = fresh_keys.get(spec.group()).ok_or(Error::DECRYPT_FAILED)?;
            let ct = gcm_seal(new_dek, &field_aad(&new_header, spec.mode(), pointer, &index)?, &pt)?;
            *value = Value::String(join_field(spec.mode(), &index, &ct));
            Ok(())
        })?;
        new_header.content_digest = content_digest(&record, schema)?;
        let (header, jobs) = wrap_plan(new_header, schema, recipients, &fresh_keys.0)?;
        Ok((SealPlan { record, header }, jobs))
    }

    /// Authenticates every random / blind-index field under `keys`.
    fn verify_fields(&self, schema: &Schema, keys: &[(String, Zeroizing<[u8; DEK_LEN]>)]) -> Result<()> {
        let plan = Self {
            record: self.record.clone(),
            header: self.header.clone(),
            groups: self.groups.clone(),
            verify: self.verify.clone(),
            digest: self.digest,
        };
        let keys = DataKeys(keys.iter().map(|(g, k)| (g.clone(), k.clone())).collect());
        plan.open_fields(schema, &keys, None).map(|_| ())
    }
}

/// For random and blind-index fields: (index, nonce ‖ ciphertext).
fn split_field(mode: FieldMode, s: &str) -> Result<(Vec<u8>, Vec<u8>)> {
    match mode {
        FieldMode::Random => {
            let body = s.strip_prefix(RANDOM_PREFIX).ok_or(Error::DECRYPT_FAILED)?;
            Ok((Vec::new(), unb64(body).map_err(|_| Error::DECRYPT_FAILED)?))
        }
        FieldMode::BlindIndex { .. } => {
            let body = s.strip_prefix(BLIND_PREFIX).ok_or(Error::DECRYPT_FAILED)?;
            let (index, ct) = body.split_once('.').ok_or(Error::DECRYPT_FAILED)?;
            Ok((unb64(index).map_err(|_| Error::DECRYPT_FAILED)?, unb64(ct).map_err(|_| Error::DECRYPT_FAILED)?))
        }
        FieldMode::Deterministic => Err(Error::misuse("deterministic fields have no data-key ciphertext")),
    }
}

fn join_field(mode: FieldMode, index: &[u8], ct: &[u8]) -> String {
    match mode {
        FieldMode::BlindIndex { .. } => format!("{BLIND_PREFIX}{}.{}", b64(index), b64(ct)),
        _ => format!("{RANDOM_PREFIX}{}", b64(ct)),
    }
}

/// The recipients of each schema group, in `schema.groups()` order.
///
/// # Errors
/// [`ErrorCode::InvalidArgument`] if a recipient names a group the schema
/// does not have, or a group has no recipient.
fn members_by_group(schema: &Schema, recipients: &[Recipient]) -> Result<Vec<Vec<PublicKey>>> {
    let groups = schema.groups();
    if recipients.iter().any(|r| r.groups.as_ref().is_some_and(|g| g.iter().any(|x| !groups.contains(&x.as_str())))) {
        return Err(Error::invalid_argument("a recipient names a group the schema does not have"));
    }
    groups
        .iter()
        .map(|group| {
            let members: Vec<PublicKey> = recipients
                .iter()
                .filter(|r| r.groups.as_ref().is_none_or(|g| g.iter().any(|x| x == group)))
                .map(|r| r.key)
                .collect();
            if members.is_empty() {
                return Err(Error::invalid_argument("every access group of the schema needs at least one recipient"));
            }
            let kids: Vec<[u8; 32]> = members.iter().map(PublicKey::thumbprint).collect();
            if kids.iter().enumerate().any(|(i, a)| kids.iter().skip(i + 1).any(|b| a == b)) {
                return Err(Error::invalid_argument("a recipient is listed twice for one group"));
            }
            Ok(members)
        })
        .collect()
}

/// Fills `header.groups` and the key commitments from `recipients` and
/// plans the wraps of `keys` (one per schema group, in `schema.groups()` order).
fn wrap_plan(
    mut header: Header,
    schema: &Schema,
    recipients: &[Recipient],
    keys: &[(String, Zeroizing<[u8; DEK_LEN]>)],
) -> Result<(Vec<u8>, Vec<WrapJob>)> {
    let members_per_group = members_by_group(schema, recipients)?;
    if keys.len() != members_per_group.len() {
        return Err(Error::invalid_argument("data keys do not match the schema's groups"));
    }
    for ((group, dek), members) in keys.iter().zip(&members_per_group) {
        header.groups.push((group.clone(), members.iter().map(PublicKey::thumbprint).collect()));
        header.commitments.push(key_commitment(&dek[..], group)?);
    }
    let header_bytes = header.encode()?;
    let mut jobs = Vec::new();
    for ((group, dek), members) in keys.iter().zip(&members_per_group) {
        for key in members {
            jobs.push(WrapJob {
                recipient: *key,
                info: dek_info(group)?,
                aad: header_bytes.clone(),
                secret: Zeroizing::new(dek.to_vec()),
            });
        }
    }
    Ok((header_bytes, jobs))
}

/// Changes the recipients of a record without re-encrypting its fields
/// (RustCrypto HPKE): the next version, signed by `author`. `key` must be a
/// recipient of every group.
///
/// # Errors
/// As [`plan_rewrap`] and [`OpenPlan::rewrap`].
pub fn rewrap_record(
    sealed: &Value,
    schema: &Schema,
    key: &PrivateKey,
    recipients: &[Recipient],
    expected: &Expected<'_>,
    author: &SigningKey,
) -> Result<Value> {
    let (plan, verify, jobs) = plan_rewrap(sealed, schema, key.public_key(), expected)?;
    let verified = verify.run()?;
    let deks = jobs.iter().map(|j| j.run(key)).collect::<Result<Vec<_>>>()?;
    let (plan, jobs) = plan.rewrap(schema, &verified, &deks, recipients, &author.verifying_key())?;
    plan.finish(&jobs.iter().map(WrapJob::run).collect::<Result<Vec<_>>>()?)?.sign(author)
}

/// Re-keys a record (new data keys, epoch + 1, the next version signed by
/// `author`) for `recipients`: use it to remove a recipient, who may have
/// kept the old data keys.
///
/// # Errors
/// As [`plan_rewrap`] and [`OpenPlan::rekey`].
pub fn rekey_record(
    sealed: &Value,
    schema: &Schema,
    key: &PrivateKey,
    recipients: &[Recipient],
    expected: &Expected<'_>,
    author: &SigningKey,
    now: u64,
) -> Result<Value> {
    let (plan, verify, jobs) = plan_rewrap(sealed, schema, key.public_key(), expected)?;
    let verified = verify.run()?;
    let deks = jobs.iter().map(|j| j.run(key)).collect::<Result<Vec<_>>>()?;
    let (plan, jobs) = plan.rekey(schema, &verified, &deks, recipients, &author.verifying_key(), now)?;
    plan.finish(&jobs.iter().map(WrapJob::run).collect::<Result<Vec<_>>>()?)?.sign(author)
}

/// Reads a sealed record's header without any key. It is authenticated only
/// when the record is opened; use it for routing and reporting.
///
/// # Errors
/// As the envelope parsing of [`plan_open`].
pub fn inspect(sealed: &Value) -> Result<Header> {
    parse_envelope(sealed).map(|e| e.header)
}

/// A sealed record's header and version digest, without any key or check
/// (authentic only once the record was opened or rewrapped).
///
/// # Errors
/// As the envelope parsing of [`plan_open`].
pub fn inspect_with_digest(sealed: &Value) -> Result<(Header, [u8; VERSION_DIGEST_LEN])> {
    parse_envelope(sealed).map(|e| (e.header, version_digest(&e.signed)))
}

/// Whether the record's data keys are older than `max_age_days` at `now`
/// (Unix seconds), or the record is not sealed at all.
///
/// # Errors
/// As [`inspect`], except that a missing envelope answers `true`.
pub fn needs_rotation(sealed: &Value, max_age_days: u32, now: u64) -> Result<bool> {
    match inspect(sealed) {
        Ok(h) => Ok(now.saturating_sub(h.created) > u64::from(max_age_days) * 86_400),
        Err(e) if e.code() == ErrorCode::MalformedInput && sealed.get(ENVELOPE_MEMBER).is_none() => Ok(true),
        Err(e) => Err(e),
    }
}

/// The PHI locations of `record` whose value is not sealed in the mode the
/// schema asks for (as JSON Pointers): empty when the record is compliant.
/// This checks form, not authenticity (which needs the keys).
///
/// # Errors
/// [`ErrorCode::InvalidArgument`] if the record is not an object or does
/// not match the schema's structure.
pub fn verify_all_phi_encrypted(record: &Value, schema: &Schema) -> Result<Vec<String>> {
    if !record.is_object() {
        return Err(Error::invalid_argument("a record must be a JSON object"));
    }
    let mut plaintext = Vec::new();
    for selected in resolve::select(record, schema)? {
        let prefix = match selected.spec.mode() {
            FieldMode::Random => RANDOM_PREFIX,
            FieldMode::Deterministic => DETERMINISTIC_PREFIX,
            FieldMode::BlindIndex { .. } => BLIND_PREFIX,
        };
        if !selected.get(record).and_then(Value::as_str).is_some_and(|s| s.starts_with(prefix)) {
            plaintext.push(selected.pointer);
        }
    }
    Ok(plaintext)
}

/// Placeholder written by [`redact`].
pub const REDACTED: &str = "[REDACTED]";

/// A copy of `record` safe for logs: every value on a PHI path (plaintext
/// or sealed) replaced by `"[REDACTED]"`, the envelope too; the structure
/// is kept. Where the record does not match the schema's structure, the
/// whole mismatching value is redacted.
#[must_use]
pub fn redact(record: &Value, schema: &Schema) -> Value {
    fn walk(value: &mut Value, segments: &[schema::Segment]) {
        let Some((first, rest)) = segments.split_first() else {
            *value = Value::String(REDACTED.to_owned());
            return;
        };
        match (first, &mut *value) {
            (_, Value::Null) => {}
            (schema::Segment::Key(_) | schema::Segment::Choice(_), Value::Object(map)) => {
                map.iter_mut().filter(|(k, _)| first.matches(k)).for_each(|(_, child)| walk(child, rest));
            }
            (schema::Segment::Each, Value::Array(items)) => items.iter_mut().for_each(|c| walk(c, rest)),
            _ => *value = Value::String(REDACTED.to_owned()),
        }
    }
    let mut out = record.clone();
    if schema.has_resources() {
        // Resource sets select by the record's content: where the record
        // does not resolve (§5.11), every top-level member but resourceType
        // is redacted.
        match resolve::select(record, schema) {
            Ok(selected) => {
                for s in selected {
                    if let Some(v) = s.get_mut(&mut out) {
                        *v = Value::String(REDACTED.to_owned());
                    }
                }
            }
            Err(_) => {
                if let Some(map) = out.as_object_mut() {
                    map.iter_mut().filter(|(k, _)| *k != schema::RESOURCE_TYPE).for_each(|(_, v)| {
                        *v = Value::String(REDACTED.to_owned());
                    });
                }
            }
        }
    }
    for spec in schema.fields().iter().filter(|_| !schema.has_resources()) {
        walk(&mut out, &spec.segments);
    }
    if let Some(env) = out.as_object_mut().and_then(|o| o.get_mut(ENVELOPE_MEMBER)) {
        *env = Value::String(REDACTED.to_owned());
    }
    out
}

/// The search token for `value` in field `path`: the full ciphertext string
/// of a deterministic field (match it exactly), or the `phb1.<index>.`
/// prefix of a blind-index field (match it as a prefix).
///
/// # Errors
/// [`ErrorCode::InvalidArgument`] if `path` is not a deterministic or
/// blind-index field of the schema.
pub fn search_token(schema: &Schema, path: &str, value: &Value, index_key: &IndexKey) -> Result<String> {
    let spec = schema
        .all_fields()
        .iter()
        .find(|f| f.path() == path)
        .ok_or(Error::invalid_argument("no such field in the schema"))?;
    let pt = canonical(value);
    match spec.mode() {
        FieldMode::Deterministic => {
            let (mut cipher, ad) = index_key.siv(schema.id(), path)?;
            let ct = cipher.encrypt([&ad], &pt).map_err(|_| Error::invalid_argument("value too long"))?;
            Ok(format!("{DETERMINISTIC_PREFIX}{}", b64(&ct)))
        }
        FieldMode::BlindIndex { bits } => {
            Ok(format!("{BLIND_PREFIX}{}.", b64(&index_key.blind_index(schema.id(), path, bits, &pt)?)))
        }
        FieldMode::Random => Err(Error::invalid_argument("random fields are not searchable")),
    }
}

/// An index key id as its base64url string.
#[must_use]
pub fn kid_string16(id: &[u8; INDEX_KEY_ID_LEN]) -> String {
    b64(id)
}

/// A recipient thumbprint as its `kid` string (base64url).
#[must_use]
pub fn kid_string(thumbprint: &[u8; 32]) -> String {
    b64(thumbprint)
}

/// The string forms of every PHI value of `record` (strings as they are,
/// other JSON values as compact JSON), for refusing them in audit entries.
pub(crate) fn phi_strings(record: &Value, schema: &Schema) -> Result<Vec<String>> {
    fn collect(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) => out.push(s.clone()),
            Value::Array(items) => items.iter().for_each(|i| collect(i, out)),
            Value::Object(map) => map.values().for_each(|i| collect(i, out)),
            Value::Null | Value::Bool(_) => {}
            Value::Number(n) => out.push(n.as_str().to_owned()),
        }
    }
    let mut out = Vec::new();
    for selected in resolve::select(record, schema)? {
        if let Some(value) = selected.get(record) {
            collect(value, &mut out);
        }
    }
    Ok(out)
}
