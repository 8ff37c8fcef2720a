//! RFC 9180 HPKE with DHKEM(P-384): round trips in every suite and mode,
//! multi-message contexts, exports, the sans-IO DH path, and rejection of
//! every tampered or mismatched input with the right [`ErrorCode`].
// A native suite (`cargo test`); in wasm32 this file compiles to nothing, so
// `wasm-pack test` builds every test target and runs tests/web.rs.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use phiseal::ErrorCode;
use phiseal::hpke::{self, AeadId, Mode, Psk, Suite};
use phiseal::kdf::Kdf;
use phiseal::keys::{PrivateKey, PublicKey};

const KDFS: [Kdf; 3] = [Kdf::Sha256, Kdf::Sha384, Kdf::Sha512];
const AEADS: [AeadId; 2] = [AeadId::Aes128Gcm, AeadId::Aes256Gcm];
const MODES: [Mode; 4] = [Mode::Base, Mode::Psk, Mode::Auth, Mode::AuthPsk];
const INFO: &[u8] = b"phiseal test info";
const AAD: &[u8] = b"record 42";
const PSK: &[u8] = b"0123456789abcdef0123456789abcdef";
const PSK_ID: &[u8] = b"psk id 1";

#[track_caller]
fn code<T>(r: phiseal::Result<T>) -> ErrorCode {
    match r {
        Ok(_) => panic!("expected an error, got Ok"),
        Err(e) => e.code(),
    }
}

/// Every AEAD suite: PHISEAL plus every (KDF, AES-GCM) pair.
fn suites() -> Vec<Suite> {
    let mut out = vec![Suite::PHISEAL];
    for kdf in KDFS {
        for aead in AEADS {
            out.push(Suite::p384(kdf, aead));
        }
    }
    out
}

struct Parties {
    r: PrivateKey,
    s: PrivateKey,
}

impl Parties {
    fn new() -> Self {
        Self { r: PrivateKey::generate().unwrap(), s: PrivateKey::generate().unwrap() }
    }

    fn sk_s(&self, mode: Mode) -> Option<&PrivateKey> {
        matches!(mode, Mode::Auth | Mode::AuthPsk).then_some(&self.s)
    }

    fn pk_s(&self, mode: Mode) -> Option<&PublicKey> {
        self.sk_s(mode).map(PrivateKey::public_key)
    }
}

fn psk(mode: Mode) -> Option<Psk<'static>> {
    matches!(mode, Mode::Psk | Mode::AuthPsk).then_some(Psk { psk: PSK, id: PSK_ID })
}

fn seal(suite: Suite, p: &Parties, mode: Mode, pt: &[u8]) -> (Vec<u8>, Vec<u8>) {
    hpke::seal(suite, p.r.public_key(), INFO, AAD, pt, psk(mode), p.sk_s(mode)).unwrap()
}

fn open(suite: Suite, p: &Parties, mode: Mode, enc: &[u8], ct: &[u8]) -> phiseal::Result<Vec<u8>> {
    hpke::open(suite, enc, &p.r, INFO, AAD, ct, psk(mode), p.pk_s(mode))
}

#[test]
fn suite_constants() {
    assert_eq!(Suite::PHISEAL, Suite::p384(Kdf::Sha384, AeadId::Aes256Gcm));
    assert_eq!(Suite::PHISEAL.kem_id(), 0x0011);
    assert_eq!(Suite::PHISEAL.kdf().id(), 0x0002);
    assert_eq!(Suite::PHISEAL.aead().id(), 0x0002);
    assert_eq!(Suite::from_ids(0x0011, 0x0002, 0x0002).unwrap(), Suite::PHISEAL);
    assert_eq!(hpke::ENC_LEN, 97);
    for (mode, psk, auth, id) in [
        (Mode::Base, false, false, 0),
        (Mode::Psk, true, false, 1),
        (Mode::Auth, false, true, 2),
        (Mode::AuthPsk, true, true, 3),
    ] {
        assert_eq!(Mode::of(psk, auth), mode);
        assert_eq!(mode.id(), id);
    }
}

#[test]
fn unsupported_suites_are_refused() {
    // ChaCha20-Poly1305 and unknown ids.
    assert_eq!(code(Suite::from_ids(0x0011, 0x0002, 0x0003)), ErrorCode::Unsupported);
    assert_eq!(code(Suite::from_ids(0x0011, 0x0004, 0x0002)), ErrorCode::Unsupported);
    assert_eq!(code(Suite::from_ids(0x0099, 0x0002, 0x0002)), ErrorCode::Unsupported);
    // A known non-P-384 KEM id is accepted for the key schedule only.
    let p256 = Suite::from_ids(0x0010, 0x0001, 0x0001).unwrap();
    let p = Parties::new();
    assert_eq!(code(hpke::setup_sender(p256, p.r.public_key(), INFO, None, None)), ErrorCode::Unsupported);
    let enc = PrivateKey::generate().unwrap().public_key().to_sec1(false);
    assert_eq!(code(hpke::setup_recipient(p256, &enc, &p.r, INFO, None, None)), ErrorCode::Unsupported);
    assert_eq!(
        code(hpke::setup_sender_from_dh(p256, &enc, p.r.public_key(), None, &[1u8; 48], INFO, None)),
        ErrorCode::Unsupported
    );
}

