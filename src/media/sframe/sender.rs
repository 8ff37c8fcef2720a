//! The SFrame sender: one key, one counter it owns (RFC 9605 §4.4.3).

use zeroize::Zeroizing;

use super::header::{Counter, KeyId};
use super::key::{SframeKey, UsedKeys, check_base_key, ratchet_base_key};
use super::keyring::kid_for;
use super::suite::CipherSuite;
use crate::error::{Error, Result};

/// Sender id, epoch and base key of a sender using phiseal's KID layout.
struct Member {
    sender_id: u64,
    epoch: u64,
    base_key: Zeroizing<Vec<u8>>,
    used: UsedKeys,
}

/// Encrypts frames under one SFrame key, choosing each frame's counter.
///
/// The counter starts at 0 and increases by one per frame; it is never a
/// caller parameter, so one sender never reuses a nonce. After counter
/// 2^64 - 1 the sender refuses to encrypt until it is rekeyed or ratcheted.
///
/// # Security
/// A nonce is unique only per sender object: never create two senders for
/// the same base key and KID (e.g. after a page reload, use a fresh base key
/// or a new epoch).
///
/// ```
/// use phiseal::media::sframe::{CipherSuite, SframeKey, SframeSender};
/// let mut sender = SframeSender::new(CipherSuite::Aes256GcmSha512_128, 9, &[3u8; 32])?;
/// let frame = sender.encrypt(b"", b"audio frame")?;
/// let key = SframeKey::new(CipherSuite::Aes256GcmSha512_128, 9, &[3u8; 32])?;
/// let (header, plaintext) = key.decrypt(b"", &frame)?;
/// assert_eq!((header.kid(), header.ctr(), plaintext.as_slice()), (9, 0, &b"audio frame"[..]));
/// # Ok::<(), phiseal::Error>(())
/// ```
pub struct SframeSender {
    key: SframeKey,
    next_ctr: Option<Counter>,
    member: Option<Member>,
}

impl core::fmt::Debug for SframeSender {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SframeSender")
            .field("key", &self.key)
            .field("next_ctr", &self.next_ctr)
            .field("epoch", &self.epoch())
            .finish_non_exhaustive()
    }
}

impl SframeSender {
    /// A sender with a raw KID chosen by the application (any KID layout).
    /// It cannot [`ratchet`](Self::ratchet): its epoch is unknown.
    ///
    /// # Errors
    /// As [`SframeKey::new`].
    pub fn new(suite: CipherSuite, kid: KeyId, base_key: &[u8]) -> Result<Self> {
        Ok(Self { key: SframeKey::new(suite, kid, base_key)?, next_ctr: Some(0), member: None })
    }

    /// A sender using phiseal's KID layout ([`kid_for`]) for `sender_id` at
    /// key `epoch`; it can [`ratchet`](Self::ratchet) and
    /// [`rekey`](Self::rekey).
    ///
    /// # Errors
    /// [`ErrorCode::InvalidArgument`](crate::ErrorCode::InvalidArgument) if
    /// `sender_id` exceeds [`MAX_SENDER_ID`](super::MAX_SENDER_ID); as
    /// [`SframeKey::new`] for the base key.
    pub fn for_member(suite: CipherSuite, sender_id: u64, epoch: u64, base_key: &[u8]) -> Result<Self> {
        let key = SframeKey::new(suite, kid_for(sender_id, epoch)?, base_key)?;
        let mut used = UsedKeys::default();
        used.insert(base_key)?;
        let member = Member { sender_id, epoch, base_key: Zeroizing::new(base_key.to_vec()), used };
        Ok(Self { key, next_ctr: Some(0), member: Some(member) })
    }

    /// Encrypts one frame at the next counter: `header || ciphertext || tag`,
    /// authenticating `metadata` (RFC 9605 §4.4.3). The counter is consumed
    /// even if encryption fails.
    ///
    /// # Errors
    /// [`ErrorCode::Misuse`](crate::ErrorCode::Misuse) once the counter is
    /// exhausted; [`ErrorCode::InvalidArgument`](crate::ErrorCode::InvalidArgument)
    /// for a frame too long for the cipher suite.
    pub fn encrypt(&mut self, metadata: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
        let ctr = self.next_ctr.ok_or(Error::misuse("SFrame counter exhausted: rekey or ratchet the sender"))?;
        self.next_ctr = ctr.checked_add(1);
        self.key.encrypt_at(ctr, metadata, plaintext)
    }

    /// For an AES-GCM suite: takes the next counter and returns the frame
    /// header, nonce and AAD (`header || metadata`), so the AES-GCM itself
    /// can run in WebCrypto with [`SframeKey::aead_key`](super::SframeKey::aead_key).
    /// The frame is `header || AES-GCM(key, nonce, aad, plaintext)`, byte for
    /// byte what [`SframeSender::encrypt`] produces. The counter advances
    /// even if the caller's encryption fails.
    ///
    /// # Errors
    /// [`ErrorCode::Unsupported`](crate::ErrorCode::Unsupported) for the
    /// CTR+HMAC suites; [`ErrorCode::Misuse`](crate::ErrorCode::Misuse) once
    /// the counter is exhausted.
    pub fn prepare(&mut self, metadata: &[u8]) -> Result<PreparedFrame> {
        if !self.key.suite().is_gcm() {
            return Err(Error::unsupported("only the AES-GCM SFrame suites can be split"));
        }
        let ctr = self.next_ctr.ok_or(Error::misuse("SFrame counter exhausted: rekey or ratchet the sender"))?;
        self.next_ctr = ctr.checked_add(1);
        let header = super::SframeHeader::new(self.key.kid(), ctr);
        let mut header_bytes = Vec::with_capacity(header.encoded_len());
        header.encode_into(&mut header_bytes);
        let mut aad = header_bytes.clone();
        aad.extend_from_slice(metadata);
        Ok(PreparedFrame { header: header_bytes, nonce: self.key.nonce(ctr), aad })
    }

