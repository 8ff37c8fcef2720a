//! Property tests (issue #11): seal/open round trips for random records,
//! schemas, recipient sets, encryption contexts and versions; every
//! single-bit flip and every truncation of a sealed record, SFrame frame,
//! stream, HPKE message and audit log is rejected (records and index keys
//! with the codes docs/FORMAT.md §5.4 / §5.5 allow); another context, record
//! id, author or signature is refused; random bytes and strings into every
//! parser give a typed error, never a panic.
//!
//! Case counts are kept small so the file runs in well under a minute in the
//! dev profile; the exhaustive flips run over deterministic positions, the
//! random inputs come from proptest (a failure prints a minimal case).
// A native suite (`cargo test`); in wasm32 this file compiles to nothing, so
// `wasm-pack test` builds every test target and runs tests/web.rs.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

#[macro_use]
#[path = "support/json.rs"]
mod support_json;
use std::panic::{AssertUnwindSafe, catch_unwind};

use base64ct::{Base64UrlUnpadded, Encoding as _};
use phiseal::audit::{self, AuditLog, Entry, Verifier, verify_log};
use phiseal::field::{self, Context, Expected, IndexKey, Recipient, Schema, SealOptions};
use phiseal::hpke::{self, Suite};
use phiseal::json::Value;
use phiseal::keys::{Jwk, PrivateKey, PublicKey};
use phiseal::media::sframe::{CipherSuite, SframeHeader, SframeKey, SframeReceiver, SframeSender};
use phiseal::media::stream::{StreamDecryptor, StreamEncryptor, StreamHeader, open_segment};
use phiseal::sign::{self, SigningKey};
use phiseal::{Error, ErrorCode};
use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::{Value as SValue, json as sjson};

const CREATED: u64 = 1_700_000_000;

fn config(cases: u32) -> Config {
    Config { cases, failure_persistence: None, ..Config::default() }
}

/// Runs `f`, failing the test (not aborting it) if it panics.
#[track_caller]
fn no_panic<T>(what: &str, f: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(v) => v,
        Err(_) => panic!("{what} panicked"),
    }
}

/// A typed error: a known code and a non-empty static message.
#[track_caller]
fn typed(e: &Error) {
    assert!(!e.code().as_str().is_empty());
    assert!(!e.message().is_empty());
    assert!(e.to_string().starts_with(e.code().as_str()));
}

/// The call must fail, with a typed error, without panicking.
#[track_caller]
fn rejected<T>(what: &str, f: impl FnOnce() -> phiseal::Result<T>) -> ErrorCode {
    match no_panic(what, f) {
        Ok(_) => panic!("{what}: accepted"),
        Err(e) => {
            typed(&e);
            e.code()
        }
    }
}

/// The call may succeed or fail, but an error is typed and nothing panics.
#[track_caller]
fn total<T>(what: &str, f: impl FnOnce() -> phiseal::Result<T>) {
    if let Err(e) = no_panic(what, f) {
        typed(&e);
    }
}

fn b64(bytes: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(bytes)
}

fn unb64(s: &str) -> Vec<u8> {
    Base64UrlUnpadded::decode_vec(s).unwrap()
}

/// Bit positions to flip in `len` bytes: every bit of the first and last
/// `edge` bytes (headers, tags, MACs: everything when `len <= 2 * edge`),
/// and one bit of every byte in between (the bit index cycling through 0..8),
/// which keeps the tests that need an ECDH per attempt fast.
fn bit_positions(len: usize, edge: usize) -> Vec<usize> {
    let mut out = Vec::new();
    for byte in 0..len {
        if byte < edge || byte + edge >= len {
            out.extend(byte * 8..byte * 8 + 8);
        } else {
            out.push(byte * 8 + byte % 8);
        }
    }
    out
}

fn flip(bytes: &[u8], bit: usize) -> Vec<u8> {
    let mut v = bytes.to_vec();
    v[bit / 8] ^= 1 << (bit % 8);
    v
}

// ---------------------------------------------------------------------------
// Sealed records: random records, schemas and recipients
// ---------------------------------------------------------------------------

/// Candidate PHI paths; a schema takes a random subset (no path inside another).
const PATHS: [&str; 7] = ["a", "b", "n.x", "n.y", "list[].v", "list[].w", "m[][]"];
const GROUPS: [&str; 3] = ["default", "clinical", "billing"];

fn leaf() -> impl Strategy<Value = SValue> {
    prop_oneof![
        Just(SValue::Null),
        any::<bool>().prop_map(SValue::from),
        any::<i64>().prop_map(SValue::from),
        (-1.0e15f64..1.0e15).prop_map(SValue::from),
        "(?s).{0,24}".prop_map(SValue::from),
        prop::collection::vec(any::<u8>(), 0..6).prop_map(|v| sjson!(v)),
        ("[a-z]{1,4}", any::<i32>(), "(?s).{0,6}").prop_map(|(k, n, s)| sjson!({ k: n, "s": s })),
    ]
}

fn maybe_leaf() -> impl Strategy<Value = Option<SValue>> {
    prop::option::weighted(0.8, leaf())
}

fn record() -> impl Strategy<Value = Value> {
    record_serde().prop_map(|v| support_json::from_serde(&v))
}

fn record_serde() -> impl Strategy<Value = SValue> {
    (
        (maybe_leaf(), maybe_leaf(), maybe_leaf(), maybe_leaf()),
        prop::collection::vec((maybe_leaf(), maybe_leaf()), 0..4),
        prop::collection::vec(prop::collection::vec(leaf(), 0..3), 0..3),
        leaf(),
    )
        .prop_map(|((a, b, x, y), list, m, other)| {
            let mut rec = serde_json::Map::new();
            let put = |map: &mut serde_json::Map<String, SValue>, k: &str, v: Option<SValue>| {
                if let Some(v) = v {
                    map.insert(k.to_owned(), v);
                }
            };
            put(&mut rec, "a", a);
            put(&mut rec, "b", b);
            let mut n = serde_json::Map::new();
            put(&mut n, "x", x);
            put(&mut n, "y", y);
            rec.insert("n".into(), SValue::Object(n));
            let items = list
                .into_iter()
                .map(|(v, w)| {
                    let mut o = serde_json::Map::new();
                    put(&mut o, "v", v);
                    put(&mut o, "w", w);
                    o.insert("keep".into(), sjson!("not phi"));
                    SValue::Object(o)
                })
                .collect();
            rec.insert("list".into(), SValue::Array(items));
            rec.insert("m".into(), sjson!(m));
            rec.insert("other".into(), other);
            SValue::Object(rec)
        })
}

