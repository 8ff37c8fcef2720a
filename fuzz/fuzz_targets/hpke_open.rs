//! HPKE open (RFC 9180, phiseal's suite): `enc || ciphertext` under the
//! fixed recipient key; a forged message must never open.
#![no_main]

use libfuzzer_sys::fuzz_target;
use phiseal::hpke::{self, ENC_LEN, Suite};
use phiseal_fuzz::{HPKE_INFO, hpke_key, typed};

fuzz_target!(|data: &[u8]| {
    let _ = typed(hpke::parse_enc(data.get(..ENC_LEN.min(data.len())).unwrap_or_default()));
    let (enc, ct) = data.split_at(ENC_LEN.min(data.len()));
    let key = hpke_key();
    let _ = typed(hpke::open(Suite::PHISEAL, enc, key, HPKE_INFO, b"", ct, None, None));
    if let Some(mut ctx) = typed(hpke::setup_recipient(Suite::PHISEAL, enc, key, HPKE_INFO, None, None)) {
        // Several messages of one context: split the rest in two.
        let (a, b) = ct.split_at(ct.len() / 2);
        let _ = typed(ctx.open(b"", a));
        let _ = typed(ctx.open(b"", b));
        let _ = typed(ctx.export(b"fuzz", ct.len() % 600));
    }
});
