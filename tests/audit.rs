//! The audit log: hash chain, signed checkpoints, verification that names
//! the first bad line for every kind of tampering.
// A native suite (`cargo test`); in wasm32 this file compiles to nothing, so
// `wasm-pack test` builds every test target and runs tests/web.rs.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

#[macro_use]
#[path = "support/json.rs"]
mod support_json;
use phiseal::ErrorCode;
use phiseal::audit::{AuditLog, Entry, Verifier, verify_log};
use phiseal::field::Schema;
use phiseal::sign::SigningKey;

const T0: u64 = 1_700_000_000_000;

fn build(n: u64, every: u64) -> (String, SigningKey) {
    build_log("tab-7f3a", n, every)
}

fn build_log(id: &str, n: u64, every: u64) -> (String, SigningKey) {
    let key = SigningKey::generate().unwrap();
    let mut log = AuditLog::new(id).unwrap();
    for i in 1..=n {
        let mut e = Entry::new(
            &format!("user-{}", i % 7),
            "clinician",
            ["view", "decrypt", "export"][(i % 3) as usize],
            T0 + i,
        );
        e.patient_id = Some(format!("patient-{}", i % 11));
        e.resource = Some(format!("record-{i}"));
        e.field_path = (i % 2 == 0).then(|| "/patient/ssn".to_owned());
        e.client.device = Some("dev-1".into());
        log.append(e).unwrap();
        if i % every == 0 {
            log.checkpoint(&key, T0 + i).unwrap();
        }
    }
    (log.to_jsonl(), key)
}

fn lines(text: &str) -> Vec<String> {
    text.lines().map(str::to_owned).collect()
}

fn join(lines: &[String]) -> String {
    lines.iter().map(|l| format!("{l}\n")).collect()
}

#[test]
fn a_valid_log_verifies_and_reports_its_unsigned_tail() {
    let (text, key) = build(1000, 100);
    let r = verify_log(&text, &[key.verifying_key()]);
    assert!(r.valid, "{r:?}");
    assert_eq!((r.entries, r.checkpoints, r.last_checkpoint_seq, r.unsigned_tail), (1000, 10, 1000, 0));
    let (text, key) = build(250, 100);
    let r = verify_log(&text, &[key.verifying_key()]);
    assert!(r.valid);
    assert_eq!((r.last_checkpoint_seq, r.unsigned_tail), (200, 50));
}

#[test]
fn one_flipped_byte_in_any_line_is_caught_at_that_line() {
    let (text, key) = build(300, 50);
    let trusted = [key.verifying_key()];
    let all = lines(&text);
    for (i, line) in all.iter().enumerate() {
        // A different byte position on every line, so every field is hit somewhere.
        let pos = (i * 37) % line.len();
        let mut bytes = line.clone().into_bytes();
        bytes[pos] ^= 0x01;
        let Ok(bad) = String::from_utf8(bytes) else { continue };
        let mut copy = all.clone();
        copy[i] = bad;
        let r = verify_log(&join(&copy), &trusted);
        assert!(!r.valid, "line {} byte {pos} flipped but the log verified", i + 1);
        assert_eq!(r.problem.as_ref().unwrap().line, i + 1, "line {} byte {pos}: {:?}", i + 1, r.problem);
    }
}

/// Every byte of every line of a 1,000-entry log (with checkpoints), flipped
/// one at a time, makes verification fail at exactly that line. The chain
/// state before each line is snapshotted so each flip costs one line.
#[test]
fn every_byte_of_a_1000_entry_log_is_protected() {
    let (text, key) = build(1000, 100);
    let mut base = Verifier::new(&[key.verifying_key()]);
    let mut flips = 0usize;
    for (i, line) in text.lines().enumerate() {
        for pos in 0..line.len() {
            let mut bytes = line.as_bytes().to_vec();
            bytes[pos] ^= 0x01;
            let Ok(bad) = String::from_utf8(bytes) else { continue };
            let mut v = base.clone();
            let problem = v.push_line(&bad).expect_err("a flipped byte verified");
            assert_eq!(problem.line, i + 1, "line {} byte {pos}: {problem:?}", i + 1);
            flips += 1;
        }
        base.push_line(line).unwrap();
    }
    assert!(flips > 250_000, "{flips}");
    assert!(base.finish().valid);
}