/// (path, mode spec, group) for a random non-empty subset of [`PATHS`].
fn schema_json() -> impl Strategy<Value = Value> {
    schema_json_serde().prop_map(|v| support_json::from_serde(&v))
}

fn schema_json_serde() -> impl Strategy<Value = SValue> {
    let spec = (0..4u8, 1..=128u8, 0..GROUPS.len()).prop_map(|(mode, bits, g)| match mode {
        0 => sjson!({ "group": GROUPS[g] }),
        1 => sjson!({ "mode": "deterministic", "group": GROUPS[g] }),
        2 => sjson!({ "mode": "blindIndex", "bits": bits, "group": GROUPS[g] }),
        _ => sjson!({ "mode": "blindIndex", "group": GROUPS[g] }),
    });
    (prop::collection::vec(prop::option::of(spec), PATHS.len()), 0..PATHS.len(), 0..4u32).prop_map(
        |(specs, forced, version)| {
            let mut fields = serde_json::Map::new();
            for (i, (path, spec)) in PATHS.iter().zip(specs).enumerate() {
                match spec {
                    Some(s) => {
                        fields.insert((*path).to_owned(), s);
                    }
                    None if i == forced => {
                        fields.insert((*path).to_owned(), sjson!(true));
                    }
                    None => {}
                }
            }
            sjson!({ "id": "prop-schema", "version": version, "fields": fields })
        },
    )
}

/// Per recipient: `None` for every group, else a subset of [`GROUPS`] (bit mask).
fn recipients() -> impl Strategy<Value = Vec<Option<u8>>> {
    prop::collection::vec(prop::option::weighted(0.5, 0..8u8), 0..3)
}

/// A random encryption context (0–4 entries, any UTF-8 keys and values).
fn context() -> impl Strategy<Value = Context> {
    prop::collection::btree_map("(?s).{1,8}", "(?s).{0,24}", 0..5)
}

/// A record version and the previous digest it needs (none for version 1).
fn version() -> impl Strategy<Value = (u64, Option<[u8; 48]>)> {
    prop_oneof![Just((1, None)), (2..u64::MAX, any::<[u8; 48]>()).prop_map(|(v, d)| (v, Some(d)))]
}

/// Puts the original value back at every locked pointer.
fn unlock(opened: &field::Opened, original: &Value) -> Value {
    let mut rec = opened.record.clone();
    for l in &opened.locked {
        *rec.pointer_mut(&l.pointer).unwrap() = original.pointer(&l.pointer).unwrap().clone();
    }
    rec
}

#[test]
fn random_records_schemas_and_recipients_round_trip() {
    let keys: Vec<PrivateKey> = (0..3).map(|_| PrivateKey::generate().unwrap()).collect();
    let ik = IndexKey::generate().unwrap();
    let author = SigningKey::generate().unwrap();
    let authors = [author.verifying_key()];
    proptest!(config(24), |(rec in record(), schema in schema_json(), extra in recipients(),
                            context in context(), (version, previous) in version())| {
        let schema = Schema::from_value(&schema).unwrap();
        let schema_groups = schema.groups();
        // Recipient 0 reads every group; the others random subsets (possibly
        // groups the schema does not use, which are ignored or refused).
        let mut list = vec![Recipient::all_groups(*keys[0].public_key())];
        for (i, mask) in extra.iter().enumerate() {
            let groups = mask.map(|m| {
                GROUPS.iter().enumerate().filter(|(g, _)| m >> g & 1 == 1).map(|(_, g)| (*g).to_owned()).collect::<Vec<_>>()
            });
            list.push(Recipient { key: *keys[i + 1].public_key(), groups });
        }
        let opts = SealOptions {
            context: context.clone(),
            version,
            previous,
            ..SealOptions::new("rec-prop", list.clone(), CREATED)
        };
        let expected = Expected { context: context.clone(), ..Expected::new("rec-prop", &authors) };
        let sealed = match field::seal_record(&rec, &schema, &opts, Some(&ik), &author) {
            Ok(s) => s,
            Err(e) => {
                // Only a recipient naming a group the schema lacks (or none) is refused.
                typed(&e);
                prop_assert_eq!(e.code(), ErrorCode::InvalidArgument, "{:?}", e);
                prop_assert!(list.iter().any(|r| r.groups.as_ref().is_some_and(|g| {
                    g.iter().any(|x| !schema_groups.contains(&x.as_str()))
                })), "{:?}", e);
                return Ok(());
            }
        };
        // No PHI left in the clear.
        prop_assert_eq!(field::verify_all_phi_encrypted(&sealed, &schema).unwrap(), Vec::<String>::new());
        // The full recipient gets the record back exactly.
        let opened = field::open_record(&sealed, &schema, &keys[0], Some(&ik), &expected).unwrap();
        prop_assert!(opened.locked.is_empty(), "{:?}", opened.locked);
        prop_assert_eq!(&opened.record, &rec);
        // The header carries what was sealed, authenticated.
        prop_assert_eq!(&opened.header.context, &context);
        prop_assert_eq!((opened.header.version, opened.header.previous), (version, previous));
        prop_assert_eq!(opened.header.author, author.verifying_key().thumbprint());
        // Without the index key, deterministic fields stay locked; the rest opens.
        if let Ok(partial) = field::open_record(&sealed, &schema, &keys[0], None, &expected) {
            prop_assert!(partial.locked.iter().all(|l| l.reason == "indexKey"));
            prop_assert_eq!(unlock(&partial, &rec), rec.clone());
        }
        // Partial recipients read exactly their groups, the rest is locked.
        for (i, r) in list.iter().enumerate().skip(1) {
            let opened = field::open_record(&sealed, &schema, &keys[i], Some(&ik), &expected);
            if r.groups.as_ref().is_some_and(Vec::is_empty) {
                prop_assert_eq!(opened.unwrap_err().code(), ErrorCode::NotRecipient);
                continue;
            }
            let opened = opened.unwrap();
            for l in &opened.locked {
                prop_assert!(r.groups.as_ref().is_some_and(|g| !g.contains(&l.reason)), "{:?} {:?}", l, r.groups);
            }
            prop_assert_eq!(unlock(&opened, &rec), rec.clone());
        }
    });
}

