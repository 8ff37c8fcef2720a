//! The SFrame receiver: keys by KID, key epochs with a bounded overlap, and
//! a replay window per key. See the [module docs](super) for the KID layout.

use std::collections::BTreeMap;

use zeroize::Zeroizing;

use super::UNKNOWN_KID;
use super::header::{Counter, KeyId, SframeHeader};
use super::key::{SframeKey, UsedKeys, check_base_key, ratchet_base_key};
use super::replay::ReplayWindow;
use super::suite::CipherSuite;
use crate::error::{Error, Result};

/// Low bits of the KID that carry the key epoch (`epoch mod 2^EPOCH_BITS`).
pub const EPOCH_BITS: u32 = 8;
/// The largest sender id: the KID's remaining 56 bits.
pub const MAX_SENDER_ID: u64 = u64::MAX >> EPOCH_BITS;
/// Frames of a sender's new epoch accepted before its previous epoch's key
/// is dropped.
pub const PREVIOUS_EPOCH_OVERLAP: u32 = 128;

const EPOCH_MASK: u64 = (1 << EPOCH_BITS) - 1;

/// phiseal's KID layout: `sender_id << 8 | (epoch mod 256)`.
///
/// ```
/// use phiseal::media::sframe::{kid_for, split_kid};
/// assert_eq!(kid_for(5, 3)?, 0x0503);
/// assert_eq!(kid_for(5, 259)?, 0x0503); // only the epoch's low 8 bits travel
/// assert_eq!(split_kid(0x0503), (5, 3));
/// # Ok::<(), phiseal::Error>(())
/// ```
///
/// # Errors
/// [`ErrorCode::InvalidArgument`](crate::ErrorCode::InvalidArgument) if
/// `sender_id` exceeds [`MAX_SENDER_ID`].
pub const fn kid_for(sender_id: u64, epoch: u64) -> Result<KeyId> {
    if sender_id > MAX_SENDER_ID {
        return Err(Error::invalid_argument("SFrame sender id exceeds 56 bits"));
    }
    Ok(sender_id << EPOCH_BITS | (epoch & EPOCH_MASK))
}

/// Splits a KID of phiseal's layout into the sender id and the epoch's low
/// 8 bits.
#[must_use]
pub const fn split_kid(kid: KeyId) -> (u64, u8) {
    (kid >> EPOCH_BITS, (kid & EPOCH_MASK) as u8)
}

/// A decrypted frame.
pub struct ReceivedFrame {
    /// The sender, from the KID.
    pub sender_id: u64,
    /// The full key epoch the frame was encrypted under.
    pub epoch: u64,
    /// The frame counter.
    pub ctr: Counter,
    /// The decrypted media frame.
    pub plaintext: Vec<u8>,
}

impl core::fmt::Debug for ReceivedFrame {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ReceivedFrame")
            .field("sender_id", &self.sender_id)
            .field("epoch", &self.epoch)
            .field("ctr", &self.ctr)
            .field("plaintext_len", &self.plaintext.len())
            .finish_non_exhaustive()
    }
}

/// One epoch of one sender.
struct EpochKey {
    epoch: u64,
    base_key: Zeroizing<Vec<u8>>,
    key: SframeKey,
    window: ReplayWindow,
}

impl EpochKey {
    fn new(suite: CipherSuite, sender_id: u64, epoch: u64, base_key: &[u8]) -> Result<Self> {
        let key = SframeKey::new(suite, kid_for(sender_id, epoch)?, base_key)?;
        Ok(Self { epoch, base_key: Zeroizing::new(base_key.to_vec()), key, window: ReplayWindow::new() })
    }

    fn matches(&self, epoch_low: u8) -> bool {
        self.epoch & EPOCH_MASK == u64::from(epoch_low)
    }
}

/// The keys of one sender: the current epoch and, for a bounded overlap,
/// the previous one with the number of current-epoch frames still to accept
/// before it is dropped.
struct SenderKeys {
    current: EpochKey,
    previous: Option<(EpochKey, u32)>,
}

