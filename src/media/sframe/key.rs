//! SFrame key derivation (RFC 9605 §4.4.2), encryption (§4.4.3),
//! decryption (§4.4.4) and the sender-key ratchet (§5.1).

use zeroize::Zeroizing;

use super::header::{Counter, KeyId, SframeHeader};
use super::suite::{CipherSuite, NONCE_LEN};
use crate::error::{Error, Result};
use crate::kdf::Prk;

/// RFC 9605 §4.4.2: HKDF-Expand label prefix for `sframe_key`.
pub(crate) const KEY_LABEL: &[u8] = b"SFrame 1.0 Secret key ";
/// RFC 9605 §4.4.2: HKDF-Expand label prefix for `sframe_salt`.
pub(crate) const SALT_LABEL: &[u8] = b"SFrame 1.0 Secret salt ";
/// RFC 9605 §5.1: HKDF-Expand label of the sender-key ratchet.
const RATCHET_LABEL: &[u8] = b"SFrame 1.0 Ratchet";

/// The shortest base key phiseal accepts (128 bits). RFC 9605 sets no
/// minimum; a shorter key would be the weakest link of every suite.
pub const MIN_BASE_KEY_LEN: usize = 16;

#[cfg(feature = "conformance")]
/// RFC 9605 §4.4.2 `label || KID (8 bytes BE) || cipher_suite (2 bytes BE)`.
pub(crate) fn info_label(prefix: &[u8], kid: KeyId, suite: CipherSuite) -> Vec<u8> {
    [prefix, &kid.to_be_bytes(), &suite.id().to_be_bytes()].concat()
}

/// Everything RFC 9605 §4.4.2 derives from a base key (zeroized on drop).
pub(crate) struct Derived {
    /// `sframe_secret = HKDF-Extract("", base_key)`.
    #[cfg_attr(not(feature = "conformance"), allow(dead_code))]
    pub(crate) secret: Prk,
    /// `sframe_key`, `Nk` bytes.
    pub(crate) key: Zeroizing<Vec<u8>>,
    /// `sframe_salt`, `Nn` bytes.
    pub(crate) salt: Zeroizing<[u8; NONCE_LEN]>,
}

/// RFC 9605 §4.4.2 key and salt derivation.
pub(crate) fn derive(suite: CipherSuite, kid: KeyId, base_key: &[u8]) -> Result<Derived> {
    let kdf = suite.kdf();
    let secret = kdf.extract_parts(&[], &[base_key]);
    let kid_be = kid.to_be_bytes();
    let suite_be = suite.id().to_be_bytes();
    let mut key = Zeroizing::new(vec![0u8; suite.key_len()]);
    kdf.expand_parts(&secret, &[KEY_LABEL, &kid_be, &suite_be], &mut key)?;
    let mut salt = Zeroizing::new([0u8; NONCE_LEN]);
    kdf.expand_parts(&secret, &[SALT_LABEL, &kid_be, &suite_be], salt.as_mut_slice())?;
    Ok(Derived { secret, key, salt })
}

/// RFC 9605 §5.1: `base_key[i+1] = HKDF-Expand(HKDF-Extract("", base_key[i]),
/// "SFrame 1.0 Ratchet", Nh)`.
pub(crate) fn ratchet_base_key(suite: CipherSuite, base_key: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    let kdf = suite.kdf();
    let prk = kdf.extract_parts(&[], &[base_key]);
    let mut next = Zeroizing::new(vec![0u8; suite.hash_len()]);
    kdf.expand_parts(&prk, &[RATCHET_LABEL], &mut next)?;
    Ok(next)
}

pub(crate) fn check_base_key(base_key: &[u8]) -> Result<()> {
    if base_key.len() < MIN_BASE_KEY_LEN {
        return Err(Error::invalid_key("SFrame base key shorter than 16 bytes"));
    }
    Ok(())
}

