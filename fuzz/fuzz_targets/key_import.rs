//! Key import in every format: SEC1, SPKI DER/PEM, PKCS#8 DER/PEM, JWK
//! (public and private), raw scalars, audit trusted keys. An accepted key
//! must export and re-import to the same key.
#![no_main]

use libfuzzer_sys::fuzz_target;
use phiseal::audit;
use phiseal::hpke;
use phiseal::keys::{Jwk, PrivateKey, PublicKey};
use phiseal::sign::SigningKey;
use phiseal_fuzz::typed;

fn public_round_trip(pk: &PublicKey) {
    assert_eq!(PublicKey::from_sec1(&pk.to_sec1(true)).ok(), Some(*pk));
    assert_eq!(PublicKey::from_spki_der(&pk.to_spki_der()).ok(), Some(*pk));
    assert_eq!(PublicKey::from_jwk(&pk.to_jwk()).ok(), Some(*pk));
}

fn private_round_trip(sk: &PrivateKey) {
    public_round_trip(sk.public_key());
    let again = PrivateKey::from_pkcs8_der(&sk.to_pkcs8_der()).unwrap();
    assert_eq!(again.public_key(), sk.public_key());
    let again = PrivateKey::from_jwk(&sk.to_jwk()).unwrap();
    assert_eq!(again.public_key(), sk.public_key());
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, body)) = data.split_first() else { return };
    let text = std::str::from_utf8(body).ok();
    match which % 8 {
        0 => {
            if let Some(pk) = typed(PublicKey::from_sec1(body)) {
                public_round_trip(&pk);
            }
            let _ = typed(hpke::parse_enc(body));
        }
        1 => {
            if let Some(pk) = typed(PublicKey::from_spki_der(body)) {
                public_round_trip(&pk);
            }
        }
        2 => {
            if let Some(sk) = typed(PrivateKey::from_pkcs8_der(body)) {
                private_round_trip(&sk);
            }
        }
        3 => {
            if let Some(pk) = text.and_then(|t| typed(PublicKey::from_spki_pem(t))) {
                public_round_trip(&pk);
            }
        }
        4 => {
            if let Some(sk) = text.and_then(|t| typed(PrivateKey::from_pkcs8_pem(t))) {
                private_round_trip(&sk);
            }
        }
        5 | 6 => {
            let Some(t) = text else { return };
            let _ = typed(audit::trusted_key(t));
            if let Some(jwk) = typed(Jwk::from_json(t)) {
                if let Some(pk) = typed(PublicKey::from_jwk(&jwk)) {
                    public_round_trip(&pk);
                }
                if let Some(sk) = typed(PrivateKey::from_jwk(&jwk)) {
                    private_round_trip(&sk);
                }
            }
        }
        _ => {
            if let Some(sk) = typed(PrivateKey::from_scalar_bytes(body)) {
                assert_eq!(&sk.to_scalar_bytes()[..], body);
                private_round_trip(&sk);
            }
            let _ = typed(SigningKey::from_scalar_bytes(body));
        }
    }
});
