//! Writes the seed corpora under fuzz/corpus/<target>/ (run from fuzz/:
//! `cargo run --release --bin seeds`). Small on purpose: the fuzzer grows
//! its own corpus from them.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::Path;

use phiseal::audit::{AuditLog, Entry};
use phiseal::field::{self, Expected, IndexKey, Recipient, SealOptions};
use phiseal::hpke::{self, Suite};
use phiseal::json::Value;
use phiseal::keys::PrivateKey;
use phiseal::media::sframe::{CipherSuite, SframeSender};
use phiseal::media::stream::StreamEncryptor;
use phiseal_fuzz::{HPKE_INFO, SCHEMA, SFRAME_BASE_KEY, author_key, authors, hpke_key, index_key, schema, signing_key};

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus").join(target);
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join(name), bytes).unwrap();
}

fn main() {
    let key = hpke_key();
    let me = [*key.public_key()];

    // key_import: selector byte then the encoding (see fuzz_targets/key_import.rs).
    let other = PrivateKey::from_scalar_bytes(&[0x5a; 48]).unwrap();
    let pk = other.public_key();
    write("key_import", "sec1", &[&[0u8][..], &pk.to_sec1(false)].concat());
    write("key_import", "sec1c", &[&[0u8][..], &pk.to_sec1(true)].concat());
    write("key_import", "spki_der", &[&[1u8][..], &pk.to_spki_der()].concat());
    write("key_import", "pkcs8_der", &[&[2u8][..], &other.to_pkcs8_der()].concat());
    write("key_import", "spki_pem", &[&[3u8][..], pk.to_spki_pem().as_bytes()].concat());
    write("key_import", "pkcs8_pem", &[&[4u8][..], other.to_pkcs8_pem().as_bytes()].concat());
    write("key_import", "jwk_public", &[&[5u8][..], pk.to_jwk().to_json().as_bytes()].concat());
    write("key_import", "jwk_private", &[&[6u8][..], other.to_jwk().to_json().as_bytes()].concat());
    write("key_import", "scalar", &[&[7u8][..], &[0x5a; 48]].concat());

    // hpke_open: enc || ciphertext, info HPKE_INFO, AAD empty.
    for (i, pt) in [&b""[..], b"x", b"patient 42: hypertension"].iter().enumerate() {
        let (enc, ct) = hpke::seal(Suite::PHISEAL, key.public_key(), HPKE_INFO, b"", pt, None, None).unwrap();
        write("hpke_open", &format!("msg{i}"), &[enc, ct].concat());
    }

    // field_open: sealed records (JSON text), signed by the trusted author,
    // and sealed index keys.
    let _ = SCHEMA;
    let opts = SealOptions::new("rec-1", vec![Recipient::all_groups(*key.public_key())], 1_700_000_000);
    let records = [
        Value::parse(r#"{"ssn":"123-45-6789","name":"Ada","notes":{"bp":[120,80]},"dx":[{"code":"I10"},{"code":"E11"}],"card":"4111","v":1}"#).unwrap(),
        Value::parse(r#"{"name":"Bob","v":2}"#).unwrap(),
    ];
    for (i, r) in records.iter().enumerate() {
        let sealed = field::seal_record(r, schema(), &opts, Some(index_key()), author_key()).unwrap();
        write("field_open", &format!("record{i}"), sealed.to_string().as_bytes());
    }
    // With an encryption context, then its next version (update_of).
    let mut with_context = opts.clone();
    with_context.context.insert("patient".to_owned(), "p-1".to_owned());
    let v1 = field::seal_record(&records[0], schema(), &with_context, Some(index_key()), author_key()).unwrap();
    write("field_open", "record_context", v1.to_string().as_bytes());
    let expected = Expected { context: with_context.context.clone(), ..Expected::new("rec-1", authors()) };
    let opened = field::open_record(&v1, schema(), key, Some(index_key()), &expected).unwrap();
    let update = SealOptions::update_of(&opened, opts.recipients.clone(), 1_700_000_100).expect("version 2");
    let v2 = field::seal_record(&records[1], schema(), &update, Some(index_key()), author_key()).unwrap();
    write("field_open", "record_v2", v2.to_string().as_bytes());
    let ik = IndexKey::generate().unwrap();
    write("field_open", "index_key", ik.seal(&me, author_key()).unwrap().as_bytes());
    write("field_open", "index_key_fixed", index_key().seal(&me, author_key()).unwrap().as_bytes());

    // cert_verify: selector byte, then a chain (leaf, issuers; '\n'-separated) or a revocation list.
    {
        use phiseal::trust::{Claims, Purpose, issue, issue_revocations};
        const NOW: u64 = 1_800_000_000;
        let member = *PrivateKey::from_scalar_bytes(&[0x6b; 48]).unwrap().public_key();
        let claims = Claims::new("dr-lee", "Dr. Lee", "clinician", member, NOW - 10, NOW + 10)
            .groups(&["clinical"])
            .purposes(&[Purpose::Encrypt]);
        write(
            "cert_verify",
            "leaf",
            &[b"\0".as_slice(), issue(&claims, signing_key(), NOW).unwrap().as_bytes()].concat(),
        );
        let dept = author_key();
        let dept_claims = Claims::new("dept", "Dept", "department", dept.verifying_key(), NOW - 10, NOW + 10)
            .groups(&["clinical"])
            .purposes(&[Purpose::Certify]);
        let chain =
            format!("{}\n{}", issue(&claims, dept, NOW).unwrap(), issue(&dept_claims, signing_key(), NOW).unwrap());
        write("cert_verify", "chain", &[b"\0".as_slice(), chain.as_bytes()].concat());
        write(
            "cert_verify",
            "revocations",
            &[b"\x01".as_slice(), issue_revocations(&[], signing_key(), NOW, NOW + 10).unwrap().as_bytes()].concat(),
        );
    }

    // directory_lookup: selector byte (bit 0: the client kept the one-entry checkpoint), then a lookup's JSON.
    {
        use phiseal::trust::directory::Directory;
        let mut d = Directory::new("fuzz.example/keys", phiseal::sign::SigningKey::from_scalar_bytes(&[0x22; 48]).unwrap());
        d.publish("dr-lee", "certificate-1").unwrap();
        write("directory_lookup", "fresh", &[b"\0".as_slice(), d.lookup("dr-lee", None, 1000).unwrap().to_json().as_bytes()].concat());
        d.publish("billing", "certificate-2").unwrap();
        d.publish("dr-lee", "certificate-3").unwrap();
        let extended = d.lookup("dr-lee", Some(1), 2000).unwrap();
        write("directory_lookup", "extends_kept", &[b"\x01".as_slice(), extended.to_json().as_bytes()].concat());
    }

    // json_parse: the JSON every record, schema, JWK and audit line goes through.
    for (i, text) in [
        r#"{"a":[1,-0.5e+10,"x\"\u00e9\ud83d\ude00",null,true,{}],"b":12345678901234567890123}"#,
        r#"[[],{"":false}]"#,
        r#""\t""#,
    ]
    .iter()
    .enumerate()
    {
        write("json_parse", &format!("doc{i}"), text.as_bytes());
    }

    // sframe_open: suite byte, metadata length byte, metadata, frame.
    for (i, suite) in CipherSuite::ALL.into_iter().enumerate() {
        let mut sender = SframeSender::for_member(suite, 1, 0, &SFRAME_BASE_KEY).unwrap();
        let frame = sender.encrypt(b"meta", b"a video frame").unwrap();
        write("sframe_open", &format!("suite{i}"), &[&[i as u8, 4][..], b"meta", &frame].concat());
        let mut sender = SframeSender::new(suite, 7, &SFRAME_BASE_KEY).unwrap();
        let frame = sender.encrypt(b"", b"audio").unwrap();
        write("sframe_open", &format!("kid7_suite{i}"), &[&[i as u8 | 0x80, 0][..], &frame].concat());
    }

    // stream_open: two chunk-size bytes, then the stream.
    for (i, len) in [0usize, 700, 2100].into_iter().enumerate() {
        let mut enc = StreamEncryptor::new(&me, 1024, author_key()).unwrap();
        let pt: Vec<u8> = (0..len).map(|n| n as u8).collect();
        let mut wire = enc.push(&pt).unwrap();
        wire.extend(enc.finish_signed(author_key()).unwrap());
        write("stream_open", &format!("stream{i}"), &[&[1u8, 0][..], &wire].concat());
    }

    // audit_verify: a JSON Lines log with checkpoints by the trusted key.
    let mut log = AuditLog::new("fuzz-log").unwrap();
    for i in 1..=4u64 {
        let mut e = Entry::new("u1", "clinician", "view", 1_700_000_000_000 + i);
        e.patient_id = Some(format!("p{i}"));
        log.append(e).unwrap();
        if i % 2 == 0 {
            log.checkpoint(signing_key(), 1_700_000_000_000 + i).unwrap();
        }
    }
    write("audit_verify", "log", log.to_jsonl().as_bytes());
    write("audit_verify", "trusted_key", signing_key().verifying_key().to_jwk().to_json().as_bytes());
    let note = log.checkpoint(signing_key(), 1_700_000_000_009).unwrap().to_text();
    write("audit_verify", "note", note.as_bytes());
    write(
        "audit_verify",
        "rules",
        br#"{"distinctPatients":3,"hours":[8,18],"hoursByRole":{"admin":[0,24]},"utcOffsetMinutes":-300}"#,
    );

    // schema_parse: schemas.
    write("schema_parse", "schema", SCHEMA.as_bytes());
    write("schema_parse", "short", br#"{"id":"a","version":0,"fields":{"x[][]":true,"y.z":"deterministic"}}"#);
}
