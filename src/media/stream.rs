//! Encrypted streams: chunked, online AEAD for recorded media and uploaded
//! files (docs/FORMAT.md §8).
//!
//! The construction is STREAM (Hoang, Reyhanitabar, Rogaway, Vizár, "Online
//! Authenticated-Encryption and its Nonce-Reuse Misuse-Resistance",
//! CRYPTO 2015, §7), laid out as in Tink's AES-GCM-HKDF streaming AEAD and
//! age: the plaintext is cut into segments of `segment_size` bytes, each
//! sealed with AES-256-GCM under a per-stream segment key with the nonce
//! `nonce_prefix(7) ‖ u32 BE index ‖ u8 last`. Only the final segment has
//! `last = 1`, so dropping final segments, appending, reordering, or
//! splicing segments of another stream all fail authentication. An empty
//! input still produces one (empty) final segment.
//!
//! The header (version 2) carries the author's key id, a random 32-byte
//! salt and 7-byte nonce prefix, a fresh 32-byte content key wrapped with
//! HPKE ([`Suite::PHISEAL`], mode base, info `"phiseal-stream-v2"`) to each
//! recipient, a key commitment (so every recipient unwraps the same content
//! key or is refused) and the author's ECDSA P-384 signature. Every
//! segment's AAD is `SHA-384(header)`, and a trailer signature by the same
//! author over the transcript follows the final segment, so a recipient
//! cannot forge or rewrite the end of a stream.
//!
//! # Where AES-GCM runs
//! The format, key schedule, nonces, last flags and all framing checks live
//! here. The per-segment AES-256-GCM is either RustCrypto's (used by
//! [`StreamEncryptor::push`] and [`open_segment`] by
//! [`StreamDecryptor::push`]), or, through the segment-job interface
//! ([`StreamEncryptor::push_segments`], [`StreamDecryptor::push_segments`]),
//! any other AES-GCM such as WebCrypto with a non-extractable key: both give
//! the same bytes.
//!
//! # Security
//! Plaintext returned by `push` is authenticated segment by segment, but the
//! stream as a whole is only known complete when `finish` succeeds: a
//! consumer must discard (or mark as failed) everything it received if
//! `finish` fails. Every recipient learns the content key, so until the
//! trailer signature is checked a co-recipient could have rewritten
//! non-final segments; `finish` checks the trailer before releasing the
//! final segment.
//!
//! ```
//! use phiseal::keys::PrivateKey;
//! use phiseal::media::stream::{DEFAULT_SEGMENT_SIZE, StreamDecryptor, StreamEncryptor};
//! use phiseal::sign::SigningKey;
//! let recipient = PrivateKey::generate()?;
//! let author = SigningKey::generate()?;
//! let mut enc = StreamEncryptor::new(&[*recipient.public_key()], DEFAULT_SEGMENT_SIZE, &author)?;
//! let mut wire = enc.push(b"recorded ")?;
//! wire.extend(enc.push(b"media")?);
//! wire.extend(enc.finish_signed(&author)?);
//! let mut dec = StreamDecryptor::new(&recipient, &[author.verifying_key()]);
//! let mut plain = dec.push(&wire)?;
//! plain.extend(dec.finish()?);
//! assert_eq!(plain, b"recorded media");
//! # Ok::<(), phiseal::Error>(())
//! ```

use core::fmt;

use sha2::{Digest as _, Sha384};
use zeroize::Zeroizing;

use crate::aead::{AesGcm, NONCE_LEN, TAG_LEN};
use crate::error::{Error, ErrorCode, Result};
use crate::field::{UnwrapJob, WrapJob, Wrapped};
use crate::hpke::{ENC_LEN, Suite};
use crate::kdf::Kdf;
use crate::keys::{PrivateKey, PublicKey, random_bytes};
use crate::sign::{SIGNATURE_LEN, SigningKey, Verified, VerifyJob};

/// §8.1: the magic and version, `"phst2"`.
pub const MAGIC: [u8; 5] = *b"phst2";
/// Default plaintext bytes per segment (64 KiB).
pub const DEFAULT_SEGMENT_SIZE: usize = 64 * 1024;
/// Smallest segment size accepted (1 KiB).
pub const MIN_SEGMENT_SIZE: usize = 1024;
/// Largest segment size accepted (16 MiB).
pub const MAX_SEGMENT_SIZE: usize = 16 * 1024 * 1024;
/// Most recipients in one header.
pub const MAX_RECIPIENTS: usize = 64;
/// Content key length (AES-256).
pub const CONTENT_KEY_LEN: usize = 32;
/// Salt length.
pub const SALT_LEN: usize = 32;
/// Nonce prefix length (STREAM: 12 = 7 + 4-byte counter + 1-byte flag).
pub const NONCE_PREFIX_LEN: usize = 7;
/// Recipient key id length: the raw RFC 7638 thumbprint.
pub const KID_LEN: usize = 32;
/// HPKE ciphertext of the content key (key plus tag).
pub const WRAPPED_KEY_LEN: usize = CONTENT_KEY_LEN + TAG_LEN;
/// One recipient stanza: `kid ‖ enc ‖ wrapped key`.
pub const STANZA_LEN: usize = KID_LEN + ENC_LEN + WRAPPED_KEY_LEN;
/// Header bytes before the stanzas (through the author's thumbprint and `n`).
pub const FIXED_HEADER_LEN: usize = MAGIC.len() + 6 + 4 + SALT_LEN + NONCE_PREFIX_LEN + KID_LEN + 1;
/// Key commitment length.
pub const COMMITMENT_LEN: usize = 32;
/// Bytes after the stanzas: key commitment and the author's header signature.
pub const HEADER_TAIL_LEN: usize = COMMITMENT_LEN + SIGNATURE_LEN;
/// The author's trailer signature after the final segment.
pub const TRAILER_LEN: usize = SIGNATURE_LEN;
/// Largest possible header.
pub const MAX_HEADER_LEN: usize = FIXED_HEADER_LEN + MAX_RECIPIENTS * STANZA_LEN + HEADER_TAIL_LEN;
/// HPKE `info` of the content-key wraps.
pub const WRAP_INFO: &[u8] = b"phiseal-stream-v2";
/// HKDF `info` of the segment key.
pub const SEGMENT_KEY_INFO: &[u8] = b"phiseal-stream-v2 segment key";
/// HKDF `info` of the key-commitment key.
pub const COMMITMENT_INFO: &[u8] = b"phiseal-stream-v2 commitment";
/// Label of the header signature.
pub const HEADER_SIGNATURE_LABEL: &[u8] = b"phiseal-stream-v2 header";
/// Label of the trailer signature.
pub const TRAILER_SIGNATURE_LABEL: &[u8] = b"phiseal-stream-v2 trailer";
/// Segment AAD length: SHA-384 of the header.
pub const AAD_LEN: usize = 48;

