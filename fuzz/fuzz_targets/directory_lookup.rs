//! The transparent directory's lookups (src/trust/directory.rs): any text
//! is parsed as a lookup's JSON and verified by a client of the fixed
//! directory, with and without a kept checkpoint (the first byte picks);
//! it fails with a typed error or yields the lookup's certificate, and a
//! client keeps only a checkpoint of a lookup it accepted.
#![no_main]

use libfuzzer_sys::fuzz_target;
use phiseal::trust::directory::{Directory, DirectoryClient, Lookup};
use phiseal_fuzz::{signing_key, typed};

pub const ORIGIN: &str = "fuzz.example/keys";

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let Ok(text) = core::str::from_utf8(rest) else { return };
    let Some(lookup) = typed(Lookup::from_json(text)) else { return };
    let kept = if selector & 1 == 1 {
        // The checkpoint of a small honest directory (the seeds' tree before its last entry).
        let mut d = Directory::new(ORIGIN, phiseal::sign::SigningKey::from_scalar_bytes(&[0x22; 48]).unwrap());
        d.publish("dr-lee", "certificate-1").unwrap();
        Some(d.checkpoint(1000).unwrap())
    } else {
        None
    };
    let mut client = DirectoryClient::new(ORIGIN, vec![signing_key().verifying_key()], kept.as_deref()).unwrap();
    let before = client.kept_size();
    match typed(client.verify(&lookup.subject, &lookup)) {
        Some(cert) => {
            assert_eq!(cert, lookup.certificate);
            assert_eq!(client.kept_note(), Some(lookup.checkpoint.as_str()));
        }
        None => assert_eq!(client.kept_size(), before, "a refused lookup keeps nothing"),
    }
});
