//! ECDSA over P-384 with SHA-384 (FIPS 186-5), for signed audit checkpoints.
//!
//! Signatures are produced deterministically (RFC 6979) and encoded as
//! IEEE P1363 `r || s` (96 bytes, the WebCrypto format); verification also
//! accepts ASN.1 DER. A signing key is a separate type from an HPKE
//! [`PrivateKey`](crate::keys::PrivateKey), so one cannot be used for the other.

use core::fmt;

use p384::ecdsa::signature::{Signer as _, Verifier as _};
use p384::ecdsa::{DerSignature, Signature};

use crate::error::{Error, Result};
use crate::keys::{PublicKey, SCALAR_LEN, generate_scalar};

/// Length of a P1363 signature (`r || s`).
pub const SIGNATURE_LEN: usize = 2 * SCALAR_LEN;

/// An ECDSA P-384 signing key. Zeroized on drop; never printed.
pub struct SigningKey(p384::ecdsa::SigningKey);

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey").field("kid", &self.verifying_key().kid()).finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Generates a signing key from the platform CSPRNG.
    ///
    /// # Errors
    /// [`ErrorCode::RngFailed`](crate::ErrorCode::RngFailed) if the RNG fails.
    pub fn generate() -> Result<Self> {
        generate_scalar(Self::from_scalar_bytes)
    }

    /// Imports a raw 48-byte big-endian scalar.
    ///
    /// # Errors
    /// [`ErrorCode::InvalidKey`](crate::ErrorCode::InvalidKey) if the length
    /// is wrong or the scalar is zero or not below the group order.
    pub fn from_scalar_bytes(bytes: &[u8]) -> Result<Self> {
        if bytes.len() != SCALAR_LEN {
            return Err(Error::invalid_key("P-384 private scalar must be 48 bytes"));
        }
        p384::ecdsa::SigningKey::from_slice(bytes)
            .map(Self)
            .map_err(|_| Error::invalid_key("P-384 private scalar out of range"))
    }

    /// The raw 48-byte big-endian scalar (zeroized on drop), for storing the
    /// key wrapped (the browser `KeyStore` wraps it under a non-extractable
    /// AES-GCM key).
    #[must_use]
    pub fn to_scalar_bytes(&self) -> zeroize::Zeroizing<[u8; SCALAR_LEN]> {
        let mut out = zeroize::Zeroizing::new([0u8; SCALAR_LEN]);
        let mut bytes = self.0.to_bytes();
        out.copy_from_slice(&bytes);
        zeroize::Zeroize::zeroize(bytes.as_mut_slice());
        out
    }

    /// The public key that verifies this key's signatures.
    #[must_use]
    pub fn verifying_key(&self) -> PublicKey {
        // A verifying key is always a valid, non-identity point.
        PublicKey::from_sec1(&self.0.verifying_key().to_sec1_bytes()).unwrap_or_else(|_| unreachable_public_key())
    }

    /// Signs `message` (hashed with SHA-384), returning P1363 `r || s`.
    ///
    /// # Errors
    /// [`ErrorCode::Misuse`](crate::ErrorCode::Misuse) in the negligible case
    /// that signing fails.
    pub fn sign(&self, message: &[u8]) -> Result<[u8; SIGNATURE_LEN]> {
        let sig: Signature = self.0.try_sign(message).map_err(|_| Error::misuse("ECDSA signing failed"))?;
        Ok(sig.to_bytes().into())
    }
}

#[allow(clippy::panic)]
fn unreachable_public_key() -> PublicKey {
    // The ecdsa crate guarantees its verifying key is a valid point.
    panic!("invariant: ECDSA verifying key is a valid point")
}

/// Verifies a P1363 (`r || s`, 96 bytes) signature over `message` with SHA-384.
///
/// # Errors
/// [`ErrorCode::InvalidSignature`](crate::ErrorCode::InvalidSignature) for an
/// invalid or malformed signature (one error for every cause).
pub fn verify_p1363(public: &PublicKey, message: &[u8], signature: &[u8]) -> Result<()> {
    let sig = Signature::from_slice(signature).map_err(|_| bad_signature())?;
    verifying(public).verify(message, &sig).map_err(|_| bad_signature())
}

/// Verifies an ASN.1 DER `ECDSA-Sig-Value` over `message` with SHA-384.
/// Only strict DER is accepted (no BER, no trailing bytes).
///
/// # Errors
/// As [`verify_p1363`].
pub fn verify_der(public: &PublicKey, message: &[u8], signature: &[u8]) -> Result<()> {
    let sig = DerSignature::try_from(signature).map_err(|_| bad_signature())?;
    verifying(public).verify(message, &sig).map_err(|_| bad_signature())
}

fn verifying(public: &PublicKey) -> p384::ecdsa::VerifyingKey {
    p384::ecdsa::VerifyingKey::from(*public.inner())
}

const fn bad_signature() -> Error {
    Error::new(crate::ErrorCode::InvalidSignature, "signature verification failed")
}

/// A signature to check before data is released: the public-key step of
/// the authenticated formats (records, sealed index keys, streams), as data,
/// so that it runs in RustCrypto ([`VerifyJob::run`]) or in WebCrypto (the
/// browser provider) with the same format code around it.
#[derive(Clone, Debug)]
pub struct VerifyJob {
    /// The trusted author key the signature must verify under.
    pub key: PublicKey,
    /// The signed message (domain-separated by its format).
    pub message: Vec<u8>,
    /// The P1363 signature.
    pub signature: [u8; SIGNATURE_LEN],
}

/// Proof that a [`VerifyJob`] succeeded, bound to the message it checked:
/// the formats refuse to release anything without the one of their job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified([u8; 48]);

impl VerifyJob {
    /// Runs the check with RustCrypto.
    ///
    /// # Errors
    /// [`ErrorCode::InvalidSignature`](crate::ErrorCode::InvalidSignature).
    pub fn run(&self) -> Result<Verified> {
        verify_p1363(&self.key, &self.message, &self.signature)?;
        Ok(self.verified())
    }

    /// The token for this job, once its signature was checked elsewhere
    /// (WebCrypto). Crate-internal: only a verifier may make one.
    pub(crate) fn verified(&self) -> Verified {
        Verified(self.digest())
    }

    fn digest(&self) -> [u8; 48] {
        use sha2::Digest as _;
        let mut h = sha2::Sha384::new();
        h.update(self.key.to_sec1(false));
        h.update(self.message.as_slice());
        h.update(self.signature);
        h.finalize().into()
    }

    /// Whether `token` is the proof of this job.
    #[must_use]
    pub fn accepts(&self, token: &Verified) -> bool {
        bool::from(subtle::ConstantTimeEq::ct_eq(&self.digest()[..], &token.0[..]))
    }
}