impl SenderKeys {
    fn advance(&mut self, next: EpochKey) {
        let old = core::mem::replace(&mut self.current, next);
        // Two epochs 256 apart share a KID: drop the old one at once then.
        self.previous = (!self.current.matches(epoch_low(old.epoch))).then_some((old, PREVIOUS_EPOCH_OVERLAP));
    }
}

const fn epoch_low(epoch: u64) -> u8 {
    (epoch & EPOCH_MASK) as u8
}

/// Decrypts frames from many senders, each identified by its KID
/// ([`kid_for`] layout), with replay protection.
///
/// Memory is bounded by the senders the application adds: per sender two
/// keys and two 128-bit windows at most, and a 32-byte digest of each base
/// key it ever installed for that sender id (kept after
/// [`remove_sender`](Self::remove_sender), so a removed sender's key cannot
/// come back). Frames never add state.
///
/// # Security
/// The replay window moves only after a frame authenticated, so forged
/// frames cannot push genuine ones out of it.
pub struct SframeReceiver {
    suite: CipherSuite,
    senders: BTreeMap<u64, SenderKeys>,
    used: BTreeMap<u64, UsedKeys>,
}

impl core::fmt::Debug for SframeReceiver {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SframeReceiver")
            .field("suite", &self.suite)
            .field("senders", &self.senders.len())
            .finish_non_exhaustive()
    }
}

impl SframeReceiver {
    /// An empty receiver for one cipher suite.
    #[must_use]
    pub const fn new(suite: CipherSuite) -> Self {
        Self { suite, senders: BTreeMap::new(), used: BTreeMap::new() }
    }

    /// The cipher suite.
    #[must_use]
    pub const fn suite(&self) -> CipherSuite {
        self.suite
    }

    /// Installs `base_key` for `sender_id` at `epoch`. For a known sender
    /// the epoch must be newer than its current one; the current key then
    /// becomes the previous one, kept for [`PREVIOUS_EPOCH_OVERLAP`] frames
    /// of the new epoch (or dropped at once if the two epochs are a multiple
    /// of 256 apart, as they would share a KID).
    ///
    /// # Errors
    /// [`ErrorCode::InvalidArgument`](crate::ErrorCode::InvalidArgument) for
    /// an epoch not newer than the sender's current one, or a sender id
    /// above [`MAX_SENDER_ID`]; [`ErrorCode::Misuse`](crate::ErrorCode::Misuse)
    /// for a base key already installed for this sender id (at any epoch,
    /// also before a [`remove_sender`](Self::remove_sender)); as
    /// [`SframeKey::new`] for the base key.
    pub fn set_sender_key(&mut self, sender_id: u64, epoch: u64, base_key: &[u8]) -> Result<()> {
        check_base_key(base_key)?;
        if let Some(keys) = self.senders.get(&sender_id)
            && epoch <= keys.current.epoch
        {
            return Err(Error::invalid_argument("SFrame epoch must increase"));
        }
        let next = EpochKey::new(self.suite, sender_id, epoch, base_key)?;
        self.used.entry(sender_id).or_default().insert(base_key)?;
        match self.senders.get_mut(&sender_id) {
            Some(keys) => keys.advance(next),
            None => {
                self.senders.insert(sender_id, SenderKeys { current: next, previous: None });
            }
        }
        Ok(())
    }

    /// Follows a sender's RFC 9605 §5.1 ratchet
    /// ([`SframeSender::ratchet`](super::SframeSender::ratchet)): derives the
    /// next epoch's base key from the current one. Returns the new epoch.
    ///
    /// # Errors
    /// [`UNKNOWN_KID`](super::UNKNOWN_KID) for an unknown sender;
    /// [`ErrorCode::Misuse`](crate::ErrorCode::Misuse) if the epoch would
    /// overflow.
    pub fn ratchet(&mut self, sender_id: u64) -> Result<u64> {
        let keys = self.senders.get_mut(&sender_id).ok_or(UNKNOWN_KID)?;
        let epoch = keys.current.epoch.checked_add(1).ok_or(Error::misuse("SFrame epoch exhausted"))?;
        let base_key = ratchet_base_key(self.suite, &keys.current.base_key)?;
        let next = EpochKey::new(self.suite, sender_id, epoch, &base_key)?;
        self.used.entry(sender_id).or_default().insert(&base_key)?;
        keys.advance(next);
        Ok(epoch)
    }

