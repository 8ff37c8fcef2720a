//! ECDSA P-384 / SHA-384: round trips, the RFC 6979 known answer, P1363 and
//! DER verification, and rejection of tampered messages, signatures and keys.
// A native suite (`cargo test`); in wasm32 this file compiles to nothing, so
// `wasm-pack test` builds every test target and runs tests/web.rs.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use phiseal::ErrorCode;
use phiseal::keys::PublicKey;
use phiseal::sign::{self, SIGNATURE_LEN, SigningKey};

/// RFC 6979 §A.2.6 (P-384): private key, public x, and the SHA-384 signature of "sample".
const RFC6979_X: &str =
    "6b9d3dad2e1b8c1c05b19875b6659f4de23c3b667bf297ba9aa47740787137d896d5724e4c70a825f872c9ea60d2edf5";
const RFC6979_UX: &str =
    "ec3a4e415b4e19a4568618029f427fa5da9a8bc4ae92e02e06aae5286b300c64def8f0ea9055866064a254515480bc13";
const RFC6979_R: &str =
    "94edbb92a5ecb8aad4736e56c691916b3f88140666ce9fa73d64c4ea95ad133c81a648152e44acf96e36dd1e80fabe46";
const RFC6979_S: &str =
    "99ef4aeb15f178cea1fe40db2603138f130e740a19624526203b6351d0a3a94fa329c145786e679e7b82c71a38628ac8";
/// Group order n of P-384.
const N_HEX: &str = "ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973";

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

#[track_caller]
fn code<T>(r: phiseal::Result<T>) -> ErrorCode {
    match r {
        Ok(_) => panic!("expected an error, got Ok"),
        Err(e) => e.code(),
    }
}

/// DER INTEGER of a big-endian unsigned value: minimal, with a 0x00 pad if the high bit is set.
fn der_integer(bytes: &[u8]) -> Vec<u8> {
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len() - 1);
    let mut v = bytes[first..].to_vec();
    if v[0] & 0x80 != 0 {
        v.insert(0, 0);
    }
    let mut out = vec![0x02, u8::try_from(v.len()).unwrap()];
    out.extend(v);
    out
}

/// DER `ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }` from P1363 `r || s`.
fn der_from_p1363(sig: &[u8]) -> Vec<u8> {
    assert_eq!(sig.len(), 96);
    let mut body = der_integer(&sig[..48]);
    body.extend(der_integer(&sig[48..]));
    assert!(body.len() < 128);
    let mut out = vec![0x30, u8::try_from(body.len()).unwrap()];
    out.extend(body);
    out
}

#[test]
fn rfc6979_known_answer() {
    let key = SigningKey::from_scalar_bytes(&hex(RFC6979_X)).unwrap();
    let public = key.verifying_key();
    assert_eq!(public.to_sec1(false)[1..49], hex(RFC6979_UX)[..]);
    let sig = key.sign(b"sample").unwrap();
    assert_eq!(sig[..48], hex(RFC6979_R)[..]);
    assert_eq!(sig[48..], hex(RFC6979_S)[..]);
    sign::verify_p1363(&public, b"sample", &sig).unwrap();
    sign::verify_der(&public, b"sample", &der_from_p1363(&sig)).unwrap();
}

#[test]
fn sign_verify_round_trip() {
    for msg in [&b""[..], b"checkpoint 1", &[0x5a; 4096][..]] {
        let key = SigningKey::generate().unwrap();
        let public = key.verifying_key();
        let sig = key.sign(msg).unwrap();
        assert_eq!(sig.len(), 96);
        assert_eq!(SIGNATURE_LEN, 96);
        sign::verify_p1363(&public, msg, &sig).unwrap();
        // RFC 6979: deterministic.
        assert_eq!(key.sign(msg).unwrap(), sig);
        // The verifying key survives encoding round trips.
        let again = PublicKey::from_jwk(&public.to_jwk()).unwrap();
        sign::verify_p1363(&again, msg, &sig).unwrap();
    }
}

#[test]
fn different_messages_give_different_signatures() {
    let key = SigningKey::generate().unwrap();
    assert_ne!(key.sign(b"a").unwrap(), key.sign(b"b").unwrap());
}

