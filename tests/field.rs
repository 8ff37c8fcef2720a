//! Field-level sealing of PHI records (docs/FORMAT.md §5): schema parsing,
//! round trips in every mode, access groups, tamper detection, rewrap and
//! rekey, the sealed index key, and the record checks (rotation, PHI
//! verification, redaction), each failure asserted by its [`ErrorCode`];
//! then the version 2 properties (author signature, encryption context,
//! version chain, unsigned members, key commitments).
//!
//! Tampering is checked at two layers. Without the author's key any change
//! is refused by the checks before decryption (§5.4 steps 1–8: mostly
//! `INVALID_SIGNATURE` from the content digest or the signature). The
//! checks behind the signature (data-key commitments, field AEADs and
//! prefixes, step 9–10) are reached with [`Resigner`], which signs tampered
//! content as a trusted author would, written from FORMAT.md §5.2 and not
//! with phiseal's sealer.
// A native suite (`cargo test`); in wasm32 this file compiles to nothing, so
// `wasm-pack test` builds every test target and runs tests/web.rs.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

#[macro_use]
#[path = "support/json.rs"]
mod support_json;
use base64ct::{Base64UrlUnpadded, Encoding as _};
use phiseal::ErrorCode;
use phiseal::field::{self, Context, Expected, Header, IndexKey, Locked, Recipient, Schema, SealOptions, WrapJob};
use phiseal::field::{FieldMode, Opened};
use phiseal::hpke::{self, Suite};
use phiseal::json::Value;
use phiseal::kdf::Kdf;
use phiseal::keys::{PrivateKey, PublicKey};
use phiseal::sign::{self, SigningKey};
use sha2::{Digest as _, Sha384};
use zeroize::Zeroizing;

const CREATED: u64 = 1_700_000_000;

/// A schema with every mode and two access groups.
const SCHEMA: &str = r#"{"id":"intake","version":3,"fields":{
  "patient.ssn": {"mode":"blindIndex","bits":16,"group":"clinical"},
  "patient.name": {"mode":"deterministic","group":"clinical"},
  "notes": {"mode":"random","group":"clinical"},
  "diagnoses[].code": {"mode":"deterministic","group":"clinical"},
  "diagnoses[].detail": {"group":"clinical"},
  "billing.card": {"mode":"random","group":"billing"},
  "billing.account": {"mode":"blindIndex","group":"billing"}
}}"#;

/// Every PHI location of [`record`], in schema (path) order then document order.
const POINTERS: [&str; 10] = [
    "/billing/account",
    "/billing/card",
    "/diagnoses/0/code",
    "/diagnoses/1/code",
    "/diagnoses/2/code",
    "/diagnoses/0/detail",
    "/diagnoses/1/detail",
    "/notes",
    "/patient/name",
    "/patient/ssn",
];

fn record() -> Value {
    json!({
        "patient": {"ssn": "123-45-6789", "name": "Ada Lovelace", "age": 36},
        "notes": "hypertension follow-up",
        "diagnoses": [
            {"code": "I10", "detail": {"severity": 2, "confirmed": true}},
            {"code": "E11.9", "detail": null},
            {"code": "I10"}
        ],
        "billing": {"card": "4111111111111111", "account": 12345},
        "visit": 3
    })
}

struct Fx {
    schema: Schema,
    a: PrivateKey,
    b: PrivateKey,
    ik: IndexKey,
    /// The author of every record and index key; `authors` trusts only it.
    author: SigningKey,
    authors: Vec<PublicKey>,
}

fn fx() -> Fx {
    let author = SigningKey::generate().unwrap();
    Fx {
        schema: Schema::from_json(SCHEMA).unwrap(),
        a: PrivateKey::generate().unwrap(),
        b: PrivateKey::generate().unwrap(),
        ik: IndexKey::generate().unwrap(),
        authors: vec![author.verifying_key()],
        author,
    }
}

fn all(key: &PrivateKey) -> Recipient {
    Recipient::all_groups(*key.public_key())
}

fn only(key: &PrivateKey, groups: &[&str]) -> Recipient {
    Recipient { key: *key.public_key(), groups: Some(groups.iter().map(|g| (*g).to_owned()).collect()) }
}

/// An encryption context from pairs.
fn ctx(pairs: &[(&str, &str)]) -> Context {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

impl Fx {
    /// What an opener of `record_id` expects: empty context, the fixture's author.
    fn expect<'a>(&'a self, record_id: &'a str) -> Expected<'a> {
        Expected::new(record_id, &self.authors)
    }

    fn seal_opts(&self, record: &Value, opts: &SealOptions) -> Value {
        field::seal_record(record, &self.schema, opts, Some(&self.ik), &self.author).unwrap()
    }

    /// Sealed to A (every group) and B (billing only).
    fn seal(&self, record: &Value, record_id: &str) -> Value {
        self.seal_opts(record, &SealOptions::new(record_id, vec![all(&self.a), only(&self.b, &["billing"])], CREATED))
    }

    /// Sealed to A only.
    fn seal_a(&self, record: &Value, record_id: &str) -> Value {
        self.seal_opts(record, &SealOptions::new(record_id, vec![all(&self.a)], CREATED))
    }

    /// Opened by A with the index key, expecting `record_id`.
    fn open(&self, sealed: &Value, record_id: &str) -> phiseal::Result<Opened> {
        self.open_by(&self.a, sealed, record_id, Some(&self.ik))
    }

    fn open_by(
        &self,
        key: &PrivateKey,
        sealed: &Value,
        record_id: &str,
        ik: Option<&IndexKey>,
    ) -> phiseal::Result<Opened> {
        field::open_record(sealed, &self.schema, key, ik, &self.expect(record_id))
    }

    fn rewrap(&self, sealed: &Value, key: &PrivateKey, to: &[Recipient], record_id: &str) -> phiseal::Result<Value> {
        field::rewrap_record(sealed, &self.schema, key, to, &self.expect(record_id), &self.author)
    }

    fn rekey(
        &self,
        sealed: &Value,
        key: &PrivateKey,
        to: &[Recipient],
        record_id: &str,
        now: u64,
    ) -> phiseal::Result<Value> {
        field::rekey_record(sealed, &self.schema, key, to, &self.expect(record_id), &self.author, now)
    }
}

#[track_caller]
fn code<T>(r: phiseal::Result<T>) -> ErrorCode {
    match r {
        Ok(_) => panic!("expected an error, got Ok"),
        Err(e) => e.code(),
    }
}

#[track_caller]
fn s(v: &Value, pointer: &str) -> String {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or_else(|| panic!("no string at {pointer}")).to_owned()
}

#[track_caller]
fn set(v: &mut Value, pointer: &str, new: Value) {
    // Like `v[..][..] = new`: replaces, or adds a member to an existing object.
    let (parent, last) = pointer.rsplit_once('/').unwrap_or_else(|| panic!("bad pointer {pointer}"));
    let last = last.replace("~1", "/").replace("~0", "~");
    match v.pointer_mut(parent).unwrap_or_else(|| panic!("nothing at {parent}")) {
        Value::Object(m) => {
            m.insert(last, new);
        }
        other => *other.pointer_mut(&format!("/{last}")).unwrap_or_else(|| panic!("nothing at {pointer}")) = new,
    }
}

const B64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// `text` with the character at `i` replaced by another base64url character.
fn replace_char(text: &str, i: usize) -> String {
    let mut bytes = text.as_bytes().to_vec();
    bytes[i] = match B64URL.iter().position(|&x| x == bytes[i]) {
        Some(p) => B64URL[(p + 1) % 64],
        None => b'A',
    };
    String::from_utf8(bytes).unwrap()
}

fn schema(json: &str) -> phiseal::Result<Schema> {
    Schema::from_json(json)
}

fn one_field(spec: &str) -> String {
    format!(r#"{{"id":"s","version":1,"fields":{{"f":{spec}}}}}"#)
}

fn b64(bytes: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(bytes)
}

/// `str8(label) ‖ rest` (FORMAT.md §5.1).
fn labelled(label: &[u8], rest: &[u8]) -> Vec<u8> {
    [&[u8::try_from(label.len()).unwrap()][..], label, rest].concat()
}

/// The decoded `_phiseal` bytes: header ‖ wraps ‖ signature.
#[track_caller]
fn envelope_bytes(sealed: &Value) -> Vec<u8> {
    Base64UrlUnpadded::decode_vec(s(sealed, "/_phiseal").strip_prefix("phe2.").unwrap()).unwrap()
}

fn with_envelope(sealed: &Value, bytes: &[u8]) -> Value {
    let mut t = sealed.clone();
    set(&mut t, "/_phiseal", Value::String(format!("phe2.{}", b64(bytes))));
    t
}

/// Offsets in the header (FORMAT.md §5.2), from its parsed fields:
/// (start of the context, start of `content_digest`, header length).
fn layout(h: &Header) -> (usize, usize, usize) {
    let context_at = 7 + 1 + h.record_id.len() + 1 + h.schema_id.len() + 4 + 8 + 48 + 4 + 8;
    let context = 1 + h.context.iter().map(|(k, v)| 1 + k.len() + 2 + v.len()).sum::<usize>();
    let digest_at = context_at + context + 32 + 1 + if h.index_key.is_some() { 48 } else { 0 };
    let groups: usize = h.groups.iter().map(|(g, kids)| 1 + g.len() + 32 + 1 + 32 * kids.len()).sum();
    (context_at, digest_at, digest_at + 48 + 1 + groups)
}

/// `content_digest` written from FORMAT.md §5.2: SHA-384 of the label and
/// the canonical JSON of the record without `_phiseal` and unsigned members.
fn content_digest(record: &Value, schema: &Schema) -> [u8; 48] {
    let mut r = record.clone();
    let o = r.as_object_mut().unwrap();
    o.remove("_phiseal");
    for name in schema.unsigned() {
        o.remove(name);
    }
    Sha384::digest(labelled(b"phiseal-record-v2 content", r.sorted().to_json().as_bytes())).into()
}

/// The version digest (§5.2): SHA-384 of the label, header and wraps.
fn version_digest(sealed: &Value) -> [u8; 48] {
    let bytes = envelope_bytes(sealed);
    Sha384::digest(labelled(b"phiseal-record-v2 version", &bytes[..bytes.len() - 96])).into()
}

fn dek_info(group: &str) -> Vec<u8> {
    labelled(b"phiseal-dek-v2", &labelled(group.as_bytes(), b""))
}

/// Signs changed content as a trusted author would: FORMAT.md §5.2 written
/// out here, not phiseal's sealer. The record's data keys (unwrapped once by
/// `reader`, the only recipient of every group) are wrapped again under the
/// header with the new `content_digest`, and header ‖ wraps signed. Opening
/// the result reaches the checks behind the signature.
struct Resigner<'a> {
    schema: &'a Schema,
    reader: &'a PrivateKey,
    author: &'a SigningKey,
    header: Header,
    bytes: Vec<u8>,
    /// The data keys, in header group order.
    deks: Vec<Zeroizing<Vec<u8>>>,
}

impl<'a> Resigner<'a> {
    fn new(sealed: &Value, schema: &'a Schema, reader: &'a PrivateKey, author: &'a SigningKey) -> Self {
        let header = field::inspect(sealed).unwrap();
        let authors = [author.verifying_key()];
        let expected = Expected { context: header.context.clone(), ..Expected::new(&header.record_id, &authors) };
        let (plan, verify, jobs) = field::plan_open(sealed, schema, reader.public_key(), &expected).unwrap();
        verify.run().unwrap();
        assert_eq!(plan.groups().len(), header.groups.len(), "the reader must hold every group");
        for (_, kids) in &header.groups {
            assert_eq!(kids, &[reader.public_key().thumbprint()], "the reader must be the only recipient");
        }
        let deks = jobs.iter().map(|j| j.run(reader).unwrap()).collect();
        Self { schema, reader, author, header, bytes: envelope_bytes(sealed), deks }
    }

    fn header_for(&self, content: &Value) -> Vec<u8> {
        let (_, digest_at, len) = layout(&self.header);
        let mut header = self.bytes[..len].to_vec();
        header[digest_at..digest_at + 48].copy_from_slice(&content_digest(content, self.schema));
        header
    }

    fn finish(&self, content: &Value, mut signed: Vec<u8>) -> Value {
        let signature = self.author.sign(&labelled(b"phiseal-record-v2 signature", &signed)).unwrap();
        signed.extend_from_slice(&signature);
        with_envelope(content, &signed)
    }

    /// `content` (the sealed record with members changed) signed by the author.
    fn sign(&self, content: &Value) -> Value {
        self.sign_wrapping(content, &self.deks)
    }

    /// As [`Resigner::sign`], wrapping `deks` (one per group) instead of
    /// the record's own data keys; the header keeps its key commitments.
    fn sign_wrapping(&self, content: &Value, deks: &[Zeroizing<Vec<u8>>]) -> Value {
        let header = self.header_for(content);
        let mut signed = header.clone();
        for ((group, _), dek) in self.header.groups.iter().zip(deks) {
            let (enc, ct) =
                hpke::seal(Suite::PHISEAL, self.reader.public_key(), &dek_info(group), &header, dek, None, None)
                    .unwrap();
            signed.extend(enc);
            signed.extend(ct);
        }
        self.finish(content, signed)
    }

    /// As [`Resigner::sign`] but keeping the old wraps (which no longer
    /// unwrap, their AAD being the old header): only for opening with the
    /// data keys already unwrapped ([`open_with`]), which skips the ECDHs.
    fn sign_keeping_wraps(&self, content: &Value) -> Value {
        let (_, _, len) = layout(&self.header);
        let signed = [&self.header_for(content)[..], &self.bytes[len..self.bytes.len() - 96]].concat();
        self.finish(content, signed)
    }
}

/// Opens as A with data keys unwrapped beforehand (the signature is still
/// checked; the unwrap jobs are not run).
fn open_with(f: &Fx, sealed: &Value, record_id: &str, deks: &[Zeroizing<Vec<u8>>]) -> phiseal::Result<Opened> {
    let expected = f.expect(record_id);
    let (plan, verify, _) = field::plan_open(sealed, &f.schema, f.a.public_key(), &expected)?;
    plan.finish(&f.schema, &verify.run()?, deks, Some(&f.ik))
}

// ---------------------------------------------------------------- schema

#[test]
fn schema_accepts_object_mode_string_and_true() {
    let s = schema(SCHEMA).unwrap();
    assert_eq!(s.id(), "intake");
    assert_eq!(s.version(), 3);
    assert_eq!(s.groups(), ["billing", "clinical"]);
    assert!(s.needs_index_key());
    let find = |p: &str| s.fields().iter().find(|f| f.path() == p).unwrap().clone();
    assert_eq!(find("patient.ssn").mode(), FieldMode::BlindIndex { bits: 16 });
    assert_eq!(find("patient.name").mode(), FieldMode::Deterministic);
    assert_eq!(find("diagnoses[].detail").mode(), FieldMode::Random);
    assert_eq!(find("billing.account").mode(), FieldMode::BlindIndex { bits: 32 });
    assert_eq!(find("billing.card").group(), "billing");

    let s = schema(
        r#"{"id":"x","version":0,"fields":{"t":true,"r":"random","d":"deterministic","b":"blindIndex","o":{},
            "m":{"mode":"blindIndex","bits":1},"n":{"mode":"blindIndex","bits":128},"g":{"group":"gg"}}}"#,
    )
    .unwrap();
    assert_eq!(s.version(), 0);
    let find = |p: &str| s.fields().iter().find(|f| f.path() == p).unwrap().clone();
    for p in ["t", "r", "o"] {
        assert_eq!(find(p).mode(), FieldMode::Random, "{p}");
        assert_eq!(find(p).group(), "default", "{p}");
    }
    assert_eq!(find("d").mode(), FieldMode::Deterministic);
    assert_eq!(find("b").mode(), FieldMode::BlindIndex { bits: 32 });
    assert_eq!(find("m").mode(), FieldMode::BlindIndex { bits: 1 });
    assert_eq!(find("n").mode(), FieldMode::BlindIndex { bits: 128 });
    assert_eq!(find("g").group(), "gg");
    assert_eq!(s.groups(), ["default", "gg"]);

    let s = schema(r#"{"id":"x","version":4294967295,"fields":{"a.b[][].c":"random"}}"#).unwrap();
    assert_eq!(s.version(), u32::MAX);
    assert!(!s.needs_index_key());
}

