//! Field-level encryption of PHI records (docs/FORMAT.md §5).
//!
//! A record (a JSON object) is sealed field by field: each PHI value named
//! by a [`Schema`] becomes a compact string (`phs1.` random, `phd1.`
//! deterministic, `phb1.` blind index) and one envelope entry, `_phiseal`
//! (`phe1.`), carries the record's data keys wrapped with HPKE to each
//! recipient, per access group. The result keeps the record's shape.
//!
//! The public-key steps are [`WrapJob`]s / [`UnwrapJob`]s so that they can
//! run in RustCrypto or WebCrypto; [`seal_record`] and [`open_record`] run
//! them with RustCrypto.
//!
//! ```
//! use phiseal::field::{self, Recipient, Schema, SealOptions};
//! use phiseal::keys::PrivateKey;
//! let schema = Schema::from_json(r#"{"id":"intake","version":1,"fields":{"ssn":true}}"#)?;
//! let clinician = PrivateKey::generate()?;
//! let record = phiseal::json::Value::parse(r#"{"ssn": "123-45-6789", "visit": 3}"#)?;
//! let opts = SealOptions::new("rec-1", vec![Recipient::all_groups(*clinician.public_key())], 1_700_000_000);
//! let sealed = field::seal_record(&record, &schema, &opts, None)?;
//! assert!(sealed["ssn"].as_str().is_some_and(|s| s.starts_with("phs1.")));
//! let opened = field::open_record(&sealed, &schema, &clinician, None)?;
//! assert_eq!(opened.record, record);
//! # Ok::<(), phiseal::Error>(())
//! ```

mod codec;
pub(crate) use codec::{b64 as codec_b64, unb64 as codec_unb64};
pub mod index_key;
pub mod schema;
pub mod wrap;

use crate::json::Value;
use sha2::{Digest as _, Sha384};
use zeroize::Zeroizing;

use self::codec::{Reader, Writer, b64, unb64};
use self::index_key::INDEX_KEY_ID_LEN;
pub use self::index_key::IndexKey;
use self::schema::visit_mut;
pub use self::schema::{FieldMode, FieldSpec, Schema};
pub use self::wrap::{UnwrapJob, WrapJob, Wrapped};
use crate::aead::{AesGcm, NONCE_LEN};
use crate::error::{Error, ErrorCode, Result};
use crate::hpke::{ENC_LEN, Suite};
use crate::keys::{PrivateKey, PublicKey, random_bytes};

/// The member of a sealed record that holds the envelope.
pub const ENVELOPE_MEMBER: &str = "_phiseal";
/// Envelope string prefix (format version 1).
pub const ENVELOPE_PREFIX: &str = "phe1.";
/// Random-mode field prefix.
pub const RANDOM_PREFIX: &str = "phs1.";
/// Deterministic-mode field prefix.
pub const DETERMINISTIC_PREFIX: &str = "phd1.";
/// Blind-index-mode field prefix.
pub const BLIND_PREFIX: &str = "phb1.";
const FORMAT_VERSION: u8 = 1;
const DEK_LEN: usize = 32;
const WRAPPED_DEK_LEN: usize = DEK_LEN + 16;
const FIELD_LABEL: &[u8] = b"phiseal-field-v1";
const DEK_INFO_LABEL: &[u8] = b"phiseal-dek-v1";
const DIGEST_LEN: usize = 32;
const MAC_LEN: usize = 32;
const MAC_INFO: &[u8] = b"phiseal-envelope-mac-v1";

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
    /// Creation time, Unix seconds.
    pub created: u64,
    /// Data-key epoch (1 for a new record; raised by [`rekey_record`]).
    pub epoch: u32,
}

impl SealOptions {
    /// Options for a new record (epoch 1).
    #[must_use]
    pub fn new(record_id: &str, recipients: Vec<Recipient>, created: u64) -> Self {
        Self { record_id: record_id.to_owned(), recipients, created, epoch: 1 }
    }
}