// ---------------------------------------------------------------------------
// Round trips
// ---------------------------------------------------------------------------

#[test]
fn single_shot_round_trip_every_suite_and_mode() {
    let p = Parties::new();
    for suite in suites() {
        for mode in MODES {
            for pt in [&b""[..], b"x", b"patient: Jane Doe, MRN 12345", &[0xa5; 1000][..]] {
                let (enc, ct) = seal(suite, &p, mode, pt);
                assert_eq!(enc.len(), 97, "{suite:?} {mode:?}");
                assert_eq!(enc[0], 0x04);
                assert!(PublicKey::from_sec1(&enc).is_ok());
                assert_eq!(ct.len(), pt.len() + 16, "{suite:?} {mode:?}");
                if pt.len() > 8 {
                    assert!(!ct.windows(pt.len()).any(|w| w == pt), "plaintext visible in ciphertext");
                }
                assert_eq!(open(suite, &p, mode, &enc, &ct).unwrap(), pt, "{suite:?} {mode:?}");
            }
        }
    }
}

#[test]
fn every_seal_uses_a_fresh_ephemeral_key() {
    let p = Parties::new();
    let (enc1, ct1) = seal(Suite::PHISEAL, &p, Mode::Base, b"same");
    let (enc2, ct2) = seal(Suite::PHISEAL, &p, Mode::Base, b"same");
    assert_ne!(enc1, enc2);
    assert_ne!(ct1, ct2);
}

#[test]
fn multi_message_context_every_suite_and_mode() {
    let p = Parties::new();
    let messages: [&[u8]; 4] = [b"first", b"second", b"", b"fourth message"];
    for suite in suites() {
        for mode in MODES {
            let (enc, mut sender) = hpke::setup_sender(suite, p.r.public_key(), INFO, psk(mode), p.sk_s(mode)).unwrap();
            let mut cts = Vec::new();
            for (i, m) in messages.iter().enumerate() {
                assert_eq!(sender.seq(), i as u64);
                let aad = format!("aad {i}");
                cts.push(sender.seal(aad.as_bytes(), m).unwrap());
            }
            assert_eq!(sender.seq(), 4);
            // Same plaintext at another sequence number gives another ciphertext.
            let again = sender.seal(b"aad 0", messages[0]).unwrap();
            assert_ne!(again, cts[0]);

            let mut recipient = hpke::setup_recipient(suite, &enc, &p.r, INFO, psk(mode), p.pk_s(mode)).unwrap();
            assert_eq!(recipient.seq(), 0);
            // Out of order: message 1 at seq 0 fails and does not advance seq.
            assert_eq!(code(recipient.open(b"aad 1", &cts[1])), ErrorCode::DecryptFailed);
            assert_eq!(recipient.seq(), 0);
            assert_eq!(code(recipient.open(b"aad 3", &cts[3])), ErrorCode::DecryptFailed);
            assert_eq!(recipient.seq(), 0);
            // In order succeeds.
            assert_eq!(recipient.open(b"aad 0", &cts[0]).unwrap(), messages[0]);
            assert_eq!(recipient.seq(), 1);
            // Replay of message 0 fails.
            assert_eq!(code(recipient.open(b"aad 0", &cts[0])), ErrorCode::DecryptFailed);
            assert_eq!(recipient.seq(), 1);
            // A tampered message fails without advancing; the genuine one then opens.
            let mut tampered = cts[1].clone();
            tampered[0] ^= 0x80;
            assert_eq!(code(recipient.open(b"aad 1", &tampered)), ErrorCode::DecryptFailed);
            assert_eq!(code(recipient.open(b"aad 0", &cts[1])), ErrorCode::DecryptFailed);
            assert_eq!(recipient.seq(), 1);
            for i in 1..4 {
                let aad = format!("aad {i}");
                assert_eq!(recipient.open(aad.as_bytes(), &cts[i]).unwrap(), messages[i], "{suite:?} {mode:?} {i}");
                assert_eq!(recipient.seq(), i as u64 + 1);
            }
            assert_eq!(recipient.open(b"aad 0", &again).unwrap(), messages[0]);
        }
    }
}