/// A record with every mode, sealed to one recipient.
struct Sealed {
    schema: Schema,
    key: PrivateKey,
    ik: IndexKey,
    author: SigningKey,
    authors: Vec<PublicKey>,
    sealed: Value,
    deks: Vec<zeroize::Zeroizing<Vec<u8>>>,
}

fn sealed_fixture() -> Sealed {
    let schema = Schema::from_json(
        r#"{"id":"intake","version":2,"fields":{
            "ssn":{"mode":"blindIndex","bits":16,"group":"clinical"},
            "name":{"mode":"deterministic","group":"clinical"},
            "notes":{"group":"clinical"},
            "card":{"mode":"random","group":"billing"}}}"#,
    )
    .unwrap();
    let key = PrivateKey::generate().unwrap();
    let ik = IndexKey::generate().unwrap();
    let rec = json!({"ssn":"123-45-6789","name":"Ada","notes":{"bp":[120,80]},"card":"4111111111111111","visit":3});
    let author = SigningKey::generate().unwrap();
    let authors = vec![author.verifying_key()];
    let opts = SealOptions::new("rec-1", vec![Recipient::all_groups(*key.public_key())], CREATED);
    let sealed = field::seal_record(&rec, &schema, &opts, Some(&ik), &author).unwrap();
    let (_, _, jobs) = field::plan_open(&sealed, &schema, key.public_key(), &Expected::new("rec-1", &authors)).unwrap();
    let deks = jobs.iter().map(|j| j.run(&key).unwrap()).collect();
    Sealed { schema, key, ik, author, authors, sealed, deks }
}

impl Sealed {
    /// Opens the record with `member` replaced: the envelope with a full
    /// `open_record` (HPKE unwraps included), a field with the data keys
    /// unwrapped once from the genuine envelope (the same opener code, minus
    /// the ECDH per attempt).
    fn open_with(&self, member: &str, text: String) -> phiseal::Result<field::Opened> {
        let mut v = self.sealed.clone();
        support_json::put(&mut v, member, Value::String(text));
        self.open_value(&v, member == field::ENVELOPE_MEMBER)
    }

    fn expected(&self) -> Expected<'_> {
        Expected::new("rec-1", &self.authors)
    }

    /// `full`: with `open_record`; else the plan API with the data keys
    /// unwrapped beforehand (the signature is still checked).
    fn open_value(&self, v: &Value, full: bool) -> phiseal::Result<field::Opened> {
        if full {
            return field::open_record(v, &self.schema, &self.key, Some(&self.ik), &self.expected());
        }
        let (plan, verify, _) = field::plan_open(v, &self.schema, self.key.public_key(), &self.expected())?;
        plan.finish(&self.schema, &verify.run()?, &self.deks, Some(&self.ik))
    }
}

/// What a changed envelope may be refused with: docs/FORMAT.md §5.4 steps
/// 1–8 (parsing, schema, record id and context, author, content, recipient,
/// signature). The signature is checked before any key is unwrapped, so
/// DECRYPT_FAILED cannot occur, nor STALE_VERSION without a minimum.
const ENVELOPE_CODES: &[ErrorCode] = &[
    ErrorCode::MalformedInput,
    ErrorCode::Unsupported,
    ErrorCode::ContextMismatch,
    ErrorCode::UntrustedAuthor,
    ErrorCode::InvalidSignature,
    ErrorCode::NotRecipient,
];

/// Parse failures only: truncations.
const PARSE_CODES: &[ErrorCode] = &[ErrorCode::MalformedInput, ErrorCode::Unsupported];

/// What a changed sealed index key may be refused with (FORMAT.md §5.5):
/// checked before its key is unwrapped.
const INDEX_KEY_CODES: &[ErrorCode] = &[
    ErrorCode::MalformedInput,
    ErrorCode::Unsupported,
    ErrorCode::UntrustedAuthor,
    ErrorCode::NotRecipient,
    ErrorCode::InvalidSignature,
];

#[track_caller]
fn one_of(what: &str, c: ErrorCode, allowed: &[ErrorCode]) {
    assert!(allowed.contains(&c), "{what}: {c:?}, expected one of {allowed:?}");
}

/// The sealed string's prefix and decoded body (a blind index string keeps
/// its `index.` part in the prefix).
fn split_sealed(s: &str) -> (String, Vec<u8>) {
    let cut = s.rfind('.').unwrap() + 1;
    (s[..cut].to_owned(), unb64(&s[cut..]))
}

#[test]
fn every_bit_flip_and_truncation_of_a_sealed_record_is_rejected() {
    let fx = sealed_fixture();
    assert!(field::open_record(&fx.sealed, &fx.schema, &fx.key, Some(&fx.ik), &fx.expected()).is_ok());
    for member in ["_phiseal", "ssn", "name", "notes", "card"] {
        let text = fx.sealed[member].as_str().unwrap().to_owned();
        let (prefix, body) = split_sealed(&text);
        let envelope = member == field::ENVELOPE_MEMBER;
        // v2: any change of a field string is refused by the content digest
        // under the author's signature, before any decryption (§5.4 step 5).
        let (flipped, cut): (&[ErrorCode], &[ErrorCode]) = if envelope {
            (ENVELOPE_CODES, PARSE_CODES)
        } else {
            (&[ErrorCode::InvalidSignature], &[ErrorCode::InvalidSignature])
        };
        // The envelope: every bit of its first and last 40 bytes (header
        // start, signature), one bit per byte between. Each field: every bit.
        let edge = if envelope { 40 } else { body.len() };
        for bit in bit_positions(body.len(), edge) {
            let bad = format!("{prefix}{}", b64(&flip(&body, bit)));
            let c = rejected(&format!("{member} bit {bit}"), || fx.open_with(member, bad));
            one_of(&format!("{member} bit {bit}"), c, flipped);
        }
        // Every truncation of the decoded bytes, and of the text itself.
        for len in 0..body.len() {
            let bad = format!("{prefix}{}", b64(&body[..len]));
            let c = rejected(&format!("{member} cut to {len} bytes"), || fx.open_with(member, bad));
            one_of(&format!("{member} cut to {len} bytes"), c, cut);
        }
        for len in 0..text.len() {
            let c = rejected(&format!("{member} cut to {len} chars"), || fx.open_with(member, text[..len].to_owned()));
            one_of(&format!("{member} cut to {len} chars"), c, cut);
        }
    }
    // The blind index part of a blind-index field is signed too.
    let ssn = fx.sealed["ssn"].as_str().unwrap().to_owned();
    let (index, rest) = ssn.strip_prefix("phb1.").unwrap().split_once('.').unwrap();
    let index = unb64(index);
    for bit in 0..index.len() * 8 {
        let bad = format!("phb1.{}.{rest}", b64(&flip(&index, bit)));
        let c = rejected(&format!("blind index bit {bit}"), || fx.open_with("ssn", bad));
        assert_eq!(c, ErrorCode::InvalidSignature, "blind index bit {bit}");
    }
}

