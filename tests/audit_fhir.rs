//! Audit logs through FHIR R4 AuditEvent and back (docs/FORMAT.md §6.12):
//! the chain and checkpoints verify after the round trip, and a server that
//! edits, drops, forks or mixes events is refused.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use phiseal::ErrorCode;
use phiseal::audit::fhir::{CHAIN_EXTENSION, from_fhir, instant, to_fhir};
use phiseal::audit::{AuditLog, CheckpointNote, Entry, Line, ProblemCode, VerifyOptions, Witness, verify_log_with};
use phiseal::json::Value;
use phiseal::sign::SigningKey;

const T0: u64 = 1_700_000_000_000;

struct Fixture {
    jsonl: String,
    opts: VerifyOptions,
    key: SigningKey,
}

/// A log with every kind of member, two checkpoints, the last one cosigned by
/// a witness the verifier requires.
fn fixture(log_id: &str) -> Fixture {
    let key = SigningKey::generate().unwrap();
    let mut log = AuditLog::new(log_id).unwrap();
    let mut e = Entry::new("dr-lee", "clinician", "view", T0).patient("p-17");
    e.resource = Some("record/visit-1".into());
    e.field_path = Some("/diagnosis".into());
    e.client.ip = Some("203.0.113.7".into());
    e.client.device = Some("device-4f2a".into());
    log.append(e).unwrap();
    log.append(Entry::new("svc-intake", "", "create", T0 + 1)).unwrap();
    let mut denied = Entry::new("billing-7", "billing", "export", T0 + 2).patient("p-17");
    denied.outcome = "denied".into();
    log.append(denied).unwrap();
    log.checkpoint(&key, T0 + 3).unwrap();
    let mut bg = Entry::new("dr-ray", "clinician", "break-glass", T0 + 4).patient("p-9");
    bg.reason = Some("unconscious patient, ER".into());
    log.append(bg).unwrap();
    let mut failed = Entry::new("dr-lee", "clinician", "capture-attempt", T0 + 5);
    failed.outcome = "failure".into();
    log.append(failed).unwrap();
    let note = log.checkpoint(&key, T0 + 6).unwrap();
    let wkey = SigningKey::generate().unwrap();
    let wpub = wkey.verifying_key();
    let mut w = Witness::new("witness.example/w1", wkey, vec![key.verifying_key()]).unwrap();
    let cosig = w.cosign(&note.to_text(), &[], 1_700_000_010).unwrap();
    let cosigned = CheckpointNote::parse(&format!("{}{cosig}", note.to_text())).unwrap();
    let mut jsonl = log.to_jsonl();
    jsonl.push_str(&Line::Note(cosigned).to_json());
    jsonl.push('\n');
    let opts = VerifyOptions {
        trusted: vec![key.verifying_key()],
        witnesses: vec![wpub],
        witnesses_required: 1,
        ..VerifyOptions::default()
    };
    assert!(verify_log_with(&jsonl, &opts).unwrap().valid);
    Fixture { jsonl, opts, key }
}

fn bundle_of(jsonl: &str, transaction: bool) -> Value {
    Value::parse(&to_fhir(jsonl, transaction).unwrap()).unwrap()
}

fn events(bundle: &Value) -> Vec<Value> {
    let Value::Array(entries) = bundle.get("entry").unwrap() else { panic!() };
    entries.iter().map(|e| e.get("resource").unwrap().clone()).collect()
}

fn searchset(resources: Vec<Value>) -> Value {
    let entries = resources
        .into_iter()
        .map(|r| Value::Object([("resource".to_owned(), r)].into_iter().collect()))
        .collect::<Vec<_>>();
    let text = format!(
        r#"{{"resourceType":"Bundle","type":"searchset","total":{},"entry":{}}}"#,
        entries.len(),
        Value::Array(entries).to_json()
    );
    Value::parse(&text).unwrap()
}

