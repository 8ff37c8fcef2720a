//! The native `phiseal` command: `check-phi` (nightly PHI check) and `vectors`.
// A native suite (`cargo test`); in wasm32 this file compiles to nothing, so
// `wasm-pack test` builds every test target and runs tests/web.rs.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

#[macro_use]
#[path = "support/json.rs"]
mod support_json;
use std::process::Command;

use phiseal::audit::{AuditLog, Entry};
use phiseal::field::{self, Recipient, Schema, SealOptions};
use phiseal::json::Value;
use phiseal::keys::PrivateKey;
use phiseal::sign::SigningKey;

const SCHEMA: &str = r#"{"id":"s","version":1,"fields":{"patient.ssn":true,"codes[]":{"mode":"random"}}}"#;

fn run(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_phiseal")).args(args).output().unwrap();
    (out.status.code().unwrap(), String::from_utf8_lossy(&out.stdout).into_owned())
}

fn write(dir: &std::path::Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_string_lossy().into_owned()
}

#[test]
fn check_phi_passes_sealed_records_and_lists_plaintext_ones() {
    let dir = std::env::temp_dir().join(format!("phiseal-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let schema_path = write(&dir, "schema.json", SCHEMA);
    let schema = Schema::from_json(SCHEMA).unwrap();
    let key = PrivateKey::generate().unwrap();
    let author = SigningKey::generate().unwrap();
    let record = json!({"patient": {"ssn": "123-45-6789", "age": 3}, "codes": ["J45", "E11"]});
    let opts = SealOptions::new("r1", vec![Recipient::all_groups(*key.public_key())], 1_700_000_000);
    let sealed = field::seal_record(&record, &schema, &opts, None, &author).unwrap();

    let good = write(&dir, "good.json", &Value::Array(vec![sealed.clone(), sealed.clone()]).to_json());
    let (code, out) = run(&["check-phi", &schema_path, &good]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("2 records checked, 0 plaintext PHI fields"), "{out}");

    let mut leaky = sealed.clone();
    *leaky.pointer_mut("/codes/1").unwrap() = json!("E11");
    let lines = format!("{}\n{}\n", leaky.to_json(), record.to_json());
    let bad = write(&dir, "bad.jsonl", &lines);
    let (code, out) = run(&["check-phi", &schema_path, &bad]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("record 0: plaintext PHI at /codes/1"), "{out}");
    assert!(out.contains("record 1: plaintext PHI at /patient/ssn"), "{out}");
    assert!(out.contains("2 records checked, 4 plaintext PHI fields"), "{out}");

    let not_schema = write(&dir, "schema-bad.json", r#"{"id":"s"}"#);
    assert_eq!(run(&["check-phi", &not_schema, &good]).0, 2);
    assert_eq!(run(&["check-phi", &schema_path, "/nonexistent/file"]).0, 2);
    assert_eq!(run(&["check-phi"]).0, 2);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn vectors_command_reports_failures_with_exit_1() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/vectors/wycheproof/hkdf_sha384_test.json");
    let (code, out) = run(&["vectors", path]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(": 83 passed, 0 failed, 0 skipped"), "{out}");
    let text = std::fs::read_to_string(path).unwrap();
    let okm = text.find("\"okm\" : \"").or_else(|| text.find("\"okm\": \"")).unwrap();
    let digit = okm + text[okm..].find(": \"").unwrap() + 3;
    let mut bad = text.into_bytes();
    bad[digit] = if bad[digit] == b'0' { b'1' } else { b'0' };
    let dir = std::env::temp_dir().join(format!("phiseal-vec-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad_path = write(&dir, "hkdf.json", &String::from_utf8(bad).unwrap());
    let (code, out) = run(&["vectors", &bad_path]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("1 failed"), "{out}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn audit_verify_exit_codes() {
    let dir = std::env::temp_dir().join(format!("phiseal-audit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key = SigningKey::generate().unwrap();
    let mut log = AuditLog::new("cli").unwrap();
    for i in 0..20 {
        log.append(Entry::new("u", "clinician", "view", 1_700_000_000_000 + i).patient("p")).unwrap();
    }
    log.checkpoint(&key, 1_700_000_000_100).unwrap();
    let text = log.to_jsonl();
    let log_path = write(&dir, "log.jsonl", &text);
    let jwk = write(&dir, "key.jwk", &key.verifying_key().to_jwk().to_json());
    let pem = write(&dir, "key.pem", &key.verifying_key().to_spki_pem());
    let (code, out) = run(&["audit", "verify", &log_path, "--trust", &jwk]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("20 entries, 1 checkpoints") && out.contains("VALID"), "{out}");
    assert_eq!(run(&["audit", "verify", &log_path, "--trust", &pem]).0, 0);
    let tampered = write(&dir, "bad.jsonl", &text.replacen("\"view\"", "\"export\"", 4));
    let (code, out) = run(&["audit", "verify", &tampered, "--trust", &jwk]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("INVALID at line 1 (seq 1)"), "{out}");
    let other = write(&dir, "other.pem", &SigningKey::generate().unwrap().verifying_key().to_spki_pem());
    assert_eq!(run(&["audit", "verify", &log_path, "--trust", &other]).0, 1);
    assert_eq!(run(&["audit", "verify", &log_path]).0, 2);
    assert_eq!(run(&["audit", "verify", &log_path, "--trust", "/nonexistent"]).0, 2);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn audit_verify_with_a_kept_checkpoint_and_witnesses() {
    use phiseal::audit::{CheckpointNote, Line, Witness, tree_of};
    let dir = std::env::temp_dir().join(format!("phiseal-audit-since-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key = SigningKey::generate().unwrap();
    let mut log = AuditLog::new("cli-log").unwrap();
    let mut cut = String::new();
    for i in 1..=30u64 {
        log.append(Entry::new("u", "clinician", "view", 1_700_000_000_000 + i)).unwrap();
        if i % 10 == 0 {
            log.checkpoint(&key, 1_700_000_000_000 + i).unwrap();
        }
        if i == 20 {
            cut = log.to_jsonl();
        }
    }
    let text = log.to_jsonl();
    let jwk = write(&dir, "key.jwk", &key.verifying_key().to_jwk().to_json());
    let log_path = write(&dir, "log.jsonl", &text);
    let kept = dir.join("kept.note").to_string_lossy().into_owned();
    let (code, out) = run(&["audit", "verify", &log_path, "--trust", &jwk, "--keep", &kept]);
    assert_eq!(code, 0, "{out}");
    assert!(std::fs::read_to_string(&kept).unwrap().starts_with("cli-log\n30\n"));
    // The server cuts the log back to its checkpoint at 20: alone it verifies,
    // against the kept checkpoint it does not.
    let cut_path = write(&dir, "cut.jsonl", &cut);
    assert_eq!(run(&["audit", "verify", &cut_path, "--trust", &jwk]).0, 0);
    let (code, out) = run(&["audit", "verify", &cut_path, "--trust", &jwk, "--since", &kept]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("ROLLED_BACK"), "{out}");
    assert_eq!(run(&["audit", "verify", &log_path, "--since", &kept, "--trust", &jwk]).0, 0, "flags in any order");
    // A kept checkpoint the trusted keys did not sign is a setup error.
    let other = write(&dir, "other.pem", &SigningKey::generate().unwrap().verifying_key().to_spki_pem());
    assert_eq!(run(&["audit", "verify", &log_path, "--trust", &other, "--since", &kept]).0, 2);
    // Witnesses: none cosigned -> refused; after a cosignature -> valid.
    let wkey = SigningKey::generate().unwrap();
    let mut witness = Witness::new("witness.example/cli", wkey, vec![key.verifying_key()]).unwrap();
    let wjwk = write(&dir, "witness.jwk", &witness.public_key().to_jwk().to_json());
    let (code, out) = run(&["audit", "verify", &log_path, "--trust", &jwk, "--witness", &wjwk]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("NOT_WITNESSED"), "{out}");
    let note = std::fs::read_to_string(&kept).unwrap();
    let (tree, _) = tree_of(&text).unwrap();
    assert_eq!(tree.size(), 30);
    let cosig = witness.cosign(&note, &[], 1_700_000_100).unwrap();
    let line = Line::Note(CheckpointNote::parse(&format!("{note}{cosig}")).unwrap()).to_json();
    let cosigned = write(&dir, "cosigned.jsonl", &format!("{text}{line}\n"));
    let (code, out) = run(&["audit", "verify", &cosigned, "--trust", &jwk, "--witness", &wjwk]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("cosigned by 1 of the required witnesses"), "{out}");
    let (code, out) =
        run(&["audit", "verify", &cosigned, "--trust", &jwk, "--witness", &wjwk, &other, "--witnesses-required", "2"]);
    assert_eq!(code, 1, "{out}");
    assert_eq!(
        run(&["audit", "verify", &cosigned, "--trust", &jwk, "--witness", &wjwk, "--witnesses-required", "0"]).0,
        0
    );
    // Usage errors.
    for bad in [
        vec!["--trust", &jwk, "--witnesses-required", "x"],
        vec!["--trust", &jwk, "--since"],
        vec!["--trust", &jwk, "--bogus"],
        vec!["--since", &kept],
        vec!["--trust", &jwk, "--witness", &wjwk, "--witnesses-required", "2"],
    ] {
        let mut args = vec!["audit", "verify", &log_path];
        args.extend(bad.iter().copied());
        assert_eq!(run(&args).0, 2, "{args:?}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
