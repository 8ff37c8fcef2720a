//! The wasm-bindgen test cases: the wasm build runs the upstream vectors,
//! and the WebCrypto provider runs the P-384 HPKE vectors too. Compiled twice:
//! tests/web.rs (browsers) and tests/web_node.rs (Node).

use phiseal::browser::provider::{self, KeyHandle, Provider};
use phiseal::browser::webcrypto::{self, WebCryptoKey};
use phiseal::conformance::{self, Report};
use phiseal::hpke::Suite;
use phiseal::keys::PrivateKey;
use wasm_bindgen_test::wasm_bindgen_test;

macro_rules! vector {
    ($path:literal) => {
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/vectors/", $path))
    };
}

const P384_HPKE: &str = vector!("hpke/p384-cross-checked.json");

fn assert_clean(name: &str, report: &Report, min_passed: usize) {
    assert_eq!(report.failed, 0, "{name}: {:?}", report.failures);
    assert!(report.passed >= min_passed, "{name}: only {} passed", report.passed);
}

#[wasm_bindgen_test]
fn wasm_runs_p384_hpke_vectors() {
    assert_clean("p384-cross-checked", &conformance::run_file(P384_HPKE), 6384);
}

#[wasm_bindgen_test]
fn wasm_runs_rfc9180_vectors() {
    let report = conformance::run_file(vector!("hpke/rfc9180-nist-curves-aes256gcm-subset.json"));
    assert_clean("rfc9180", &report, 4176);
}

#[wasm_bindgen_test]
fn wasm_runs_wycheproof_subset() {
    assert_clean(
        "ecdh webcrypto",
        &conformance::run_file(vector!("wycheproof/ecdh_secp384r1_webcrypto_test.json")),
        794,
    );
    assert_clean("aes-gcm", &conformance::run_file(vector!("wycheproof/aes_gcm_test.json")), 133);
    assert_clean("hkdf", &conformance::run_file(vector!("wycheproof/hkdf_sha384_test.json")), 83);
    assert_clean(
        "ecdsa p1363",
        &conformance::run_file(vector!("wycheproof/ecdsa_secp384r1_sha384_p1363_test.json")),
        280,
    );
}

/// The same P-384 HPKE vectors with every Diffie-Hellman step in WebCrypto:
/// the recipient's and the ephemeral (and sender's) keys are imported as
/// non-extractable `CryptoKey`s.
#[wasm_bindgen_test]
async fn webcrypto_provider_runs_p384_hpke_vectors() {
    assert!(webcrypto::subtle().is_some(), "crypto.subtle must exist in this runtime");
    let vectors = conformance::hpke_vectors(P384_HPKE).unwrap();
    let mut checked = 0;
    for v in vectors.iter().filter(|v| v.aead_id != 0xFFFF || v.kdf_id == 2) {
        let suite = v.suite().unwrap();
        let keys = conformance::check_p384_kem(v).unwrap();
        let adopt = |k: &PrivateKey| KeyHandle::adopt(k.clone(), Provider::WebCrypto, false);
        let sk_r = adopt(&keys.r).await.unwrap();
        let sk_e = adopt(&keys.e).await.unwrap();
        assert!(matches!(sk_r, KeyHandle::WebCrypto(_)) && !sk_r.extractable());
        let sk_s = match &keys.s {
            Some(s) => Some(adopt(s).await.unwrap()),
            None => None,
        };
        let (enc, mut sender) =
            provider::setup_sender_with_ephemeral(&sk_e, suite, sk_r.public_key(), &v.info, v.psk(), sk_s.as_ref())
                .await
                .unwrap();
        assert_eq!(enc, v.enc);
        let pk_s = sk_s.as_ref().map(KeyHandle::public_key);
        let mut recipient = provider::setup_recipient(suite, &v.enc, &sk_r, &v.info, v.psk(), pk_s).await.unwrap();
        for e in &v.encryptions {
            assert_eq!(sender.seal(&e.aad, &e.pt).unwrap(), e.ct);
            assert_eq!(recipient.open(&e.aad, &e.ct).unwrap(), e.pt);
            checked += 1;
        }
        for x in &v.exports {
            assert_eq!(sender.export(&x.exporter_context, x.len).unwrap().as_slice(), x.exported_value.as_slice());
            assert_eq!(recipient.export(&x.exporter_context, x.len).unwrap().as_slice(), x.exported_value.as_slice());
            checked += 1;
        }
    }
    assert!(checked > 2000, "only {checked} WebCrypto-path checks ran");
}

/// A WebCrypto recipient rejects tampering exactly like the wasm path.
#[wasm_bindgen_test]
async fn webcrypto_provider_rejects_tampering() {
    let sk = KeyHandle::generate(Provider::WebCrypto, false).await.unwrap();
    let pk = *sk.public_key();
    let (enc, mut ctx) =
        provider::setup_sender(Provider::WebCrypto, Suite::PHISEAL, &pk, b"info", None, None).await.unwrap();
    let ct = ctx.seal(b"aad", b"patient note").unwrap();
    let mut bad = ct.clone();
    bad[0] ^= 1;
    let mut r = provider::setup_recipient(Suite::PHISEAL, &enc, &sk, b"info", None, None).await.unwrap();
    assert_eq!(r.open(b"aad", &bad).unwrap_err().code(), phiseal::ErrorCode::DecryptFailed);
    assert_eq!(r.open(b"aad", &ct).unwrap(), b"patient note");
    let mut r2 = provider::setup_recipient(Suite::PHISEAL, &enc, &sk, b"other", None, None).await.unwrap();
    assert_eq!(r2.open(b"aad", &ct).unwrap_err().code(), phiseal::ErrorCode::DecryptFailed);
    let mut bad_enc = enc.clone();
    bad_enc[96] ^= 1;
    let err = provider::setup_recipient(Suite::PHISEAL, &bad_enc, &sk, b"info", None, None).await.unwrap_err();
    assert_eq!(err.code(), phiseal::ErrorCode::InvalidKey);
}

/// Keys move between providers: a phiseal key imported into WebCrypto and a
/// WebCrypto key exported back agree on ECDH with the RustCrypto result; a
/// non-extractable key refuses export.
#[wasm_bindgen_test]
async fn keys_move_between_providers() {
    let a = PrivateKey::generate().unwrap();
    let b = PrivateKey::generate().unwrap();
    let expected = a.diffie_hellman(b.public_key());
    let a_web = WebCryptoKey::import(&a, true).await.unwrap();
    assert_eq!(a_web.diffie_hellman(b.public_key()).await.unwrap().as_slice(), &expected[..]);
    let back = a_web.export().await.unwrap();
    assert_eq!(back.to_scalar_bytes()[..], a.to_scalar_bytes()[..]);
    let locked = WebCryptoKey::generate(false).await.unwrap();
    assert_eq!(locked.export().await.unwrap_err().code(), phiseal::ErrorCode::Misuse);
    let shared = locked.diffie_hellman(b.public_key()).await.unwrap();
    assert_eq!(shared.as_slice(), &b.diffie_hellman(locked.public_key())[..]);
}
