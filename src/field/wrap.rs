//! Key wrapping jobs: the HPKE operations of the record and index-key
//! formats, described as data so that the Diffie-Hellman can run in
//! RustCrypto (here, synchronously) or in WebCrypto (the browser provider,
//! asynchronously) with the same formats around it. Suite: [`Suite::PHISEAL`],
//! mode base, single-shot.

use zeroize::Zeroizing;

use super::codec::{Reader, Writer};
use crate::error::{Error, Result};
use crate::hpke::{self, ENC_LEN, Suite};
use crate::keys::{PrivateKey, PublicKey};

/// Seal `secret` to `recipient` with HPKE (`info`, `aad`).
pub struct WrapJob {
    /// The recipient.
    pub recipient: PublicKey,
    /// HPKE info.
    pub info: Vec<u8>,
    /// HPKE AAD.
    pub aad: Vec<u8>,
    /// The key being wrapped.
    pub secret: Zeroizing<Vec<u8>>,
}

/// The result of a [`WrapJob`].
#[derive(Clone, Debug)]
pub struct Wrapped {
    /// HPKE `enc` (97 bytes).
    pub enc: Vec<u8>,
    /// HPKE ciphertext (secret plus 16-byte tag).
    pub ct: Vec<u8>,
}

impl Wrapped {
    pub(crate) fn write_to(&self, w: &mut Writer, ct_len: usize) -> Result<()> {
        if self.enc.len() != ENC_LEN || self.ct.len() != ct_len {
            return Err(Error::invalid_argument("wrapped key has the wrong length"));
        }
        w.raw(&self.enc).raw(&self.ct);
        Ok(())
    }

    pub(crate) fn read_from(r: &mut Reader<'_>, ct_len: usize) -> Result<Self> {
        Ok(Self { enc: r.raw(ENC_LEN)?.to_vec(), ct: r.raw(ct_len)?.to_vec() })
    }
}

/// Open a wrapped key with the recipient's private key.
pub struct UnwrapJob {
    /// HPKE `enc`.
    pub enc: Vec<u8>,
    /// HPKE ciphertext.
    pub ct: Vec<u8>,
    /// HPKE info.
    pub info: Vec<u8>,
    /// HPKE AAD.
    pub aad: Vec<u8>,
}

impl WrapJob {
    /// Runs the job with RustCrypto.
    ///
    /// # Errors
    /// RNG failure.
    pub fn run(&self) -> Result<Wrapped> {
        let (enc, ct) = hpke::seal(Suite::PHISEAL, &self.recipient, &self.info, &self.aad, &self.secret, None, None)?;
        Ok(Wrapped { enc, ct })
    }
}

impl UnwrapJob {
    /// Runs the job with a RustCrypto private key.
    ///
    /// # Errors
    /// [`ErrorCode::DecryptFailed`](crate::ErrorCode::DecryptFailed) if the
    /// wrapped key does not open; [`ErrorCode::InvalidKey`](crate::ErrorCode::InvalidKey) for a bad `enc`.
    pub fn run(&self, key: &PrivateKey) -> Result<Zeroizing<Vec<u8>>> {
        hpke::open(Suite::PHISEAL, &self.enc, key, &self.info, &self.aad, &self.ct, None, None).map(Zeroizing::new)
    }
}
