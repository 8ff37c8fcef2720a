//! Key certificates (src/trust.rs, docs/TRUST.md), played as a server that
//! hands out keys: keys of its own, keys certified by another root, expired,
//! not yet valid, revoked, of the wrong purpose or for other groups, group
//! escalation by an intermediate, edited certificates, unknown critical
//! members and oversized input are each refused with their code.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use base64ct::{Base64UrlUnpadded, Encoding as _};
use phiseal::ErrorCode;
use phiseal::keys::{PrivateKey, PublicKey};
use phiseal::sign::SigningKey;
use phiseal::trust::{Certificate, Claims, Purpose, Revocation, TrustStore, issue, issue_revocations};

const T0: u64 = 1_800_000_000;
const DAY: u64 = 86_400;

struct Org {
    root: SigningKey,
    trust: TrustStore,
}

fn org() -> Org {
    let root = SigningKey::generate().unwrap();
    let mut trust = TrustStore::new(vec![root.verifying_key()], Revocation::Required);
    trust.add_revocations(&issue_revocations(&[], &root, T0, T0 + DAY).unwrap(), T0).unwrap();
    Org { root, trust }
}

fn member(subject: &str, role: &str, groups: &[&str], purposes: &[Purpose]) -> (PublicKey, Claims) {
    let key = *PrivateKey::generate().unwrap().public_key();
    let claims = Claims::new(subject, subject, role, key, T0 - DAY, T0 + 30 * DAY).groups(groups).purposes(purposes);
    (key, claims)
}

fn code<T: std::fmt::Debug>(r: phiseal::Result<T>) -> ErrorCode {
    r.expect_err("expected a refusal").code()
}

/// A JWS signed by `key` over any header and payload text (what an attacker with a key can make).
fn raw_token(header: &str, payload: &str, key: &SigningKey) -> String {
    let input = format!(
        "{}.{}",
        Base64UrlUnpadded::encode_string(header.as_bytes()),
        Base64UrlUnpadded::encode_string(payload.as_bytes())
    );
    let sig = key.sign(input.as_bytes()).unwrap();
    format!("{input}.{}", Base64UrlUnpadded::encode_string(&sig))
}

fn payload_of(token: &str) -> String {
    String::from_utf8(Base64UrlUnpadded::decode_vec(token.split('.').nth(1).unwrap()).unwrap()).unwrap()
}

fn header_of(token: &str) -> String {
    String::from_utf8(Base64UrlUnpadded::decode_vec(token.split('.').next().unwrap()).unwrap()).unwrap()
}