#[test]
fn single_shot_equals_first_context_message() {
    // A single-shot ciphertext is the context's seq-0 message: it opens with a context.
    let p = Parties::new();
    for mode in MODES {
        let (enc, ct) = seal(Suite::PHISEAL, &p, mode, b"hello");
        let mut r = hpke::setup_recipient(Suite::PHISEAL, &enc, &p.r, INFO, psk(mode), p.pk_s(mode)).unwrap();
        assert_eq!(r.open(AAD, &ct).unwrap(), b"hello");
    }
}

// ---------------------------------------------------------------------------
// Export
// ---------------------------------------------------------------------------

fn all_suites_with_export_only() -> Vec<Suite> {
    let mut out = suites();
    for kdf in KDFS {
        out.push(Suite::p384(kdf, AeadId::ExportOnly));
    }
    out
}

#[test]
fn export_matches_between_sender_and_recipient() {
    let p = Parties::new();
    for suite in all_suites_with_export_only() {
        let nh = suite.kdf().output_len();
        for mode in MODES {
            let (enc, sender) = hpke::setup_sender(suite, p.r.public_key(), INFO, psk(mode), p.sk_s(mode)).unwrap();
            let recipient = hpke::setup_recipient(suite, &enc, &p.r, INFO, psk(mode), p.pk_s(mode)).unwrap();
            for (ctx, len) in
                [(&b""[..], 32), (b"ctx", 1), (b"ctx", 32), (b"ctx", 48), (b"ctx", 64), (b"ctx", 255 * nh)]
            {
                let a = sender.export(ctx, len).unwrap();
                let b = recipient.export(ctx, len).unwrap();
                assert_eq!(a.len(), len);
                assert_eq!(a[..], b[..], "{suite:?} {mode:?} {len}");
            }
            // Different contexts give different secrets. L is part of LabeledExpand's
            // info (RFC 9180 §4), so a shorter export is not a prefix of a longer one.
            assert_ne!(sender.export(b"a", 32).unwrap()[..], sender.export(b"b", 32).unwrap()[..]);
            assert_ne!(sender.export(b"a", 64).unwrap()[..32], sender.export(b"a", 32).unwrap()[..]);
            // Another session exports something else.
            let (_, other) = hpke::setup_sender(suite, p.r.public_key(), INFO, psk(mode), p.sk_s(mode)).unwrap();
            assert_ne!(other.export(b"a", 32).unwrap()[..], sender.export(b"a", 32).unwrap()[..]);
            // Too long.
            assert_eq!(code(sender.export(b"ctx", 255 * nh + 1)), ErrorCode::InvalidArgument, "{suite:?}");
            assert_eq!(code(recipient.export(b"ctx", 255 * nh + 1)), ErrorCode::InvalidArgument, "{suite:?}");
            assert_eq!(code(sender.export(b"ctx", usize::MAX)), ErrorCode::InvalidArgument);
            assert_eq!(code(recipient.export(b"ctx", 1 << 20)), ErrorCode::InvalidArgument);
        }
    }
}

#[test]
fn export_only_suite_refuses_seal_and_open() {
    let p = Parties::new();
    for kdf in KDFS {
        let suite = Suite::p384(kdf, AeadId::ExportOnly);
        for mode in MODES {
            let (enc, mut sender) = hpke::setup_sender(suite, p.r.public_key(), INFO, psk(mode), p.sk_s(mode)).unwrap();
            let mut recipient = hpke::setup_recipient(suite, &enc, &p.r, INFO, psk(mode), p.pk_s(mode)).unwrap();
            assert_eq!(code(sender.seal(AAD, b"pt")), ErrorCode::Misuse);
            assert_eq!(sender.seq(), 0);
            assert_eq!(code(recipient.open(AAD, &[0u8; 32])), ErrorCode::Misuse);
            assert_eq!(recipient.seq(), 0);
            assert_eq!(
                code(hpke::seal(suite, p.r.public_key(), INFO, AAD, b"pt", psk(mode), p.sk_s(mode))),
                ErrorCode::Misuse
            );
            assert_eq!(
                code(hpke::open(suite, &enc, &p.r, INFO, AAD, &[0u8; 32], psk(mode), p.pk_s(mode))),
                ErrorCode::Misuse
            );
            // Export still works.
            assert_eq!(sender.export(b"x", 32).unwrap()[..], recipient.export(b"x", 32).unwrap()[..]);
        }
    }
}

// ---------------------------------------------------------------------------
// Rejection: DecryptFailed
// ---------------------------------------------------------------------------