    /// Forgets a sender and zeroizes its keys. Returns whether it was known.
    pub fn remove_sender(&mut self, sender_id: u64) -> bool {
        self.senders.remove(&sender_id).is_some()
    }

    /// Drops a sender's previous epoch before its overlap ends.
    pub fn retire_previous_epoch(&mut self, sender_id: u64) {
        if let Some(keys) = self.senders.get_mut(&sender_id) {
            keys.previous = None;
        }
    }

    /// The sender's current epoch and, while it overlaps, its previous one.
    #[must_use]
    pub fn epochs(&self, sender_id: u64) -> Option<(u64, Option<u64>)> {
        self.senders.get(&sender_id).map(|k| (k.current.epoch, k.previous.as_ref().map(|(p, _)| p.epoch)))
    }

    /// Decrypts one frame (`header || ct || tag`, RFC 9605 §4.4.4) with the
    /// key its KID names, then records its counter in that key's window.
    ///
    /// # Errors
    /// * [`ErrorCode::MalformedInput`](crate::ErrorCode::MalformedInput):
    ///   the header cannot be read.
    /// * [`UNKNOWN_KID`](super::UNKNOWN_KID): no key for the KID.
    /// * [`REPLAYED_FRAME`](super::REPLAYED_FRAME) /
    ///   [`STALE_FRAME`](super::STALE_FRAME): the counter was already
    ///   accepted / is behind the window.
    /// * [`Error::DECRYPT_FAILED`]: any authentication failure.
    pub fn decrypt(&mut self, metadata: &[u8], frame: &[u8]) -> Result<ReceivedFrame> {
        let (header, body) = SframeHeader::read(frame)?;
        let header_bytes = frame.get(..frame.len() - body.len()).ok_or(Error::DECRYPT_FAILED)?;
        let (sender_id, slot_is_current) = self.check(header)?;
        let slot = self.slot(sender_id, slot_is_current)?;
        let plaintext = slot.key.open(header, header_bytes, body, metadata)?;
        let epoch = self.accept(sender_id, slot_is_current, header.ctr())?;
        Ok(ReceivedFrame { sender_id, epoch, ctr: header.ctr(), plaintext })
    }

    /// First half of a decryption whose AES-GCM runs elsewhere (WebCrypto):
    /// parses the header, finds the key and checks the replay window, and
    /// returns the nonce, AAD, ciphertext offset and raw key. Nothing moves
    /// until [`SframeReceiver::complete`] is called after the tag verified.
    ///
    /// # Errors
    /// As [`SframeReceiver::decrypt`]; [`ErrorCode::Unsupported`](crate::ErrorCode::Unsupported)
    /// for the CTR+HMAC suites.
    pub fn begin(&mut self, metadata: &[u8], frame: &[u8]) -> Result<PendingFrame> {
        if !self.suite.is_gcm() {
            return Err(Error::unsupported("only the AES-GCM SFrame suites can be split"));
        }
        let (header, body) = SframeHeader::read(frame)?;
        let header_len = frame.len() - body.len();
        if body.len() < self.suite.tag_len() {
            return Err(Error::DECRYPT_FAILED);
        }
        let (sender_id, current) = self.check(header)?;
        let slot = self.slot(sender_id, current)?;
        let mut aad = frame.get(..header_len).ok_or(Error::DECRYPT_FAILED)?.to_vec();
        aad.extend_from_slice(metadata);
        let key = slot.key.aead_key().ok_or(Error::unsupported("not an AES-GCM suite"))?;
        Ok(PendingFrame {
            kid: header.kid(),
            ctr: header.ctr(),
            sender_id,
            epoch: slot.epoch,
            header_len,
            nonce: slot.key.nonce(header.ctr()),
            aad,
            key,
        })
    }

