//! SFrame (RFC 9605) headers and frames: byte 0 picks the suite (low bits)
//! and a fixed-KID key instead of the keyring (bit 7), byte 1 the metadata
//! length; the rest is metadata then frame.
#![no_main]

use libfuzzer_sys::fuzz_target;
use phiseal::media::sframe::{CipherSuite, SframeHeader, SframeKey, SframeReceiver};
use phiseal_fuzz::{SFRAME_BASE_KEY, typed};

fuzz_target!(|data: &[u8]| {
    let _ = typed(SframeHeader::decode(data));
    if let Some((h, rest)) = typed(SframeHeader::read(data)) {
        assert_eq!(h.encoded_len() + rest.len(), data.len());
        assert_eq!(SframeHeader::decode(&h.encode()).ok(), Some(h));
    }
    let [sel, meta_len, rest @ ..] = data else { return };
    let suite = CipherSuite::ALL[usize::from(sel & 0x7f) % CipherSuite::ALL.len()];
    let (meta, frame) = rest.split_at(usize::from(*meta_len).min(rest.len()));
    if sel & 0x80 != 0 {
        let key = SframeKey::new(suite, 7, &SFRAME_BASE_KEY).unwrap();
        let _ = typed(key.decrypt(meta, frame));
    } else {
        let mut receiver = SframeReceiver::new(suite);
        receiver.set_sender_key(1, 0, &SFRAME_BASE_KEY).unwrap();
        if typed(receiver.decrypt(meta, frame)).is_some() {
            // The same frame twice is a replay.
            assert!(receiver.decrypt(meta, frame).is_err());
        }
        if let Some(pending) = typed(receiver.begin(meta, frame)) {
            let _ = typed(receiver.complete(&pending));
        }
    }
});