#[test]
fn every_bit_flip_of_the_ciphertext_is_rejected() {
    let p = Parties::new();
    for suite in [Suite::PHISEAL, Suite::p384(Kdf::Sha256, AeadId::Aes128Gcm)] {
        for mode in MODES {
            let (enc, ct) = seal(suite, &p, mode, b"short");
            assert_eq!(ct.len(), 21);
            // A failed open does not advance seq, so one context checks every flip.
            let mut r = hpke::setup_recipient(suite, &enc, &p.r, INFO, psk(mode), p.pk_s(mode)).unwrap();
            for bit in 0..ct.len() * 8 {
                let mut bad = ct.clone();
                bad[bit / 8] ^= 1 << (bit % 8);
                assert_eq!(code(r.open(AAD, &bad)), ErrorCode::DecryptFailed, "{suite:?} {mode:?} bit {bit}");
                assert_eq!(r.seq(), 0);
            }
            // Single-shot open, a sample of flips.
            for bit in [0, 7, 39, 40, 100, 167] {
                let mut bad = ct.clone();
                bad[bit / 8] ^= 1 << (bit % 8);
                assert_eq!(code(open(suite, &p, mode, &enc, &bad)), ErrorCode::DecryptFailed, "bit {bit}");
            }
            assert_eq!(r.open(AAD, &ct).unwrap(), b"short");
        }
    }
}

#[test]
fn every_truncation_of_the_ciphertext_is_rejected() {
    let p = Parties::new();
    for mode in MODES {
        let (enc, ct) = seal(Suite::PHISEAL, &p, mode, b"a short message");
        let mut r = hpke::setup_recipient(Suite::PHISEAL, &enc, &p.r, INFO, psk(mode), p.pk_s(mode)).unwrap();
        for len in 0..ct.len() {
            assert_eq!(code(r.open(AAD, &ct[..len])), ErrorCode::DecryptFailed, "{mode:?} len {len}");
            // Dropping bytes from the front is rejected too.
            assert_eq!(code(r.open(AAD, &ct[ct.len() - len..])), ErrorCode::DecryptFailed, "{mode:?} suffix {len}");
        }
        for len in [0, 1, 15, 16, ct.len() - 1] {
            assert_eq!(code(open(Suite::PHISEAL, &p, mode, &enc, &ct[..len])), ErrorCode::DecryptFailed);
        }
        let mut long = ct.clone();
        long.push(0);
        assert_eq!(code(r.open(AAD, &long)), ErrorCode::DecryptFailed);
        assert_eq!(r.open(AAD, &ct).unwrap(), b"a short message");
    }
}

#[test]
fn wrong_info_aad_or_recipient_key_is_rejected() {
    let p = Parties::new();
    let stranger = PrivateKey::generate().unwrap();
    for suite in suites() {
        for mode in MODES {
            let (enc, ct) = seal(suite, &p, mode, b"secret");
            let (ps, pks) = (psk(mode), p.pk_s(mode));
            let wrong_info = hpke::open(suite, &enc, &p.r, b"other info", AAD, &ct, ps, pks);
            assert_eq!(code(wrong_info), ErrorCode::DecryptFailed, "{suite:?} {mode:?}");
            let empty_info = hpke::open(suite, &enc, &p.r, b"", AAD, &ct, ps, pks);
            assert_eq!(code(empty_info), ErrorCode::DecryptFailed);
            let wrong_aad = hpke::open(suite, &enc, &p.r, INFO, b"record 43", &ct, ps, pks);
            assert_eq!(code(wrong_aad), ErrorCode::DecryptFailed);
            let no_aad = hpke::open(suite, &enc, &p.r, INFO, b"", &ct, ps, pks);
            assert_eq!(code(no_aad), ErrorCode::DecryptFailed);
            let wrong_key = hpke::open(suite, &enc, &stranger, INFO, AAD, &ct, ps, pks);
            assert_eq!(code(wrong_key), ErrorCode::DecryptFailed);
            // Opened under another suite.
            let other_suite =
                if suite == Suite::PHISEAL { Suite::p384(Kdf::Sha512, AeadId::Aes256Gcm) } else { Suite::PHISEAL };
            assert_eq!(code(hpke::open(other_suite, &enc, &p.r, INFO, AAD, &ct, ps, pks)), ErrorCode::DecryptFailed);
        }
    }
}