#[test]
fn any_single_byte_change_of_the_envelope_is_refused_with_a_documented_code() {
    let fx = sealed_fixture();
    let envelope = fx.sealed["_phiseal"].as_str().unwrap().to_owned();
    let body = unb64(envelope.strip_prefix("phe2.").unwrap());
    proptest!(config(256), |(at in any::<prop::sample::Index>(), byte in any::<u8>())| {
        let i = at.index(body.len());
        prop_assume!(body[i] != byte);
        let mut bad = body.clone();
        bad[i] = byte;
        let mut v = fx.sealed.clone();
        support_json::put(&mut v, "_phiseal", Value::String(format!("phe2.{}", b64(&bad))));
        // The plan API with the data keys unwrapped beforehand: every check
        // (the unwraps would come after the signature anyway).
        let c = rejected(&format!("byte {i} = {byte}"), || fx.open_value(&v, false));
        prop_assert!(ENVELOPE_CODES.contains(&c), "byte {} = {}: {:?}", i, byte, c);
    });
    // And with the full opener (HPKE unwraps included) at a few positions of every region.
    let len = body.len();
    for i in [0, 7, 9, 20, 60, 90, 120, 150, 200, len / 2, len - 200, len - 100, len - 96, len - 1] {
        let mut bad = body.clone();
        bad[i] ^= 0x80;
        let mut v = fx.sealed.clone();
        support_json::put(&mut v, "_phiseal", Value::String(format!("phe2.{}", b64(&bad))));
        let c = rejected(&format!("byte {i}"), || fx.open_value(&v, true));
        one_of(&format!("byte {i}"), c, ENVELOPE_CODES);
    }
}

#[test]
fn random_contexts_and_versions_round_trip_and_any_other_context_is_a_mismatch() {
    let fx = sealed_fixture();
    let rec = json!({"ssn":"1","name":"Ada","notes":[1,{"a":null}],"card":"4111","visit":3});
    let to = vec![Recipient::all_groups(*fx.key.public_key())];
    proptest!(config(48), |(context in context(), other in context(), (version, previous) in version(),
                            id in "(?s).{1,16}", other_id in "(?s).{1,16}", min in 0..4u64)| {
        let opts = SealOptions { context: context.clone(), version, previous, ..SealOptions::new(&id, to.clone(), CREATED) };
        let sealed = field::seal_record(&rec, &fx.schema, &opts, Some(&fx.ik), &fx.author).unwrap();
        let expected = Expected { context: context.clone(), ..Expected::new(&id, &fx.authors) };
        let open = |e: &Expected<'_>| field::open_record(&sealed, &fx.schema, &fx.key, Some(&fx.ik), e);
        let opened = open(&expected).unwrap();
        prop_assert_eq!(&opened.record, &rec);
        prop_assert_eq!(&opened.header.context, &context);
        prop_assert_eq!(&opened.header.record_id, &id);
        prop_assert_eq!((opened.header.version, opened.header.previous), (version, previous));
        prop_assert_eq!(field::inspect(&sealed).unwrap(), opened.header.clone());
        // Another context, or another record id: CONTEXT_MISMATCH.
        if other != context {
            let e = Expected { context: other.clone(), ..Expected::new(&id, &fx.authors) };
            prop_assert_eq!(open(&e).unwrap_err().code(), ErrorCode::ContextMismatch);
        }
        if other_id != id {
            let e = Expected { context: context.clone(), ..Expected::new(&other_id, &fx.authors) };
            prop_assert_eq!(open(&e).unwrap_err().code(), ErrorCode::ContextMismatch);
        }
        // A minimum version above this one: STALE_VERSION; at or below: opens.
        let e = Expected { min_version: min, ..expected.clone() };
        if min > version {
            prop_assert_eq!(open(&e).unwrap_err().code(), ErrorCode::StaleVersion);
        } else {
            prop_assert!(open(&e).is_ok());
        }
    });
}

#[test]
fn signatures_by_other_keys_changed_signatures_and_untrusted_authors_are_refused() {
    let fx = sealed_fixture();
    let others: Vec<SigningKey> = (0..3).map(|_| SigningKey::generate().unwrap()).collect();
    let envelope = fx.sealed["_phiseal"].as_str().unwrap().to_owned();
    let body = unb64(envelope.strip_prefix("phe2.").unwrap());
    let (signed, signature) = body.split_at(body.len() - 96);
    proptest!(config(64), |(at in 0..96usize, x in 1..=255u8, trusted in prop::collection::vec(0..4usize, 0..4))| {
        // One byte of the signature changed.
        let mut sig = signature.to_vec();
        sig[at] ^= x;
        let bad = format!("phe2.{}", b64(&[signed, &sig[..]].concat()));
        prop_assert_eq!(rejected("signature byte", || fx.open_with("_phiseal", bad)), ErrorCode::InvalidSignature);
        // A random list of trusted authors: the record opens exactly when its author is in it.
        let authors: Vec<PublicKey> =
            trusted.iter().map(|&i| if i == 3 { fx.author.verifying_key() } else { others[i].verifying_key() }).collect();
        let r = field::open_record(&fx.sealed, &fx.schema, &fx.key, Some(&fx.ik), &Expected::new("rec-1", &authors));
        if trusted.contains(&3) {
            prop_assert!(r.is_ok());
        } else {
            prop_assert_eq!(r.unwrap_err().code(), ErrorCode::UntrustedAuthor);
        }
    });
    // A valid signature by another key over the same header and wraps.
    let mut labelled = vec![27u8];
    labelled.extend_from_slice(b"phiseal-record-v2 signature");
    labelled.extend_from_slice(signed);
    for other in &others {
        let forged = format!("phe2.{}", b64(&[signed, &other.sign(&labelled).unwrap()[..]].concat()));
        assert_eq!(rejected("signed by another key", || fx.open_with("_phiseal", forged)), ErrorCode::InvalidSignature);
    }
    let resigned = format!("phe2.{}", b64(&[signed, &fx.author.sign(&labelled).unwrap()[..]].concat()));
    assert!(fx.open_with("_phiseal", resigned).is_ok(), "the label and signed bytes are FORMAT.md §5.2's");
}