#[test]
fn schema_rejects_missing_or_bad_id_version_fields() {
    for bad in [
        r#"{"version":1,"fields":{}}"#,
        r#"{"id":"x","fields":{}}"#,
        r#"{"id":"","version":1,"fields":{}}"#,
        r#"{"id":5,"version":1,"fields":{}}"#,
        r#"{"id":"x","version":-1,"fields":{}}"#,
        r#"{"id":"x","version":1.5,"fields":{}}"#,
        r#"{"id":"x","version":"1","fields":{}}"#,
        r#"{"id":"x","version":4294967296,"fields":{}}"#,
        r#"{"id":"x","version":1}"#,
        r#"{"id":"x","version":1,"fields":[]}"#,
        r#"{"id":"x","version":1,"fields":{}}"#,
        r#"[]"#,
        r#""schema""#,
    ] {
        assert_eq!(code(schema(bad)), ErrorCode::InvalidArgument, "{bad}");
    }
    let long = format!(r#"{{"id":"{}","version":1,"fields":{{"a":true}}}}"#, "i".repeat(256));
    assert_eq!(code(schema(&long)), ErrorCode::InvalidArgument);
    let ok = format!(r#"{{"id":"{}","version":1,"fields":{{"a":true}}}}"#, "i".repeat(255));
    assert!(schema(&ok).is_ok());
    assert_eq!(code(schema("{not json")), ErrorCode::MalformedInput);
}

#[test]
fn schema_rejects_bad_paths() {
    for path in ["a..b", "a[", "[]", "", "a.", ".a", "a[]x", "a]", "a[0]", "a[].[]", "a.[]"] {
        let json = format!(r#"{{"id":"s","version":1,"fields":{{"{path}":true}}}}"#);
        assert_eq!(code(schema(&json)), ErrorCode::InvalidArgument, "path {path:?}");
    }
    let long = format!(r#"{{"id":"s","version":1,"fields":{{"{}":true}}}}"#, "p".repeat(256));
    assert_eq!(code(schema(&long)), ErrorCode::InvalidArgument);
    for path in ["a[]", "a[][]", "a.b[].c", "a/b", "x~y"] {
        let json = format!(r#"{{"id":"s","version":1,"fields":{{"{path}":true}}}}"#);
        assert!(schema(&json).is_ok(), "path {path:?}");
    }
}

#[test]
fn schema_rejects_bad_specs() {
    for spec in [
        r#""Random""#,
        r#""aes""#,
        r#"{"mode":"siv"}"#,
        r#"{"mode":5}"#,
        r#"{"mode":"blindIndex","bits":0}"#,
        r#"{"mode":"blindIndex","bits":129}"#,
        r#"{"mode":"blindIndex","bits":256}"#,
        r#"{"mode":"blindIndex","bits":-1}"#,
        r#"{"mode":"blindIndex","bits":1.5}"#,
        r#"{"mode":"blindIndex","bits":"8"}"#,
        r#"{"mode":"random","bits":8}"#,
        r#"{"mode":"deterministic","bits":8}"#,
        r#"{"bits":8}"#,
        r#"{"mode":"random","extra":1}"#,
        r#"{"mode":"random","Group":"x"}"#,
        r#"{"group":""}"#,
        r#"{"group":5}"#,
        "false",
        "1",
        "[]",
    ] {
        assert_eq!(code(schema(&one_field(spec))), ErrorCode::InvalidArgument, "spec {spec}");
    }
    let long_group = one_field(&format!(r#"{{"group":"{}"}}"#, "g".repeat(256)));
    assert_eq!(code(schema(&long_group)), ErrorCode::InvalidArgument);
}

#[test]
fn schema_rejects_nested_phi_paths() {
    for (outer, inner) in [("patient", "patient.ssn"), ("list[]", "list[].x"), ("a", "a[]"), ("a.b", "a.b.c[]")] {
        let json = format!(r#"{{"id":"s","version":1,"fields":{{"{outer}":true,"{inner}":"random"}}}}"#);
        assert_eq!(code(schema(&json)), ErrorCode::InvalidArgument, "{outer} / {inner}");
    }
    // Siblings sharing a prefix are fine.
    assert!(
        schema(r#"{"id":"s","version":1,"fields":{"patient.ssn":true,"patient.name":true,"patients":true}}"#).is_ok()
    );
}

// ---------------------------------------------------------------- round trips

#[test]
fn round_trip_full_record_with_groups_and_arrays() {
    let f = fx();
    let rec = record();
    let sealed = f.seal(&rec, "rec-1");
    // Non-PHI untouched, shape kept.
    assert_eq!(sealed["visit"], json!(3));
    assert_eq!(sealed["patient"]["age"], json!(36));
    assert_eq!(sealed["diagnoses"].as_array().unwrap().len(), 3);
    assert!(sealed["diagnoses"][2].get("detail").is_none());
    assert!(s(&sealed, "/_phiseal").starts_with("phe2."));
    for (p, prefix) in [
        ("/billing/account", "phb1."),
        ("/billing/card", "phs1."),
        ("/diagnoses/0/code", "phd1."),
        ("/diagnoses/1/code", "phd1."),
        ("/diagnoses/2/code", "phd1."),
        ("/diagnoses/0/detail", "phs1."),
        ("/diagnoses/1/detail", "phs1."),
        ("/notes", "phs1."),
        ("/patient/name", "phd1."),
        ("/patient/ssn", "phb1."),
    ] {
        assert!(s(&sealed, p).starts_with(prefix), "{p}: {}", s(&sealed, p));
    }
    // No plaintext PHI leaks into the sealed JSON.
    let text = sealed.to_json();
    for secret in ["123-45-6789", "Ada Lovelace", "hypertension", "E11.9", "4111111111111111", "12345", "severity"] {
        assert!(!text.contains(secret), "{secret} leaked");
    }
    let opened = f.open(&sealed, "rec-1").unwrap();
    assert_eq!(opened.record, rec);
    assert!(opened.locked.is_empty());
    assert_eq!(opened.header.record_id, "rec-1");
    assert_eq!(opened.header.schema_id, "intake");
    assert_eq!(opened.header.schema_version, 3);
    assert_eq!(opened.header.epoch, 1);
    assert_eq!(opened.header.created, CREATED);
    assert_eq!(opened.header.index_key_id(), Some(*f.ik.id()));
    assert_eq!(opened.header.index_key, Some((*f.ik.id(), f.ik.commitment())));
    // Version 2 header: a new record, by the author, no context.
    assert_eq!(opened.header.version, 1);
    assert_eq!(opened.header.previous, None);
    assert_eq!(opened.header.author, f.author.verifying_key().thumbprint());
    assert!(opened.header.context.is_empty());
    assert_eq!(opened.digest, version_digest(&sealed));
    assert_eq!(field::inspect(&sealed).unwrap(), opened.header);
    // JSON text round trip.
    let reparsed = Value::parse(&text).unwrap();
    assert_eq!(f.open(&reparsed, "rec-1").unwrap().record, rec);
    // B (billing) opens too.
    let by_b = f.open_by(&f.b, &reparsed, "rec-1", Some(&f.ik)).unwrap();
    assert_eq!(by_b.record["billing"], rec["billing"]);
}

fn every_value() -> Vec<Value> {
    vec![
        json!("string"),
        json!(""),
        json!("unicode ✓ 𝄞 \"quoted\" \\ \n"),
        json!(0),
        json!(-1),
        json!(0.1),
        json!(-2.5e-8),
        json!(1e300),
        json!(1.0),
        json!(u64::MAX),
        json!(i64::MIN),
        json!(9_007_199_254_740_993_u64),
        json!(true),
        json!(false),
        Value::Null,
        json!({"x": [1, {"y": "z"}], "e": {}}),
        json!({}),
        json!([]),
        json!([1, "a", null, [true], {"k": 0.5}]),
        // Numbers are kept as written: beyond 64 bits, trailing zeros, exponents.
        Value::parse("123456789012345678901234567890").unwrap(),
        Value::parse("1.50").unwrap(),
        Value::parse("-0").unwrap(),
        Value::parse("1E+2").unwrap(),
    ]
}

#[test]
fn round_trip_every_mode_every_value_type() {
    let schema =
        schema(r#"{"id":"types","version":1,"fields":{"r":"random","d":"deterministic","b":"blindIndex"}}"#).unwrap();
    let a = PrivateKey::generate().unwrap();
    let ik = IndexKey::generate().unwrap();
    let author = SigningKey::generate().unwrap();
    let authors = [author.verifying_key()];
    let opts = SealOptions::new("rec", vec![all(&a)], CREATED);
    for v in every_value() {
        let rec = support_json::obj(&[("r", &v), ("d", &v), ("b", &v), ("plain", &v)]);
        let sealed = field::seal_record(&rec, &schema, &opts, Some(&ik), &author).unwrap();
        assert!(s(&sealed, "/r").starts_with("phs1."), "{v}");
        assert!(s(&sealed, "/d").starts_with("phd1."), "{v}");
        assert!(s(&sealed, "/b").starts_with("phb1."), "{v}");
        assert_eq!(sealed["plain"], v);
        let reparsed = Value::parse(&sealed.to_json()).unwrap();
        let opened = field::open_record(&reparsed, &schema, &a, Some(&ik), &Expected::new("rec", &authors)).unwrap();
        assert_eq!(opened.record, rec, "{v}");
        // Values survive byte for byte (numbers as written).
        assert_eq!(opened.record["r"].to_json(), v.to_json(), "{v}");
        assert_eq!(opened.record["d"].to_json(), v.sorted().to_json(), "{v}"); // canonical form
        assert_eq!(opened.record["b"].to_json(), v.to_json(), "{v}");
        // Deterministic is deterministic for every type.
        let again = field::seal_record(&rec, &schema, &opts, Some(&ik), &author).unwrap();
        assert_eq!(again["d"], sealed["d"], "{v}");
        assert_ne!(again["r"], sealed["r"], "{v}");
    }
}

#[test]
fn round_trip_nested_arrays_and_absent_fields() {
    let schema = schema(
        r#"{"id":"nest","version":1,"fields":{"m[][]":"random","list[].x":"blindIndex","deep.a.b.c":"deterministic","opt":"random"}}"#,
    )
    .unwrap();
    let a = PrivateKey::generate().unwrap();
    let ik = IndexKey::generate().unwrap();
    let author = SigningKey::generate().unwrap();
    let authors = [author.verifying_key()];
    let expected = Expected::new("rec", &authors);
    let opts = SealOptions::new("rec", vec![all(&a)], CREATED);
    let rec = json!({
        "m": [[1, 2], [], [3, "x", null]],
        "list": [{"x": "a"}, {"x": "b", "y": 1}, {"y": 2}, null, {"x": {"n": [1]}}],
        "deep": {"a": {"b": {"c": "v", "d": "plain"}}},
        "other": "untouched"
    });
    let sealed = field::seal_record(&rec, &schema, &opts, Some(&ik), &author).unwrap();
    for p in ["/m/0/0", "/m/0/1", "/m/2/0", "/m/2/1", "/m/2/2"] {
        assert!(s(&sealed, p).starts_with("phs1."), "{p}");
    }
    for p in ["/list/0/x", "/list/1/x", "/list/4/x"] {
        assert!(s(&sealed, p).starts_with("phb1."), "{p}");
    }
    assert_eq!(sealed["m"][1], json!([]));
    assert_eq!(sealed["list"][1]["y"], json!(1));
    assert_eq!(sealed["list"][2], json!({"y": 2}));
    assert_eq!(sealed["list"][3], Value::Null);
    assert!(s(&sealed, "/deep/a/b/c").starts_with("phd1."));
    assert_eq!(sealed["deep"]["a"]["b"]["d"], json!("plain"));
    assert_eq!(sealed["other"], json!("untouched"));
    assert!(sealed.get("opt").is_none());
    assert_eq!(field::open_record(&sealed, &schema, &a, Some(&ik), &expected).unwrap().record, rec);

    // Null containers and missing members are absent fields.
    for rec in [json!({}), json!({"deep": null, "list": null, "m": [null]}), json!({"deep": {"a": {}}, "list": []})] {
        let sealed = field::seal_record(&rec, &schema, &opts, Some(&ik), &author).unwrap();
        let mut without = sealed.clone();
        without.as_object_mut().unwrap().remove("_phiseal");
        assert_eq!(without, rec);
        assert_eq!(field::open_record(&sealed, &schema, &a, Some(&ik), &expected).unwrap().record, rec);
    }
}

#[test]
fn record_id_and_index_key_are_validated_on_seal() {
    let f = fx();
    let rec = record();
    for id in [String::new(), "r".repeat(256)] {
        let opts = SealOptions::new(&id, vec![all(&f.a)], CREATED);
        assert_eq!(
            code(field::seal_record(&rec, &f.schema, &opts, Some(&f.ik), &f.author)),
            ErrorCode::InvalidArgument
        );
    }
    let id = "r".repeat(255);
    let sealed = f.seal_a(&rec, &id);
    assert_eq!(f.open(&sealed, &id).unwrap().header.record_id, id);
    // The schema has deterministic / blind fields: the index key is required.
    let opts = SealOptions::new("rec", vec![all(&f.a)], CREATED);
    assert_eq!(code(field::seal_record(&rec, &f.schema, &opts, None, &f.author)), ErrorCode::InvalidArgument);
    // A random-only schema needs none, and records no index key.
    let random_only = schema(r#"{"id":"r","version":1,"fields":{"x":true}}"#).unwrap();
    let sealed = field::seal_record(&json!({"x": 1}), &random_only, &opts, None, &f.author).unwrap();
    assert_eq!(field::inspect(&sealed).unwrap().index_key, None);
    let opened = field::open_record(&sealed, &random_only, &f.a, Some(&f.ik), &f.expect("rec")).unwrap();
    assert_eq!(opened.record, json!({"x": 1}));
}

#[test]
fn seal_rejects_non_objects_sealed_records_and_mismatching_structure() {
    let f = fx();
    let opts = SealOptions::new("rec", vec![all(&f.a)], CREATED);
    let seal = |rec: &Value| field::seal_record(rec, &f.schema, &opts, Some(&f.ik), &f.author);
    for rec in [json!([]), json!("x"), json!(null), json!(1), json!({"_phiseal": "phe2.x", "notes": "n"})] {
        assert_eq!(code(seal(&rec)), ErrorCode::InvalidArgument, "{rec}");
    }
    let sealed = f.seal_a(&record(), "rec");
    assert_eq!(code(seal(&sealed)), ErrorCode::InvalidArgument);
    for rec in [
        json!({"patient": "Ada"}),
        json!({"patient": ["x"]}),
        json!({"diagnoses": {"code": "I10"}}),
        json!({"diagnoses": ["I10"]}),
        json!({"diagnoses": [{"code": "ok"}, 5]}),
        json!({"billing": true}),
    ] {
        assert_eq!(code(seal(&rec)), ErrorCode::InvalidArgument, "{rec}");
        assert_eq!(code(field::verify_all_phi_encrypted(&rec, &f.schema)), ErrorCode::InvalidArgument, "{rec}");
    }
}

// ---------------------------------------------------------------- deterministic / blind / random

#[test]
fn deterministic_fields_are_equal_across_records_and_searchable() {
    let f = fx();
    let r1 = f.seal_a(&record(), "rec-1");
    let r2 = f.seal_a(&record(), "rec-2");
    assert_eq!(s(&r1, "/patient/name"), s(&r2, "/patient/name"));
    assert_eq!(s(&r1, "/diagnoses/0/code"), s(&r2, "/diagnoses/0/code"));
    // Same value at two elements of one path: same string.
    assert_eq!(s(&r1, "/diagnoses/0/code"), s(&r1, "/diagnoses/2/code"));
    assert_ne!(s(&r1, "/diagnoses/0/code"), s(&r1, "/diagnoses/1/code"));
    let token = field::search_token(&f.schema, "patient.name", &json!("Ada Lovelace"), &f.ik).unwrap();
    assert_eq!(token, s(&r1, "/patient/name"));
    let token = field::search_token(&f.schema, "diagnoses[].code", &json!("I10"), &f.ik).unwrap();
    assert_eq!(token, s(&r1, "/diagnoses/0/code"));
    assert_ne!(field::search_token(&f.schema, "patient.name", &json!("Ada"), &f.ik).unwrap(), s(&r1, "/patient/name"));
    // Another index key gives other strings.
    let other = IndexKey::generate().unwrap();
    assert_ne!(field::search_token(&f.schema, "patient.name", &json!("Ada Lovelace"), &other).unwrap(), token);

    // Different paths (same value) give different strings; so does another schema id.
    let two = schema(r#"{"id":"two","version":1,"fields":{"x":"deterministic","y":"deterministic"}}"#).unwrap();
    let opts = SealOptions::new("rec", vec![all(&f.a)], CREATED);
    let sealed = field::seal_record(&json!({"x": "same", "y": "same"}), &two, &opts, Some(&f.ik), &f.author).unwrap();
    assert_ne!(s(&sealed, "/x"), s(&sealed, "/y"));
    let two_b = schema(r#"{"id":"two-b","version":1,"fields":{"x":"deterministic"}}"#).unwrap();
    let sealed_b = field::seal_record(&json!({"x": "same"}), &two_b, &opts, Some(&f.ik), &f.author).unwrap();
    assert_ne!(s(&sealed, "/x"), s(&sealed_b, "/x"));

    // Random fields are not searchable; unknown paths are rejected.
    assert_eq!(code(field::search_token(&f.schema, "notes", &json!("x"), &f.ik)), ErrorCode::InvalidArgument);
    assert_eq!(code(field::search_token(&f.schema, "nope", &json!("x"), &f.ik)), ErrorCode::InvalidArgument);
    assert_eq!(code(field::search_token(&f.schema, "patient", &json!("x"), &f.ik)), ErrorCode::InvalidArgument);
}

fn blind_parts(sealed: &str) -> (Vec<u8>, String) {
    let body = sealed.strip_prefix("phb1.").unwrap();
    let (index, ct) = body.split_once('.').unwrap();
    assert!(!ct.contains('.'));
    (Base64UrlUnpadded::decode_vec(index).unwrap(), ct.to_owned())
}

#[test]
fn blind_index_prefix_is_stable_and_searchable() {
    let f = fx();
    let r1 = f.seal_a(&record(), "rec-1");
    let r2 = f.seal_a(&record(), "rec-2");
    let (i1, c1) = blind_parts(&s(&r1, "/patient/ssn"));
    let (i2, c2) = blind_parts(&s(&r2, "/patient/ssn"));
    assert_eq!(i1, i2);
    assert_ne!(c1, c2);
    assert_eq!(i1.len(), 2); // 16 bits
    let token = field::search_token(&f.schema, "patient.ssn", &json!("123-45-6789"), &f.ik).unwrap();
    assert!(token.starts_with("phb1.") && token.ends_with('.'));
    assert!(s(&r1, "/patient/ssn").starts_with(&token));
    assert!(s(&r2, "/patient/ssn").starts_with(&token));
    let token = field::search_token(&f.schema, "billing.account", &json!(12345), &f.ik).unwrap();
    assert!(s(&r1, "/billing/account").starts_with(&token));
    assert_eq!(blind_parts(&s(&r1, "/billing/account")).0.len(), 4); // default 32 bits
    // A number and its string form are different values.
    let other = field::search_token(&f.schema, "billing.account", &json!("12345"), &f.ik).unwrap();
    assert_ne!(other, token);
}

#[test]
fn blind_index_length_and_masking_follow_bits() {
    let a = PrivateKey::generate().unwrap();
    let ik = IndexKey::generate().unwrap();
    let author = SigningKey::generate().unwrap();
    let authors = [author.verifying_key()];
    for (bits, len) in [(1u8, 1usize), (7, 1), (8, 1), (12, 2), (16, 2), (31, 4), (32, 4), (100, 13), (128, 16)] {
        let sc =
            schema(&format!(r#"{{"id":"bits","version":1,"fields":{{"v":{{"mode":"blindIndex","bits":{bits}}}}}}}"#))
                .unwrap();
        let opts = SealOptions::new("rec", vec![all(&a)], CREATED);
        let spare = len * 8 - usize::from(bits);
        let mask = if spare == 0 { 0 } else { (1u8 << spare) - 1 };
        for n in 0..24 {
            let rec = json!({ "v": format!("value-{n}") });
            let sealed = field::seal_record(&rec, &sc, &opts, Some(&ik), &author).unwrap();
            let (index, _) = blind_parts(&s(&sealed, "/v"));
            assert_eq!(index.len(), len, "bits {bits}");
            assert_eq!(index[len - 1] & mask, 0, "bits {bits}: trailing bits not masked");
            let token = field::search_token(&sc, "v", &rec["v"], &ik).unwrap();
            assert!(s(&sealed, "/v").starts_with(&token));
            if n == 0 {
                let opened = field::open_record(&sealed, &sc, &a, Some(&ik), &Expected::new("rec", &authors)).unwrap();
                assert_eq!(opened.record, rec);
            }
        }
    }
}

#[test]
fn random_ciphertexts_differ_every_time() {
    let f = fx();
    let mut rec = record();
    set(&mut rec, "/diagnoses/1/detail", json!({"severity": 2, "confirmed": true}));
    let r1 = f.seal_a(&rec, "rec");
    let r2 = f.seal_a(&rec, "rec");
    for p in ["/notes", "/billing/card", "/diagnoses/0/detail"] {
        assert_ne!(s(&r1, p), s(&r2, p), "{p}");
    }
    // Same value at two elements of a random path.
    assert_ne!(s(&r1, "/diagnoses/0/detail"), s(&r1, "/diagnoses/1/detail"));
    assert_ne!(s(&r1, "/_phiseal"), s(&r2, "/_phiseal"));
}

// ---------------------------------------------------------------- groups and keys

#[test]
fn billing_recipient_opens_billing_and_gets_clinical_locked() {
    let f = fx();
    let rec = record();
    let sealed = f.seal(&rec, "rec");
    let opened = f.open_by(&f.b, &sealed, "rec", None).unwrap();
    assert_eq!(opened.record["billing"], rec["billing"]);
    assert_eq!(opened.record["visit"], json!(3));
    assert_eq!(opened.record["patient"]["age"], json!(36));
    assert!(opened.record.get("_phiseal").is_none());
    let mut locked = opened.locked.clone();
    locked.sort_by(|x, y| x.pointer.cmp(&y.pointer));
    let lk = |p: &str, r: &str| Locked { pointer: p.to_owned(), reason: r.to_owned() };
    assert_eq!(
        locked,
        [
            lk("/diagnoses/0/code", "clinical"),
            lk("/diagnoses/0/detail", "clinical"),
            lk("/diagnoses/1/code", "clinical"),
            lk("/diagnoses/1/detail", "clinical"),
            lk("/diagnoses/2/code", "clinical"),
            lk("/notes", "clinical"),
            lk("/patient/name", "clinical"),
            lk("/patient/ssn", "clinical"),
        ]
    );
    for l in &opened.locked {
        assert_eq!(s(&opened.record, &l.pointer), s(&sealed, &l.pointer), "{}", l.pointer);
    }
    // The header lists who holds which group.
    let groups = &opened.header.groups;
    assert_eq!(groups.len(), 2);
    assert_eq!(groups[0].0, "billing");
    assert_eq!(groups[0].1, [f.a.public_key().thumbprint(), f.b.public_key().thumbprint()]);
    assert_eq!(groups[1].0, "clinical");
    assert_eq!(groups[1].1, [f.a.public_key().thumbprint()]);

    // A opens everything.
    assert!(f.open(&sealed, "rec").unwrap().locked.is_empty());
    // Plan API: B's plan unwraps only billing.
    let (plan, _, jobs) = field::plan_open(&sealed, &f.schema, f.b.public_key(), &f.expect("rec")).unwrap();
    assert_eq!(plan.groups(), ["billing"]);
    assert_eq!(jobs.len(), 1);
}

#[test]
fn non_recipient_and_bad_recipient_lists() {
    let f = fx();
    let sealed = f.seal(&record(), "rec");
    let c = PrivateKey::generate().unwrap();
    assert_eq!(code(f.open_by(&c, &sealed, "rec", Some(&f.ik))), ErrorCode::NotRecipient);
    assert_eq!(code(field::plan_open(&sealed, &f.schema, c.public_key(), &f.expect("rec"))), ErrorCode::NotRecipient);

    let rec = record();
    let bad_lists = [
        vec![all(&f.a), only(&f.b, &["billing", "radiology"])],
        vec![only(&f.a, &["nope"])],
        vec![only(&f.b, &["billing"])],
        vec![only(&f.a, &["clinical"])],
        vec![only(&f.a, &[])],
        vec![],
        // v2: a key twice in one group (FORMAT.md §5.2).
        vec![all(&f.a), all(&f.a)],
        vec![all(&f.a), only(&f.a, &["billing"])],
    ];
    for list in bad_lists {
        let opts = SealOptions::new("rec", list.clone(), CREATED);
        assert_eq!(
            code(field::seal_record(&rec, &f.schema, &opts, Some(&f.ik), &f.author)),
            ErrorCode::InvalidArgument,
            "{list:?}"
        );
        assert_eq!(code(f.rewrap(&sealed, &f.a, &list, "rec")), ErrorCode::InvalidArgument, "{list:?}");
    }
    // Splitting the groups between two recipients is fine.
    let opts = SealOptions::new("rec", vec![only(&f.a, &["clinical"]), only(&f.b, &["billing"])], CREATED);
    let split = f.seal_opts(&rec, &opts);
    let by_a = f.open(&split, "rec").unwrap();
    assert_eq!(by_a.locked.iter().map(|l| l.reason.as_str()).collect::<Vec<_>>(), ["billing", "billing"]);
}

#[test]
fn deterministic_fields_without_or_with_wrong_index_key() {
    let f = fx();
    let rec = record();
    let sealed = f.seal_a(&rec, "rec");
    let opened = f.open_by(&f.a, &sealed, "rec", None).unwrap();
    let locked: Vec<(&str, &str)> = opened.locked.iter().map(|l| (l.pointer.as_str(), l.reason.as_str())).collect();
    assert_eq!(
        locked,
        [
            ("/diagnoses/0/code", "indexKey"),
            ("/diagnoses/1/code", "indexKey"),
            ("/diagnoses/2/code", "indexKey"),
            ("/patient/name", "indexKey")
        ]
    );
    // Blind-index fields need only the data key.
    assert_eq!(opened.record["patient"]["ssn"], rec["patient"]["ssn"]);
    assert_eq!(opened.record["notes"], rec["notes"]);
    assert_eq!(s(&opened.record, "/patient/name"), s(&sealed, "/patient/name"));

    let wrong = IndexKey::generate().unwrap();
    assert_eq!(code(f.open_by(&f.a, &sealed, "rec", Some(&wrong))), ErrorCode::InvalidArgument);
}

#[test]
fn deterministic_field_respects_access_group() {
    let f = fx();
    let rec = record();
    let sealed = f.seal(&rec, "rec");
    let by_b = f.open_by(&f.b, &sealed, "rec", Some(&f.ik)).unwrap();
    assert_ne!(by_b.record["patient"]["name"], rec["patient"]["name"], "clinical field readable by billing");
    assert!(by_b.locked.iter().any(|l| l.pointer == "/patient/name" && l.reason == "clinical"));
}

// ---------------------------------------------------------------- tampering

#[test]
fn the_resigner_follows_format_md() {
    // The helper behind the "behind the signature" checks must itself be
    // right: re-signing an unchanged record gives a record that opens.
    let f = fx();
    let sealed = f.seal_a(&record(), "rec");
    let author = Resigner::new(&sealed, &f.schema, &f.a, &f.author);
    let (_, digest_at, _) = layout(&author.header);
    assert_eq!(envelope_bytes(&sealed)[digest_at..digest_at + 48], content_digest(&sealed, &f.schema));
    assert_eq!(f.open(&author.sign(&sealed), "rec").unwrap().record, record());
    assert_eq!(open_with(&f, &author.sign_keeping_wraps(&sealed), "rec", &author.deks).unwrap().record, record());
    // Kept wraps do not unwrap under the new header: a full open fails there.
    let mut t = sealed.clone();
    support_json::put(&mut t, "visit", json!(4));
    assert_eq!(code(f.open(&author.sign_keeping_wraps(&t), "rec")), ErrorCode::DecryptFailed);
    assert_eq!(f.open(&author.sign(&t), "rec").unwrap().record["visit"], json!(4));
}

#[test]
fn every_field_character_replaced_fails() {
    let f = fx();
    let sealed = f.seal_a(&record(), "rec");
    let author = Resigner::new(&sealed, &f.schema, &f.a, &f.author);
    let deks = &author.deks;
    assert_eq!(open_with(&f, &sealed, "rec", deks).unwrap().record, record());
    // Without the author's key: the content digest no longer matches (§5.4
    // step 5, before any key is unwrapped). Signed by the author anyway:
    // the field itself does not open (step 10).
    let check = |t: &Value, what: &str| {
        assert_eq!(code(f.open(t, "rec")), ErrorCode::InvalidSignature, "{what}");
        assert_eq!(code(open_with(&f, &author.sign_keeping_wraps(t), "rec", deks)), ErrorCode::DecryptFailed, "{what}");
    };
    let mut tried = 0;
    for p in POINTERS {
        let original = s(&sealed, p);
        for i in 0..original.len() {
            let mut t = sealed.clone();
            set(&mut t, p, Value::String(replace_char(&original, i)));
            check(&t, &format!("{p} char {i}"));
            tried += 1;
        }
        // Every other base64url character in the last position (non-canonical trailing bits included).
        let last = original.len() - 1;
        for &c in B64URL.iter().filter(|&&c| c != original.as_bytes()[last]) {
            let mut bytes = original.clone().into_bytes();
            bytes[last] = c;
            let mut t = sealed.clone();
            set(&mut t, p, Value::String(String::from_utf8(bytes).unwrap()));
            check(&t, &format!("{p} last char {}", c as char));
        }
    }
    assert!(tried > 500);
}

/// What a changed envelope may be refused with (FORMAT.md §5.4 steps 1–8;
/// the signature is checked before any key is unwrapped, so DECRYPT_FAILED
/// and INVALID_KEY cannot occur, nor STALE_VERSION without a minimum).
const ENVELOPE_CODES: &[ErrorCode] = &[
    ErrorCode::MalformedInput,
    ErrorCode::Unsupported,
    ErrorCode::ContextMismatch,
    ErrorCode::UntrustedAuthor,
    ErrorCode::InvalidSignature,
    ErrorCode::NotRecipient,
];

#[test]
fn every_envelope_character_replaced_fails() {
    let f = fx();
    let sealed = f.seal_a(&record(), "rec");
    let env = s(&sealed, "/_phiseal");
    let mut invalid_signature = 0;
    for i in 0..env.len() {
        let mut t = sealed.clone();
        set(&mut t, "/_phiseal", Value::String(replace_char(&env, i)));
        let c = code(f.open(&t, "rec"));
        assert!(ENVELOPE_CODES.contains(&c), "char {i}: {c:?}");
        if c == ErrorCode::InvalidSignature {
            invalid_signature += 1;
        }
        if i < 5 {
            let expected = if i >= 3 { ErrorCode::Unsupported } else { ErrorCode::MalformedInput };
            assert_eq!(c, expected, "prefix char {i}");
        }
    }
    assert!(invalid_signature * 3 > env.len(), "many positions are signed: {invalid_signature} of {}", env.len());
}

/// Expected outcomes of a flipped envelope byte for two openers (A, B).
type Expect = (&'static [ErrorCode], &'static [ErrorCode]);

fn rep(v: &mut Vec<Expect>, n: usize, a: &'static [ErrorCode], b: &'static [ErrorCode]) {
    v.extend(std::iter::repeat_n((a, b), n));
}

#[test]
fn every_envelope_byte_flipped_fails_with_the_expected_code() {
    const UNSUP: &[ErrorCode] = &[ErrorCode::Unsupported];
    const MAL: &[ErrorCode] = &[ErrorCode::MalformedInput];
    // A length or count byte: the rest no longer parses (§5.4 step 1).
    const LEN: &[ErrorCode] = MAL;
    const CM: &[ErrorCode] = &[ErrorCode::ContextMismatch];
    const UA: &[ErrorCode] = &[ErrorCode::UntrustedAuthor];
    const IS: &[ErrorCode] = &[ErrorCode::InvalidSignature];
    const NR: &[ErrorCode] = &[ErrorCode::NotRecipient];
    let f = fx();
    // A holds billing and clinical, B billing only: wraps billing/A, billing/B, clinical/A.
    let context = ctx(&[("patient", "p-42"), ("tenant", "t1")]);
    let opts = SealOptions {
        context: context.clone(),
        ..SealOptions::new("rec-1", vec![all(&f.a), only(&f.b, &["billing"])], CREATED)
    };
    let sealed = f.seal_opts(&record(), &opts);
    let expected = Expected { context, ..f.expect("rec-1") };
    let h = field::inspect(&sealed).unwrap();
    let bytes = envelope_bytes(&sealed);
    let mut exp: Vec<Expect> = Vec::new();
    rep(&mut exp, 7, UNSUP, UNSUP); // version, KEM, KDF, AEAD ids
    rep(&mut exp, 1, LEN, LEN);
    rep(&mut exp, h.record_id.len(), CM, CM);
    rep(&mut exp, 1, LEN, LEN);
    rep(&mut exp, h.schema_id.len(), CM, CM);
    rep(&mut exp, 4, CM, CM); // schema version
    rep(&mut exp, 8 + 48, MAL, MAL); // record version 1 with a zero `previous`: any change is inconsistent
    rep(&mut exp, 4 + 8, IS, IS); // epoch, created
    rep(&mut exp, 1, LEN, LEN); // context entries
    assert_eq!(h.context.len(), 2);
    for (k, v) in &h.context {
        rep(&mut exp, 1, LEN, LEN);
        rep(&mut exp, k.len(), CM, CM); // still sorted: the two keys differ in their first byte
        rep(&mut exp, 2, LEN, LEN);
        rep(&mut exp, v.len(), CM, CM);
    }
    rep(&mut exp, 32, UA, UA); // author thumbprint
    rep(&mut exp, 1, MAL, MAL); // index key entry: 48 becomes 49
    rep(&mut exp, 16 + 32, IS, IS); // index key id and commitment
    rep(&mut exp, 48, IS, IS); // content digest (does not match the record)
    rep(&mut exp, 1, LEN, LEN);
    assert_eq!(h.groups.len(), 2);
    let b_kid = f.b.public_key().thumbprint();
    for (name, kids) in &h.groups {
        rep(&mut exp, 1, LEN, LEN);
        rep(&mut exp, name.len(), CM, CM);
        rep(&mut exp, 32, IS, IS); // key commitment
        rep(&mut exp, 1, LEN, LEN);
        for kid in kids {
            // B's only entry gone: B is no recipient (step 7, before the signature).
            rep(&mut exp, 32, IS, if *kid == b_kid { NR } else { IS });
        }
    }
    // Wraps and the signature: signed bytes, whoever's wrap it is.
    rep(&mut exp, 3 * (97 + 48), IS, IS);
    rep(&mut exp, 96, IS, IS);
    assert_eq!(exp.len(), bytes.len(), "envelope layout: {h:?}");
    for (i, (for_a, for_b)) in exp.iter().enumerate() {
        let mut b = bytes.clone();
        b[i] ^= 0x01;
        let t = with_envelope(&sealed, &b);
        let c = code(field::open_record(&t, &f.schema, &f.a, Some(&f.ik), &expected));
        assert!(for_a.contains(&c), "A, byte {i}: {c:?}, expected one of {for_a:?}");
        let c = code(field::open_record(&t, &f.schema, &f.b, None, &expected));
        assert!(for_b.contains(&c), "B, byte {i}: {c:?}, expected one of {for_b:?}");
    }
    // A trailing byte.
    let mut longer = bytes.clone();
    longer.push(0);
    let t = with_envelope(&sealed, &longer);
    assert_eq!(code(field::open_record(&t, &f.schema, &f.a, Some(&f.ik), &expected)), ErrorCode::MalformedInput);
}

#[test]
fn truncated_or_bad_envelopes() {
    let f = fx();
    let sealed = f.seal_a(&record(), "rec");
    let env = s(&sealed, "/_phiseal");
    for n in 0..env.len() {
        let mut t = sealed.clone();
        set(&mut t, "/_phiseal", Value::String(env[..n].to_owned()));
        let c = code(f.open(&t, "rec"));
        let expected = if n == 3 || n == 4 { ErrorCode::Unsupported } else { ErrorCode::MalformedInput };
        assert_eq!(c, expected, "truncated to {n}");
        assert_eq!(code(field::inspect(&t)), expected, "inspect truncated to {n}");
    }
    // Version 1 is no longer read (FORMAT.md §5), nor any other version.
    for prefix in ["phe1.", "phe3.", "phe0."] {
        let mut t = sealed.clone();
        set(&mut t, "/_phiseal", Value::String(format!("{prefix}{}", &env[5..])));
        assert_eq!(code(f.open(&t, "rec")), ErrorCode::Unsupported, "{prefix}");
        assert_eq!(code(field::inspect(&t)), ErrorCode::Unsupported, "{prefix}");
    }
    // The version byte inside the envelope too.
    let mut bytes = envelope_bytes(&sealed);
    bytes[0] = 1;
    assert_eq!(code(f.open(&with_envelope(&sealed, &bytes), "rec")), ErrorCode::Unsupported);
    for bad in [json!(5), json!(null), json!({"x": 1}), json!("PHE2.abc"), json!(format!("{env}=="))] {
        let mut t = sealed.clone();
        set(&mut t, "/_phiseal", bad.clone());
        assert_eq!(code(f.open(&t, "rec")), ErrorCode::MalformedInput, "{bad}");
    }
    let mut t = sealed.clone();
    t.as_object_mut().unwrap().remove("_phiseal");
    assert_eq!(code(f.open(&t, "rec")), ErrorCode::MalformedInput);
    for not_object in [json!([]), json!("phe2.x"), json!(null)] {
        assert_eq!(code(f.open(&not_object, "rec")), ErrorCode::InvalidArgument);
        assert_eq!(code(field::inspect(&not_object)), ErrorCode::InvalidArgument);
    }
}

#[test]
fn swapped_moved_deleted_added_or_plaintext_fields_fail() {
    let f = fx();
    let rec = record();
    let sealed = f.seal_a(&rec, "rec-1");
    let author = Resigner::new(&sealed, &f.schema, &f.a, &f.author);
    // Any change: the content digest (§5.4 step 5).
    let check = |t: &Value, what: &str| assert_eq!(code(f.open(t, "rec-1")), ErrorCode::InvalidSignature, "{what}");
    // Changes the field AEADs and prefixes refuse even when the author signs
    // them (step 10): collected, then checked below.
    let mut bound: Vec<(Value, String)> = Vec::new();

    // Swap between paths (every mode, including two deterministic paths).
    for (p, q) in [
        ("/notes", "/billing/card"),
        ("/notes", "/diagnoses/0/detail"),
        ("/diagnoses/0/detail", "/diagnoses/1/detail"),
        ("/patient/ssn", "/billing/account"),
        ("/patient/name", "/diagnoses/1/code"),
        ("/notes", "/patient/name"),
    ] {
        let mut t = sealed.clone();
        set(&mut t, p, sealed.pointer(q).unwrap().clone());
        set(&mut t, q, sealed.pointer(p).unwrap().clone());
        check(&t, &format!("swap {p} {q}"));
        bound.push((t, format!("swap {p} {q}")));
    }
    // Move random / blind fields from another record (same schema and values, other id).
    let other = f.seal_a(&rec, "rec-2");
    for p in ["/notes", "/billing/card", "/diagnoses/0/detail", "/patient/ssn", "/billing/account"] {
        let mut t = sealed.clone();
        set(&mut t, p, other.pointer(p).unwrap().clone());
        check(&t, &format!("moved {p}"));
        bound.push((t, format!("moved {p}")));
    }
    // Same record sealed twice (same id): swapping envelopes fails.
    let twin = f.seal_a(&rec, "rec-1");
    let mut t = sealed.clone();
    set(&mut t, "/_phiseal", twin["_phiseal"].clone());
    check(&t, "envelope of the twin");
    // The envelope of another record names another record id (step 3).
    let mut t = sealed.clone();
    set(&mut t, "/_phiseal", other["_phiseal"].clone());
    assert_eq!(code(f.open(&t, "rec-1")), ErrorCode::ContextMismatch, "envelope of another record");
    assert_eq!(code(f.open(&t, "rec-2")), ErrorCode::InvalidSignature, "envelope of another record, its id");
    // Delete a sealed field (every one in turn).
    for p in POINTERS {
        let mut t = sealed.clone();
        let (parent, key) = p.rsplit_once('/').unwrap();
        t.pointer_mut(parent).unwrap().as_object_mut().unwrap().remove(key);
        check(&t, &format!("deleted {p}"));
    }
    // Null a container holding PHI.
    let mut t = sealed.clone();
    set(&mut t, "/patient", Value::Null);
    check(&t, "patient nulled");
    // Add a sealed string at an array element that was not there.
    let mut t = sealed.clone();
    let code0 = sealed["diagnoses"][0]["code"].clone();
    t.pointer_mut("/diagnoses").unwrap().as_array_mut().unwrap().push(support_json::obj(&[("code", &code0)]));
    check(&t, "added element");
    let mut t = sealed.clone();
    set(&mut t, "/diagnoses/2/detail", sealed["diagnoses"][0]["detail"].clone());
    check(&t, "added detail");
    bound.push((t, "added detail (random field at another pointer)".to_owned()));
    let mut t = sealed.clone();
    t.pointer_mut("/diagnoses").unwrap().as_array_mut().unwrap().pop();
    check(&t, "removed element");
    // Replace a sealed field by plaintext (strings, other types, other prefixes).
    for p in POINTERS {
        for v in [json!("plain"), json!(12345), json!(null), json!({"a": 1}), json!(["x"]), json!("phs2.AAAA")] {
            let mut t = sealed.clone();
            set(&mut t, p, v.clone());
            check(&t, &format!("plaintext {v} at {p}"));
            bound.push((t, format!("plaintext {v} at {p}")));
        }
    }
    for p in ["/notes", "/billing/card"] {
        let mut t = sealed.clone();
        let body = s(&sealed, p)[5..].to_owned();
        set(&mut t, p, Value::String(format!("phs2.{body}")));
        check(&t, "phs2");
        bound.push((t, format!("phs2 at {p}")));
    }
    // v2: clear members are signed too (FORMAT.md §5.2 content_digest).
    let mut t = sealed.clone();
    support_json::put(&mut t, "visit", json!(4));
    check(&t, "clear member changed");
    let mut t = sealed.clone();
    set(&mut t, "/patient/age", json!(37));
    check(&t, "nested clear member changed");

    // Behind the signature: signed by the author, still refused by the fields.
    for (t, what) in &bound {
        assert_eq!(code(f.open(&author.sign(t), "rec-1")), ErrorCode::DecryptFailed, "signed: {what}");
    }
}

/// docs/FORMAT.md §5.3: deterministic strings are bound to schema id and
/// path only (equal values give equal strings across records). Moving one
/// between elements of a path or between records is refused by the content
/// digest under the author's signature; only the author can make such a
/// record, and then it opens (pinned below: that is the documented limit).
#[test]
fn deterministic_strings_cannot_move_between_elements_or_records() {
    let f = fx();
    let sealed = f.seal_a(&record(), "rec-1");
    let author = Resigner::new(&sealed, &f.schema, &f.a, &f.author);
    let mut swapped = sealed.clone();
    set(&mut swapped, "/diagnoses/0/code", sealed["diagnoses"][1]["code"].clone());
    set(&mut swapped, "/diagnoses/1/code", sealed["diagnoses"][0]["code"].clone());
    assert_eq!(code(f.open(&swapped, "rec-1")), ErrorCode::InvalidSignature, "swapped between elements");
    let mut other_rec = record();
    set(&mut other_rec, "/patient/name", json!("Grace Hopper"));
    let other = f.seal_a(&other_rec, "rec-2");
    let mut copied = sealed.clone();
    set(&mut copied, "/patient/name", other["patient"]["name"].clone());
    assert_eq!(code(f.open(&copied, "rec-1")), ErrorCode::InvalidSignature, "copied from another record");
    // Equal values still give equal strings across records (the point of the mode).
    let twin = f.seal_a(&record(), "rec-3");
    assert_eq!(twin["patient"]["name"], sealed["patient"]["name"]);
    // Nor to another path, nor as an extra field.
    let mut other_path = sealed.clone();
    set(&mut other_path, "/patient/name", sealed["diagnoses"][0]["code"].clone());
    assert_eq!(code(f.open(&other_path, "rec-1")), ErrorCode::InvalidSignature);
    let mut t = sealed.clone();
    set(&mut t, "/diagnoses/2/code", Value::Null);
    t.pointer_mut("/diagnoses")
        .unwrap()
        .as_array_mut()
        .unwrap()
        .push(support_json::obj(&[("code", &sealed["diagnoses"][2]["code"])]));
    assert_eq!(code(f.open(&t, "rec-1")), ErrorCode::InvalidSignature);

    // The documented limit, behind the signature: the author can move them
    // within a path (SIV binds the path, not the pointer), never to another path.
    let opened = f.open(&author.sign(&swapped), "rec-1").unwrap();
    assert_eq!(opened.record["diagnoses"][0]["code"], json!("E11.9"));
    assert_eq!(opened.record["diagnoses"][1]["code"], json!("I10"));
    assert_eq!(f.open(&author.sign(&copied), "rec-1").unwrap().record["patient"]["name"], json!("Grace Hopper"));
    assert_eq!(code(f.open(&author.sign(&other_path), "rec-1")), ErrorCode::DecryptFailed);
}

#[test]
fn wrong_schema_on_open() {
    let f = fx();
    let sealed = f.seal_a(&record(), "rec");
    let exp = f.expect("rec");
    // v2: another schema id, version or group set is CONTEXT_MISMATCH (§5.4 step 2).
    let other_id = schema(&SCHEMA.replace("\"intake\"", "\"intake2\"")).unwrap();
    let other_version = schema(&SCHEMA.replace("\"version\":3", "\"version\":4")).unwrap();
    let regrouped = schema(&SCHEMA.replace(r#""group":"billing""#, r#""group":"finance""#)).unwrap();
    for sc in [&other_id, &other_version, &regrouped] {
        assert_eq!(code(field::open_record(&sealed, sc, &f.a, Some(&f.ik), &exp)), ErrorCode::ContextMismatch);
        let rewrapped = field::rewrap_record(&sealed, sc, &f.a, &[all(&f.a)], &exp, &f.author);
        assert_eq!(code(rewrapped), ErrorCode::ContextMismatch);
    }
    // Same id, version and groups, another mode: the field does not open.
    let remoded =
        schema(&SCHEMA.replace(r#""notes": {"mode":"random""#, r#""notes": {"mode":"deterministic""#)).unwrap();
    assert_eq!(code(field::open_record(&sealed, &remoded, &f.a, Some(&f.ik), &exp)), ErrorCode::DecryptFailed);
    // Same id, version and groups, one field fewer: v2 binds the schema by
    // id, version and groups only (the field set is no longer digested), so
    // this opens, and the field that schema does not name is returned as
    // it is, still sealed (nothing in plaintext).
    let fewer = schema(&SCHEMA.replace(r#""notes": {"mode":"random","group":"clinical"},"#, "")).unwrap();
    let opened = field::open_record(&sealed, &fewer, &f.a, Some(&f.ik), &exp).unwrap();
    assert_eq!(opened.record["notes"], sealed["notes"]);
    assert!(s(&opened.record, "/notes").starts_with("phs1."));
    assert_eq!(opened.record["patient"], record()["patient"]);
    // Structure that does not match the schema: changed content (step 5);
    // signed by the author, the schema walk refuses it.
    let author = Resigner::new(&sealed, &f.schema, &f.a, &f.author);
    let mut t = sealed.clone();
    support_json::put(&mut t, "patient", json!("Ada"));
    assert_eq!(code(f.open(&t, "rec")), ErrorCode::InvalidSignature);
    assert_eq!(code(f.open(&author.sign(&t), "rec")), ErrorCode::InvalidArgument);
    let mut t = sealed.clone();
    support_json::put(&mut t, "diagnoses", json!({"0": {"code": "x"}}));
    assert_eq!(code(f.open(&t, "rec")), ErrorCode::InvalidSignature);
    assert_eq!(code(f.open(&author.sign(&t), "rec")), ErrorCode::InvalidArgument);
}

// ---------------------------------------------------------------- plan APIs

#[test]
fn plan_apis_check_their_results() {
    let f = fx();
    let rec = record();
    let author_pk = f.author.verifying_key();
    let opts = SealOptions::new("rec", vec![all(&f.a), only(&f.b, &["billing"])], CREATED);
    let (plan, jobs) = field::plan_seal(&rec, &f.schema, &opts, Some(&f.ik), &author_pk).unwrap();
    assert_eq!(jobs.len(), 3); // billing: A, B; clinical: A
    let wrapped: Vec<_> = jobs.iter().map(|j| j.run().unwrap()).collect();
    assert_eq!(code(plan.finish(&wrapped[..2])), ErrorCode::InvalidArgument);
    let sign_plan = || {
        let (plan, jobs) = field::plan_seal(&rec, &f.schema, &opts, Some(&f.ik), &author_pk).unwrap();
        plan.finish(&jobs.iter().map(WrapJob::run).collect::<phiseal::Result<Vec<_>>>().unwrap()).unwrap()
    };
    // The signing step: the message is the labelled header ‖ wraps, the
    // signature by the author the header names.
    let plan = sign_plan();
    assert_eq!(plan.author(), &author_pk.thumbprint());
    let message = plan.message();
    let signature = f.author.sign(&message).unwrap();
    let sealed = plan.finish(&signature).unwrap();
    let bytes = envelope_bytes(&sealed);
    assert_eq!(message, labelled(b"phiseal-record-v2 signature", &bytes[..bytes.len() - 96]));
    assert_eq!(bytes[bytes.len() - 96..], signature);
    assert!(sign::verify_p1363(&author_pk, &message, &signature).is_ok());
    assert_eq!(f.open(&sealed, "rec").unwrap().record, rec);
    assert_eq!(code(sign_plan().finish(&signature[..95])), ErrorCode::InvalidArgument);
    let other = SigningKey::generate().unwrap();
    assert_eq!(code(sign_plan().sign(&other)), ErrorCode::InvalidArgument);
    // A signature by another key over the right message: refused on open.
    let plan = sign_plan();
    let m = plan.message();
    let forged = plan.finish(&other.sign(&m).unwrap()).unwrap();
    assert_eq!(code(f.open(&forged, "rec")), ErrorCode::InvalidSignature);
    // Swapped wraps, signed by the author: the signature holds, the unwraps fail.
    let (plan, jobs) = field::plan_seal(&rec, &f.schema, &opts, Some(&f.ik), &author_pk).unwrap();
    let mut wrapped = jobs.iter().map(WrapJob::run).collect::<phiseal::Result<Vec<_>>>().unwrap();
    wrapped.swap(0, 1); // A's and B's billing wraps exchanged
    let swapped = plan.finish(&wrapped).unwrap().sign(&f.author).unwrap();
    assert_eq!(code(f.open(&swapped, "rec")), ErrorCode::DecryptFailed);
    assert_eq!(code(f.open_by(&f.b, &swapped, "rec", None)), ErrorCode::DecryptFailed);

    let sealed = f.seal(&rec, "rec");
    let exp = f.expect("rec");
    let plan_open = || field::plan_open(&sealed, &f.schema, f.a.public_key(), &exp).unwrap();
    let (plan, verify, jobs) = plan_open();
    assert_eq!(plan.groups(), ["billing", "clinical"]);
    assert_eq!(plan.header(), &field::inspect(&sealed).unwrap());
    let verified = verify.run().unwrap();
    let deks: Vec<_> = jobs.iter().map(|j| j.run(&f.a).unwrap()).collect();
    assert_eq!(code(plan.finish(&f.schema, &verified, &deks[..1], Some(&f.ik))), ErrorCode::InvalidArgument);
    let short = vec![Zeroizing::new(vec![0u8; 31]), deks[1].clone()];
    assert_eq!(code(plan_open().0.finish(&f.schema, &verified, &short, Some(&f.ik))), ErrorCode::DecryptFailed);
    // Right length, wrong keys: the key commitments refuse them.
    let reversed = vec![deks[1].clone(), deks[0].clone()];
    assert_eq!(code(plan_open().0.finish(&f.schema, &verified, &reversed, Some(&f.ik))), ErrorCode::DecryptFailed);
    // The proof of another record's signature is not this one's.
    let twin = f.seal(&rec, "rec");
    let (_, twin_verify, _) = field::plan_open(&twin, &f.schema, f.a.public_key(), &exp).unwrap();
    let twin_verified = twin_verify.run().unwrap();
    assert_eq!(code(plan_open().0.finish(&f.schema, &twin_verified, &deks, Some(&f.ik))), ErrorCode::InvalidSignature);
    // The verify job fails for another key or a changed signature or message.
    let mut bad = verify.clone();
    bad.signature[5] ^= 1;
    assert_eq!(code(bad.run()), ErrorCode::InvalidSignature);
    let mut bad = verify.clone();
    bad.key = other.verifying_key();
    assert_eq!(code(bad.run()), ErrorCode::InvalidSignature);
    let mut bad = verify.clone();
    bad.message[40] ^= 1;
    assert_eq!(code(bad.run()), ErrorCode::InvalidSignature);
    // An unwrap job run with the wrong private key.
    assert_eq!(code(jobs[0].run(&f.b)), ErrorCode::DecryptFailed);
    let opened = plan_open().0.finish(&f.schema, &verified, &deks, Some(&f.ik)).unwrap();
    assert_eq!(opened.record, rec);
    assert_eq!(opened.digest, version_digest(&sealed));
}

// ---------------------------------------------------------------- rewrap and rekey

#[test]
fn rewrap_changes_recipients_not_fields() {
    let f = fx();
    let rec = record();
    let sealed = f.seal(&rec, "rec");
    let c = PrivateKey::generate().unwrap();
    let rewrapped = f.rewrap(&sealed, &f.a, &[all(&c), only(&f.b, &["billing"])], "rec").unwrap();
    for p in POINTERS {
        assert_eq!(s(&rewrapped, p), s(&sealed, p), "{p} changed");
    }
    assert_ne!(s(&rewrapped, "/_phiseal"), s(&sealed, "/_phiseal"));
    let h = field::inspect(&rewrapped).unwrap();
    assert_eq!(h.epoch, 1);
    assert_eq!(h.created, CREATED);
    assert_eq!(f.open_by(&c, &rewrapped, "rec", Some(&f.ik)).unwrap().record, rec);
    assert_eq!(code(f.open(&rewrapped, "rec")), ErrorCode::NotRecipient);
    let by_b = f.open_by(&f.b, &rewrapped, "rec", None).unwrap();
    assert_eq!(by_b.record["billing"], rec["billing"]);
    // The old envelope still opens the (unchanged) fields: rewrap is not
    // revocation, though a reader that asks for the new version refuses it.
    assert_eq!(f.open(&sealed, "rec").unwrap().record, rec);
    let newest = Expected { min_version: 2, ..f.expect("rec") };
    assert_eq!(code(field::open_record(&sealed, &f.schema, &f.a, Some(&f.ik), &newest)), ErrorCode::StaleVersion);

    // B holds only billing: cannot rewrap or rekey. A stranger is no recipient.
    assert_eq!(code(f.rewrap(&sealed, &f.b, &[all(&f.b)], "rec")), ErrorCode::Misuse);
    assert_eq!(code(f.rekey(&sealed, &f.b, &[all(&f.b)], "rec", CREATED)), ErrorCode::Misuse);
    assert_eq!(code(field::plan_rewrap(&sealed, &f.schema, f.b.public_key(), &f.expect("rec"))), ErrorCode::Misuse);
    let stranger = PrivateKey::generate().unwrap();
    assert_eq!(code(f.rewrap(&sealed, &stranger, &[all(&f.a)], "rec")), ErrorCode::NotRecipient);
    // A tampered record is not rewrapped (v2: refused by its content digest),
    // nor one whose author is not trusted, nor another record.
    let mut t = sealed.clone();
    set(&mut t, "/notes", sealed["billing"]["card"].clone());
    assert_eq!(code(f.rewrap(&t, &f.a, &[all(&f.a)], "rec")), ErrorCode::InvalidSignature);
    assert_eq!(code(f.rekey(&t, &f.a, &[all(&f.a)], "rec", CREATED)), ErrorCode::InvalidSignature);
    assert_eq!(code(f.rewrap(&sealed, &f.a, &[all(&f.a)], "other")), ErrorCode::ContextMismatch);
    let strangers = [SigningKey::generate().unwrap().verifying_key()];
    let untrusted = Expected::new("rec", &strangers);
    let r = field::rewrap_record(&sealed, &f.schema, &f.a, &[all(&f.a)], &untrusted, &f.author);
    assert_eq!(code(r), ErrorCode::UntrustedAuthor);
}

#[test]
fn rekey_rotates_data_keys() {
    let f = fx();
    let rec = record();
    let sealed = f.seal(&rec, "rec");
    assert_eq!(field::inspect(&sealed).unwrap().epoch, 1);
    let rekeyed = f.rekey(&sealed, &f.a, &[all(&f.a)], "rec", CREATED).unwrap();
    let h = field::inspect(&rekeyed).unwrap();
    assert_eq!(h.epoch, 2);
    assert_eq!(h.record_id, "rec");
    assert_eq!(f.open(&rekeyed, "rec").unwrap().record, rec);
    assert_eq!(f.open(&rekeyed, "rec").unwrap().header.epoch, 2);
    assert_eq!(code(f.open_by(&f.b, &rekeyed, "rec", None)), ErrorCode::NotRecipient);
    for p in ["/notes", "/billing/card", "/diagnoses/0/detail", "/diagnoses/1/detail"] {
        assert_ne!(s(&rekeyed, p), s(&sealed, p), "{p} not re-encrypted");
    }
    for p in ["/patient/name", "/diagnoses/0/code", "/diagnoses/1/code", "/diagnoses/2/code"] {
        assert_eq!(s(&rekeyed, p), s(&sealed, p), "{p} deterministic changed");
    }
    for p in ["/patient/ssn", "/billing/account"] {
        let (i_old, c_old) = blind_parts(&s(&sealed, p));
        let (i_new, c_new) = blind_parts(&s(&rekeyed, p));
        assert_eq!(i_old, i_new, "{p} index changed");
        assert_ne!(c_old, c_new, "{p} ciphertext unchanged");
    }
    // Old envelope with new fields, and new envelope with old fields, both
    // fail (v2: the content digest, before any key is unwrapped).
    let mut t = rekeyed.clone();
    set(&mut t, "/_phiseal", sealed["_phiseal"].clone());
    assert_eq!(code(f.open(&t, "rec")), ErrorCode::InvalidSignature);
    let mut t = sealed.clone();
    set(&mut t, "/_phiseal", rekeyed["_phiseal"].clone());
    assert_eq!(code(f.open(&t, "rec")), ErrorCode::InvalidSignature);
    // One old random field spliced into the rekeyed record fails; signed by
    // the author, it still does not open under the new data key and epoch.
    let mut t = rekeyed.clone();
    set(&mut t, "/notes", sealed["notes"].clone());
    assert_eq!(code(f.open(&t, "rec")), ErrorCode::InvalidSignature);
    let author = Resigner::new(&rekeyed, &f.schema, &f.a, &f.author);
    assert_eq!(code(f.open(&author.sign(&t), "rec")), ErrorCode::DecryptFailed);
    // Again: epoch 3.
    let again = f.rekey(&rekeyed, &f.a, &[all(&f.a), only(&f.b, &["billing"])], "rec", CREATED).unwrap();
    assert_eq!(field::inspect(&again).unwrap().epoch, 3);
    assert_eq!(f.open_by(&f.b, &again, "rec", None).unwrap().record["billing"], rec["billing"]);
}

#[test]
fn needs_rotation_is_false_after_rekey() {
    let f = fx();
    let now = CREATED + 400 * 86_400;
    let sealed = f.seal_a(&record(), "rec");
    assert!(field::needs_rotation(&sealed, 90, now).unwrap());
    let rekeyed = f.rekey(&sealed, &f.a, &[all(&f.a)], "rec", now).unwrap();
    assert!(!field::needs_rotation(&rekeyed, 90, now).unwrap(), "fresh data keys reported as old");
}

// ---------------------------------------------------------------- index key

#[test]
fn index_key_seal_and_open() {
    let f = fx();
    let c = PrivateKey::generate().unwrap();
    let recipients: Vec<PublicKey> = vec![*f.a.public_key(), *f.b.public_key()];
    let author_pk = f.author.verifying_key();
    let jobs = f.ik.plan_seal(&recipients, &author_pk).unwrap();
    assert_eq!(jobs.len(), 2);
    let wrapped: Vec<_> = jobs.iter().map(|j| j.run().unwrap()).collect();
    let plan = f.ik.finish_seal(&recipients, &author_pk, &wrapped).unwrap();
    assert_eq!(plan.author(), &author_pk.thumbprint());
    let signature = f.author.sign(&plan.message()).unwrap();
    let sealed = plan.finish(&signature).unwrap();
    assert!(sealed.starts_with("phk2."));
    assert_eq!(code(f.ik.finish_seal(&recipients, &author_pk, &wrapped[..1])), ErrorCode::InvalidArgument);
    let plan = f.ik.finish_seal(&recipients, &author_pk, &wrapped).unwrap();
    assert_eq!(code(plan.finish(&signature[..95])), ErrorCode::InvalidArgument);
    assert_eq!(code(f.ik.plan_seal(&[], &author_pk)), ErrorCode::InvalidArgument);
    assert_eq!(code(f.ik.plan_seal(&[*f.a.public_key(), *f.a.public_key()], &author_pk)), ErrorCode::InvalidArgument);
    assert_eq!(code(f.ik.seal(&[*f.b.public_key(), *f.b.public_key()], &f.author)), ErrorCode::InvalidArgument);
    let sealed_by_seal = f.ik.seal(&recipients, &f.author).unwrap();
    assert!(sealed_by_seal.starts_with("phk2."));

    for key in [&f.a, &f.b] {
        for sealed in [&sealed, &sealed_by_seal] {
            let opened = IndexKey::open(sealed, key, &f.authors).unwrap();
            assert_eq!(opened.id(), f.ik.id());
            assert_eq!(opened.id_string(), f.ik.id_string());
            assert_eq!(opened.commitment(), f.ik.commitment());
            for (path, v) in
                [("patient.name", json!("Ada")), ("patient.ssn", json!("1")), ("billing.account", json!(7))]
            {
                assert_eq!(
                    field::search_token(&f.schema, path, &v, &opened).unwrap(),
                    field::search_token(&f.schema, path, &v, &f.ik).unwrap()
                );
            }
            // The opened key opens records sealed with the original.
            let rec = f.seal_a(&record(), "rec");
            assert_eq!(f.open_by(&f.a, &rec, "rec", Some(&opened)).unwrap().record, record());
        }
    }
    assert_eq!(code(IndexKey::plan_open(&sealed, c.public_key(), &f.authors)), ErrorCode::NotRecipient);
    let strangers = [SigningKey::generate().unwrap().verifying_key()];
    assert_eq!(code(IndexKey::plan_open(&sealed, f.a.public_key(), &strangers)), ErrorCode::UntrustedAuthor);
    assert_eq!(code(IndexKey::plan_open(&sealed, f.a.public_key(), &[])), ErrorCode::UntrustedAuthor);
    let plan_open = || IndexKey::plan_open(&sealed, f.a.public_key(), &f.authors).unwrap();
    let (_, verify, job) = plan_open();
    let verified = verify.run().unwrap();
    let secret = job.run(&f.a).unwrap();
    assert_eq!(code(job.run(&f.b)), ErrorCode::DecryptFailed);
    assert_eq!(code(plan_open().0.finish(&verified, &secret[..31])), ErrorCode::DecryptFailed);
    // A 32-byte secret that is not the committed key.
    assert_eq!(code(plan_open().0.finish(&verified, &[0u8; 32])), ErrorCode::DecryptFailed);
    // The proof of another sealed key's signature.
    let (_, other_verify, _) = IndexKey::plan_open(&sealed_by_seal, f.a.public_key(), &f.authors).unwrap();
    assert_eq!(code(plan_open().0.finish(&other_verify.run().unwrap(), &secret)), ErrorCode::InvalidSignature);
    assert_eq!(plan_open().0.finish(&verified, &secret).unwrap().commitment(), f.ik.commitment());
    // Signed by another key than the author it names.
    let plan = f.ik.finish_seal(&recipients, &author_pk, &wrapped).unwrap();
    let m = plan.message();
    let forged = plan.finish(&SigningKey::generate().unwrap().sign(&m).unwrap()).unwrap();
    assert_eq!(code(IndexKey::open(&forged, &f.a, &f.authors)), ErrorCode::InvalidSignature);

    // Version 1 and any other version are refused; malformed strings too.
    for prefix in ["phk1.", "phk3."] {
        let other = format!("{prefix}{}", &sealed[5..]);
        assert_eq!(code(IndexKey::plan_open(&other, f.a.public_key(), &f.authors)), ErrorCode::Unsupported);
    }
    let me = f.a.public_key();
    assert_eq!(code(IndexKey::plan_open("xyz", me, &f.authors)), ErrorCode::MalformedInput);
    assert_eq!(code(IndexKey::plan_open(&sealed[..sealed.len() - 3], me, &f.authors)), ErrorCode::MalformedInput);
    assert_eq!(code(IndexKey::plan_open(&format!("{sealed}AAAA"), me, &f.authors)), ErrorCode::MalformedInput);
}

#[test]
fn tampered_index_key_fails() {
    let f = fx();
    let sealed = f.ik.seal(&[*f.a.public_key()], &f.author).unwrap();
    let open = |s: &str| IndexKey::open(s, &f.a, &f.authors);
    assert_eq!(open(&sealed).unwrap().id(), f.ik.id());
    // Character level: never Ok, and refused before any key is unwrapped.
    for i in 0..sealed.len() {
        let c = code(open(&replace_char(&sealed, i)));
        assert!(
            [
                ErrorCode::MalformedInput,
                ErrorCode::Unsupported,
                ErrorCode::UntrustedAuthor,
                ErrorCode::NotRecipient,
                ErrorCode::InvalidSignature,
            ]
            .contains(&c),
            "char {i}: {c:?}"
        );
    }
    // Byte level, by region (FORMAT.md §5.5): version, id, commitment,
    // author, count, kid, enc, ct, signature.
    let bytes = Base64UrlUnpadded::decode_vec(&sealed[5..]).unwrap();
    assert_eq!(bytes.len(), 1 + 16 + 32 + 32 + 1 + 32 + 97 + 48 + 96);
    for i in 0..bytes.len() {
        let mut b = bytes.clone();
        b[i] ^= 0x01;
        let c = code(open(&format!("phk2.{}", b64(&b))));
        let expected = match i {
            0 => ErrorCode::Unsupported,
            49..=80 => ErrorCode::UntrustedAuthor,
            81 => ErrorCode::MalformedInput, // one recipient becomes none
            82..=113 => ErrorCode::NotRecipient,
            // id, commitment, wraps, signature: all signed.
            _ => ErrorCode::InvalidSignature,
        };
        assert_eq!(c, expected, "byte {i}");
    }
}

#[test]
fn index_key_debug_does_not_print_the_key() {
    let f = fx();
    let sealed = f.ik.seal(&[*f.a.public_key()], &f.author).unwrap();
    let (_, _, job) = IndexKey::plan_open(&sealed, f.a.public_key(), &f.authors).unwrap();
    let secret = job.run(&f.a).unwrap();
    assert_eq!(secret.len(), 32);
    let debug = format!("{:?} {:#?}", f.ik, f.ik);
    assert!(debug.contains("IndexKey"));
    assert!(debug.contains(&f.ik.id_string()));
    let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    let hex_upper = hex.to_uppercase();
    let b64 = Base64UrlUnpadded::encode_string(&secret);
    let array = format!("{:?}", &secret[..]);
    let array_start = format!("{:?}", &secret[..4]);
    let array_start = array_start.trim_end_matches(']');
    for leak in [hex.as_str(), hex_upper.as_str(), b64.as_str(), array.as_str(), array_start] {
        assert!(!debug.contains(leak), "Debug prints the key: {debug}");
    }
    assert!(!debug.contains("key:"), "{debug}");
}

// ---------------------------------------------------------------- rotation, PHI check, redaction

#[test]
fn needs_rotation_by_age_and_for_unsealed_records() {
    let f = fx();
    let sealed = f.seal_a(&record(), "rec");
    let day = 86_400;
    assert!(!field::needs_rotation(&sealed, 90, CREATED).unwrap());
    assert!(!field::needs_rotation(&sealed, 90, CREATED + 90 * day).unwrap());
    assert!(field::needs_rotation(&sealed, 90, CREATED + 90 * day + 1).unwrap());
    assert!(field::needs_rotation(&sealed, 0, CREATED + 1).unwrap());
    assert!(!field::needs_rotation(&sealed, 0, CREATED).unwrap());
    assert!(!field::needs_rotation(&sealed, 90, 0).unwrap()); // clock before creation
    assert!(field::needs_rotation(&sealed, u32::MAX, u64::MAX).unwrap()); // no overflow
    let opts = SealOptions::new("old", vec![all(&f.a)], 1_000);
    let old = f.seal_opts(&record(), &opts);
    assert!(field::needs_rotation(&old, 365, CREATED).unwrap());
    assert_eq!(field::inspect(&old).unwrap().created, 1_000);
    // Not sealed at all.
    assert!(field::needs_rotation(&record(), 90, CREATED).unwrap());
    assert!(field::needs_rotation(&json!({}), 90, CREATED).unwrap());
    // Broken envelopes and non-records are errors, not "rotate".
    let mut t = sealed.clone();
    support_json::put(&mut t, "_phiseal", json!("phe2.Ag")); // version 2, then truncated
    assert_eq!(code(field::needs_rotation(&t, 90, CREATED)), ErrorCode::MalformedInput);
    support_json::put(&mut t, "_phiseal", json!("phe1.AQ")); // version 1 is no longer read
    assert_eq!(code(field::needs_rotation(&t, 90, CREATED)), ErrorCode::Unsupported);
    support_json::put(&mut t, "_phiseal", json!(7));
    assert_eq!(code(field::needs_rotation(&t, 90, CREATED)), ErrorCode::MalformedInput);
    support_json::put(&mut t, "_phiseal", json!("phe9.AAAA"));
    assert_eq!(code(field::needs_rotation(&t, 90, CREATED)), ErrorCode::Unsupported);
    assert_eq!(code(field::needs_rotation(&json!([1]), 90, CREATED)), ErrorCode::InvalidArgument);
}

#[test]
fn verify_all_phi_encrypted_lists_plaintext_pointers() {
    let f = fx();
    let rec = record();
    assert_eq!(field::verify_all_phi_encrypted(&rec, &f.schema).unwrap(), POINTERS);
    let sealed = f.seal(&rec, "rec");
    assert!(field::verify_all_phi_encrypted(&sealed, &f.schema).unwrap().is_empty());
    // After opening with locked fields, only the opened ones are plaintext.
    let by_b = f.open_by(&f.b, &sealed, "rec", None).unwrap();
    assert_eq!(
        field::verify_all_phi_encrypted(&by_b.record, &f.schema).unwrap(),
        ["/billing/account", "/billing/card"]
    );

    let mut t = sealed.clone();
    set(&mut t, "/diagnoses/1/code", json!("E11.9"));
    assert_eq!(field::verify_all_phi_encrypted(&t, &f.schema).unwrap(), ["/diagnoses/1/code"]);
    // Wrong mode prefixes are listed: random string at a deterministic field, and so on.
    let mut t = sealed.clone();
    set(&mut t, "/patient/name", sealed["notes"].clone());
    set(&mut t, "/notes", sealed["patient"]["ssn"].clone());
    set(&mut t, "/patient/ssn", sealed["patient"]["name"].clone());
    set(&mut t, "/diagnoses/0/detail", json!(null));
    set(&mut t, "/billing/card", json!(4111));
    assert_eq!(
        field::verify_all_phi_encrypted(&t, &f.schema).unwrap(),
        ["/billing/card", "/diagnoses/0/detail", "/notes", "/patient/name", "/patient/ssn"]
    );
    assert!(field::verify_all_phi_encrypted(&json!({"visit": 1}), &f.schema).unwrap().is_empty());
    assert_eq!(code(field::verify_all_phi_encrypted(&json!([]), &f.schema)), ErrorCode::InvalidArgument);
    assert_eq!(code(field::verify_all_phi_encrypted(&json!({"patient": "x"}), &f.schema)), ErrorCode::InvalidArgument);
}

#[test]
fn json_pointers_escape_slash_and_tilde() {
    let sc = schema(
        r#"{"id":"esc","version":1,"fields":{"a/b":{"group":"g1"},"x~y.z":{"group":"g1"},"list[].~/":{"group":"g1"},"ok":{"group":"g2"}}}"#,
    )
    .unwrap();
    let rec =
        json!({"a/b": "one", "x~y": {"z": "two"}, "list": [{"~/": 1}, {"~/": 2}], "ok": 0, "a": {"b": "not phi"}});
    assert_eq!(
        field::verify_all_phi_encrypted(&rec, &sc).unwrap(),
        ["/a~1b", "/list/0/~0~1", "/list/1/~0~1", "/ok", "/x~0y/z"]
    );
    let a = PrivateKey::generate().unwrap();
    let b = PrivateKey::generate().unwrap();
    let author = SigningKey::generate().unwrap();
    let authors = [author.verifying_key()];
    let exp = Expected::new("rec", &authors);
    let opts = SealOptions::new("rec", vec![all(&a), only(&b, &["g2"])], CREATED);
    let sealed = field::seal_record(&rec, &sc, &opts, None, &author).unwrap();
    assert_eq!(sealed["a"]["b"], json!("not phi"));
    assert!(s(&sealed, "/a~1b").starts_with("phs1."));
    assert!(s(&sealed, "/list/1/~0~1").starts_with("phs1."));
    let by_b = field::open_record(&sealed, &sc, &b, None, &exp).unwrap();
    let pointers: Vec<&str> = by_b.locked.iter().map(|l| l.pointer.as_str()).collect();
    assert_eq!(pointers, ["/a~1b", "/list/0/~0~1", "/list/1/~0~1", "/x~0y/z"]);
    assert!(by_b.locked.iter().all(|l| l.reason == "g1"));
    for p in &pointers {
        assert_eq!(s(&by_b.record, p), s(&sealed, p));
    }
    assert_eq!(field::open_record(&sealed, &sc, &a, None, &exp).unwrap().record, rec);
    // Swapping the escaped key's field with the nested one fails: the
    // content digest; signed by the author, the AAD (pointers are in it).
    let swap = |sealed: &Value| {
        let mut t = sealed.clone();
        set(&mut t, "/a~1b", sealed["x~y"]["z"].clone());
        set(&mut t, "/x~0y/z", sealed["a/b"].clone());
        t
    };
    assert_eq!(code(field::open_record(&swap(&sealed), &sc, &a, None, &exp)), ErrorCode::InvalidSignature);
    let sealed_a =
        field::seal_record(&rec, &sc, &SealOptions::new("rec", vec![all(&a)], CREATED), None, &author).unwrap();
    let signed = Resigner::new(&sealed_a, &sc, &a, &author).sign(&swap(&sealed_a));
    assert_eq!(code(field::open_record(&signed, &sc, &a, None, &exp)), ErrorCode::DecryptFailed);
}

#[test]
fn redact_replaces_phi_and_envelope_keeps_structure() {
    let f = fx();
    let rec = record();
    let r = "[REDACTED]";
    let expected = json!({
        "patient": {"ssn": r, "name": r, "age": 36},
        "notes": r,
        "diagnoses": [{"code": r, "detail": r}, {"code": r, "detail": r}, {"code": r}],
        "billing": {"card": r, "account": r},
        "visit": 3
    });
    assert_eq!(field::redact(&rec, &f.schema), expected);
    let sealed = f.seal(&rec, "rec");
    let mut expected_sealed = expected.clone();
    support_json::put(&mut expected_sealed, "_phiseal", json!(r));
    assert_eq!(field::redact(&sealed, &f.schema), expected_sealed);
    // Mismatching structure is redacted whole; null containers and absent fields stay.
    let odd = json!({"patient": "Ada Lovelace 123-45-6789", "diagnoses": {"code": "I10"}, "billing": null, "visit": 1});
    assert_eq!(field::redact(&odd, &f.schema), json!({"patient": r, "diagnoses": r, "billing": null, "visit": 1}));
    let odd = json!({"diagnoses": ["I10", {"code": "x"}, null, 5]});
    assert_eq!(field::redact(&odd, &f.schema), json!({"diagnoses": [r, {"code": r}, null, r]}));
    assert_eq!(field::redact(&json!("free text"), &f.schema), json!(r));
    assert_eq!(field::redact(&json!({"visit": 1}), &f.schema), json!({"visit": 1}));
}

// ---------------------------------------------------------------- version 2: signature, context, versions

#[test]
fn v2_schema_unsigned_members_and_unknown_members() {
    let sc = schema(r#"{"id":"u","version":1,"fields":{"p.q":true},"unsigned":["serverTime","etag"]}"#).unwrap();
    assert_eq!(sc.unsigned(), ["etag", "serverTime"]);
    assert!(schema(SCHEMA).unwrap().unsigned().is_empty());
    assert!(schema(r#"{"id":"u","version":1,"fields":{"a":true},"unsigned":[]}"#).unwrap().unsigned().is_empty());
    let long = format!(r#"{{"id":"u","version":1,"fields":{{"a":true}},"unsigned":["{}"]}}"#, "n".repeat(255));
    assert_eq!(schema(&long).unwrap().unsigned(), ["n".repeat(255)]);
    for unsigned in [
        r#""serverTime""#,
        "null",
        "{}",
        "[1]",
        "[null]",
        r#"[""]"#,
        r#"["_phiseal"]"#,
        r#"["p"]"#,
        r#"["t","x","t"]"#,
        &format!(r#"["{}"]"#, "n".repeat(256)),
    ] {
        let json = format!(r#"{{"id":"u","version":1,"fields":{{"p.q":true,"r[]":true}},"unsigned":{unsigned}}}"#);
        assert_eq!(code(schema(&json)), ErrorCode::InvalidArgument, "unsigned {unsigned}");
    }
    // The first key of an array path is a PHI member too.
    let json = r#"{"id":"u","version":1,"fields":{"r[]":true},"unsigned":["r"]}"#;
    assert_eq!(code(schema(json)), ErrorCode::InvalidArgument);
    // v2 refuses unknown top-level schema members.
    for extra in [r#""extra":1"#, r#""Fields":{}"#, r#""unsigned_":[]"#, r#""$schema":"x""#, r#""groups":[]"#] {
        let json = format!(r#"{{"id":"u","version":1,"fields":{{"a":true}},{extra}}}"#);
        assert_eq!(code(schema(&json)), ErrorCode::InvalidArgument, "{extra}");
    }
}

#[test]
fn v2_round_trip_with_context_and_versions() {
    let f = fx();
    let rec = record();
    let context = ctx(&[("patient", "p-42"), ("table", "intake"), ("tenant", "t1 ✓")]);
    let opts = SealOptions {
        context: context.clone(),
        ..SealOptions::new("rec-1", vec![all(&f.a), only(&f.b, &["billing"])], CREATED)
    };
    let sealed = f.seal_opts(&rec, &opts);
    let exp = Expected { context: context.clone(), ..f.expect("rec-1") };
    let opened = field::open_record(&sealed, &f.schema, &f.a, Some(&f.ik), &exp).unwrap();
    assert_eq!(opened.record, rec);
    assert_eq!(opened.header.context, context);
    assert_eq!(field::inspect(&sealed).unwrap().context, context);
    let by_b = field::open_record(&sealed, &f.schema, &f.b, None, &exp).unwrap();
    assert_eq!(by_b.record["billing"], rec["billing"]);
    // Any other context or record id: CONTEXT_MISMATCH, for every opener
    // (even one that is no recipient: step 3 comes before step 7).
    let stranger = PrivateKey::generate().unwrap();
    for other in [
        Context::new(),
        ctx(&[("patient", "p-43"), ("table", "intake"), ("tenant", "t1 ✓")]),
        ctx(&[("patient", "p-42"), ("table", "intake")]),
        ctx(&[("patient", "p-42"), ("table", "intake"), ("tenant", "t1 ✓"), ("x", "")]),
        ctx(&[("patient", "p-42"), ("table", "intake"), ("tenant", "t1")]),
        ctx(&[("Patient", "p-42"), ("table", "intake"), ("tenant", "t1 ✓")]),
    ] {
        let exp = Expected { context: other.clone(), ..f.expect("rec-1") };
        for key in [&f.a, &f.b, &stranger] {
            let r = field::open_record(&sealed, &f.schema, key, Some(&f.ik), &exp);
            assert_eq!(code(r), ErrorCode::ContextMismatch, "{other:?}");
        }
    }
    for id in ["rec-2", "rec-1 ", "REC-1", "rec", ""] {
        let exp = Expected { context: context.clone(), ..f.expect(id) };
        let r = field::open_record(&sealed, &f.schema, &f.a, Some(&f.ik), &exp);
        assert_eq!(code(r), ErrorCode::ContextMismatch, "{id:?}");
    }
    // A record without a context is opened only with the empty context.
    let plain = f.seal_a(&rec, "rec-1");
    assert_eq!(code(field::open_record(&plain, &f.schema, &f.a, Some(&f.ik), &exp)), ErrorCode::ContextMismatch);
    assert_eq!(f.open(&plain, "rec-1").unwrap().record, rec);

    // A later version names the digest of the one before.
    let d = opened.digest;
    let v7 = f.seal_opts(&rec, &SealOptions { version: 7, previous: Some(d), ..opts.clone() });
    let o7 = field::open_record(&v7, &f.schema, &f.a, Some(&f.ik), &exp).unwrap();
    assert_eq!((o7.header.version, o7.header.previous), (7, Some(d)));
    assert_ne!(o7.digest, d);
    for (version, previous) in [(0, None), (0, Some(d)), (1, Some(d)), (2, None)] {
        let opts = SealOptions { version, previous, ..opts.clone() };
        let r = field::seal_record(&rec, &f.schema, &opts, Some(&f.ik), &f.author);
        assert_eq!(code(r), ErrorCode::InvalidArgument, "version {version}, previous {}", previous.is_some());
    }

    // Context limits (FORMAT.md §5.2): 64 entries, keys 1–255 bytes, values up to 1024 bytes.
    let big: Context = (0..64).map(|i| (format!("{i:03}{}", "k".repeat(252)), "v".repeat(1024))).collect();
    let opts_big = SealOptions { context: big.clone(), ..SealOptions::new("rec-1", vec![all(&f.a)], CREATED) };
    let sealed_big = f.seal_opts(&rec, &opts_big);
    let exp_big = Expected { context: big.clone(), ..f.expect("rec-1") };
    assert_eq!(field::open_record(&sealed_big, &f.schema, &f.a, Some(&f.ik), &exp_big).unwrap().header.context, big);
    let mut too_many = big.clone();
    too_many.insert("one more".to_owned(), String::new());
    for bad in [too_many, ctx(&[("", "v")]), ctx(&[(&"k".repeat(256), "v")]), ctx(&[("k", &"v".repeat(1025))])] {
        let opts = SealOptions { context: bad, ..SealOptions::new("rec-1", vec![all(&f.a)], CREATED) };
        assert_eq!(
            code(field::seal_record(&rec, &f.schema, &opts, Some(&f.ik), &f.author)),
            ErrorCode::InvalidArgument
        );
    }
}

#[test]
fn v2_update_of_chains_versions() {
    let f = fx();
    let context = ctx(&[("patient", "p-1")]);
    let exp = Expected { context: context.clone(), ..f.expect("rec") };
    let open = |v: &Value| field::open_record(v, &f.schema, &f.a, Some(&f.ik), &exp);
    let v1 = f.seal_opts(
        &record(),
        &SealOptions { context: context.clone(), ..SealOptions::new("rec", vec![all(&f.a)], CREATED) },
    );
    let o1 = open(&v1).unwrap();
    assert_eq!((o1.header.version, o1.header.previous), (1, None));
    assert_eq!(o1.digest, version_digest(&v1));

    let mut rec2 = record();
    set(&mut rec2, "/notes", json!("second visit"));
    let opts2 = SealOptions::update_of(&o1, vec![all(&f.a), only(&f.b, &["billing"])], CREATED + 10).unwrap();
    assert_eq!((opts2.version, opts2.previous), (2, Some(o1.digest)));
    assert_eq!((opts2.record_id.as_str(), &opts2.context, opts2.epoch), ("rec", &context, 1));
    let v2 = f.seal_opts(&rec2, &opts2);
    let o2 = open(&v2).unwrap();
    assert_eq!(o2.record, rec2);
    assert_eq!((o2.header.version, o2.header.previous), (2, Some(o1.digest)));
    assert_eq!(o2.header.previous, Some(version_digest(&v1)));
    assert_eq!(o2.header.created, CREATED + 10);
    assert_eq!(o2.digest, version_digest(&v2));

    let mut rec3 = rec2.clone();
    set(&mut rec3, "/visit", json!(4));
    let v3 = f.seal_opts(&rec3, &SealOptions::update_of(&o2, vec![all(&f.a)], CREATED + 20).unwrap());
    let o3 = open(&v3).unwrap();
    assert_eq!(o3.record, rec3);
    assert_eq!((o3.header.version, o3.header.previous), (3, Some(o2.digest)));
    assert_eq!(o3.header.context, context);
    let digests = [o1.digest, o2.digest, o3.digest];
    assert!(digests[0] != digests[1] && digests[1] != digests[2] && digests[0] != digests[2]);

    // A reader that has seen version n refuses anything older (STALE_VERSION).
    for (min, accepted) in
        [(0, [true, true, true]), (1, [true, true, true]), (2, [false, true, true]), (3, [false, false, true])]
    {
        let exp = Expected { context: context.clone(), min_version: min, ..f.expect("rec") };
        for (v, ok) in [&v1, &v2, &v3].into_iter().zip(accepted) {
            let r = field::open_record(v, &f.schema, &f.a, Some(&f.ik), &exp);
            if ok {
                assert!(r.is_ok(), "min {min}");
            } else {
                assert_eq!(code(r), ErrorCode::StaleVersion, "min {min}");
            }
        }
    }
    let exp = Expected { context: context.clone(), min_version: u64::MAX, ..f.expect("rec") };
    assert_eq!(code(field::open_record(&v3, &f.schema, &f.a, Some(&f.ik), &exp)), ErrorCode::StaleVersion);
    // An update of a re-keyed version starts its epochs again (§5.6: fresh data keys).
    let exp = Expected { context: context.clone(), ..f.expect("rec") };
    let rekeyed = field::rekey_record(&v3, &f.schema, &f.a, &[all(&f.a)], &exp, &f.author, CREATED + 30).unwrap();
    let o4 = open(&rekeyed).unwrap();
    assert_eq!((o4.header.version, o4.header.epoch), (4, 2));
    let opts5 = SealOptions::update_of(&o4, vec![all(&f.a)], CREATED + 40).unwrap();
    assert_eq!((opts5.version, opts5.previous, opts5.epoch), (5, Some(o4.digest), 1));
    let o5 = open(&f.seal_opts(&rec3, &opts5)).unwrap();
    assert_eq!((o5.header.version, o5.header.epoch, o5.header.created), (5, 1, CREATED + 40));
    // The version is signed: naming a higher one breaks the signature.
    let mut bytes = envelope_bytes(&v3);
    let at = 7 + 1 + "rec".len() + 1 + "intake".len() + 4 + 7; // last byte of the record version
    assert_eq!(bytes[at], 3);
    bytes[at] = 9;
    assert_eq!(code(open(&with_envelope(&v3, &bytes))), ErrorCode::InvalidSignature);
}

#[test]
fn v2_rewrap_and_rekey_raise_the_version_and_link_it() {
    let f = fx();
    let context = ctx(&[("tenant", "t1")]);
    let v1 = f.seal_opts(
        &record(),
        &SealOptions { context: context.clone(), ..SealOptions::new("rec", vec![all(&f.a)], CREATED) },
    );
    let exp = Expected { context: context.clone(), ..f.expect("rec") };
    let o1 = field::open_record(&v1, &f.schema, &f.a, Some(&f.ik), &exp).unwrap();
    // Rewrapped by another author: version 2, linked, keys and fields kept.
    let rewrapper = SigningKey::generate().unwrap();
    let both = [f.author.verifying_key(), rewrapper.verifying_key()];
    let exp_both = Expected { context: context.clone(), ..Expected::new("rec", &both) };
    let to = [all(&f.a), only(&f.b, &["billing"])];
    let v2 = field::rewrap_record(&v1, &f.schema, &f.a, &to, &exp, &rewrapper).unwrap();
    let h2 = field::inspect(&v2).unwrap();
    assert_eq!((h2.version, h2.previous), (2, Some(o1.digest)));
    assert_eq!((h2.epoch, h2.created, &h2.context), (1, CREATED, &context));
    assert_eq!(h2.author, rewrapper.verifying_key().thumbprint());
    // Signed by the rewrapper: a reader that trusts only the first author refuses it.
    assert_eq!(code(field::open_record(&v2, &f.schema, &f.a, Some(&f.ik), &exp)), ErrorCode::UntrustedAuthor);
    let o2 = field::open_record(&v2, &f.schema, &f.a, Some(&f.ik), &exp_both).unwrap();
    assert_eq!(o2.record, record());
    // Re-keyed: version 3, linked, epoch 2, created now.
    let v3 = field::rekey_record(&v2, &f.schema, &f.a, &[all(&f.a)], &exp_both, &f.author, CREATED + 99).unwrap();
    let h3 = field::inspect(&v3).unwrap();
    assert_eq!((h3.version, h3.previous), (3, Some(o2.digest)));
    assert_eq!((h3.epoch, h3.created, &h3.context), (2, CREATED + 99, &context));
    assert_eq!(h3.author, f.author.verifying_key().thumbprint());
    let o3 = field::open_record(&v3, &f.schema, &f.a, Some(&f.ik), &exp).unwrap();
    assert_eq!(o3.record, record());
    // The same through the plan API.
    let author_pk = f.author.verifying_key();
    let (plan, verify, jobs) = field::plan_rewrap(&v3, &f.schema, f.a.public_key(), &exp).unwrap();
    let verified = verify.run().unwrap();
    let deks: Vec<_> = jobs.iter().map(|j| j.run(&f.a).unwrap()).collect();
    let (seal_plan, wraps) = plan.rewrap(&f.schema, &verified, &deks, &[all(&f.a)], &author_pk).unwrap();
    let wraps = wraps.iter().map(WrapJob::run).collect::<phiseal::Result<Vec<_>>>().unwrap();
    let v4 = seal_plan.finish(&wraps).unwrap().sign(&f.author).unwrap();
    let h4 = field::inspect(&v4).unwrap();
    assert_eq!((h4.version, h4.previous, h4.epoch), (4, Some(o3.digest), 2));
    let (plan, verify, jobs) = field::plan_rewrap(&v4, &f.schema, f.a.public_key(), &exp).unwrap();
    let verified = verify.run().unwrap();
    let deks: Vec<_> = jobs.iter().map(|j| j.run(&f.a).unwrap()).collect();
    // A proof from another plan is refused before anything is re-signed.
    let (other_plan, _, _) = field::plan_rewrap(&v4, &f.schema, f.a.public_key(), &exp).unwrap();
    let (_, v3_verify, _) = field::plan_rewrap(&v3, &f.schema, f.a.public_key(), &exp).unwrap();
    let r = other_plan.rekey(&f.schema, &v3_verify.run().unwrap(), &deks, &[all(&f.a)], &author_pk, CREATED);
    assert_eq!(code(r.map(|_| ())), ErrorCode::InvalidSignature);
    let (seal_plan, wraps) = plan.rekey(&f.schema, &verified, &deks, &[all(&f.a)], &author_pk, CREATED + 200).unwrap();
    let wraps = wraps.iter().map(WrapJob::run).collect::<phiseal::Result<Vec<_>>>().unwrap();
    let v5 = seal_plan.finish(&wraps).unwrap().sign(&f.author).unwrap();
    let h5 = field::inspect(&v5).unwrap();
    assert_eq!((h5.version, h5.previous), (5, Some(version_digest(&v4))));
    assert_eq!((h5.epoch, h5.created), (3, CREATED + 200));
    // Every version links to the one before it.
    let chain = [&v1, &v2, &v3, &v4, &v5];
    for w in chain.windows(2) {
        assert_eq!(field::inspect(w[1]).unwrap().previous, Some(version_digest(w[0])));
    }
    // A reader that saw version 5 refuses every earlier one.
    let newest = Expected { context: context.clone(), min_version: 5, ..Expected::new("rec", &both) };
    for (i, v) in chain.iter().enumerate() {
        let r = field::open_record(v, &f.schema, &f.a, Some(&f.ik), &newest);
        if i == 4 {
            assert_eq!(r.unwrap().record, record());
        } else {
            assert_eq!(code(r), ErrorCode::StaleVersion, "version {}", i + 1);
        }
    }
    // Nothing is rewrapped for another context.
    let wrong = Expected { context: Context::new(), ..f.expect("rec") };
    assert_eq!(
        code(field::rewrap_record(&v5, &f.schema, &f.a, &[all(&f.a)], &wrong, &f.author)),
        ErrorCode::ContextMismatch
    );
}

#[test]
fn v2_unsigned_members_can_change_and_no_other_member_can() {
    let sc = schema(r#"{"id":"u","version":1,"fields":{"ssn":true,"n.x":"random"},"unsigned":["serverTime","etag"]}"#)
        .unwrap();
    let a = PrivateKey::generate().unwrap();
    let author = SigningKey::generate().unwrap();
    let authors = [author.verifying_key()];
    let exp = Expected::new("rec", &authors);
    let open = |v: &Value| field::open_record(v, &sc, &a, None, &exp);
    let rec = json!({"ssn": "123-45-6789", "n": {"x": 1, "y": 2}, "visit": 3, "meta": {"a": [1, 2]},
                     "serverTime": 100, "etag": "abc"});
    let opts = SealOptions::new("rec", vec![all(&a)], CREATED);
    let sealed = field::seal_record(&rec, &sc, &opts, None, &author).unwrap();
    assert_eq!(open(&sealed).unwrap().record, rec);

    // Unsigned members: changed (any type), removed or added, the record opens as received.
    let mut changes: Vec<Value> = Vec::new();
    for v in [json!(101), json!(null), json!({"t": [1]}), json!("x")] {
        let mut t = sealed.clone();
        support_json::put(&mut t, "serverTime", v);
        changes.push(t);
    }
    let mut t = sealed.clone();
    t.as_object_mut().unwrap().remove("serverTime");
    t.as_object_mut().unwrap().remove("etag");
    changes.push(t);
    let without = field::seal_record(&json!({"ssn": "1", "visit": 3}), &sc, &opts, None, &author).unwrap();
    let mut t = without.clone();
    support_json::put(&mut t, "etag", json!("added"));
    changes.push(t);
    for t in &changes {
        let mut expected = t.clone();
        expected.as_object_mut().unwrap().remove("_phiseal");
        let opened = open(t).unwrap();
        for name in ["serverTime", "etag"] {
            assert_eq!(opened.record.get(name), expected.get(name), "{name}");
        }
    }
    // Member order is not content (the digest is over the canonical form).
    let mut members: Vec<(String, Value)> =
        sealed.as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    members.reverse();
    let reordered = Value::parse(&format!(
        "{{{}}}",
        members.iter().map(|(k, v)| format!("{}:{}", json!(k), v.to_json())).collect::<Vec<_>>().join(",")
    ))
    .unwrap();
    assert_ne!(reordered.to_json(), sealed.to_json());
    assert_eq!(open(&reordered).unwrap().record, rec);

    // Any other clear member, at any depth, and any field string: INVALID_SIGNATURE.
    let tampered: Vec<(&str, Value)> = {
        let mut v = Vec::new();
        let mut t = sealed.clone();
        support_json::put(&mut t, "visit", json!(4));
        v.push(("visit changed", t));
        let mut t = sealed.clone();
        support_json::put(&mut t, "visit", Value::parse("3.0").unwrap());
        v.push(("visit respelled", t));
        let mut t = sealed.clone();
        t.as_object_mut().unwrap().remove("visit");
        v.push(("visit removed", t));
        let mut t = sealed.clone();
        set(&mut t, "/meta/a/1", json!(3));
        v.push(("nested array element", t));
        let mut t = sealed.clone();
        set(&mut t, "/n/y", json!(3));
        v.push(("clear member beside a PHI field", t));
        let mut t = sealed.clone();
        support_json::put(&mut t, "extra", json!(1));
        v.push(("member added", t));
        let mut t = sealed.clone();
        support_json::put(&mut t, "ServerTime", json!(1));
        v.push(("unsigned names are exact", t));
        let mut t = sealed.clone();
        set(&mut t, "/meta/serverTime", json!(1));
        v.push(("unsigned names are top-level only", t));
        let mut t = sealed.clone();
        set(&mut t, "/n/x", sealed["ssn"].clone());
        v.push(("field string replaced", t));
        let mut t = sealed.clone();
        t.pointer_mut("/n").unwrap().as_object_mut().unwrap().remove("x");
        v.push(("field removed", t));
        v
    };
    for (what, t) in &tampered {
        assert_eq!(code(open(t)), ErrorCode::InvalidSignature, "{what}");
        // Together with an unsigned change, still refused.
        let mut t = t.clone();
        support_json::put(&mut t, "serverTime", json!(5));
        assert_eq!(code(open(&t)), ErrorCode::InvalidSignature, "{what} + unsigned");
    }
    // Without `unsigned` in the schema, the same member is signed.
    let strict = schema(r#"{"id":"u","version":1,"fields":{"ssn":true,"n.x":"random"}}"#).unwrap();
    let sealed = field::seal_record(&rec, &strict, &opts, None, &author).unwrap();
    let mut t = sealed.clone();
    support_json::put(&mut t, "serverTime", json!(101));
    assert_eq!(code(field::open_record(&t, &strict, &a, None, &exp)), ErrorCode::InvalidSignature);
}

#[test]
fn v2_a_recipient_twice_in_a_group_is_refused() {
    let f = fx();
    let rec = record();
    let author_pk = f.author.verifying_key();
    let sealed = f.seal(&rec, "rec");
    for list in [
        vec![all(&f.a), all(&f.a)],
        vec![all(&f.a), only(&f.a, &["billing"])],
        vec![only(&f.a, &["clinical"]), all(&f.b), all(&f.a)],
        vec![all(&f.a), all(&f.b), only(&f.b, &["billing"])],
    ] {
        let opts = SealOptions::new("rec", list.clone(), CREATED);
        let what = format!("{list:?}");
        assert_eq!(
            code(field::seal_record(&rec, &f.schema, &opts, Some(&f.ik), &f.author)),
            ErrorCode::InvalidArgument
        );
        let planned = field::plan_seal(&rec, &f.schema, &opts, Some(&f.ik), &author_pk).map(|_| ());
        assert_eq!(code(planned), ErrorCode::InvalidArgument, "{what}");
        assert_eq!(code(f.rewrap(&sealed, &f.a, &list, "rec")), ErrorCode::InvalidArgument, "{what}");
        assert_eq!(code(f.rekey(&sealed, &f.a, &list, "rec", CREATED)), ErrorCode::InvalidArgument, "{what}");
    }
    // Once per group is fine, even as two entries.
    let opts = SealOptions::new("rec", vec![only(&f.a, &["billing"]), only(&f.a, &["clinical"])], CREATED);
    let split = f.seal_opts(&rec, &opts);
    let opened = f.open(&split, "rec").unwrap();
    assert!(opened.locked.is_empty());
    assert_eq!(opened.record, rec);
    // A reader refuses a header that lists a thumbprint twice in a group
    // (MALFORMED_INPUT while parsing, before the signature).
    let h = field::inspect(&sealed).unwrap();
    let (_, digest_at, _) = layout(&h);
    let billing_kids = digest_at + 48 + 1 + 1 + "billing".len() + 32 + 1;
    let mut bytes = envelope_bytes(&sealed);
    assert_eq!(bytes[billing_kids + 32..billing_kids + 64], f.b.public_key().thumbprint());
    bytes.copy_within(billing_kids..billing_kids + 32, billing_kids + 32);
    let twice = with_envelope(&sealed, &bytes);
    assert_eq!(code(f.open(&twice, "rec")), ErrorCode::MalformedInput);
    assert_eq!(code(field::inspect(&twice)), ErrorCode::MalformedInput);
}

#[test]
fn v2_authors_and_the_order_of_the_checks() {
    let f = fx();
    let sealed = f.seal(&record(), "rec");
    let other = SigningKey::generate().unwrap();
    let stranger = PrivateKey::generate().unwrap();
    for authors in [vec![], vec![other.verifying_key()], vec![*f.a.public_key()]] {
        let exp = Expected::new("rec", &authors);
        for key in [&f.a, &f.b, &stranger] {
            let r = field::open_record(&sealed, &f.schema, key, Some(&f.ik), &exp);
            assert_eq!(code(r), ErrorCode::UntrustedAuthor);
        }
    }
    let several = [other.verifying_key(), f.author.verifying_key()];
    let r = field::open_record(&sealed, &f.schema, &f.a, Some(&f.ik), &Expected::new("rec", &several));
    assert_eq!(r.unwrap().record, record());
    // The same record by an author the reader does not trust.
    let opts = SealOptions::new("rec", vec![all(&f.a)], CREATED);
    let by_other = field::seal_record(&record(), &f.schema, &opts, Some(&f.ik), &other).unwrap();
    assert_eq!(code(f.open(&by_other, "rec")), ErrorCode::UntrustedAuthor);

    // FORMAT.md §5.4: schema and record id / context (2–3), author (4),
    // content (5), version (6), recipient (7), signature (8).
    let untrusted = [other.verifying_key()];
    let mut changed = sealed.clone();
    support_json::put(&mut changed, "visit", json!(4));
    let open = |v: &Value, key: &PrivateKey, id: &str, authors: &[PublicKey], min: u64| {
        let exp = Expected { min_version: min, ..Expected::new(id, authors) };
        code(field::open_record(v, &f.schema, key, Some(&f.ik), &exp))
    };
    let other_schema = schema(&SCHEMA.replace("\"version\":3", "\"version\":5")).unwrap();
    let exp = Expected::new("other", &untrusted);
    assert_eq!(code(field::open_record(&changed, &other_schema, &stranger, None, &exp)), ErrorCode::ContextMismatch);
    assert_eq!(open(&changed, &stranger, "other", &untrusted, 9), ErrorCode::ContextMismatch);
    assert_eq!(open(&changed, &stranger, "rec", &untrusted, 9), ErrorCode::UntrustedAuthor);
    assert_eq!(open(&changed, &stranger, "rec", &f.authors, 9), ErrorCode::InvalidSignature);
    assert_eq!(open(&sealed, &stranger, "rec", &f.authors, 9), ErrorCode::StaleVersion);
    assert_eq!(open(&sealed, &stranger, "rec", &f.authors, 1), ErrorCode::NotRecipient);
    let mut bytes = envelope_bytes(&sealed);
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    let bad_signature = with_envelope(&sealed, &bytes);
    assert_eq!(open(&bad_signature, &stranger, "rec", &f.authors, 1), ErrorCode::NotRecipient);
    assert_eq!(open(&bad_signature, &f.a, "rec", &f.authors, 1), ErrorCode::InvalidSignature);
    let exp = Expected { min_version: 1, ..f.expect("rec") };
    assert_eq!(field::open_record(&sealed, &f.schema, &f.a, Some(&f.ik), &exp).unwrap().record, record());
}

/// The index key commitment (FORMAT.md §5.5).
fn index_commitment(id: &[u8], key: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    Kdf::Sha384.hkdf(id, key, b"phiseal-index-key-v2 commitment", &mut out).unwrap();
    out
}

/// A sealed index key written from FORMAT.md §5.5 (not phiseal's sealer):
/// `secret` under `id`, naming `commitment`, wrapped to `to`, signed by `author`.
fn spec_index_key(id: &[u8; 16], commitment: &[u8; 32], secret: &[u8], to: &PublicKey, author: &SigningKey) -> String {
    let head = [&[2u8][..], id, commitment, &author.verifying_key().thumbprint(), &[1], &to.thumbprint()].concat();
    let (enc, ct) = hpke::seal(Suite::PHISEAL, to, b"phiseal-index-key-v2", &head, secret, None, None).unwrap();
    let mut signed = [head, enc, ct].concat();
    let signature = author.sign(&labelled(b"phiseal-index-key-v2 signature", &signed)).unwrap();
    signed.extend_from_slice(&signature);
    format!("phk2.{}", b64(&signed))
}

#[test]
fn v2_an_index_key_with_the_same_id_and_another_secret_is_refused() {
    let f = fx();
    let me = f.a.public_key();
    let sealed = f.ik.seal(&[*me], &f.author).unwrap();
    let (_, _, job) = IndexKey::plan_open(&sealed, me, &f.authors).unwrap();
    let secret = job.run(&f.a).unwrap();
    assert_eq!(index_commitment(f.ik.id(), &secret), f.ik.commitment());
    // The helper is right: the genuine key written from the spec opens to it.
    let genuine =
        IndexKey::open(&spec_index_key(f.ik.id(), &f.ik.commitment(), &secret, me, &f.author), &f.a, &f.authors)
            .unwrap();
    assert_eq!((genuine.id(), genuine.commitment()), (f.ik.id(), f.ik.commitment()));
    let rec = f.seal_a(&record(), "rec");
    assert_eq!(f.open_by(&f.a, &rec, "rec", Some(&genuine)).unwrap().record, record());

    // Same id, another secret, its own commitment, signed by the trusted
    // author: a valid key, but not the one the record names (§5.4 step 10).
    let other_secret = [0x5a; 32];
    let impostor_text =
        spec_index_key(f.ik.id(), &index_commitment(f.ik.id(), &other_secret), &other_secret, me, &f.author);
    let impostor = IndexKey::open(&impostor_text, &f.a, &f.authors).unwrap();
    assert_eq!(impostor.id(), f.ik.id());
    assert_ne!(impostor.commitment(), f.ik.commitment());
    assert_ne!(
        field::search_token(&f.schema, "patient.name", &json!("Ada Lovelace"), &impostor).unwrap(),
        field::search_token(&f.schema, "patient.name", &json!("Ada Lovelace"), &f.ik).unwrap()
    );
    assert_eq!(code(f.open_by(&f.a, &rec, "rec", Some(&impostor))), ErrorCode::InvalidArgument);
    // And the other way round.
    let opts = SealOptions::new("rec", vec![all(&f.a)], CREATED);
    let by_impostor = field::seal_record(&record(), &f.schema, &opts, Some(&impostor), &f.author).unwrap();
    assert_eq!(field::inspect(&by_impostor).unwrap().index_key, Some((*f.ik.id(), impostor.commitment())));
    assert_eq!(code(f.open(&by_impostor, "rec")), ErrorCode::InvalidArgument);
    assert_eq!(f.open_by(&f.a, &by_impostor, "rec", Some(&impostor)).unwrap().record, record());
    // A sealed key that names the genuine commitment but wraps another secret.
    let lying = spec_index_key(f.ik.id(), &f.ik.commitment(), &other_secret, me, &f.author);
    assert_eq!(code(IndexKey::open(&lying, &f.a, &f.authors)), ErrorCode::DecryptFailed);
    // Written by an author the reader does not trust.
    let other = SigningKey::generate().unwrap();
    let untrusted = spec_index_key(f.ik.id(), &f.ik.commitment(), &secret, me, &other);
    assert_eq!(code(IndexKey::open(&untrusted, &f.a, &f.authors)), ErrorCode::UntrustedAuthor);
}

#[test]
fn v2_envelope_layout_and_size_follow_format_md() {
    let f = fx();
    let context = ctx(&[("patient", "p-42")]);
    let opts = SealOptions {
        context: context.clone(),
        ..SealOptions::new("rec-00000001", vec![all(&f.a), only(&f.b, &["billing"])], CREATED)
    };
    let sealed = f.seal_opts(&record(), &opts);
    let h = field::inspect(&sealed).unwrap();
    let bytes = envelope_bytes(&sealed);
    let (context_at, digest_at, header_len) = layout(&h);
    let recipients: usize = h.groups.iter().map(|(_, k)| k.len()).sum();
    assert_eq!(recipients, 3);
    // Size (§5.2): the fixed part of the header (with an empty context and
    // no index key) is 164 bytes, the signature 96, each wrap 145.
    let groups: usize = h.groups.iter().map(|(g, k)| 1 + g.len() + 32 + 1 + 32 * k.len()).sum();
    let context_len: usize = h.context.iter().map(|(k, v)| 1 + k.len() + 2 + v.len()).sum();
    let size = 164 + h.record_id.len() + h.schema_id.len() + context_len + 48 + groups + 145 * recipients + 96;
    assert_eq!(bytes.len(), size);
    assert_eq!(bytes.len(), header_len + 145 * recipients + 96);
    assert_eq!(s(&sealed, "/_phiseal").len(), 5 + (size * 4).div_ceil(3));

    // The header, field by field.
    let header = &bytes[..header_len];
    assert_eq!(header[..7], [2, 0x00, 0x11, 0x00, 0x02, 0x00, 0x02]);
    assert_eq!(header[7..8 + 12], labelled(b"rec-00000001", b""));
    let at = 8 + 12;
    assert_eq!(header[at..at + 7], labelled(b"intake", b""));
    let at = at + 7;
    assert_eq!(header[at..at + 4], 3u32.to_be_bytes()); // schema version
    assert_eq!(header[at + 4..at + 12], 1u64.to_be_bytes()); // record version
    assert_eq!(header[at + 12..at + 60], [0u8; 48]); // previous
    assert_eq!(header[at + 60..at + 64], 1u32.to_be_bytes()); // epoch
    assert_eq!(header[at + 64..at + 72], CREATED.to_be_bytes());
    assert_eq!(at + 72, context_at);
    let context_bytes = [&[1u8][..], &labelled(b"patient", b""), &[0, 4], b"p-42"].concat();
    assert_eq!(header[context_at..context_at + context_bytes.len()], context_bytes);
    let at = context_at + context_bytes.len();
    assert_eq!(header[at..at + 32], f.author.verifying_key().thumbprint());
    assert_eq!(header[at + 32], 48);
    assert_eq!(header[at + 33..at + 49], *f.ik.id());
    assert_eq!(header[at + 49..at + 81], f.ik.commitment());
    assert_eq!(at + 81, digest_at);
    assert_eq!(header[digest_at..digest_at + 48], content_digest(&sealed, &f.schema));
    assert_eq!(header[digest_at + 48], 2); // groups
    // The signature over the labelled header ‖ wraps, by the author.
    let signed = &bytes[..bytes.len() - 96];
    let message = labelled(b"phiseal-record-v2 signature", signed);
    assert!(sign::verify_p1363(&f.author.verifying_key(), &message, &bytes[bytes.len() - 96..]).is_ok());
    // Wraps in header order (billing: A, B; clinical: A): HPKE with the
    // group's info and the header as AAD; every recipient of a group gets
    // the key its commitment names.
    let commitment = |dek: &[u8], group: &str| {
        let mut out = [0u8; 32];
        let info = labelled(b"phiseal-record-v2 key commitment", &labelled(group.as_bytes(), b""));
        Kdf::Sha384.hkdf(b"", dek, &info, &mut out).unwrap();
        out
    };
    let wrap = |i: usize, key: &PrivateKey, group: &str| {
        let at = header_len + 145 * i;
        hpke::open(
            Suite::PHISEAL,
            &bytes[at..at + 97],
            key,
            &dek_info(group),
            header,
            &bytes[at + 97..at + 145],
            None,
            None,
        )
        .unwrap()
    };
    let billing_at = digest_at + 48 + 1;
    let clinical_at = billing_at + 1 + "billing".len() + 32 + 1 + 64;
    let billing = wrap(0, &f.a, "billing");
    assert_eq!(wrap(1, &f.b, "billing"), billing);
    assert_eq!(header[billing_at + 8..billing_at + 40], commitment(&billing, "billing"));
    assert_eq!(header[billing_at + 41..billing_at + 73], f.a.public_key().thumbprint());
    assert_eq!(header[clinical_at..clinical_at + 9], labelled(b"clinical", b""));
    let clinical = wrap(2, &f.a, "clinical");
    assert_eq!(header[clinical_at + 9..clinical_at + 41], commitment(&clinical, "clinical"));
    assert_ne!(billing, clinical);
}

#[test]
fn v2_a_data_key_that_is_not_the_committed_one_is_refused() {
    // Two seals of one record: same id, schema and epoch, other data keys.
    let f = fx();
    let first = f.seal_a(&record(), "rec");
    let second = f.seal_a(&record(), "rec");
    let by_first = Resigner::new(&first, &f.schema, &f.a, &f.author);
    let by_second = Resigner::new(&second, &f.schema, &f.a, &f.author);
    // The second record's fields and data keys under the first one's
    // header (its key commitments), signed by the author: the fields would
    // open under the keys the wraps deliver, but those are not the
    // committed keys (§5.4 step 9), so a group's recipients cannot be shown
    // different plaintexts.
    let forged = by_first.sign_wrapping(&second, &by_second.deks);
    assert_eq!(code(f.open(&forged, "rec")), ErrorCode::DecryptFailed);
    assert_eq!(code(open_with(&f, &forged, "rec", &by_second.deks)), ErrorCode::DecryptFailed);
    // Controls: the same content with its own commitments opens; with the
    // first record's (committed) keys, the second's fields do not.
    assert_eq!(f.open(&by_second.sign_wrapping(&second, &by_second.deks), "rec").unwrap().record, record());
    assert_eq!(code(f.open(&by_first.sign(&second), "rec")), ErrorCode::DecryptFailed);
}

/// An all-zero previous digest for a version > 1 is refused by `plan_seal`
/// as INVALID_ARGUMENT, before any HPKE wrap runs.
#[test]
fn v2_seal_refuses_an_all_zero_previous_digest_up_front() {
    let f = fx();
    let opts = SealOptions { version: 2, previous: Some([0; 48]), ..SealOptions::new("rec", vec![all(&f.a)], CREATED) };
    let planned = field::plan_seal(&record(), &f.schema, &opts, Some(&f.ik), &f.author.verifying_key());
    assert_eq!(code(planned.map(|_| ())), ErrorCode::InvalidArgument);
}

#[test]
fn v2_update_of_the_last_version_is_misuse() {
    let f = fx();
    let opts =
        SealOptions { version: u64::MAX, previous: Some([7; 48]), ..SealOptions::new("rec", vec![all(&f.a)], CREATED) };
    let last = f.open(&f.seal_opts(&record(), &opts), "rec").unwrap();
    assert_eq!(last.header.version, u64::MAX);
    assert_eq!(code(SealOptions::update_of(&last, vec![all(&f.a)], CREATED + 1).map(|_| ())), ErrorCode::Misuse);
}

#[test]
fn v2_a_record_names_an_index_key_exactly_when_its_schema_needs_one() {
    let f = fx();
    let random = schema(r#"{"id":"s","version":1,"fields":{"x":true}}"#).unwrap();
    let deterministic = schema(r#"{"id":"s","version":1,"fields":{"x":"deterministic"}}"#).unwrap();
    let blind = schema(r#"{"id":"s","version":1,"fields":{"x":"blindIndex"}}"#).unwrap();
    let opts = SealOptions::new("rec", vec![all(&f.a)], CREATED);
    let rec = json!({"x": "v"});
    let exp = f.expect("rec");
    let open = |sealed: &Value, sc: &Schema, ik: Option<&IndexKey>| field::open_record(sealed, sc, &f.a, ik, &exp);
    let by_random = field::seal_record(&rec, &random, &opts, None, &f.author).unwrap();
    let by_deterministic = field::seal_record(&rec, &deterministic, &opts, Some(&f.ik), &f.author).unwrap();
    let by_blind = field::seal_record(&rec, &blind, &opts, Some(&f.ik), &f.author).unwrap();
    assert_eq!(open(&by_random, &random, None).unwrap().record, rec);
    assert_eq!(open(&by_deterministic, &deterministic, Some(&f.ik)).unwrap().record, rec);
    assert_eq!(open(&by_blind, &blind, Some(&f.ik)).unwrap().record, rec);
    // Same schema id, version and groups, but the index key entry does not
    // fit the schema (§5.4 step 2): CONTEXT_MISMATCH, with or without the key.
    for ik in [None, Some(&f.ik)] {
        assert_eq!(code(open(&by_random, &deterministic, ik)), ErrorCode::ContextMismatch);
        assert_eq!(code(open(&by_random, &blind, ik)), ErrorCode::ContextMismatch);
        assert_eq!(code(open(&by_deterministic, &random, ik)), ErrorCode::ContextMismatch);
        assert_eq!(code(open(&by_blind, &random, ik)), ErrorCode::ContextMismatch);
    }
}

/// A blind-index field string written from FORMAT.md §5.3 under `dek`.
#[cfg(feature = "hazmat")]
fn blind_field(h: &Header, dek: &[u8], pointer: &str, index: &[u8], value: &Value) -> String {
    let aad = [
        labelled(b"phiseal-field-v1", b""),
        vec![3],
        labelled(h.record_id.as_bytes(), b""),
        labelled(h.schema_id.as_bytes(), b""),
        h.schema_version.to_be_bytes().to_vec(),
        u16::try_from(pointer.len()).unwrap().to_be_bytes().to_vec(),
        pointer.as_bytes().to_vec(),
        h.epoch.to_be_bytes().to_vec(),
        labelled(index, b""),
    ]
    .concat();
    let nonce = [7u8; 12];
    let ct = phiseal::aead::AesGcm::Aes256.seal(dek, &nonce, &aad, value.to_json().as_bytes()).unwrap();
    format!("phb1.{}.{}", b64(index), b64(&[&nonce[..], &ct].concat()))
}

#[test]
#[cfg(feature = "hazmat")]
fn v2_a_blind_index_that_is_not_its_values_is_refused_with_the_index_key() {
    let f = fx();
    let sealed = f.seal_a(&record(), "rec");
    let author = Resigner::new(&sealed, &f.schema, &f.a, &f.author);
    let clinical = &author.deks[1]; // groups: billing, clinical
    let index = |v: &Value| {
        let token = field::search_token(&f.schema, "patient.ssn", v, &f.ik).unwrap();
        Base64UrlUnpadded::decode_vec(token.strip_prefix("phb1.").unwrap().trim_end_matches('.')).unwrap()
    };
    let value = json!("123-45-6789");
    // Control: the field written from §5.3 with the value's own index opens.
    let mut t = sealed.clone();
    set(&mut t, "/patient/ssn", json!(blind_field(&author.header, clinical, "/patient/ssn", &index(&value), &value)));
    assert_eq!(f.open(&author.sign(&t), "rec").unwrap().record, record());
    // Another value's index, authenticated by the AEAD and the signature:
    // with the index key it is refused (it would hide the record from a
    // search, or match it to another value); without, it cannot be checked.
    let wrong = index(&json!("999-99-9999"));
    assert_ne!(wrong, index(&value));
    let mut t = sealed.clone();
    set(&mut t, "/patient/ssn", json!(blind_field(&author.header, clinical, "/patient/ssn", &wrong, &value)));
    let signed = author.sign(&t);
    assert_eq!(code(f.open(&signed, "rec")), ErrorCode::DecryptFailed);
    assert_eq!(f.open_by(&f.a, &signed, "rec", None).unwrap().record["patient"]["ssn"], value);
}
