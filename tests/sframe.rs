//! SFrame (RFC 9605): the upstream vectors through the conformance runner,
//! round trips, negative cases, the sender's counter, the receiver's replay
//! window and epochs, and interop with the independent `sframe` crate.
// Some tests use the test-only `dangerous_*` constructors (feature `hazmat`).
// A native suite (`cargo test`); in wasm32 this file compiles to nothing, so
// `wasm-pack test` builds every test target and runs tests/web.rs.
#![cfg(not(target_arch = "wasm32"))]
#![cfg_attr(not(feature = "hazmat"), allow(unused))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use phiseal::ErrorCode;
use phiseal::conformance;
use phiseal::media::sframe::{
    CipherSuite, MAX_SENDER_ID, PREVIOUS_EPOCH_OVERLAP, REPLAY_WINDOW, REPLAYED_FRAME, ReplayWindow, STALE_FRAME,
    SframeHeader, SframeKey, SframeReceiver, SframeSender, UNKNOWN_KID, kid_for, split_kid,
};

const BASE_KEY: [u8; 16] = *b"phiseal sframe!!";
const OTHER_KEY: [u8; 16] = *b"another base key";
const META: &[u8] = b"rtp header bytes";

fn vector_text(name: &str) -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/vectors/sframe/");
    std::fs::read_to_string(format!("{path}{name}")).unwrap_or_else(|e| panic!("cannot read {name}: {e}"))
}

fn code<T: std::fmt::Debug>(r: phiseal::Result<T>) -> ErrorCode {
    r.expect_err("expected an error").code()
}

// ---------------------------------------------------------------------------
// Upstream vectors
// ---------------------------------------------------------------------------

#[test]
fn rfc9605_vectors_all_pass() {
    let report = conformance::run_file(&vector_text("test-vectors.json"));
    assert_eq!(report.failed, 0, "{:?}", report.failures);
    // 289 headers + 3 AES-CTR-HMAC + 5 SFrame entries.
    assert_eq!((report.passed, report.skipped), (297, 0), "{:?}", report.skip_reasons);
}

#[test]
fn draft_aes256_ctr_hmac_vectors_are_recognised_and_skipped() {
    let report = conformance::run_file(&vector_text("test-vectors-aes256-ctr-hmac-draft.json"));
    assert_eq!((report.passed, report.failed, report.skipped), (0, 0, 3), "{:?}", report.failures);
    assert_eq!(report.skip_reasons.len(), 1);
}

/// The runner must fail when any checked value changes.
#[test]
fn meta_changed_vector_values_fail() {
    let text = vector_text("test-vectors.json");
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    for (section, index, field) in [
        ("header", 200, "encoded"),
        ("aes_ctr_hmac", 1, "ct"),
        ("sframe", 0, "sframe_secret"),
        ("sframe", 1, "sframe_salt"),
        ("sframe", 2, "nonce"),
        ("sframe", 3, "aad"),
        ("sframe", 4, "ct"),
        ("sframe", 4, "sframe_key_label"),
    ] {
        let mut doc = doc.clone();
        let value = doc[section][index][field].as_str().unwrap().to_owned();
        let flipped = if value.ends_with('0') { "1" } else { "0" };
        doc[section][index][field] = format!("{}{flipped}", &value[..value.len() - 1]).into();
        let report = conformance::run_file(&doc.to_string());
        assert_eq!(report.failed, 1, "{section}[{index}].{field} change not detected");
        assert!(report.failures[0].contains(section), "{:?}", report.failures);
    }
    let mut doc = doc;
    doc["header"][5]["kid"] = 12345.into();
    assert_eq!(conformance::run_file(&doc.to_string()).failed, 1);
}

// ---------------------------------------------------------------------------
// Suites, keys, round trips
// ---------------------------------------------------------------------------

#[test]
fn suite_ids_and_parameters() {
    for (i, suite) in CipherSuite::ALL.into_iter().enumerate() {
        assert_eq!(usize::from(suite.id()), i + 1);
        assert_eq!(CipherSuite::from_id(suite.id()).unwrap(), suite);
        assert_eq!(suite.nonce_len(), 12);
    }
    let tags: Vec<usize> = CipherSuite::ALL.iter().map(|s| s.tag_len()).collect();
    assert_eq!(tags, [10, 8, 4, 16, 16]);
    let keys: Vec<usize> = CipherSuite::ALL.iter().map(|s| s.key_len()).collect();
    assert_eq!(keys, [48, 48, 48, 16, 32]);
    for id in [0, 6, 7, 8, 0xffff] {
        assert_eq!(code(CipherSuite::from_id(id)), ErrorCode::Unsupported);
    }
    assert_eq!(CipherSuite::Aes256GcmSha512_128.to_string(), "AES_256_GCM_SHA512_128");
}

#[test]
fn short_base_key_is_rejected() {
    assert_eq!(code(SframeKey::new(CipherSuite::Aes128GcmSha256_128, 1, &[0; 15])), ErrorCode::InvalidKey);
    assert_eq!(code(SframeSender::new(CipherSuite::Aes128GcmSha256_128, 1, &[])), ErrorCode::InvalidKey);
}

