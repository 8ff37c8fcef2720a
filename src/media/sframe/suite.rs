//! The SFrame cipher suites, RFC 9605 §4.5, and their AEAD algorithms.
//!
//! | id | suite                      | Nh | Nk | Nn | Nt |
//! |----|----------------------------|----|----|----|----|
//! | 1  | AES_128_CTR_HMAC_SHA256_80 | 32 | 48 | 12 | 10 |
//! | 2  | AES_128_CTR_HMAC_SHA256_64 | 32 | 48 | 12 | 8  |
//! | 3  | AES_128_CTR_HMAC_SHA256_32 | 32 | 48 | 12 | 4  |
//! | 4  | AES_128_GCM_SHA256_128     | 32 | 16 | 12 | 16 |
//! | 5  | AES_256_GCM_SHA512_128     | 64 | 32 | 12 | 16 |
//!
//! The AES-CTR + HMAC suites follow RFC 9605 §4.5.1: the key is
//! `enc_key (16 bytes) || auth_key (32 bytes)`, the ciphertext is AES-128-CTR
//! from the initial counter block `nonce || 0x00000000`, and the tag is
//! HMAC-SHA256 over `len(aad) || len(ct) || Nt` (8-byte big-endian each)
//! `|| nonce || aad || ct`, truncated to `Nt` bytes. On decryption the tag is
//! compared in constant time before anything is decrypted. The primitives are
//! RustCrypto's `aes`, `ctr`, `hmac`, `sha2` and `aes-gcm`.

use aes::Aes128;
use aes_gcm::aead::consts::{U12, U16};
use aes_gcm::aead::{AeadCore, AeadInOut};
use aes_gcm::{Aes128Gcm, Aes256Gcm, KeyInit, Nonce, Tag};
use ctr::Ctr32BE;
use ctr::cipher::{KeyIvInit as _, StreamCipher as _};
use hmac::{Hmac, Mac as _};
use sha2::Sha256;
use subtle::ConstantTimeEq as _;

use crate::error::{Error, Result};
use crate::kdf::Kdf;

/// `Nn`: the nonce length of every RFC 9605 suite.
pub const NONCE_LEN: usize = 12;

/// RFC 9605 §4.5.1: length of `enc_key` (`Nka`) in the AES-CTR + HMAC suites.
const CTR_ENC_KEY_LEN: usize = 16;
/// HMAC-SHA256 output length.
const SHA256_LEN: usize = 32;

/// An SFrame cipher suite (RFC 9605 §4.5, IANA "SFrame Cipher Suites").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CipherSuite {
    /// `AES_128_CTR_HMAC_SHA256_80` (0x0001): 80-bit tag.
    Aes128CtrHmacSha256_80,
    /// `AES_128_CTR_HMAC_SHA256_64` (0x0002): 64-bit tag.
    Aes128CtrHmacSha256_64,
    /// `AES_128_CTR_HMAC_SHA256_32` (0x0003): 32-bit tag, for audio only
    /// (RFC 9605 §4.5.1 and §9.1 explain its forgery bound).
    Aes128CtrHmacSha256_32,
    /// `AES_128_GCM_SHA256_128` (0x0004).
    Aes128GcmSha256_128,
    /// `AES_256_GCM_SHA512_128` (0x0005).
    Aes256GcmSha512_128,
}

impl CipherSuite {
    /// Every suite of RFC 9605, in id order.
    pub const ALL: [Self; 5] = [
        Self::Aes128CtrHmacSha256_80,
        Self::Aes128CtrHmacSha256_64,
        Self::Aes128CtrHmacSha256_32,
        Self::Aes128GcmSha256_128,
        Self::Aes256GcmSha512_128,
    ];

    /// The registry id (RFC 9605 §8.1).
    #[must_use]
    pub const fn id(self) -> u16 {
        match self {
            Self::Aes128CtrHmacSha256_80 => 0x0001,
            Self::Aes128CtrHmacSha256_64 => 0x0002,
            Self::Aes128CtrHmacSha256_32 => 0x0003,
            Self::Aes128GcmSha256_128 => 0x0004,
            Self::Aes256GcmSha512_128 => 0x0005,
        }
    }

    /// Looks up a registry id.
    ///
    /// # Errors
    /// [`ErrorCode::Unsupported`](crate::ErrorCode::Unsupported) for any id
    /// other than 1 to 5.
    pub const fn from_id(id: u16) -> Result<Self> {
        match id {
            0x0001 => Ok(Self::Aes128CtrHmacSha256_80),
            0x0002 => Ok(Self::Aes128CtrHmacSha256_64),
            0x0003 => Ok(Self::Aes128CtrHmacSha256_32),
            0x0004 => Ok(Self::Aes128GcmSha256_128),
            0x0005 => Ok(Self::Aes256GcmSha512_128),
            _ => Err(Error::unsupported("unsupported SFrame cipher suite")),
        }
    }