/// The base keys a sender has used, so that none is installed twice.
///
/// A (KID, key, salt) triple must never repeat: the counter restarts at 0
/// with every new key, so a repeated triple reuses every nonce, and frames
/// of the earlier use pass the receiver's fresh replay window again. Only 8
/// bits of the epoch travel in the KID, so `rekey(epoch + 256, same_key)`
/// would repeat one; phiseal refuses any base key a sender already used, at
/// any epoch. Kept as SHA-256 digests (32 bytes per epoch, never the keys),
/// compared in constant time; at most [`MAX_EPOCHS_PER_SENDER`] epochs per
/// sender.
#[derive(Default)]
pub(crate) struct UsedKeys(Vec<[u8; 32]>);

/// Epochs a sender (or a receiver, per sender id) can go through; after
/// that the sender needs a new sender id.
pub const MAX_EPOCHS_PER_SENDER: usize = 1 << 16;

impl UsedKeys {
    /// Records `base_key`, or refuses it if it was used before.
    pub(crate) fn insert(&mut self, base_key: &[u8]) -> Result<()> {
        use sha2::Digest as _;
        use subtle::ConstantTimeEq as _;
        let mut h = sha2::Sha256::new();
        h.update(b"phiseal-sframe-used-base-key");
        h.update(base_key);
        let digest: [u8; 32] = h.finalize().into();
        let seen = self.0.iter().fold(subtle::Choice::from(0), |acc, d| acc | d.ct_eq(&digest));
        if bool::from(seen) {
            return Err(Error::misuse(
                "this SFrame base key was already used by this sender: a repeated (KID, key, salt) reuses nonces and lets old frames replay; rekey with a fresh key (generateBaseKey)",
            ));
        }
        if self.0.len() >= MAX_EPOCHS_PER_SENDER {
            return Err(Error::misuse("SFrame sender used 65,536 base keys: continue under a new sender id"));
        }
        self.0.push(digest);
        Ok(())
    }
}

/// One SFrame key: a cipher suite, a KID and the `sframe_key` and
/// `sframe_salt` derived for them (RFC 9605 §4.4.2). Stateless.
///
/// The secrets are zeroized on drop and never printed. `SframeKey` does not
/// encrypt by itself: use [`SframeSender`](super::SframeSender), which owns
/// the counter. [`SframeKey::decrypt`] does no replay protection: use
/// [`SframeReceiver`](super::SframeReceiver) for that.
pub struct SframeKey {
    suite: CipherSuite,
    kid: KeyId,
    key: Zeroizing<Vec<u8>>,
    salt: Zeroizing<[u8; NONCE_LEN]>,
}

impl core::fmt::Debug for SframeKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SframeKey").field("suite", &self.suite).field("kid", &self.kid).finish_non_exhaustive()
    }
}

impl SframeKey {
    /// Derives the key and salt for `kid` from `base_key` (RFC 9605 §4.4.2).
    /// The intermediate `sframe_secret` is zeroized before this returns.
    ///
    /// ```
    /// use phiseal::media::sframe::{CipherSuite, SframeKey};
    /// let key = SframeKey::new(CipherSuite::Aes128GcmSha256_128, 42, &[1u8; 16])?;
    /// assert_eq!(key.kid(), 42);
    /// assert!(!format!("{key:?}").contains("01"));
    /// # Ok::<(), phiseal::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`ErrorCode::InvalidKey`](crate::ErrorCode::InvalidKey) if `base_key`
    /// is shorter than [`MIN_BASE_KEY_LEN`].
    pub fn new(suite: CipherSuite, kid: KeyId, base_key: &[u8]) -> Result<Self> {
        check_base_key(base_key)?;
        let Derived { key, salt, .. } = derive(suite, kid, base_key)?;
        Ok(Self { suite, kid, key, salt })
    }

    /// The cipher suite.
    #[must_use]
    pub const fn suite(&self) -> CipherSuite {
        self.suite
    }

    /// The Key ID.
    #[must_use]
    pub const fn kid(&self) -> KeyId {
        self.kid
    }

