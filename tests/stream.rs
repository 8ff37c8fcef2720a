//! Encrypted streams (docs/FORMAT.md §8): round trips, chunking, truncation,
//! reordering, splicing, tampering, recipients, counter exhaustion, and
//! bounded memory.
// Some tests use the test-only `dangerous_*` constructors (feature `hazmat`).
// A native suite (`cargo test`); in wasm32 this file compiles to nothing, so
// `wasm-pack test` builds every test target and runs tests/web.rs.
#![cfg(not(target_arch = "wasm32"))]
#![cfg_attr(not(feature = "hazmat"), allow(unused))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::sync::OnceLock;

use phiseal::ErrorCode;
use phiseal::field::WrapJob;
use phiseal::keys::{PrivateKey, PublicKey};
use phiseal::media::stream::{
    FIXED_HEADER_LEN, HEADER_TAIL_LEN, MAGIC, STANZA_LEN, StreamDecryptor, StreamEncryptor, StreamHeader, TRAILER_LEN,
    open_segment,
};
use phiseal::sign::SigningKey;

/// The author of every stream here (one key: generation is slow in debug builds).
fn author() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| SigningKey::generate().unwrap())
}

fn authors() -> Vec<PublicKey> {
    vec![author().verifying_key()]
}

fn new_enc(recipients: &[PublicKey], seg: usize) -> Result<StreamEncryptor, phiseal::Error> {
    StreamEncryptor::new(recipients, seg, author())
}

const SEG: usize = 1024;
const CT_SEG: usize = SEG + 16;

fn data(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 31 + 7) as u8).collect()
}

fn encrypt(key: &PrivateKey, pt: &[u8], seg: usize) -> Vec<u8> {
    let mut enc = new_enc(&[*key.public_key()], seg).unwrap();
    let mut out = enc.push(pt).unwrap();
    out.extend(enc.finish_signed(author()).unwrap());
    out
}

fn decrypt(key: &PrivateKey, ct: &[u8]) -> Result<Vec<u8>, phiseal::Error> {
    let mut dec = StreamDecryptor::new(key, &authors());
    let mut out = dec.push(ct)?;
    out.extend(dec.finish()?);
    Ok(out)
}

fn code(r: Result<Vec<u8>, phiseal::Error>) -> ErrorCode {
    r.expect_err("expected an error").code()
}

fn header_len(ct: &[u8]) -> usize {
    StreamHeader::length(ct).unwrap().unwrap()
}

#[test]
fn round_trip_many_sizes() {
    let key = PrivateKey::generate().unwrap();
    for n in [0, 1, SEG - 1, SEG, SEG + 1, 2 * SEG, 2 * SEG + 1, 5 * SEG + 17, 20 * SEG] {
        let pt = data(n);
        let ct = encrypt(&key, &pt, SEG);
        let segments = if n == 0 { 1 } else { n.div_ceil(SEG) };
        assert_eq!(
            ct.len(),
            FIXED_HEADER_LEN + STANZA_LEN + HEADER_TAIL_LEN + n + 16 * segments + TRAILER_LEN,
            "size {n}"
        );
        assert_eq!(decrypt(&key, &ct).unwrap(), pt, "size {n}");
    }
}

#[test]
fn arbitrary_chunking_both_sides() {
    let key = PrivateKey::generate().unwrap();
    let pt = data(7 * SEG + 333);
    let mut seed = 0x1234_5678_u32;
    let mut rnd = |max: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        (seed as usize) % max
    };
    for round in 0..20 {
        let mut enc = new_enc(&[*key.public_key()], SEG).unwrap();
        let mut ct = Vec::new();
        let mut rest = &pt[..];
        while !rest.is_empty() {
            let n = (rnd(3 * SEG) + 1).min(rest.len());
            ct.extend(enc.push(&rest[..n]).unwrap());
            assert!(enc.buffered_len() <= SEG);
            rest = &rest[n..];
        }
        ct.extend(enc.finish_signed(author()).unwrap());
        let mut dec = StreamDecryptor::new(&key, &authors());
        let mut out = Vec::new();
        let mut rest = &ct[..];
        let max = if round % 2 == 0 { 7 } else { 4 * CT_SEG };
        while !rest.is_empty() {
            let n = (rnd(max) + 1).min(rest.len());
            out.extend(dec.push(&rest[..n]).unwrap());
            assert!(dec.buffered_len() <= CT_SEG + TRAILER_LEN + 1);
            rest = &rest[n..];
        }
        out.extend(dec.finish().unwrap());
        assert_eq!(out, pt);
    }
}