const TRUNCATED_HEADER: Error = Error::malformed("truncated stream header");
const FAILED_BEFORE: Error = Error::misuse("the stream failed or finished earlier");

fn check_segment_size(size: usize) -> Result<u32> {
    if !(MIN_SEGMENT_SIZE..=MAX_SEGMENT_SIZE).contains(&size) {
        return Err(Error::invalid_argument("segment size must be from 1 KiB to 16 MiB"));
    }
    u32::try_from(size).map_err(|_| Error::invalid_argument("segment size must be from 1 KiB to 16 MiB"))
}

/// `str8(label) ‖ bytes`.
fn labelled(label: &[u8], bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + label.len() + bytes.len());
    out.push(u8::try_from(label.len()).unwrap_or(u8::MAX));
    out.extend_from_slice(label);
    out.extend_from_slice(bytes);
    out
}

/// §8.2: `HMAC-SHA384(HKDF-SHA384(salt, content_key, COMMITMENT_INFO, 32), fixed ‖ stanzas)[..32]`.
fn key_commitment(content_key: &[u8], salt: &[u8], covered: &[u8]) -> Result<[u8; COMMITMENT_LEN]> {
    let mut k = Zeroizing::new([0u8; 32]);
    Kdf::Sha384.hkdf(salt, content_key, COMMITMENT_INFO, &mut k[..])?;
    let mut mac = <hmac::Hmac<Sha384> as hmac::KeyInit>::new_from_slice(&k[..])
        .map_err(|_| Error::invalid_argument("bad commitment key"))?;
    hmac::Mac::update(&mut mac, covered);
    let tag = hmac::Mac::finalize(mac).into_bytes();
    let mut out = [0u8; COMMITMENT_LEN];
    out.copy_from_slice(tag.get(..COMMITMENT_LEN).unwrap_or_default());
    Ok(out)
}

fn fixed_header(
    segment_size: u32,
    salt: &[u8; SALT_LEN],
    prefix: &[u8; NONCE_PREFIX_LEN],
    author: &[u8; KID_LEN],
    n: usize,
) -> Result<Vec<u8>> {
    let n = u8::try_from(n).ok().filter(|n| (1..=MAX_RECIPIENTS).contains(&usize::from(*n)));
    let n = n.ok_or(Error::invalid_argument("a stream needs 1 to 64 recipients"))?;
    let suite = Suite::PHISEAL;
    let mut h = Vec::with_capacity(FIXED_HEADER_LEN + usize::from(n) * STANZA_LEN);
    h.extend_from_slice(&MAGIC);
    h.extend_from_slice(&suite.kem_id().to_be_bytes());
    h.extend_from_slice(&suite.kdf().id().to_be_bytes());
    h.extend_from_slice(&suite.aead().id().to_be_bytes());
    h.extend_from_slice(&segment_size.to_be_bytes());
    h.extend_from_slice(salt);
    h.extend_from_slice(prefix);
    h.extend_from_slice(author);
    h.push(n);
    Ok(h)
}

fn array_at<const N: usize>(data: &[u8], at: usize) -> Result<[u8; N]> {
    let end = at.checked_add(N).ok_or(TRUNCATED_HEADER)?;
    let mut out = [0u8; N];
    out.copy_from_slice(data.get(at..end).ok_or(TRUNCATED_HEADER)?);
    Ok(out)
}

/// One recipient's wrap of the content key.
#[derive(Clone, Debug)]
pub struct Stanza {
    /// The recipient's RFC 7638 thumbprint (raw 32 bytes).
    pub kid: [u8; KID_LEN],
    /// HPKE `enc` and ciphertext of the content key.
    pub wrapped: Wrapped,
}

/// A parsed stream header (docs/FORMAT.md §8.1). Parsing checks structure
/// only; [`StreamHeader::verify_job`] checks its author's signature, and the
/// content key is checked against its commitment.
#[derive(Clone, Debug)]
pub struct StreamHeader {
    segment_size: u32,
    salt: [u8; SALT_LEN],
    nonce_prefix: [u8; NONCE_PREFIX_LEN],
    author: [u8; KID_LEN],
    stanzas: Vec<Stanza>,
    commitment: [u8; COMMITMENT_LEN],
    signature: [u8; SIGNATURE_LEN],
    bytes: Vec<u8>,
}