#[test]
fn flipped_message_bit_is_rejected() {
    let key = SigningKey::generate().unwrap();
    let public = key.verifying_key();
    let msg = b"audit checkpoint 7".to_vec();
    let sig = key.sign(&msg).unwrap();
    let der = der_from_p1363(&sig);
    for bit in 0..msg.len() * 8 {
        let mut bad = msg.clone();
        bad[bit / 8] ^= 1 << (bit % 8);
        assert_eq!(code(sign::verify_p1363(&public, &bad, &sig)), ErrorCode::InvalidSignature, "bit {bit}");
        assert_eq!(code(sign::verify_der(&public, &bad, &der)), ErrorCode::InvalidSignature, "bit {bit}");
    }
    let mut longer = msg.clone();
    longer.push(0);
    assert_eq!(code(sign::verify_p1363(&public, &longer, &sig)), ErrorCode::InvalidSignature);
    assert_eq!(code(sign::verify_p1363(&public, &msg[..msg.len() - 1], &sig)), ErrorCode::InvalidSignature);
    assert_eq!(code(sign::verify_p1363(&public, b"", &sig)), ErrorCode::InvalidSignature);
}

#[test]
fn every_flipped_signature_bit_is_rejected() {
    let key = SigningKey::generate().unwrap();
    let public = key.verifying_key();
    let sig = key.sign(b"message").unwrap();
    for bit in 0..sig.len() * 8 {
        let mut bad = sig;
        bad[bit / 8] ^= 1 << (bit % 8);
        assert_eq!(code(sign::verify_p1363(&public, b"message", &bad)), ErrorCode::InvalidSignature, "bit {bit}");
    }
    sign::verify_p1363(&public, b"message", &sig).unwrap();
}

#[test]
fn wrong_key_is_rejected() {
    let key = SigningKey::generate().unwrap();
    let other = SigningKey::generate().unwrap();
    let sig = key.sign(b"message").unwrap();
    assert_eq!(code(sign::verify_p1363(&other.verifying_key(), b"message", &sig)), ErrorCode::InvalidSignature);
    assert_eq!(
        code(sign::verify_der(&other.verifying_key(), b"message", &der_from_p1363(&sig))),
        ErrorCode::InvalidSignature
    );
    // The negated public key (same x) does not verify either.
    let mut neg = key.verifying_key().to_sec1(true);
    neg[0] ^= 1;
    let neg = PublicKey::from_sec1(&neg).unwrap();
    assert_eq!(code(sign::verify_p1363(&neg, b"message", &sig)), ErrorCode::InvalidSignature);
}

#[test]
fn malformed_p1363_signatures_are_rejected() {
    let key = SigningKey::generate().unwrap();
    let public = key.verifying_key();
    let sig = key.sign(b"m").unwrap();
    let n = hex(N_HEX);
    let mut cases: Vec<Vec<u8>> = vec![
        Vec::new(),
        sig[..95].to_vec(),
        [&sig[..], &[0u8][..]].concat(),
        [&[0u8][..], &sig[..]].concat(),
        sig[..64].to_vec(),
        vec![0u8; 96],
        [&sig[..48], &[0u8; 48][..]].concat(), // s = 0
        [&[0u8; 48][..], &sig[48..]].concat(), // r = 0
        [&n[..], &sig[48..]].concat(),         // r = n
        [&sig[..48], &n[..]].concat(),         // s = n
        vec![0xff; 96],
        der_from_p1363(&sig),
    ];
    // r and s swapped.
    cases.push([&sig[48..], &sig[..48]].concat());
    for bad in cases {
        assert_eq!(code(sign::verify_p1363(&public, b"m", &bad)), ErrorCode::InvalidSignature, "{bad:?}");
    }
}

#[test]
fn der_signature_verifies() {
    for _ in 0..8 {
        let key = SigningKey::generate().unwrap();
        let public = key.verifying_key();
        let sig = key.sign(b"der message").unwrap();
        let der = der_from_p1363(&sig);
        assert_eq!(der[0], 0x30);
        assert!((8..=104).contains(&der.len()), "{}", der.len());
        sign::verify_der(&public, b"der message", &der).unwrap();
    }
}