#[test]
fn plaintext_is_released_only_for_complete_segments() {
    let key = PrivateKey::generate().unwrap();
    let ct = encrypt(&key, &data(3 * SEG), SEG);
    let h = header_len(&ct);
    let mut dec = StreamDecryptor::new(&key, &authors());
    // One full segment and the trailer's length: it might be the last, so nothing yet.
    assert!(dec.push(&ct[..h + CT_SEG + TRAILER_LEN]).unwrap().is_empty());
    // One more byte proves it is not the last.
    assert_eq!(dec.push(&ct[h + CT_SEG + TRAILER_LEN..h + CT_SEG + TRAILER_LEN + 1]).unwrap().len(), SEG);
}

#[test]
fn truncation_at_every_boundary_and_mid_segment() {
    let key = PrivateKey::generate().unwrap();
    for n in [0, SEG, 3 * SEG, 3 * SEG + 100] {
        let ct = encrypt(&key, &data(n), SEG);
        let h = header_len(&ct);
        let mut cuts: Vec<usize> = (0..ct.len()).step_by(97).collect();
        cuts.extend((0..=n / SEG + 1).map(|i| h + i * CT_SEG).filter(|&c| c < ct.len()));
        cuts.extend([0, 1, 5, FIXED_HEADER_LEN, h - 1, h, h + 15, ct.len() - 1]);
        cuts.extend([ct.len() - TRAILER_LEN, ct.len() - TRAILER_LEN + 1]);
        for cut in cuts {
            // Cutting into the trailer leaves a final segment that does not open, or
            // (when only trailer bytes are lost) a trailer that does not verify.
            let c = code(decrypt(&key, &ct[..cut]));
            assert!(matches!(c, ErrorCode::DecryptFailed | ErrorCode::InvalidSignature), "size {n} cut {cut}: {c:?}");
        }
    }
}

#[test]
fn extension_is_detected() {
    let key = PrivateKey::generate().unwrap();
    for n in [0, 10, SEG, 2 * SEG + 5] {
        let ct = encrypt(&key, &data(n), SEG);
        for extra in [&[0u8][..], &[0u8; 16], &ct[header_len(&ct)..]] {
            let mut longer = ct.clone();
            longer.extend_from_slice(extra);
            let c = code(decrypt(&key, &longer));
            assert!(matches!(c, ErrorCode::DecryptFailed | ErrorCode::InvalidSignature), "size {n}: {c:?}");
        }
    }
}

#[test]
fn reordering_and_dropping_segments_is_detected() {
    let key = PrivateKey::generate().unwrap();
    let ct = encrypt(&key, &data(4 * SEG + 10), SEG);
    let h = header_len(&ct);
    let body_end = ct.len() - TRAILER_LEN;
    let seg = |i: usize| &ct[h + i * CT_SEG..(h + (i + 1) * CT_SEG).min(body_end)];
    let build = |order: &[usize]| {
        let mut v = ct[..h].to_vec();
        for &i in order {
            v.extend_from_slice(seg(i));
        }
        v.extend_from_slice(&ct[body_end..]);
        v
    };
    assert_eq!(decrypt(&key, &build(&[0, 1, 2, 3, 4])).unwrap(), data(4 * SEG + 10));
    for order in
        [&[1, 0, 2, 3, 4][..], &[0, 2, 1, 3, 4], &[0, 1, 2, 4], &[0, 1, 3, 2, 4], &[0, 0, 1, 2, 3, 4], &[1, 2, 3, 4]]
    {
        // A segment out of place fails to open when it is released, or, at the end,
        // the trailer no longer signs what was read.
        let c = code(decrypt(&key, &build(order)));
        assert!(matches!(c, ErrorCode::DecryptFailed | ErrorCode::InvalidSignature), "{order:?}: {c:?}");
    }
}

