//! Field-level sealing of PHI records (docs/FORMAT.md §5): schema parsing,
//! round trips in every mode, access groups, tamper detection, rewrap and
//! rekey, the sealed index key, and the record checks (rotation, PHI
//! verification, redaction), each failure asserted by its [`ErrorCode`].
// A native suite (`cargo test`); in wasm32 this file compiles to nothing, so
// `wasm-pack test` builds every test target and runs tests/web.rs.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

#[macro_use]
#[path = "support/json.rs"]
mod support_json;
use base64ct::{Base64UrlUnpadded, Encoding as _};
use phiseal::ErrorCode;
use phiseal::field::{self, IndexKey, Locked, Recipient, Schema, SealOptions, WrapJob};
use phiseal::field::{FieldMode, Opened};
use phiseal::json::Value;
use phiseal::keys::{PrivateKey, PublicKey};

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
}

fn fx() -> Fx {
    Fx {
        schema: Schema::from_json(SCHEMA).unwrap(),
        a: PrivateKey::generate().unwrap(),
        b: PrivateKey::generate().unwrap(),
        ik: IndexKey::generate().unwrap(),
    }
}

fn all(key: &PrivateKey) -> Recipient {
    Recipient::all_groups(*key.public_key())
}

fn only(key: &PrivateKey, groups: &[&str]) -> Recipient {
    Recipient { key: *key.public_key(), groups: Some(groups.iter().map(|g| (*g).to_owned()).collect()) }
}

impl Fx {
    /// Sealed to A (every group) and B (billing only).
    fn seal(&self, record: &Value, record_id: &str) -> Value {
        let opts = SealOptions::new(record_id, vec![all(&self.a), only(&self.b, &["billing"])], CREATED);
        field::seal_record(record, &self.schema, &opts, Some(&self.ik)).unwrap()
    }

    /// Sealed to A only.
    fn seal_a(&self, record: &Value, record_id: &str) -> Value {
        let opts = SealOptions::new(record_id, vec![all(&self.a)], CREATED);
        field::seal_record(record, &self.schema, &opts, Some(&self.ik)).unwrap()
    }