#[test]
fn every_bit_flip_and_truncation_of_a_sealed_index_key_is_rejected() {
    let me = PrivateKey::generate().unwrap();
    let ik = IndexKey::generate().unwrap();
    let author = SigningKey::generate().unwrap();
    let authors = [author.verifying_key()];
    let recipients = [*me.public_key()];
    let sealed = ik.seal(&recipients, &author).unwrap();
    let open = |s: &str| {
        let (plan, verify, job) = IndexKey::plan_open(s, me.public_key(), &authors)?;
        plan.finish(&verify.run()?, &job.run(&me)?)
    };
    assert_eq!(open(&sealed).unwrap().id(), ik.id());
    let body = unb64(sealed.strip_prefix("phk2.").unwrap());
    for bit in bit_positions(body.len(), 56) {
        let bad = format!("phk2.{}", b64(&flip(&body, bit)));
        let c = rejected(&format!("index key bit {bit}"), || open(&bad));
        one_of(&format!("index key bit {bit}"), c, INDEX_KEY_CODES);
    }
    for len in 0..sealed.len() {
        let c = rejected(&format!("index key cut to {len}"), || open(&sealed[..len]));
        one_of(&format!("index key cut to {len}"), c, PARSE_CODES);
    }
}

// ---------------------------------------------------------------------------
// HPKE
// ---------------------------------------------------------------------------

#[test]
fn every_bit_flip_and_truncation_of_an_hpke_message_is_rejected() {
    let key = PrivateKey::generate().unwrap();
    let (info, aad, pt) =
        (b"prop info".as_slice(), b"prop aad".as_slice(), b"forty-two bytes of patient data, or so....");
    let (enc, ct) = hpke::seal(Suite::PHISEAL, key.public_key(), info, aad, pt, None, None).unwrap();
    let open = |enc: &[u8], ct: &[u8], info: &[u8], aad: &[u8]| {
        hpke::open(Suite::PHISEAL, enc, &key, info, aad, ct, None, None)
    };
    assert_eq!(open(&enc, &ct, info, aad).unwrap(), pt);
    for bit in 0..enc.len() * 8 {
        rejected(&format!("enc bit {bit}"), || open(&flip(&enc, bit), &ct, info, aad));
    }
    for bit in 0..ct.len() * 8 {
        rejected(&format!("ct bit {bit}"), || open(&enc, &flip(&ct, bit), info, aad));
    }
    for bit in 0..aad.len() * 8 {
        rejected(&format!("aad bit {bit}"), || open(&enc, &ct, info, &flip(aad, bit)));
        rejected(&format!("info bit {bit}"), || open(&enc, &ct, &flip(info, bit), aad));
    }
    for len in 0..enc.len() {
        rejected(&format!("enc cut to {len}"), || open(&enc[..len], &ct, info, aad));
    }
    for len in 0..ct.len() {
        rejected(&format!("ct cut to {len}"), || open(&enc, &ct[..len], info, aad));
    }
}

#[test]
fn hpke_round_trips_random_messages() {
    let key = PrivateKey::generate().unwrap();
    proptest!(config(16), |(info in prop::collection::vec(any::<u8>(), 0..64),
                            aad in prop::collection::vec(any::<u8>(), 0..64),
                            pt in prop::collection::vec(any::<u8>(), 0..512))| {
        let (enc, ct) = hpke::seal(Suite::PHISEAL, key.public_key(), &info, &aad, &pt, None, None).unwrap();
        prop_assert_eq!(ct.len(), pt.len() + 16);
        prop_assert_eq!(hpke::open(Suite::PHISEAL, &enc, &key, &info, &aad, &ct, None, None).unwrap(), pt);
    });
}

// ---------------------------------------------------------------------------
// SFrame
// ---------------------------------------------------------------------------

const SFRAME_BASE_KEY: &[u8; 16] = b"prop sframe key!";

#[test]
fn every_bit_flip_and_truncation_of_an_sframe_frame_is_rejected() {
    let meta = b"rtp header";
    let pt = b"an encoded video frame, a few dozen bytes long......";
    for suite in CipherSuite::ALL {
        let mut sender = SframeSender::for_member(suite, 7, 3, SFRAME_BASE_KEY).unwrap();
        // A few frames first, so the header carries a multi-byte counter.
        for _ in 0..300 {
            sender.encrypt(meta, pt).unwrap();
        }
        let frame = sender.encrypt(meta, pt).unwrap();
        let mut receiver = SframeReceiver::new(suite);
        receiver.set_sender_key(7, 3, SFRAME_BASE_KEY).unwrap();
        // Rejected frames do not move the replay window: the genuine frame
        // still opens after all the forgeries.
        for bit in 0..frame.len() * 8 {
            rejected(&format!("{suite} frame bit {bit}"), || receiver.decrypt(meta, &flip(&frame, bit)));
        }
        for bit in 0..meta.len() * 8 {
            rejected(&format!("{suite} metadata bit {bit}"), || receiver.decrypt(&flip(meta, bit), &frame));
        }
        for len in 0..frame.len() {
            rejected(&format!("{suite} frame cut to {len}"), || receiver.decrypt(meta, &frame[..len]));
        }
        let key = SframeKey::new(suite, sender.kid(), SFRAME_BASE_KEY).unwrap();
        for bit in 0..frame.len() * 8 {
            rejected(&format!("{suite} key bit {bit}"), || key.decrypt(meta, &flip(&frame, bit)));
        }
        assert_eq!(receiver.decrypt(meta, &frame).unwrap().plaintext, pt);
        // ...once.
        rejected("replay", || receiver.decrypt(meta, &frame));
    }
}

#[test]
fn sframe_round_trips_random_frames() {
    proptest!(config(32), |(suite in 0..CipherSuite::ALL.len(), sender_id in 0..1u64 << 40, epoch in any::<u8>(),
                            meta in prop::collection::vec(any::<u8>(), 0..32),
                            frames in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 1..6))| {
        let suite = CipherSuite::ALL[suite];
        let mut sender = SframeSender::for_member(suite, sender_id, u64::from(epoch), SFRAME_BASE_KEY).unwrap();
        let mut receiver = SframeReceiver::new(suite);
        receiver.set_sender_key(sender_id, u64::from(epoch), SFRAME_BASE_KEY).unwrap();
        for pt in &frames {
            let frame = sender.encrypt(&meta, pt).unwrap();
            let got = receiver.decrypt(&meta, &frame).unwrap();
            prop_assert_eq!((got.sender_id, got.epoch), (sender_id, u64::from(epoch)));
            prop_assert_eq!(&got.plaintext, pt);
        }
    });
}

