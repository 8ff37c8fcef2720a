//! The tenant index key: the secret from which deterministic and
//! blind-index field keys are derived (docs/FORMAT.md §5.4). Unlike record
//! data keys it is shared across records, so equal values can be found; it
//! is distributed to recipients sealed with HPKE and signed by its author
//! (`phk2.` strings).

use core::fmt;

use aes_siv::KeyInit as _;
use aes_siv::siv::Aes256Siv;
use hmac::{Hmac, Mac as _};
use sha2::Sha384;
use zeroize::Zeroizing;

use super::codec::{Reader, Writer, b64, unb64};
use super::wrap::{UnwrapJob, WrapJob, Wrapped};
use crate::error::{Error, ErrorCode, Result};
use crate::hpke::ENC_LEN;
use crate::kdf::Kdf;
use crate::keys::{PublicKey, random_bytes};
use crate::sign::{SIGNATURE_LEN, SigningKey, Verified, VerifyJob};

/// Length of the index key.
pub const INDEX_KEY_LEN: usize = 32;
/// Length of an index key id.
pub const INDEX_KEY_ID_LEN: usize = 16;
/// Prefix of a sealed index key.
pub const SEALED_INDEX_KEY_PREFIX: &str = "phk2.";
/// Length of an index key commitment.
pub const INDEX_KEY_COMMITMENT_LEN: usize = 32;
const FORMAT_VERSION: u8 = 2;
const WRAP_INFO: &[u8] = b"phiseal-index-key-v2";
const COMMIT_INFO: &[u8] = b"phiseal-index-key-v2 commitment";
const SIGNATURE_LABEL: &[u8] = b"phiseal-index-key-v2 signature";
const DET_LABEL: &[u8] = b"phiseal-det-v1";
const BLIND_LABEL: &[u8] = b"phiseal-blind-v1";
/// HPKE ciphertext of a 32-byte key: key plus tag.
pub(crate) const WRAPPED_KEY_LEN: usize = INDEX_KEY_LEN + 16;

/// A tenant index key with its id. Zeroized on drop, never printed.
#[derive(Clone)]
pub struct IndexKey {
    id: [u8; INDEX_KEY_ID_LEN],
    key: Zeroizing<[u8; INDEX_KEY_LEN]>,
}

impl fmt::Debug for IndexKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IndexKey").field("id", &self.id_string()).finish_non_exhaustive()
    }
}

impl IndexKey {
    /// A fresh random index key.
    ///
    /// # Errors
    /// [`ErrorCode::RngFailed`] if the RNG fails.
    pub fn generate() -> Result<Self> {
        let mut id = [0u8; INDEX_KEY_ID_LEN];
        random_bytes(&mut id)?;
        let mut key = Zeroizing::new([0u8; INDEX_KEY_LEN]);
        random_bytes(&mut key[..])?;
        Ok(Self { id, key })
    }

    /// The key id (16 random bytes chosen at generation).
    #[must_use]
    pub const fn id(&self) -> &[u8; INDEX_KEY_ID_LEN] {
        &self.id
    }

    /// The key id as base64url.
    #[must_use]
    pub fn id_string(&self) -> String {
        b64(&self.id)
    }

    fn derive<const N: usize>(&self, label: &[u8], schema_id: &str, path: &str) -> Result<Zeroizing<[u8; N]>> {
        let mut info = Writer::default();
        info.str8(label)?.str8(schema_id.as_bytes())?.str8(path.as_bytes())?;
        let mut out = Zeroizing::new([0u8; N]);
        Kdf::Sha384.hkdf(&self.id, &self.key[..], info.as_slice(), &mut out[..])?;
        Ok(out)
    }

    /// AES-256-SIV (RFC 5297) for a deterministic field; AD binds schema and path.
    pub(crate) fn siv(&self, schema_id: &str, path: &str) -> Result<(Aes256Siv, Vec<u8>)> {
        let key = self.derive::<64>(DET_LABEL, schema_id, path)?;
        let cipher = Aes256Siv::new_from_slice(&key[..]).map_err(|_| Error::invalid_argument("bad SIV key length"))?;
        let mut ad = Writer::default();
        ad.str8(DET_LABEL)?.str8(schema_id.as_bytes())?.str8(path.as_bytes())?;
        Ok((cipher, ad.finish()))
    }

    /// The blind index of a canonical value: HMAC-SHA384 truncated to `bits`
    /// (trailing bits of the last byte zero).
    pub(crate) fn blind_index(&self, schema_id: &str, path: &str, bits: u8, value: &[u8]) -> Result<Vec<u8>> {
        let key = self.derive::<48>(BLIND_LABEL, schema_id, path)?;
        let mut mac = <Hmac<Sha384>>::new_from_slice(&key[..]).map_err(|_| Error::invalid_argument("bad HMAC key"))?;
        mac.update(value);
        let tag = mac.finalize().into_bytes();
        let len = usize::from(bits).div_ceil(8);
        let mut out = tag.get(..len).ok_or(Error::invalid_argument("blind index too long"))?.to_vec();
        let spare = len * 8 - usize::from(bits);
        if let Some(last) = out.last_mut() {
            *last &= 0xFFu8 << spare;
        }
        Ok(out)
    }