impl StreamHeader {
    /// Parses a header from the start of `data`: `Ok(None)` if more bytes
    /// are needed, else the header and its length in bytes.
    ///
    /// # Errors
    /// [`ErrorCode::MalformedInput`] if `data` is not a phiseal stream or
    /// has an out-of-range field; [`ErrorCode::Unsupported`] for another
    /// version or suite.
    pub fn parse(data: &[u8]) -> Result<Option<(Self, usize)>> {
        let seen = data.len().min(MAGIC.len());
        if data.get(..seen) != MAGIC.get(..seen) {
            return Err(if data.starts_with(b"phst") {
                Error::unsupported("unsupported phiseal stream version")
            } else {
                Error::malformed("not a phiseal stream (no phst2 header)")
            });
        }
        if data.len() < FIXED_HEADER_LEN {
            return Ok(None);
        }
        let suite = Suite::PHISEAL;
        let ids = [suite.kem_id(), suite.kdf().id(), suite.aead().id()];
        for (i, id) in ids.iter().enumerate() {
            if u16::from_be_bytes(array_at(data, MAGIC.len() + 2 * i)?) != *id {
                return Err(Error::unsupported("unsupported phiseal stream HPKE suite"));
            }
        }
        let segment_size = u32::from_be_bytes(array_at(data, 11)?);
        if check_segment_size(segment_size as usize).is_err() {
            return Err(Error::malformed("stream segment size out of range"));
        }
        let salt = array_at(data, 15)?;
        let nonce_prefix = array_at(data, 15 + SALT_LEN)?;
        let author = array_at(data, 15 + SALT_LEN + NONCE_PREFIX_LEN)?;
        let [n] = array_at::<1>(data, FIXED_HEADER_LEN - 1)?;
        let n = usize::from(n);
        if !(1..=MAX_RECIPIENTS).contains(&n) {
            return Err(Error::malformed("a stream header names 1 to 64 recipients"));
        }
        let total = FIXED_HEADER_LEN + n * STANZA_LEN + HEADER_TAIL_LEN;
        let Some(bytes) = data.get(..total) else { return Ok(None) };
        let mut stanzas = Vec::with_capacity(n);
        for i in 0..n {
            let at = FIXED_HEADER_LEN + i * STANZA_LEN;
            let enc = bytes.get(at + KID_LEN..at + KID_LEN + ENC_LEN).ok_or(TRUNCATED_HEADER)?.to_vec();
            let ct = bytes.get(at + KID_LEN + ENC_LEN..at + STANZA_LEN).ok_or(TRUNCATED_HEADER)?.to_vec();
            let kid = array_at(bytes, at)?;
            if stanzas.iter().any(|s: &Stanza| s.kid == kid) {
                return Err(Error::malformed("a stream header names each recipient once"));
            }
            stanzas.push(Stanza { kid, wrapped: Wrapped { enc, ct } });
        }
        let tail = FIXED_HEADER_LEN + n * STANZA_LEN;
        let commitment = array_at(bytes, tail)?;
        let signature = array_at(bytes, tail + COMMITMENT_LEN)?;
        let header =
            Self { segment_size, salt, nonce_prefix, author, stanzas, commitment, signature, bytes: bytes.to_vec() };
        Ok(Some((header, total)))
    }

    /// The length of the header at the start of `data`, `Ok(None)` if more
    /// bytes are needed.
    ///
    /// # Errors
    /// As [`StreamHeader::parse`].
    pub fn length(data: &[u8]) -> Result<Option<usize>> {
        Ok(Self::parse(data)?.map(|(_, n)| n))
    }

    /// Plaintext bytes per segment.
    #[must_use]
    pub const fn segment_size(&self) -> usize {
        self.segment_size as usize
    }

    /// The encoded header.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The author's key id (raw RFC 7638 thumbprint).
    #[must_use]
    pub const fn author(&self) -> &[u8; KID_LEN] {
        &self.author
    }

    /// The check of the author's header signature, with the trusted key the
    /// header names.
    ///
    /// # Errors
    /// [`ErrorCode::UntrustedAuthor`] if the author is not among `authors`.
    pub fn verify_job(&self, authors: &[PublicKey]) -> Result<VerifyJob> {
        let key = authors
            .iter()
            .find(|k| k.thumbprint() == self.author)
            .ok_or(Error::new(ErrorCode::UntrustedAuthor, "the stream's author is not among the trusted authors"))?;
        let signed = self.bytes.get(..self.bytes.len() - SIGNATURE_LEN).ok_or(TRUNCATED_HEADER)?;
        Ok(VerifyJob { key: *key, message: labelled(HEADER_SIGNATURE_LABEL, signed), signature: self.signature })
    }

    /// The recipient stanzas, in header order.
    #[must_use]
    pub fn stanzas(&self) -> &[Stanza] {
        &self.stanzas
    }

    /// The HPKE job that unwraps the content key for `me`.
    ///
    /// # Errors
    /// [`ErrorCode::NotRecipient`] if no stanza names `me`.
    pub fn unwrap_job(&self, me: &PublicKey) -> Result<UnwrapJob> {
        let kid = me.thumbprint();
        let stanza = self.stanzas.iter().find(|s| s.kid == kid);
        let stanza = stanza.ok_or(Error::new(ErrorCode::NotRecipient, "this key is not a recipient of the stream"))?;
        let aad = self.bytes.get(..FIXED_HEADER_LEN).ok_or(TRUNCATED_HEADER)?.to_vec();
        Ok(UnwrapJob { enc: stanza.wrapped.enc.clone(), ct: stanza.wrapped.ct.clone(), info: WRAP_INFO.to_vec(), aad })
    }
}

/// The per-stream segment key, nonce prefix and AAD. Zeroized on drop.
struct SegmentKeys {
    key: Zeroizing<[u8; CONTENT_KEY_LEN]>,
    nonce_prefix: [u8; NONCE_PREFIX_LEN],
    aad: [u8; AAD_LEN],
    segment_size: usize,
    exported: bool,
}

impl SegmentKeys {
    /// §8.2: `HKDF-SHA384(salt, content_key, SEGMENT_KEY_INFO, 32)`, AAD
    /// `SHA-384(header)`, after checking the content key against the
    /// header's commitment (so every recipient holds the same key).
    fn derive(content_key: &[u8], header: &StreamHeader) -> Result<Self> {
        if content_key.len() != CONTENT_KEY_LEN {
            return Err(Error::DECRYPT_FAILED);
        }
        let covered = header.bytes.get(..header.bytes.len() - HEADER_TAIL_LEN).ok_or(TRUNCATED_HEADER)?;
        let expected = key_commitment(content_key, &header.salt, covered)?;
        if !bool::from(subtle::ConstantTimeEq::ct_eq(&expected[..], &header.commitment[..])) {
            return Err(Error::DECRYPT_FAILED);
        }
        let mut key = Zeroizing::new([0u8; CONTENT_KEY_LEN]);
        Kdf::Sha384.hkdf(&header.salt, content_key, SEGMENT_KEY_INFO, &mut key[..])?;
        let mut aad = [0u8; AAD_LEN];
        aad.copy_from_slice(&Sha384::digest(&header.bytes));
        Ok(Self { key, nonce_prefix: header.nonce_prefix, aad, segment_size: header.segment_size(), exported: false })
    }

