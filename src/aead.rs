//! AES-GCM (NIST SP 800-38D) with 96-bit nonces and 128-bit tags, as used
//! by RFC 9180 §7.3 (`aead_id` 1 and 2) and by phiseal's own formats.
//!
//! The primitive is RustCrypto's `aes-gcm`, which verifies the tag in
//! constant time before it decrypts anything, so a failed open never
//! releases plaintext.

use aes_gcm::aead::{Aead as _, KeyInit, Payload};
use aes_gcm::{Aes128Gcm, Aes256Gcm, Nonce};

use crate::error::{Error, Result};

/// AES-GCM nonce length (`Nn`).
pub const NONCE_LEN: usize = 12;
/// AES-GCM tag length (`Nt`).
pub const TAG_LEN: usize = 16;

/// An AES-GCM key size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AesGcm {
    /// AES-128-GCM.
    Aes128,
    /// AES-256-GCM.
    Aes256,
}

impl AesGcm {
    /// `Nk`: key length in bytes.
    #[must_use]
    pub const fn key_len(self) -> usize {
        match self {
            Self::Aes128 => 16,
            Self::Aes256 => 32,
        }
    }

    /// Picks the variant for a raw key length (16 or 32 bytes).
    ///
    /// # Errors
    /// [`ErrorCode::Unsupported`](crate::ErrorCode::Unsupported) for other lengths.
    pub const fn for_key_len(len: usize) -> Result<Self> {
        match len {
            16 => Ok(Self::Aes128),
            32 => Ok(Self::Aes256),
            _ => Err(Error::unsupported("unsupported AES key length")),
        }
    }

    /// Encrypts `plaintext`, returning `ciphertext || tag`.
    ///
    /// Only with the `conformance` or `hazmat` features (vector runners and
    /// tests): the nonce is a caller parameter here, so a caller could reuse
    /// one. phiseal's formats derive or draw every nonce themselves.
    ///
    /// # Errors
    /// [`ErrorCode::InvalidArgument`](crate::ErrorCode::InvalidArgument) for
    /// a key or nonce of the wrong length, or a message longer than GCM allows.
    #[cfg(any(feature = "conformance", feature = "hazmat"))]
    pub fn seal(self, key: &[u8], nonce: &[u8], aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
        self.seal_raw(key, nonce, aad, plaintext)
    }

    /// [`AesGcm::seal`] for phiseal's own formats (crate-private).
    pub(crate) fn seal_raw(self, key: &[u8], nonce: &[u8], aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
        let nonce = nonce_of(nonce)?;
        let payload = Payload { msg: plaintext, aad };
        let out = match self {
            Self::Aes128 => cipher::<Aes128Gcm>(key)?.encrypt(nonce, payload),
            Self::Aes256 => cipher::<Aes256Gcm>(key)?.encrypt(nonce, payload),
        };
        out.map_err(|_| Error::invalid_argument("message too long for AES-GCM"))
    }

    /// Decrypts `ciphertext || tag`. Nothing is returned unless the tag verifies.
    ///
    /// # Errors
    /// [`ErrorCode::DecryptFailed`](crate::ErrorCode::DecryptFailed) on any
    /// authentication failure (including input shorter than a tag);
    /// [`ErrorCode::InvalidArgument`](crate::ErrorCode::InvalidArgument) for
    /// a key or nonce of the wrong length.
    pub fn open(self, key: &[u8], nonce: &[u8], aad: &[u8], ciphertext: &[u8]) -> Result<Vec<u8>> {
        let nonce = nonce_of(nonce)?;
        if ciphertext.len() < TAG_LEN {
            return Err(Error::DECRYPT_FAILED);
        }
        let payload = Payload { msg: ciphertext, aad };
        let out = match self {
            Self::Aes128 => cipher::<Aes128Gcm>(key)?.decrypt(nonce, payload),
            Self::Aes256 => cipher::<Aes256Gcm>(key)?.decrypt(nonce, payload),
        };
        out.map_err(|_| Error::DECRYPT_FAILED)
    }
}

fn nonce_of(nonce: &[u8]) -> Result<&Nonce<aes_gcm::aead::consts::U12>> {
    <&Nonce<aes_gcm::aead::consts::U12>>::try_from(nonce)
        .map_err(|_| Error::invalid_argument("AES-GCM nonce must be 12 bytes"))
}

fn cipher<C: KeyInit>(key: &[u8]) -> Result<C> {
    C::new_from_slice(key).map_err(|_| Error::invalid_argument("wrong AES key length"))
}
