//! The transparent key directory (src/trust/directory.rs, docs/TRUST.md §6),
//! played as the directory's operator: a key swapped for one lookup, a log
//! rolled back or forked, a checkpoint signed by another key or for another
//! directory, an entry not in the tree, a split view between two clients;
//! and the subject's monitor seeing a key added for it.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use phiseal::ErrorCode;
use phiseal::sign::SigningKey;
use phiseal::trust::directory::{Directory, DirectoryClient, monitor};

const ORIGIN: &str = "directory.example.org/keys";

fn scalar(b: u8) -> SigningKey {
    SigningKey::from_scalar_bytes(&[b; 48]).unwrap()
}

fn directory() -> Directory {
    let mut d = Directory::new(ORIGIN, scalar(7));
    d.publish("dr-lee", "cert-lee-1").unwrap();
    d.publish("bill-1", "cert-bill-1").unwrap();
    d.publish("ana", "cert-ana-1").unwrap();
    d
}

fn code<T: std::fmt::Debug>(r: phiseal::Result<T>) -> ErrorCode {
    r.expect_err("expected a refusal").code()
}

#[test]
fn lookups_verify_and_the_client_keeps_the_checkpoint() {
    let mut d = directory();
    let mut client = DirectoryClient::new(ORIGIN, vec![scalar(7).verifying_key()], None).unwrap();
    let l = d.lookup("dr-lee", client.kept_size(), 1000).unwrap();
    assert_eq!(client.verify("dr-lee", &l).unwrap(), "cert-lee-1");
    assert_eq!(client.kept_size(), Some(3));
    // Later lookups must extend the kept tree.
    d.publish("dr-lee", "cert-lee-2").unwrap();
    let l = d.lookup("dr-lee", client.kept_size(), 2000).unwrap();
    assert_eq!(client.verify("dr-lee", &l).unwrap(), "cert-lee-2", "the newest entry");
    assert_eq!(client.kept_size(), Some(4));
    // A client restarted from the kept note.
    let note = d.checkpoint(3000).unwrap();
    let again = DirectoryClient::new(ORIGIN, vec![scalar(7).verifying_key()], Some(&note)).unwrap();
    assert_eq!(again.kept_size(), Some(4));
}

#[test]
fn attack_a_key_swapped_for_one_lookup_or_an_entry_not_in_the_tree() {
    let d = directory();
    let mut client = DirectoryClient::new(ORIGIN, vec![scalar(7).verifying_key()], None).unwrap();
    let mut l = d.lookup("dr-lee", None, 1000).unwrap();
    l.certificate = "cert-of-the-server".into();
    assert_eq!(code(client.verify("dr-lee", &l)), ErrorCode::InvalidSignature);
    let mut l = d.lookup("dr-lee", None, 1000).unwrap();
    l.index = 1;
    assert_eq!(code(client.verify("dr-lee", &l)), ErrorCode::InvalidSignature);
    // Billing's genuine entry served as Dr. Lee's.
    let mut l = d.lookup("bill-1", None, 1000).unwrap();
    l.subject = "dr-lee".into();
    assert_eq!(code(client.verify("dr-lee", &l)), ErrorCode::InvalidSignature);
    let l = d.lookup("bill-1", None, 1000).unwrap();
    assert_eq!(code(client.verify("dr-lee", &l)), ErrorCode::ContextMismatch);
    // A swapped key that the operator does put in a log of its own, signed by its own key.
    let mut own = Directory::new(ORIGIN, scalar(9));
    own.publish("dr-lee", "cert-of-the-server").unwrap();
    assert_eq!(code(client.verify("dr-lee", &own.lookup("dr-lee", None, 1000).unwrap())), ErrorCode::UntrustedKey);
    let mut other = Directory::new("other.example/keys", scalar(7));
    other.publish("dr-lee", "cert-lee-1").unwrap();
    assert_eq!(code(client.verify("dr-lee", &other.lookup("dr-lee", None, 1000).unwrap())), ErrorCode::ContextMismatch);
    assert_eq!(client.kept_size(), None, "nothing refused is kept");
    assert_eq!(client.verify("dr-lee", &d.lookup("dr-lee", None, 1000).unwrap()).unwrap(), "cert-lee-1");
}