    /// §8.3: `nonce_prefix ‖ u32 BE index ‖ u8 last`.
    fn nonce(&self, index: u32, last: bool) -> [u8; NONCE_LEN] {
        let mut n = [0u8; NONCE_LEN];
        let (prefix, rest) = n.split_at_mut(NONCE_PREFIX_LEN);
        prefix.copy_from_slice(&self.nonce_prefix);
        let (counter, flag) = rest.split_at_mut(4);
        counter.copy_from_slice(&index.to_be_bytes());
        flag.fill(u8::from(last));
        n
    }

    fn export(&mut self) -> Result<Zeroizing<[u8; CONTENT_KEY_LEN]>> {
        if self.exported {
            return Err(Error::misuse("the segment key was handed out already"));
        }
        self.exported = true;
        Ok(Zeroizing::new(*self.key))
    }
}

/// AES-256-GCM of one segment with RustCrypto: `ct ‖ tag`. Test-only
/// (feature `hazmat`): the nonce is a parameter, so a caller could reuse
/// one; applications seal through [`StreamEncryptor`], whose nonces are
/// never a parameter.
///
/// # Errors
/// [`ErrorCode::InvalidArgument`] for a key of the wrong length.
#[cfg(feature = "hazmat")]
pub fn seal_segment(key: &[u8], nonce: &[u8; NONCE_LEN], aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
    seal_one(key, nonce, aad, plaintext)
}

fn seal_one(key: &[u8], nonce: &[u8; NONCE_LEN], aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
    AesGcm::Aes256.seal_raw(key, nonce, aad, plaintext)
}

/// Opens one segment with RustCrypto; nothing is returned unless the tag verifies.
///
/// # Errors
/// [`ErrorCode::DecryptFailed`] on any authentication failure.
pub fn open_segment(key: &[u8], nonce: &[u8; NONCE_LEN], aad: &[u8], ciphertext: &[u8]) -> Result<Vec<u8>> {
    AesGcm::Aes256.open(key, nonce, aad, ciphertext)
}

/// A segment to seal with an external AES-256-GCM (key from
/// `export_segment_key`, AAD from `aad`).
pub struct PlainSegment {
    /// Segment index.
    pub index: u32,
    /// Whether this is the final segment.
    pub last: bool,
    /// The nonce to use.
    pub nonce: [u8; NONCE_LEN],
    /// The segment's plaintext (zeroized on drop).
    pub plaintext: Zeroizing<Vec<u8>>,
}

/// A segment to open with an external AES-256-GCM.
#[derive(Clone, Debug)]
pub struct SealedSegment {
    /// Segment index.
    pub index: u32,
    /// Whether this is the final segment.
    pub last: bool,
    /// The nonce to use.
    pub nonce: [u8; NONCE_LEN],
    /// `ct ‖ tag`.
    pub ciphertext: Vec<u8>,
}

impl fmt::Debug for PlainSegment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlainSegment").field("index", &self.index).field("last", &self.last).finish_non_exhaustive()
    }
}

/// Cuts `input` into `seg`-byte pieces, keeping at most one piece in `buf`:
/// a full piece is released only once a further byte follows it, so it is
/// known not to be the last.
fn split_segments(
    buf: &mut Vec<u8>,
    seg: usize,
    mut input: &[u8],
    emit: &mut dyn FnMut(&[u8]) -> Result<()>,
) -> Result<()> {
    loop {
        if buf.len() >= seg && !input.is_empty() {
            emit(buf)?;
            // The plaintext buffer is `Zeroizing`: its whole capacity is wiped on drop.
            buf.clear();
        }
        if buf.is_empty() {
            while input.len() > seg {
                let (head, rest) = input.split_at_checked(seg).ok_or(Error::misuse("segment split"))?;
                emit(head)?;
                input = rest;
            }
        }
        if input.is_empty() {
            return Ok(());
        }
        let take = seg.saturating_sub(buf.len()).min(input.len());
        let (head, rest) = input.split_at_checked(take).ok_or(Error::misuse("segment split"))?;
        buf.extend_from_slice(head);
        input = rest;
    }
}

/// Receives each non-final segment to seal: index, nonce, plaintext.
type SealSink<'a> = dyn FnMut(u32, [u8; NONCE_LEN], &[u8]) -> Result<()> + 'a;
/// Receives each non-final segment to open: keys, index, ciphertext.
type OpenSink<'a> = dyn FnMut(&SegmentKeys, u32, &[u8]) -> Result<()> + 'a;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Open,
    Done,
}

/// A stream being planned: run every [`WrapJob`] (in order), then
/// [`EncryptPlan::finish`].
pub struct EncryptPlan {
    content_key: Zeroizing<[u8; CONTENT_KEY_LEN]>,
    fixed: Vec<u8>,
    salt: [u8; SALT_LEN],
    kids: Vec<[u8; KID_LEN]>,
}

/// A stream header waiting for its author's signature over
/// [`HeaderSignPlan::message`].
pub struct HeaderSignPlan {
    content_key: Zeroizing<[u8; CONTENT_KEY_LEN]>,
    bytes: Vec<u8>,
}

impl fmt::Debug for HeaderSignPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HeaderSignPlan").finish_non_exhaustive()
    }
}

impl HeaderSignPlan {
    /// `str8("phiseal-stream-v2 header") ‖ fixed ‖ stanzas ‖ commitment`.
    #[must_use]
    pub fn message(&self) -> Vec<u8> {
        labelled(HEADER_SIGNATURE_LABEL, &self.bytes)
    }

    /// Starts the stream with the signed header.
    ///
    /// # Errors
    /// [`ErrorCode::InvalidArgument`] for a signature that is not 96 bytes.
    pub fn finish(self, signature: &[u8]) -> Result<StreamEncryptor> {
        if signature.len() != SIGNATURE_LEN {
            return Err(Error::invalid_argument("an author signature is 96 bytes (P1363 r ‖ s)"));
        }
        let mut bytes = self.bytes;
        bytes.extend_from_slice(signature);
        let (header, _) = StreamHeader::parse(&bytes)?.ok_or(TRUNCATED_HEADER)?;
        let keys = SegmentKeys::derive(&self.content_key[..], &header)?;
        let mut transcript = Sha384::new();
        transcript.update(&bytes);
        Ok(StreamEncryptor {
            keys,
            header: Some(bytes),
            buf: Zeroizing::new(Vec::new()),
            next: 0,
            phase: Phase::Open,
            transcript,
            absorbed: 0,
            trailer_done: false,
        })
    }

