//! SFrame, [RFC 9605](https://www.rfc-editor.org/rfc/rfc9605): end-to-end
//! encryption of media frames.
//!
//! # Which API to use
//!
//! * Encrypting: [`SframeSender`]. It owns the frame counter (CTR), so a
//!   nonce is never a caller parameter; it refuses to encrypt once the
//!   counter is exhausted ([`ErrorCode::Misuse`]).
//! * Decrypting: [`SframeReceiver`]. It holds one key per sender and key
//!   epoch, found from the frame's KID, keeps the previous epoch for a
//!   bounded overlap after a rekey or ratchet, and rejects replayed frames
//!   with a sliding window per key.
//! * [`SframeKey`] is the stateless building block (RFC 9605 §4.4): it can
//!   decrypt any frame for its KID but does no replay protection.
//!
//! # KID layout
//!
//! RFC 9605 leaves the meaning of the KID to the application (§4.4.1). For
//! [`SframeSender::for_member`] and [`SframeReceiver`] phiseal fixes it as
//! (in the spirit of RFC 9605 §5.1 and §5.2):
//!
//! ```text
//! KID = sender_id << EPOCH_BITS | (epoch mod 2^EPOCH_BITS)     EPOCH_BITS = 8
//! ```
//!
//! * `sender_id` (0 ..= [`MAX_SENDER_ID`] = 2^56 - 1) names the sender,
//!   e.g. its index in the call.
//! * `epoch` counts the sender's keys: a new base key (a rekey) or an
//!   RFC 9605 §5.1 ratchet step starts the next epoch. Only its low 8 bits
//!   travel in the KID; the receiver keeps at most the current and the
//!   previous epoch per sender, so 8 bits are enough to tell them apart.
//! * Small values give short headers: sender 5 at epoch 3 is KID 1283,
//!   a 2-byte KID field.
//!
//! # Windows
//!
//! * Replay: [`REPLAY_WINDOW`] = 128 counters per (sender, epoch) key, as a
//!   128-bit sliding bitmap. A counter already accepted is rejected with
//!   [`REPLAYED_FRAME`]; one more than 127 behind the highest accepted
//!   counter with [`STALE_FRAME`]. Frames reordered inside the window are
//!   accepted once. The window only moves after a frame authenticated.
//! * Epoch overlap: after a new epoch, the previous epoch's key stays
//!   usable until [`PREVIOUS_EPOCH_OVERLAP`] = 128 frames of the new epoch
//!   have been accepted (or the next epoch arrives), then it is dropped and
//!   zeroized. Memory is bounded: two keys and two windows per sender, and
//!   a 32-byte digest per epoch it went through.
//!
//! # No (KID, key, salt) twice
//!
//! A sender and a receiver refuse a base key they already used for that
//! sender, at any epoch ([`ErrorCode::Misuse`]): only the epoch's low 8 bits
//! travel in the KID, so `rekey(epoch + 256, same_key)` would otherwise give
//! the same KID, key and salt with the counter back at 0 (nonce reuse, and
//! old frames passing a fresh replay window). The RFC 9605 key schedule is
//! unchanged, so the RFC's test vectors still apply.
//!
//! # Example
//!
//! ```
//! use phiseal::media::sframe::{CipherSuite, SframeReceiver, SframeSender};
//!
//! # fn main() -> phiseal::Result<()> {
//! let base_key = [7u8; 16]; // from the key exchange, e.g. HPKE or MLS
//! let suite = CipherSuite::Aes128GcmSha256_128;
//! let mut alice = SframeSender::for_member(suite, 1, 0, &base_key)?;
//!
//! let mut bob = SframeReceiver::new(suite);
//! bob.set_sender_key(1, 0, &base_key)?;
//!
//! let frame = alice.encrypt(b"rtp metadata", b"encoded video frame")?;
//! let received = bob.decrypt(b"rtp metadata", &frame)?;
//! assert_eq!(received.plaintext, b"encoded video frame");
//! assert_eq!((received.sender_id, received.epoch, received.ctr), (1, 0, 0));
//! // The same frame again is a replay.
//! assert!(bob.decrypt(b"rtp metadata", &frame).is_err());
//! # Ok(())
//! # }
//! ```

mod header;
mod key;
mod keyring;
mod replay;
mod sender;
mod suite;

pub use header::{Counter, KeyId, MAX_HEADER_LEN, SframeHeader};
pub use key::{MAX_EPOCHS_PER_SENDER, MIN_BASE_KEY_LEN, SframeKey};
pub use keyring::{
    EPOCH_BITS, MAX_SENDER_ID, PREVIOUS_EPOCH_OVERLAP, PendingFrame, ReceivedFrame, SframeReceiver, kid_for, split_kid,
};
pub use replay::{REPLAY_WINDOW, ReplayWindow};
pub use sender::{PreparedFrame, SframeSender};
pub use suite::{CipherSuite, NONCE_LEN};

use crate::error::{Error, ErrorCode};

/// A frame whose counter was already accepted under the same key (a replay
/// or a duplicate). The frame authenticated, but is not returned.
pub const REPLAYED_FRAME: Error = Error::new(ErrorCode::DecryptFailed, "SFrame counter already received (replay)");

/// A frame whose counter is [`REPLAY_WINDOW`] or more behind the highest
/// counter accepted under the same key: it can no longer be checked for
/// replay, so it is rejected.
pub const STALE_FRAME: Error = Error::new(ErrorCode::DecryptFailed, "SFrame counter behind the replay window");

/// The receiver holds no key for the frame's KID (unknown sender, or an
/// epoch that is neither the current nor the overlapping previous one).
pub const UNKNOWN_KID: Error = Error::new(ErrorCode::NotRecipient, "no SFrame key for this KID");

#[cfg(feature = "conformance")]
pub(crate) use key::{KEY_LABEL, SALT_LABEL, derive, info_label};