#[cfg(feature = "hazmat")]
#[test]
fn segments_from_another_stream_with_the_same_key_are_rejected() {
    let key = PrivateKey::generate().unwrap();
    let recipients = [*key.public_key()];
    let (ck, ikm) = ([7u8; 32], [9u8; 48]);
    let pt = data(3 * SEG);
    let make = |salt: [u8; 32], prefix: [u8; 7], ikm: &[u8]| {
        let mut e =
            StreamEncryptor::dangerous_with_fixed_salt(&recipients, SEG, &ck, &salt, &prefix, ikm, author()).unwrap();
        let mut v = e.push(&pt).unwrap();
        v.extend(e.finish_signed(author()).unwrap());
        v
    };
    let a = make([1; 32], [2; 7], &ikm);
    assert_eq!(a, make([1; 32], [2; 7], &ikm), "the fixed constructor is deterministic");
    let h = header_len(&a);
    // Same content key; differs in salt, in nonce prefix, or only in the header (HPKE ephemeral).
    for b in [make([3; 32], [2; 7], &ikm), make([1; 32], [4; 7], &ikm), make([1; 32], [2; 7], &[5u8; 48])] {
        assert_eq!(decrypt(&key, &b).unwrap(), pt);
        for i in 0..3 {
            let mut spliced = a.clone();
            let r = h + i * CT_SEG..h + (i + 1) * CT_SEG;
            spliced[r.clone()].copy_from_slice(&b[r]);
            // Segment 2 is the final one: the trailer, which signs it, is checked first.
            let expected = if i == 2 { ErrorCode::InvalidSignature } else { ErrorCode::DecryptFailed };
            assert_eq!(code(decrypt(&key, &spliced)), expected, "segment {i}");
        }
        // b's header in front of a's segments.
        let mut spliced = b[..h].to_vec();
        spliced.extend_from_slice(&a[h..]);
        assert_eq!(code(decrypt(&key, &spliced)), ErrorCode::DecryptFailed);
    }
}

#[test]
fn every_flipped_byte_is_detected() {
    let key = PrivateKey::generate().unwrap();
    let ct = encrypt(&key, &data(2 * SEG + 50), SEG);
    let h = header_len(&ct);
    let author_kid = FIXED_HEADER_LEN - 33..FIXED_HEADER_LEN - 1;
    let kid = FIXED_HEADER_LEN..FIXED_HEADER_LEN + 32;
    let header_signature = h - 96..h;
    // The final segment (the third) and the trailer: the trailer signature is checked first.
    let trailer = h + 2 * CT_SEG..ct.len();
    for i in 0..ct.len() {
        for bit in [0x01u8, 0x80] {
            let mut bad = ct.clone();
            bad[i] ^= bit;
            let c = code(decrypt(&key, &bad));
            let expected: &[ErrorCode] = if i < MAGIC.len() + 6 {
                &[ErrorCode::MalformedInput, ErrorCode::Unsupported]
            } else if (11..15).contains(&i) {
                &[ErrorCode::MalformedInput, ErrorCode::InvalidSignature] // segment size out of range, or another (signed) one
            } else if i == FIXED_HEADER_LEN - 1 {
                &[
                    ErrorCode::MalformedInput,
                    ErrorCode::NotRecipient,
                    ErrorCode::InvalidSignature,
                    ErrorCode::DecryptFailed,
                ] // recipient count
            } else if author_kid.contains(&i) {
                &[ErrorCode::UntrustedAuthor]
            } else if kid.contains(&i) {
                &[ErrorCode::NotRecipient]
            } else if i < h - 96 || header_signature.contains(&i) || trailer.contains(&i) {
                &[ErrorCode::InvalidSignature] // the header is signed, the trailer signs the final segment
            } else {
                &[ErrorCode::DecryptFailed]
            };
            assert!(expected.contains(&c), "byte {i} (header {h}): {c:?}");
        }
    }
}

#[test]
fn several_recipients_and_wrong_recipient() {
    let a = PrivateKey::generate().unwrap();
    let b = PrivateKey::generate().unwrap();
    let outsider = PrivateKey::generate().unwrap();
    let mut enc = new_enc(&[*a.public_key(), *b.public_key()], SEG).unwrap();
    let mut ct = enc.push(b"two readers").unwrap();
    ct.extend(enc.finish_signed(author()).unwrap());
    assert_eq!(decrypt(&a, &ct).unwrap(), b"two readers");
    assert_eq!(decrypt(&b, &ct).unwrap(), b"two readers");
    assert_eq!(code(decrypt(&outsider, &ct)), ErrorCode::NotRecipient);
    let header = StreamHeader::parse(&ct).unwrap().unwrap().0;
    assert_eq!(header.stanzas().len(), 2);
    assert_eq!(header.unwrap_job(outsider.public_key()).err().map(|e| e.code()), Some(ErrorCode::NotRecipient));
}