#[test]
fn debug_prints_no_secrets() {
    let key = SframeKey::new(CipherSuite::Aes128GcmSha256_128, 42, &BASE_KEY).unwrap();
    assert_eq!(format!("{key:?}"), "SframeKey { suite: Aes128GcmSha256_128, kid: 42, .. }");
    let sender = SframeSender::for_member(CipherSuite::Aes128GcmSha256_128, 1, 0, &BASE_KEY).unwrap();
    let debug = format!("{sender:?}");
    assert!(debug.contains("next_ctr: Some(0)") && debug.ends_with(".. }"), "{debug}");
    let mut receiver = SframeReceiver::new(CipherSuite::Aes128GcmSha256_128);
    receiver.set_sender_key(1, 0, &BASE_KEY).unwrap();
    let frame = SframeSender::for_member(CipherSuite::Aes128GcmSha256_128, 1, 0, &BASE_KEY)
        .unwrap()
        .encrypt(b"", b"PATIENT NAME")
        .unwrap();
    let received = receiver.decrypt(b"", &frame).unwrap();
    assert!(!format!("{received:?}").contains("80, 65, 84"), "plaintext printed");
}

#[test]
fn round_trip_every_suite() {
    for suite in CipherSuite::ALL {
        for kid in [0, 7, 8, 300, u64::MAX] {
            let mut sender = SframeSender::new(suite, kid, &BASE_KEY).unwrap();
            let key = SframeKey::new(suite, kid, &BASE_KEY).unwrap();
            for (ctr, len) in [0usize, 1, 15, 16, 17, 1000, 70_000].into_iter().enumerate() {
                let pt: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
                let metadata: &[u8] = if ctr % 2 == 0 { META } else { b"" };
                let frame = sender.encrypt(metadata, &pt).unwrap();
                let header = SframeHeader::new(kid, ctr as u64);
                assert_eq!(frame.len(), header.encoded_len() + len + suite.tag_len());
                assert_eq!(frame[..header.encoded_len()], header.encode());
                let (got, plaintext) = key.decrypt(metadata, &frame).unwrap();
                assert_eq!((got, plaintext), (header, pt), "{suite} kid {kid}");
            }
        }
    }
}

#[test]
fn same_plaintext_differs_per_counter() {
    for suite in CipherSuite::ALL {
        let mut sender = SframeSender::new(suite, 1, &BASE_KEY).unwrap();
        let a = sender.encrypt(META, b"same frame").unwrap();
        let b = sender.encrypt(META, b"same frame").unwrap();
        assert_ne!(a[1..], b[1..], "{suite}");
    }
}

#[test]
fn tampering_any_byte_fails() {
    for suite in CipherSuite::ALL {
        let mut sender = SframeSender::new(suite, 300, &BASE_KEY).unwrap();
        let key = SframeKey::new(suite, 300, &BASE_KEY).unwrap();
        let frame = sender.encrypt(META, b"an encoded video frame").unwrap();
        let header_len = SframeHeader::new(300, 0).encoded_len();
        for i in 0..frame.len() {
            for bit in [0x01, 0x80] {
                let mut bad = frame.clone();
                bad[i] ^= bit;
                let err = key.decrypt(META, &bad).expect_err("tampered frame accepted");
                if i < header_len {
                    assert!(
                        matches!(err.code(), ErrorCode::DecryptFailed | ErrorCode::MalformedInput),
                        "{suite} byte {i}: {err}"
                    );
                } else {
                    assert_eq!(err, phiseal::Error::DECRYPT_FAILED, "{suite} byte {i}");
                }
            }
        }
        assert!(key.decrypt(META, &frame).is_ok());
    }
}

#[test]
fn wrong_key_or_metadata_fails() {
    for suite in CipherSuite::ALL {
        let frame = SframeSender::new(suite, 5, &BASE_KEY).unwrap().encrypt(META, b"frame").unwrap();
        let wrong = SframeKey::new(suite, 5, &OTHER_KEY).unwrap();
        assert_eq!(wrong.decrypt(META, &frame).unwrap_err(), phiseal::Error::DECRYPT_FAILED);
        let other_kid = SframeKey::new(suite, 6, &BASE_KEY).unwrap();
        assert_eq!(other_kid.decrypt(META, &frame).unwrap_err(), phiseal::Error::DECRYPT_FAILED);
        let right = SframeKey::new(suite, 5, &BASE_KEY).unwrap();
        for metadata in [&b""[..], b"rtp header byteS", b"rtp header bytes ", b"rtp header byte"] {
            assert_eq!(right.decrypt(metadata, &frame).unwrap_err(), phiseal::Error::DECRYPT_FAILED);
        }
        assert!(right.decrypt(META, &frame).is_ok());
    }
    // A key of another suite with the same KID and base key.
    let frame =
        SframeSender::new(CipherSuite::Aes128CtrHmacSha256_80, 5, &BASE_KEY).unwrap().encrypt(b"", b"x").unwrap();
    let key = SframeKey::new(CipherSuite::Aes128CtrHmacSha256_64, 5, &BASE_KEY).unwrap();
    assert_eq!(key.decrypt(b"", &frame).unwrap_err(), phiseal::Error::DECRYPT_FAILED);
}

#[test]
fn truncated_frames_fail() {
    for suite in CipherSuite::ALL {
        let kid = 0x1234;
        let frame = SframeSender::new(suite, kid, &BASE_KEY).unwrap().encrypt(META, b"frame data").unwrap();
        let key = SframeKey::new(suite, kid, &BASE_KEY).unwrap();
        let header_len = SframeHeader::new(kid, 0).encoded_len();
        for n in 0..frame.len() {
            let expected = if n < header_len { ErrorCode::MalformedInput } else { ErrorCode::DecryptFailed };
            assert_eq!(code(key.decrypt(META, &frame[..n])), expected, "{suite} prefix {n}");
        }
        // Appending bytes fails too.
        let mut longer = frame.clone();
        longer.push(0);
        assert_eq!(code(key.decrypt(META, &longer)), ErrorCode::DecryptFailed);
    }
}