    /// Signs with a RustCrypto key and starts the stream.
    ///
    /// # Errors
    /// As [`HeaderSignPlan::finish`].
    pub fn sign(self, author: &SigningKey) -> Result<StreamEncryptor> {
        let signature = author.sign(&self.message())?;
        self.finish(&signature)
    }
}

impl fmt::Debug for EncryptPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncryptPlan").field("recipients", &self.kids.len()).finish_non_exhaustive()
    }
}

impl EncryptPlan {
    /// Builds the header from the wrap results (in job order) and its key
    /// commitment; the author then signs it ([`HeaderSignPlan`]).
    ///
    /// # Errors
    /// [`ErrorCode::InvalidArgument`] if the results do not fit the plan.
    pub fn finish(self, wrapped: &[Wrapped]) -> Result<HeaderSignPlan> {
        if wrapped.len() != self.kids.len() {
            return Err(Error::invalid_argument("wrap results do not match the plan"));
        }
        let mut bytes = self.fixed;
        for (kid, w) in self.kids.iter().zip(wrapped) {
            if w.enc.len() != ENC_LEN || w.ct.len() != WRAPPED_KEY_LEN {
                return Err(Error::invalid_argument("wrapped key has the wrong length"));
            }
            bytes.extend_from_slice(kid);
            bytes.extend_from_slice(&w.enc);
            bytes.extend_from_slice(&w.ct);
        }
        let commitment = key_commitment(&self.content_key[..], &self.salt, &bytes)?;
        bytes.extend_from_slice(&commitment);
        Ok(HeaderSignPlan { content_key: self.content_key, bytes })
    }
}

/// Encrypts one stream incrementally. Output is header, then whole
/// segments; at most one segment of plaintext is buffered.
pub struct StreamEncryptor {
    keys: SegmentKeys,
    header: Option<Vec<u8>>,
    buf: Zeroizing<Vec<u8>>,
    next: u32,
    phase: Phase,
    /// SHA-384 of the header and every segment so far (the trailer signs it).
    transcript: Sha384,
    /// Segments added to the transcript.
    absorbed: u64,
    trailer_done: bool,
}

impl fmt::Debug for StreamEncryptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamEncryptor")
            .field("segment_size", &self.keys.segment_size)
            .field("next_segment", &self.next)
            .finish_non_exhaustive()
    }
}

impl StreamEncryptor {
    /// Plans a stream to `recipients`: a fresh content key, salt and nonce
    /// prefix, and one HPKE [`WrapJob`] per recipient (run them with
    /// RustCrypto or WebCrypto, then [`EncryptPlan::finish`]).
    ///
    /// # Errors
    /// [`ErrorCode::InvalidArgument`] for a segment size outside 1 KiB..=16
    /// MiB or not 1 to 64 recipients; [`ErrorCode::RngFailed`].
    pub fn plan(
        recipients: &[PublicKey],
        segment_size: usize,
        author: &PublicKey,
    ) -> Result<(EncryptPlan, Vec<WrapJob>)> {
        let mut content_key = Zeroizing::new([0u8; CONTENT_KEY_LEN]);
        let (mut salt, mut prefix) = ([0u8; SALT_LEN], [0u8; NONCE_PREFIX_LEN]);
        random_bytes(&mut content_key[..])?;
        random_bytes(&mut salt)?;
        random_bytes(&mut prefix)?;
        Self::plan_with(recipients, segment_size, content_key, &salt, &prefix, author)
    }

    fn plan_with(
        recipients: &[PublicKey],
        segment_size: usize,
        content_key: Zeroizing<[u8; CONTENT_KEY_LEN]>,
        salt: &[u8; SALT_LEN],
        prefix: &[u8; NONCE_PREFIX_LEN],
        author: &PublicKey,
    ) -> Result<(EncryptPlan, Vec<WrapJob>)> {
        let kids: Vec<[u8; KID_LEN]> = recipients.iter().map(PublicKey::thumbprint).collect();
        if kids.iter().enumerate().any(|(i, a)| kids.iter().skip(i + 1).any(|b| a == b)) {
            return Err(Error::invalid_argument("a recipient is listed twice"));
        }
        let fixed =
            fixed_header(check_segment_size(segment_size)?, salt, prefix, &author.thumbprint(), recipients.len())?;
        let jobs = recipients
            .iter()
            .map(|r| WrapJob {
                recipient: *r,
                info: WRAP_INFO.to_vec(),
                aad: fixed.clone(),
                secret: Zeroizing::new(content_key.to_vec()),
            })
            .collect();
        Ok((EncryptPlan { content_key, fixed, salt: *salt, kids }, jobs))
    }

    /// A stream to `recipients` signed by `author`, with HPKE in RustCrypto.
    ///
    /// # Errors
    /// As [`StreamEncryptor::plan`].
    pub fn new(recipients: &[PublicKey], segment_size: usize, author: &SigningKey) -> Result<Self> {
        let (plan, jobs) = Self::plan(recipients, segment_size, &author.verifying_key())?;
        let wrapped = jobs.iter().map(WrapJob::run).collect::<Result<Vec<_>>>()?;
        plan.finish(&wrapped)?.sign(author)
    }