    /// The raw AES-GCM key of an AES-GCM suite (4 or 5), for running the
    /// bulk AEAD in a platform implementation (WebCrypto) with the nonce and
    /// AAD this crate computes; `None` for the CTR+HMAC suites. Handle with care.
    #[must_use]
    pub fn aead_key(&self) -> Option<Zeroizing<Vec<u8>>> {
        self.suite.is_gcm().then(|| Zeroizing::new(self.key.to_vec()))
    }

    /// RFC 9605 §4.4.3: `nonce = sframe_salt XOR CTR` (CTR left-padded to `Nn`).
    pub(crate) fn nonce(&self, ctr: Counter) -> [u8; NONCE_LEN] {
        let mut nonce = *self.salt;
        for (n, c) in nonce.iter_mut().skip(NONCE_LEN - 8).zip(ctr.to_be_bytes()) {
            *n ^= c;
        }
        nonce
    }

    /// RFC 9605 §4.4.3 encryption at counter `ctr`: `header || ct || tag`,
    /// with `AAD = header || metadata`. Crate-internal: callers go through
    /// [`SframeSender`](super::SframeSender) so a counter is never reused.
    pub(crate) fn encrypt_at(&self, ctr: Counter, metadata: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
        let header = SframeHeader::new(self.kid, ctr);
        let header_len = header.encoded_len();
        let mut aad = Vec::with_capacity(header_len + metadata.len());
        header.encode_into(&mut aad);
        aad.extend_from_slice(metadata);
        let mut out = Vec::with_capacity(header_len + plaintext.len() + self.suite.tag_len());
        header.encode_into(&mut out);
        out.extend_from_slice(plaintext);
        if let Err(e) = self.suite.seal_in_place(&self.key, &self.nonce(ctr), &aad, &mut out, header_len) {
            zeroize::Zeroize::zeroize(&mut out);
            return Err(e);
        }
        Ok(out)
    }

    /// RFC 9605 §4.4.4: decrypts a whole SFrame ciphertext
    /// (`header || ct || tag`) with `AAD = header || metadata`, returning
    /// the header and the plaintext. Nothing is returned unless the tag
    /// verifies. No replay check: see [`SframeReceiver`](super::SframeReceiver).
    ///
    /// # Errors
    /// [`ErrorCode::MalformedInput`](crate::ErrorCode::MalformedInput) if the
    /// header cannot be read; [`Error::DECRYPT_FAILED`] if the frame's KID is
    /// not this key's, or on any authentication failure (wrong key, wrong
    /// metadata, tampered or truncated frame).
    pub fn decrypt(&self, metadata: &[u8], frame: &[u8]) -> Result<(SframeHeader, Vec<u8>)> {
        let (header, body) = SframeHeader::read(frame)?;
        let header_bytes = frame.get(..frame.len() - body.len()).ok_or(Error::DECRYPT_FAILED)?;
        let plaintext = self.open(header, header_bytes, body, metadata)?;
        Ok((header, plaintext))
    }

    /// Decrypts the frame body (`ct || tag`) of an already parsed header.
    pub(crate) fn open(
        &self,
        header: SframeHeader,
        header_bytes: &[u8],
        body: &[u8],
        metadata: &[u8],
    ) -> Result<Vec<u8>> {
        if header.kid() != self.kid || body.len() < self.suite.tag_len() {
            return Err(Error::DECRYPT_FAILED);
        }
        let aad = [header_bytes, metadata].concat();
        let mut buf = body.to_vec();
        self.suite.open_in_place(&self.key, &self.nonce(header.ctr()), &aad, &mut buf)?;
        Ok(buf)
    }

    /// The derived `sframe_key` (for the vector runner only).
    #[cfg(feature = "conformance")]
    pub(crate) fn key_bytes(&self) -> &[u8] {
        &self.key
    }

    /// The nonce for `ctr` (for the vector runner only).
    #[cfg(feature = "conformance")]
    pub(crate) fn nonce_for(&self, ctr: Counter) -> [u8; NONCE_LEN] {
        self.nonce(ctr)
    }
}