#[test]
fn argument_checks_and_misuse() {
    let key = PrivateKey::generate().unwrap();
    let pk = [*key.public_key()];
    for bad in [0, 1023, 16 * 1024 * 1024 + 1] {
        assert_eq!(new_enc(&pk, bad).unwrap_err().code(), ErrorCode::InvalidArgument);
    }
    assert_eq!(new_enc(&[], SEG).unwrap_err().code(), ErrorCode::InvalidArgument);
    assert_eq!(new_enc(&vec![pk[0]; 65], SEG).unwrap_err().code(), ErrorCode::InvalidArgument);
    assert_eq!(new_enc(&[pk[0], pk[0]], SEG).unwrap_err().code(), ErrorCode::InvalidArgument);
    let mut enc = new_enc(&pk, SEG).unwrap();
    assert_eq!(enc.trailer_message().unwrap_err().code(), ErrorCode::Misuse, "no trailer before the final segment");
    enc.finish().unwrap();
    assert_eq!(enc.push(b"x").unwrap_err().code(), ErrorCode::Misuse);
    assert_eq!(enc.finish().unwrap_err().code(), ErrorCode::Misuse);
    enc.trailer_message().unwrap();
    assert_eq!(enc.trailer_message().unwrap_err().code(), ErrorCode::Misuse, "one trailer");
    // Garbage and other versions.
    assert_eq!(StreamHeader::parse(b"hello").unwrap_err().code(), ErrorCode::MalformedInput);
    assert_eq!(StreamHeader::parse(b"phst1").unwrap_err().code(), ErrorCode::Unsupported);
    assert_eq!(StreamHeader::parse(b"phst3").unwrap_err().code(), ErrorCode::Unsupported);
    assert!(StreamHeader::parse(b"phs").unwrap().is_none());
    // The decryptor refuses use after an error.
    let ct = encrypt(&key, &data(3 * SEG), SEG);
    let mut bad = ct.clone();
    let h = header_len(&ct);
    bad[h + 3] ^= 1;
    let mut dec = StreamDecryptor::new(&key, &authors());
    assert_eq!(dec.push(&bad).unwrap_err().code(), ErrorCode::DecryptFailed);
    assert_eq!(dec.push(b"more").unwrap_err().code(), ErrorCode::Misuse);
    // Debug output names no secret.
    let text = format!("{enc:?} {dec:?}");
    assert!(text.contains("StreamEncryptor") && !text.contains("key:"), "{text}");
}

#[cfg(feature = "hazmat")]
#[test]
fn counter_exhaustion_is_misuse() {
    let key = PrivateKey::generate().unwrap();
    let mut enc = new_enc(&[*key.public_key()], SEG).unwrap();
    enc.dangerous_skip_to_segment(u32::MAX - 1).unwrap();
    assert_eq!(enc.dangerous_skip_to_segment(3).unwrap_err().code(), ErrorCode::Misuse);
    // Index 2^32-2 may be non-final, 2^32-1 only final.
    enc.push(&data(2 * SEG)).unwrap();
    assert_eq!(enc.push(&[1]).unwrap_err().code(), ErrorCode::Misuse);
    let mut enc = new_enc(&[*key.public_key()], SEG).unwrap();
    enc.dangerous_skip_to_segment(u32::MAX - 1).unwrap();
    enc.push(&data(2 * SEG)).unwrap();
    enc.finish().unwrap();
}