    /// The registry name, e.g. `AES_128_GCM_SHA256_128`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Aes128CtrHmacSha256_80 => "AES_128_CTR_HMAC_SHA256_80",
            Self::Aes128CtrHmacSha256_64 => "AES_128_CTR_HMAC_SHA256_64",
            Self::Aes128CtrHmacSha256_32 => "AES_128_CTR_HMAC_SHA256_32",
            Self::Aes128GcmSha256_128 => "AES_128_GCM_SHA256_128",
            Self::Aes256GcmSha512_128 => "AES_256_GCM_SHA512_128",
        }
    }

    /// `Nh`: output length of the suite's hash (and HKDF), in bytes.
    #[must_use]
    pub const fn hash_len(self) -> usize {
        self.kdf().output_len()
    }

    /// `Nk`: the AEAD key length in bytes (`enc_key || auth_key` for CTR + HMAC).
    #[must_use]
    pub const fn key_len(self) -> usize {
        match self {
            Self::Aes128CtrHmacSha256_80 | Self::Aes128CtrHmacSha256_64 | Self::Aes128CtrHmacSha256_32 => {
                CTR_ENC_KEY_LEN + SHA256_LEN
            }
            Self::Aes128GcmSha256_128 => 16,
            Self::Aes256GcmSha512_128 => 32,
        }
    }

    /// `Nn`: the nonce length in bytes.
    #[must_use]
    pub const fn nonce_len(self) -> usize {
        NONCE_LEN
    }

    /// Whether this is an AES-GCM suite (4 or 5), whose AEAD a platform
    /// AES-GCM implementation can run.
    #[must_use]
    pub const fn is_gcm(self) -> bool {
        matches!(self, Self::Aes128GcmSha256_128 | Self::Aes256GcmSha512_128)
    }

    /// `Nt`: the tag length in bytes (the per-frame overhead besides the header).
    #[must_use]
    pub const fn tag_len(self) -> usize {
        match self {
            Self::Aes128CtrHmacSha256_80 => 10,
            Self::Aes128CtrHmacSha256_64 => 8,
            Self::Aes128CtrHmacSha256_32 => 4,
            Self::Aes128GcmSha256_128 | Self::Aes256GcmSha512_128 => 16,
        }
    }

    /// The HKDF hash of the suite (RFC 9605 §4.5).
    pub(crate) const fn kdf(self) -> Kdf {
        match self {
            Self::Aes256GcmSha512_128 => Kdf::Sha512,
            _ => Kdf::Sha256,
        }
    }

    /// `AEAD.Encrypt`: encrypts `buf[start..]` in place and appends the tag.
    ///
    /// # Errors
    /// [`ErrorCode::InvalidArgument`](crate::ErrorCode::InvalidArgument) for
    /// a key of the wrong length, `start` past the end, or a message too long
    /// for the algorithm.
    pub(crate) fn seal_in_place(
        self,
        key: &[u8],
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        buf: &mut Vec<u8>,
        start: usize,
    ) -> Result<()> {
        self.check_key(key)?;
        let data = buf.get_mut(start..).ok_or(Error::invalid_argument("SFrame payload offset out of range"))?;
        let too_long = |_| Error::invalid_argument("frame too long for the SFrame cipher suite");
        match self {
            Self::Aes128GcmSha256_128 => {
                let tag = gcm::<Aes128Gcm>(key)?.encrypt_inout_detached(&Nonce::from(*nonce), aad, data.into());
                buf.extend_from_slice(&tag.map_err(too_long)?);
            }
            Self::Aes256GcmSha512_128 => {
                let tag = gcm::<Aes256Gcm>(key)?.encrypt_inout_detached(&Nonce::from(*nonce), aad, data.into());
                buf.extend_from_slice(&tag.map_err(too_long)?);
            }
            Self::Aes128CtrHmacSha256_80 | Self::Aes128CtrHmacSha256_64 | Self::Aes128CtrHmacSha256_32 => {
                let (enc_key, auth_key) = split_ctr_key(key)?;
                aes_ctr(enc_key, nonce, data)?;
                let tag = hmac_tag(auth_key, nonce, aad, data, self.tag_len())?;
                let tag = tag.get(..self.tag_len()).ok_or(Error::invalid_argument("SFrame tag too long"))?;
                buf.extend_from_slice(tag);
            }
        }
        Ok(())
    }

    /// `AEAD.Decrypt`: verifies and decrypts `buf` (`ciphertext || tag`) in
    /// place, leaving the plaintext. On failure `buf` holds no plaintext.
    ///
    /// # Errors
    /// [`Error::DECRYPT_FAILED`] on any authentication failure (including a
    /// `buf` shorter than the tag);
    /// [`ErrorCode::InvalidArgument`](crate::ErrorCode::InvalidArgument) for
    /// a key of the wrong length.
    pub(crate) fn open_in_place(
        self,
        key: &[u8],
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        self.check_key(key)?;
        let ct_len = buf.len().checked_sub(self.tag_len()).ok_or(Error::DECRYPT_FAILED)?;
        let (ct, tag) = buf.split_at_mut(ct_len);
        let ok = match self {
            Self::Aes128GcmSha256_128 => gcm_open::<Aes128Gcm>(key, nonce, aad, ct, tag),
            Self::Aes256GcmSha512_128 => gcm_open::<Aes256Gcm>(key, nonce, aad, ct, tag),
            Self::Aes128CtrHmacSha256_80 | Self::Aes128CtrHmacSha256_64 | Self::Aes128CtrHmacSha256_32 => {
                let (enc_key, auth_key) = split_ctr_key(key)?;
                let expected = hmac_tag(auth_key, nonce, aad, ct, self.tag_len())?;
                // Constant-time tag check before any decryption (RFC 9605 §4.5.1).
                let tag_ok = expected.get(..tag.len()).is_some_and(|e| bool::from(e.ct_eq(tag)));
                if tag_ok { aes_ctr(enc_key, nonce, ct).is_ok() } else { false }
            }
        };
        if !ok {
            return Err(Error::DECRYPT_FAILED);
        }
        buf.truncate(ct_len);
        Ok(())
    }

    fn check_key(self, key: &[u8]) -> Result<()> {
        if key.len() == self.key_len() {
            Ok(())
        } else {
            Err(Error::invalid_argument("wrong SFrame key length for the cipher suite"))
        }
    }
}

