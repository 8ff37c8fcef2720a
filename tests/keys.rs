//! P-384 key import/export: round trips, the RFC 7638 kid, and rejection of
//! every malformed or invalid input with the right [`ErrorCode`].
// A native suite (`cargo test`); in wasm32 this file compiles to nothing, so
// `wasm-pack test` builds every test target and runs tests/web.rs.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use base64ct::{Base64, Base64UrlUnpadded, Encoding as _};
use phiseal::ErrorCode;
use phiseal::keys::{Jwk, PrivateKey, PublicKey};
use sha2::{Digest as _, Sha256};

/// Group order n of P-384 (SEC 2 §2.5.1).
const N_HEX: &str = "ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973";
/// Generator G of P-384 (SEC 2 §2.5.1).
const GX_HEX: &str = "aa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b9859f741e082542a385502f25dbf55296c3a545e3872760ab7";
const GY_HEX: &str = "3617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147ce9da3113b5f0b8c00a60b1ce1d7e819d7a431d7c90ea0e5f";
/// DER prefix of a P-384 SubjectPublicKeyInfo (RFC 5480): SEQUENCE {
/// SEQUENCE { id-ecPublicKey, secp384r1 }, BIT STRING (0 unused bits) }.
const SPKI_P384_PREFIX: &str = "3076301006072a8648ce3d020106052b81040022036200";

