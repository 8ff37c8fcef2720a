//! Key certificates (src/trust.rs): the first byte picks what the rest is (a
//! certificate chain split at '\n', or a revocation list); any input fails
//! with a typed error or verifies against the fixed root, and a chain that
//! verifies names a key that parses back from its certificate.
#![no_main]

use libfuzzer_sys::fuzz_target;
use phiseal::trust::{Certificate, Purpose, Revocation, TrustStore};
use phiseal_fuzz::{signing_key, typed};

const NOW: u64 = 1_800_000_000;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let Ok(text) = core::str::from_utf8(rest) else { return };
    let mut store = TrustStore::new(vec![signing_key().verifying_key()], Revocation::NotChecked);
    if selector & 1 == 1 {
        let _ = typed(store.add_revocations(text, NOW));
        return;
    }
    let purpose = [Purpose::Encrypt, Purpose::Sign, Purpose::Media, Purpose::Certify][usize::from(selector >> 1) % 4];
    let chain: Vec<&str> = text.split('\n').collect();
    if let Some(certified) = typed(store.verify(&chain, NOW, purpose, &[])) {
        let leaf = Certificate::parse(chain[0]).expect("a verified leaf parses");
        assert_eq!(leaf.claims.key, certified.claims.key);
        assert!(certified.claims.purposes.contains(&purpose));
    }
});