// ---------------------------------------------------------------------------
// Streams
// ---------------------------------------------------------------------------

const SEG: usize = 1024;

/// The author of the streams here, and the authors their readers trust.
fn stream_author() -> &'static SigningKey {
    static KEY: std::sync::OnceLock<SigningKey> = std::sync::OnceLock::new();
    KEY.get_or_init(|| SigningKey::generate().unwrap())
}

fn stream_authors() -> Vec<PublicKey> {
    vec![stream_author().verifying_key()]
}

fn stream_encrypt(recipients: &[PublicKey], pt: &[u8]) -> Vec<u8> {
    let mut enc = StreamEncryptor::new(recipients, SEG, stream_author()).unwrap();
    let mut out = enc.push(pt).unwrap();
    out.extend(enc.finish_signed(stream_author()).unwrap());
    out
}

fn stream_decrypt(mut dec: StreamDecryptor, ct: &[u8]) -> phiseal::Result<Vec<u8>> {
    let mut out = dec.push(ct)?;
    out.extend(dec.finish()?);
    Ok(out)
}

#[test]
fn every_bit_flip_and_truncation_of_a_stream_is_rejected() {
    let key = PrivateKey::generate().unwrap();
    let pt: Vec<u8> = (0..3 * SEG + 500).map(|i| (i * 7 + 1) as u8).collect();
    let ct = stream_encrypt(&[*key.public_key()], &pt);
    let (header, hlen) = StreamHeader::parse(&ct).unwrap().unwrap();
    let content_key = header.unwrap_job(key.public_key()).unwrap().run(&key);
    let authors = stream_authors();
    let verify = header.verify_job(&authors).unwrap();
    let verified = verify.run().unwrap();
    // A decryptor past the header without another HPKE unwrap or header signature check.
    let body_decryptor = || StreamDecryptor::from_unwrapped(&header, &verify, &verified, content_key.clone()).unwrap();
    assert_eq!(stream_decrypt(StreamDecryptor::new(&key, &authors), &ct).unwrap(), pt);
    // Header: every bit of the fixed part and of the wrapped key's tag, one
    // bit per byte between, with the full decryptor (it unwraps the key itself).
    for bit in bit_positions(hlen, 64) {
        rejected(&format!("stream header bit {bit}"), || {
            stream_decrypt(StreamDecryptor::new(&key, &authors), &flip(&ct, bit))
        });
    }
    // Segments: every bit of the first 600 bytes and of the last 600 (the
    // last full segment's tag and the whole final segment), one bit per byte
    // between.
    for bit in bit_positions(ct.len() - hlen, 600) {
        let bad = flip(&ct, hlen * 8 + bit);
        rejected(&format!("stream body bit {bit}"), || stream_decrypt(body_decryptor(), &bad[hlen..]));
    }
    // Every truncation: inside the header, at and inside every segment,
    // including the final segment's tag.
    for len in 0..ct.len() {
        if len < hlen {
            rejected(&format!("stream cut to {len}"), || {
                stream_decrypt(StreamDecryptor::new(&key, &authors), &ct[..len])
            });
        } else {
            rejected(&format!("stream cut to {len}"), || stream_decrypt(body_decryptor(), &ct[hlen..len]));
        }
    }
    // Appending anything is rejected too.
    for extra in [&[0u8][..], &[0; 16], &ct[hlen..hlen + SEG + 16]] {
        let mut long = ct.clone();
        long.extend_from_slice(extra);
        rejected("stream extended", || stream_decrypt(body_decryptor(), &long[hlen..]));
    }
}

#[test]
fn streams_round_trip_random_sizes_chunkings_and_recipients() {
    let keys: Vec<PrivateKey> = (0..3).map(|_| PrivateKey::generate().unwrap()).collect();
    proptest!(config(12), |(len in 0..4 * SEG, n in 1..=3usize, chunk in 1..2 * SEG, reader in 0..3usize)| {
        let pt: Vec<u8> = (0..len).map(|i| (i ^ (i >> 8)) as u8).collect();
        let recipients: Vec<PublicKey> = keys[..n].iter().map(|k| *k.public_key()).collect();
        let mut enc = StreamEncryptor::new(&recipients, SEG, stream_author()).unwrap();
        let mut ct = Vec::new();
        for piece in pt.chunks(chunk) {
            ct.extend(enc.push(piece).unwrap());
        }
        ct.extend(enc.finish_signed(stream_author()).unwrap());
        let mut dec = StreamDecryptor::new(&keys[reader], &stream_authors());
        let result = (|| {
            let mut out = Vec::new();
            for piece in ct.chunks(chunk) {
                out.extend(dec.push(piece)?);
            }
            out.extend(dec.finish()?);
            Ok::<_, Error>(out)
        })();
        if reader < n {
            prop_assert_eq!(result.unwrap(), pt);
        } else {
            prop_assert_eq!(result.unwrap_err().code(), ErrorCode::NotRecipient);
        }
    });
}

// ---------------------------------------------------------------------------
// Audit log
// ---------------------------------------------------------------------------

fn audit_log(n: u64, every: u64) -> (Vec<String>, SigningKey) {
    let key = SigningKey::generate().unwrap();
    let mut log = AuditLog::new("prop-log").unwrap();
    for i in 1..=n {
        let mut e = Entry::new(&format!("user-{}", i % 3), "clinician", "view", 1_700_000_000_000 + i);
        e.patient_id = Some(format!("p-{i}"));
        log.append(e).unwrap();
        if i % every == 0 {
            log.checkpoint(&key, 1_700_000_000_000 + i).unwrap();
        }
    }
    (log.to_jsonl().lines().map(str::to_owned).collect(), key)
}