impl TryFrom<u16> for CipherSuite {
    type Error = Error;

    fn try_from(id: u16) -> Result<Self> {
        Self::from_id(id)
    }
}

impl core::fmt::Display for CipherSuite {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

fn gcm<C: KeyInit>(key: &[u8]) -> Result<C> {
    C::new_from_slice(key).map_err(|_| Error::invalid_argument("wrong AES key length"))
}

/// AES-GCM decryption with a detached tag; the tag is verified (in constant
/// time, by `aes-gcm`) before anything is decrypted.
fn gcm_open<C>(key: &[u8], nonce: &[u8; NONCE_LEN], aad: &[u8], ct: &mut [u8], tag: &[u8]) -> bool
where
    C: KeyInit + AeadInOut + AeadCore<NonceSize = U12, TagSize = U16>,
{
    let Ok(tag) = <&Tag>::try_from(tag) else { return false };
    let Ok(cipher) = C::new_from_slice(key) else { return false };
    cipher.decrypt_inout_detached(&Nonce::from(*nonce), aad, ct.into(), tag).is_ok()
}

/// RFC 9605 §4.5.1 `derive_subkeys`: `enc_key = key[..Nka]`, `auth_key = key[Nka..]`.
fn split_ctr_key(key: &[u8]) -> Result<(&[u8], &[u8])> {
    key.split_at_checked(CTR_ENC_KEY_LEN).ok_or(Error::invalid_argument("SFrame CTR key too short"))
}

/// AES-128-CTR with the initial counter block `nonce || 0x00000000`
/// (RFC 9605 §4.5.1), applied in place (encryption and decryption alike).
fn aes_ctr(enc_key: &[u8], nonce: &[u8; NONCE_LEN], data: &mut [u8]) -> Result<()> {
    let mut iv = [0u8; 16];
    for (d, s) in iv.iter_mut().zip(nonce) {
        *d = *s;
    }
    let mut cipher = Ctr32BE::<Aes128>::new_from_slices(enc_key, &iv)
        .map_err(|_| Error::invalid_argument("wrong AES-CTR key length"))?;
    cipher.try_apply_keystream(data).map_err(|_| Error::invalid_argument("frame too long for AES-CTR"))
}

/// RFC 9605 §4.5.1 `compute_tag`, before truncation.
fn hmac_tag(
    auth_key: &[u8],
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    ct: &[u8],
    tag_len: usize,
) -> Result<[u8; SHA256_LEN]> {
    let len64 =
        |n: usize| u64::try_from(n).map(u64::to_be_bytes).map_err(|_| Error::invalid_argument("frame too long"));
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(auth_key)
        .map_err(|_| Error::invalid_argument("wrong HMAC key length"))?;
    mac.update(&len64(aad.len())?);
    mac.update(&len64(ct.len())?);
    mac.update(&len64(tag_len)?);
    mac.update(nonce);
    mac.update(aad);
    mac.update(ct);
    Ok(mac.finalize().into_bytes().into())
}