#[test]
fn every_byte_of_some_entries_is_protected() {
    let (text, key) = build(60, 20);
    let trusted = [key.verifying_key()];
    let all = lines(&text);
    for i in [0usize, 30, all.len() - 1] {
        for pos in 0..all[i].len() {
            for bit in [0x01u8, 0x20] {
                let mut bytes = all[i].clone().into_bytes();
                bytes[pos] ^= bit;
                let Ok(bad) = String::from_utf8(bytes) else { continue };
                let mut copy = all.clone();
                copy[i] = bad;
                let r = verify_log(&join(&copy), &trusted);
                assert!(!r.valid, "line {} byte {pos} bit {bit:#x}", i + 1);
                assert_eq!(r.problem.unwrap().line, i + 1);
            }
        }
    }
}

#[test]
fn deletion_insertion_reordering_replay_and_truncation_are_caught() {
    let (text, key) = build(50, 10);
    let trusted = [key.verifying_key()];
    let all = lines(&text);
    let problem = |ls: &[String]| verify_log(&join(ls), &trusted).problem.unwrap();

    let mut deleted = all.clone();
    deleted.remove(5);
    assert_eq!(problem(&deleted).line, 6);
    assert!(problem(&deleted).reason.contains("gap"));

    let mut inserted = all.clone();
    inserted.insert(3, all[2].clone());
    assert_eq!(problem(&inserted).line, 4);

    let mut reordered = all.clone();
    reordered.swap(7, 8);
    assert_eq!(problem(&reordered).line, 8);

    // Replay of an entry from another log with the same sequence number.
    let (other, _) = build_log("tab-other", 50, 10);
    let mut replayed = all.clone();
    replayed[4] = lines(&other)[4].clone();
    let p = problem(&replayed);
    assert_eq!(p.line, 5);

    // Truncation behind a checkpoint: the checkpoint names missing entries.
    let mut truncated: Vec<String> = all.iter().take(20).cloned().collect();
    truncated.push(all.iter().find(|l| l.contains("\"checkpoint\"") && l.contains("\"seq\":30")).unwrap().clone());
    assert!(problem(&truncated).reason.contains("truncated"));
    // Truncation after the last checkpoint is reported as the unsigned tail.
    let cut: Vec<String> = all.iter().take(all.len() - 1).cloned().collect();
    let r = verify_log(&join(&cut), &trusted);
    assert!(r.valid);
    assert_eq!(r.unsigned_tail, 10);

    // Without any checkpoint a rewritten chain would verify: with trusted
    // keys, a log needs at least one signed checkpoint.
    let unsigned: Vec<String> = all.iter().filter(|l| !l.contains("\"checkpoint\"")).cloned().collect();
    let r = verify_log(&join(&unsigned), &trusted);
    assert!(!r.valid);
    assert!(r.problem.unwrap().reason.contains("no signed checkpoint"));
    assert!(verify_log(&join(&unsigned), &[]).valid, "without keys only the chain is checked");

    // A checkpoint signed by someone else is refused.
    let r = verify_log(&text, &[SigningKey::generate().unwrap().verifying_key()]);
    assert!(r.problem.unwrap().reason.contains("untrusted"));
    assert!(!verify_log("", &trusted).valid);
    assert!(!verify_log("{\"type\":\"entry\"}\n", &trusted).valid);
}