#[test]
fn attack_rollback_and_fork_against_the_kept_checkpoint() {
    let mut d = directory();
    let mut client = DirectoryClient::new(ORIGIN, vec![scalar(7).verifying_key()], None).unwrap();
    client.verify("ana", &d.lookup("ana", None, 1000).unwrap()).unwrap();
    // Rolled back: the operator serves the log of two entries it had before.
    let mut old = Directory::new(ORIGIN, scalar(7));
    old.publish("dr-lee", "cert-lee-1").unwrap();
    old.publish("bill-1", "cert-bill-1").unwrap();
    assert_eq!(code(client.verify("dr-lee", &old.lookup("dr-lee", Some(3), 2000).unwrap())), ErrorCode::StaleVersion);
    // Forked: the same first entries, then a key of its own for Ana, signed with the real directory key.
    let mut fork = Directory::new(ORIGIN, scalar(7));
    fork.publish("dr-lee", "cert-lee-1").unwrap();
    fork.publish("bill-1", "cert-bill-1").unwrap();
    fork.publish("ana", "cert-of-the-server").unwrap();
    fork.publish("x", "y").unwrap();
    assert_eq!(code(client.verify("ana", &fork.lookup("ana", Some(3), 2000).unwrap())), ErrorCode::StaleVersion);
    // The honest extension verifies; a missing consistency proof does not.
    d.publish("x", "y").unwrap();
    let mut l = d.lookup("ana", Some(3), 3000).unwrap();
    l.consistency.clear();
    assert_eq!(code(client.verify("ana", &l)), ErrorCode::StaleVersion);
    client.verify("ana", &d.lookup("ana", Some(3), 3000).unwrap()).unwrap();
    assert_eq!(client.kept_size(), Some(4));
}

#[test]
fn attack_split_view_between_two_clients() {
    let mut d = directory();
    let mut a = DirectoryClient::new(ORIGIN, vec![scalar(7).verifying_key()], None).unwrap();
    a.verify("ana", &d.lookup("ana", None, 1000).unwrap()).unwrap();
    d.publish("x", "y").unwrap();
    // Honest: b saw a later tree of the same history.
    let later = d.checkpoint(2000).unwrap();
    a.compare(&later, &d.consistency(3, 4).unwrap()).unwrap();
    // Split: another patient's browser was shown a tree with a different key for Ana.
    let mut fork = Directory::new(ORIGIN, scalar(7));
    fork.publish("dr-lee", "cert-lee-1").unwrap();
    fork.publish("bill-1", "cert-bill-1").unwrap();
    fork.publish("ana", "cert-of-the-server").unwrap();
    fork.publish("x", "y").unwrap();
    let split = fork.checkpoint(2000).unwrap();
    assert_eq!(code(a.compare(&split, &fork.consistency(3, 4).unwrap())), ErrorCode::StaleVersion);
    assert_eq!(
        code(a.compare(&fork.checkpoint(2000).unwrap(), &d.consistency(3, 4).unwrap())),
        ErrorCode::StaleVersion
    );
    let fresh = DirectoryClient::new(ORIGIN, vec![scalar(7).verifying_key()], None).unwrap();
    assert_eq!(code(fresh.compare(&later, &[])), ErrorCode::InvalidArgument);
}

#[test]
fn the_subject_sees_a_key_added_for_it() {
    let mut d = directory();
    let keys = [scalar(7).verifying_key()];
    let note = d.checkpoint(1000).unwrap();
    assert_eq!(monitor(ORIGIN, &keys, &note, d.entries(), "ana", 0).unwrap(), vec![(2, "cert-ana-1".to_owned())]);
    // "Someone added a device": a second key for Ana appears after size 3.
    d.publish("ana", "cert-ana-new-device").unwrap();
    let note = d.checkpoint(2000).unwrap();
    assert_eq!(
        monitor(ORIGIN, &keys, &note, d.entries(), "ana", 3).unwrap(),
        vec![(3, "cert-ana-new-device".to_owned())]
    );
    // The operator hides the entry from the monitor: the entries no longer make the signed tree.
    let hidden: Vec<_> = d.entries()[..3].to_vec();
    assert_eq!(code(monitor(ORIGIN, &keys, &note, &hidden, "ana", 3)), ErrorCode::InvalidSignature);
    let mut edited = d.entries().to_vec();
    edited[3].1 = "cert-looks-old".into();
    assert_eq!(code(monitor(ORIGIN, &keys, &note, &edited, "ana", 3)), ErrorCode::InvalidSignature);
    assert_eq!(
        code(monitor(ORIGIN, &[scalar(9).verifying_key()], &note, d.entries(), "ana", 0)),
        ErrorCode::UntrustedKey
    );
}