#[test]
fn empty_plaintext_is_just_header_and_tag() {
    for suite in CipherSuite::ALL {
        let frame = SframeSender::new(suite, 1, &BASE_KEY).unwrap().encrypt(b"", b"").unwrap();
        assert_eq!(frame.len(), 1 + suite.tag_len());
        let (_, pt) = SframeKey::new(suite, 1, &BASE_KEY).unwrap().decrypt(b"", &frame).unwrap();
        assert!(pt.is_empty());
    }
}

// ---------------------------------------------------------------------------
// Header (RFC 9605 §4.3)
// ---------------------------------------------------------------------------

const EDGE_VALUES: [u64; 6] = [0, 7, 8, 255, 256, u64::MAX];

fn expected_field_len(v: u64) -> usize {
    match v {
        0..=7 => 0,
        8..=255 => 1,
        256..=65535 => 2,
        _ => 8,
    }
}

#[test]
fn header_edge_values_round_trip() {
    for kid in EDGE_VALUES {
        for ctr in EDGE_VALUES {
            let header = SframeHeader::new(kid, ctr);
            let bytes = header.encode();
            assert_eq!(bytes.len(), 1 + expected_field_len(kid) + expected_field_len(ctr), "{kid} {ctr}");
            assert_eq!(bytes.len(), header.encoded_len());
            assert_eq!(SframeHeader::decode(&bytes).unwrap(), header);
            assert_eq!(SframeHeader::try_from(bytes.as_slice()).unwrap(), header);
            let mut with_body = bytes.clone();
            with_body.extend_from_slice(b"body");
            let (read, rest) = SframeHeader::read(&with_body).unwrap();
            assert_eq!((read, rest), (header, &b"body"[..]));
            assert_eq!(code(SframeHeader::decode(&with_body)), ErrorCode::MalformedInput);
            for n in 0..bytes.len() {
                assert_eq!(code(SframeHeader::read(&bytes[..n])), ErrorCode::MalformedInput);
            }
        }
    }
}

#[test]
fn header_exact_encodings() {
    assert_eq!(SframeHeader::new(0, 0).encode(), [0x00]);
    assert_eq!(SframeHeader::new(7, 7).encode(), [0x77]);
    assert_eq!(SframeHeader::new(8, 0).encode(), [0x80, 0x08]);
    assert_eq!(SframeHeader::new(0, 8).encode(), [0x08, 0x08]);
    assert_eq!(SframeHeader::new(255, 256).encode(), [0x89, 0xff, 0x01, 0x00]);
    let mut max = vec![0xff];
    max.extend([0xff; 16]);
    assert_eq!(SframeHeader::new(u64::MAX, u64::MAX).encode(), max);
}

#[test]
fn header_rejects_non_minimal_and_truncated() {
    for bad in [
        &[][..],
        &[0x80],                   // KID length 1, missing
        &[0x80, 0x05],             // KID 5 in the extended form
        &[0x90, 0x00, 0x08],       // KID 8 with a leading zero byte
        &[0x08, 0x07],             // CTR 7 in the extended form
        &[0x09, 0x00, 0xff],       // CTR 255 in two bytes
        &[0xf0, 1, 2, 3, 4, 5, 6], // KID length 8, 6 bytes present
        &[0x8f, 0x09, 1, 2, 3],    // CTR length 8, 3 bytes present
    ] {
        assert_eq!(code(SframeHeader::read(bad)), ErrorCode::MalformedInput, "{bad:02x?}");
    }
}

