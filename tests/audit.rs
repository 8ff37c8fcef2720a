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
    (write_log(id, &key, n, every, u64::MAX), key)
}

/// The test log: `n` entries signed by `key` with a checkpoint every
/// `every`; from entry `fork_at` on, the action is "forged".
fn write_log(id: &str, key: &SigningKey, n: u64, every: u64, fork_at: u64) -> String {
    let mut log = AuditLog::new(id).unwrap();
    for i in 1..=n {
        let action = if i >= fork_at { "forged" } else { ["view", "decrypt", "export"][(i % 3) as usize] };
        let mut e = Entry::new(&format!("user-{}", i % 7), "clinician", action, T0 + i);
        e.patient_id = Some(format!("patient-{}", i % 11));
        e.resource = Some(format!("record-{i}"));
        e.field_path = (i % 2 == 0).then(|| "/patient/ssn".to_owned());
        e.client.device = Some("dev-1".into());
        log.append(e).unwrap();
        if i % every == 0 {
            log.checkpoint(key, T0 + i).unwrap();
        }
    }
    log.to_jsonl()
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
    truncated.push(all.iter().find(|l| l.contains("\"checkpoint\"") && l.contains("\\n30\\n")).unwrap().clone());
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
    let mut blind = AuditLog::resume("s", log.seq(), &log.head()).unwrap();
    blind.append(Entry::new("u", "r", "export", T0 + 1)).unwrap();
    assert_eq!(blind.checkpoint(&key, T0 + 2).unwrap_err().code(), ErrorCode::Misuse, "no tree state, no checkpoint");
    let mut resumed = AuditLog::resume_with_tree("s", log.seq(), &log.head(), &log.tree_state().unwrap()).unwrap();
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

// ---------------------------------------------------------------------------
// Merkle tree, checkpoint notes, kept checkpoints, witnesses: the storage
// server plays the attacker.
// ---------------------------------------------------------------------------

use base64ct::{Base64, Encoding as _};
use phiseal::audit::merkle::{self, MerkleTree, TreeHash, leaf_hash, node_hash};
use phiseal::audit::{
    AlertKind, AlertRules, CheckpointNote, ProblemCode, Report, VerifyOptions, Witness, access_alerts, tree_of,
    verify_consistency, verify_inclusion, verify_log_with,
};
use phiseal::keys::PublicKey;
use sha2::{Digest as _, Sha256};

fn opts(trusted: &[PublicKey]) -> VerifyOptions {
    VerifyOptions { trusted: trusted.to_vec(), ..VerifyOptions::default() }
}

fn with(text: &str, o: &VerifyOptions) -> Report {
    verify_log_with(text, o).unwrap()
}

fn code(r: &Report) -> ProblemCode {
    r.problem.as_ref().map(|p| p.code).unwrap_or_else(|| panic!("no problem in {r:?}"))
}

/// RFC 9162 §2.1.1 MTH, written the slow way (recursion over the leaves).
fn mth(leaves: &[TreeHash]) -> TreeHash {
    match leaves.len() {
        0 => Sha256::digest([]).into(),
        1 => leaves[0],
        n => {
            let k = 1usize << (usize::BITS - 1 - (n - 1).leading_zeros());
            node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
        }
    }
}

/// The lines of `text` up to and including the checkpoint note of tree size `size`.
fn cut_at_checkpoint(text: &str, size: u64) -> String {
    let mut out = String::new();
    for l in text.lines() {
        out.push_str(l);
        out.push('\n');
        if l.contains(&format!("\\n{size}\\n")) && l.contains("\"checkpoint\"") {
            return out;
        }
    }
    panic!("no checkpoint of size {size}")
}

#[test]
fn a_checkpoint_is_a_c2sp_signed_note_over_the_rfc9162_root() {
    let (text, key) = build(7, 7);
    let (tree, entries) = tree_of(&text).unwrap();
    let leaves: Vec<TreeHash> = entries.iter().map(|e| e.leaf_hash().unwrap()).collect();
    assert_eq!(tree.root_at(7).unwrap(), mth(&leaves));
    let line = text.lines().last().unwrap();
    let note = phiseal::json::Value::parse(line).unwrap().get("note").unwrap().as_str().unwrap().to_owned();
    let (body, sigs) = note.split_once("\n\n").unwrap();
    let body_lines: Vec<&str> = body.split('\n').collect();
    assert_eq!(body_lines[..2], ["tab-7f3a", "7"]);
    assert_eq!(Base64::decode_vec(body_lines[2]).unwrap(), mth(&leaves).to_vec());
    assert_eq!(body_lines[3], format!("phiseal-time-ms {}", T0 + 7));
    assert_eq!(body_lines.len(), 4);
    let sig = sigs.strip_prefix("\u{2014} tab-7f3a ").unwrap().strip_suffix('\n').unwrap();
    let blob = Base64::decode_vec(sig).unwrap();
    assert_eq!(blob.len(), 4 + 96);
    // Key id: SHA-256(name ‖ 0x0A ‖ 0xff ‖ identifier ‖ SEC1 point)[:4].
    let mut h = Sha256::new();
    h.update(b"tab-7f3a\n\xffphiseal.dev/audit/ecdsa-p384-sha384/v1");
    h.update(key.verifying_key().to_sec1(false));
    assert_eq!(blob[..4], h.finalize()[..4]);
    // ECDSA P-384 / SHA-384 over the note text, body with its final newline.
    phiseal::sign::verify_p1363(&key.verifying_key(), format!("{body}\n").as_bytes(), &blob[4..]).unwrap();
    assert_eq!(CheckpointNote::parse(&note).unwrap().to_text(), note);
}

#[test]
fn a_version_1_log_still_verifies() {
    // A v1 checkpoint line, made here from docs/FORMAT.md §6.8's layout.
    let key = SigningKey::generate().unwrap();
    let mut log = AuditLog::new("old-log").unwrap();
    let last = (1..=3).map(|i| log.append(Entry::new("u", "r", "view", T0 + i)).unwrap()).last().unwrap();
    let mut msg = vec![27u8];
    msg.extend_from_slice(b"phiseal-audit-checkpoint-v1");
    msg.extend_from_slice(&7u16.to_be_bytes());
    msg.extend_from_slice(b"old-log");
    msg.extend_from_slice(&3u64.to_be_bytes());
    msg.extend_from_slice(&base64ct::Base64UrlUnpadded::decode_vec(&last.hash).unwrap());
    msg.extend_from_slice(&(T0 + 9).to_be_bytes());
    let sig = base64ct::Base64UrlUnpadded::encode_string(&key.sign(&msg).unwrap());
    let v1 = format!(
        r#"{{"type":"checkpoint","log":"old-log","seq":3,"head":"{}","time":{},"kid":"{}","sig":"{sig}"}}"#,
        last.hash,
        T0 + 9,
        key.verifying_key().kid()
    );
    let text = format!("{}{v1}\n", log.to_jsonl());
    let r = verify_log(&text, &[key.verifying_key()]);
    assert!(r.valid && r.authenticated, "{r:?}");
    assert_eq!((r.checkpoints, r.last_checkpoint_seq, r.checkpoint.as_deref()), (1, 3, None));
    let bad = text.replace(&sig, &base64ct::Base64UrlUnpadded::encode_string(&[7u8; 96]));
    assert_eq!(code(&verify_log(&bad, &[key.verifying_key()])), ProblemCode::BadCheckpoint);
}

#[test]
fn without_trusted_keys_the_chain_and_tree_are_checked_and_nothing_is_authenticated() {
    let (text, _) = build(30, 10);
    let r = verify_log(&text, &[]);
    assert!(r.valid && !r.authenticated, "{r:?}");
    assert_eq!((r.checkpoints, r.last_checkpoint_seq, r.unsigned_tail), (0, 0, 30));
    // A checkpoint that does not match the entries is still refused.
    let other = forked(&SigningKey::generate().unwrap(), 30, 5, 10);
    let foreign = other.lines().find(|l| l.contains("\\n20\\n")).unwrap();
    let mut ls = lines(&text);
    let i = ls.iter().position(|l| l.contains("\\n20\\n")).unwrap();
    ls[i] = foreign.to_owned();
    let r = verify_log(&join(&ls), &[]);
    assert_eq!((code(&r), r.problem.unwrap().line), (ProblemCode::BadCheckpoint, i + 1));
    // Options that need keys are refused without them.
    let o = VerifyOptions { since: Some("x".into()), ..VerifyOptions::default() };
    assert_eq!(verify_log_with(&text, &o).unwrap_err().code(), ErrorCode::InvalidArgument);
}

#[test]
fn attack_cut_back_to_an_earlier_checkpoint_is_refused_against_a_kept_one() {
    let (text, key) = build(50, 10);
    let trusted = [key.verifying_key()];
    let kept = verify_log(&text, &trusted).checkpoint.unwrap();
    let cut = cut_at_checkpoint(&text, 20);
    // Alone, a cut at a checkpoint looks complete: the limit `since` removes.
    let r = verify_log(&cut, &trusted);
    assert!(r.valid && r.unsigned_tail == 0, "{r:?}");
    let o = VerifyOptions { since: Some(kept.clone()), ..opts(&trusted) };
    let r = with(&cut, &o);
    assert!(!r.valid);
    assert_eq!(code(&r), ProblemCode::RolledBack);
    // The same log, and one that grew, extend the kept checkpoint.
    assert!(with(&text, &o).valid);
    let (grown, _) = {
        let mut log = AuditLog::new("x").unwrap();
        log.append(Entry::new("u", "r", "view", T0)).unwrap();
        (log, ())
    };
    drop(grown);
    let mut more = text.clone();
    let last = lines(&text).iter().rev().find(|l| l.contains("\"entry\"")).unwrap().clone();
    let last = Entry::from_json(&last.replacen("\"type\":\"entry\",", "", 1)).unwrap();
    let mut log = AuditLog::resume("tab-7f3a", 50, &last.hash).unwrap();
    log.append(Entry::new("u", "r", "view", T0 + 99)).unwrap();
    more.push_str(&log.to_jsonl());
    let r = with(&more, &o);
    assert!(r.valid && r.last_checkpoint_seq == 50 && r.unsigned_tail == 1, "{r:?}");
    // A kept checkpoint by someone else, or of another log, is refused.
    let (other, other_key) = build_log("tab-other", 10, 10);
    let foreign = verify_log(&other, &[other_key.verifying_key()]).checkpoint.unwrap();
    let o2 = VerifyOptions { since: Some(foreign.clone()), ..opts(&trusted) };
    assert_eq!(verify_log_with(&text, &o2).unwrap_err().code(), ErrorCode::UntrustedAuthor);
    let o3 = VerifyOptions { since: Some(foreign), ..opts(&[key.verifying_key(), other_key.verifying_key()]) };
    assert_eq!(code(&with(&text, &o3)), ProblemCode::OtherLog);
}

/// A log of `n` entries by `key`, entries differing from [`build`]'s from `fork_at` on.
fn forked(key: &SigningKey, n: u64, fork_at: u64, every: u64) -> String {
    write_log("tab-7f3a", key, n, every, fork_at)
}

#[test]
fn attack_forks_and_rewrites_are_refused() {
    let (text, key) = build(40, 10);
    let trusted = [key.verifying_key()];
    let kept = verify_log(&cut_at_checkpoint(&text, 30), &trusted).checkpoint.unwrap();
    let o = VerifyOptions { since: Some(kept), ..opts(&trusted) };
    // Same size, other root: the writer's key signed two histories (stolen
    // key, equivocation). Each verifies alone; against the kept one, no.
    let fork = forked(&key, 30, 12, 10);
    assert!(verify_log(&fork, &trusted).valid);
    let r = with(&fork, &o);
    assert_eq!(code(&r), ProblemCode::Forked);
    assert_eq!(r.problem.unwrap().seq, Some(30));
    // A longer fork is refused at the entry the kept checkpoint covers last.
    assert_eq!(code(&with(&forked(&key, 60, 25, 10), &o)), ProblemCode::Forked);
    // The server rewrites an entry and re-signs everything with its own key.
    let server = SigningKey::generate().unwrap();
    let rewritten = forked(&server, 40, 12, 10);
    assert_eq!(code(&verify_log(&rewritten, &trusted)), ProblemCode::UntrustedKey);
    assert_eq!(code(&with(&rewritten, &o)), ProblemCode::UntrustedKey);
    // ... or keeps the writer's checkpoints over rewritten entries.
    let mut spliced = lines(&rewritten);
    for (i, l) in lines(&text).iter().enumerate() {
        if l.contains("\"checkpoint\"") {
            spliced[i] = l.clone();
        }
    }
    let r = verify_log(&join(&spliced), &trusted);
    assert_eq!(code(&r), ProblemCode::BadCheckpoint);
    assert!(r.problem.unwrap().reason.contains("root"));
    // Adding its own signature line to a genuine note changes nothing:
    // unknown keys are ignored, the writer's signature still counts.
    let note = verify_log(&text, &trusted).checkpoint.unwrap();
    let body = CheckpointNote::parse(&note).unwrap().body;
    let extra = phiseal::audit::note::cosign(&body, "server.example", &server, 1).unwrap();
    let as_line = |n: &str| phiseal::audit::Line::Note(CheckpointNote::parse(n).unwrap()).to_json();
    let with_extra = text.replace(&as_line(&note), &as_line(&format!("{note}{extra}")));
    assert_ne!(with_extra, text);
    assert!(verify_log(&with_extra, &trusted).valid);
}

fn witness_opts(trusted: &[PublicKey], witnesses: &[PublicKey], required: usize) -> VerifyOptions {
    VerifyOptions { witnesses: witnesses.to_vec(), witnesses_required: required, ..opts(trusted) }
}

/// `text` with the last checkpoint line replaced by its note plus `cosig`.
fn cosigned(text: &str, cosig: &str) -> String {
    let mut ls = lines(text);
    let i = ls.iter().rposition(|l| l.contains("\"checkpoint\"")).unwrap();
    let v = phiseal::json::Value::parse(&ls[i]).unwrap();
    let note = v.get("note").unwrap().as_str().unwrap();
    ls[i] = phiseal::audit::Line::Note(CheckpointNote::parse(&format!("{note}{cosig}")).unwrap()).to_json();
    join(&ls)
}

fn last_note(text: &str) -> String {
    let l = text.lines().rev().find(|l| l.contains("\"checkpoint\"")).unwrap();
    phiseal::json::Value::parse(l).unwrap().get("note").unwrap().as_str().unwrap().to_owned()
}

#[test]
fn attack_witnesses_refuse_forks_and_verifiers_require_them() {
    let (text, key) = build(40, 10);
    let trusted = [key.verifying_key()];
    let wkey = SigningKey::generate().unwrap();
    let mut w = Witness::new("witness.example/w1", wkey, vec![key.verifying_key()]).unwrap();
    let wpub = [w.public_key()];
    let at30 = cut_at_checkpoint(&text, 30);
    let line = w.cosign(&last_note(&at30), &[], 1_700_000_030).unwrap();
    assert!(line.starts_with("\u{2014} witness.example/w1 ") && line.ends_with('\n'));
    let at30_cosigned = cosigned(&at30, &line);
    // Missing witness: the uncosigned log is refused when one is required.
    let o = witness_opts(&trusted, &wpub, 1);
    assert_eq!(code(&with(&at30, &o)), ProblemCode::NotWitnessed);
    let r = with(&at30_cosigned, &o);
    assert!(r.valid && r.witnessed == 1 && r.last_checkpoint_seq == 30, "{r:?}");
    // Two required, one given: refused; a witness key the verifier does not
    // require is ignored.
    let other = SigningKey::generate().unwrap().verifying_key();
    assert_eq!(code(&with(&at30_cosigned, &witness_opts(&trusted, &[wpub[0], other], 2))), ProblemCode::NotWitnessed);
    assert_eq!(code(&with(&at30_cosigned, &witness_opts(&trusted, &[other], 1))), ProblemCode::NotWitnessed);
    // A tampered cosignature by the required witness is refused.
    let blob_start = line.rfind(' ').unwrap() + 1;
    let mut bad = line.clone().into_bytes();
    bad[blob_start + 20] = if bad[blob_start + 20] == b'A' { b'B' } else { b'A' };
    let bad = String::from_utf8(bad).unwrap();
    assert_eq!(code(&with(&cosigned(&at30, &bad), &o)), ProblemCode::BadCosignature);

    // The witness refuses a fork of what it cosigned (same size, other root)...
    let fork = forked(&key, 30, 12, 10);
    assert_eq!(w.cosign(&last_note(&fork), &[], 2).unwrap_err().code(), ErrorCode::StaleVersion);
    // ... an older checkpoint ...
    let at20 = last_note(&cut_at_checkpoint(&text, 20));
    assert_eq!(w.cosign(&at20, &[], 2).unwrap_err().code(), ErrorCode::StaleVersion);
    // ... a longer fork, whatever proof it is shown ...
    let long_fork = forked(&key, 40, 12, 10);
    let (fork_tree, _) = tree_of(&long_fork).unwrap();
    let proof = fork_tree.consistency_proof(30, 40).unwrap();
    assert_eq!(w.cosign(&last_note(&long_fork), &proof, 2).unwrap_err().code(), ErrorCode::StaleVersion);
    // ... a checkpoint its log keys did not sign ...
    let server = SigningKey::generate().unwrap();
    let forged = forked(&server, 40, 41, 10);
    assert_eq!(w.cosign(&last_note(&forged), &[], 2).unwrap_err().code(), ErrorCode::UntrustedAuthor);
    assert_eq!(w.last("tab-7f3a").unwrap().0, 30, "refusals do not move the witness");
    // ... and cosigns the real extension with its consistency proof only.
    let (tree, _) = tree_of(&text).unwrap();
    let good = tree.consistency_proof(30, 40).unwrap();
    assert_eq!(w.cosign(&last_note(&text), &good[1..], 3).unwrap_err().code(), ErrorCode::StaleVersion);
    let line40 = w.cosign(&last_note(&text), &good, 3).unwrap();
    let r = with(&cosigned(&text, &line40), &o);
    assert!(r.valid && r.last_checkpoint_seq == 40 && r.witnessed == 1, "{r:?}");
    // Entries after the last cosigned checkpoint are the unsigned tail.
    let r = with(&format!("{at30_cosigned}{}", &text[at30.len()..]), &o);
    assert!(r.valid && r.last_checkpoint_seq == 30 && r.unsigned_tail == 10, "{r:?}");
}

#[test]
fn inclusion_and_consistency_proofs_refuse_what_they_should() {
    let (text, _) = build(100, 10);
    let (tree, entries) = tree_of(&text).unwrap();
    let root = tree.root_at(100).unwrap();
    let proof = tree.inclusion_proof(41, 100).unwrap();
    let leaf = entries[41].leaf_hash().unwrap();
    verify_inclusion(41, 100, &leaf, &proof, &root).unwrap();
    // A modified entry (its members, not only its hash) is not included.
    let mut modified = entries[41].clone();
    modified.action = "export-all".into();
    let bad = modified.leaf_hash().unwrap();
    assert_eq!(verify_inclusion(41, 100, &bad, &proof, &root).unwrap_err().code(), ErrorCode::InvalidSignature);
    assert!(verify_inclusion(42, 100, &leaf, &proof, &root).is_err(), "wrong index");
    assert!(verify_inclusion(41, 100, &leaf, &proof[1..], &root).is_err(), "short proof");
    // A forked log is not an extension: its proof fails against the real roots.
    let key = SigningKey::generate().unwrap();
    let (fork_tree, _) = tree_of(&forked(&key, 100, 30, 10)).unwrap();
    let p = fork_tree.consistency_proof(50, 100).unwrap();
    let old = tree.root_at(50).unwrap();
    assert!(verify_consistency(50, 100, &old, &fork_tree.root_at(100).unwrap(), &p).is_err());
    let p = tree.consistency_proof(50, 100).unwrap();
    verify_consistency(50, 100, &old, &root, &p).unwrap();
    assert!(verify_consistency(50, 100, &fork_tree.root_at(50).unwrap(), &root, &p).is_err());
    assert!(verify_consistency(100, 50, &root, &old, &p).is_err(), "a shorter tree never extends");
    assert!(verify_consistency(100, 100, &root, &old, &[]).is_err(), "same size, other root");
}

#[test]
fn proofs_for_random_sizes_verify_and_every_changed_node_fails() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    let mut runner = TestRunner::new(Config { cases: 256, failure_persistence: None, ..Config::default() });
    runner
        .run(&(1u64..600, any::<prop::sample::Index>(), any::<prop::sample::Index>(), any::<u8>()), |(n, a, b, bit)| {
            let leaves: Vec<TreeHash> = (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect();
            let mut tree = MerkleTree::new();
            let mut frontier = merkle::Frontier::new();
            for l in &leaves {
                tree.push(*l);
                frontier.push(*l).unwrap();
            }
            let root = mth(&leaves);
            prop_assert_eq!(tree.root_at(n).unwrap(), root);
            prop_assert_eq!(frontier.root(), root);
            let i = a.index(n as usize) as u64;
            let proof = tree.inclusion_proof(i, n).unwrap();
            prop_assert!(verify_inclusion(i, n, &leaves[i as usize], &proof, &root).is_ok());
            let flip = 1u8 << (bit % 8);
            for k in 0..proof.len() {
                let mut p = proof.clone();
                p[k][usize::from(bit) % 32] ^= flip;
                prop_assert!(verify_inclusion(i, n, &leaves[i as usize], &p, &root).is_err());
            }
            let m = b.index(n as usize) as u64 + 1;
            let old = mth(&leaves[..m as usize]);
            prop_assert_eq!(tree.root_at(m).unwrap(), old);
            let proof = tree.consistency_proof(m, n).unwrap();
            prop_assert!(verify_consistency(m, n, &old, &root, &proof).is_ok());
            for k in 0..proof.len() {
                let mut p = proof.clone();
                p[k][usize::from(bit) % 32] ^= flip;
                prop_assert!(verify_consistency(m, n, &old, &root, &p).is_err());
            }
            let mut wrong = old;
            wrong[0] ^= 1;
            prop_assert!(verify_consistency(m, n, &wrong, &root, &proof).is_err());
            if m < n {
                prop_assert!(verify_consistency(m + 1, n, &old, &root, &proof).is_err() || m + 1 == n);
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn alerts_run_on_verified_logs_only_and_name_their_lines() {
    let key = SigningKey::generate().unwrap();
    let trusted = [key.verifying_key()];
    let day = 1_699_920_000_000; // 2023-11-14 00:00 UTC
    let h = 3_600_000;
    let mut log = AuditLog::new("alerts").unwrap();
    // dr-a: 10 distinct patients within 4.5 minutes at 10:00 UTC.
    for i in 0..10u64 {
        log.append(Entry::new("dr-a", "clinician", "view", day + 10 * h + i * 30_000).patient(&format!("p{i}")))
            .unwrap();
    }
    // admin: 10 patients, but admins are allowed 20.
    for i in 0..10u64 {
        log.append(Entry::new("root", "admin", "view", day + 11 * h + i).patient(&format!("q{i}"))).unwrap();
    }
    // dr-b: 4 denied attempts within 10 minutes, then one at 21:00 UTC.
    for i in 0..4u64 {
        let mut e = Entry::new("dr-b", "clinician", "decrypt", day + 12 * h + i * 150_000);
        e.outcome = "denied".into();
        log.append(e).unwrap();
    }
    log.append(Entry::new("dr-b", "clinician", "view", day + 21 * h)).unwrap();
    log.checkpoint(&key, day + 22 * h).unwrap();
    let text = log.to_jsonl();
    let mut rules = AlertRules::default();
    rules.distinct_patients_by_role.push(("admin".into(), 20));
    let (_, alerts) = access_alerts(&text, &opts(&trusted), &rules).unwrap();
    let kinds: Vec<(AlertKind, &str, Vec<u64>)> =
        alerts.iter().map(|a| (a.kind, a.actor_id.as_str(), a.seqs.clone())).collect();
    assert_eq!(
        kinds,
        vec![
            (AlertKind::DistinctPatients, "dr-a", (1..=10).collect()),
            (AlertKind::FailedAttempts, "dr-b", (21..=24).collect()),
            (AlertKind::OffHours, "dr-b", vec![25]),
        ]
    );
    assert_eq!(alerts[2].lines, vec![25]);
    assert!(alerts.iter().all(|a| a.authenticated));
    // At UTC-5, 21:00 UTC is 16:00 (in hours) and 10:00-12:xx UTC is 05:00-07:xx (not).
    let (_, west) =
        access_alerts(&text, &opts(&trusted), &AlertRules { utc_offset_minutes: -300, ..rules.clone() }).unwrap();
    let off: Vec<u64> = west.iter().filter(|a| a.kind == AlertKind::OffHours).map(|a| a.seqs[0]).collect();
    assert_eq!(off, (1..=24).collect::<Vec<_>>());
    // Per role: clinicians work 12-22 → only the 10:00 views are off hours.
    let mut shifted = rules.clone();
    shifted.hours_by_role.push(("clinician".into(), (12, 22)));
    let (_, alerts) = access_alerts(&text, &opts(&trusted), &shifted).unwrap();
    assert_eq!(alerts.iter().filter(|a| a.kind == AlertKind::OffHours).count(), 10);
    // Spread over more than 5 minutes: no distinct-patients alert.
    let (_, none) =
        access_alerts(&text, &opts(&trusted), &AlertRules { patients_window_ms: 60_000, ..rules.clone() }).unwrap();
    assert!(none.iter().all(|a| a.kind != AlertKind::DistinctPatients));
    // A log that does not verify, or is not checked against keys: refused.
    let tampered = text.replacen("\"view\"", "\"export\"", 1);
    assert_eq!(access_alerts(&tampered, &opts(&trusted), &rules).unwrap_err().code(), ErrorCode::InvalidSignature);
    assert_eq!(access_alerts(&text, &opts(&[]), &rules).unwrap_err().code(), ErrorCode::InvalidSignature);
    let stranger = [SigningKey::generate().unwrap().verifying_key()];
    assert_eq!(access_alerts(&text, &opts(&stranger), &rules).unwrap_err().code(), ErrorCode::InvalidSignature);
}

/// RFC 6962's reference tree (the certificate-transparency test suite's
/// eight leaves and roots): phiseal's tree is that tree.
#[test]
fn the_tree_matches_the_rfc6962_reference_roots() {
    let leaves: [&[u8]; 8] = [
        b"",
        &[0x00],
        &[0x10],
        &[0x20, 0x21],
        &[0x30, 0x31],
        &[0x40, 0x41, 0x42, 0x43],
        &[0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57],
        &[0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f],
    ];
    let roots = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];
    let hex = |h: &[u8]| h.iter().map(|b| format!("{b:02x}")).collect::<String>();
    let mut tree = MerkleTree::new();
    for l in leaves {
        tree.push(leaf_hash(l));
    }
    for (i, r) in roots.iter().enumerate() {
        assert_eq!(hex(&tree.root_at(i as u64 + 1).unwrap()), *r, "size {}", i + 1);
    }
    assert_eq!(hex(&tree.root_at(0).unwrap()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

/// The worked example of docs/FORMAT.md §6.10 (fixed keys; ECDSA is
/// deterministic, RFC 6979): the same log, note and cosignature bytes.
#[test]
fn the_format_md_example() {
    let key = SigningKey::from_scalar_bytes(&[0x11; 48]).unwrap();
    let wkey = SigningKey::from_scalar_bytes(&[0x22; 48]).unwrap();
    let mut log = AuditLog::new("example.org/audit-1").unwrap();
    log.append(Entry::new("dr-lee", "clinician", "view", 1_700_000_000_000).patient("p-17")).unwrap();
    log.append(Entry::new("dr-lee", "clinician", "export", 1_700_000_001_000)).unwrap();
    let note = log.checkpoint(&key, 1_700_000_002_000).unwrap().to_text();
    let mut w = Witness::new("witness.example/w1", wkey, vec![key.verifying_key()]).unwrap();
    let cosig = w.cosign(&note, &[], 1_700_000_003).unwrap();
    let text = log.to_jsonl();
    let (tree, entries) = tree_of(&text).unwrap();
    let b = |h: &TreeHash| Base64::encode_string(h);
    let hex = |h: &[u8]| h.iter().map(|b| format!("{b:02x}")).collect::<String>();
    let got = format!(
        "leaf 1: {}\nleaf 2: {}\nroot: {}\ninclusion(1, 2): {:?}\nconsistency(1, 2): {:?}\nlog key id: {}\nwitness key id: {}\n{note}{cosig}",
        b(&entries[0].leaf_hash().unwrap()),
        b(&entries[1].leaf_hash().unwrap()),
        b(&tree.root_at(2).unwrap()),
        tree.inclusion_proof(0, 2).unwrap().iter().map(b).collect::<Vec<_>>(),
        tree.consistency_proof(1, 2).unwrap().iter().map(b).collect::<Vec<_>>(),
        hex(&phiseal::audit::note::key_id(
            "example.org/audit-1",
            phiseal::audit::note::LOG_SIGNATURE_TYPE,
            &key.verifying_key()
        )),
        hex(&phiseal::audit::note::key_id(
            "witness.example/w1",
            phiseal::audit::note::COSIGNATURE_TYPE,
            &w.public_key()
        )),
    );
    println!("{got}");
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/FORMAT.md")).unwrap();
    assert!(doc.contains(&got), "docs/FORMAT.md §6.10 does not show:\n{got}");
    let o = VerifyOptions { witnesses: vec![w.public_key()], witnesses_required: 1, ..opts(&[key.verifying_key()]) };
    let line = phiseal::audit::Line::Note(CheckpointNote::parse(&format!("{note}{cosig}")).unwrap()).to_json();
    assert!(with(&format!("{text}{line}\n"), &o).valid);
}

#[test]
fn a_checkpoint_alone_or_of_another_log_is_refused() {
    let (text, key) = build(10, 10);
    let trusted = [key.verifying_key()];
    let note_line = lines(&text).last().unwrap().clone();
    let r = verify_log(&format!("{note_line}\n"), &trusted);
    assert_eq!((code(&r), r.problem.unwrap().line), (ProblemCode::Truncated, 1));
    let (other, other_key) = build_log("tab-other", 10, 10);
    let foreign = lines(&other).last().unwrap().clone();
    let mut ls = lines(&text);
    ls.push(foreign);
    let r = verify_log(&join(&ls), &[key.verifying_key(), other_key.verifying_key()]);
    assert_eq!((code(&r), r.problem.unwrap().line), (ProblemCode::OtherLog, 12));
}