    /// **Test only; never use for data.** A fully deterministic stream:
    /// given content key, salt, nonce prefix and HPKE ephemeral keys derived
    /// from `ephemeral_ikm` (RFC 9180 `DeriveKeyPair(ikm ‖ recipient index)`).
    /// Reusing these values across streams reuses AES-GCM nonces.
    ///
    /// # Errors
    /// As [`StreamEncryptor::plan`]; `ephemeral_ikm` must have 48 bytes or more.
    #[cfg(feature = "hazmat")]
    pub fn dangerous_with_fixed_salt(
        recipients: &[PublicKey],
        segment_size: usize,
        content_key: &[u8; CONTENT_KEY_LEN],
        salt: &[u8; SALT_LEN],
        nonce_prefix: &[u8; NONCE_PREFIX_LEN],
        ephemeral_ikm: &[u8],
        author: &SigningKey,
    ) -> Result<Self> {
        let (plan, jobs) = Self::plan_with(
            recipients,
            segment_size,
            Zeroizing::new(*content_key),
            salt,
            nonce_prefix,
            &author.verifying_key(),
        )?;
        let mut wrapped = Vec::with_capacity(jobs.len());
        for (i, job) in jobs.iter().enumerate() {
            let mut ikm = Zeroizing::new(ephemeral_ikm.to_vec());
            ikm.push(u8::try_from(i).map_err(|_| Error::invalid_argument("too many recipients"))?);
            let sk_e = crate::hpke::derive_key_pair(&ikm)?;
            let (enc, mut ctx) =
                crate::hpke::setup_sender_with_ephemeral(Suite::PHISEAL, &job.recipient, &job.info, None, None, &sk_e)?;
            wrapped.push(Wrapped { enc, ct: ctx.seal(&job.aad, &job.secret)? });
        }
        plan.finish(&wrapped)?.sign(author)
    }

    /// The header, once: later output does not repeat it. `push` and
    /// `finish` prepend it if it was not taken.
    pub fn take_header(&mut self) -> Option<Vec<u8>> {
        self.header.take()
    }

    /// The AAD of every segment: `SHA-384(header)`.
    #[must_use]
    pub const fn aad(&self) -> &[u8; AAD_LEN] {
        &self.keys.aad
    }

    /// Plaintext bytes per segment.
    #[must_use]
    pub const fn segment_size(&self) -> usize {
        self.keys.segment_size
    }

    /// Plaintext bytes buffered (at most one segment).
    #[must_use]
    pub fn buffered_len(&self) -> usize {
        self.buf.len()
    }

    /// The segment key, once, for an external AES-GCM (e.g. to import into
    /// WebCrypto as a non-extractable key).
    ///
    /// # Errors
    /// [`ErrorCode::Misuse`] on a second call.
    pub fn export_segment_key(&mut self) -> Result<Zeroizing<[u8; CONTENT_KEY_LEN]>> {
        self.keys.export()
    }

    /// Cuts `data` into whole non-final segments for an external AES-GCM.
    /// Seal each with its nonce and [`StreamEncryptor::aad`], and emit them
    /// in order after the header.
    ///
    /// # Errors
    /// [`ErrorCode::Misuse`] after `finish` or if the segment counter is exhausted.
    pub fn push_segments(&mut self, data: &[u8]) -> Result<Vec<PlainSegment>> {
        let mut out = Vec::new();
        self.frame(data, &mut |index, nonce, pt| {
            out.push(PlainSegment { index, last: false, nonce, plaintext: Zeroizing::new(pt.to_vec()) });
            Ok(())
        })?;
        Ok(out)
    }

    /// The final segment for an external AES-GCM.
    ///
    /// # Errors
    /// [`ErrorCode::Misuse`] if the stream was finished already.
    pub fn finish_segment(&mut self) -> Result<PlainSegment> {
        self.check_open()?;
        self.phase = Phase::Done;
        let plaintext = Zeroizing::new(core::mem::take(&mut *self.buf));
        Ok(PlainSegment { index: self.next, last: true, nonce: self.keys.nonce(self.next, true), plaintext })
    }

    /// Encrypts more input with RustCrypto AES-GCM: returns the header (the
    /// first time) and every segment completed so far.
    ///
    /// # Errors
    /// [`ErrorCode::Misuse`] after `finish` or if the segment counter is exhausted.
    pub fn push(&mut self, data: &[u8]) -> Result<Vec<u8>> {
        let mut out = self.header.take().unwrap_or_default();
        let (key, aad) = (self.keys.key.clone(), self.keys.aad);
        let mut cts = Vec::new();
        self.frame(data, &mut |_, nonce, pt| {
            cts.push(seal_one(&key[..], &nonce, &aad, pt)?);
            Ok(())
        })?;
        for ct in cts {
            self.transcript.update(&ct);
            self.absorbed += 1;
            out.extend_from_slice(&ct);
        }
        Ok(out)
    }

    /// Adds a segment sealed by an external AES-GCM to the transcript the
    /// trailer signs: call it for every segment, in order, with exactly the
    /// bytes emitted.
    ///
    /// # Errors
    /// [`ErrorCode::Misuse`] for more segments than were handed out.
    pub fn absorb(&mut self, ciphertext: &[u8]) -> Result<()> {
        let handed_out = u64::from(self.next) + u64::from(self.phase == Phase::Done);
        if self.absorbed >= handed_out || self.trailer_done {
            return Err(Error::misuse("more segments absorbed than were sealed"));
        }
        self.transcript.update(ciphertext);
        self.absorbed += 1;
        Ok(())
    }

    /// What the author signs once the final segment is out (once):
    /// `str8("phiseal-stream-v2 trailer") ‖ SHA-384(header ‖ every segment)`.
    /// The 96-byte P1363 signature over it is the trailer, the stream's last bytes.
    ///
    /// # Errors
    /// [`ErrorCode::Misuse`] before the final segment, if a segment was not
    /// absorbed, or on a second call.
    pub fn trailer_message(&mut self) -> Result<Vec<u8>> {
        if self.phase != Phase::Done || self.absorbed != u64::from(self.next) + 1 || self.trailer_done {
            return Err(Error::misuse("the trailer follows the final segment, once, after every segment was absorbed"));
        }
        self.trailer_done = true;
        Ok(labelled(TRAILER_SIGNATURE_LABEL, &self.transcript.clone().finalize()))
    }

    /// Ends the stream with RustCrypto AES-GCM and a RustCrypto author key:
    /// header if not yet out, final segment and trailer.
    ///
    /// # Errors
    /// As [`StreamEncryptor::finish`] and [`StreamEncryptor::trailer_message`].
    pub fn finish_signed(&mut self, author: &SigningKey) -> Result<Vec<u8>> {
        let mut out = self.finish()?;
        out.extend_from_slice(&author.sign(&self.trailer_message()?)?);
        Ok(out)
    }