fn hex(s: &str) -> Vec<u8> {
    assert_eq!(s.len() % 2, 0);
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn b64u(bytes: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(bytes)
}

#[track_caller]
fn code<T>(r: phiseal::Result<T>) -> ErrorCode {
    match r {
        Ok(_) => panic!("expected an error, got Ok"),
        Err(e) => e.code(),
    }
}

fn scalar(last: u8) -> [u8; 48] {
    let mut s = [0u8; 48];
    s[47] = last;
    s
}

fn generator() -> Vec<u8> {
    let mut p = vec![0x04];
    p.extend(hex(GX_HEX));
    p.extend(hex(GY_HEX));
    p
}

/// RFC 7638 §3.2: members in lexicographic order, no whitespace.
fn thumbprint_by_hand(pk: &PublicKey) -> String {
    let point = pk.to_sec1(false);
    let json = format!(
        "{{\"crv\":\"P-384\",\"kty\":\"EC\",\"x\":\"{}\",\"y\":\"{}\"}}",
        b64u(&point[1..49]),
        b64u(&point[49..97])
    );
    let digest: [u8; 32] = Sha256::digest(json.as_bytes()).into();
    b64u(&digest)
}

// ---------------------------------------------------------------------------
// Known answers
// ---------------------------------------------------------------------------

#[test]
fn scalar_one_gives_the_generator() {
    let sk = PrivateKey::from_scalar_bytes(&scalar(1)).unwrap();
    assert_eq!(sk.public_key().to_sec1(false), generator());
    let pk = PublicKey::from_sec1(&generator()).unwrap();
    assert_eq!(&pk, sk.public_key());
}

#[test]
fn spki_der_has_the_rfc5480_prefix() {
    let sk = PrivateKey::generate().unwrap();
    let der = sk.public_key().to_spki_der();
    let mut expected = hex(SPKI_P384_PREFIX);
    expected.extend(sk.public_key().to_sec1(false));
    assert_eq!(der, expected);
}

#[test]
fn scalar_n_minus_one_is_accepted_and_gives_minus_g() {
    let mut n_minus_1 = hex(N_HEX);
    n_minus_1[47] -= 1;
    let sk = PrivateKey::from_scalar_bytes(&n_minus_1).unwrap();
    let point = sk.public_key().to_sec1(false);
    // (n-1)·G = -G: same x, y = p - Gy (so different y).
    assert_eq!(point[1..49], hex(GX_HEX)[..]);
    assert_ne!(point[49..], hex(GY_HEX)[..]);
}

// ---------------------------------------------------------------------------
// Round trips
// ---------------------------------------------------------------------------

#[test]
fn public_jwk_round_trip() {
    let sk = PrivateKey::generate().unwrap();
    let pk = *sk.public_key();
    let jwk = pk.to_jwk();
    assert_eq!(jwk.kty, "EC");
    assert_eq!(jwk.crv, "P-384");
    assert_eq!(jwk.x.len(), 64);
    assert_eq!(jwk.y.len(), 64);
    assert!(jwk.d.is_none());
    assert_eq!(jwk.kid.as_deref(), Some(pk.kid().as_str()));
    assert_eq!(PublicKey::from_jwk(&jwk).unwrap(), pk);

    let json = jwk.to_json();
    assert!(!json.contains("\"d\""));
    let parsed = Jwk::from_json(&json).unwrap();
    assert_eq!(parsed, jwk);
    assert_eq!(PublicKey::from_jwk(&parsed).unwrap(), pk);

    // A public JWK cannot be imported as a private key.
    assert_eq!(code(PrivateKey::from_jwk(&jwk)), ErrorCode::InvalidKey);
}

#[test]
fn private_jwk_round_trip() {
    let sk = PrivateKey::generate().unwrap();
    let jwk = sk.to_jwk();
    let d = jwk.d.as_ref().unwrap();
    assert_eq!(d.len(), 64);
    assert_eq!(**d, b64u(&sk.to_scalar_bytes()[..]));
    let back = PrivateKey::from_jwk(&jwk).unwrap();
    assert_eq!(back.to_scalar_bytes()[..], sk.to_scalar_bytes()[..]);
    assert_eq!(back.public_key(), sk.public_key());

    let json = jwk.to_json();
    let parsed = Jwk::from_json(&json).unwrap();
    let back = PrivateKey::from_jwk(&parsed).unwrap();
    assert_eq!(back.to_scalar_bytes()[..], sk.to_scalar_bytes()[..]);
    // A private JWK also imports as its public key.
    assert_eq!(&PublicKey::from_jwk(&parsed).unwrap(), sk.public_key());
}

#[test]
fn jwk_with_extra_webcrypto_members_is_accepted() {
    let sk = PrivateKey::generate().unwrap();
    let jwk = sk.public_key().to_jwk();
    let json = format!(
        r#"{{"kty":"EC","crv":"P-384","x":"{}","y":"{}","ext":true,"key_ops":["deriveBits"],"kid":"ignored"}}"#,
        jwk.x, jwk.y
    );
    assert_eq!(&PublicKey::from_jwk(&Jwk::from_json(&json).unwrap()).unwrap(), sk.public_key());
}

#[test]
fn spki_der_and_pem_round_trip() {
    let sk = PrivateKey::generate().unwrap();
    let pk = *sk.public_key();
    let der = pk.to_spki_der();
    assert_eq!(der.len(), 120);
    assert_eq!(PublicKey::from_spki_der(&der).unwrap(), pk);
    let pem = pk.to_spki_pem();
    assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"), "{pem}");
    assert!(pem.trim_end().ends_with("-----END PUBLIC KEY-----"), "{pem}");
    assert!(!pem.contains('\r'));
    assert_eq!(PublicKey::from_spki_pem(&pem).unwrap(), pk);
    // Surrounding whitespace is tolerated.
    assert_eq!(PublicKey::from_spki_pem(&format!("\n  {pem}\n\n")).unwrap(), pk);
    // The PEM body is the DER.
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    assert_eq!(Base64::decode_vec(&body).unwrap(), der);
}

#[test]
fn pkcs8_der_and_pem_round_trip() {
    let sk = PrivateKey::generate().unwrap();
    let der = sk.to_pkcs8_der();
    let back = PrivateKey::from_pkcs8_der(&der).unwrap();
    assert_eq!(back.to_scalar_bytes()[..], sk.to_scalar_bytes()[..]);
    assert_eq!(back.public_key(), sk.public_key());
    let pem = sk.to_pkcs8_pem();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
    assert!(pem.trim_end().ends_with("-----END PRIVATE KEY-----"));
    let back = PrivateKey::from_pkcs8_pem(&pem).unwrap();
    assert_eq!(back.to_scalar_bytes()[..], sk.to_scalar_bytes()[..]);
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    assert_eq!(Base64::decode_vec(&body).unwrap(), der[..]);
}

#[test]
fn sec1_round_trip_compressed_and_uncompressed() {
    for _ in 0..8 {
        let sk = PrivateKey::generate().unwrap();
        let pk = *sk.public_key();
        let un = pk.to_sec1(false);
        let co = pk.to_sec1(true);
        assert_eq!(un.len(), 97);
        assert_eq!(un[0], 0x04);
        assert_eq!(co.len(), 49);
        // Compressed tag is 0x02 | parity of y.
        assert_eq!(co[0], 0x02 | (un[96] & 1));
        assert_eq!(co[1..], un[1..49]);
        assert_eq!(PublicKey::from_sec1(&un).unwrap(), pk);
        assert_eq!(PublicKey::from_sec1(&co).unwrap(), pk);
        // The other parity is the negated point, a different key.
        let mut other = co.clone();
        other[0] ^= 1;
        let neg = PublicKey::from_sec1(&other).unwrap();
        assert_ne!(neg, pk);
        assert_eq!(neg.to_sec1(false)[1..49], un[1..49]);
    }
}

#[test]
fn scalar_bytes_round_trip() {
    let sk = PrivateKey::generate().unwrap();
    let bytes = sk.to_scalar_bytes();
    assert_eq!(bytes.len(), 48);
    let back = PrivateKey::from_scalar_bytes(&bytes[..]).unwrap();
    assert_eq!(back.public_key(), sk.public_key());
    assert_eq!(back.to_scalar_bytes()[..], bytes[..]);
}

#[test]
fn generated_keys_differ() {
    let a = PrivateKey::generate().unwrap();
    let b = PrivateKey::generate().unwrap();
    assert_ne!(a.to_scalar_bytes()[..], b.to_scalar_bytes()[..]);
    assert_ne!(a.public_key(), b.public_key());
    assert_ne!(a.public_key().kid(), b.public_key().kid());
}

#[test]
fn ecdh_is_symmetric() {
    let a = PrivateKey::generate().unwrap();
    let b = PrivateKey::generate().unwrap();
    let ab = a.diffie_hellman(b.public_key());
    let ba = b.diffie_hellman(a.public_key());
    assert_eq!(ab[..], ba[..]);
    // With d = 1 the shared secret is the peer's x-coordinate.
    let one = PrivateKey::from_scalar_bytes(&scalar(1)).unwrap();
    assert_eq!(one.diffie_hellman(a.public_key())[..], a.public_key().to_sec1(false)[1..49]);
}

// ---------------------------------------------------------------------------
// kid (RFC 7638)
// ---------------------------------------------------------------------------

#[test]
fn kid_is_the_rfc7638_thumbprint() {
    for _ in 0..4 {
        let sk = PrivateKey::generate().unwrap();
        let pk = sk.public_key();
        let kid = pk.kid();
        assert_eq!(kid.len(), 43);
        assert!(kid.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'), "{kid}");
        assert_eq!(kid, thumbprint_by_hand(pk));
        assert_eq!(b64u(&pk.thumbprint()), kid);
        // The same kid whatever the private/public JWK form.
        assert_eq!(sk.to_jwk().kid.as_deref(), Some(kid.as_str()));
        assert_eq!(pk.to_jwk().kid.as_deref(), Some(kid.as_str()));
    }
}

#[test]
fn kid_of_the_generator_is_known() {
    let pk = PublicKey::from_sec1(&generator()).unwrap();
    let json = format!(
        "{{\"crv\":\"P-384\",\"kty\":\"EC\",\"x\":\"{}\",\"y\":\"{}\"}}",
        b64u(&hex(GX_HEX)),
        b64u(&hex(GY_HEX))
    );
    let digest: [u8; 32] = Sha256::digest(json.as_bytes()).into();
    assert_eq!(pk.kid(), b64u(&digest));
    assert_eq!(pk.thumbprint(), digest);
}

#[test]
fn kid_ignores_jwk_kid_member() {
    let sk = PrivateKey::generate().unwrap();
    let mut jwk = sk.public_key().to_jwk();
    jwk.kid = Some("attacker-chosen".into());
    let pk = PublicKey::from_jwk(&jwk).unwrap();
    assert_eq!(pk.kid(), thumbprint_by_hand(sk.public_key()));
}

// ---------------------------------------------------------------------------
// SEC1 rejection
// ---------------------------------------------------------------------------

#[test]
fn sec1_point_not_on_curve_is_rejected() {
    let sk = PrivateKey::generate().unwrap();
    let good = sk.public_key().to_sec1(false);
    for i in [1, 20, 48, 49, 70, 96] {
        let mut bad = good.clone();
        bad[i] ^= 0x01;
        assert_eq!(code(PublicKey::from_sec1(&bad)), ErrorCode::InvalidKey, "byte {i}");
    }
    // Coordinates >= p are not field elements.
    let mut bad = vec![0x04];
    bad.extend([0xff; 96]);
    assert_eq!(code(PublicKey::from_sec1(&bad)), ErrorCode::InvalidKey);
}

#[test]
fn sec1_compressed_x_without_a_point_is_rejected() {
    // About half of all x have no y; every rejection must be InvalidKey.
    let mut rejected = 0;
    for last in 0u8..64 {
        let mut co = vec![0x02];
        co.extend(scalar(last));
        co[1] = 0x01;
        match PublicKey::from_sec1(&co) {
            Ok(pk) => assert_eq!(pk.to_sec1(true), co),
            Err(e) => {
                assert_eq!(e.code(), ErrorCode::InvalidKey);
                rejected += 1;
            }
        }
    }
    assert!(rejected > 0, "no off-curve x found");
}

#[test]
fn sec1_identity_and_zero_points_are_rejected() {
    // SEC1 encodes the identity as a single 0x00 byte.
    assert_eq!(code(PublicKey::from_sec1(&[0x00])), ErrorCode::InvalidKey);
    let mut zero = vec![0x04];
    zero.extend([0u8; 96]);
    assert_eq!(code(PublicKey::from_sec1(&zero)), ErrorCode::InvalidKey);
    let mut zero_c = vec![0x02];
    zero_c.extend([0u8; 48]);
    // x = 0: y^2 = b, which may or may not be a square; it must never be the identity.
    if let Ok(pk) = PublicKey::from_sec1(&zero_c) {
        assert_eq!(pk.to_sec1(true), zero_c);
    }
    assert_eq!(code(PublicKey::from_sec1(&[0u8; 97])), ErrorCode::InvalidKey);
    assert_eq!(code(PublicKey::from_sec1(&[0u8; 49])), ErrorCode::InvalidKey);
}

#[test]
fn sec1_wrong_lengths_are_rejected() {
    let sk = PrivateKey::generate().unwrap();
    let un = sk.public_key().to_sec1(false);
    let co = sk.public_key().to_sec1(true);
    for len in [0, 1, 48, 50, 65, 96] {
        assert_eq!(code(PublicKey::from_sec1(&un[..len])), ErrorCode::InvalidKey, "len {len}");
    }
    let mut long = un.clone();
    long.push(0);
    assert_eq!(code(PublicKey::from_sec1(&long)), ErrorCode::InvalidKey);
    let mut long_c = co.clone();
    long_c.push(0);
    assert_eq!(code(PublicKey::from_sec1(&long_c)), ErrorCode::InvalidKey);
    assert_eq!(code(PublicKey::from_sec1(&co[..48])), ErrorCode::InvalidKey);
    // P-256 and P-521 sized points.
    assert_eq!(code(PublicKey::from_sec1(&[0x04; 65])), ErrorCode::InvalidKey);
    assert_eq!(code(PublicKey::from_sec1(&[0x04; 133])), ErrorCode::InvalidKey);
}

#[test]
fn sec1_wrong_tags_are_rejected() {
    let sk = PrivateKey::generate().unwrap();
    let un = sk.public_key().to_sec1(false);
    let co = sk.public_key().to_sec1(true);
    for tag in [0x00, 0x01, 0x02, 0x03, 0x05, 0x06, 0x07, 0xff] {
        let mut bad = un.clone();
        bad[0] = tag;
        assert_eq!(code(PublicKey::from_sec1(&bad)), ErrorCode::InvalidKey, "uncompressed tag {tag:#x}");
    }
    for tag in [0x00, 0x01, 0x04, 0x05, 0x06, 0x07, 0xff] {
        let mut bad = co.clone();
        bad[0] = tag;
        assert_eq!(code(PublicKey::from_sec1(&bad)), ErrorCode::InvalidKey, "compressed tag {tag:#x}");
    }
}

// ---------------------------------------------------------------------------
// Scalar rejection
// ---------------------------------------------------------------------------

#[test]
fn scalar_zero_n_and_above_are_rejected() {
    assert_eq!(code(PrivateKey::from_scalar_bytes(&[0u8; 48])), ErrorCode::InvalidKey);
    let n = hex(N_HEX);
    assert_eq!(n.len(), 48);
    assert_eq!(code(PrivateKey::from_scalar_bytes(&n)), ErrorCode::InvalidKey);
    let mut n_plus_1 = n.clone();
    n_plus_1[47] += 1;
    assert_eq!(code(PrivateKey::from_scalar_bytes(&n_plus_1)), ErrorCode::InvalidKey);
    assert_eq!(code(PrivateKey::from_scalar_bytes(&[0xff; 48])), ErrorCode::InvalidKey);
    // Big-endian n with a leading zero byte is 49 bytes: a length error, not reduced mod n.
    let mut n49 = vec![0u8];
    n49.extend(&n);
    assert_eq!(code(PrivateKey::from_scalar_bytes(&n49)), ErrorCode::InvalidKey);
}

#[test]
fn scalar_wrong_lengths_are_rejected() {
    let sk = PrivateKey::generate().unwrap();
    let bytes = sk.to_scalar_bytes();
    for len in [0, 1, 32, 47] {
        assert_eq!(code(PrivateKey::from_scalar_bytes(&bytes[..len])), ErrorCode::InvalidKey, "len {len}");
    }
    let mut long = bytes.to_vec();
    long.insert(0, 0);
    assert_eq!(code(PrivateKey::from_scalar_bytes(&long)), ErrorCode::InvalidKey);
    assert_eq!(code(PrivateKey::from_scalar_bytes(&[1u8; 66])), ErrorCode::InvalidKey);
}

// ---------------------------------------------------------------------------
// JWK rejection
// ---------------------------------------------------------------------------

fn public_jwk() -> (PrivateKey, Jwk) {
    let sk = PrivateKey::generate().unwrap();
    let jwk = sk.public_key().to_jwk();
    (sk, jwk)
}

#[test]
fn jwk_wrong_crv_is_rejected() {
    let (sk, jwk) = public_jwk();
    for crv in ["P-256", "P-521", "p-384", "P384", "secp384r1", ""] {
        let mut bad = jwk.clone();
        bad.crv = crv.into();
        assert_eq!(code(PublicKey::from_jwk(&bad)), ErrorCode::InvalidKey, "{crv}");
        let mut bad = sk.to_jwk();
        bad.crv = crv.into();
        assert_eq!(code(PrivateKey::from_jwk(&bad)), ErrorCode::InvalidKey, "{crv}");
    }
}

#[test]
fn jwk_wrong_kty_is_rejected() {
    let (sk, jwk) = public_jwk();
    for kty in ["RSA", "OKP", "oct", "ec", "EC ", ""] {
        let mut bad = jwk.clone();
        bad.kty = kty.into();
        assert_eq!(code(PublicKey::from_jwk(&bad)), ErrorCode::InvalidKey, "{kty}");
        let mut bad = sk.to_jwk();
        bad.kty = kty.into();
        assert_eq!(code(PrivateKey::from_jwk(&bad)), ErrorCode::InvalidKey, "{kty}");
    }
}

#[test]
fn jwk_point_not_on_curve_is_rejected() {
    let (_, jwk) = public_jwk();
    let mut y = Base64UrlUnpadded::decode_vec(&jwk.y).unwrap();
    y[47] ^= 1;
    let mut bad = jwk.clone();
    bad.y = b64u(&y);
    assert_eq!(code(PublicKey::from_jwk(&bad)), ErrorCode::InvalidKey);
    // All-zero coordinates (never on the curve, and not a valid identity encoding).
    let mut zero = jwk;
    zero.x = b64u(&[0u8; 48]);
    zero.y = b64u(&[0u8; 48]);
    assert_eq!(code(PublicKey::from_jwk(&zero)), ErrorCode::InvalidKey);
}

#[test]
fn private_jwk_not_matching_d_is_rejected() {
    let sk = PrivateKey::generate().unwrap();
    let other = PrivateKey::generate().unwrap();
    let mut bad = sk.to_jwk();
    let other_jwk = other.public_key().to_jwk();
    bad.x = other_jwk.x.clone();
    bad.y = other_jwk.y;
    assert_eq!(code(PrivateKey::from_jwk(&bad)), ErrorCode::InvalidKey);
    // The negated point (same x, other y) does not match either.
    let mut neg = sk.public_key().to_sec1(true);
    neg[0] ^= 1;
    let neg = PublicKey::from_sec1(&neg).unwrap().to_jwk();
    let mut bad = sk.to_jwk();
    bad.y = neg.y;
    assert_eq!(code(PrivateKey::from_jwk(&bad)), ErrorCode::InvalidKey);
}

#[test]
fn private_jwk_with_invalid_d_is_rejected() {
    let sk = PrivateKey::generate().unwrap();
    for d in [vec![0u8; 48], hex(N_HEX), vec![0xff; 48]] {
        let mut bad = sk.to_jwk();
        bad.d = Some(b64u(&d).into());
        assert_eq!(code(PrivateKey::from_jwk(&bad)), ErrorCode::InvalidKey, "d = {}", to_hex(&d));
    }
    // Missing d.
    let mut bad = sk.to_jwk();
    bad.d = None;
    assert_eq!(code(PrivateKey::from_jwk(&bad)), ErrorCode::InvalidKey);
}

/// Every bad base64url spelling of a 48-byte value.
fn bad_b64(good: &str) -> Vec<String> {
    assert_eq!(good.len(), 64);
    let bytes = Base64UrlUnpadded::decode_vec(good).unwrap();
    let mut out = vec![
        format!("{good}="),
        format!("{good}=="),
        format!("{}=", &good[..63]),
        Base64::encode_string(&bytes[..47]), // standard, padded 47 bytes
        format!("{}+{}", &good[..10], &good[11..]),
        format!("{}/{}", &good[..10], &good[11..]),
        format!("{}*{}", &good[..10], &good[11..]),
        format!("{} {}", &good[..10], &good[11..]),
        format!("{}.{}", &good[..10], &good[11..]),
        format!("{}é{}", &good[..10], &good[12..]),
        format!(" {good}"),
        format!("{good}\n"),
        String::new(),
        "A".into(),
        // 47 and 49 bytes.
        b64u(&bytes[..47]),
        b64u(&[&[0u8][..], &bytes[..]].concat()),
        b64u(&[&bytes[..], &[0u8][..]].concat()),
        b64u(&[0u8; 66]),
        // 32 bytes (a P-256 coordinate).
        b64u(&bytes[..32]),
    ];
    // The standard alphabet spelling of a value that uses '+' or '/'.
    let std = Base64::encode_string(&[0xfb; 48]);
    assert!(std.contains('+') || std.contains('/'));
    out.push(std);
    out.push(Base64::encode_string(&[0xff; 48]));
    out
}

#[test]
fn jwk_bad_base64url_coordinates_are_malformed() {
    let (_, jwk) = public_jwk();
    for bad in bad_b64(&jwk.x) {
        let mut j = jwk.clone();
        j.x = bad.clone();
        assert_eq!(code(PublicKey::from_jwk(&j)), ErrorCode::MalformedInput, "x = {bad:?}");
    }
    for bad in bad_b64(&jwk.y) {
        let mut j = jwk.clone();
        j.y = bad.clone();
        assert_eq!(code(PublicKey::from_jwk(&j)), ErrorCode::MalformedInput, "y = {bad:?}");
    }
}

#[test]
fn jwk_bad_base64url_d_is_malformed() {
    let sk = PrivateKey::generate().unwrap();
    let jwk = sk.to_jwk();
    let d = jwk.d.as_ref().unwrap().to_string();
    for bad in bad_b64(&d) {
        let mut j = jwk.clone();
        j.d = Some(bad.clone().into());
        assert_eq!(code(PrivateKey::from_jwk(&j)), ErrorCode::MalformedInput, "d = {bad:?}");
    }
}

#[test]
fn jwk_47_and_49_byte_coordinates_are_malformed() {
    let (_, jwk) = public_jwk();
    let x = Base64UrlUnpadded::decode_vec(&jwk.x).unwrap();
    // A coordinate with its leading byte stripped (as some encoders do when it is zero).
    let mut j = jwk.clone();
    j.x = b64u(&x[1..]);
    assert_eq!(code(PublicKey::from_jwk(&j)), ErrorCode::MalformedInput);
    let mut j = jwk.clone();
    j.y = b64u(&[&[0u8][..], &Base64UrlUnpadded::decode_vec(&jwk.y).unwrap()[..]].concat());
    assert_eq!(code(PublicKey::from_jwk(&j)), ErrorCode::MalformedInput);
}

#[test]
fn jwk_json_of_the_wrong_shape_is_malformed() {
    let (_, jwk) = public_jwk();
    let cases = [
        String::new(),
        "not json".into(),
        "[]".into(),
        "null".into(),
        r#"{"kty":"EC","crv":"P-384"}"#.into(),
        format!(r#"{{"kty":"EC","crv":"P-384","x":"{}"}}"#, jwk.x),
        format!(r#"{{"kty":"EC","crv":"P-384","x":1,"y":"{}"}}"#, jwk.y),
        format!(r#"{{"kty":"EC","crv":384,"x":"{}","y":"{}"}}"#, jwk.x, jwk.y),
        format!(r#"{{"kty":"EC","crv":"P-384","x":"{}","y":"{}","d":5}}"#, jwk.x, jwk.y),
        format!(r#"{{"kty":"EC","crv":"P-384","x":"{}","y":"{}""#, jwk.x, jwk.y),
    ];
    for json in cases {
        assert_eq!(code(Jwk::from_json(&json)), ErrorCode::MalformedInput, "{json}");
    }
}

// ---------------------------------------------------------------------------
// DER / PEM rejection
// ---------------------------------------------------------------------------

#[test]
fn every_truncation_of_spki_der_is_rejected() {
    let sk = PrivateKey::generate().unwrap();
    let der = sk.public_key().to_spki_der();
    for len in 0..der.len() {
        assert_eq!(code(PublicKey::from_spki_der(&der[..len])), ErrorCode::InvalidKey, "len {len}");
    }
    assert!(PublicKey::from_spki_der(&der).is_ok());
}

#[test]
fn every_truncation_of_pkcs8_der_is_rejected() {
    let sk = PrivateKey::generate().unwrap();
    let der = sk.to_pkcs8_der();
    for len in 0..der.len() {
        assert_eq!(code(PrivateKey::from_pkcs8_der(&der[..len])), ErrorCode::InvalidKey, "len {len}");
    }
    assert!(PrivateKey::from_pkcs8_der(&der).is_ok());
}

#[test]
fn der_with_trailing_bytes_is_rejected() {
    let sk = PrivateKey::generate().unwrap();
    let mut spki = sk.public_key().to_spki_der();
    spki.push(0);
    assert_eq!(code(PublicKey::from_spki_der(&spki)), ErrorCode::InvalidKey);
    let mut pkcs8 = sk.to_pkcs8_der().to_vec();
    pkcs8.push(0);
    assert_eq!(code(PrivateKey::from_pkcs8_der(&pkcs8)), ErrorCode::InvalidKey);
}

#[test]
fn spki_with_invalid_point_or_wrong_curve_is_rejected() {
    let sk = PrivateKey::generate().unwrap();
    let der = sk.public_key().to_spki_der();
    // Point off the curve.
    let mut bad = der.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    assert_eq!(code(PublicKey::from_spki_der(&bad)), ErrorCode::InvalidKey);
    // secp384r1 OID (1.3.132.0.34) changed to 1.3.132.0.35 (secp521r1).
    let mut bad = der.clone();
    assert_eq!(bad[19], 0x22);
    bad[19] = 0x23;
    assert_eq!(code(PublicKey::from_spki_der(&bad)), ErrorCode::InvalidKey);
    // A valid P-256 SPKI (the P-256 generator).
    let p256 = hex(concat!(
        "3059301306072a8648ce3d020106082a8648ce3d030107034200",
        "046b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296",
        "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5"
    ));
    assert_eq!(code(PublicKey::from_spki_der(&p256)), ErrorCode::InvalidKey);
    // PKCS#8 given as SPKI and the reverse.
    assert_eq!(code(PublicKey::from_spki_der(&sk.to_pkcs8_der())), ErrorCode::InvalidKey);
    assert_eq!(code(PrivateKey::from_pkcs8_der(&der)), ErrorCode::InvalidKey);
}

/// RFC 7468 PEM with 64-character lines.
fn pem(label: &str, der: &[u8]) -> String {
    let body = Base64::encode_string(der);
    let lines: Vec<&str> = body.as_bytes().chunks(64).map(|c| core::str::from_utf8(c).unwrap()).collect();
    format!("-----BEGIN {label}-----\n{}\n-----END {label}-----\n", lines.join("\n"))
}

#[test]
fn garbage_pem_is_rejected() {
    let sk = PrivateKey::generate().unwrap();
    let spki_pem = sk.public_key().to_spki_pem();
    let pkcs8_pem = sk.to_pkcs8_pem().to_string();
    let mut garbage = vec![
        String::new(),
        "hello".into(),
        "-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n".into(),
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n".into(),
        "-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----\n".into(),
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n".into(),
        pem("PUBLIC KEY", &[0x30, 0x03, 0x02, 0x01, 0x00]),
        pem("PRIVATE KEY", &[0x30, 0x03, 0x02, 0x01, 0x00]),
        spki_pem.replace("-----END PUBLIC KEY-----", ""),
        pkcs8_pem.replace("-----END PRIVATE KEY-----", ""),
        spki_pem.replace("PUBLIC KEY", "PUBLIC KEX"),
        pkcs8_pem.replace("PRIVATE KEY", "EC PRIVATE KEY"),
    ];
    // Body truncated by one line.
    let mut lines: Vec<&str> = spki_pem.lines().collect();
    lines.remove(1);
    garbage.push(lines.join("\n"));
    let mut lines: Vec<&str> = pkcs8_pem.lines().collect();
    lines.remove(1);
    garbage.push(lines.join("\n"));

    for text in &garbage {
        assert_eq!(code(PublicKey::from_spki_pem(text)), ErrorCode::InvalidKey, "{text:?}");
        assert_eq!(code(PrivateKey::from_pkcs8_pem(text)), ErrorCode::InvalidKey, "{text:?}");
    }
    // The hand-built PEM of valid DER is accepted, so the rejections above are about the content.
    assert_eq!(&PublicKey::from_spki_pem(&pem("PUBLIC KEY", &sk.public_key().to_spki_der())).unwrap(), sk.public_key());
    assert_eq!(
        PrivateKey::from_pkcs8_pem(&pem("PRIVATE KEY", &sk.to_pkcs8_der())).unwrap().public_key(),
        sk.public_key()
    );
    // Right encoding, wrong label for the call.
    assert_eq!(code(PublicKey::from_spki_pem(&pkcs8_pem)), ErrorCode::InvalidKey);
    assert_eq!(code(PrivateKey::from_pkcs8_pem(&spki_pem)), ErrorCode::InvalidKey);
    // A PUBLIC KEY label around PKCS#8 DER and the reverse.
    assert_eq!(code(PublicKey::from_spki_pem(&pem("PUBLIC KEY", &sk.to_pkcs8_der()))), ErrorCode::InvalidKey);
    assert_eq!(
        code(PrivateKey::from_pkcs8_pem(&pem("PRIVATE KEY", &sk.public_key().to_spki_der()))),
        ErrorCode::InvalidKey
    );
}

// ---------------------------------------------------------------------------
// Secrets never printed
// ---------------------------------------------------------------------------

fn secret_spellings(sk: &PrivateKey) -> Vec<String> {
    let bytes = sk.to_scalar_bytes();
    let lower = to_hex(&bytes[..]);
    vec![
        b64u(&bytes[..]),
        Base64::encode_string(&bytes[..]),
        lower.clone(),
        lower.to_uppercase(),
        // A distinctive slice, in case of partial printing.
        lower[..16].to_owned(),
        format!("{:?}", &bytes[..8]),
    ]
}

#[test]
fn debug_never_prints_the_private_scalar() {
    for _ in 0..4 {
        let sk = PrivateKey::generate().unwrap();
        let jwk = sk.to_jwk();
        let outputs = [
            format!("{sk:?}"),
            format!("{sk:#?}"),
            format!("{jwk:?}"),
            format!("{jwk:#?}"),
            format!("{:?}", Some(&jwk)),
            format!("{:?}", sk.public_key()),
        ];
        let d = jwk.d.as_ref().unwrap().to_string();
        for out in &outputs {
            assert!(!out.contains(&d), "{out}");
            for secret in secret_spellings(&sk) {
                assert!(!out.contains(&secret), "{out} contains {secret}");
            }
        }
        // The JWK's public members and the kid are still printed.
        assert!(outputs[2].contains(&jwk.x), "{}", outputs[2]);
        assert!(outputs[2].contains("redacted"), "{}", outputs[2]);
        assert!(outputs[0].contains(&sk.public_key().kid()), "{}", outputs[0]);
    }
}

#[test]
fn error_display_never_contains_key_bytes() {
    let sk = PrivateKey::generate().unwrap();
    let other = PrivateKey::generate().unwrap();
    let jwk = sk.to_jwk();
    let d = jwk.d.as_ref().unwrap().to_string();
    let n = hex(N_HEX);

    let mut mismatched = jwk.clone();
    let other_jwk = other.public_key().to_jwk();
    mismatched.x = other_jwk.x.clone();
    mismatched.y = other_jwk.y.clone();
    let mut bad_d = jwk.clone();
    bad_d.d = Some(format!("{}+", &d[..63]).into());
    let mut off_curve = sk.public_key().to_sec1(false);
    off_curve[96] ^= 1;
    let mut truncated = sk.to_pkcs8_der().to_vec();
    truncated.pop();

    let errors = [
        PrivateKey::from_jwk(&mismatched).unwrap_err(),
        PrivateKey::from_jwk(&bad_d).unwrap_err(),
        PrivateKey::from_scalar_bytes(&n).unwrap_err(),
        PrivateKey::from_pkcs8_der(&truncated).unwrap_err(),
        PublicKey::from_sec1(&off_curve).unwrap_err(),
    ];
    let mut forbidden = secret_spellings(&sk);
    forbidden.push(d[..20].to_owned());
    forbidden.push(to_hex(&n));
    forbidden.push(to_hex(&off_curve[1..49]));
    forbidden.push(other_jwk.x.clone());
    forbidden.push(other_jwk.x[..20].to_owned());
    for e in errors {
        for out in [e.to_string(), format!("{e:?}"), e.message().to_owned()] {
            assert!(!out.is_empty());
            for secret in &forbidden {
                assert!(!out.contains(secret.as_str()), "{out} contains {secret}");
            }
        }
        assert!(e.to_string().starts_with(e.code().as_str()), "{e}");
    }
}

// ---------------------------------------------------------------------------
// PKCS#8 and SPKI forms written by other tools (phiseal's DER is its own
// template code, src/keys/der.rs: these pin what it accepts and refuses)
// ---------------------------------------------------------------------------

/// DER TLV with a short or one-byte long length (enough for these keys).
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    if content.len() < 0x80 {
        out.push(content.len() as u8);
    } else {
        out.extend([0x81, content.len() as u8]);
    }
    out.extend_from_slice(content);
    out
}

/// PKCS#8 v1 with an ECPrivateKey holding `scalar` and optional `[0]`
/// parameters and `[1]` public key.
fn pkcs8_with(scalar: &[u8], params: Option<&[u8]>, point: Option<&[u8]>) -> Vec<u8> {
    let mut ec = tlv(0x02, &[1]);
    ec.extend(tlv(0x04, scalar));
    if let Some(p) = params {
        ec.extend(tlv(0xa0, p));
    }
    if let Some(p) = point {
        ec.extend(tlv(0xa1, &tlv(0x03, &[&[0u8][..], p].concat())));
    }
    let mut body = tlv(0x02, &[0]);
    body.extend(hex("301006072a8648ce3d020106052b81040022"));
    body.extend(tlv(0x04, &tlv(0x30, &ec)));
    tlv(0x30, &body)
}

#[test]
fn pkcs8_is_written_as_webcrypto_writes_it() {
    let sk = PrivateKey::generate().unwrap();
    let point = sk.public_key().to_sec1(false);
    // Version 0, named curve only in the algorithm identifier, public key
    // included: 185 bytes, as Chromium, Firefox, Safari and OpenSSL 3 export.
    let der = sk.to_pkcs8_der();
    assert_eq!(der.len(), 185);
    assert_eq!(der[..], pkcs8_with(&sk.to_scalar_bytes()[..], None, Some(&point))[..]);
}

#[test]
fn pkcs8_variants_of_other_tools_are_accepted() {
    let sk = PrivateKey::generate().unwrap();
    let d = sk.to_scalar_bytes();
    let un = sk.public_key().to_sec1(false);
    let co = sk.public_key().to_sec1(true);
    let secp384r1 = hex("06052b81040022");
    for der in [
        pkcs8_with(&d[..], None, None),             // no public key (RFC 5915 makes it optional)
        pkcs8_with(&d[..], Some(&secp384r1), None), // parameters repeated inside (older OpenSSL)
        pkcs8_with(&d[..], Some(&secp384r1), Some(&un)),
        pkcs8_with(&d[..], None, Some(&co)), // compressed public key
    ] {
        let back = PrivateKey::from_pkcs8_der(&der).unwrap();
        assert_eq!(back.public_key(), sk.public_key());
    }
}

#[test]
fn pkcs8_that_lies_or_names_another_curve_is_rejected() {
    let sk = PrivateKey::generate().unwrap();
    let other = PrivateKey::generate().unwrap();
    let d = sk.to_scalar_bytes();
    let secp521r1 = hex("06052b81040023");
    let p256 = hex("06082a8648ce3d030107");
    let mut padded = vec![0u8];
    padded.extend_from_slice(&d[..]);
    for (what, der) in [
        ("public key of another scalar", pkcs8_with(&d[..], None, Some(&other.public_key().to_sec1(false)))),
        ("parameters of secp521r1", pkcs8_with(&d[..], Some(&secp521r1), None)),
        ("parameters of P-256", pkcs8_with(&d[..], Some(&p256), None)),
        ("23-byte scalar", pkcs8_with(&d[..23], None, None)),
        ("49-byte scalar", pkcs8_with(&padded, None, None)),
        ("zero scalar", pkcs8_with(&[0u8; 48], None, None)),
        ("off-curve public key", pkcs8_with(&d[..], None, Some(&[&[4u8][..], &[1u8; 96][..]].concat()))),
    ] {
        assert_eq!(code(PrivateKey::from_pkcs8_der(&der)), ErrorCode::InvalidKey, "{what}");
    }
    // A long-form length where the short form fits.
    let good = pkcs8_with(&d[..], None, None);
    let inner = &good[2..];
    let mut long = vec![0x30, 0x81, inner.len() as u8];
    long.extend_from_slice(inner);
    assert_eq!(code(PrivateKey::from_pkcs8_der(&long)), ErrorCode::InvalidKey, "non-minimal length");
}

/// The PrivateKeyInfo body of `pkcs8_with(..)` with `version` and `tail`
/// (attributes, RFC 5958 publicKey) appended.
fn pkcs8_v(version: u8, scalar: &[u8], tail: &[u8]) -> Vec<u8> {
    let good = pkcs8_with(scalar, None, None);
    let mut inner = good[2..].to_vec();
    assert_eq!(&inner[..3], &[0x02, 0x01, 0x00]);
    inner[2] = version;
    inner.extend_from_slice(tail);
    tlv(0x30, &inner)
}

#[test]
fn pkcs8_attributes_version_1_and_short_scalars() {
    let sk = PrivateKey::generate().unwrap();
    let d = sk.to_scalar_bytes();
    let point = sk.public_key().to_sec1(false);
    let attrs = tlv(0xa0, &tlv(0x30, &hex("06092a864886f70d010914")));
    let public = tlv(0x81, &[&[0u8][..], &point].concat());
    // Attributes (skipped), and RFC 5958 version 1 with a matching publicKey.
    for der in [
        pkcs8_v(0, &d[..], &attrs),
        pkcs8_v(1, &d[..], &public),
        pkcs8_v(1, &d[..], &[attrs.clone(), public.clone()].concat()),
    ] {
        assert_eq!(PrivateKey::from_pkcs8_der(&der).unwrap().public_key(), sk.public_key());
    }
    // Version 1 with another key's publicKey; a publicKey in version 0; attributes after it; an unknown tail.
    let other = tlv(0x81, &[&[0u8][..], &PrivateKey::generate().unwrap().public_key().to_sec1(false)].concat());
    for (what, der) in [
        ("v1 publicKey of another key", pkcs8_v(1, &d[..], &other)),
        ("publicKey in version 0", pkcs8_v(0, &d[..], &public)),
        ("attributes after publicKey", pkcs8_v(1, &d[..], &[public.clone(), attrs.clone()].concat())),
        ("trailing INTEGER", pkcs8_v(0, &d[..], &[0x02, 0x01, 0x00])),
        ("version 2", pkcs8_v(2, &d[..], &[])),
    ] {
        assert_eq!(code(PrivateKey::from_pkcs8_der(&der)), ErrorCode::InvalidKey, "{what}");
    }
    // A scalar with leading zero bytes, written without them: the same key.
    let mut small = [0u8; 48];
    small[3..].copy_from_slice(&d[3..]);
    let sk = PrivateKey::from_scalar_bytes(&small).unwrap();
    let point = sk.public_key().to_sec1(false);
    let back = PrivateKey::from_pkcs8_der(&pkcs8_with(&small[3..], None, Some(&point))).unwrap();
    assert_eq!(back.public_key(), sk.public_key());
}

#[test]
fn der_trailing_bytes_inside_any_level_are_rejected() {
    let sk = PrivateKey::generate().unwrap();
    let d = sk.to_scalar_bytes();
    let point = sk.public_key().to_sec1(false);
    let bits = tlv(0x03, &[&[0u8][..], &point].concat());
    let alg = hex("301006072a8648ce3d020106052b81040022");
    // SPKI: after the BIT STRING, and inside the AlgorithmIdentifier.
    let spki_tail = tlv(0x30, &[alg.clone(), bits.clone(), vec![0x05, 0x00]].concat());
    assert_eq!(code(PublicKey::from_spki_der(&spki_tail)), ErrorCode::InvalidKey, "after BIT STRING");
    let long_alg = tlv(0x30, &[&alg[2..], &[0x05, 0x00][..]].concat());
    assert_eq!(
        code(PublicKey::from_spki_der(&tlv(0x30, &[long_alg, bits.clone()].concat()))),
        ErrorCode::InvalidKey,
        "in alg"
    );
    assert_eq!(&PublicKey::from_spki_der(&tlv(0x30, &[alg.clone(), bits.clone()].concat())).unwrap(), sk.public_key());
    // PKCS#8: after ECPrivateKey's members, inside the OCTET STRING after the
    // ECPrivateKey, and inside [1] after the BIT STRING.
    let body = |ec_members: Vec<u8>, after_ec: &[u8]| {
        let mut info = hex("020100");
        info.extend(&alg);
        info.extend(tlv(0x04, &[tlv(0x30, &ec_members), after_ec.to_vec()].concat()));
        tlv(0x30, &info)
    };
    let members = |extra_in_ec: &[u8], extra_in_pub: &[u8]| {
        let mut ec = hex("020101");
        ec.extend(tlv(0x04, &d[..]));
        ec.extend(tlv(0xa1, &[bits.clone(), extra_in_pub.to_vec()].concat()));
        ec.extend_from_slice(extra_in_ec);
        ec
    };
    assert!(PrivateKey::from_pkcs8_der(&body(members(&[], &[]), &[])).is_ok());
    for (what, der) in [
        ("after ECPrivateKey members", body(members(&[0x05, 0x00], &[]), &[])),
        ("inside the OCTET STRING", body(members(&[], &[]), &[0x05, 0x00])),
        ("inside [1]", body(members(&[], &[0x05, 0x00]), &[])),
    ] {
        assert_eq!(code(PrivateKey::from_pkcs8_der(&der)), ErrorCode::InvalidKey, "{what}");
    }
}

#[test]
fn spki_compressed_point_and_explicit_parameters() {
    let sk = PrivateKey::generate().unwrap();
    let co = sk.public_key().to_sec1(true);
    let mut body = hex("301006072a8648ce3d020106052b81040022");
    body.extend(tlv(0x03, &[&[0u8][..], &co].concat()));
    assert_eq!(&PublicKey::from_spki_der(&tlv(0x30, &body)).unwrap(), sk.public_key());
    // Unused bits in the BIT STRING.
    let mut body = hex("301006072a8648ce3d020106052b81040022");
    body.extend(tlv(0x03, &[&[1u8][..], &co].concat()));
    assert_eq!(code(PublicKey::from_spki_der(&tlv(0x30, &body))), ErrorCode::InvalidKey);
    // The algorithm without parameters, with NULL parameters, or with
    // explicit ECParameters (a SEQUENCE: version 1, field ID for a prime
    // field, abbreviated here) in place of the curve OID.
    let explicit = tlv(
        0x30,
        &[hex("06072a8648ce3d0201"), tlv(0x30, &[hex("020101"), tlv(0x30, &hex("06072a8648ce3d0101"))].concat())]
            .concat(),
    );
    let explicit = hex_string(&explicit);
    for alg in ["300906072a8648ce3d0201", "300b06072a8648ce3d02010500", explicit.as_str()] {
        let mut body = hex(alg);
        body.extend(tlv(0x03, &[&[0u8][..], &co].concat()));
        assert_eq!(code(PublicKey::from_spki_der(&tlv(0x30, &body))), ErrorCode::InvalidKey, "{alg}");
    }
}

#[test]
fn pem_with_crlf_and_the_other_label_or_extra_text() {
    let sk = PrivateKey::generate().unwrap();
    let pem = sk.public_key().to_spki_pem();
    assert_eq!(&PublicKey::from_spki_pem(&pem.replace('\n', "\r\n")).unwrap(), sk.public_key());
    for bad in [
        format!("Subject: me\n{pem}"),
        pem.replace("-----BEGIN PUBLIC KEY-----\n", "-----BEGIN PUBLIC KEY-----\nProc-Type: 4,ENCRYPTED\n\n"),
        format!("{pem}{pem}"),
        pem.replace('\n', "\n\n"),
    ] {
        assert_eq!(code(PublicKey::from_spki_pem(&bad)), ErrorCode::InvalidKey, "{bad:?}");
    }
}

fn hex_string(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