#[test]
fn leaf_bytes_are_as_trust_md_gives_them() {
    let got = phiseal::trust::directory::leaf_bytes("ana", "eyJ.x.y").unwrap();
    let mut want = b"phiseal-directory-v1\0".to_vec();
    want.extend_from_slice(&[0, 3]);
    want.extend_from_slice(b"ana");
    want.extend_from_slice(b"eyJ.x.y");
    assert_eq!(got, want);
    assert_eq!(phiseal::trust::directory::leaf_bytes("", "c").unwrap_err().code(), ErrorCode::InvalidArgument);
    assert_eq!(
        phiseal::trust::directory::leaf_bytes(&"s".repeat(257), "c").unwrap_err().code(),
        ErrorCode::InvalidArgument
    );
}

#[test]
fn lookups_travel_as_json() {
    let d = directory();
    let l = d.lookup("ana", None, 1000).unwrap();
    let text = l.to_json();
    assert_eq!(phiseal::trust::directory::Lookup::from_json(&text).unwrap(), l);
    for bad in ["{}", "[]", &text.replace("\"index\"", "\"idx\""), &text.replacen('{', r#"{"extra":1,"#, 1)] {
        assert_eq!(
            phiseal::trust::directory::Lookup::from_json(bad).unwrap_err().code(),
            ErrorCode::MalformedInput,
            "{bad}"
        );
    }
    let mut client = DirectoryClient::new(ORIGIN, vec![scalar(7).verifying_key()], None).unwrap();
    client.verify("ana", &phiseal::trust::directory::Lookup::from_json(&text).unwrap()).unwrap();
    assert_eq!(client.kept_note(), Some(l.checkpoint.as_str()));
}

#[test]
fn split_verification_needs_each_jobs_own_token() {
    // What the browser does: prepare, check the checkpoint signature with WebCrypto, finish.
    let mut d = directory();
    let mut client = DirectoryClient::new(ORIGIN, vec![scalar(7).verifying_key()], None).unwrap();
    let l = d.lookup("dr-lee", None, 1000).unwrap();
    let pending = client.prepare("dr-lee", &l).unwrap();
    assert_eq!(pending.jobs().count(), 1);
    assert_eq!(code(client.finish(pending)), ErrorCode::InvalidSignature, "no token");
    d.publish("x", "y").unwrap();
    let other = d.lookup("dr-lee", None, 2000).unwrap();
    let other_token = client.prepare("dr-lee", &other).unwrap().jobs().next().unwrap().run().unwrap();
    let mut pending = client.prepare("dr-lee", &l).unwrap();
    pending.set_verified(0, other_token).unwrap();
    assert_eq!(code(client.finish(pending)), ErrorCode::InvalidSignature, "another checkpoint's token");
    assert_eq!(client.kept_size(), None, "nothing refused is kept");
    let mut pending = client.prepare("dr-lee", &l).unwrap();
    let token = pending.jobs().next().unwrap().run().unwrap();
    assert_eq!(code(pending.set_verified(1, token.clone())), ErrorCode::InvalidArgument);
    pending.set_verified(0, token).unwrap();
    assert_eq!(client.finish(pending).unwrap(), "cert-lee-1");
    assert_eq!(client.kept_size(), Some(3));
    // The proofs are still checked in finish: a rollback against the kept checkpoint.
    let mut rolled = Directory::new(ORIGIN, scalar(7));
    rolled.publish("dr-lee", "cert-lee-1").unwrap();
    let mut pending = client.prepare("dr-lee", &rolled.lookup("dr-lee", Some(3), 3000).unwrap()).unwrap();
    let token = pending.jobs().next().unwrap().run().unwrap();
    pending.set_verified(0, token).unwrap();
    assert_eq!(code(client.finish(pending)), ErrorCode::StaleVersion);
}