/// The parsed, authenticated-on-open envelope header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// Record id.
    pub record_id: String,
    /// Schema id.
    pub schema_id: String,
    /// Schema version.
    pub schema_version: u32,
    /// Data-key epoch.
    pub epoch: u32,
    /// Creation time (Unix seconds).
    pub created: u64,
    /// Id of the tenant index key used by deterministic / blind-index fields.
    pub index_key_id: Option<[u8; INDEX_KEY_ID_LEN]>,
    /// Digest of the sealed field locations.
    fields_digest: [u8; DIGEST_LEN],
    /// Groups (sorted) with their recipients' RFC 7638 thumbprints.
    pub groups: Vec<(String, Vec<[u8; 32]>)>,
}

impl Header {
    fn encode(&self) -> Result<Vec<u8>> {
        let mut w = Writer::default();
        let suite = Suite::PHISEAL;
        w.u8(FORMAT_VERSION).u16(suite.kem_id()).u16(suite.kdf().id()).u16(suite.aead().id());
        w.str8(self.record_id.as_bytes())?.str8(self.schema_id.as_bytes())?;
        w.u32(self.schema_version).u32(self.epoch).u64(self.created);
        w.str8(self.index_key_id.as_ref().map(|id| &id[..]).unwrap_or_default())?;
        w.raw(&self.fields_digest);
        w.u8(u8::try_from(self.groups.len()).map_err(|_| Error::invalid_argument("at most 255 groups"))?);
        for (name, kids) in &self.groups {
            w.str8(name.as_bytes())?;
            w.u8(u8::try_from(kids.len()).map_err(|_| Error::invalid_argument("at most 255 recipients per group"))?);
            for kid in kids {
                w.raw(kid);
            }
        }
        Ok(w.finish())
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self> {
        if r.u8()? != FORMAT_VERSION {
            return Err(Error::unsupported("unsupported sealed-record format version"));
        }
        let suite = Suite::PHISEAL;
        if (r.u16()?, r.u16()?, r.u16()?) != (suite.kem_id(), suite.kdf().id(), suite.aead().id()) {
            return Err(Error::unsupported("unsupported sealed-record HPKE suite"));
        }
        let record_id = r.utf8_8()?.to_owned();
        let schema_id = r.utf8_8()?.to_owned();
        let (schema_version, epoch, created) = (r.u32()?, r.u32()?, r.u64()?);
        let index_key_id = match r.str8()? {
            [] => None,
            id => Some(<[u8; INDEX_KEY_ID_LEN]>::try_from(id).map_err(|_| Error::malformed("bad index key id"))?),
        };
        let fields_digest = r.array()?;
        let n = r.u8()?;
        let mut groups = Vec::with_capacity(usize::from(n));
        for _ in 0..n {
            let name = r.utf8_8()?.to_owned();
            let k = r.u8()?;
            let kids = (0..k).map(|_| r.array()).collect::<Result<Vec<[u8; 32]>>>()?;
            groups.push((name, kids));
        }
        Ok(Self { record_id, schema_id, schema_version, epoch, created, index_key_id, fields_digest, groups })
    }
}

fn dek_info(group: &str) -> Result<Vec<u8>> {
    let mut w = Writer::default();
    w.str8(DEK_INFO_LABEL)?.str8(group.as_bytes())?;
    Ok(w.finish())
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

/// `fields_digest` (docs/FORMAT.md §5.2) of a sealed record: every sealed
/// location's pointer, in field order, and for deterministic fields also the
/// SHA-384 of the field string, so deterministic strings (which carry no
/// record binding of their own) cannot be swapped between records or elements.
fn fields_digest(record: &mut Value, schema: &Schema) -> Result<[u8; DIGEST_LEN]> {
    let mut w = Writer::default();
    let mut count = 0u32;
    for spec in schema.fields() {
        visit_mut(record, &spec.segments, &mut String::new(), &mut |pointer, value| {
            count = count.checked_add(1).ok_or(Error::invalid_argument("too many fields"))?;
            w.str16(pointer.as_bytes())?;
            if spec.mode() == FieldMode::Deterministic {
                // A non-string here is tampering or plaintext: it hashes as
                // empty and the field then fails to open anyway.
                w.raw(&Sha384::digest(value.as_str().unwrap_or_default().as_bytes()));
            }
            Ok(())
        })?;
    }
    let mut all = Writer::default();
    all.u32(count).raw(w.as_slice());
    let digest = Sha384::digest(all.as_slice());
    let mut out = [0u8; DIGEST_LEN];
    out.copy_from_slice(digest.get(..DIGEST_LEN).unwrap_or_default());
    Ok(out)
}

fn check_record(record: &Value) -> Result<()> {
    let obj = record.as_object().ok_or(Error::invalid_argument("a record must be a JSON object"))?;
    if obj.contains_key(ENVELOPE_MEMBER) {
        return Err(Error::invalid_argument("the record already has a _phiseal member (sealed already?)"));
    }
    Ok(())
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
    /// The data keys, in header group order (for the envelope MACs).
    keys: Vec<Zeroizing<[u8; DEK_LEN]>>,
}

/// Seals the fields of `record` and plans the key wrapping. Run every job
/// (in order), then [`SealPlan::finish`].
///
/// # Errors
/// [`ErrorCode::InvalidArgument`] for a record that is not an object or does
/// not match the schema, a bad record id, a group without recipients, or a
/// missing index key when the schema needs one.
pub fn plan_seal(
    record: &Value,
    schema: &Schema,
    opts: &SealOptions,
    index_key: Option<&IndexKey>,
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
        epoch: opts.epoch,
        created: opts.created,
        index_key_id: if schema.needs_index_key() { index_key.map(|k| *k.id()) } else { None },
        // Set once the fields are sealed; field AAD does not include it.
        fields_digest: [0u8; DIGEST_LEN],
        groups: Vec::new(),
    };
    for spec in schema.fields() {
        visit_mut(&mut record, &spec.segments, &mut String::new(), &mut |pointer, value| {
            *value = Value::String(seal_field(&header, spec, pointer, value, &deks, index_key)?);
            Ok(())
        })?;
    }
    header.fields_digest = fields_digest(&mut record, schema)?;
    let (header_bytes, jobs) = wrap_plan(header, schema, &opts.recipients, &deks.0)?;
    Ok((SealPlan { record, header: header_bytes, keys: deks.0.into_iter().map(|(_, k)| k).collect() }, jobs))
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

impl SealPlan {
    /// Adds the envelope built from the wrap results (in job order).
    ///
    /// # Errors
    /// [`ErrorCode::InvalidArgument`] if the results do not fit the plan.
    pub fn finish(mut self, wrapped: &[Wrapped]) -> Result<Value> {
        let mut r = Reader::new(&self.header);
        let header = Header::decode(&mut r)?;
        let expected: usize = header.groups.iter().map(|(_, k)| k.len()).sum();
        if wrapped.len() != expected {
            return Err(Error::invalid_argument("wrap results do not match the plan"));
        }
        if self.keys.len() != header.groups.len() {
            return Err(Error::invalid_argument("data keys do not match the plan"));
        }
        let mut w = Writer::default();
        w.raw(&self.header);
        for x in wrapped {
            x.write_to(&mut w, WRAPPED_DEK_LEN)?;
        }
        let macs = self.keys.iter().map(|k| envelope_mac(&k[..], w.as_slice())).collect::<Result<Vec<_>>>()?;
        for mac in &macs {
            w.raw(mac);
        }
        if let Some(obj) = self.record.as_object_mut() {
            obj.insert(ENVELOPE_MEMBER.to_owned(), Value::String(format!("{ENVELOPE_PREFIX}{}", b64(w.as_slice()))));
        }
        Ok(self.record)
    }
}

/// Seals a record with RustCrypto HPKE.
///
/// # Errors
/// As [`plan_seal`].
pub fn seal_record(record: &Value, schema: &Schema, opts: &SealOptions, index_key: Option<&IndexKey>) -> Result<Value> {
    let (plan, jobs) = plan_seal(record, schema, opts, index_key)?;
    let wrapped = jobs.iter().map(WrapJob::run).collect::<Result<Vec<_>>>()?;
    plan.finish(&wrapped)
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
    /// The authenticated header.
    pub header: Header,
}

/// A sealed record, parsed, waiting for its data keys.
pub struct OpenPlan {
    record: Value,
    header: Header,
    groups: Vec<String>,
    /// Envelope MACs of `groups`, and the bytes they cover.
    macs: Vec<[u8; MAC_LEN]>,
    mac_input: Vec<u8>,
}

/// A parsed envelope: the record without it, the header, the header bytes,
/// the wraps per group, the bytes the MACs cover, and the MACs per group.
struct Envelope {
    record: Value,
    header: Header,
    header_bytes: Vec<u8>,
    wrapped: Vec<Vec<Wrapped>>,
    mac_input: Vec<u8>,
    macs: Vec<[u8; MAC_LEN]>,
}

/// `HMAC-SHA384(HKDF-SHA384(DEK_g, info "phiseal-envelope-mac-v1"), header ‖ wraps)[..32]`.
fn envelope_mac(dek: &[u8], data: &[u8]) -> Result<[u8; MAC_LEN]> {
    let mut mac_key = Zeroizing::new([0u8; 48]);
    crate::kdf::Kdf::Sha384.hkdf(b"", dek, MAC_INFO, &mut mac_key[..])?;
    let mut mac = <hmac::Hmac<Sha384> as hmac::KeyInit>::new_from_slice(&mac_key[..])
        .map_err(|_| Error::invalid_argument("bad MAC key"))?;
    hmac::Mac::update(&mut mac, data);
    let tag = hmac::Mac::finalize(mac).into_bytes();
    let mut out = [0u8; MAC_LEN];
    out.copy_from_slice(tag.get(..MAC_LEN).unwrap_or_default());
    Ok(out)
}

fn parse_envelope(sealed: &Value) -> Result<Envelope> {
    let obj = sealed.as_object().ok_or(Error::invalid_argument("a sealed record must be a JSON object"))?;
    let env = obj.get(ENVELOPE_MEMBER).ok_or(Error::malformed("not a sealed record: no _phiseal member"))?;
    let env = env.as_str().ok_or(Error::malformed("_phiseal must be a string"))?;
    let body = env.strip_prefix(ENVELOPE_PREFIX).ok_or_else(|| {
        if env.starts_with("phe") {
            Error::unsupported("unsupported sealed-record version")
        } else {
            Error::malformed("_phiseal is not a phe1. envelope")
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
    let mac_input = bytes.get(..r.position()).ok_or(Error::malformed("truncated"))?.to_vec();
    let macs = header.groups.iter().map(|_| r.array()).collect::<Result<Vec<[u8; MAC_LEN]>>>()?;
    r.finish()?;
    let mut record = sealed.clone();
    if let Some(o) = record.as_object_mut() {
        o.remove(ENVELOPE_MEMBER);
    }
    Ok(Envelope { record, header, header_bytes, wrapped, mac_input, macs })
}

fn check_schema(header: &Header, schema: &Schema) -> Result<()> {
    if header.schema_id != schema.id() || header.schema_version != schema.version() {
        return Err(Error::invalid_argument("the record was sealed with another schema (id or version differs)"));
    }
    let groups: Vec<&str> = header.groups.iter().map(|(g, _)| g.as_str()).collect();
    if groups != schema.groups() {
        return Err(Error::DECRYPT_FAILED);
    }
    Ok(())
}

/// Parses a sealed record and plans unwrapping the data keys of the groups
/// `me` is a recipient of. Run the jobs, then [`OpenPlan::finish`].
///
/// # Errors
/// [`ErrorCode::MalformedInput`] / [`ErrorCode::Unsupported`] for a bad or
/// unknown envelope; [`ErrorCode::InvalidArgument`] for another schema;
/// [`ErrorCode::NotRecipient`] if `me` is a recipient of no group.
pub fn plan_open(sealed: &Value, schema: &Schema, me: &PublicKey) -> Result<(OpenPlan, Vec<UnwrapJob>)> {
    let Envelope { record, header, header_bytes, wrapped, mac_input, macs } = parse_envelope(sealed)?;
    check_schema(&header, schema)?;
    let mine = me.thumbprint();
    let mut jobs = Vec::new();
    let mut groups = Vec::new();
    let mut group_macs = Vec::new();
    for (((group, kids), wraps), mac) in header.groups.iter().zip(&wrapped).zip(&macs) {
        if let Some(i) = kids.iter().position(|k| *k == mine) {
            let w = wraps.get(i).ok_or(Error::malformed("truncated"))?;
            jobs.push(UnwrapJob {
                enc: w.enc.clone(),
                ct: w.ct.clone(),
                info: dek_info(group)?,
                aad: header_bytes.clone(),
            });
            groups.push(group.clone());
            group_macs.push(*mac);
        }
    }
    if jobs.is_empty() {
        return Err(Error::new(ErrorCode::NotRecipient, "this key is not a recipient of the record"));
    }
    Ok((OpenPlan { record, header, groups, macs: group_macs, mac_input }, jobs))
}

impl OpenPlan {
    /// The groups whose keys the jobs unwrap, in job order.
    #[must_use]
    pub fn groups(&self) -> &[String] {
        &self.groups
    }

    /// Opens every readable field. Nothing is returned unless every field
    /// the opener may read authenticates and the set of sealed fields is the
    /// one the envelope commits to.
    ///
    /// # Errors
    /// [`ErrorCode::DecryptFailed`] on any tampering.
    pub fn finish(self, schema: &Schema, deks: &[Zeroizing<Vec<u8>>], index_key: Option<&IndexKey>) -> Result<Opened> {
        let keys = self.keys(deks)?;
        let Self { mut record, header, .. } = self;
        let deks = DataKeys(keys);
        if !bool::from(subtle::ConstantTimeEq::ct_eq(
            &fields_digest(&mut record, schema)?[..],
            &header.fields_digest[..],
        )) {
            return Err(Error::DECRYPT_FAILED);
        }
        let index_key = match (header.index_key_id, index_key) {
            (Some(id), Some(k)) if id == *k.id() => Some(k),
            (Some(_), Some(_)) => return Err(Error::invalid_argument("the record was sealed with another index key")),
            _ => None,
        };
        let mut locked = Vec::new();
        for spec in schema.fields() {
            visit_mut(&mut record, &spec.segments, &mut String::new(), &mut |pointer, value| {
                let s = value.as_str().ok_or(Error::DECRYPT_FAILED)?;
                match open_field(&header, spec, pointer, s, &deks, index_key)? {
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
        }
        Ok(Opened { record, locked, header })
    }
}

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
            gcm_open(dek, &field_aad(h, spec.mode(), pointer, &index)?, &unb64(ct).map_err(|_| Error::DECRYPT_FAILED)?)?
        }
    };
    Value::from_slice(&pt).map(Some).map_err(|_| Error::DECRYPT_FAILED)
}

/// Opens a record with a RustCrypto private key.
///
/// # Errors
/// As [`plan_open`] and [`OpenPlan::finish`].
pub fn open_record(sealed: &Value, schema: &Schema, key: &PrivateKey, index_key: Option<&IndexKey>) -> Result<Opened> {
    let (plan, jobs) = plan_open(sealed, schema, key.public_key())?;
    let deks = jobs.iter().map(|j| j.run(key)).collect::<Result<Vec<_>>>()?;
    plan.finish(schema, &deks, index_key)
}

const _: () = assert!(ENC_LEN == 97);

/// Unwraps every group key `me` holds, for rewrapping or re-keying.
fn unwrap_all(sealed: &Value, schema: &Schema, me: &PublicKey) -> Result<(OpenPlan, Vec<UnwrapJob>)> {
    let (plan, jobs) = plan_open(sealed, schema, me)?;
    if plan.groups.len() != plan.header.groups.len() {
        return Err(Error::misuse("rewrapping or re-keying needs a key that is a recipient of every group"));
    }
    Ok((plan, jobs))
}

/// Plans [`rewrap_record`] (first step): unwrap every group key with `me`.
///
/// # Errors
/// As [`plan_open`]; [`ErrorCode::Misuse`] if `me` lacks a group.
pub fn plan_rewrap(sealed: &Value, schema: &Schema, me: &PublicKey) -> Result<(OpenPlan, Vec<UnwrapJob>)> {
    unwrap_all(sealed, schema, me)
}

impl OpenPlan {
    /// The unwrapped data keys, each checked against its group's envelope
    /// MAC (so tampering with any part of the envelope, including other
    /// recipients' wraps, is detected).
    fn keys(&self, deks: &[Zeroizing<Vec<u8>>]) -> Result<Vec<(String, Zeroizing<[u8; DEK_LEN]>)>> {
        if deks.len() != self.groups.len() || self.macs.len() != self.groups.len() {
            return Err(Error::invalid_argument("unwrap results do not match the plan"));
        }
        let mut keys = Vec::with_capacity(deks.len());
        for ((g, k), mac) in self.groups.iter().zip(deks).zip(&self.macs) {
            let key: [u8; DEK_LEN] = k.as_slice().try_into().map_err(|_| Error::DECRYPT_FAILED)?;
            let expected = envelope_mac(&key, &self.mac_input)?;
            if !bool::from(subtle::ConstantTimeEq::ct_eq(&expected[..], &mac[..])) {
                return Err(Error::DECRYPT_FAILED);
            }
            keys.push((g.clone(), Zeroizing::new(key)));
        }
        Ok(keys)
    }

    /// Second step of a rewrap: the same data keys wrapped to `recipients`
    /// (the fields are not re-encrypted). The field set is authenticated
    /// first, so a tampered record is not rewrapped.
    ///
    /// # Errors
    /// As [`plan_seal`] for the recipients; [`ErrorCode::DecryptFailed`] if a
    /// data key or a field does not authenticate.
    pub fn rewrap(
        self,
        schema: &Schema,
        deks: &[Zeroizing<Vec<u8>>],
        recipients: &[Recipient],
    ) -> Result<(SealPlan, Vec<WrapJob>)> {
        let keys = self.keys(deks)?;
        self.verify_fields(schema, &keys)?;
        let header = Header { groups: Vec::new(), ..self.header.clone() };
        let mut record = self.record;
        let (header, jobs) = wrap_plan(header, schema, recipients, &keys)?;
        if let Some(o) = record.as_object_mut() {
            o.remove(ENVELOPE_MEMBER);
        }
        Ok((SealPlan { record, header, keys: keys.into_iter().map(|(_, k)| k).collect() }, jobs))
    }

    /// Second step of a re-key (after removing a recipient, or on rotation):
    /// fresh data keys created at `now` (Unix seconds), random and
    /// blind-index fields re-encrypted under them at `epoch + 1` (blind
    /// indexes and deterministic fields are unchanged), wrapped to `recipients`.
    ///
    /// # Errors
    /// As [`OpenPlan::rewrap`].
    pub fn rekey(
        self,
        schema: &Schema,
        deks: &[Zeroizing<Vec<u8>>],
        recipients: &[Recipient],
        now: u64,
    ) -> Result<(SealPlan, Vec<WrapJob>)> {
        let old = self.keys(deks)?;
        self.verify_fields(schema, &old)?;
        let old = DataKeys(old);
        let mut fresh = Vec::with_capacity(old.0.len());
        for (g, _) in &old.0 {
            let mut k = Zeroizing::new([0u8; DEK_LEN]);
            random_bytes(&mut k[..])?;
            fresh.push((g.clone(), k));
        }
        let epoch = self.header.epoch.checked_add(1).ok_or(Error::misuse("key epoch exhausted"))?;
        let new_header = Header { epoch, created: now, groups: Vec::new(), ..self.header.clone() };
        let fresh_keys = DataKeys(fresh);
        let mut record = self.record;
        for spec in schema.fields() {
            if spec.mode() == FieldMode::Deterministic {
                continue;
            }
            visit_mut(&mut record, &spec.segments, &mut String::new(), &mut |pointer, value| {
                let s = value.as_str().ok_or(Error::DECRYPT_FAILED)?;
                let (index, data) = split_field(spec.mode(), s)?;
                let dek = old.get(spec.group()).ok_or(Error::DECRYPT_FAILED)?;
                let pt = gcm_open(dek, &field_aad(&self.header, spec.mode(), pointer, &index)?, &data)?;
                let new_dek = fresh_keys.get(spec.group()).ok_or(Error::DECRYPT_FAILED)?;
                let ct = gcm_seal(new_dek, &field_aad(&new_header, spec.mode(), pointer, &index)?, &pt)?;
                *value = Value::String(join_field(spec.mode(), &index, &ct));
                Ok(())
            })?;
        }
        let (header, jobs) = wrap_plan(new_header, schema, recipients, &fresh_keys.0)?;
        Ok((SealPlan { record, header, keys: fresh_keys.0.into_iter().map(|(_, k)| k).collect() }, jobs))
    }

    /// Authenticates the field set and every random / blind-index field.
    fn verify_fields(&self, schema: &Schema, keys: &[(String, Zeroizing<[u8; DEK_LEN]>)]) -> Result<()> {
        let plan = Self {
            record: self.record.clone(),
            header: self.header.clone(),
            groups: self.groups.clone(),
            macs: self.macs.clone(),
            mac_input: self.mac_input.clone(),
        };
        let deks: Vec<Zeroizing<Vec<u8>>> = keys.iter().map(|(_, k)| Zeroizing::new(k.to_vec())).collect();
        plan.finish(schema, &deks, None).map(|_| ())
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
            Ok(members)
        })
        .collect()
}

/// Fills `header.groups` from `recipients` and plans the wraps of `keys`
/// (one per schema group, in `schema.groups()` order).
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
    for ((group, _), members) in keys.iter().zip(&members_per_group) {
        header.groups.push((group.clone(), members.iter().map(PublicKey::thumbprint).collect()));
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
/// (RustCrypto HPKE). `key` must be a recipient of every group.
///
/// # Errors
/// As [`plan_rewrap`] and [`OpenPlan::rewrap`].
pub fn rewrap_record(sealed: &Value, schema: &Schema, key: &PrivateKey, recipients: &[Recipient]) -> Result<Value> {
    let (plan, jobs) = plan_rewrap(sealed, schema, key.public_key())?;
    let deks = jobs.iter().map(|j| j.run(key)).collect::<Result<Vec<_>>>()?;
    let (plan, jobs) = plan.rewrap(schema, &deks, recipients)?;
    plan.finish(&jobs.iter().map(WrapJob::run).collect::<Result<Vec<_>>>()?)
}

/// Re-keys a record (new data keys, epoch + 1) for `recipients`: use it to
/// remove a recipient, who may have kept the old data keys.
///
/// # Errors
/// As [`plan_rewrap`] and [`OpenPlan::rekey`].
pub fn rekey_record(
    sealed: &Value,
    schema: &Schema,
    key: &PrivateKey,
    recipients: &[Recipient],
    now: u64,
) -> Result<Value> {
    let (plan, jobs) = plan_rewrap(sealed, schema, key.public_key())?;
    let deks = jobs.iter().map(|j| j.run(key)).collect::<Result<Vec<_>>>()?;
    let (plan, jobs) = plan.rekey(schema, &deks, recipients, now)?;
    plan.finish(&jobs.iter().map(WrapJob::run).collect::<Result<Vec<_>>>()?)
}

/// Reads a sealed record's header without any key. It is authenticated only
/// when the record is opened; use it for routing and reporting.
///
/// # Errors
/// As the envelope parsing of [`plan_open`].
pub fn inspect(sealed: &Value) -> Result<Header> {
    parse_envelope(sealed).map(|e| e.header)
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
    let mut record = record.clone();
    let mut plaintext = Vec::new();
    for spec in schema.fields() {
        let prefix = match spec.mode() {
            FieldMode::Random => RANDOM_PREFIX,
            FieldMode::Deterministic => DETERMINISTIC_PREFIX,
            FieldMode::BlindIndex { .. } => BLIND_PREFIX,
        };
        visit_mut(&mut record, &spec.segments, &mut String::new(), &mut |pointer, value| {
            if !value.as_str().is_some_and(|s| s.starts_with(prefix)) {
                plaintext.push(pointer.to_owned());
            }
            Ok(())
        })?;
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
            (schema::Segment::Key(k), Value::Object(map)) => {
                if let Some(child) = map.get_mut(k) {
                    walk(child, rest);
                }
            }
            (schema::Segment::Each, Value::Array(items)) => items.iter_mut().for_each(|c| walk(c, rest)),
            _ => *value = Value::String(REDACTED.to_owned()),
        }
    }
    let mut out = record.clone();
    for spec in schema.fields() {
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
        .fields()
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
    let mut record = record.clone();
    let mut out = Vec::new();
    for spec in schema.fields() {
        visit_mut(&mut record, &spec.segments, &mut String::new(), &mut |_, value| {
            fn collect(v: &Value, out: &mut Vec<String>) {
                match v {
                    Value::String(s) => out.push(s.clone()),
                    Value::Array(items) => items.iter().for_each(|i| collect(i, out)),
                    Value::Object(map) => map.values().for_each(|i| collect(i, out)),
                    Value::Null | Value::Bool(_) => {}
                    Value::Number(n) => out.push(n.as_str().to_owned()),
                }
            }
            collect(value, &mut out);
            Ok(())
        })?;
    }
    Ok(out)
}