    fn open(&self, sealed: &Value) -> phiseal::Result<Opened> {
        field::open_record(sealed, &self.schema, &self.a, Some(&self.ik))
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
    assert!(s(&sealed, "/_phiseal").starts_with("phe1."));
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
    let opened = f.open(&sealed).unwrap();
    assert_eq!(opened.record, rec);
    assert!(opened.locked.is_empty());
    assert_eq!(opened.header.record_id, "rec-1");
    assert_eq!(opened.header.schema_id, "intake");
    assert_eq!(opened.header.schema_version, 3);
    assert_eq!(opened.header.epoch, 1);
    assert_eq!(opened.header.created, CREATED);
    assert_eq!(opened.header.index_key_id, Some(*f.ik.id()));
    // JSON text round trip.
    let reparsed = Value::parse(&text).unwrap();
    assert_eq!(f.open(&reparsed).unwrap().record, rec);
    // B (billing) opens too.
    let by_b = field::open_record(&reparsed, &f.schema, &f.b, Some(&f.ik)).unwrap();
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
    let opts = SealOptions::new("rec", vec![all(&a)], CREATED);
    for v in every_value() {
        let rec = support_json::obj(&[("r", &v), ("d", &v), ("b", &v), ("plain", &v)]);
        let sealed = field::seal_record(&rec, &schema, &opts, Some(&ik)).unwrap();
        assert!(s(&sealed, "/r").starts_with("phs1."), "{v}");
        assert!(s(&sealed, "/d").starts_with("phd1."), "{v}");
        assert!(s(&sealed, "/b").starts_with("phb1."), "{v}");
        assert_eq!(sealed["plain"], v);
        let reparsed = Value::parse(&sealed.to_json()).unwrap();
        let opened = field::open_record(&reparsed, &schema, &a, Some(&ik)).unwrap();
        assert_eq!(opened.record, rec, "{v}");
        // Values survive byte for byte (numbers as written).
        assert_eq!(opened.record["r"].to_json(), v.to_json(), "{v}");
        assert_eq!(opened.record["d"].to_json(), v.sorted().to_json(), "{v}"); // canonical form
        assert_eq!(opened.record["b"].to_json(), v.to_json(), "{v}");
        // Deterministic is deterministic for every type.
        let again = field::seal_record(&rec, &schema, &opts, Some(&ik)).unwrap();
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
    let opts = SealOptions::new("rec", vec![all(&a)], CREATED);
    let rec = json!({
        "m": [[1, 2], [], [3, "x", null]],
        "list": [{"x": "a"}, {"x": "b", "y": 1}, {"y": 2}, null, {"x": {"n": [1]}}],
        "deep": {"a": {"b": {"c": "v", "d": "plain"}}},
        "other": "untouched"
    });
    let sealed = field::seal_record(&rec, &schema, &opts, Some(&ik)).unwrap();
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
    assert_eq!(field::open_record(&sealed, &schema, &a, Some(&ik)).unwrap().record, rec);

    // Null containers and missing members are absent fields.
    for rec in [json!({}), json!({"deep": null, "list": null, "m": [null]}), json!({"deep": {"a": {}}, "list": []})] {
        let sealed = field::seal_record(&rec, &schema, &opts, Some(&ik)).unwrap();
        let mut without = sealed.clone();
        without.as_object_mut().unwrap().remove("_phiseal");
        assert_eq!(without, rec);
        assert_eq!(field::open_record(&sealed, &schema, &a, Some(&ik)).unwrap().record, rec);
    }
}

#[test]
fn record_id_and_index_key_are_validated_on_seal() {
    let f = fx();
    let rec = record();
    for id in [String::new(), "r".repeat(256)] {
        let opts = SealOptions::new(&id, vec![all(&f.a)], CREATED);
        assert_eq!(code(field::seal_record(&rec, &f.schema, &opts, Some(&f.ik))), ErrorCode::InvalidArgument);
    }
    let id = "r".repeat(255);
    let sealed = f.seal_a(&rec, &id);
    assert_eq!(f.open(&sealed).unwrap().header.record_id, id);
    // The schema has deterministic / blind fields: the index key is required.
    let opts = SealOptions::new("rec", vec![all(&f.a)], CREATED);
    assert_eq!(code(field::seal_record(&rec, &f.schema, &opts, None)), ErrorCode::InvalidArgument);
    // A random-only schema needs none, and records no index key id.
    let random_only = schema(r#"{"id":"r","version":1,"fields":{"x":true}}"#).unwrap();
    let sealed = field::seal_record(&json!({"x": 1}), &random_only, &opts, None).unwrap();
    assert_eq!(field::inspect(&sealed).unwrap().index_key_id, None);
    let opened = field::open_record(&sealed, &random_only, &f.a, Some(&f.ik)).unwrap();
    assert_eq!(opened.record, json!({"x": 1}));
}

#[test]
fn seal_rejects_non_objects_sealed_records_and_mismatching_structure() {
    let f = fx();
    let opts = SealOptions::new("rec", vec![all(&f.a)], CREATED);
    for rec in [json!([]), json!("x"), json!(null), json!(1), json!({"_phiseal": "phe1.x", "notes": "n"})] {
        assert_eq!(code(field::seal_record(&rec, &f.schema, &opts, Some(&f.ik))), ErrorCode::InvalidArgument, "{rec}");
    }
    let sealed = f.seal_a(&record(), "rec");
    assert_eq!(code(field::seal_record(&sealed, &f.schema, &opts, Some(&f.ik))), ErrorCode::InvalidArgument);
    for rec in [
        json!({"patient": "Ada"}),
        json!({"patient": ["x"]}),
        json!({"diagnoses": {"code": "I10"}}),
        json!({"diagnoses": ["I10"]}),
        json!({"diagnoses": [{"code": "ok"}, 5]}),
        json!({"billing": true}),
    ] {
        assert_eq!(code(field::seal_record(&rec, &f.schema, &opts, Some(&f.ik))), ErrorCode::InvalidArgument, "{rec}");
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
    let sealed = field::seal_record(&json!({"x": "same", "y": "same"}), &two, &opts, Some(&f.ik)).unwrap();
    assert_ne!(s(&sealed, "/x"), s(&sealed, "/y"));
    let two_b = schema(r#"{"id":"two-b","version":1,"fields":{"x":"deterministic"}}"#).unwrap();
    let sealed_b = field::seal_record(&json!({"x": "same"}), &two_b, &opts, Some(&f.ik)).unwrap();
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
    for (bits, len) in [(1u8, 1usize), (7, 1), (8, 1), (12, 2), (16, 2), (31, 4), (32, 4), (100, 13), (128, 16)] {
        let sc =
            schema(&format!(r#"{{"id":"bits","version":1,"fields":{{"v":{{"mode":"blindIndex","bits":{bits}}}}}}}"#))
                .unwrap();
        let opts = SealOptions::new("rec", vec![all(&a)], CREATED);
        let spare = len * 8 - usize::from(bits);
        let mask = if spare == 0 { 0 } else { (1u8 << spare) - 1 };
        for n in 0..24 {
            let rec = json!({ "v": format!("value-{n}") });
            let sealed = field::seal_record(&rec, &sc, &opts, Some(&ik)).unwrap();
            let (index, _) = blind_parts(&s(&sealed, "/v"));
            assert_eq!(index.len(), len, "bits {bits}");
            assert_eq!(index[len - 1] & mask, 0, "bits {bits}: trailing bits not masked");
            let token = field::search_token(&sc, "v", &rec["v"], &ik).unwrap();
            assert!(s(&sealed, "/v").starts_with(&token));
            if n == 0 {
                assert_eq!(field::open_record(&sealed, &sc, &a, Some(&ik)).unwrap().record, rec);
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
    let opened = field::open_record(&sealed, &f.schema, &f.b, None).unwrap();
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
    assert!(f.open(&sealed).unwrap().locked.is_empty());
    // Plan API: B's plan unwraps only billing.
    let (plan, jobs) = field::plan_open(&sealed, &f.schema, f.b.public_key()).unwrap();
    assert_eq!(plan.groups(), ["billing"]);
    assert_eq!(jobs.len(), 1);
}

#[test]
fn non_recipient_and_bad_recipient_lists() {
    let f = fx();
    let sealed = f.seal(&record(), "rec");
    let c = PrivateKey::generate().unwrap();
    assert_eq!(code(field::open_record(&sealed, &f.schema, &c, Some(&f.ik))), ErrorCode::NotRecipient);
    assert_eq!(code(field::plan_open(&sealed, &f.schema, c.public_key())), ErrorCode::NotRecipient);

    let rec = record();
    let bad_lists = [
        vec![all(&f.a), only(&f.b, &["billing", "radiology"])],
        vec![only(&f.a, &["nope"])],
        vec![only(&f.b, &["billing"])],
        vec![only(&f.a, &["clinical"])],
        vec![only(&f.a, &[])],
        vec![],
    ];
    for list in bad_lists {
        let opts = SealOptions::new("rec", list.clone(), CREATED);
        assert_eq!(
            code(field::seal_record(&rec, &f.schema, &opts, Some(&f.ik))),
            ErrorCode::InvalidArgument,
            "{list:?}"
        );
        assert_eq!(code(field::rewrap_record(&sealed, &f.schema, &f.a, &list)), ErrorCode::InvalidArgument, "{list:?}");
    }
    // Splitting the groups between two recipients is fine.
    let opts = SealOptions::new("rec", vec![only(&f.a, &["clinical"]), only(&f.b, &["billing"])], CREATED);
    let split = field::seal_record(&rec, &f.schema, &opts, Some(&f.ik)).unwrap();
    let by_a = f.open(&split).unwrap();
    assert_eq!(by_a.locked.iter().map(|l| l.reason.as_str()).collect::<Vec<_>>(), ["billing", "billing"]);
}

#[test]
fn deterministic_fields_without_or_with_wrong_index_key() {
    let f = fx();
    let rec = record();
    let sealed = f.seal_a(&rec, "rec");
    let opened = field::open_record(&sealed, &f.schema, &f.a, None).unwrap();
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
    assert_eq!(code(field::open_record(&sealed, &f.schema, &f.a, Some(&wrong))), ErrorCode::InvalidArgument);
}

#[test]
fn deterministic_field_respects_access_group() {
    let f = fx();
    let rec = record();
    let sealed = f.seal(&rec, "rec");
    let by_b = field::open_record(&sealed, &f.schema, &f.b, Some(&f.ik)).unwrap();
    assert_ne!(by_b.record["patient"]["name"], rec["patient"]["name"], "clinical field readable by billing");
    assert!(by_b.locked.iter().any(|l| l.pointer == "/patient/name" && l.reason == "clinical"));
}

// ---------------------------------------------------------------- tampering

/// Opens with the data keys unwrapped once (the envelope is unchanged).
fn open_with(f: &Fx, sealed: &Value, deks: &[zeroize::Zeroizing<Vec<u8>>]) -> phiseal::Result<Opened> {
    let (plan, _) = field::plan_open(sealed, &f.schema, f.a.public_key())?;
    plan.finish(&f.schema, deks, Some(&f.ik))
}

#[test]
fn every_field_character_replaced_fails() {
    let f = fx();
    let sealed = f.seal_a(&record(), "rec");
    let (_, jobs) = field::plan_open(&sealed, &f.schema, f.a.public_key()).unwrap();
    let deks: Vec<_> = jobs.iter().map(|j| j.run(&f.a).unwrap()).collect();
    assert_eq!(open_with(&f, &sealed, &deks).unwrap().record, record());
    let mut tried = 0;
    for p in POINTERS {
        let original = s(&sealed, p);
        for i in 0..original.len() {
            let mut t = sealed.clone();
            set(&mut t, p, Value::String(replace_char(&original, i)));
            assert_eq!(code(open_with(&f, &t, &deks)), ErrorCode::DecryptFailed, "{p} char {i}");
            tried += 1;
        }
        // Every other base64url character in the last position (non-canonical trailing bits included).
        let last = original.len() - 1;
        for &c in B64URL.iter().filter(|&&c| c != original.as_bytes()[last]) {
            let mut bytes = original.clone().into_bytes();
            bytes[last] = c;
            let mut t = sealed.clone();
            set(&mut t, p, Value::String(String::from_utf8(bytes).unwrap()));
            assert_eq!(code(open_with(&f, &t, &deks)), ErrorCode::DecryptFailed, "{p} last char {}", c as char);
        }
    }
    assert!(tried > 500);
}

const STRUCTURAL: &[ErrorCode] = &[
    ErrorCode::DecryptFailed,
    ErrorCode::MalformedInput,
    ErrorCode::Unsupported,
    // Fields read before authentication: schema id / version, recipient ids, HPKE enc point.
    ErrorCode::InvalidArgument,
    ErrorCode::NotRecipient,
    ErrorCode::InvalidKey,
];

#[test]
fn every_envelope_character_replaced_fails() {
    let f = fx();
    let sealed = f.seal_a(&record(), "rec");
    let env = s(&sealed, "/_phiseal");
    let mut decrypt_failed = 0;
    for i in 0..env.len() {
        let mut t = sealed.clone();
        set(&mut t, "/_phiseal", Value::String(replace_char(&env, i)));
        let c = code(f.open(&t));
        assert!(STRUCTURAL.contains(&c), "char {i}: {c:?}");
        if c == ErrorCode::DecryptFailed {
            decrypt_failed += 1;
        }
        if i < 5 {
            let expected = if i >= 3 { ErrorCode::Unsupported } else { ErrorCode::MalformedInput };
            assert_eq!(c, expected, "prefix char {i}");
        }
    }
    assert!(decrypt_failed * 3 > env.len(), "many positions are authenticated: {decrypt_failed} of {}", env.len());
}

/// Expected outcomes of a flipped envelope byte for two openers (A, B);
/// `None`: the opener cannot check that byte (another group's MAC).
type Expect = (Option<&'static [ErrorCode]>, Option<&'static [ErrorCode]>);

fn rep(v: &mut Vec<Expect>, n: usize, a: &'static [ErrorCode], b: Option<&'static [ErrorCode]>) {
    v.extend(std::iter::repeat_n((Some(a), b), n));
}

#[test]
fn every_envelope_byte_flipped_fails_with_the_expected_code() {
    const DF: &[ErrorCode] = &[ErrorCode::DecryptFailed];
    const DF_OR_KEY: &[ErrorCode] = &[ErrorCode::DecryptFailed, ErrorCode::InvalidKey];
    const DF_OR_NOT: &[ErrorCode] = &[ErrorCode::DecryptFailed, ErrorCode::NotRecipient];
    const UNSUP: &[ErrorCode] = &[ErrorCode::Unsupported];
    const ARG: &[ErrorCode] = &[ErrorCode::InvalidArgument];
    let f = fx();
    // A holds billing and clinical, B billing only: wraps billing/A, billing/B, clinical/A.
    let sealed = f.seal(&record(), "rec-1");
    let h = field::inspect(&sealed).unwrap();
    let bytes = Base64UrlUnpadded::decode_vec(s(&sealed, "/_phiseal").strip_prefix("phe1.").unwrap()).unwrap();
    let mut exp: Vec<Expect> = Vec::new();
    rep(&mut exp, 7, UNSUP, Some(UNSUP)); // version, KEM, KDF, AEAD ids
    rep(&mut exp, 1, STRUCTURAL, Some(STRUCTURAL));
    rep(&mut exp, h.record_id.len(), DF, Some(DF));
    rep(&mut exp, 1, STRUCTURAL, Some(STRUCTURAL));
    rep(&mut exp, h.schema_id.len(), ARG, Some(ARG));
    rep(&mut exp, 4, ARG, Some(ARG)); // schema version
    rep(&mut exp, 4 + 8, DF, Some(DF)); // epoch, created
    rep(&mut exp, 1, STRUCTURAL, Some(STRUCTURAL));
    rep(&mut exp, 16, DF, Some(DF)); // index key id
    rep(&mut exp, 32, DF, Some(DF)); // fields digest
    rep(&mut exp, 1, STRUCTURAL, Some(STRUCTURAL));
    assert_eq!(h.groups.len(), 2);
    for (name, kids) in &h.groups {
        rep(&mut exp, 1, STRUCTURAL, Some(STRUCTURAL));
        rep(&mut exp, name.len(), DF, Some(DF));
        rep(&mut exp, 1, STRUCTURAL, Some(STRUCTURAL));
        rep(&mut exp, 32 * kids.len(), DF, Some(DF_OR_NOT));
    }
    // Wraps: A unwraps billing/A and clinical/A; B unwraps billing/B. The
    // per-group MAC makes a change to someone else's wrap fail too.
    rep(&mut exp, 97, DF_OR_KEY, Some(DF));
    rep(&mut exp, 48, DF, Some(DF));
    rep(&mut exp, 97, DF, Some(DF_OR_KEY));
    rep(&mut exp, 48, DF, Some(DF));
    rep(&mut exp, 97, DF_OR_KEY, Some(DF));
    rep(&mut exp, 48, DF, Some(DF));
    // MACs: billing (both check it), clinical (only A holds that key).
    rep(&mut exp, 32, DF, Some(DF));
    rep(&mut exp, 32, DF, None);
    assert_eq!(exp.len(), bytes.len(), "envelope layout: {h:?}");
    for (i, (for_a, for_b)) in exp.iter().enumerate() {
        let mut b = bytes.clone();
        b[i] ^= 0x01;
        let mut t = sealed.clone();
        set(&mut t, "/_phiseal", Value::String(format!("phe1.{}", Base64UrlUnpadded::encode_string(&b))));
        let c = code(f.open(&t));
        assert!(for_a.unwrap().contains(&c), "A, byte {i}: {c:?}, expected one of {for_a:?}");
        let by_b = field::open_record(&t, &f.schema, &f.b, None);
        match for_b {
            Some(allowed) => {
                let c = code(by_b);
                assert!(allowed.contains(&c), "B, byte {i}: {c:?}, expected one of {allowed:?}");
            }
            None => assert_eq!(by_b.unwrap().record["billing"], record()["billing"]),
        }
    }
    // A trailing byte.
    let mut longer = bytes.clone();
    longer.push(0);
    let mut t = sealed.clone();
    set(&mut t, "/_phiseal", Value::String(format!("phe1.{}", Base64UrlUnpadded::encode_string(&longer))));
    assert_eq!(code(f.open(&t)), ErrorCode::MalformedInput);
}

#[test]
fn truncated_or_bad_envelopes() {
    let f = fx();
    let sealed = f.seal_a(&record(), "rec");
    let env = s(&sealed, "/_phiseal");
    for n in 0..env.len() {
        let mut t = sealed.clone();
        set(&mut t, "/_phiseal", Value::String(env[..n].to_owned()));
        let c = code(f.open(&t));
        let expected = if n == 3 || n == 4 { ErrorCode::Unsupported } else { ErrorCode::MalformedInput };
        assert_eq!(c, expected, "truncated to {n}");
        assert_eq!(code(field::inspect(&t)), expected, "inspect truncated to {n}");
    }
    let mut t = sealed.clone();
    set(&mut t, "/_phiseal", Value::String(format!("phe2.{}", &env[5..])));
    assert_eq!(code(f.open(&t)), ErrorCode::Unsupported);
    assert_eq!(code(field::inspect(&t)), ErrorCode::Unsupported);
    for bad in [json!(5), json!(null), json!({"x": 1}), json!("PHE1.abc"), json!(format!("{env}=="))] {
        let mut t = sealed.clone();
        set(&mut t, "/_phiseal", bad.clone());
        assert_eq!(code(f.open(&t)), ErrorCode::MalformedInput, "{bad}");
    }
    let mut t = sealed.clone();
    t.as_object_mut().unwrap().remove("_phiseal");
    assert_eq!(code(f.open(&t)), ErrorCode::MalformedInput);
    for not_object in [json!([]), json!("phe1.x"), json!(null)] {
        assert_eq!(code(f.open(&not_object)), ErrorCode::InvalidArgument);
        assert_eq!(code(field::inspect(&not_object)), ErrorCode::InvalidArgument);
    }
}

#[test]
fn swapped_moved_deleted_added_or_plaintext_fields_fail() {
    let f = fx();
    let rec = record();
    let sealed = f.seal_a(&rec, "rec-1");
    let check = |t: &Value, what: &str| assert_eq!(code(f.open(t)), ErrorCode::DecryptFailed, "{what}");

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
    }
    // Move random / blind fields from another record (same schema and values, other id).
    let other = f.seal_a(&rec, "rec-2");
    for p in ["/notes", "/billing/card", "/diagnoses/0/detail", "/patient/ssn", "/billing/account"] {
        let mut t = sealed.clone();
        set(&mut t, p, other.pointer(p).unwrap().clone());
        check(&t, &format!("moved {p}"));
    }
    // Same record sealed twice (same id): swapping envelopes fails.
    let twin = f.seal_a(&rec, "rec-1");
    let mut t = sealed.clone();
    set(&mut t, "/_phiseal", twin["_phiseal"].clone());
    check(&t, "envelope of the twin");
    let mut t = sealed.clone();
    set(&mut t, "/_phiseal", other["_phiseal"].clone());
    check(&t, "envelope of another record");
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
    let mut t = sealed.clone();
    t.pointer_mut("/diagnoses").unwrap().as_array_mut().unwrap().pop();
    check(&t, "removed element");
    // Replace a sealed field by plaintext (strings, other types, other prefixes).
    for p in POINTERS {
        for v in [json!("plain"), json!(12345), json!(null), json!({"a": 1}), json!(["x"]), json!("phs2.AAAA")] {
            let mut t = sealed.clone();
            set(&mut t, p, v.clone());
            check(&t, &format!("plaintext {v} at {p}"));
        }
    }
    for p in ["/notes", "/billing/card"] {
        let mut t = sealed.clone();
        let body = s(&sealed, p)[5..].to_owned();
        set(&mut t, p, Value::String(format!("phs2.{body}")));
        check(&t, "phs2");
    }
    // Non-PHI changes are not part of the seal.
    let mut t = sealed.clone();
    support_json::put(&mut t, "visit", json!(4));
    assert_eq!(f.open(&t).unwrap().record["visit"], json!(4));
}

/// docs/FORMAT.md §5.3: deterministic strings are bound to schema id and
/// path only (equal values give equal strings across records), so they can
/// be copied between elements of one path or between records. This pins
/// that documented limit; the field set (`fields_digest`) is still checked.
#[test]
fn deterministic_strings_cannot_move_between_elements_or_records() {
    let f = fx();
    let sealed = f.seal_a(&record(), "rec-1");
    let mut t = sealed.clone();
    set(&mut t, "/diagnoses/0/code", sealed["diagnoses"][1]["code"].clone());
    set(&mut t, "/diagnoses/1/code", sealed["diagnoses"][0]["code"].clone());
    assert_eq!(code(f.open(&t)), ErrorCode::DecryptFailed, "swapped between elements");
    let mut other_rec = record();
    set(&mut other_rec, "/patient/name", json!("Grace Hopper"));
    let other = f.seal_a(&other_rec, "rec-2");
    let mut t = sealed.clone();
    set(&mut t, "/patient/name", other["patient"]["name"].clone());
    assert_eq!(code(f.open(&t)), ErrorCode::DecryptFailed, "copied from another record");
    // Equal values still give equal strings across records (the point of the mode).
    let twin = f.seal_a(&record(), "rec-3");
    assert_eq!(twin["patient"]["name"], sealed["patient"]["name"]);
    // Nor to another path, nor as an extra field.
    let mut t = sealed.clone();
    set(&mut t, "/patient/name", sealed["diagnoses"][0]["code"].clone());
    assert_eq!(code(f.open(&t)), ErrorCode::DecryptFailed);
    let mut t = sealed.clone();
    set(&mut t, "/diagnoses/2/code", Value::Null);
    t.pointer_mut("/diagnoses")
        .unwrap()
        .as_array_mut()
        .unwrap()
        .push(support_json::obj(&[("code", &sealed["diagnoses"][2]["code"])]));
    assert_eq!(code(f.open(&t)), ErrorCode::DecryptFailed);
}

#[test]
fn wrong_schema_on_open() {
    let f = fx();
    let sealed = f.seal_a(&record(), "rec");
    let other_id = schema(&SCHEMA.replace("\"intake\"", "\"intake2\"")).unwrap();
    let other_version = schema(&SCHEMA.replace("\"version\":3", "\"version\":4")).unwrap();
    for sc in [&other_id, &other_version] {
        assert_eq!(code(field::open_record(&sealed, sc, &f.a, Some(&f.ik))), ErrorCode::InvalidArgument);
        assert_eq!(code(field::rewrap_record(&sealed, sc, &f.a, &[all(&f.a)])), ErrorCode::InvalidArgument);
    }
    // Same id and version but another field set or mode: authentication fails.
    let fewer = schema(&SCHEMA.replace(r#""notes": {"mode":"random","group":"clinical"},"#, "")).unwrap();
    assert_eq!(code(field::open_record(&sealed, &fewer, &f.a, Some(&f.ik))), ErrorCode::DecryptFailed);
    let regrouped = schema(&SCHEMA.replace(r#""group":"billing""#, r#""group":"finance""#)).unwrap();
    assert_eq!(code(field::open_record(&sealed, &regrouped, &f.a, Some(&f.ik))), ErrorCode::DecryptFailed);
    let remoded =
        schema(&SCHEMA.replace(r#""notes": {"mode":"random""#, r#""notes": {"mode":"deterministic""#)).unwrap();
    assert_eq!(code(field::open_record(&sealed, &remoded, &f.a, Some(&f.ik))), ErrorCode::DecryptFailed);
    // Structure that does not match the schema.
    let mut t = sealed.clone();
    support_json::put(&mut t, "patient", json!("Ada"));
    assert_eq!(code(f.open(&t)), ErrorCode::InvalidArgument);
    let mut t = sealed.clone();
    support_json::put(&mut t, "diagnoses", json!({"0": {"code": "x"}}));
    assert_eq!(code(f.open(&t)), ErrorCode::InvalidArgument);
}

// ---------------------------------------------------------------- plan APIs

#[test]
fn plan_apis_check_their_results() {
    let f = fx();
    let rec = record();
    let opts = SealOptions::new("rec", vec![all(&f.a), only(&f.b, &["billing"])], CREATED);
    let (plan, jobs) = field::plan_seal(&rec, &f.schema, &opts, Some(&f.ik)).unwrap();
    assert_eq!(jobs.len(), 3); // billing: A, B; clinical: A
    let wrapped: Vec<_> = jobs.iter().map(|j| j.run().unwrap()).collect();
    assert_eq!(code(plan.finish(&wrapped[..2])), ErrorCode::InvalidArgument);
    let (plan, jobs) = field::plan_seal(&rec, &f.schema, &opts, Some(&f.ik)).unwrap();
    let mut wrapped = jobs.iter().map(WrapJob::run).collect::<phiseal::Result<Vec<_>>>().unwrap();
    wrapped.swap(0, 1); // A's and B's billing wraps exchanged
    let swapped = plan.finish(&wrapped).unwrap();
    assert_eq!(code(f.open(&swapped)), ErrorCode::DecryptFailed);
    assert_eq!(code(field::open_record(&swapped, &f.schema, &f.b, None)), ErrorCode::DecryptFailed);

    let sealed = f.seal(&rec, "rec");
    let (plan, jobs) = field::plan_open(&sealed, &f.schema, f.a.public_key()).unwrap();
    assert_eq!(plan.groups(), ["billing", "clinical"]);
    let deks: Vec<_> = jobs.iter().map(|j| j.run(&f.a).unwrap()).collect();
    assert_eq!(code(plan.finish(&f.schema, &deks[..1], Some(&f.ik))), ErrorCode::InvalidArgument);
    let (plan, _) = field::plan_open(&sealed, &f.schema, f.a.public_key()).unwrap();
    let short = vec![zeroize::Zeroizing::new(vec![0u8; 31]), deks[1].clone()];
    assert_eq!(code(plan.finish(&f.schema, &short, Some(&f.ik))), ErrorCode::DecryptFailed);
    let (plan, _) = field::plan_open(&sealed, &f.schema, f.a.public_key()).unwrap();
    let reversed = vec![deks[1].clone(), deks[0].clone()];
    assert_eq!(code(plan.finish(&f.schema, &reversed, Some(&f.ik))), ErrorCode::DecryptFailed);
    // An unwrap job run with the wrong private key.
    let (_, jobs) = field::plan_open(&sealed, &f.schema, f.a.public_key()).unwrap();
    assert_eq!(code(jobs[0].run(&f.b)), ErrorCode::DecryptFailed);
    let (plan, _) = field::plan_open(&sealed, &f.schema, f.a.public_key()).unwrap();
    assert_eq!(plan.finish(&f.schema, &deks, Some(&f.ik)).unwrap().record, rec);
}

// ---------------------------------------------------------------- rewrap and rekey

#[test]
fn rewrap_changes_recipients_not_fields() {
    let f = fx();
    let rec = record();
    let sealed = f.seal(&rec, "rec");
    let c = PrivateKey::generate().unwrap();
    let rewrapped = field::rewrap_record(&sealed, &f.schema, &f.a, &[all(&c), only(&f.b, &["billing"])]).unwrap();
    for p in POINTERS {
        assert_eq!(s(&rewrapped, p), s(&sealed, p), "{p} changed");
    }
    assert_ne!(s(&rewrapped, "/_phiseal"), s(&sealed, "/_phiseal"));
    let h = field::inspect(&rewrapped).unwrap();
    assert_eq!(h.epoch, 1);
    assert_eq!(h.created, CREATED);
    assert_eq!(field::open_record(&rewrapped, &f.schema, &c, Some(&f.ik)).unwrap().record, rec);
    assert_eq!(code(f.open(&rewrapped)), ErrorCode::NotRecipient);
    let by_b = field::open_record(&rewrapped, &f.schema, &f.b, None).unwrap();
    assert_eq!(by_b.record["billing"], rec["billing"]);
    // The old envelope still opens the (unchanged) fields: rewrap is not revocation.
    assert_eq!(f.open(&sealed).unwrap().record, rec);

    // B holds only billing: cannot rewrap or rekey. A stranger is no recipient.
    assert_eq!(code(field::rewrap_record(&sealed, &f.schema, &f.b, &[all(&f.b)])), ErrorCode::Misuse);
    assert_eq!(code(field::rekey_record(&sealed, &f.schema, &f.b, &[all(&f.b)], CREATED)), ErrorCode::Misuse);
    assert_eq!(code(field::plan_rewrap(&sealed, &f.schema, f.b.public_key())), ErrorCode::Misuse);
    let stranger = PrivateKey::generate().unwrap();
    assert_eq!(code(field::rewrap_record(&sealed, &f.schema, &stranger, &[all(&f.a)])), ErrorCode::NotRecipient);
    // A tampered record is not rewrapped.
    let mut t = sealed.clone();
    set(&mut t, "/notes", sealed["billing"]["card"].clone());
    assert_eq!(code(field::rewrap_record(&t, &f.schema, &f.a, &[all(&f.a)])), ErrorCode::DecryptFailed);
    assert_eq!(code(field::rekey_record(&t, &f.schema, &f.a, &[all(&f.a)], CREATED)), ErrorCode::DecryptFailed);
}

#[test]
fn rekey_rotates_data_keys() {
    let f = fx();
    let rec = record();
    let sealed = f.seal(&rec, "rec");
    assert_eq!(field::inspect(&sealed).unwrap().epoch, 1);
    let rekeyed = field::rekey_record(&sealed, &f.schema, &f.a, &[all(&f.a)], CREATED).unwrap();
    let h = field::inspect(&rekeyed).unwrap();
    assert_eq!(h.epoch, 2);
    assert_eq!(h.record_id, "rec");
    assert_eq!(f.open(&rekeyed).unwrap().record, rec);
    assert_eq!(f.open(&rekeyed).unwrap().header.epoch, 2);
    assert_eq!(code(field::open_record(&rekeyed, &f.schema, &f.b, None)), ErrorCode::NotRecipient);
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
    // Old envelope with new fields, and new envelope with old fields, both fail.
    let mut t = rekeyed.clone();
    set(&mut t, "/_phiseal", sealed["_phiseal"].clone());
    assert_eq!(code(f.open(&t)), ErrorCode::DecryptFailed);
    let mut t = sealed.clone();
    set(&mut t, "/_phiseal", rekeyed["_phiseal"].clone());
    assert_eq!(code(f.open(&t)), ErrorCode::DecryptFailed);
    // One old random field spliced into the rekeyed record fails.
    let mut t = rekeyed.clone();
    set(&mut t, "/notes", sealed["notes"].clone());
    assert_eq!(code(f.open(&t)), ErrorCode::DecryptFailed);
    // Again: epoch 3.
    let again =
        field::rekey_record(&rekeyed, &f.schema, &f.a, &[all(&f.a), only(&f.b, &["billing"])], CREATED).unwrap();
    assert_eq!(field::inspect(&again).unwrap().epoch, 3);
    assert_eq!(field::open_record(&again, &f.schema, &f.b, None).unwrap().record["billing"], rec["billing"]);
}

#[test]
fn needs_rotation_is_false_after_rekey() {
    let f = fx();
    let now = CREATED + 400 * 86_400;
    let sealed = f.seal_a(&record(), "rec");
    assert!(field::needs_rotation(&sealed, 90, now).unwrap());
    let rekeyed = field::rekey_record(&sealed, &f.schema, &f.a, &[all(&f.a)], now).unwrap();
    assert!(!field::needs_rotation(&rekeyed, 90, now).unwrap(), "fresh data keys reported as old");
}

// ---------------------------------------------------------------- index key

#[test]
fn index_key_seal_and_open() {
    let f = fx();
    let c = PrivateKey::generate().unwrap();
    let recipients: Vec<PublicKey> = vec![*f.a.public_key(), *f.b.public_key()];
    let jobs = f.ik.plan_seal(&recipients).unwrap();
    assert_eq!(jobs.len(), 2);
    let wrapped: Vec<_> = jobs.iter().map(|j| j.run().unwrap()).collect();
    let sealed = f.ik.finish_seal(&recipients, &wrapped).unwrap();
    assert!(sealed.starts_with("phk1."));
    assert_eq!(code(f.ik.finish_seal(&recipients, &wrapped[..1])), ErrorCode::InvalidArgument);
    assert_eq!(code(f.ik.plan_seal(&[])), ErrorCode::InvalidArgument);

    for key in [&f.a, &f.b] {
        let (pending, job) = IndexKey::plan_open(&sealed, key.public_key()).unwrap();
        let secret = job.run(key).unwrap();
        let opened = pending.finish(&secret).unwrap();
        assert_eq!(opened.id(), f.ik.id());
        assert_eq!(opened.id_string(), f.ik.id_string());
        for (path, v) in [("patient.name", json!("Ada")), ("patient.ssn", json!("1")), ("billing.account", json!(7))] {
            assert_eq!(
                field::search_token(&f.schema, path, &v, &opened).unwrap(),
                field::search_token(&f.schema, path, &v, &f.ik).unwrap()
            );
        }
        // The opened key opens records sealed with the original.
        let rec = f.seal_a(&record(), "rec");
        assert_eq!(field::open_record(&rec, &f.schema, &f.a, Some(&opened)).unwrap().record, record());
    }
    assert_eq!(code(IndexKey::plan_open(&sealed, c.public_key())), ErrorCode::NotRecipient);
    let (pending, job) = IndexKey::plan_open(&sealed, f.a.public_key()).unwrap();
    assert_eq!(code(job.run(&f.b)), ErrorCode::DecryptFailed);
    assert_eq!(code(pending.finish(&[0u8; 31])), ErrorCode::DecryptFailed);

    assert_eq!(code(IndexKey::plan_open(&format!("phk2.{}", &sealed[5..]), f.a.public_key())), ErrorCode::Unsupported);
    assert_eq!(code(IndexKey::plan_open("xyz", f.a.public_key())), ErrorCode::MalformedInput);
    assert_eq!(code(IndexKey::plan_open(&sealed[..sealed.len() - 3], f.a.public_key())), ErrorCode::MalformedInput);
    assert_eq!(code(IndexKey::plan_open(&format!("{sealed}AAAA"), f.a.public_key())), ErrorCode::MalformedInput);
}

fn open_index_key(sealed: &str, key: &PrivateKey) -> phiseal::Result<IndexKey> {
    let (pending, job) = IndexKey::plan_open(sealed, key.public_key())?;
    pending.finish(&job.run(key)?)
}

#[test]
fn tampered_index_key_fails() {
    let f = fx();
    let recipients = [*f.a.public_key()];
    let wrapped: Vec<_> = f.ik.plan_seal(&recipients).unwrap().iter().map(|j| j.run().unwrap()).collect();
    let sealed = f.ik.finish_seal(&recipients, &wrapped).unwrap();
    assert_eq!(open_index_key(&sealed, &f.a).unwrap().id(), f.ik.id());
    // Character level: never Ok.
    for i in 0..sealed.len() {
        let c = code(open_index_key(&replace_char(&sealed, i), &f.a));
        assert!(
            [
                ErrorCode::DecryptFailed,
                ErrorCode::MalformedInput,
                ErrorCode::Unsupported,
                ErrorCode::NotRecipient,
                ErrorCode::InvalidKey
            ]
            .contains(&c),
            "char {i}: {c:?}"
        );
    }
    // Byte level, by region: version, id, count, kid, enc, ct.
    let bytes = Base64UrlUnpadded::decode_vec(&sealed[5..]).unwrap();
    assert_eq!(bytes.len(), 1 + 16 + 1 + 32 + 97 + 48);
    for i in 0..bytes.len() {
        let mut b = bytes.clone();
        b[i] ^= 0x01;
        let c = code(open_index_key(&format!("phk1.{}", Base64UrlUnpadded::encode_string(&b)), &f.a));
        let allowed: &[ErrorCode] = match i {
            0 => &[ErrorCode::Unsupported],
            1..=16 => &[ErrorCode::DecryptFailed],
            17 => &[ErrorCode::MalformedInput],
            18..=49 => &[ErrorCode::NotRecipient],
            50..=146 => &[ErrorCode::DecryptFailed, ErrorCode::InvalidKey],
            _ => &[ErrorCode::DecryptFailed],
        };
        assert!(allowed.contains(&c), "byte {i}: {c:?}");
    }
}

#[test]
fn index_key_debug_does_not_print_the_key() {
    let f = fx();
    let recipients = [*f.a.public_key()];
    let wrapped: Vec<_> = f.ik.plan_seal(&recipients).unwrap().iter().map(|j| j.run().unwrap()).collect();
    let sealed = f.ik.finish_seal(&recipients, &wrapped).unwrap();
    let (_, job) = IndexKey::plan_open(&sealed, f.a.public_key()).unwrap();
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
    let old = field::seal_record(&record(), &f.schema, &opts, Some(&f.ik)).unwrap();
    assert!(field::needs_rotation(&old, 365, CREATED).unwrap());
    assert_eq!(field::inspect(&old).unwrap().created, 1_000);
    // Not sealed at all.
    assert!(field::needs_rotation(&record(), 90, CREATED).unwrap());
    assert!(field::needs_rotation(&json!({}), 90, CREATED).unwrap());
    // Broken envelopes and non-records are errors, not "rotate".
    let mut t = sealed.clone();
    support_json::put(&mut t, "_phiseal", json!("phe1.AQ")); // version 1, then truncated
    assert_eq!(code(field::needs_rotation(&t, 90, CREATED)), ErrorCode::MalformedInput);
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
    let by_b = field::open_record(&sealed, &f.schema, &f.b, None).unwrap();
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
    let opts = SealOptions::new("rec", vec![all(&a), only(&b, &["g2"])], CREATED);
    let sealed = field::seal_record(&rec, &sc, &opts, None).unwrap();
    assert_eq!(sealed["a"]["b"], json!("not phi"));
    assert!(s(&sealed, "/a~1b").starts_with("phs1."));
    assert!(s(&sealed, "/list/1/~0~1").starts_with("phs1."));
    let by_b = field::open_record(&sealed, &sc, &b, None).unwrap();
    let pointers: Vec<&str> = by_b.locked.iter().map(|l| l.pointer.as_str()).collect();
    assert_eq!(pointers, ["/a~1b", "/list/0/~0~1", "/list/1/~0~1", "/x~0y/z"]);
    assert!(by_b.locked.iter().all(|l| l.reason == "g1"));
    for p in &pointers {
        assert_eq!(s(&by_b.record, p), s(&sealed, p));
    }
    assert_eq!(field::open_record(&sealed, &sc, &a, None).unwrap().record, rec);
    // Swapping the escaped key's field with the nested one fails (pointers are in the AAD).
    let mut t = sealed.clone();
    set(&mut t, "/a~1b", sealed["x~y"]["z"].clone());
    set(&mut t, "/x~0y/z", sealed["a/b"].clone());
    assert_eq!(code(field::open_record(&t, &sc, &a, None)), ErrorCode::DecryptFailed);
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
