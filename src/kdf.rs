//! HKDF (RFC 5869) over SHA-256/384/512, and the labeled variants of
//! RFC 9180 §4 (`LabeledExtract`, `LabeledExpand`).
//!
//! The primitive is RustCrypto's `hkdf`; this module only fixes the
//! algorithm choice at run time and builds the RFC 9180 labels without
//! concatenating secrets into temporary buffers.

use hkdf::{Hkdf, HkdfExtract};
use sha2::{Sha256, Sha384, Sha512};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// RFC 9180 §4: the version label prefixed to every labeled input.
const HPKE_VERSION_LABEL: &[u8] = b"HPKE-v1";

/// An HKDF instance, identified by its RFC 9180 §7.2 `kdf_id`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kdf {
    /// HKDF-SHA256 (0x0001).
    Sha256,
    /// HKDF-SHA384 (0x0002).
    Sha384,
    /// HKDF-SHA512 (0x0003).
    Sha512,
}

/// A pseudorandom key (output of Extract). Zeroized on drop.
pub type Prk = Zeroizing<Vec<u8>>;

macro_rules! per_hash {
    ($kdf:expr, $h:ident => $body:expr) => {
        match $kdf {
            Kdf::Sha256 => {
                type $h = Sha256;
                $body
            }
            Kdf::Sha384 => {
                type $h = Sha384;
                $body
            }
            Kdf::Sha512 => {
                type $h = Sha512;
                $body
            }
        }
    };
}

impl Kdf {
    /// The RFC 9180 registry id.
    #[must_use]
    pub const fn id(self) -> u16 {
        match self {
            Self::Sha256 => 0x0001,
            Self::Sha384 => 0x0002,
            Self::Sha512 => 0x0003,
        }
    }

    /// Looks up an RFC 9180 `kdf_id`.
    ///
    /// # Errors
    /// [`ErrorCode::Unsupported`](crate::ErrorCode::Unsupported) for any other id.
    pub const fn from_id(id: u16) -> Result<Self> {
        match id {
            0x0001 => Ok(Self::Sha256),
            0x0002 => Ok(Self::Sha384),
            0x0003 => Ok(Self::Sha512),
            _ => Err(Error::unsupported("unsupported KDF id")),
        }
    }

    /// `Nh`: the hash output length in bytes.
    #[must_use]
    pub const fn output_len(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }

    /// HKDF-Extract over the concatenation of `ikm_parts`.
    #[must_use]
    pub fn extract_parts(self, salt: &[u8], ikm_parts: &[&[u8]]) -> Prk {
        per_hash!(self, H => {
            let mut ext = HkdfExtract::<H>::new(Some(salt));
            for part in ikm_parts {
                ext.input_ikm(part);
            }
            let (prk, _) = ext.finalize();
            Zeroizing::new(prk.to_vec())
        })
    }

    /// HKDF-Expand with `info` the concatenation of `info_parts`.
    ///
    /// # Errors
    /// [`ErrorCode::InvalidArgument`](crate::ErrorCode::InvalidArgument) if
    /// `out.len() > 255 * Nh` or the PRK is shorter than `Nh`.
    pub fn expand_parts(self, prk: &[u8], info_parts: &[&[u8]], out: &mut [u8]) -> Result<()> {
        per_hash!(self, H => {
            let hk = Hkdf::<H>::from_prk(prk)
                .map_err(|_| Error::invalid_argument("HKDF PRK too short"))?;
            hk.expand_multi_info(info_parts, out)
                .map_err(|_| Error::invalid_argument("HKDF output length too large"))
        })
    }

    /// Plain RFC 5869 HKDF (extract then expand).
    ///
    /// # Errors
    /// As [`Kdf::expand_parts`].
    pub fn hkdf(self, salt: &[u8], ikm: &[u8], info: &[u8], out: &mut [u8]) -> Result<()> {
        let prk = self.extract_parts(salt, &[ikm]);
        self.expand_parts(&prk, &[info], out)
    }

    /// RFC 9180 §4 `LabeledExtract(salt, label, ikm)`.
    #[must_use]
    pub fn labeled_extract(self, suite_id: &[u8], salt: &[u8], label: &[u8], ikm: &[u8]) -> Prk {
        self.extract_parts(salt, &[HPKE_VERSION_LABEL, suite_id, label, ikm])
    }

    /// RFC 9180 §4 `LabeledExpand(prk, label, info, L)`, writing `L = out.len()` bytes.
    ///
    /// # Errors
    /// [`ErrorCode::InvalidArgument`](crate::ErrorCode::InvalidArgument) if
    /// `L` does not fit in two bytes or exceeds `255 * Nh`.
    pub fn labeled_expand(self, suite_id: &[u8], prk: &[u8], label: &[u8], info: &[u8], out: &mut [u8]) -> Result<()> {
        let len = u16::try_from(out.len())
            .map_err(|_| Error::invalid_argument("HKDF output length too large"))?
            .to_be_bytes();
        self.expand_parts(prk, &[&len, HPKE_VERSION_LABEL, suite_id, label, info], out)
    }
}
