//! The tenant index key: the secret from which deterministic and
//! blind-index field keys are derived (docs/FORMAT.md §5.4). Unlike record
//! data keys it is shared across records, so equal values can be found; it
//! is distributed to recipients sealed with HPKE (`phk1.` strings).

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

/// Length of the index key.
pub const INDEX_KEY_LEN: usize = 32;
/// Length of an index key id.
pub const INDEX_KEY_ID_LEN: usize = 16;
/// Prefix of a sealed index key.
pub const SEALED_INDEX_KEY_PREFIX: &str = "phk1.";
const FORMAT_VERSION: u8 = 1;
const WRAP_INFO: &[u8] = b"phiseal-index-key-v1";
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

    fn header(&self, recipients: &[PublicKey]) -> Result<Vec<u8>> {
        let mut w = Writer::default();
        w.u8(FORMAT_VERSION).raw(&self.id);
        w.u8(u8::try_from(recipients.len()).map_err(|_| Error::invalid_argument("at most 255 recipients"))?);
        for r in recipients {
            w.raw(&r.thumbprint());
        }
        Ok(w.finish())
    }

    /// Plans sealing this key to `recipients`; run the jobs, then
    /// [`finish_seal`](Self::finish_seal).
    ///
    /// # Errors
    /// [`ErrorCode::InvalidArgument`] for no recipients or more than 255.
    pub fn plan_seal(&self, recipients: &[PublicKey]) -> Result<Vec<WrapJob>> {
        if recipients.is_empty() {
            return Err(Error::invalid_argument("an index key needs at least one recipient"));
        }
        let header = self.header(recipients)?;
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

    /// Assembles the sealed `phk1.` string from the wrap results.
    ///
    /// # Errors
    /// [`ErrorCode::InvalidArgument`] if the results do not match the plan.
    pub fn finish_seal(&self, recipients: &[PublicKey], wrapped: &[Wrapped]) -> Result<String> {
        if wrapped.len() != recipients.len() {
            return Err(Error::invalid_argument("wrap results do not match the recipients"));
        }
        let mut w = Writer::default();
        w.raw(&self.header(recipients)?);
        for x in wrapped {
            x.write_to(&mut w, WRAPPED_KEY_LEN)?;
        }
        Ok(format!("{SEALED_INDEX_KEY_PREFIX}{}", b64(w.as_slice())))
    }

    /// Parses a sealed index key and finds `me` among its recipients.
    ///
    /// # Errors
    /// [`ErrorCode::Unsupported`] for another version;
    /// [`ErrorCode::MalformedInput`] for a malformed string;
    /// [`ErrorCode::NotRecipient`] if `me` is not a recipient.
    pub fn plan_open(sealed: &str, me: &PublicKey) -> Result<(SealedIndexKey, UnwrapJob)> {
        let body = sealed.strip_prefix(SEALED_INDEX_KEY_PREFIX).ok_or_else(|| {
            if sealed.starts_with("phk") {
                Error::unsupported("unsupported index key version")
            } else {
                Error::malformed("not a sealed index key (phk1.)")
            }
        })?;
        let bytes = unb64(body)?;
        let mut r = Reader::new(&bytes);
        if r.u8()? != FORMAT_VERSION {
            return Err(Error::unsupported("unsupported index key format version"));
        }
        let id: [u8; INDEX_KEY_ID_LEN] = r.array()?;
        let n = usize::from(r.u8()?);
        let kids: Vec<[u8; 32]> = (0..n).map(|_| r.array()).collect::<Result<_>>()?;
        let header = bytes.get(..r.position()).ok_or(Error::malformed("truncated"))?.to_vec();
        let mut job = None;
        let mine = me.thumbprint();
        for kid in &kids {
            let wrapped = Wrapped::read_from(&mut r, WRAPPED_KEY_LEN)?;
            if *kid == mine && job.is_none() {
                job =
                    Some(UnwrapJob { enc: wrapped.enc, ct: wrapped.ct, info: WRAP_INFO.to_vec(), aad: header.clone() });
            }
        }
        r.finish()?;
        let job = job.ok_or(Error::new(ErrorCode::NotRecipient, "this key is not a recipient of the index key"))?;
        Ok((SealedIndexKey { id }, job))
    }
}

/// A parsed sealed index key, waiting for its unwrapped secret.
pub struct SealedIndexKey {
    id: [u8; INDEX_KEY_ID_LEN],
}

impl SealedIndexKey {
    /// Finishes opening with the unwrapped secret.
    ///
    /// # Errors
    /// [`ErrorCode::DecryptFailed`] if the secret has the wrong length.
    pub fn finish(self, secret: &[u8]) -> Result<IndexKey> {
        let mut key = Zeroizing::new([0u8; INDEX_KEY_LEN]);
        if secret.len() != INDEX_KEY_LEN {
            return Err(Error::DECRYPT_FAILED);
        }
        key.copy_from_slice(secret);
        Ok(IndexKey { id: self.id, key })
    }
}

const _: () = assert!(ENC_LEN == 97);