    /// The key commitment: `HKDF-SHA384(salt = id, IKM = key, info =
    /// "phiseal-index-key-v2 commitment", L = 32)`. Sealed index keys and
    /// records carry it, so one id names one key.
    #[must_use]
    pub fn commitment(&self) -> [u8; INDEX_KEY_COMMITMENT_LEN] {
        let mut out = [0u8; INDEX_KEY_COMMITMENT_LEN];
        // HKDF-SHA384 with a 32-byte output cannot fail.
        let _ = Kdf::Sha384.hkdf(&self.id, &self.key[..], COMMIT_INFO, &mut out);
        out
    }

    fn header(&self, recipients: &[PublicKey], author: &PublicKey) -> Result<Vec<u8>> {
        let mut w = Writer::default();
        w.u8(FORMAT_VERSION).raw(&self.id).raw(&self.commitment()).raw(&author.thumbprint());
        w.u8(u8::try_from(recipients.len()).map_err(|_| Error::invalid_argument("at most 255 recipients"))?);
        for r in recipients {
            w.raw(&r.thumbprint());
        }
        Ok(w.finish())
    }

    /// Plans sealing this key to `recipients`, signed by `author`; run the
    /// jobs, then [`finish_seal`](Self::finish_seal), then sign.
    ///
    /// # Errors
    /// [`ErrorCode::InvalidArgument`] for no recipients, more than 255, or a
    /// recipient listed twice.
    pub fn plan_seal(&self, recipients: &[PublicKey], author: &PublicKey) -> Result<Vec<WrapJob>> {
        if recipients.is_empty() {
            return Err(Error::invalid_argument("an index key needs at least one recipient"));
        }
        let kids: Vec<[u8; 32]> = recipients.iter().map(PublicKey::thumbprint).collect();
        if kids.iter().enumerate().any(|(i, a)| kids.iter().skip(i + 1).any(|b| a == b)) {
            return Err(Error::invalid_argument("a recipient is listed twice"));
        }
        let header = self.header(recipients, author)?;
        Ok(recipients
            .iter()
            .map(|r| WrapJob {
                recipient: *r,
                info: WRAP_INFO.to_vec(),
                aad: header.clone(),
                secret: Zeroizing::new(self.key.to_vec()),
            })
            .collect())
    }

    /// Assembles the sealed index key from the wrap results; the author then
    /// signs [`IndexKeySignPlan::message`].
    ///
    /// # Errors
    /// [`ErrorCode::InvalidArgument`] if the results do not match the plan.
    pub fn finish_seal(
        &self,
        recipients: &[PublicKey],
        author: &PublicKey,
        wrapped: &[Wrapped],
    ) -> Result<IndexKeySignPlan> {
        if wrapped.len() != recipients.len() {
            return Err(Error::invalid_argument("wrap results do not match the recipients"));
        }
        let mut w = Writer::default();
        w.raw(&self.header(recipients, author)?);
        for x in wrapped {
            x.write_to(&mut w, WRAPPED_KEY_LEN)?;
        }
        Ok(IndexKeySignPlan { signed: w.finish(), author: author.thumbprint() })
    }

    /// Seals this key with RustCrypto, signed by `author`.
    ///
    /// # Errors
    /// As [`plan_seal`](Self::plan_seal).
    pub fn seal(&self, recipients: &[PublicKey], author: &SigningKey) -> Result<String> {
        let pk = author.verifying_key();
        let jobs = self.plan_seal(recipients, &pk)?;
        let wrapped = jobs.iter().map(WrapJob::run).collect::<Result<Vec<_>>>()?;
        let plan = self.finish_seal(recipients, &pk, &wrapped)?;
        let signature = author.sign(&plan.message())?;
        plan.finish(&signature)
    }