#[cfg(feature = "hazmat")]
#[test]
fn segment_jobs_give_the_same_bytes_as_push() {
    use phiseal::media::stream::seal_segment;
    // The external-AES path (as WebCrypto uses it) against the RustCrypto path.
    let key = PrivateKey::generate().unwrap();
    let recipients = [*key.public_key()];
    let pt = data(3 * SEG + 5);
    let fixed = || {
        StreamEncryptor::dangerous_with_fixed_salt(&recipients, SEG, &[1; 32], &[2; 32], &[3; 7], &[4; 48], author())
    };
    let mut a = fixed().unwrap();
    let mut wire_a = a.push(&pt).unwrap();
    wire_a.extend(a.finish().unwrap());
    let mut b = fixed().unwrap();
    let seg_key = b.export_segment_key().unwrap();
    assert_eq!(b.export_segment_key().unwrap_err().code(), ErrorCode::Misuse);
    let aad = *b.aad();
    let mut wire_b = b.take_header().unwrap();
    let mut segs = b.push_segments(&pt).unwrap();
    segs.push(b.finish_segment().unwrap());
    for s in &segs {
        let ct = seal_segment(&seg_key[..], &s.nonce, &aad, &s.plaintext).unwrap();
        b.absorb(&ct).unwrap();
        wire_b.extend(ct);
    }
    assert_eq!(b.absorb(b"one too many").unwrap_err().code(), ErrorCode::Misuse);
    // ECDSA signatures are randomized in WebCrypto and deterministic (RFC 6979) here:
    // the headers are equal, and so are the transcripts the trailers sign.
    assert_eq!(wire_a, wire_b);
    assert_eq!(a.trailer_message().unwrap(), b.trailer_message().unwrap());
    wire_b.extend(author().sign(&b_message(&wire_b)).unwrap());
    assert_eq!(
        segs.iter().map(|s| (s.index, s.last)).collect::<Vec<_>>(),
        [(0, false), (1, false), (2, false), (3, true)]
    );
    // Opening through jobs.
    let (header, n) = StreamHeader::parse(&wire_b).unwrap().unwrap();
    let ck = header.unwrap_job(key.public_key()).unwrap().run(&key);
    let verify = header.verify_job(&authors()).unwrap();
    let verified = verify.run().unwrap();
    let mut dec = StreamDecryptor::from_unwrapped(&header, &verify, &verified, ck).unwrap();
    let k = dec.export_segment_key().unwrap();
    let aad = *dec.aad().unwrap();
    let mut jobs = dec.push_segments(&wire_b[n..]).unwrap();
    jobs.push(dec.finish_segment().unwrap());
    let out: Vec<u8> = jobs.iter().flat_map(|j| open_segment(&k[..], &j.nonce, &aad, &j.ciphertext).unwrap()).collect();
    assert_eq!(out, pt);
    assert_eq!(jobs.last().unwrap().nonce[11], 1);
    assert_eq!(&jobs[1].nonce[7..], &[0, 0, 0, 1, 0]);
}

#[test]
fn memory_is_bounded_for_a_256_mib_stream() {
    const MIB: usize = 1024 * 1024;
    let seg = 64 * 1024;
    let key = PrivateKey::generate().unwrap();
    let mut enc = new_enc(&[*key.public_key()], seg).unwrap();
    let mut dec = StreamDecryptor::new(&key, &authors());
    let chunk = data(MIB);
    let (mut pending, mut total_out, mut max_buffered) = (Vec::new(), 0usize, 0usize);
    let mut feed = |bytes: &[u8], pending: &mut Vec<u8>, dec: &mut StreamDecryptor| {
        // Re-chunk the ciphertext into exact 1 MiB pieces for the decryptor.
        pending.extend_from_slice(bytes);
        while pending.len() >= MIB {
            let rest = pending.split_off(MIB);
            let piece = core::mem::replace(pending, rest);
            let out = dec.push(&piece).unwrap();
            // Sampled check (a full compare is slow in debug builds).
            for i in (0..out.len()).step_by(4093) {
                assert_eq!(out[i], chunk[(total_out + i) % MIB]);
            }
            total_out += out.len();
            max_buffered = max_buffered.max(dec.buffered_len());
        }
    };
    for _ in 0..256 {
        let ct = enc.push(&chunk).unwrap();
        assert!(enc.buffered_len() <= seg);
        feed(&ct, &mut pending, &mut dec);
    }
    let last = enc.finish_signed(author()).unwrap();
    feed(&last, &mut pending, &mut dec);
    let tail = dec.push(&pending).unwrap();
    total_out += tail.len();
    total_out += dec.finish().unwrap().len();
    assert_eq!(total_out, 256 * MIB);
    assert!(max_buffered <= 2 * (seg + 16), "buffered {max_buffered}");
}

/// The trailer message of a stream whose body is `wire` (header and segments),
/// computed as FORMAT.md §8.2 says.
fn b_message(wire: &[u8]) -> Vec<u8> {
    use sha2::Digest as _;
    let label = b"phiseal-stream-v2 trailer";
    let mut m = vec![label.len() as u8];
    m.extend_from_slice(label);
    m.extend_from_slice(&sha2::Sha384::digest(wire));
    m
}