#[test]
fn entries_refuse_phi_values_and_break_glass_needs_a_reason() {
    let schema = Schema::from_json(r#"{"id":"s","version":1,"fields":{"patient.ssn":true,"notes":true}}"#).unwrap();
    let record = json!({"patient": {"ssn": "123-45-6789"}, "notes": {"text": "severe asthma"}});
    let mut log = AuditLog::new("t").unwrap();
    let mut leaky = Entry::new("u", "clinician", "view", T0);
    leaky.reason = Some("checked ssn 123-45-6789".into());
    assert_eq!(log.append_checked(leaky, &record, &schema).unwrap_err().code(), ErrorCode::InvalidArgument);
    let mut leaky = Entry::new("u", "clinician", "view", T0);
    leaky.resource = Some("note: severe asthma".into());
    assert_eq!(log.append_checked(leaky, &record, &schema).unwrap_err().code(), ErrorCode::InvalidArgument);
    let mut fine = Entry::new("u", "clinician", "decrypt", T0);
    fine.field_path = Some("/patient/ssn".into());
    assert_eq!(log.append_checked(fine, &record, &schema).unwrap().seq, 1);
    let glass = Entry::new("u", "er-physician", "break-glass", T0);
    assert_eq!(log.append(glass).unwrap_err().code(), ErrorCode::InvalidArgument);
    assert_eq!(log.seq(), 1);
    assert_eq!(AuditLog::new("").unwrap_err().code(), ErrorCode::InvalidArgument);
}

#[test]
fn a_resumed_log_continues_the_chain() {
    let key = SigningKey::generate().unwrap();
    let mut log = AuditLog::new("s").unwrap();
    log.append(Entry::new("u", "r", "view", T0)).unwrap();
    let first = log.to_jsonl();
    let mut resumed = AuditLog::resume("s", log.seq(), &log.head()).unwrap();
    resumed.append(Entry::new("u", "r", "export", T0 + 1)).unwrap();
    resumed.checkpoint(&key, T0 + 2).unwrap();
    let joined = format!("{first}{}", resumed.to_jsonl());
    let r = verify_log(&joined, &[key.verifying_key()]);
    assert!(r.valid, "{r:?}");
    assert_eq!(r.entries, 2);
}

/// Each line's JSON, with `edit` applied to the members of line `i`.
fn edited(text: &str, i: usize, edit: impl Fn(&mut phiseal::json::Map)) -> String {
    let mut ls = lines(text);
    let mut v = phiseal::json::Value::parse(&ls[i]).unwrap();
    edit(v.as_object_mut().unwrap());
    ls[i] = v.to_json();
    join(&ls)
}

#[test]
fn lines_with_unknown_members_nulls_or_a_changed_type_are_rejected() {
    use phiseal::json::Value;
    let (text, key) = build(3, 2); // entry, entry, checkpoint, entry
    let trusted = [key.verifying_key()];
    assert!(verify_log(&text, &trusted).valid);
    let bad = |what: &str, t: String, line: usize| {
        let r = verify_log(&t, &trusted);
        assert!(!r.valid, "{what}");
        assert_eq!(r.problem.as_ref().map(|p| p.line), Some(line), "{what}: {r:?}");
    };
    bad("extra member", edited(&text, 1, |o| drop(o.insert("note".into(), "x".into()))), 2);
    bad(
        "extra member in actor",
        edited(&text, 0, |o| drop(o.get_mut("actor").unwrap().as_object_mut().unwrap().insert("x".into(), 1u8.into()))),
        1,
    );
    bad("extra member in a checkpoint", edited(&text, 2, |o| drop(o.insert("note".into(), "x".into()))), 3);
    // `null` is not "absent" for the members with defaults: "outcome": null
    // would otherwise read as "success".
    for member in ["log", "seq", "outcome", "client", "prevHash", "hash", "time", "actor", "action", "type"] {
        bad(member, edited(&text, 0, |o| drop(o.insert(member.into(), Value::Null))), 1);
    }
    for member in ["log", "seq", "head", "time", "kid", "sig"] {
        bad(member, edited(&text, 2, |o| drop(o.insert(member.into(), Value::Null))), 3);
    }
    bad("checkpoint type on an entry", edited(&text, 0, |o| drop(o.insert("type".into(), "checkpoint".into()))), 1);
    bad("unknown type", edited(&text, 0, |o| drop(o.insert("type".into(), "note".into()))), 1);
    // The optional members read `null` as absent: same meaning, same hash.
    let with_null = edited(&text, 0, |o| drop(o.insert("reason".into(), Value::Null)));
    assert!(verify_log(&with_null, &trusted).valid);
    // An entry given to append: `type` belongs to lines, not entries.
    let e = r#"{"time":1,"actor":{"id":"a","role":"r"},"action":"view"}"#;
    assert!(Entry::from_json(e).is_ok());
    for bad_entry in [
        r#"{"type":"entry","time":1,"actor":{"id":"a","role":"r"},"action":"view"}"#,
        r#"{"time":1,"actor":{"id":"a","role":"r"},"action":"view","outcome":null}"#,
        r#"{"time":1,"actor":{"id":"a","role":"r"},"action":"view","client":{"ip":"1.2.3.4","mac":"x"}}"#,
        r#"{"time":1.5,"actor":{"id":"a","role":"r"},"action":"view"}"#,
        r#"{"time":1,"actor":{"id":"a"},"action":"view"}"#,
    ] {
        assert_eq!(Entry::from_json(bad_entry).unwrap_err().code(), ErrorCode::MalformedInput, "{bad_entry}");
    }
}