    /// Parses a sealed index key, checks that its author is trusted, and
    /// finds `me` among its recipients.
    ///
    /// # Errors
    /// [`ErrorCode::Unsupported`] for another version;
    /// [`ErrorCode::MalformedInput`] for a malformed string or a recipient
    /// listed twice; [`ErrorCode::UntrustedAuthor`];
    /// [`ErrorCode::NotRecipient`] if `me` is not a recipient.
    pub fn plan_open(
        sealed: &str,
        me: &PublicKey,
        authors: &[PublicKey],
    ) -> Result<(SealedIndexKey, VerifyJob, UnwrapJob)> {
        let body = sealed.strip_prefix(SEALED_INDEX_KEY_PREFIX).ok_or_else(|| {
            if sealed.starts_with("phk") {
                Error::unsupported("unsupported index key version (this phiseal reads phk2.)")
            } else {
                Error::malformed("not a sealed index key (phk2.)")
            }
        })?;
        let bytes = unb64(body)?;
        let mut r = Reader::new(&bytes);
        if r.u8()? != FORMAT_VERSION {
            return Err(Error::unsupported("unsupported index key format version"));
        }
        let id: [u8; INDEX_KEY_ID_LEN] = r.array()?;
        let commitment: [u8; INDEX_KEY_COMMITMENT_LEN] = r.array()?;
        let author: [u8; 32] = r.array()?;
        let n = usize::from(r.u8()?);
        let kids: Vec<[u8; 32]> = (0..n).map(|_| r.array()).collect::<Result<_>>()?;
        if n == 0 || kids.iter().enumerate().any(|(i, a)| kids.iter().skip(i + 1).any(|b| a == b)) {
            return Err(Error::malformed("a sealed index key lists each recipient once"));
        }
        let header = bytes.get(..r.position()).ok_or(Error::malformed("truncated"))?.to_vec();
        let mut job = None;
        let mine = me.thumbprint();
        for kid in &kids {
            let wrapped = Wrapped::read_from(&mut r, WRAPPED_KEY_LEN)?;
            if *kid == mine {
                job =
                    Some(UnwrapJob { enc: wrapped.enc, ct: wrapped.ct, info: WRAP_INFO.to_vec(), aad: header.clone() });
            }
        }
        let signed = bytes.get(..r.position()).ok_or(Error::malformed("truncated"))?;
        let signature: [u8; SIGNATURE_LEN] = r.array()?;
        r.finish()?;
        let key = authors
            .iter()
            .find(|k| k.thumbprint() == author)
            .ok_or(Error::new(ErrorCode::UntrustedAuthor, "the index key's author is not among the trusted authors"))?;
        let job = job.ok_or(Error::new(ErrorCode::NotRecipient, "this key is not a recipient of the index key"))?;
        let verify = VerifyJob { key: *key, message: labelled(signed), signature };
        Ok((SealedIndexKey { id, commitment, verify: verify.clone() }, verify, job))
    }

    /// Opens a sealed index key with a RustCrypto private key.
    ///
    /// # Errors
    /// As [`plan_open`](Self::plan_open) and [`SealedIndexKey::finish`].
    pub fn open(sealed: &str, key: &crate::keys::PrivateKey, authors: &[PublicKey]) -> Result<Self> {
        let (plan, verify, job) = Self::plan_open(sealed, key.public_key(), authors)?;
        let verified = verify.run()?;
        let secret = job.run(key)?;
        plan.finish(&verified, &secret)
    }
}

/// `str8("phiseal-index-key-v2 signature") ‖ signed`.
fn labelled(signed: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + SIGNATURE_LABEL.len() + signed.len());
    out.push(u8::try_from(SIGNATURE_LABEL.len()).unwrap_or(u8::MAX));
    out.extend_from_slice(SIGNATURE_LABEL);
    out.extend_from_slice(signed);
    out
}

/// A sealed index key waiting for its author's signature.
pub struct IndexKeySignPlan {
    signed: Vec<u8>,
    author: [u8; 32],
}

impl IndexKeySignPlan {
    /// The bytes the author signs.
    #[must_use]
    pub fn message(&self) -> Vec<u8> {
        labelled(&self.signed)
    }

    /// The author key id the sealed key names.
    #[must_use]
    pub const fn author(&self) -> &[u8; 32] {
        &self.author
    }

    /// The `phk2.` string.
    ///
    /// # Errors
    /// [`ErrorCode::InvalidArgument`] for a signature that is not 96 bytes.
    pub fn finish(self, signature: &[u8]) -> Result<String> {
        if signature.len() != SIGNATURE_LEN {
            return Err(Error::invalid_argument("an author signature is 96 bytes (P1363 r ‖ s)"));
        }
        let mut bytes = self.signed;
        bytes.extend_from_slice(signature);
        Ok(format!("{SEALED_INDEX_KEY_PREFIX}{}", b64(&bytes)))
    }
}

/// A parsed sealed index key, waiting for its signature check and its
/// unwrapped secret.
pub struct SealedIndexKey {
    id: [u8; INDEX_KEY_ID_LEN],
    commitment: [u8; INDEX_KEY_COMMITMENT_LEN],
    verify: VerifyJob,
}

impl SealedIndexKey {
    /// Finishes opening: the signature proof, then the secret checked
    /// against the signed commitment.
    ///
    /// # Errors
    /// [`ErrorCode::InvalidSignature`] without the proof;
    /// [`ErrorCode::DecryptFailed`] if the secret is not the committed key.
    pub fn finish(self, verified: &Verified, secret: &[u8]) -> Result<IndexKey> {
        if !self.verify.accepts(verified) {
            return Err(Error::new(ErrorCode::InvalidSignature, "the index key's signature was not verified"));
        }
        let mut key = Zeroizing::new([0u8; INDEX_KEY_LEN]);
        if secret.len() != INDEX_KEY_LEN {
            return Err(Error::DECRYPT_FAILED);
        }
        key.copy_from_slice(secret);
        let ik = IndexKey { id: self.id, key };
        if !bool::from(subtle::ConstantTimeEq::ct_eq(&ik.commitment()[..], &self.commitment[..])) {
            return Err(Error::DECRYPT_FAILED);
        }
        Ok(ik)
    }
}

const _: () = assert!(ENC_LEN == 97);