#[test]
fn wrong_psk_or_psk_id_is_rejected() {
    let p = Parties::new();
    let other_psk = [0x42u8; 32];
    for suite in suites() {
        for mode in [Mode::Psk, Mode::AuthPsk] {
            let (enc, ct) = seal(suite, &p, mode, b"secret");
            let pks = p.pk_s(mode);
            let wrong_psk = Psk { psk: &other_psk, id: PSK_ID };
            assert_eq!(
                code(hpke::open(suite, &enc, &p.r, INFO, AAD, &ct, Some(wrong_psk), pks)),
                ErrorCode::DecryptFailed
            );
            let mut flipped = PSK.to_vec();
            flipped[31] ^= 1;
            let flipped_psk = Psk { psk: &flipped, id: PSK_ID };
            assert_eq!(
                code(hpke::open(suite, &enc, &p.r, INFO, AAD, &ct, Some(flipped_psk), pks)),
                ErrorCode::DecryptFailed
            );
            let wrong_id = Psk { psk: PSK, id: b"psk id 2" };
            assert_eq!(
                code(hpke::open(suite, &enc, &p.r, INFO, AAD, &ct, Some(wrong_id), pks)),
                ErrorCode::DecryptFailed
            );
            // Without the PSK at all (base / auth mode).
            assert_eq!(code(hpke::open(suite, &enc, &p.r, INFO, AAD, &ct, None, pks)), ErrorCode::DecryptFailed);
        }
        // A base/auth message opened as psk/auth_psk.
        for mode in [Mode::Base, Mode::Auth] {
            let (enc, ct) = seal(suite, &p, mode, b"secret");
            let with_psk = Psk { psk: PSK, id: PSK_ID };
            assert_eq!(
                code(hpke::open(suite, &enc, &p.r, INFO, AAD, &ct, Some(with_psk), p.pk_s(mode))),
                ErrorCode::DecryptFailed
            );
        }
    }
}

#[test]
fn wrong_sender_key_in_auth_modes_is_rejected() {
    let p = Parties::new();
    let impostor = PrivateKey::generate().unwrap();
    for suite in suites() {
        for mode in [Mode::Auth, Mode::AuthPsk] {
            let (enc, ct) = seal(suite, &p, mode, b"secret");
            let wrong = hpke::open(suite, &enc, &p.r, INFO, AAD, &ct, psk(mode), Some(impostor.public_key()));
            assert_eq!(code(wrong), ErrorCode::DecryptFailed, "{suite:?} {mode:?}");
            // The recipient's own key as sender key.
            let own = hpke::open(suite, &enc, &p.r, INFO, AAD, &ct, psk(mode), Some(p.r.public_key()));
            assert_eq!(code(own), ErrorCode::DecryptFailed);
            // No sender key (base / psk mode).
            assert_eq!(code(hpke::open(suite, &enc, &p.r, INFO, AAD, &ct, psk(mode), None)), ErrorCode::DecryptFailed);
            // Sealed by the impostor, opened expecting the real sender.
            let (enc2, ct2) =
                hpke::seal(suite, p.r.public_key(), INFO, AAD, b"forged", psk(mode), Some(&impostor)).unwrap();
            assert_eq!(code(open(suite, &p, mode, &enc2, &ct2)), ErrorCode::DecryptFailed);
        }
        // A base/psk message opened as auth/auth_psk.
        for mode in [Mode::Base, Mode::Psk] {
            let (enc, ct) = seal(suite, &p, mode, b"secret");
            let as_auth = hpke::open(suite, &enc, &p.r, INFO, AAD, &ct, psk(mode), Some(p.s.public_key()));
            assert_eq!(code(as_auth), ErrorCode::DecryptFailed);
        }
    }
}

#[test]
fn enc_from_another_message_is_rejected() {
    let p = Parties::new();
    for suite in suites() {
        for mode in MODES {
            let (enc1, ct1) = seal(suite, &p, mode, b"message one");
            let (enc2, ct2) = seal(suite, &p, mode, b"message two");
            assert_eq!(code(open(suite, &p, mode, &enc2, &ct1)), ErrorCode::DecryptFailed, "{suite:?} {mode:?}");
            assert_eq!(code(open(suite, &p, mode, &enc1, &ct2)), ErrorCode::DecryptFailed);
            // A valid point that is not the ephemeral key.
            let random = PrivateKey::generate().unwrap().public_key().to_sec1(false);
            assert_eq!(code(open(suite, &p, mode, &random, &ct1)), ErrorCode::DecryptFailed);
            // The negated ephemeral point: same DH x-coordinate, different enc in the KEM context.
            let e = PublicKey::from_sec1(&enc1).unwrap();
            let mut neg = e.to_sec1(true);
            neg[0] ^= 1;
            let neg = PublicKey::from_sec1(&neg).unwrap().to_sec1(false);
            assert_ne!(neg, enc1);
            assert_eq!(code(open(suite, &p, mode, &neg, &ct1)), ErrorCode::DecryptFailed);
            assert_eq!(open(suite, &p, mode, &enc1, &ct1).unwrap(), b"message one");
        }
    }
}

// ---------------------------------------------------------------------------
// Rejection: InvalidKey / InvalidArgument
// ---------------------------------------------------------------------------