#[test]
fn any_changed_character_in_an_audit_log_is_caught_at_its_line() {
    let (lines, key) = audit_log(12, 4);
    let trusted = [key.verifying_key()];
    assert!(verify_log(&(lines.join("\n") + "\n"), &trusted).valid);
    proptest!(config(256), |(line in 0..lines.len(), at in any::<prop::sample::Index>(), c in any::<char>())| {
        let original = &lines[line];
        let chars: Vec<char> = original.chars().collect();
        let at = at.index(chars.len());
        prop_assume!(chars[at] != c && c != '\n' && c != '\r');
        let mut changed = chars.clone();
        changed[at] = c;
        let mut all = lines.clone();
        all[line] = changed.into_iter().collect();
        let report = no_panic("verify_log", || verify_log(&(all.join("\n") + "\n"), &trusted));
        prop_assert!(!report.valid, "line {} char {} -> {:?} verified", line + 1, at, c);
        prop_assert_eq!(report.problem.unwrap().line, line + 1);
    });
}

#[test]
fn every_truncation_of_an_audit_log_is_rejected_or_reported_as_unsigned() {
    let (lines, key) = audit_log(12, 4);
    let trusted = [key.verifying_key()];
    let text = lines.join("\n") + "\n";
    for len in 0..text.len() {
        let cut = &text[..len];
        let report = no_panic("verify_log", || verify_log(cut, &trusted));
        let whole_lines = cut.is_empty() || cut.ends_with('\n') || text[len..].starts_with('\n');
        if !whole_lines {
            // A partial last line is never accepted as a line; the entries before it still count.
            assert!(
                !report.valid,
                "cut at {len} of {} verified: {:?}",
                text.len(),
                &cut[cut.len().saturating_sub(80)..]
            );
            continue;
        }
        // Cut between lines: valid only if the last checkpoint is intact, and
        // then everything after it is reported as the unsigned tail (the
        // documented limit of a hash chain with periodic checkpoints).
        if report.valid {
            assert_eq!(report.entries, report.last_checkpoint_seq + report.unsigned_tail);
            assert!(report.checkpoints > 0);
        }
    }
}

#[test]
fn audit_verifier_survives_random_lines() {
    let (lines, key) = audit_log(3, 3);
    let trusted = [key.verifying_key()];
    proptest!(config(256), |(garbage in "(?s).{0,200}", json in any_json(), prefix in 0..=3usize)| {
        for text in [garbage, json.to_string()] {
            let mut v = Verifier::new(&trusted);
            for l in &lines[..prefix] {
                v.push_line(l).unwrap();
            }
            let r = no_panic("push_line", || v.push_line(&text));
            if let Err(p) = r {
                prop_assert!(!p.reason.is_empty());
            }
            let _ = no_panic("finish", || v.finish());
            total("trusted_key", || audit::trusted_key(&text));
        }
    });
}

// ---------------------------------------------------------------------------
// Garbage into every parser
// ---------------------------------------------------------------------------

fn any_json() -> impl Strategy<Value = Value> {
    any_json_serde().prop_map(|v| support_json::from_serde(&v))
}

fn any_json_serde() -> impl Strategy<Value = SValue> {
    let leaf = prop_oneof![
        Just(SValue::Null),
        any::<bool>().prop_map(SValue::from),
        any::<i64>().prop_map(SValue::from),
        any::<u64>().prop_map(SValue::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(SValue::from),
        "(?s).{0,16}".prop_map(SValue::from),
        prop::sample::select(vec![
            "phe2.",
            "phe1.",
            "phs1.",
            "phd1.",
            "phb1.AAA.",
            "phk2.",
            "phk1.",
            "EC",
            "P-384",
            "_phiseal",
            "entry",
            "checkpoint",
            "random",
            "deterministic",
            "blindIndex",
        ])
        .prop_map(SValue::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(SValue::Array),
            prop::collection::vec(
                (
                    prop_oneof![
                        "[a-z_]{1,6}",
                        prop::sample::select(vec![
                            "id", "version", "fields", "mode", "bits", "group", "kty", "crv", "x", "y", "d", "type",
                            "seq", "log", "hash", "prevHash", "_phiseal",
                        ])
                        .prop_map(str::to_owned)
                    ],
                    inner
                ),
                0..6
            )
            .prop_map(|kv| SValue::Object(kv.into_iter().collect())),
        ]
    })
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..max)
}

/// Bytes that start like the real thing, so parsers get past their first check.
fn prefixed(prefixes: &'static [&'static [u8]], max: usize) -> impl Strategy<Value = Vec<u8>> {
    (prop::sample::select(prefixes), bytes(max)).prop_map(|(p, rest)| [p, &rest[..]].concat())
}

#[test]
fn random_bytes_into_key_parsers_give_typed_errors() {
    const DER_PREFIXES: &[&[u8]] =
        &[b"", b"\x30", b"\x30\x76\x30\x10\x06\x07\x2a\x86\x48\xce\x3d\x02\x01", b"\x30\x81"];
    proptest!(config(512), |(raw in bytes(200), der in prefixed(DER_PREFIXES, 200), text in "(?s).{0,300}",
                             b64a in "[A-Za-z0-9_-]{0,70}", b64b in "[A-Za-z0-9_-]{0,70}", b64c in "[A-Za-z0-9_-]{0,70}",
                             sec1 in prefixed(&[b"\x04", b"\x02", b"\x03", b"\x00"], 100))| {
        total("PublicKey::from_sec1", || PublicKey::from_sec1(&raw));
        total("PublicKey::from_sec1", || PublicKey::from_sec1(&sec1));
        total("PublicKey::from_spki_der", || PublicKey::from_spki_der(&der));
        total("PrivateKey::from_pkcs8_der", || PrivateKey::from_pkcs8_der(&der));
        total("PrivateKey::from_scalar_bytes", || PrivateKey::from_scalar_bytes(&raw));
        total("SigningKey::from_scalar_bytes", || SigningKey::from_scalar_bytes(&raw));
        total("PublicKey::from_spki_pem", || PublicKey::from_spki_pem(&text));
        total("PrivateKey::from_pkcs8_pem", || PrivateKey::from_pkcs8_pem(&text));
        let armored = [
            format!("-----BEGIN PUBLIC KEY-----\n{b64a}{b64b}\n-----END PUBLIC KEY-----\n"),
            format!("-----BEGIN PRIVATE KEY-----\n{b64a}{b64b}{b64c}\n-----END PRIVATE KEY-----\n"),
        ];
        total("PublicKey::from_spki_pem", || PublicKey::from_spki_pem(&armored[0]));
        total("PrivateKey::from_pkcs8_pem", || PrivateKey::from_pkcs8_pem(&armored[1]));
        for json in [
            text.clone(),
            json!({"kty":"EC","crv":"P-384","x":b64a,"y":b64b}).to_string(),
            json!({"kty":"EC","crv":"P-384","x":b64a,"y":b64b,"d":b64c}).to_string(),
        ] {
            total("Jwk::from_json", || Jwk::from_json(&json));
            if let Ok(jwk) = Jwk::from_json(&json) {
                total("PublicKey::from_jwk", || PublicKey::from_jwk(&jwk));
                total("PrivateKey::from_jwk", || PrivateKey::from_jwk(&jwk));
            }
            total("trusted_key", || audit::trusted_key(&json));
        }
        total("hpke::parse_enc", || hpke::parse_enc(&raw));
        total("hpke::parse_enc", || hpke::parse_enc(&sec1));
    });
}

