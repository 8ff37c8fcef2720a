//! Encrypted streams (`phst2`): header parsing and segment decryption,
//! pushed in chunks whose size comes from the first two bytes, through the
//! RustCrypto path and the segment-job path.
#![no_main]

use libfuzzer_sys::fuzz_target;
use phiseal::media::stream::{StreamDecryptor, StreamHeader};
use phiseal_fuzz::{authors, hpke_key, typed};

fuzz_target!(|data: &[u8]| {
    let [a, b, wire @ ..] = data else { return };
    let chunk = usize::from(u16::from_be_bytes([*a, *b])).max(1);
    if let Some(Some((header, len))) = typed(StreamHeader::parse(wire)) {
        assert_eq!(header.as_bytes().len(), len);
        assert_eq!(typed(StreamHeader::length(wire)), Some(Some(len)));
    }
    let mut dec = StreamDecryptor::new(hpke_key(), authors());
    let mut ok = true;
    for piece in wire.chunks(chunk) {
        if typed(dec.push(piece)).is_none() {
            ok = false;
            break;
        }
    }
    let finished = typed(dec.finish()).is_some();
    assert!(ok || !finished, "a stream that failed mid-way finished");
    let mut jobs = StreamDecryptor::new(hpke_key(), authors());
    for piece in wire.chunks(chunk) {
        if typed(jobs.push_segments(piece)).is_none() {
            break;
        }
    }
    let _ = typed(jobs.finish_segment());
});