#[test]
fn bad_enc_is_invalid_key() {
    let p = Parties::new();
    let (enc, ct) = seal(Suite::PHISEAL, &p, Mode::Base, b"secret");
    let mut off_curve = enc.clone();
    off_curve[96] ^= 1;
    let mut zero = vec![0x04];
    zero.extend([0u8; 96]);
    let compressed = PublicKey::from_sec1(&enc).unwrap().to_sec1(true);
    let mut wrong_tag = enc.clone();
    wrong_tag[0] = 0x06;
    let mut long = enc.clone();
    long.push(0);
    let bad_encs: Vec<Vec<u8>> = vec![
        Vec::new(),
        vec![0x00],
        enc[..96].to_vec(),
        long,
        enc[..65].to_vec(),
        off_curve,
        zero,
        compressed,
        wrong_tag,
    ];
    for mode in MODES {
        for bad in &bad_encs {
            assert_eq!(code(open(Suite::PHISEAL, &p, mode, bad, &ct)), ErrorCode::InvalidKey, "{mode:?} {bad:?}");
            assert_eq!(
                code(hpke::setup_recipient(Suite::PHISEAL, bad, &p.r, INFO, psk(mode), p.pk_s(mode))),
                ErrorCode::InvalidKey
            );
            let dh_len = if p.pk_s(mode).is_some() { 96 } else { 48 };
            let dh = vec![7u8; dh_len];
            assert_eq!(
                code(hpke::setup_recipient_from_dh(
                    Suite::PHISEAL,
                    bad,
                    p.r.public_key(),
                    p.pk_s(mode),
                    &dh,
                    INFO,
                    psk(mode)
                )),
                ErrorCode::InvalidKey
            );
            assert_eq!(
                code(hpke::setup_sender_from_dh(
                    Suite::PHISEAL,
                    bad,
                    p.r.public_key(),
                    p.pk_s(mode),
                    &dh,
                    INFO,
                    psk(mode)
                )),
                ErrorCode::InvalidKey
            );
            assert_eq!(code(hpke::parse_enc(bad)), ErrorCode::InvalidKey);
        }
    }
    assert_eq!(hpke::parse_enc(&enc).unwrap().to_sec1(false), enc);
}

#[test]
fn bad_psk_is_invalid_argument() {
    let p = Parties::new();
    let (enc, _) = seal(Suite::PHISEAL, &p, Mode::Base, b"x");
    let short = [1u8; 31];
    let bad: [Psk<'_>; 5] = [
        Psk { psk: &short, id: PSK_ID },
        Psk { psk: &short[..1], id: PSK_ID },
        Psk { psk: PSK, id: b"" },
        Psk { psk: b"", id: PSK_ID },
        Psk { psk: b"", id: b"" },
    ];
    for suite in all_suites_with_export_only() {
        for psk in bad {
            for sk_s in [None, Some(&p.s)] {
                let pk_s = sk_s.map(PrivateKey::public_key);
                assert_eq!(
                    code(hpke::setup_sender(suite, p.r.public_key(), INFO, Some(psk), sk_s)),
                    ErrorCode::InvalidArgument,
                    "{suite:?} {psk:?}"
                );
                assert_eq!(
                    code(hpke::seal(suite, p.r.public_key(), INFO, AAD, b"x", Some(psk), sk_s)),
                    ErrorCode::InvalidArgument
                );
                assert_eq!(
                    code(hpke::setup_recipient(suite, &enc, &p.r, INFO, Some(psk), pk_s)),
                    ErrorCode::InvalidArgument
                );
                let dh = vec![7u8; if sk_s.is_some() { 96 } else { 48 }];
                assert_eq!(
                    code(hpke::setup_sender_from_dh(suite, &enc, p.r.public_key(), pk_s, &dh, INFO, Some(psk))),
                    ErrorCode::InvalidArgument
                );
                assert_eq!(
                    code(hpke::setup_recipient_from_dh(suite, &enc, p.r.public_key(), pk_s, &dh, INFO, Some(psk))),
                    ErrorCode::InvalidArgument
                );
            }
        }
    }
    // Exactly 32 bytes is accepted.
    let ok = Psk { psk: &[9u8; 32], id: b"i" };
    let (enc, ct) = hpke::seal(Suite::PHISEAL, p.r.public_key(), INFO, AAD, b"ok", Some(ok), None).unwrap();
    assert_eq!(hpke::open(Suite::PHISEAL, &enc, &p.r, INFO, AAD, &ct, Some(ok), None).unwrap(), b"ok");
}

