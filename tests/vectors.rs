//! Native runs of the upstream test vectors in `../shared/vectors/` (see
//! SOURCES.md there), plus meta-tests proving the runners can fail: a
//! single changed hex digit or a flipped expected result must be reported.
// A native suite (`cargo test`); in wasm32 this file compiles to nothing, so
// `wasm-pack test` builds every test target and runs tests/web.rs.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::collections::BTreeSet;
use std::path::PathBuf;

use phiseal::conformance::{self, Report};
use serde_json::Value;

fn vectors_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/vectors"))
}

fn read_vector(rel: &str) -> String {
    let path = vectors_dir().join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Expected outcome of one vector file: `(path, total cases, minimum passed, skipped)`.
/// Totals come from SOURCES.md (for HPKE files: one key-schedule case per
/// entry + encryptions + exports).
const EXPECTED: &[(&str, usize, usize, usize)] = &[
    // 36 entries + 6168 encryptions + 180 exports.
    ("hpke/p384-cross-checked.json", 6384, 6384, 0),
    // 16 entries + 4112 encryptions + 48 exports.
    ("hpke/rfc9180-nist-curves-aes256gcm-subset.json", 4176, 4176, 0),
    // 1 entry: only the KEM values are RFC 9180 values; 10 encryptions + 5 exports skipped.
    ("hpke/draft-ietf-hpke-pq-dhkem-p384-shake256.json", 16, 1, 15),
    ("wycheproof/ecdh_secp384r1_test.json", 1047, 1047, 0),
    ("wycheproof/ecdh_secp384r1_ecpoint_test.json", 790, 790, 0),
    ("wycheproof/ecdh_secp384r1_webcrypto_test.json", 794, 794, 0),
    ("wycheproof/ecdsa_secp384r1_sha384_test.json", 504, 504, 0),
    ("wycheproof/ecdsa_secp384r1_sha384_p1363_test.json", 280, 280, 0),
    // 96-bit IV, 128-bit tag, 128/256-bit keys: 133 of 316 cases run.
    ("wycheproof/aes_gcm_test.json", 316, 133, 183),
    ("wycheproof/hkdf_sha384_test.json", 83, 83, 0),
];

fn expected(rel: &str) -> (usize, usize, usize) {
    EXPECTED
        .iter()
        .find(|(p, ..)| *p == rel)
        .map(|&(_, total, passed, skipped)| (total, passed, skipped))
        .unwrap_or_else(|| panic!("no expectation for {rel}"))
}

fn check_file(rel: &str) -> Report {
    let report = conformance::run_file(&read_vector(rel));
    let (total, min_passed, skipped) = expected(rel);
    assert_eq!(report.failed, 0, "{rel}: failures {:?}", report.failures);
    assert!(report.passed > 0, "{rel}: nothing passed");
    assert!(report.passed >= min_passed, "{rel}: only {} passed, expected at least {min_passed}", report.passed);
    assert_eq!(report.skipped, skipped, "{rel}: skipped {} ({:?})", report.skipped, report.skip_reasons);
    assert_eq!(report.passed + report.failed + report.skipped, total, "{rel}: case count");
    report
}

/// Every non-SFrame `.json` file in `hpke/` and `wycheproof/`, relative to the vectors dir.
fn vector_files() -> BTreeSet<String> {
    let mut files = BTreeSet::new();
    for dir in ["hpke", "wycheproof"] {
        let entries = std::fs::read_dir(vectors_dir().join(dir)).unwrap();
        for entry in entries {
            let name = entry.unwrap().file_name().into_string().unwrap();
            if name.ends_with(".json") {
                files.insert(format!("{dir}/{name}"));
            }
        }
    }
    files
}

#[test]
fn every_vector_file_has_an_expectation() {
    let on_disk = vector_files();
    let expected: BTreeSet<String> = EXPECTED.iter().map(|(p, ..)| (*p).to_owned()).collect();
    // Every file on disk is run by one of the per-file tests below through
    // `check_file`, which looks its expectation up in EXPECTED.
    assert_eq!(on_disk, expected, "vector files on disk and EXPECTED differ");
    assert_eq!(on_disk.len(), 10);
}

#[test]
fn p384_cross_checked_all_pass_none_skipped() {
    let report = check_file("hpke/p384-cross-checked.json");
    assert_eq!(report.passed, 6384);
    assert_eq!(report.skipped, 0);
    assert!(report.skip_reasons.is_empty());
}

#[test]
fn rfc9180_subset_passes() {
    let report = check_file("hpke/rfc9180-nist-curves-aes256gcm-subset.json");
    assert_eq!(report.passed, 4176);
}

#[test]
fn pq_draft_p384_kem_values_pass() {
    let report = check_file("hpke/draft-ietf-hpke-pq-dhkem-p384-shake256.json");
    assert_eq!(report.passed, 1);
    assert_eq!(report.skip_reasons.len(), 1, "{:?}", report.skip_reasons);
}

#[test]
fn wycheproof_ecdh_all_pass_none_skipped() {
    for (rel, n) in [
        ("wycheproof/ecdh_secp384r1_test.json", 1047),
        ("wycheproof/ecdh_secp384r1_ecpoint_test.json", 790),
        ("wycheproof/ecdh_secp384r1_webcrypto_test.json", 794),
    ] {
        let report = check_file(rel);
        assert_eq!(report.passed, n, "{rel}");
        assert_eq!(report.skipped, 0, "{rel}");
    }
}

#[test]
fn wycheproof_ecdsa_all_pass() {
    assert_eq!(check_file("wycheproof/ecdsa_secp384r1_sha384_test.json").passed, 504);
    assert_eq!(check_file("wycheproof/ecdsa_secp384r1_sha384_p1363_test.json").passed, 280);
}

#[test]
fn wycheproof_aes_gcm_96_bit_iv_cases_pass() {
    let report = check_file("wycheproof/aes_gcm_test.json");
    assert_eq!(report.passed, 133);
}

#[test]
fn wycheproof_hkdf_sha384_all_pass() {
    assert_eq!(check_file("wycheproof/hkdf_sha384_test.json").passed, 83);
}

// ---------------------------------------------------------------------------
// Meta-tests: the runners must be able to fail.
// ---------------------------------------------------------------------------

/// Changes one hex digit of the `nth` (0-based) occurrence of JSON member
/// `key` in `text`, at character `digit` of its value.
fn change_hex_digit(text: &str, key: &str, nth: usize, digit: usize) -> String {
    let needle = format!("\"{key}\":\"");
    let start = text.match_indices(&needle).nth(nth).unwrap_or_else(|| panic!("no occurrence {nth} of {key}")).0;
    let pos = start + needle.len() + digit;
    let old = text.as_bytes()[pos];
    assert!(old.is_ascii_hexdigit(), "not a hex digit at {pos}");
    let new = if old == b'0' { '1' } else { '0' };
    let mut out = String::with_capacity(text.len());
    out.push_str(&text[..pos]);
    out.push(new);
    out.push_str(&text[pos + 1..]);
    assert_ne!(out, text);
    assert_eq!(out.len(), text.len());
    out
}

fn assert_detects(name: &str, report: &Report) {
    assert!(report.failed >= 1, "{name}: mutation not detected ({} passed)", report.passed);
    assert!(!report.failures.is_empty(), "{name}: no failure description");
}

#[test]
fn meta_changed_ct_digit_fails() {
    let text = read_vector("hpke/p384-cross-checked.json");
    // The 100th ciphertext, digit 7.
    let report = conformance::run_file(&change_hex_digit(&text, "ct", 100, 7));
    assert_detects("ct", &report);
    assert!(report.failures.iter().any(|f| f.contains("encryption")), "{:?}", report.failures);
}

#[test]
fn meta_changed_exported_value_digit_fails() {
    let text = read_vector("hpke/p384-cross-checked.json");
    let report = conformance::run_file(&change_hex_digit(&text, "exported_value", 42, 20));
    assert_detects("exported_value", &report);
    assert_eq!(report.failed, 1, "{:?}", report.failures);
    assert!(report.failures[0].contains("export"), "{:?}", report.failures);
}

#[test]
fn meta_changed_pk_rm_digit_fails() {
    let text = read_vector("hpke/p384-cross-checked.json");
    let report = conformance::run_file(&change_hex_digit(&text, "pkRm", 17, 30));
    assert_detects("pkRm", &report);
    assert!(report.failures.iter().any(|f| f.contains("KEM")), "{:?}", report.failures);
}

#[test]
fn meta_changed_rfc9180_ct_digit_fails() {
    let text = read_vector("hpke/rfc9180-nist-curves-aes256gcm-subset.json");
    let report = conformance::run_file(&change_hex_digit(&text, "ct", 3, 5));
    assert_detects("rfc9180 ct", &report);
}

/// Sets the `result` of the first test in a group matching `group_ok` whose
/// result is `from` to `to`; returns the mutated JSON text and the tcId.
fn flip_wycheproof_result(text: &str, group_ok: impl Fn(&Value) -> bool, from: &str, to: &str) -> (String, u64) {
    let mut doc: Value = serde_json::from_str(text).unwrap();
    let groups = doc["testGroups"].as_array_mut().unwrap();
    for group in groups.iter_mut() {
        if !group_ok(group) {
            continue;
        }
        for test in group["tests"].as_array_mut().unwrap() {
            if test["result"] == from {
                test["result"] = Value::String(to.to_owned());
                let tc = test["tcId"].as_u64().unwrap();
                return (serde_json::to_string(&doc).unwrap(), tc);
            }
        }
    }
    panic!("no {from} case found");
}

fn gcm96(group: &Value) -> bool {
    group["ivSize"] == 96 && group["tagSize"] == 128 && (group["keySize"] == 128 || group["keySize"] == 256)
}

#[test]
fn meta_aes_gcm_invalid_marked_valid_fails() {
    let text = read_vector("wycheproof/aes_gcm_test.json");
    let (mutated, tc) = flip_wycheproof_result(&text, gcm96, "invalid", "valid");
    let report = conformance::run_file(&mutated);
    assert_eq!(report.failed, 1, "tcId {tc}: {:?}", report.failures);
    assert!(report.failures[0].contains(&format!("tcId {tc} ")), "{:?}", report.failures);
}

#[test]
fn meta_aes_gcm_256_invalid_marked_valid_fails() {
    let text = read_vector("wycheproof/aes_gcm_test.json");
    let (mutated, tc) = flip_wycheproof_result(&text, |g| gcm96(g) && g["keySize"] == 256, "invalid", "valid");
    let report = conformance::run_file(&mutated);
    assert_eq!(report.failed, 1, "tcId {tc}: {:?}", report.failures);
}

#[test]
fn meta_aes_gcm_valid_marked_invalid_fails() {
    let text = read_vector("wycheproof/aes_gcm_test.json");
    let (mutated, tc) = flip_wycheproof_result(&text, gcm96, "valid", "invalid");
    let report = conformance::run_file(&mutated);
    assert_eq!(report.failed, 1, "tcId {tc}: {:?}", report.failures);
}

#[test]
fn meta_ecdh_invalid_marked_valid_fails() {
    let text = read_vector("wycheproof/ecdh_secp384r1_ecpoint_test.json");
    let (mutated, tc) = flip_wycheproof_result(&text, |_| true, "invalid", "valid");
    let report = conformance::run_file(&mutated);
    assert_eq!(report.failed, 1, "tcId {tc}: {:?}", report.failures);
}

#[test]
fn meta_ecdsa_valid_marked_invalid_fails() {
    let text = read_vector("wycheproof/ecdsa_secp384r1_sha384_p1363_test.json");
    let (mutated, tc) = flip_wycheproof_result(&text, |_| true, "valid", "invalid");
    let report = conformance::run_file(&mutated);
    assert_eq!(report.failed, 1, "tcId {tc}: {:?}", report.failures);
}

#[test]
fn meta_unrecognised_files_fail() {
    for text in ["", "not json", "{}", "{\"testGroups\": []}", "[{\"mode\": 0}]"] {
        let report = conformance::run_file(text);
        assert!(report.failed >= 1, "{text:?} gave {report:?}");
        assert_eq!(report.passed, 0, "{text:?}");
    }
}