    /// Second half: the frame's tag verified, so its counter is accepted.
    ///
    /// # Errors
    /// [`REPLAYED_FRAME`](super::REPLAYED_FRAME) if the same counter was
    /// completed meanwhile; [`UNKNOWN_KID`](super::UNKNOWN_KID) if the key was removed.
    pub fn complete(&mut self, pending: &PendingFrame) -> Result<()> {
        // Keys may have changed since `begin` (a new epoch, a ratchet): the
        // counter belongs to the window of the epoch the frame was opened
        // with, wherever that epoch sits now, or nowhere.
        let keys = self.senders.get(&pending.sender_id).ok_or(UNKNOWN_KID)?;
        let current = if keys.current.epoch == pending.epoch {
            true
        } else if keys.previous.as_ref().is_some_and(|(p, _)| p.epoch == pending.epoch) {
            false
        } else {
            return Err(UNKNOWN_KID);
        };
        self.accept(pending.sender_id, current, pending.ctr).map(|_| ())
    }

    /// Finds the slot for a header and checks its replay window.
    fn check(&mut self, header: SframeHeader) -> Result<(u64, bool)> {
        let (sender_id, epoch_low) = split_kid(header.kid());
        let keys = self.senders.get_mut(&sender_id).ok_or(UNKNOWN_KID)?;
        let current = keys.current.matches(epoch_low);
        let slot = if current {
            &mut keys.current
        } else {
            match keys.previous.as_mut() {
                Some((prev, _)) if prev.matches(epoch_low) => prev,
                _ => return Err(UNKNOWN_KID),
            }
        };
        slot.window.check(header.ctr())?;
        Ok((sender_id, current))
    }

    fn slot(&mut self, sender_id: u64, current: bool) -> Result<&mut EpochKey> {
        let keys = self.senders.get_mut(&sender_id).ok_or(UNKNOWN_KID)?;
        if current { Ok(&mut keys.current) } else { keys.previous.as_mut().map(|(p, _)| p).ok_or(UNKNOWN_KID) }
    }

    /// Accepts `ctr` in the slot's window and counts down the previous
    /// epoch's overlap on current-epoch frames. Returns the slot's epoch.
    fn accept(&mut self, sender_id: u64, current: bool, ctr: Counter) -> Result<u64> {
        let slot = self.slot(sender_id, current)?;
        slot.window.accept(ctr)?;
        let epoch = slot.epoch;
        let keys = self.senders.get_mut(&sender_id).ok_or(UNKNOWN_KID)?;
        if current && let Some((_, left)) = keys.previous.as_mut() {
            *left = left.saturating_sub(1);
            if *left == 0 {
                keys.previous = None;
            }
        }
        Ok(epoch)
    }
}

/// A frame between [`SframeReceiver::begin`] and [`SframeReceiver::complete`].
pub struct PendingFrame {
    /// The frame's KID.
    pub kid: KeyId,
    /// The frame's counter.
    pub ctr: Counter,
    /// The sender, from the KID.
    pub sender_id: u64,
    /// The key epoch.
    pub epoch: u64,
    /// Length of the SFrame header at the start of the frame.
    pub header_len: usize,
    /// The AES-GCM nonce.
    pub nonce: [u8; crate::aead::NONCE_LEN],
    /// The AES-GCM AAD: `header || metadata`.
    pub aad: Vec<u8>,
    /// The raw AES-GCM key.
    pub key: Zeroizing<Vec<u8>>,
}

impl core::fmt::Debug for PendingFrame {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PendingFrame").field("kid", &self.kid).field("ctr", &self.ctr).finish_non_exhaustive()
    }
}