#[test]
fn a_certified_key_verifies_with_its_claims() {
    let mut o = org();
    let (key, claims) = member("dr-lee", "clinician", &["clinical", "records"], &[Purpose::Encrypt, Purpose::Sign]);
    let cert = issue(&claims, &o.root, T0).unwrap();
    let got = o.trust.verify(&[&cert], T0, Purpose::Encrypt, &["clinical"]).unwrap();
    assert_eq!(got.claims.subject, "dr-lee");
    assert_eq!(got.claims.role, "clinician");
    assert_eq!(got.claims.key, key);
    assert_eq!(got.root, o.root.verifying_key().kid());
    assert_eq!(got.claims.serial.len(), 22);
    o.trust.verify(&[&cert], T0, Purpose::Sign, &[]).unwrap();
    // Exactly the header the format gives.
    assert_eq!(
        header_of(&cert),
        format!(r#"{{"alg":"ES384","typ":"phiseal-cert+jwt","kid":"{}"}}"#, o.root.verifying_key().kid())
    );
}

#[test]
fn attack_the_servers_own_key_or_another_roots_certificate() {
    let mut o = org();
    let other = org();
    let (_, claims) = member("dr-lee", "clinician", &["clinical"], &[Purpose::Encrypt]);
    // Certified by another organisation's root (or a root the server made).
    let foreign = issue(&claims, &other.root, T0).unwrap();
    assert_eq!(code(o.trust.verify(&[&foreign], T0, Purpose::Encrypt, &["clinical"])), ErrorCode::UntrustedKey);
    // A certificate naming our root as issuer but signed by the server.
    let server = SigningKey::generate().unwrap();
    let payload = payload_of(&foreign).replace(&other.root.verifying_key().kid(), &o.root.verifying_key().kid());
    let forged = raw_token(
        &header_of(&foreign).replace(&other.root.verifying_key().kid(), &o.root.verifying_key().kid()),
        &payload,
        &server,
    );
    assert_eq!(code(o.trust.verify(&[&forged], T0, Purpose::Encrypt, &["clinical"])), ErrorCode::InvalidSignature);
    // A genuine certificate with the key swapped for the server's.
    let genuine = issue(&claims, &o.root, T0).unwrap();
    let server_key = *PrivateKey::generate().unwrap().public_key();
    let theirs = payload_of(&genuine);
    let jwk = claims.key.to_jwk();
    let swapped_payload = theirs
        .replace(&jwk.x, &server_key.to_jwk().x)
        .replace(&jwk.y, &server_key.to_jwk().y)
        .replace(&claims.key.kid(), &server_key.kid());
    let sig = genuine.split('.').nth(2).unwrap();
    let swapped = format!(
        "{}.{}.{sig}",
        genuine.split('.').next().unwrap(),
        Base64UrlUnpadded::encode_string(swapped_payload.as_bytes())
    );
    assert_eq!(code(o.trust.verify(&[&swapped], T0, Purpose::Encrypt, &["clinical"])), ErrorCode::InvalidSignature);
    // An empty store trusts nothing.
    let mut empty = TrustStore::new(vec![], Revocation::NotChecked);
    assert_eq!(code(empty.verify(&[&genuine], T0, Purpose::Encrypt, &[])), ErrorCode::UntrustedKey);
}

#[test]
fn every_edited_byte_is_refused() {
    let mut o = org();
    let (_, claims) = member("dr-lee", "clinician", &["clinical"], &[Purpose::Encrypt]);
    let cert = issue(&claims, &o.root, T0).unwrap();
    // Verified once first, so the store's signature cache holds it: no edit may ride on that.
    o.trust.verify(&[&cert], T0, Purpose::Encrypt, &["clinical"]).unwrap();
    let bytes = cert.as_bytes();
    for i in 0..bytes.len() {
        for replacement in [b'A', b'-', b'.'] {
            if bytes[i] == replacement {
                continue;
            }
            let mut edited = bytes.to_vec();
            edited[i] = replacement;
            let edited = String::from_utf8(edited).unwrap();
            assert!(o.trust.verify(&[&edited], T0, Purpose::Encrypt, &["clinical"]).is_err(), "edit at {i} accepted");
        }
    }
}

#[test]
fn validity_period() {
    let mut o = org();
    let (_, claims) = member("dr-lee", "clinician", &[], &[Purpose::Sign]);
    let cert = issue(&claims, &o.root, T0).unwrap();
    let mut trust = TrustStore::new(vec![o.root.verifying_key()], Revocation::NotChecked);
    trust.verify(&[&cert], T0 - DAY, Purpose::Sign, &[]).unwrap();
    assert_eq!(code(trust.verify(&[&cert], T0 - DAY - 1, Purpose::Sign, &[])), ErrorCode::KeyExpired, "not yet valid");
    assert_eq!(
        code(trust.verify(&[&cert], T0 + 30 * DAY, Purpose::Sign, &[])),
        ErrorCode::KeyExpired,
        "expired (exp is exclusive)"
    );
    trust.verify(&[&cert], T0 + 30 * DAY - 1, Purpose::Sign, &[]).unwrap();
    // Under Revocation::Required an expired list is no list.
    assert_eq!(code(o.trust.verify(&[&cert], T0 + DAY, Purpose::Sign, &[])), ErrorCode::KeyExpired);
    trust = TrustStore::new(vec![o.root.verifying_key()], Revocation::Required);
    assert_eq!(
        code(trust.verify(&[&cert], T0, Purpose::Sign, &[])),
        ErrorCode::KeyExpired,
        "no revocation list at all"
    );
}

#[test]
fn revocation_lists() {
    let mut o = org();
    let (_, claims) = member("dr-lee", "clinician", &[], &[Purpose::Sign]);
    let cert = issue(&claims, &o.root, T0).unwrap();
    let serial = Certificate::parse(&cert).unwrap().claims.serial;
    let revoked = issue_revocations(&[&serial], &o.root, T0 + 10, T0 + DAY).unwrap();
    o.trust.verify(&[&cert], T0 + 20, Purpose::Sign, &[]).unwrap();
    o.trust.add_revocations(&revoked, T0 + 20).unwrap();
    assert_eq!(code(o.trust.verify(&[&cert], T0 + 20, Purpose::Sign, &[])), ErrorCode::KeyRevoked);
    // The server serves the older list again: a rollback of revocations.
    let older = issue_revocations(&[], &o.root, T0 + 5, T0 + DAY).unwrap();
    assert_eq!(code(o.trust.add_revocations(&older, T0 + 20)), ErrorCode::StaleVersion);
    let same_second = issue_revocations(&[], &o.root, T0 + 10, T0 + DAY).unwrap();
    assert_eq!(code(o.trust.add_revocations(&same_second, T0 + 20)), ErrorCode::StaleVersion);
    o.trust.add_revocations(&revoked, T0 + 20).unwrap(); // the same list again is fine
    let longer = issue_revocations(&[&serial], &o.root, T0 + 10, T0 + 2 * DAY).unwrap();
    assert_eq!(code(o.trust.add_revocations(&longer, T0 + 20)), ErrorCode::StaleVersion, "same iat, other exp");
    assert_eq!(code(o.trust.verify(&[&cert], T0 + 20, Purpose::Sign, &[])), ErrorCode::KeyRevoked);
    // A list signed by another root, one expired, one not yet current, one edited.
    let other = SigningKey::generate().unwrap();
    assert_eq!(
        code(o.trust.add_revocations(&issue_revocations(&[], &other, T0, T0 + DAY).unwrap(), T0 + 20)),
        ErrorCode::UntrustedKey
    );
    assert_eq!(
        code(o.trust.add_revocations(&issue_revocations(&[], &o.root, T0 - 2 * DAY, T0 - DAY).unwrap(), T0 + 20)),
        ErrorCode::KeyExpired
    );
    assert_eq!(
        code(o.trust.add_revocations(&issue_revocations(&[], &o.root, T0 + 100, T0 + DAY).unwrap(), T0 + 20)),
        ErrorCode::KeyExpired
    );
    let mut edited = revoked.clone().into_bytes();
    let at = edited.len() / 2;
    edited[at] = if edited[at] == b'A' { b'B' } else { b'A' };
    assert!(o.trust.add_revocations(&String::from_utf8(edited).unwrap(), T0 + 20).is_err());
    // A list is not a certificate and a certificate is not a list.
    assert_eq!(code(o.trust.add_revocations(&cert, T0 + 20)), ErrorCode::MalformedInput);
    assert_eq!(code(o.trust.verify(&[&revoked], T0 + 20, Purpose::Sign, &[])), ErrorCode::MalformedInput);
    assert_eq!(code(issue_revocations(&["not-a-serial"], &o.root, T0, T0 + 1)), ErrorCode::InvalidArgument);
    assert_eq!(code(issue_revocations(&[], &o.root, T0, T0)), ErrorCode::InvalidArgument);
}

#[test]
fn purpose_and_groups() {
    let mut o = org();
    let (_, billing) = member("bill-1", "billing", &["billing"], &[Purpose::Encrypt]);
    let cert = issue(&billing, &o.root, T0).unwrap();
    // A billing key cannot be added to the clinical group.
    assert_eq!(code(o.trust.verify(&[&cert], T0, Purpose::Encrypt, &["clinical"])), ErrorCode::AccessDenied);
    assert_eq!(code(o.trust.verify(&[&cert], T0, Purpose::Encrypt, &["billing", "clinical"])), ErrorCode::AccessDenied);
    o.trust.verify(&[&cert], T0, Purpose::Encrypt, &["billing"]).unwrap();
    // An encryption key is not an author key, a call identity or an issuer.
    for p in [Purpose::Sign, Purpose::Media, Purpose::Certify] {
        assert_eq!(code(o.trust.verify(&[&cert], T0, p, &[])), ErrorCode::WrongPurpose);
    }
}

#[test]
fn intermediates_certify_only_their_groups() {
    let mut o = org();
    let dept = SigningKey::generate().unwrap();
    let dept_claims =
        Claims::new("cardiology", "Cardiology", "department", dept.verifying_key(), T0 - DAY, T0 + 90 * DAY)
            .groups(&["cardiology"])
            .purposes(&[Purpose::Certify]);
    let dept_cert = issue(&dept_claims, &o.root, T0).unwrap();
    let (_, ok) = member("dr-heart", "clinician", &["cardiology"], &[Purpose::Encrypt]);
    let leaf = issue(&ok, &dept, T0).unwrap();
    let got = o.trust.verify(&[&leaf, &dept_cert], T0, Purpose::Encrypt, &["cardiology"]).unwrap();
    assert_eq!(got.issuers, vec![dept.verifying_key().kid(), o.root.verifying_key().kid()]);
    // Escalation: the department certifies a key for a group it does not hold.
    let (_, escalated) = member("dr-heart", "clinician", &["cardiology", "oncology"], &[Purpose::Encrypt]);
    let bad = issue(&escalated, &dept, T0).unwrap();
    assert_eq!(
        code(o.trust.verify(&[&bad, &dept_cert], T0, Purpose::Encrypt, &["cardiology"])),
        ErrorCode::AccessDenied
    );
    // An issuer without purpose certify.
    let plain = SigningKey::generate().unwrap();
    let plain_cert = issue(
        &Claims::new("x", "x", "clinician", plain.verifying_key(), T0 - DAY, T0 + DAY)
            .groups(&["cardiology"])
            .purposes(&[Purpose::Sign]),
        &o.root,
        T0,
    )
    .unwrap();
    let under_plain = issue(&ok, &plain, T0).unwrap();
    assert_eq!(code(o.trust.verify(&[&under_plain, &plain_cert], T0, Purpose::Encrypt, &[])), ErrorCode::AccessDenied);
    // Without the intermediate, or out of order, there is no chain to the root.
    assert_eq!(code(o.trust.verify(&[&leaf], T0, Purpose::Encrypt, &[])), ErrorCode::UntrustedKey);
    assert_eq!(code(o.trust.verify(&[&dept_cert, &leaf], T0, Purpose::Encrypt, &[])), ErrorCode::UntrustedKey);
    // A revoked intermediate takes its leaves with it.
    let mut trust = o.trust.clone();
    let serial = Certificate::parse(&dept_cert).unwrap().claims.serial;
    trust.add_revocations(&issue_revocations(&[&serial], &o.root, T0 + 1, T0 + DAY).unwrap(), T0 + 1).unwrap();
    assert_eq!(code(trust.verify(&[&leaf, &dept_cert], T0 + 1, Purpose::Encrypt, &[])), ErrorCode::KeyRevoked);
    // Chains are at most four certificates.
    let five = [leaf.as_str(); 5];
    assert_eq!(code(o.trust.verify(&five, T0, Purpose::Encrypt, &[])), ErrorCode::InvalidArgument);
    assert_eq!(code(o.trust.verify(&[], T0, Purpose::Encrypt, &[])), ErrorCode::InvalidArgument);
}

#[test]
fn unknown_members_other_algorithms_and_bad_shapes() {
    let o = org();
    let (_, claims) = member("dr-lee", "clinician", &["clinical"], &[Purpose::Encrypt]);
    let cert = issue(&claims, &o.root, T0).unwrap();
    let (h, p) = (header_of(&cert), payload_of(&cert));
    let mut trust = o.trust.clone();
    let mut verify = |t: &str| trust.verify(&[t], T0, Purpose::Encrypt, &["clinical"]);
    // Each signed by the root itself, so only the check under test can refuse it.
    let signed = |h: &str, p: &str| raw_token(h, p, &o.root);
    assert!(verify(&signed(&h, &p)).is_ok(), "the control must verify");
    let kid = o.root.verifying_key().kid();
    for (what, token, want) in [
        ("crit header", signed(&h.replace(r#""kid""#, r#""crit":["x"],"kid""#), &p), ErrorCode::Unsupported),
        ("alg none", signed(&h.replace("ES384", "none"), &p), ErrorCode::Unsupported),
        ("alg ES256", signed(&h.replace("ES384", "ES256"), &p), ErrorCode::Unsupported),
        ("other typ", signed(&h.replace("phiseal-cert+jwt", "JWT"), &p), ErrorCode::MalformedInput),
        (
            "kid differs from iss",
            signed(&format!(r#"{{"alg":"ES384","typ":"phiseal-cert+jwt","kid":"{}"}}"#, "x".repeat(43)), &p),
            ErrorCode::MalformedInput,
        ),
        ("unknown claim", signed(&h, &p.replacen('{', r#"{"admin":true,"#, 1)), ErrorCode::Unsupported),
        ("unknown purpose", signed(&h, &p.replace(r#""encrypt""#, r#""decrypt-all""#)), ErrorCode::Unsupported),
        (
            "private key in cnf",
            signed(&h, &p.replace(r#""kty":"EC""#, r#""kty":"EC","d":"AAAA""#)),
            ErrorCode::MalformedInput,
        ),
        ("extra cnf member", signed(&h, &p.replace(r#""cnf":{"#, r#""cnf":{"kid":"x","#)), ErrorCode::Unsupported),
        ("exp as a string", signed(&h, &p.replace(r#""exp":"#, r#""exp":"1","old_exp":"#)), ErrorCode::Unsupported),
        (
            "duplicate group",
            signed(&h, &p.replace(r#"["clinical"]"#, r#"["clinical","clinical"]"#)),
            ErrorCode::MalformedInput,
        ),
        (
            "duplicate member",
            signed(&h, &p.replacen('{', &format!(r#"{{"iss":"{kid}","#), 1)),
            ErrorCode::MalformedInput,
        ),
        ("two parts", cert.rsplit_once('.').unwrap().0.to_owned(), ErrorCode::MalformedInput),
        ("four parts", format!("{cert}.x"), ErrorCode::MalformedInput),
        ("short signature", cert[..cert.len() - 4].to_owned(), ErrorCode::InvalidSignature),
        ("oversized", format!("{}.{}.x", "A".repeat(70_000), "A"), ErrorCode::MalformedInput),
    ] {
        assert_eq!(code(verify(&token)), want, "{what}");
    }
    // Issuing refuses what verifying would refuse.
    let key = claims.key;
    for bad in [
        Claims::new("", "n", "r", key, 0, 1).purposes(&[Purpose::Sign]),
        Claims::new("s", "n", "r", key, 0, 1),
        Claims::new("s", "n", "r", key, 5, 5).purposes(&[Purpose::Sign]),
        Claims::new("s", "n", "r", key, 0, 1).purposes(&[Purpose::Sign, Purpose::Sign]),
        Claims::new("s", "n", "r", key, 0, 1).purposes(&[Purpose::Sign]).groups(&["g", "g"]),
        Claims::new(&"s".repeat(257), "n", "r", key, 0, 1).purposes(&[Purpose::Sign]),
    ] {
        assert_eq!(code(issue(&bad, &o.root, T0)), ErrorCode::InvalidArgument, "{bad:?}");
    }
}

#[test]
fn attack_a_genuine_certificate_of_another_subject() {
    let mut o = org();
    let (_, claims) = member("billing-ortiz", "billing", &["billing"], &[Purpose::Encrypt]);
    let cert = issue(&claims, &o.root, T0).unwrap();
    // What a directory entry for Dr. Lee must hold: a certificate for Dr. Lee.
    assert_eq!(code(o.trust.verify_for(&[&cert], T0, Purpose::Encrypt, &[], "dr-lee")), ErrorCode::ContextMismatch);
    let got = o.trust.verify_for(&[&cert], T0, Purpose::Encrypt, &[], "billing-ortiz").unwrap();
    assert_eq!(got.claims.subject, "billing-ortiz");
    // The chain is checked first: an untrusted certificate for the right subject is still untrusted.
    let other = SigningKey::generate().unwrap();
    let foreign = issue(&claims, &other, T0).unwrap();
    assert_eq!(
        code(o.trust.verify_for(&[&foreign], T0, Purpose::Encrypt, &[], "billing-ortiz")),
        ErrorCode::UntrustedKey
    );
}

#[test]
fn the_subject_is_checked_before_purpose_and_groups() {
    let mut o = org();
    // Billing's key served as Dr. Lee's, asked for a group billing does not have: the filing is what is wrong.
    let (_, claims) = member("billing-ortiz", "billing", &["billing"], &[Purpose::Encrypt]);
    let cert = issue(&claims, &o.root, T0).unwrap();
    assert_eq!(
        code(o.trust.verify_for(&[&cert], T0, Purpose::Media, &["clinical"], "dr-lee")),
        ErrorCode::ContextMismatch
    );
    assert_eq!(code(o.trust.verify(&[&cert], T0, Purpose::Encrypt, &["clinical"])), ErrorCode::AccessDenied);
}

#[test]
fn split_verification_needs_each_jobs_own_token() {
    // What the browser does: prepare, check the signatures with WebCrypto, finish.
    let mut o = org();
    let (_, claims) = member("dr-lee", "clinician", &[], &[Purpose::Encrypt]);
    let cert = issue(&claims, &o.root, T0).unwrap();
    let (_, other_claims) = member("billing-ortiz", "billing", &[], &[Purpose::Encrypt]);
    let other = issue(&other_claims, &o.root, T0).unwrap();
    let check = o.trust.prepare(&[&cert]).unwrap();
    assert_eq!(check.jobs().count(), 1);
    assert_eq!(code(o.trust.finish(check, T0, Purpose::Encrypt, &[], None)), ErrorCode::InvalidSignature, "no token");
    let other_token = o.trust.prepare(&[&other]).unwrap().jobs().next().unwrap().run().unwrap();
    let mut check = o.trust.prepare(&[&cert]).unwrap();
    check.set_verified(0, other_token).unwrap();
    assert_eq!(
        code(o.trust.finish(check, T0, Purpose::Encrypt, &[], None)),
        ErrorCode::InvalidSignature,
        "another job's token"
    );
    let mut check = o.trust.prepare(&[&cert]).unwrap();
    assert_eq!(
        code(check.set_verified(1, o.trust.prepare(&[&other]).unwrap().jobs().next().unwrap().run().unwrap())),
        ErrorCode::InvalidArgument
    );
    let token = check.jobs().next().unwrap().run().unwrap();
    check.set_verified(0, token).unwrap();
    assert_eq!(o.trust.finish(check, T0, Purpose::Encrypt, &[], Some("dr-lee")).unwrap().claims.subject, "dr-lee");
    // Remembered: no job the second time; the other checks still run.
    let check = o.trust.prepare(&[&cert]).unwrap();
    assert_eq!(check.jobs().count(), 0);
    assert_eq!(code(o.trust.finish(check, T0 + 31 * DAY, Purpose::Encrypt, &[], None)), ErrorCode::KeyExpired);
    // A forged signature's job does not run.
    let mut forged = cert.clone();
    forged.replace_range(forged.len() - 4.., "AAAA");
    let check = o.trust.prepare(&[&forged]).unwrap();
    assert_eq!(code(check.jobs().next().unwrap().run()), ErrorCode::InvalidSignature);
}

#[test]
fn a_bad_signature_before_a_broken_link_is_reported_first() {
    // docs/TRUST.md §2 step 2: links and signatures in chain order, so a bad leaf signature is
    // INVALID_SIGNATURE even if the next link is broken; on both paths (verify, and prepare/finish).
    let mut o = org();
    let dept = SigningKey::generate().unwrap();
    let (_, claims) = member("dr-heart", "clinician", &[], &[Purpose::Encrypt]);
    let leaf = issue(&claims, &dept, T0).unwrap();
    let mut bad_leaf = leaf.clone();
    bad_leaf.replace_range(bad_leaf.len() - 4.., "AAAA");
    // The intermediate is issued by another (unpinned) root: the second link is broken.
    let stranger = SigningKey::generate().unwrap();
    let dept_cert = issue(
        &Claims::new("d", "d", "department", dept.verifying_key(), T0 - DAY, T0 + DAY).purposes(&[Purpose::Certify]),
        &stranger,
        T0,
    )
    .unwrap();
    assert_eq!(code(o.trust.verify(&[&bad_leaf, &dept_cert], T0, Purpose::Encrypt, &[])), ErrorCode::InvalidSignature);
    assert_eq!(code(o.trust.verify(&[&leaf, &dept_cert], T0, Purpose::Encrypt, &[])), ErrorCode::UntrustedKey);
    let check = o.trust.prepare(&[&bad_leaf, &dept_cert]).unwrap();
    assert_eq!(check.jobs().count(), 1, "the signature before the broken link");
    assert_eq!(code(check.jobs().next().unwrap().run()), ErrorCode::InvalidSignature);
    let mut check = o.trust.prepare(&[&leaf, &dept_cert]).unwrap();
    let token = check.jobs().next().unwrap().run().unwrap();
    check.set_verified(0, token).unwrap();
    assert_eq!(code(o.trust.finish(check, T0, Purpose::Encrypt, &[], None)), ErrorCode::UntrustedKey);
}
