//! Media end-to-end encryption: SFrame, [RFC 9605](https://www.rfc-editor.org/rfc/rfc9605).
//!
//! SFrame encrypts whole media frames (an encoded video or audio frame from
//! WebRTC insertable streams / `RTCRtpScriptTransform`) end to end, so the
//! media server that forwards them sees only a short header and ciphertext.
//!
//! This module is the pure-Rust core; it makes every cryptographic decision
//! and holds every secret. Browser glue only moves frames in and out.
//!
//! * [`sframe::SframeHeader`]: the header of RFC 9605 §4.3 (KID and CTR).
//! * [`sframe::CipherSuite`]: the five cipher suites of RFC 9605 §4.5.
//! * [`sframe::SframeKey`]: one derived key (RFC 9605 §4.4.2), stateless.
//! * [`sframe::SframeSender`]: the safe way to encrypt: it owns the counter.
//! * [`sframe::SframeReceiver`]: the safe way to decrypt: keys by KID, key
//!   epochs with a bounded overlap, a replay window per key.

pub mod sframe;
pub mod stream;

pub use sframe::{CipherSuite, ReceivedFrame, SframeHeader, SframeKey, SframeReceiver, SframeSender};