    /// The raw AES-GCM key (AES-GCM suites only); see [`SframeSender::prepare`].
    #[must_use]
    pub fn aead_key(&self) -> Option<zeroize::Zeroizing<Vec<u8>>> {
        self.key.aead_key()
    }

    /// The cipher suite.
    #[must_use]
    pub const fn suite(&self) -> CipherSuite {
        self.key.suite()
    }

    /// The KID written in every frame.
    #[must_use]
    pub const fn kid(&self) -> KeyId {
        self.key.kid()
    }

    /// The key epoch, for a sender made with [`SframeSender::for_member`].
    #[must_use]
    pub fn epoch(&self) -> Option<u64> {
        self.member.as_ref().map(|m| m.epoch)
    }

    /// The counter the next frame will carry, or `None` once exhausted.
    #[must_use]
    pub const fn next_counter(&self) -> Option<Counter> {
        self.next_ctr
    }

    /// Moves to the next epoch with the RFC 9605 §5.1 ratchet of the base key
    /// (`HKDF-Expand(HKDF-Extract("", base_key), "SFrame 1.0 Ratchet", Nh)`);
    /// the counter restarts at 0 under the new key. Returns the new epoch.
    /// Receivers follow with [`SframeReceiver::ratchet`](super::SframeReceiver::ratchet).
    ///
    /// # Errors
    /// [`ErrorCode::Misuse`](crate::ErrorCode::Misuse) for a sender made with
    /// a raw KID, or when the epoch would overflow.
    pub fn ratchet(&mut self) -> Result<u64> {
        let member = self.member.as_ref().ok_or(Error::misuse("a raw-KID SFrame sender cannot ratchet"))?;
        let next = ratchet_base_key(self.key.suite(), &member.base_key)?;
        let epoch = member.epoch.checked_add(1).ok_or(Error::misuse("SFrame epoch exhausted"))?;
        self.rekey(epoch, &next)?;
        Ok(epoch)
    }

    /// Moves to `epoch` with a fresh `base_key` (from a new key exchange); the
    /// counter restarts at 0.
    ///
    /// # Errors
    /// [`ErrorCode::Misuse`](crate::ErrorCode::Misuse) for a sender made with
    /// a raw KID, or for a base key this sender already used (at any epoch:
    /// `rekey(epoch + 256, same_key)` would repeat the KID, key and salt, see
    /// [`MAX_EPOCHS_PER_SENDER`](super::MAX_EPOCHS_PER_SENDER));
    /// [`ErrorCode::InvalidArgument`](crate::ErrorCode::InvalidArgument)
    /// unless `epoch` is greater than the current one; as [`SframeKey::new`].
    pub fn rekey(&mut self, epoch: u64, base_key: &[u8]) -> Result<()> {
        let member = self.member.as_mut().ok_or(Error::misuse("a raw-KID SFrame sender cannot be rekeyed"))?;
        if epoch <= member.epoch {
            return Err(Error::invalid_argument("SFrame epoch must increase"));
        }
        check_base_key(base_key)?;
        let key = SframeKey::new(self.key.suite(), kid_for(member.sender_id, epoch)?, base_key)?;
        member.used.insert(base_key)?;
        self.key = key;
        member.epoch = epoch;
        member.base_key = Zeroizing::new(base_key.to_vec());
        self.next_ctr = Some(0);
        Ok(())
    }

    /// **Testing only, not part of the API.** A raw-KID sender whose next
    /// counter is `next_ctr`, to test counter exhaustion and large counters.
    /// Starting two senders at the same counter with the same key reuses
    /// nonces and breaks confidentiality.
    ///
    /// # Errors
    /// As [`SframeKey::new`].
    #[cfg(feature = "hazmat")]
    pub fn dangerous_starting_at(suite: CipherSuite, kid: KeyId, base_key: &[u8], next_ctr: Counter) -> Result<Self> {
        Ok(Self { key: SframeKey::new(suite, kid, base_key)?, next_ctr: Some(next_ctr), member: None })
    }
}

/// What a platform AES-GCM needs to encrypt one frame (see [`SframeSender::prepare`]).
#[derive(Clone, Debug)]
pub struct PreparedFrame {
    /// The encoded SFrame header (KID, CTR).
    pub header: Vec<u8>,
    /// The AES-GCM nonce.
    pub nonce: [u8; crate::aead::NONCE_LEN],
    /// The AES-GCM AAD: `header || metadata`.
    pub aad: Vec<u8>,
}