#[test]
fn derive_key_pair_needs_48_bytes_of_ikm() {
    for len in [0, 1, 32, 47] {
        assert_eq!(code(hpke::derive_key_pair(&vec![1u8; len])), ErrorCode::InvalidArgument, "len {len}");
    }
    let a = hpke::derive_key_pair(&[1u8; 48]).unwrap();
    let b = hpke::derive_key_pair(&[1u8; 48]).unwrap();
    assert_eq!(a.to_scalar_bytes()[..], b.to_scalar_bytes()[..]);
    let c = hpke::derive_key_pair(&[2u8; 48]).unwrap();
    assert_ne!(a.public_key(), c.public_key());
    let d = hpke::derive_key_pair(&[1u8; 49]).unwrap();
    assert_ne!(a.public_key(), d.public_key());
    // A derived key works as a recipient key.
    let (enc, ct) = hpke::seal(Suite::PHISEAL, a.public_key(), INFO, AAD, b"hi", None, None).unwrap();
    assert_eq!(hpke::open(Suite::PHISEAL, &enc, &b, INFO, AAD, &ct, None, None).unwrap(), b"hi");
}

// ---------------------------------------------------------------------------
// Sans-IO path: setup_*_from_dh agrees with the RustCrypto path
// ---------------------------------------------------------------------------

/// Sender side by hand: fresh ephemeral key, `dh = DH(skE, pkR) [|| DH(skS, pkR)]`.
fn sender_by_hand(suite: Suite, p: &Parties, mode: Mode) -> (Vec<u8>, hpke::SenderContext) {
    let sk_e = PrivateKey::generate().unwrap();
    let enc = sk_e.public_key().to_sec1(false);
    let mut dh = sk_e.diffie_hellman(p.r.public_key()).to_vec();
    if let Some(s) = p.sk_s(mode) {
        dh.extend_from_slice(&s.diffie_hellman(p.r.public_key())[..]);
    }
    let ctx = hpke::setup_sender_from_dh(suite, &enc, p.r.public_key(), p.pk_s(mode), &dh, INFO, psk(mode)).unwrap();
    (enc, ctx)
}

/// Recipient side by hand: `dh = DH(skR, pkE) [|| DH(skR, pkS)]`.
fn recipient_by_hand(suite: Suite, p: &Parties, mode: Mode, enc: &[u8]) -> hpke::RecipientContext {
    let pk_e = PublicKey::from_sec1(enc).unwrap();
    let mut dh = p.r.diffie_hellman(&pk_e).to_vec();
    if let Some(pk_s) = p.pk_s(mode) {
        dh.extend_from_slice(&p.r.diffie_hellman(pk_s)[..]);
    }
    hpke::setup_recipient_from_dh(suite, enc, p.r.public_key(), p.pk_s(mode), &dh, INFO, psk(mode)).unwrap()
}

#[test]
fn sans_io_path_interoperates_with_rustcrypto_path() {
    let p = Parties::new();
    for suite in all_suites_with_export_only() {
        let can_seal = suite.aead() != AeadId::ExportOnly;
        for mode in MODES {
            // Sealed by hand, opened by setup_recipient / open.
            let (enc, mut s) = sender_by_hand(suite, &p, mode);
            let mut r = hpke::setup_recipient(suite, &enc, &p.r, INFO, psk(mode), p.pk_s(mode)).unwrap();
            assert_eq!(s.export(b"e", 48).unwrap()[..], r.export(b"e", 48).unwrap()[..], "{suite:?} {mode:?}");
            if can_seal {
                let ct0 = s.seal(AAD, b"m0").unwrap();
                let ct1 = s.seal(b"", b"m1").unwrap();
                assert_eq!(open(suite, &p, mode, &enc, &ct0).unwrap(), b"m0");
                assert_eq!(r.open(AAD, &ct0).unwrap(), b"m0");
                assert_eq!(r.open(b"", &ct1).unwrap(), b"m1");
            }

            // Sealed by setup_sender / seal, opened by hand.
            let (enc, mut s) = hpke::setup_sender(suite, p.r.public_key(), INFO, psk(mode), p.sk_s(mode)).unwrap();
            let mut r = recipient_by_hand(suite, &p, mode, &enc);
            assert_eq!(s.export(b"e", 48).unwrap()[..], r.export(b"e", 48).unwrap()[..]);
            if can_seal {
                let ct0 = s.seal(AAD, b"m0").unwrap();
                let ct1 = s.seal(AAD, b"m1").unwrap();
                assert_eq!(r.open(AAD, &ct0).unwrap(), b"m0");
                assert_eq!(r.open(AAD, &ct1).unwrap(), b"m1");
                let (enc, ct) = seal(suite, &p, mode, b"single");
                assert_eq!(recipient_by_hand(suite, &p, mode, &enc).open(AAD, &ct).unwrap(), b"single");
            }

            // Both by hand.
            let (enc, mut s) = sender_by_hand(suite, &p, mode);
            let mut r = recipient_by_hand(suite, &p, mode, &enc);
            assert_eq!(s.export(b"", 32).unwrap()[..], r.export(b"", 32).unwrap()[..]);
            if can_seal {
                let ct = s.seal(AAD, b"m").unwrap();
                assert_eq!(r.open(AAD, &ct).unwrap(), b"m");
            }
        }
    }
}