#[test]
fn random_bytes_into_openers_give_typed_errors() {
    let key = PrivateKey::generate().unwrap();
    let (enc, _) = hpke::seal(Suite::PHISEAL, key.public_key(), b"", b"", b"x", None, None).unwrap();
    let signer = SigningKey::generate().unwrap();
    let verifier = signer.verifying_key();
    let sframe_key = SframeKey::new(CipherSuite::Aes128GcmSha256_128, 5, SFRAME_BASE_KEY).unwrap();
    const STREAM: &[&[u8]] =
        &[b"phst1", b"phst1\x00\x11\x00\x02\x00\x02", b"phst1\x00\x11\x00\x02\x00\x02\x00\x00\x04\x00", b"phst"];
    proptest!(config(256), |(a in bytes(300), b in bytes(64), stream in prefixed(STREAM, 600), cut in 0..700usize,
                             text in "(?s).{0,120}")| {
        // HPKE: random ciphertexts under a valid enc, and random encs.
        rejected("hpke::open", || hpke::open(Suite::PHISEAL, &enc, &key, &b, b"", &a, None, None));
        total("hpke::open", || hpke::open(Suite::PHISEAL, &a, &key, b"", b"", &b, None, None));
        total("hpke::setup_recipient", || hpke::setup_recipient(Suite::PHISEAL, &b, &key, &a, None, None));
        // Signatures.
        total("verify_p1363", || sign::verify_p1363(&verifier, &b, &a));
        total("verify_der", || sign::verify_der(&verifier, &b, &a));
        // SFrame headers and frames.
        total("SframeHeader::decode", || SframeHeader::decode(&a));
        total("SframeHeader::read", || SframeHeader::read(&a).map(|(h, _)| h));
        rejected("SframeKey::decrypt", || sframe_key.decrypt(&b, &a));
        for suite in CipherSuite::ALL {
            let mut receiver = SframeReceiver::new(suite);
            receiver.set_sender_key(0, 0, SFRAME_BASE_KEY).unwrap();
            rejected("SframeReceiver::decrypt", || receiver.decrypt(&b, &a));
            total("SframeReceiver::begin", || receiver.begin(&b, &a).map(|_| ()));
        }
        // Streams: header parsing, whole-stream decryption, chunked pushes.
        total("StreamHeader::parse", || StreamHeader::parse(&stream).map(|h| h.map(|(_, n)| n)));
        total("StreamHeader::length", || StreamHeader::length(&stream));
        let authors = [verifier];
        rejected("StreamDecryptor", || stream_decrypt(StreamDecryptor::new(&key, &authors), &stream));
        let mut dec = StreamDecryptor::new(&key, &authors);
        let (x, y) = stream.split_at(cut.min(stream.len()));
        total("StreamDecryptor::push", || dec.push(x));
        total("StreamDecryptor::push", || dec.push(y));
        total("StreamDecryptor::push_segments", || dec.push_segments(&a));
        total("StreamDecryptor::finish", || dec.finish());
        total("StreamDecryptor::finish_segment", || dec.finish_segment());
        if let Ok(nonce) = <[u8; 12]>::try_from(&a[..a.len().min(12)]) {
            rejected("open_segment", || open_segment(&b, &nonce, b"", &a));
        }
        // Sealed index keys.
        let me = *key.public_key();
        total("IndexKey::plan_open", || IndexKey::plan_open(&text, &me, &authors).map(|_| ()));
        for prefix in ["phk2.", "phk1."] {
            let text = format!("{prefix}{}", b64(&a));
            rejected("IndexKey::plan_open", || IndexKey::plan_open(&text, &me, &authors).map(|_| ()));
        }
    });
}

#[test]
fn random_json_into_schemas_and_record_openers_gives_typed_errors() {
    let fx = sealed_fixture();
    let members: Vec<String> = fx.sealed.as_object().unwrap().keys().cloned().collect();
    proptest!(config(256), |(v in any_json(), text in "(?s).{0,200}", member in 0..8usize, garbage in bytes(200),
                             prefix in prop::sample::select(vec!["phe2.", "phe1.", "phs1.", "phd1.", "phb1.", "phb1.AAAA.", ""]))| {
        total("Schema::from_value", || Schema::from_value(&v));
        total("Schema::from_json", || Schema::from_json(&text));
        total("Schema::from_json", || Schema::from_json(&v.to_string()));
        total("inspect", || field::inspect(&v));
        total("needs_rotation", || field::needs_rotation(&v, 30, CREATED));
        total("verify_all_phi_encrypted", || field::verify_all_phi_encrypted(&v, &fx.schema));
        let _ = no_panic("redact", || field::redact(&v, &fx.schema));
        // Opening random JSON, and the real record with one member replaced.
        rejected("open_record", || field::open_record(&v, &fx.schema, &fx.key, Some(&fx.ik), &fx.expected()));
        let mut bad = fx.sealed.clone();
        let name = members.get(member).cloned().unwrap_or_else(|| "extra".to_owned());
        support_json::put(&mut bad, &name, if member % 2 == 0 { v.clone() } else { Value::String(format!("{prefix}{}", b64(&garbage))) });
        if bad != fx.sealed {
            // v2: every member but the envelope is signed (the schema has no
            // unsigned members), so any change is refused.
            rejected("open_record", || field::open_record(&bad, &fx.schema, &fx.key, Some(&fx.ik), &fx.expected()));
        }
        total("search_token", || field::search_token(&fx.schema, "ssn", &v, &fx.ik));
        // Sealing random JSON as a record.
        let opts = SealOptions::new("r", vec![Recipient::all_groups(*fx.key.public_key())], CREATED);
        total("seal_record", || field::seal_record(&v, &fx.schema, &opts, Some(&fx.ik), &fx.author));
    });
}