/// What a FHIR server does on storing: assigns an id and meta.
fn stored(mut ev: Value, i: usize) -> Value {
    let Value::Object(m) = &mut ev else { panic!() };
    m.insert("id".into(), Value::from(format!("ae-{i}")));
    m.insert("meta".into(), Value::parse(r#"{"versionId":"1","lastUpdated":"2026-12-07T10:00:00Z"}"#).unwrap());
    ev
}

fn code_of(r: phiseal::Result<phiseal::audit::fhir::Imported>) -> ErrorCode {
    r.unwrap_err().code()
}

#[test]
fn a_log_round_trips_through_a_fhir_server_in_any_order_and_still_verifies() {
    let f = fixture("clinic.example/audit-1");
    let bundle = bundle_of(&f.jsonl, false);
    assert_eq!(bundle.get("type").unwrap().as_str(), Some("collection"));
    let evs = events(&bundle);
    assert_eq!(evs.len(), 8, "5 entries, 3 checkpoint lines (the last one cosigned)");
    // As a server returns them: reversed, with ids and meta, a foreign
    // AuditEvent of its own and an OperationOutcome in the search result.
    let mut back: Vec<Value> = evs.iter().cloned().enumerate().map(|(i, e)| stored(e, i)).rev().collect();
    back.insert(2, Value::parse(r#"{"resourceType":"AuditEvent","id":"srv-1","type":{"code":"rest"},"recorded":"2026-12-07T10:00:00Z","agent":[{"requestor":true}],"source":{"observer":{"display":"server"}}}"#).unwrap());
    back.push(Value::parse(r#"{"resourceType":"OperationOutcome","issue":[]}"#).unwrap());
    back.push(stored(evs[1].clone(), 99)); // delivered twice
    let text = searchset(back).to_json();
    let imported = from_fhir(&Value::parse(&text).unwrap(), None).unwrap();
    assert_eq!((imported.entries, imported.checkpoints, imported.skipped), (5, 3, 2));
    assert_eq!(imported.jsonl, f.jsonl, "the same lines in the same order");
    let report = verify_log_with(&imported.jsonl, &f.opts).unwrap();
    assert!(report.valid && report.authenticated && report.witnessed == 1, "{report:?}");
    assert_eq!(report.entries, 5);
    // A transaction Bundle for a FHIR server, same events.
    let tx = bundle_of(&f.jsonl, true);
    assert_eq!(tx.get("type").unwrap().as_str(), Some("transaction"));
    assert_eq!(tx.pointer("/entry/0/request/method").unwrap().as_str(), Some("POST"));
    assert_eq!(events(&tx), evs);
    assert_eq!(from_fhir(&tx, None).unwrap().jsonl, f.jsonl);
}

#[test]
fn the_fhir_elements_follow_the_entry() {
    let f = fixture("clinic.example/audit-1");
    let evs = events(&bundle_of(&f.jsonl, false));
    let view = &evs[0];
    let at = |p: &str| view.pointer(p).and_then(Value::as_str).map(str::to_owned);
    assert_eq!(at("/type/code").as_deref(), Some("rest"));
    assert_eq!(at("/subtype/0/code").as_deref(), Some("read"));
    assert_eq!(at("/subtype/1/code").as_deref(), Some("view"));
    assert_eq!(at("/action").as_deref(), Some("R"));
    assert_eq!(at("/recorded").as_deref(), Some("2023-11-14T22:13:20.000Z"));
    assert_eq!(at("/outcome").as_deref(), Some("0"));
    assert_eq!(at("/agent/0/who/identifier/value").as_deref(), Some("dr-lee"));
    assert_eq!(at("/agent/0/role/0/text").as_deref(), Some("clinician"));
    assert_eq!(at("/agent/0/network/address").as_deref(), Some("203.0.113.7"));
    assert_eq!(at("/source/site").as_deref(), Some("clinic.example/audit-1"));
    assert_eq!(at("/source/observer/display").as_deref(), Some("device-4f2a"));
    assert_eq!(at("/entity/0/what/identifier/value").as_deref(), Some("p-17"));
    assert_eq!(at("/entity/0/role/code").as_deref(), Some("1"));
    assert_eq!(at("/entity/1/what/identifier/value").as_deref(), Some("record/visit-1"));
    assert_eq!(at("/entity/1/detail/0/valueString").as_deref(), Some("/diagnosis"));
    assert_eq!(at("/extension/0/url").as_deref(), Some(CHAIN_EXTENSION));
    assert_eq!(at("/extension/0/extension/2/valueString").as_deref(), Some("1"));
    // An empty role is left out (FHIR strings are never empty).
    assert!(evs[1].pointer("/agent/0/role").is_none());
    assert_eq!(evs[2].pointer("/outcome").unwrap().as_str(), Some("4"));
    assert_eq!(evs[2].pointer("/outcomeDesc").unwrap().as_str(), Some("denied"));
    assert_eq!(evs[2].pointer("/type/code").unwrap().as_str(), Some("110106"));
    assert_eq!(evs[3].pointer("/type/code").unwrap().as_str(), Some("checkpoint"));
    assert_eq!(evs[4].pointer("/purposeOfEvent/0/text").unwrap().as_str(), Some("unconscious patient, ER"));
    assert_eq!(evs[5].pointer("/outcome").unwrap().as_str(), Some("8"));
}

fn set(ev: &mut Value, pointer: &str, value: &str) {
    *ev.pointer_mut(pointer).unwrap() = Value::from(value);
}

#[test]
fn attack_an_edited_fhir_element_is_refused_although_its_line_still_verifies() {
    let f = fixture("clinic.example/audit-1");
    let evs = events(&bundle_of(&f.jsonl, false));
    for (i, pointer, value) in [
        (0, "/agent/0/who/identifier/value", "dr-someone-else"),
        (0, "/entity/0/what/identifier/value", "p-99"),
        (2, "/outcome", "0"),
        (0, "/recorded", "2023-11-15T22:13:20.000Z"),
        (4, "/purposeOfEvent/0/text", "routine"),
        (3, "/recorded", "2020-01-01T00:00:00.000Z"),
    ] {
        let mut edited = evs.clone();
        set(&mut edited[i], pointer, value);
        assert_eq!(code_of(from_fhir(&searchset(edited), None)), ErrorCode::InvalidSignature, "{pointer}");
    }
    // A member added to the view, or one removed from it.
    let mut added = evs.clone();
    let Value::Object(m) = &mut added[1] else { panic!() };
    m.insert("purposeOfEvent".into(), Value::parse(r#"[{"text":"treatment"}]"#).unwrap());
    assert_eq!(code_of(from_fhir(&searchset(added), None)), ErrorCode::InvalidSignature);
    let mut removed = evs;
    let Value::Object(m) = &mut removed[0] else { panic!() };
    m.remove("entity");
    assert_eq!(code_of(from_fhir(&searchset(removed), None)), ErrorCode::InvalidSignature);
}

#[test]
fn attack_a_rewritten_line_with_a_matching_view_imports_and_then_fails_the_chain() {
    let f = fixture("clinic.example/audit-1");
    let lines: Vec<&str> = f.jsonl.lines().collect();
    // The server rewrites entry 1's patient consistently, line and view.
    let forged = lines[0].replace("\"p-17\"", "\"p-99\"");
    let text = f.jsonl.replacen(lines[0], &forged, 1);
    let imported = from_fhir(&bundle_of(&text, false), None).unwrap();
    let report = verify_log_with(&imported.jsonl, &f.opts).unwrap();
    assert!(!report.valid);
    assert_eq!(report.problem.unwrap().code, ProblemCode::Modified);
    // It drops an event in the middle.
    let mut evs = events(&bundle_of(&f.jsonl, false));
    evs.remove(1);
    let report = verify_log_with(&from_fhir(&searchset(evs), None).unwrap().jsonl, &f.opts).unwrap();
    assert!(!report.valid);
    // It cuts the tail back to the first checkpoint: a verifier that kept the
    // last checkpoint refuses it.
    let kept = verify_log_with(&f.jsonl, &f.opts).unwrap().checkpoint;
    let evs = events(&bundle_of(&f.jsonl, false));
    let cut: Vec<Value> = evs[..4].to_vec();
    let opts = VerifyOptions { since: kept, ..f.opts.clone() };
    let report = verify_log_with(&from_fhir(&searchset(cut), None).unwrap().jsonl, &opts).unwrap();
    assert!(!report.valid);
    // It writes a log of its own under the same id and signs it with its
    // own key: not trusted.
    let server = SigningKey::generate().unwrap();
    assert_ne!(server.verifying_key(), f.key.verifying_key());
    let mut log = AuditLog::new("clinic.example/audit-1").unwrap();
    log.append(Entry::new("dr-lee", "clinician", "view", T0)).unwrap();
    log.checkpoint(&server, T0 + 1).unwrap();
    let report = verify_log_with(&from_fhir(&bundle_of(&log.to_jsonl(), false), None).unwrap().jsonl, &f.opts).unwrap();
    assert!(!report.valid || !report.authenticated);
}

#[test]
fn attack_two_different_entries_with_one_seq_are_a_fork() {
    let f = fixture("clinic.example/audit-1");
    let mut evs = events(&bundle_of(&f.jsonl, false));
    let first = f.jsonl.lines().next().unwrap();
    let other = first.replace("\"dr-lee\"", "\"dr-x\"");
    evs.extend(events(&bundle_of(&other, false)));
    assert_eq!(code_of(from_fhir(&searchset(evs), None)), ErrorCode::StaleVersion);
}

#[test]
fn events_of_several_logs_need_the_log_id() {
    let a = fixture("clinic.example/audit-a");
    let b = fixture("clinic.example/audit-b");
    let mut evs = events(&bundle_of(&a.jsonl, false));
    evs.extend(events(&bundle_of(&b.jsonl, false)));
    let mixed = searchset(evs);
    assert_eq!(code_of(from_fhir(&mixed, None)), ErrorCode::InvalidArgument);
    let only_b = from_fhir(&mixed, Some("clinic.example/audit-b")).unwrap();
    assert_eq!((only_b.entries, only_b.skipped), (5, 8));
    assert_eq!(only_b.jsonl, b.jsonl);
    assert!(verify_log_with(&only_b.jsonl, &b.opts).unwrap().valid);
    // A's checkpoints do not verify as B's.
    let only_a = from_fhir(&mixed, Some("clinic.example/audit-a")).unwrap();
    assert!(!verify_log_with(&only_a.jsonl, &b.opts).unwrap().valid);
}

#[test]
fn malformed_input_is_refused_with_a_code() {
    for bad in [
        r#""text""#,
        r#"{"resourceType":"Bundle","entry":{}}"#,
        &format!(r#"[{{"resourceType":"AuditEvent","extension":[{{"url":"{CHAIN_EXTENSION}"}}]}}]"#),
        &format!(
            r#"[{{"resourceType":"AuditEvent","extension":[{{"url":"{CHAIN_EXTENSION}","extension":[{{"url":"line","valueString":"{{}}"}}]}}]}}]"#
        ),
        &format!(
            r#"[{{"resourceType":"AuditEvent","extension":[{{"url":"{CHAIN_EXTENSION}","extension":[]}},{{"url":"{CHAIN_EXTENSION}","extension":[]}}]}}]"#
        ),
        "[1]",
    ] {
        let v = Value::parse(bad).unwrap();
        assert_eq!(code_of(from_fhir(&v, None)), ErrorCode::MalformedInput, "{bad}");
    }
    assert_eq!(to_fhir("{\"type\":\"entry\"}\n", false).unwrap_err().code(), ErrorCode::MalformedInput);
    let mut log = AuditLog::new("l").unwrap();
    log.append(Entry::new("a", "b", "view", 253_402_300_800_000)).unwrap();
    assert_eq!(to_fhir(&log.to_jsonl(), false).unwrap_err().code(), ErrorCode::InvalidArgument);
    // An empty search result is an empty log.
    let empty = from_fhir(&Value::parse(r#"{"resourceType":"Bundle","type":"searchset"}"#).unwrap(), None).unwrap();
    assert_eq!((empty.jsonl.as_str(), empty.entries), ("", 0));
}

/// The shared vector: a log (tests/support/audit-fhir-log.jsonl) and its
/// export (tests/support/audit-fhir-bundle.json). The JavaScript exporter
/// (js/fhir-audit.js, tests/js/fhir-audit.test.mjs) must give the same bytes:
/// two implementations of FORMAT §6.12 checked against one another.
/// `PHISEAL_BLESS=1 cargo test --test audit_fhir` writes a new pair.
#[test]
fn the_shared_vector_round_trips_byte_for_byte() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/");
    let (log_file, bundle_file) = (format!("{dir}audit-fhir-log.jsonl"), format!("{dir}audit-fhir-bundle.json"));
    if std::env::var_os("PHISEAL_BLESS").is_some() {
        let f = fixture("clinic.example/audit-1");
        // An unsigned tail entry with what JSON escapes: non-ASCII, a newline,
        // a control character, quotes and a backslash.
        let mut log = AuditLog::resume("clinic.example/audit-1", 5, &verify_head(&f.jsonl)).unwrap();
        let mut e = Entry::new("dr-émile", "médecin", "note-added", T0 + 7).patient("p-\"17\"");
        e.reason = Some("line 1\nline 2\u{1}\\".into());
        log.append(e).unwrap();
        let jsonl = format!("{}{}", f.jsonl, log.to_jsonl());
        std::fs::write(&log_file, &jsonl).unwrap();
        std::fs::write(&bundle_file, format!("{}\n", to_fhir(&jsonl, false).unwrap())).unwrap();
    }
    let jsonl = std::fs::read_to_string(&log_file).unwrap();
    let bundle = std::fs::read_to_string(&bundle_file).unwrap();
    assert_eq!(to_fhir(&jsonl, false).unwrap(), bundle.trim_end());
    assert_eq!(from_fhir(&Value::parse(&bundle).unwrap(), None).unwrap().jsonl, jsonl);
    let report = verify_log_with(&jsonl, &VerifyOptions::default()).unwrap();
    assert!(report.valid && report.entries == 6, "{report:?}");
}

/// The hash of the last entry of `jsonl`.
fn verify_head(jsonl: &str) -> String {
    let last = jsonl.lines().rev().find(|l| l.contains("\"type\":\"entry\"")).unwrap();
    Value::parse(last).unwrap().get("hash").unwrap().as_str().unwrap().to_owned()
}

#[test]
fn instants_are_utc_with_milliseconds() {
    assert_eq!(instant(0).unwrap(), "1970-01-01T00:00:00.000Z");
    assert_eq!(instant(1_700_000_000_123).unwrap(), "2023-11-14T22:13:20.123Z");
    assert_eq!(instant(951_782_400_000).unwrap(), "2000-02-29T00:00:00.000Z");
    assert_eq!(instant(253_402_300_799_999).unwrap(), "9999-12-31T23:59:59.999Z");
    assert_eq!(instant(253_402_300_800_000).unwrap_err().code(), ErrorCode::InvalidArgument);
}