#[test]
fn der_integer_encoding_by_hand_is_right() {
    // Sanity checks of the test's own DER encoder.
    assert_eq!(der_integer(&[0x00, 0x01]), vec![0x02, 0x01, 0x01]);
    assert_eq!(der_integer(&[0x00, 0x80]), vec![0x02, 0x02, 0x00, 0x80]);
    assert_eq!(der_integer(&[0x7f, 0x00]), vec![0x02, 0x02, 0x7f, 0x00]);
    assert_eq!(der_integer(&[0x00, 0x00]), vec![0x02, 0x01, 0x00]);
}

#[test]
fn malformed_der_signatures_are_rejected() {
    let key = SigningKey::generate().unwrap();
    let public = key.verifying_key();
    let sig = key.sign(b"m").unwrap();
    let der = der_from_p1363(&sig);
    sign::verify_der(&public, b"m", &der).unwrap();
    let mut cases: Vec<Vec<u8>> = Vec::new();
    // Every truncation.
    for len in 0..der.len() {
        cases.push(der[..len].to_vec());
    }
    // Trailing bytes.
    cases.push([&der[..], &[0u8][..]].concat());
    // Wrong outer tag.
    let mut t = der.clone();
    t[0] = 0x31;
    cases.push(t);
    // Long-form outer length (BER, not DER).
    let mut ber = vec![0x30, 0x81, der[1]];
    ber.extend(&der[2..]);
    cases.push(ber);
    // An extra leading zero on r (non-minimal INTEGER).
    let r_len = usize::from(der[3]);
    let mut padded = vec![0x30, der[1] + 1, 0x02, der[3] + 1, 0x00];
    padded.extend(&der[4..]);
    assert_eq!(padded.len(), der.len() + 1);
    cases.push(padded);
    // r negative: drop the 0x00 pad if there is one, else set the high bit.
    let mut neg = der.clone();
    neg[4] |= 0x80;
    if der[4] == 0x00 {
        neg = der.clone();
        neg[5] |= 0x80;
        neg.remove(4);
        neg[1] -= 1;
        neg[3] -= 1;
    }
    cases.push(neg);
    // P1363 bytes given as DER.
    cases.push(sig.to_vec());
    // r and s swapped.
    let mut swapped = vec![0x30, der[1]];
    swapped.extend(&der[4 + r_len..]);
    swapped.extend(&der[2..4 + r_len]);
    cases.push(swapped);
    for bad in cases {
        assert_eq!(code(sign::verify_der(&public, b"m", &bad)), ErrorCode::InvalidSignature, "{bad:02x?}");
    }
}

#[test]
fn signing_key_import_rejects_bad_scalars() {
    assert_eq!(code(SigningKey::from_scalar_bytes(&[0u8; 48])), ErrorCode::InvalidKey);
    assert_eq!(code(SigningKey::from_scalar_bytes(&hex(N_HEX))), ErrorCode::InvalidKey);
    assert_eq!(code(SigningKey::from_scalar_bytes(&[0xff; 48])), ErrorCode::InvalidKey);
    assert_eq!(code(SigningKey::from_scalar_bytes(&[1u8; 47])), ErrorCode::InvalidKey);
    assert_eq!(code(SigningKey::from_scalar_bytes(&[1u8; 49])), ErrorCode::InvalidKey);
    assert_eq!(code(SigningKey::from_scalar_bytes(&[])), ErrorCode::InvalidKey);
}

#[test]
fn signing_key_debug_hides_the_scalar() {
    let bytes = hex(RFC6979_X);
    let key = SigningKey::from_scalar_bytes(&bytes).unwrap();
    let out = format!("{key:?} {key:#?}");
    assert!(!out.contains(RFC6979_X), "{out}");
    assert!(!out.to_lowercase().contains(&RFC6979_X[..16]), "{out}");
    assert!(!out.contains(&format!("{:?}", &bytes[..6])), "{out}");
    assert!(out.contains(&key.verifying_key().kid()), "{out}");
}

#[test]
fn scalar_export_round_trips_and_signs_the_same() {
    let key = SigningKey::generate().unwrap();
    let again = SigningKey::from_scalar_bytes(&key.to_scalar_bytes()[..]).unwrap();
    assert_eq!(again.verifying_key(), key.verifying_key());
    let sig = again.sign(b"checkpoint").unwrap();
    sign::verify_p1363(&key.verifying_key(), b"checkpoint", &sig).unwrap();
}