    /// Ends the stream with RustCrypto AES-GCM: the header if not yet
    /// emitted and the final segment (possibly empty).
    ///
    /// # Errors
    /// [`ErrorCode::Misuse`] if the stream was finished already.
    pub fn finish(&mut self) -> Result<Vec<u8>> {
        let mut out = self.header.take().unwrap_or_default();
        let seg = self.finish_segment()?;
        let ct = seal_one(&self.keys.key[..], &seg.nonce, &self.keys.aad, &seg.plaintext)?;
        self.absorb(&ct)?;
        out.extend_from_slice(&ct);
        Ok(out)
    }

    /// **Test only.** Moves the segment counter forward to `index` (never
    /// back, so no nonce is reused), to test counter exhaustion.
    ///
    /// # Errors
    /// [`ErrorCode::Misuse`] if `index` is behind the counter.
    #[cfg(feature = "hazmat")]
    pub fn dangerous_skip_to_segment(&mut self, index: u32) -> Result<()> {
        if index < self.next {
            return Err(Error::misuse("the segment counter only moves forward"));
        }
        self.next = index;
        Ok(())
    }

    fn check_open(&self) -> Result<()> {
        if self.phase == Phase::Open { Ok(()) } else { Err(FAILED_BEFORE) }
    }

    fn frame(&mut self, data: &[u8], sink: &mut SealSink<'_>) -> Result<()> {
        self.check_open()?;
        let Self { keys, buf, next, phase, .. } = self;
        let result = split_segments(buf, keys.segment_size, data, &mut |pt| {
            if *next == u32::MAX {
                return Err(Error::misuse("stream segment counter exhausted (2^32 segments)"));
            }
            sink(*next, keys.nonce(*next, false), pt)?;
            *next += 1;
            Ok(())
        });
        if result.is_err() {
            *phase = Phase::Done;
        }
        result
    }
}

/// The state of a decryptor's body: segment keys, one buffered segment and
/// the trailer's bytes, counter, transcript, the author's key.
struct Body {
    keys: SegmentKeys,
    buf: Vec<u8>,
    next: u32,
    transcript: Sha384,
    author: PublicKey,
}

impl Body {
    /// Takes the final segment and the trailer off the buffer, checks the
    /// trailer signature over the whole transcript, and returns the final
    /// segment's index and ciphertext.
    fn final_segment(self) -> Result<(SegmentKeys, u32, Vec<u8>)> {
        let Self { keys, mut buf, next, mut transcript, author } = self;
        if buf.len() < TAG_LEN + TRAILER_LEN {
            return Err(Error::DECRYPT_FAILED);
        }
        let signature = buf.split_off(buf.len() - TRAILER_LEN);
        transcript.update(&buf);
        let message = labelled(TRAILER_SIGNATURE_LABEL, &transcript.finalize());
        crate::sign::verify_p1363(&author, &message, &signature)
            .map_err(|_| Error::new(ErrorCode::InvalidSignature, "the stream is not what its author signed"))?;
        Ok((keys, next, buf))
    }
}

enum DecState {
    Header { key: PrivateKey, authors: Vec<PublicKey>, buf: Vec<u8> },
    Body(Box<Body>),
    Done,
}

/// Decrypts one stream incrementally: push ciphertext in chunks of any
/// size; plaintext comes out only for authenticated segments. At most one
/// ciphertext segment (or the header) is buffered.
pub struct StreamDecryptor {
    state: DecState,
}

impl fmt::Debug for StreamDecryptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let phase = match &self.state {
            DecState::Header { .. } => "header",
            DecState::Body(_) => "body",
            DecState::Done => "done",
        };
        f.debug_struct("StreamDecryptor").field("phase", &phase).finish_non_exhaustive()
    }
}

impl StreamDecryptor {
    /// A decryptor that reads the header itself, accepts only a stream by
    /// one of `authors`, and unwraps the content key with `key` (RustCrypto).
    #[must_use]
    pub fn new(key: &PrivateKey, authors: &[PublicKey]) -> Self {
        Self { state: DecState::Header { key: key.clone(), authors: authors.to_vec(), buf: Vec::new() } }
    }

    /// A decryptor for the segments after `header`, given the proof that its
    /// [`StreamHeader::verify_job`] succeeded and the unwrapped content key
    /// (the result of [`StreamHeader::unwrap_job`], run anywhere).
    ///
    /// # Errors
    /// [`ErrorCode::InvalidSignature`] without the proof of this header's
    /// job; [`ErrorCode::DecryptFailed`] if the key did not unwrap (any HPKE
    /// or `enc` failure), has the wrong length or is not the committed key;
    /// other errors (platform) pass through.
    pub fn from_unwrapped(
        header: &StreamHeader,
        verify: &VerifyJob,
        verified: &Verified,
        content_key: Result<Zeroizing<Vec<u8>>>,
    ) -> Result<Self> {
        let expected = header.verify_job(core::slice::from_ref(&verify.key))?;
        if !expected.accepts(verified) || !verify.accepts(verified) {
            return Err(Error::new(ErrorCode::InvalidSignature, "the stream header's signature was not verified"));
        }
        let content_key = content_key.map_err(|e| match e.code() {
            ErrorCode::InvalidKey | ErrorCode::DecryptFailed | ErrorCode::MalformedInput => Error::DECRYPT_FAILED,
            _ => e,
        })?;
        let keys = SegmentKeys::derive(&content_key, header)?;
        let mut transcript = Sha384::new();
        transcript.update(&header.bytes);
        Ok(Self {
            state: DecState::Body(Box::new(Body { keys, buf: Vec::new(), next: 0, transcript, author: verify.key })),
        })
    }

    /// Bytes buffered: the header while it is incomplete, then at most one
    /// ciphertext segment (`segment_size + 16`).
    #[must_use]
    pub fn buffered_len(&self) -> usize {
        match &self.state {
            DecState::Header { buf, .. } => buf.len(),
            DecState::Body(b) => b.buf.len(),
            DecState::Done => 0,
        }
    }