/// Attack 6 of issue "authentic records": one ciphertext, two plaintexts. A
/// sender (even a trusted author) wraps a different content key to each of
/// two recipients; the key commitment in the signed header makes the second
/// recipient refuse before any plaintext.
#[test]
fn attack_one_ciphertext_two_content_keys_is_refused() {
    let a = PrivateKey::generate().unwrap();
    let b = PrivateKey::generate().unwrap();
    let (plan, mut jobs) =
        StreamEncryptor::plan(&[*a.public_key(), *b.public_key()], SEG, &author().verifying_key()).unwrap();
    let second = jobs.remove(1);
    jobs.push(WrapJob { secret: zeroize::Zeroizing::new(vec![0x42; 32]), ..second });
    let wrapped = jobs.iter().map(WrapJob::run).collect::<Result<Vec<_>, _>>().unwrap();
    let mut enc = plan.finish(&wrapped).unwrap().sign(author()).unwrap();
    let mut ct = enc.push(b"benign").unwrap();
    ct.extend(enc.finish_signed(author()).unwrap());
    assert_eq!(decrypt(&a, &ct).unwrap(), b"benign");
    let mut dec = StreamDecryptor::new(&b, &authors());
    assert_eq!(dec.push(&ct).unwrap_err().code(), ErrorCode::DecryptFailed, "b's key is not the committed one");
}

/// A stream by a key the reader does not trust (the server's own) is refused
/// before anything is unwrapped; so is one claiming the trusted author's kid.
#[test]
fn attack_forged_stream_by_an_untrusted_author_is_refused() {
    let key = PrivateKey::generate().unwrap();
    let server = SigningKey::generate().unwrap();
    let mut enc = StreamEncryptor::new(&[*key.public_key()], SEG, &server).unwrap();
    let mut ct = enc.push(b"fabricated").unwrap();
    ct.extend(enc.finish_signed(&server).unwrap());
    assert_eq!(code(decrypt(&key, &ct)), ErrorCode::UntrustedAuthor);
    // The same stream, relabelled with the trusted author's kid.
    let mut relabelled = ct.clone();
    relabelled[FIXED_HEADER_LEN - 33..FIXED_HEADER_LEN - 1].copy_from_slice(&author().verifying_key().thumbprint());
    assert_eq!(code(decrypt(&key, &relabelled)), ErrorCode::InvalidSignature);
}

/// A co-recipient knows the content key and can seal segments; it cannot
/// sign as the author, so a body it rewrote fails at the trailer, before the
/// final segment is released.
#[cfg(feature = "hazmat")]
#[test]
fn attack_co_recipient_rewriting_the_body_is_refused() {
    let a = PrivateKey::generate().unwrap();
    let b = PrivateKey::generate().unwrap();
    let mut enc = new_enc(&[*a.public_key(), *b.public_key()], SEG).unwrap();
    let mut ct = enc.push(b"benign").unwrap();
    ct.extend(enc.finish_signed(author()).unwrap());
    // b unwraps the content key and re-seals the final segment with other content.
    let (header, h) = StreamHeader::parse(&ct).unwrap().unwrap();
    let verify = header.verify_job(&authors()).unwrap();
    let verified = verify.run().unwrap();
    let ck = header.unwrap_job(b.public_key()).unwrap().run(&b);
    let mut dec = StreamDecryptor::from_unwrapped(&header, &verify, &verified, ck).unwrap();
    let seg_key = dec.export_segment_key().unwrap();
    let aad = *dec.aad().unwrap();
    let mut nonce = [0u8; 12];
    nonce[..7].copy_from_slice(&header.as_bytes()[47..54]);
    nonce[11] = 1;
    let forged_segment = phiseal::media::stream::seal_segment(&seg_key[..], &nonce, &aad, b"malign").unwrap();
    let mut forged = ct[..h].to_vec();
    forged.extend_from_slice(&forged_segment);
    forged.extend_from_slice(&ct[ct.len() - TRAILER_LEN..]);
    assert_eq!(code(decrypt(&a, &forged)), ErrorCode::InvalidSignature);
    // The untouched stream still opens for both.
    assert_eq!(decrypt(&a, &ct).unwrap(), b"benign");
    assert_eq!(decrypt(&b, &ct).unwrap(), b"benign");
}