#[cfg(feature = "hazmat")]
#[test]
fn frames_at_extreme_kid_and_counter() {
    for suite in CipherSuite::ALL {
        for kid in EDGE_VALUES {
            for start in [0, 7, 8, 255, 256, u64::MAX] {
                let mut sender = SframeSender::dangerous_starting_at(suite, kid, &BASE_KEY, start).unwrap();
                let frame = sender.encrypt(META, b"edge").unwrap();
                let (header, pt) = SframeKey::new(suite, kid, &BASE_KEY).unwrap().decrypt(META, &frame).unwrap();
                assert_eq!((header.kid(), header.ctr(), pt.as_slice()), (kid, start, &b"edge"[..]));
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Sender counter
// ---------------------------------------------------------------------------

#[cfg(feature = "hazmat")]
#[test]
fn sender_counter_exhaustion_is_misuse() {
    let suite = CipherSuite::Aes128GcmSha256_128;
    let mut sender = SframeSender::dangerous_starting_at(suite, 3, &BASE_KEY, u64::MAX - 1).unwrap();
    let a = sender.encrypt(b"", b"a").unwrap();
    assert_eq!(sender.next_counter(), Some(u64::MAX));
    let b = sender.encrypt(b"", b"b").unwrap();
    assert_eq!(sender.next_counter(), None);
    let err = sender.encrypt(b"", b"c").unwrap_err();
    assert_eq!(err.code(), ErrorCode::Misuse);
    assert_eq!(code(sender.encrypt(b"", b"c")), ErrorCode::Misuse, "stays exhausted");
    let key = SframeKey::new(suite, 3, &BASE_KEY).unwrap();
    assert_eq!(key.decrypt(b"", &a).unwrap().0.ctr(), u64::MAX - 1);
    assert_eq!(key.decrypt(b"", &b).unwrap().0.ctr(), u64::MAX);
    // A raw-KID sender can neither ratchet nor rekey out of it.
    assert_eq!(code(sender.ratchet()), ErrorCode::Misuse);
    assert_eq!(code(sender.rekey(1, &OTHER_KEY)), ErrorCode::Misuse);
}

#[test]
fn sender_counts_from_zero() {
    let mut sender = SframeSender::new(CipherSuite::Aes128CtrHmacSha256_32, 0, &BASE_KEY).unwrap();
    let key = SframeKey::new(CipherSuite::Aes128CtrHmacSha256_32, 0, &BASE_KEY).unwrap();
    for expected in 0..20 {
        let frame = sender.encrypt(b"", b"audio").unwrap();
        assert_eq!(key.decrypt(b"", &frame).unwrap().0.ctr(), expected);
    }
}

// ---------------------------------------------------------------------------
// KID layout, receiver, replay window, epochs
// ---------------------------------------------------------------------------

#[test]
fn kid_layout() {
    assert_eq!(kid_for(0, 0).unwrap(), 0);
    assert_eq!(kid_for(1, 0).unwrap(), 256);
    assert_eq!(kid_for(5, 3).unwrap(), 0x0503);
    assert_eq!(kid_for(5, 0x1_03).unwrap(), 0x0503);
    assert_eq!(kid_for(MAX_SENDER_ID, 255).unwrap(), u64::MAX);
    assert_eq!(code(kid_for(MAX_SENDER_ID + 1, 0)), ErrorCode::InvalidArgument);
    assert_eq!(split_kid(u64::MAX), (MAX_SENDER_ID, 255));
    assert_eq!(split_kid(0x0503), (5, 3));
    let sender = SframeSender::for_member(CipherSuite::Aes128GcmSha256_128, 5, 3, &BASE_KEY).unwrap();
    assert_eq!(sender.kid(), 0x0503);
    assert_eq!(sender.epoch(), Some(3));
}

fn member_pair(suite: CipherSuite, sender_id: u64) -> (SframeSender, SframeReceiver) {
    let sender = SframeSender::for_member(suite, sender_id, 0, &BASE_KEY).unwrap();
    let mut receiver = SframeReceiver::new(suite);
    receiver.set_sender_key(sender_id, 0, &BASE_KEY).unwrap();
    (sender, receiver)
}

#[cfg(feature = "hazmat")]
#[test]
fn receiver_decrypts_many_senders() {
    for suite in CipherSuite::ALL {
        let mut receiver = SframeReceiver::new(suite);
        let mut senders: Vec<SframeSender> = (0..4)
            .map(|id| {
                let base = [id as u8 + 1; 16];
                receiver.set_sender_key(id, 0, &base).unwrap();
                SframeSender::for_member(suite, id, 0, &base).unwrap()
            })
            .collect();
        for round in 0..3u64 {
            for (id, sender) in senders.iter_mut().enumerate() {
                let frame = sender.encrypt(META, format!("{id}/{round}").as_bytes()).unwrap();
                let got = receiver.decrypt(META, &frame).unwrap();
                assert_eq!((got.sender_id, got.epoch, got.ctr), (id as u64, 0, round));
                assert_eq!(got.plaintext, format!("{id}/{round}").as_bytes());
            }
        }
        // Unknown sender.
        let mut stranger = SframeSender::for_member(suite, 99, 0, &BASE_KEY).unwrap();
        let err = receiver.decrypt(META, &stranger.encrypt(META, b"x").unwrap()).unwrap_err();
        assert_eq!(err, UNKNOWN_KID);
        assert_eq!(err.code(), ErrorCode::NotRecipient);
        // Known sender id, wrong key: authentication fails.
        // (Counter 3 is new for sender 2; counters 0-2 would be replays, rejected
        // before the tag is even checked.)
        let mut impostor = SframeSender::dangerous_starting_at(suite, kid_for(2, 0).unwrap(), &OTHER_KEY, 3).unwrap();
        let forged = impostor.encrypt(META, b"x").unwrap();
        assert_eq!(receiver.decrypt(META, &forged).unwrap_err(), phiseal::Error::DECRYPT_FAILED);
        // Malformed header.
        assert_eq!(code(receiver.decrypt(META, &[0x80])), ErrorCode::MalformedInput);
        assert!(receiver.remove_sender(2));
        assert!(!receiver.remove_sender(2));
    }
}

#[test]
fn replay_window_duplicates_reorder_and_stale() {
    let (mut sender, mut receiver) = member_pair(CipherSuite::Aes128GcmSha256_128, 7);
    let frames: Vec<Vec<u8>> = (0..300).map(|i| sender.encrypt(META, &[i as u8]).unwrap()).collect();

    // In order, then duplicates.
    receiver.decrypt(META, &frames[0]).unwrap();
    assert_eq!(receiver.decrypt(META, &frames[0]).unwrap_err(), REPLAYED_FRAME);
    // Reordered inside the window: accepted once each.
    receiver.decrypt(META, &frames[100]).unwrap();
    for i in (1..100).rev() {
        assert_eq!(receiver.decrypt(META, &frames[i]).unwrap().ctr, i as u64);
        assert_eq!(receiver.decrypt(META, &frames[i]).unwrap_err(), REPLAYED_FRAME);
    }
    // Jump ahead: counters 128 or more behind the highest are stale.
    receiver.decrypt(META, &frames[250]).unwrap();
    assert_eq!(receiver.decrypt(META, &frames[122]).unwrap_err(), STALE_FRAME);
    assert_eq!(receiver.decrypt(META, &frames[0]).unwrap_err(), STALE_FRAME);
    // 123 is exactly 127 behind: still in the window, never seen.
    assert_eq!(receiver.decrypt(META, &frames[123]).unwrap().ctr, 123);
    assert_eq!(receiver.decrypt(META, &frames[123]).unwrap_err(), REPLAYED_FRAME);
    assert_eq!(receiver.decrypt(META, &frames[250]).unwrap_err(), REPLAYED_FRAME);
    assert_eq!(STALE_FRAME.code(), ErrorCode::DecryptFailed);
    assert_ne!(STALE_FRAME, REPLAYED_FRAME);
}

#[cfg(feature = "hazmat")]
#[test]
fn forged_frames_do_not_move_the_window() {
    let (mut sender, mut receiver) = member_pair(CipherSuite::Aes128CtrHmacSha256_80, 1);
    let first = sender.encrypt(META, b"first").unwrap();
    // A forged frame claiming a far-ahead counter under the sender's KID.
    let mut forger = SframeSender::dangerous_starting_at(
        CipherSuite::Aes128CtrHmacSha256_80,
        kid_for(1, 0).unwrap(),
        &OTHER_KEY,
        1_000_000,
    )
    .unwrap();
    let forged = forger.encrypt(META, b"forged").unwrap();
    assert_eq!(receiver.decrypt(META, &forged).unwrap_err(), phiseal::Error::DECRYPT_FAILED);
    // The genuine frame 0 is still inside the window.
    assert_eq!(receiver.decrypt(META, &first).unwrap().plaintext, b"first");
    // A failed (tampered) copy of a genuine frame does not mark it as seen.
    let second = sender.encrypt(META, b"second").unwrap();
    let mut bad = second.clone();
    *bad.last_mut().unwrap() ^= 1;
    assert_eq!(receiver.decrypt(META, &bad).unwrap_err(), phiseal::Error::DECRYPT_FAILED);
    assert_eq!(receiver.decrypt(META, &second).unwrap().plaintext, b"second");
}

#[test]
fn replay_window_unit() {
    let mut w = ReplayWindow::new();
    assert_eq!(w.highest(), None);
    w.accept(u64::MAX - 1).unwrap();
    w.accept(u64::MAX).unwrap();
    assert_eq!(w.accept(u64::MAX).unwrap_err(), REPLAYED_FRAME);
    assert_eq!(w.check(u64::MAX - REPLAY_WINDOW).unwrap_err(), STALE_FRAME);
    w.check(u64::MAX - (REPLAY_WINDOW - 1)).unwrap();
    let mut w = ReplayWindow::new();
    for ctr in (0..REPLAY_WINDOW).rev().chain(REPLAY_WINDOW..3 * REPLAY_WINDOW) {
        w.accept(ctr).unwrap();
    }
    for ctr in 2 * REPLAY_WINDOW..3 * REPLAY_WINDOW {
        assert_eq!(w.check(ctr).unwrap_err(), REPLAYED_FRAME, "{ctr}");
    }
    assert_eq!(w.check(2 * REPLAY_WINDOW - 1).unwrap_err(), STALE_FRAME);
    w.check(3 * REPLAY_WINDOW).unwrap();
    // Jumping more than a window clears the bitmap.
    w.accept(10 * REPLAY_WINDOW).unwrap();
    w.accept(10 * REPLAY_WINDOW - 1).unwrap();
    w.accept(9 * REPLAY_WINDOW + 1).unwrap();
    assert_eq!(w.check(9 * REPLAY_WINDOW).unwrap_err(), STALE_FRAME);
}

/// RFC 9605 §5.1, computed independently with the `hkdf` crate.
fn rfc9605_ratchet(base_key: &[u8]) -> Vec<u8> {
    let hk = hkdf::Hkdf::<sha2::Sha256>::new(Some(&[]), base_key);
    let mut next = vec![0u8; 32];
    hk.expand(b"SFrame 1.0 Ratchet", &mut next).unwrap();
    next
}

#[test]
fn ratchet_follows_rfc9605_and_overlaps_the_previous_epoch() {
    let suite = CipherSuite::Aes128GcmSha256_128;
    let (mut sender, mut receiver) = member_pair(suite, 4);
    let old: Vec<Vec<u8>> = (0..3).map(|i| sender.encrypt(META, &[i]).unwrap()).collect();
    receiver.decrypt(META, &old[0]).unwrap();

    assert_eq!(sender.ratchet().unwrap(), 1);
    assert_eq!(receiver.ratchet(4).unwrap(), 1);
    assert_eq!(receiver.epochs(4), Some((1, Some(0))));
    assert_eq!(sender.kid(), kid_for(4, 1).unwrap());
    assert_eq!(sender.next_counter(), Some(0));

    let first_new = sender.encrypt(META, b"new").unwrap();
    // Independent check of the ratcheted key.
    let expected = SframeKey::new(suite, kid_for(4, 1).unwrap(), &rfc9605_ratchet(&BASE_KEY)).unwrap();
    assert_eq!(expected.decrypt(META, &first_new).unwrap().1, b"new");

    let got = receiver.decrypt(META, &first_new).unwrap();
    assert_eq!((got.epoch, got.ctr), (1, 0));
    // Late frames of epoch 0 are still accepted (once), during the overlap.
    assert_eq!(receiver.decrypt(META, &old[2]).unwrap().epoch, 0);
    assert_eq!(receiver.decrypt(META, &old[2]).unwrap_err(), REPLAYED_FRAME);
    // After PREVIOUS_EPOCH_OVERLAP frames of epoch 1, epoch 0 is gone.
    for _ in 1..PREVIOUS_EPOCH_OVERLAP {
        let frame = sender.encrypt(META, b"new").unwrap();
        receiver.decrypt(META, &frame).unwrap();
    }
    assert_eq!(receiver.epochs(4), Some((1, None)));
    assert_eq!(receiver.decrypt(META, &old[1]).unwrap_err(), UNKNOWN_KID);
}

#[test]
fn previous_epoch_overlap_counts_only_new_epoch_frames() {
    let suite = CipherSuite::Aes256GcmSha512_128;
    let (mut sender, mut receiver) = member_pair(suite, 2);
    let old: Vec<Vec<u8>> = (0..200).map(|i| sender.encrypt(b"", &[i as u8]).unwrap()).collect();
    sender.ratchet().unwrap();
    receiver.ratchet(2).unwrap();
    // The sender has not switched yet on the wire: old frames keep arriving.
    for frame in &old[..150] {
        assert_eq!(receiver.decrypt(b"", frame).unwrap().epoch, 0);
    }
    for _ in 0..PREVIOUS_EPOCH_OVERLAP - 1 {
        receiver.decrypt(b"", &sender.encrypt(b"", b"n").unwrap()).unwrap();
    }
    assert_eq!(receiver.decrypt(b"", &old[150]).unwrap().epoch, 0);
    receiver.decrypt(b"", &sender.encrypt(b"", b"n").unwrap()).unwrap();
    assert_eq!(receiver.decrypt(b"", &old[151]).unwrap_err(), UNKNOWN_KID);
}

#[test]
fn rekey_epochs_must_increase_and_only_one_previous_is_kept() {
    let suite = CipherSuite::Aes128CtrHmacSha256_64;
    let (mut sender, mut receiver) = member_pair(suite, 9);
    let e0 = sender.encrypt(b"", b"e0").unwrap();
    assert_eq!(code(receiver.set_sender_key(9, 0, &OTHER_KEY)), ErrorCode::InvalidArgument);
    assert_eq!(code(sender.rekey(0, &OTHER_KEY)), ErrorCode::InvalidArgument);

    sender.rekey(5, &OTHER_KEY).unwrap();
    receiver.set_sender_key(9, 5, &OTHER_KEY).unwrap();
    let e5 = sender.encrypt(b"", b"e5").unwrap();
    assert_eq!(receiver.decrypt(b"", &e5).unwrap().epoch, 5);
    assert_eq!(receiver.decrypt(b"", &e0).unwrap().epoch, 0);

    sender.ratchet().unwrap();
    receiver.ratchet(9).unwrap();
    assert_eq!(receiver.epochs(9), Some((6, Some(5))));
    let e0_late = SframeSender::for_member(suite, 9, 0, &BASE_KEY).unwrap().encrypt(b"", b"x").unwrap();
    assert_eq!(receiver.decrypt(b"", &e0_late).unwrap_err(), UNKNOWN_KID, "epoch 0 dropped after two epochs");
    let e6 = sender.encrypt(b"", b"e6").unwrap();
    assert_eq!(receiver.decrypt(b"", &e6).unwrap().epoch, 6);

    // Epochs 256 apart share a KID: the previous one is dropped at once.
    sender.rekey(6 + 256, b"epoch 262 base key").unwrap();
    receiver.set_sender_key(9, 6 + 256, b"epoch 262 base key").unwrap();
    assert_eq!(receiver.epochs(9), Some((262, None)));
    assert_eq!(receiver.decrypt(b"", &sender.encrypt(b"", b"z").unwrap()).unwrap().epoch, 262);

    receiver.retire_previous_epoch(9);
    assert_eq!(code(receiver.ratchet(1234)), ErrorCode::NotRecipient);
}

// ---------------------------------------------------------------------------
// Interop with the independent `sframe` crate (RustCrypto backend)
// ---------------------------------------------------------------------------

#[cfg(not(target_arch = "wasm32"))]
mod interop {
    use super::{BASE_KEY, CipherSuite, META, SframeKey, SframeSender};
    use sframe::CipherSuite as Theirs;
    use sframe::frame::{EncryptedFrame, MediaFrame, MonotonicCounter};
    use sframe::key::{DecryptionKey, EncryptionKey};

    fn theirs(suite: CipherSuite) -> Theirs {
        match suite {
            CipherSuite::Aes128CtrHmacSha256_80 => Theirs::AesCtr128HmacSha256_80,
            CipherSuite::Aes128CtrHmacSha256_64 => Theirs::AesCtr128HmacSha256_64,
            CipherSuite::Aes128CtrHmacSha256_32 => Theirs::AesCtr128HmacSha256_32,
            CipherSuite::Aes128GcmSha256_128 => Theirs::AesGcm128Sha256,
            CipherSuite::Aes256GcmSha512_128 => Theirs::AesGcm256Sha512,
            _ => panic!("suite without an sframe-crate equivalent"),
        }
    }

    const KIDS: [u64; 5] = [0, 7, 8, 0x0503, u64::MAX];
    // Four frames each: the last start ends exactly at counter 2^64 - 1.
    const STARTS: [u64; 4] = [0, 8, 65_536, u64::MAX - 3];

    #[cfg(feature = "hazmat")]
    #[test]
    fn phiseal_frames_decrypt_with_the_sframe_crate() {
        for suite in CipherSuite::ALL {
            for kid in KIDS {
                let dec = DecryptionKey::derive_from(theirs(suite), kid, BASE_KEY).unwrap();
                for start in STARTS {
                    let mut sender = SframeSender::dangerous_starting_at(suite, kid, &BASE_KEY, start).unwrap();
                    for (i, len) in [0usize, 1, 33, 5000].into_iter().enumerate() {
                        let pt: Vec<u8> = (0..len).map(|b| (b % 251) as u8).collect();
                        let frame = sender.encrypt(META, &pt).unwrap();
                        let encrypted = EncryptedFrame::try_with_meta_data(&frame, META).unwrap();
                        assert_eq!(encrypted.header().key_id(), kid);
                        assert_eq!(encrypted.header().counter(), start + i as u64);
                        let media = encrypted.decrypt(&dec).unwrap_or_else(|e| panic!("{suite} kid {kid}: {e}"));
                        assert_eq!(media.payload(), pt.as_slice());
                        assert_eq!(media.meta_data(), META);
                    }
                }
            }
        }
    }

    #[cfg(feature = "hazmat")]
    #[test]
    fn sframe_crate_frames_decrypt_with_phiseal() {
        for suite in CipherSuite::ALL {
            for kid in KIDS {
                let enc = EncryptionKey::derive_from(theirs(suite), kid, BASE_KEY).unwrap();
                let key = SframeKey::new(suite, kid, &BASE_KEY).unwrap();
                for start in STARTS {
                    let mut counter = MonotonicCounter::with_start_value(start, u64::MAX);
                    for len in [0usize, 1, 33, 5000] {
                        let pt: Vec<u8> = (0..len).map(|b| (b % 253) as u8).collect();
                        let media = MediaFrame::try_with_meta_data(&mut counter, &pt, META).unwrap();
                        let encrypted = media.encrypt(&enc).unwrap();
                        let frame = encrypted.sframe_cipher_text();
                        let (header, plaintext) =
                            key.decrypt(META, frame).unwrap_or_else(|e| panic!("{suite} kid {kid}: {e}"));
                        assert_eq!((header.kid(), header.ctr()), (kid, media.counter()));
                        assert_eq!(plaintext, pt);
                        // And the bytes are the same as phiseal would produce at that counter.
                        let mut ours =
                            SframeSender::dangerous_starting_at(suite, kid, &BASE_KEY, media.counter()).unwrap();
                        assert_eq!(ours.encrypt(META, &pt).unwrap(), frame);
                    }
                }
            }
        }
    }
}

/// The split API (header, nonce and AAD from Rust, AES-GCM elsewhere, as in
/// the WebCrypto path) produces and accepts exactly the frames of the
/// one-piece API.
#[test]
fn split_gcm_path_matches_the_one_piece_path() {
    use phiseal::aead::AesGcm;
    use phiseal::media::sframe::{SframeReceiver, SframeSender};
    for (suite, aes) in
        [(CipherSuite::Aes128GcmSha256_128, AesGcm::Aes128), (CipherSuite::Aes256GcmSha512_128, AesGcm::Aes256)]
    {
        let base = [7u8; 32];
        let mut one = SframeSender::for_member(suite, 3, 1, &base).unwrap();
        let mut split = SframeSender::for_member(suite, 3, 1, &base).unwrap();
        let key = split.aead_key().unwrap();
        let mut receiver = SframeReceiver::new(suite);
        receiver.set_sender_key(3, 1, &base).unwrap();
        for i in 0..5u8 {
            let pt = vec![i; 100 + usize::from(i)];
            let whole = one.encrypt(b"meta", &pt).unwrap();
            let p = split.prepare(b"meta").unwrap();
            let mut frame = p.header.clone();
            frame.extend_from_slice(&aes.seal(&key, &p.nonce, &p.aad, &pt).unwrap());
            assert_eq!(frame, whole, "suite {suite:?} frame {i}");
            let pending = receiver.begin(b"meta", &frame).unwrap();
            let body = &frame[pending.header_len..];
            assert_eq!(aes.open(&pending.key, &pending.nonce, &pending.aad, body).unwrap(), pt);
            receiver.complete(&pending).unwrap();
            assert!(receiver.begin(b"meta", &frame).is_err(), "replay after complete");
            assert_eq!(receiver.complete(&pending).unwrap_err().code(), phiseal::ErrorCode::DecryptFailed);
        }
        let p = split.prepare(b"meta").unwrap();
        let mut frame = p.header.clone();
        frame.extend_from_slice(&aes.seal(&key, &p.nonce, &p.aad, b"x").unwrap());
        let pending = receiver.begin(b"other meta", &frame).unwrap();
        assert!(aes.open(&pending.key, &pending.nonce, &pending.aad, &frame[pending.header_len..]).is_err());
    }
    let mut ctr = SframeSender::for_member(CipherSuite::Aes128CtrHmacSha256_80, 1, 0, &[1u8; 32]).unwrap();
    assert_eq!(ctr.prepare(b"").unwrap_err().code(), phiseal::ErrorCode::Unsupported);
    assert!(ctr.aead_key().is_none());
    let mut r = SframeReceiver::new(CipherSuite::Aes128CtrHmacSha256_80);
    assert_eq!(r.begin(b"", &ctr.encrypt(b"", b"x").unwrap()).unwrap_err().code(), phiseal::ErrorCode::Unsupported);
}

/// A key change between `begin` and `complete` (the WebCrypto decrypt is
/// asynchronous) must not record the counter in the new epoch's window.
#[cfg(feature = "hazmat")]
#[test]
fn complete_after_a_key_change_uses_the_frames_own_epoch() {
    use phiseal::media::sframe::{SframeReceiver, SframeSender};
    let suite = CipherSuite::Aes128GcmSha256_128;
    let old = [1u8; 32];
    let new = [2u8; 32];
    let mut s0 =
        SframeSender::dangerous_starting_at(suite, phiseal::media::sframe::kid_for(5, 0).unwrap(), &old, 10_000)
            .unwrap();
    let mut receiver = SframeReceiver::new(suite);
    receiver.set_sender_key(5, 0, &old).unwrap();
    let late = s0.encrypt(b"", b"in flight").unwrap();
    let pending = receiver.begin(b"", &late).unwrap();
    receiver.set_sender_key(5, 1, &new).unwrap();
    // The frame still completes, in epoch 0's window (now the previous epoch)...
    receiver.complete(&pending).unwrap();
    // ...so epoch 1's low counters are not pushed out of its window,
    let mut s1 = SframeSender::for_member(suite, 5, 1, &new).unwrap();
    let first = s1.encrypt(b"", b"fresh epoch").unwrap();
    assert_eq!(receiver.decrypt(b"", &first).unwrap().plaintext, b"fresh epoch");
    // ...and the in-flight frame cannot be replayed through epoch 0.
    assert!(receiver.decrypt(b"", &late).is_err());
    // A frame whose epoch is gone entirely is refused at completion.
    let mut r2 = SframeReceiver::new(suite);
    r2.set_sender_key(5, 0, &old).unwrap();
    let p2 = r2.begin(b"", &late).unwrap();
    r2.remove_sender(5);
    assert!(r2.complete(&p2).is_err());
}

// ---------------------------------------------------------------------------
// No (KID, key, salt) twice (the epoch-wrap attack)
// ---------------------------------------------------------------------------

/// `rekey(epoch + 256, same_key)` would give the same KID, key and salt with
/// the counter back at 0: the frame it would send is byte for byte the one
/// already sent (nonce reuse), and a receiver that accepted the same key
/// again would take the old frame as new. Both sides refuse the key.
#[test]
fn epoch_wrap_with_the_same_base_key_is_refused() {
    let suite = CipherSuite::Aes128GcmSha256_128;
    let (mut sender, mut receiver) = member_pair(suite, 4);
    let first = sender.encrypt(META, b"frame 0 of epoch 0").unwrap();
    assert_eq!(receiver.decrypt(META, &first).unwrap().epoch, 0);
    // What the attack would produce: KID 4<<8|0 again, counter 0, same key.
    assert_eq!(kid_for(4, 256).unwrap(), kid_for(4, 0).unwrap());
    assert_eq!(code(sender.rekey(256, &BASE_KEY)), ErrorCode::Misuse);
    assert_eq!(code(receiver.set_sender_key(4, 256, &BASE_KEY)), ErrorCode::Misuse);
    // Refused means nothing changed: the sender goes on at epoch 0, counter 1,
    // and the old frame is still a replay.
    assert_eq!((sender.epoch(), sender.next_counter()), (Some(0), Some(1)));
    assert_eq!(receiver.epochs(4), Some((0, None)));
    assert_eq!(code(receiver.decrypt(META, &first)), REPLAYED_FRAME.code());
    // Any earlier key is refused, at any epoch, also after a key in between
    // and after a ratchet; a fresh key is accepted.
    sender.rekey(1, &OTHER_KEY).unwrap();
    receiver.set_sender_key(4, 1, &OTHER_KEY).unwrap();
    assert_eq!(code(sender.rekey(2, &BASE_KEY)), ErrorCode::Misuse);
    assert_eq!(code(receiver.set_sender_key(4, 2, &BASE_KEY)), ErrorCode::Misuse);
    assert_eq!(sender.ratchet().unwrap(), 2);
    assert_eq!(receiver.ratchet(4).unwrap(), 2);
    assert_eq!(code(sender.rekey(257, &OTHER_KEY)), ErrorCode::Misuse);
    sender.rekey(3, b"a third base key").unwrap();
    receiver.set_sender_key(4, 3, b"a third base key").unwrap();
    let frame = sender.encrypt(META, b"epoch 3").unwrap();
    assert_eq!(receiver.decrypt(META, &frame).unwrap().epoch, 3);
    // A receiver remembers a removed sender's keys: its old key cannot return.
    assert!(receiver.remove_sender(4));
    assert_eq!(code(receiver.set_sender_key(4, 300, &BASE_KEY)), ErrorCode::Misuse);
    receiver.set_sender_key(4, 300, b"a fourth base key").unwrap();
    // Another sender id is another history.
    receiver.set_sender_key(5, 0, &BASE_KEY).unwrap();
    // Without the check the attack works: a second sender object (what the
    // check cannot see, and SframeSender's docs forbid) repeats the frame.
    let mut again = SframeSender::for_member(suite, 4, 256, &BASE_KEY).unwrap();
    assert_eq!(again.encrypt(META, b"frame 0 of epoch 0").unwrap(), first);
}