    /// The segment AAD, once the header is read.
    #[must_use]
    pub fn aad(&self) -> Option<&[u8; AAD_LEN]> {
        match &self.state {
            DecState::Body(b) => Some(&b.keys.aad),
            _ => None,
        }
    }

    /// The segment key, once, for an external AES-GCM.
    ///
    /// # Errors
    /// [`ErrorCode::Misuse`] before the header is read or on a second call.
    pub fn export_segment_key(&mut self) -> Result<Zeroizing<[u8; CONTENT_KEY_LEN]>> {
        match &mut self.state {
            DecState::Body(b) => b.keys.export(),
            _ => Err(Error::misuse("the stream header has not been read")),
        }
    }

    /// Decrypts more input with RustCrypto: the plaintext of every segment
    /// completed and authenticated so far.
    ///
    /// # Errors
    /// [`ErrorCode::DecryptFailed`] for a segment that does not
    /// authenticate; header errors as [`StreamHeader::parse`] and
    /// [`StreamHeader::unwrap_job`]; [`ErrorCode::Misuse`] after an error or `finish`.
    pub fn push(&mut self, data: &[u8]) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        let result = self.push_inner(data, &mut |keys, index, ct| {
            out.extend_from_slice(&open_segment(&keys.key[..], &keys.nonce(index, false), &keys.aad, ct)?);
            Ok(())
        });
        self.fail_on(result).map(|()| out)
    }

    /// Ends the stream with RustCrypto: the final segment's plaintext.
    ///
    /// # Errors
    /// [`ErrorCode::DecryptFailed`] if the stream is truncated or the final
    /// segment does not authenticate.
    pub fn finish(&mut self) -> Result<Vec<u8>> {
        let body = match core::mem::replace(&mut self.state, DecState::Done) {
            DecState::Body(body) => body,
            DecState::Header { .. } => return Err(Error::DECRYPT_FAILED),
            DecState::Done => return Err(FAILED_BEFORE),
        };
        // The trailer first (as finish_segment does), then the final segment.
        let (keys, index, ct) = body.final_segment()?;
        let plaintext = open_segment(&keys.key[..], &keys.nonce(index, true), &keys.aad, &ct)?;
        Ok(plaintext)
    }

    /// Cuts more input into whole non-final segments for an external
    /// AES-GCM (open each with its nonce and the AAD, in order).
    ///
    /// # Errors
    /// As [`StreamDecryptor::push`], except that tags are not checked here.
    pub fn push_segments(&mut self, data: &[u8]) -> Result<Vec<SealedSegment>> {
        let mut out = Vec::new();
        let result = self.push_inner(data, &mut |keys, index, ct| {
            out.push(SealedSegment { index, last: false, nonce: keys.nonce(index, false), ciphertext: ct.to_vec() });
            Ok(())
        });
        self.fail_on(result).map(|()| out)
    }

    /// The final segment for an external AES-GCM.
    ///
    /// # Errors
    /// [`ErrorCode::DecryptFailed`] if the stream is truncated (too short
    /// for a final segment); [`ErrorCode::Misuse`] after an error or `finish`.
    pub fn finish_segment(&mut self) -> Result<SealedSegment> {
        match core::mem::replace(&mut self.state, DecState::Done) {
            DecState::Body(body) => {
                let (keys, next, buf) = body.final_segment()?;
                Ok(SealedSegment { index: next, last: true, nonce: keys.nonce(next, true), ciphertext: buf })
            }
            DecState::Done => Err(FAILED_BEFORE),
            DecState::Header { .. } => Err(Error::DECRYPT_FAILED),
        }
    }

    fn fail_on(&mut self, result: Result<()>) -> Result<()> {
        if result.is_err() {
            self.state = DecState::Done;
        }
        result
    }

    fn push_inner(&mut self, mut data: &[u8], open: &mut OpenSink<'_>) -> Result<()> {
        if let DecState::Header { key, authors, buf } = &mut self.state {
            // Take only the header's bytes, so the buffer never holds more.
            loop {
                let need = match StreamHeader::parse(buf)? {
                    Some(_) => break,
                    None if buf.len() < FIXED_HEADER_LEN => FIXED_HEADER_LEN,
                    None => {
                        let n = buf.get(FIXED_HEADER_LEN - 1).copied().unwrap_or_default();
                        FIXED_HEADER_LEN + usize::from(n) * STANZA_LEN + HEADER_TAIL_LEN
                    }
                };
                if data.is_empty() {
                    return Ok(());
                }
                let take = need.saturating_sub(buf.len()).min(data.len());
                let (head, rest) = data.split_at_checked(take).ok_or(TRUNCATED_HEADER)?;
                buf.extend_from_slice(head);
                data = rest;
            }
            let (header, _) = StreamHeader::parse(buf)?.ok_or(TRUNCATED_HEADER)?;
            let verify = header.verify_job(authors)?;
            let job = header.unwrap_job(key.public_key())?;
            let verified = verify.run()?;
            let content_key = job.run(key);
            *self = Self::from_unwrapped(&header, &verify, &verified, content_key)?;
        }
        let DecState::Body(body) = &mut self.state else {
            return Err(FAILED_BEFORE);
        };
        let Body { keys, buf, next, transcript, .. } = &mut **body;
        let seg = keys.segment_size + TAG_LEN;
        // A segment is non-final exactly when more than the trailer follows it.
        let keep = seg + TRAILER_LEN;
        loop {
            while buf.len() > keep {
                // A non-final segment at the last index could never have been written.
                if *next == u32::MAX {
                    return Err(Error::DECRYPT_FAILED);
                }
                let ct = buf.get(..seg).ok_or(TRUNCATED_HEADER)?;
                transcript.update(ct);
                open(keys, *next, ct)?;
                *next += 1;
                buf.drain(..seg);
            }
            if data.is_empty() {
                return Ok(());
            }
            let take = (keep + 1).saturating_sub(buf.len()).min(data.len());
            let (head, rest) = data.split_at_checked(take).ok_or(TRUNCATED_HEADER)?;
            buf.extend_from_slice(head);
            data = rest;
        }
    }
}