#[test]
fn sans_io_wrong_dh_value_does_not_open() {
    let p = Parties::new();
    for mode in MODES {
        let (enc, ct) = seal(Suite::PHISEAL, &p, mode, b"secret");
        let pk_e = PublicKey::from_sec1(&enc).unwrap();
        let mut dh = p.r.diffie_hellman(&pk_e).to_vec();
        if let Some(pk_s) = p.pk_s(mode) {
            dh.extend_from_slice(&p.r.diffie_hellman(pk_s)[..]);
        }
        for i in [0, 47, dh.len() - 1] {
            let mut bad = dh.clone();
            bad[i] ^= 1;
            let mut r = hpke::setup_recipient_from_dh(
                Suite::PHISEAL,
                &enc,
                p.r.public_key(),
                p.pk_s(mode),
                &bad,
                INFO,
                psk(mode),
            )
            .unwrap();
            assert_eq!(code(r.open(AAD, &ct)), ErrorCode::DecryptFailed, "{mode:?} byte {i}");
        }
        // The two auth DH halves swapped.
        if p.pk_s(mode).is_some() {
            let swapped = [&dh[48..], &dh[..48]].concat();
            let mut r = hpke::setup_recipient_from_dh(
                Suite::PHISEAL,
                &enc,
                p.r.public_key(),
                p.pk_s(mode),
                &swapped,
                INFO,
                psk(mode),
            )
            .unwrap();
            assert_eq!(code(r.open(AAD, &ct)), ErrorCode::DecryptFailed);
        }
        let mut r =
            hpke::setup_recipient_from_dh(Suite::PHISEAL, &enc, p.r.public_key(), p.pk_s(mode), &dh, INFO, psk(mode))
                .unwrap();
        assert_eq!(r.open(AAD, &ct).unwrap(), b"secret");
    }
}

#[test]
fn sans_io_dh_of_wrong_length_is_invalid_argument() {
    let p = Parties::new();
    let enc = PrivateKey::generate().unwrap().public_key().to_sec1(false);
    for mode in MODES {
        let auth = p.pk_s(mode).is_some();
        let lens: &[usize] = if auth { &[0, 47, 48, 49, 95, 97, 144] } else { &[0, 1, 32, 47, 49, 64, 96] };
        for &len in lens {
            let dh = vec![3u8; len];
            assert_eq!(
                code(hpke::setup_sender_from_dh(
                    Suite::PHISEAL,
                    &enc,
                    p.r.public_key(),
                    p.pk_s(mode),
                    &dh,
                    INFO,
                    psk(mode)
                )),
                ErrorCode::InvalidArgument,
                "{mode:?} sender len {len}"
            );
            assert_eq!(
                code(hpke::setup_recipient_from_dh(
                    Suite::PHISEAL,
                    &enc,
                    p.r.public_key(),
                    p.pk_s(mode),
                    &dh,
                    INFO,
                    psk(mode)
                )),
                ErrorCode::InvalidArgument,
                "{mode:?} recipient len {len}"
            );
        }
        // The right length is accepted.
        let dh = vec![3u8; if auth { 96 } else { 48 }];
        assert!(
            hpke::setup_sender_from_dh(Suite::PHISEAL, &enc, p.r.public_key(), p.pk_s(mode), &dh, INFO, psk(mode))
                .is_ok()
        );
    }
}

#[test]
fn context_debug_does_not_print_secrets() {
    let p = Parties::new();
    let (enc, s) =
        hpke::setup_sender(Suite::PHISEAL, p.r.public_key(), INFO, Some(Psk { psk: PSK, id: PSK_ID }), None).unwrap();
    let r = hpke::setup_recipient(Suite::PHISEAL, &enc, &p.r, INFO, Some(Psk { psk: PSK, id: PSK_ID }), None).unwrap();
    let psk_text = String::from_utf8(PSK.to_vec()).unwrap();
    for out in [format!("{s:?}"), format!("{r:?}"), format!("{:?}", Psk { psk: PSK, id: PSK_ID })] {
        assert!(!out.contains(&psk_text), "{out}");
        assert!(!out.contains("48, 49, 50"), "{out}"); // PSK bytes as a list
        assert!(!out.contains("psk id 1"), "{out}");
    }
}
