//! Organisation recovery key, split k-of-n among officers (docs/FORMAT.md
//! §9): so that no PHI is lost because every device of a clinician was.
//!
//! A ceremony makes a fresh P-384 recovery key, splits its scalar with
//! Shamir's scheme over the P-384 scalar field (`vsss-rs`), seals each
//! share to one officer's public key with HPKE (`phr1.` strings) and wipes
//! the key: after the ceremony it is whole nowhere. Its public key is, by
//! policy, a recipient of every record ([`check_recoverable`]), stream and
//! index key. To recover, a recovery session makes an ephemeral key pair;
//! at least `k` officers each unseal their share on their own machine and
//! seal it again to the session's public key ([`reseal_share`]); the session
//! combines them ([`combine`]), which refuses shares of another ceremony,
//! repeated shares, too few shares, and a result that is not the recovery
//! key the organisation pinned, then rewraps what it must to the clinician's
//! new key (`field::rewrap_record`) and drops the recovery key.
//!
//! ```
//! use phiseal::keys::PrivateKey;
//! use phiseal::recovery;
//! let officers: Vec<PrivateKey> = (0..3).map(|_| PrivateKey::generate()).collect::<Result<_, _>>()?;
//! let pubs: Vec<_> = officers.iter().map(|o| *o.public_key()).collect();
//! let ceremony = recovery::split(2, &pubs)?;
//! let session = PrivateKey::generate()?;
//! let to_session: Vec<String> = [0, 2]
//!     .iter()
//!     .map(|&i| recovery::reseal_share(&ceremony.shares[i], &officers[i], session.public_key()))
//!     .collect::<Result<_, _>>()?;
//! let key = recovery::combine(&to_session, &session, &ceremony.recovery_key)?;
//! assert_eq!(key.public_key(), &ceremony.recovery_key);
//! # Ok::<(), phiseal::Error>(())
//! ```

use p384::Scalar;
use p384::elliptic_curve::PrimeField as _;
use vsss_rs::{IdentifierPrimeField, PrimeFieldShare, ReadableShareSet as _, Share as _, shamir};
use zeroize::{Zeroize as _, Zeroizing};

use crate::error::{Error, ErrorCode, Result};
use crate::field::{codec_b64 as b64, codec_unb64 as unb64};
use crate::hpke::{self, ENC_LEN, Suite};
use crate::json::Value;
use crate::keys::{PrivateKey, PublicKey, SCALAR_LEN};

/// Prefix of a sealed share.
pub const SHARE_PREFIX: &str = "phr1.";
const VERSION: u8 = 1;
const INFO: &[u8] = b"phiseal-recovery-share-v1";
/// version, ceremony thumbprint, k, n, index, recipient thumbprint.
const HEADER_LEN: usize = 1 + 32 + 1 + 1 + 1 + 32;
const CT_LEN: usize = SCALAR_LEN + 16;
/// At most this many officers (share indices are one byte, from 1).
pub const MAX_OFFICERS: usize = 255;

/// A ceremony's output: the recovery public key and one sealed share per
/// officer, in the order the officers were given.
#[derive(Clone, Debug)]
pub struct Ceremony {
    /// The recovery public key: pin it (or certify it) and make it a
    /// recipient of every record.
    pub recovery_key: PublicKey,
    /// `phr1.` shares, `shares[i]` sealed to officer `i`.
    pub shares: Vec<String>,
}

/// A share's header fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShareInfo {
    /// RFC 7638 thumbprint of the ceremony's recovery public key.
    pub ceremony: [u8; 32],
    /// Shares needed.
    pub threshold: u8,
    /// Shares made.
    pub shares: u8,
    /// This share's index, 1 to `shares`.
    pub index: u8,
    /// Thumbprint of the key this share is sealed to.
    pub recipient: [u8; 32],
}

impl ShareInfo {
    fn header(&self) -> Vec<u8> {
        let mut h = Vec::with_capacity(HEADER_LEN);
        h.push(VERSION);
        h.extend_from_slice(&self.ceremony);
        h.extend_from_slice(&[self.threshold, self.shares, self.index]);
        h.extend_from_slice(&self.recipient);
        h
    }
}

fn seal_share(info: &ShareInfo, to: &PublicKey, value: &[u8; SCALAR_LEN]) -> Result<String> {
    let header = info.header();
    let (enc, ct) = hpke::seal(Suite::PHISEAL, to, INFO, &header, value, None, None)?;
    let mut bytes = header;
    bytes.extend_from_slice(&enc);
    bytes.extend_from_slice(&ct);
    Ok(format!("{SHARE_PREFIX}{}", b64(&bytes)))
}

/// Reads a share's header (no key needed).
///
/// # Errors
/// [`ErrorCode::MalformedInput`] for anything but a `phr1.` share of the
/// right length; [`ErrorCode::Unsupported`] for another version.
pub fn share_info(sealed: &str) -> Result<ShareInfo> {
    Ok(parse(sealed)?.0)
}

fn parse(sealed: &str) -> Result<(ShareInfo, Vec<u8>)> {
    let body = sealed.strip_prefix(SHARE_PREFIX).ok_or(Error::malformed("not a phr1. recovery share"))?;
    let bytes = unb64(body)?;
    if bytes.len() != HEADER_LEN + ENC_LEN + CT_LEN {
        return Err(Error::malformed("a recovery share has the wrong length"));
    }
    let h: &[u8; HEADER_LEN] = bytes.first_chunk().ok_or(Error::malformed("truncated recovery share"))?;
    let [version, rest @ ..] = h;
    let (ceremony, rest): (&[u8; 32], &[u8]) = rest.split_first_chunk().ok_or(Error::malformed("truncated"))?;
    let [threshold, shares, index, recipient @ ..] = rest else { return Err(Error::malformed("truncated")) };
    if *version != VERSION {
        return Err(Error::unsupported("unsupported recovery share version"));
    }
    let recipient: [u8; 32] = recipient.try_into().map_err(|_| Error::malformed("truncated"))?;
    let info = ShareInfo { ceremony: *ceremony, threshold: *threshold, shares: *shares, index: *index, recipient };
    if info.threshold < 2 || info.threshold > info.shares || info.index == 0 || info.index > info.shares {
        return Err(Error::malformed("a recovery share's threshold, count or index is out of range"));
    }
    Ok((info, bytes))
}

fn open_share(sealed: &str, key: &PrivateKey) -> Result<(ShareInfo, Zeroizing<[u8; SCALAR_LEN]>)> {
    let (info, bytes) = parse(sealed)?;
    if info.recipient != key.public_key().thumbprint() {
        return Err(Error::new(ErrorCode::NotRecipient, "this recovery share is sealed to another key"));
    }
    let (header, rest) = bytes.split_at(HEADER_LEN);
    let (enc, ct) = rest.split_at(ENC_LEN);
    let pt = Zeroizing::new(hpke::open(Suite::PHISEAL, enc, key, INFO, header, ct, None, None)?);
    let mut value = Zeroizing::new([0u8; SCALAR_LEN]);
    if pt.len() != SCALAR_LEN {
        return Err(Error::DECRYPT_FAILED);
    }
    value.copy_from_slice(&pt);
    Ok((info, value))
}

/// Runs a ceremony: a fresh recovery key split `threshold`-of-`officers.len()`,
/// each share sealed to one officer. The recovery private key is wiped
/// before this returns.
///
/// # Errors
/// [`ErrorCode::InvalidArgument`] for a threshold below 2 or above the number
/// of officers, more than 255 officers, or an officer listed twice;
/// [`ErrorCode::RngFailed`] if the RNG fails.
pub fn split(threshold: u8, officers: &[PublicKey]) -> Result<Ceremony> {
    let n = officers.len();
    if threshold < 2 || usize::from(threshold) > n || n > MAX_OFFICERS {
        return Err(Error::invalid_argument("a recovery key needs 2 <= threshold <= officers <= 255"));
    }
    let prints: Vec<[u8; 32]> = officers.iter().map(PublicKey::thumbprint).collect();
    if prints.iter().enumerate().any(|(i, p)| prints.iter().take(i).any(|q| q == p)) {
        return Err(Error::invalid_argument("an officer is listed twice"));
    }
    let key = PrivateKey::generate()?;
    let scalar_bytes = key.to_scalar_bytes();
    let scalar: Option<Scalar> = Scalar::from_repr((*scalar_bytes).into()).into();
    let mut secret = IdentifierPrimeField(scalar.ok_or(Error::misuse("recovery scalar out of range"))?);
    let rng = rand_core::UnwrapErr(getrandom::SysRng);
    let split = shamir::split_secret::<PrimeFieldShare<Scalar>>(usize::from(threshold), n, &secret, rng);
    secret.0.zeroize();
    let mut shares = split.map_err(|_| Error::misuse("secret sharing failed"))?;
    let ceremony = key.public_key().thumbprint();
    let count = u8::try_from(n).map_err(|_| Error::invalid_argument("at most 255 officers"))?;
    let mut out = Vec::with_capacity(n);
    for (share, (officer, print)) in shares.iter().zip(officers.iter().zip(&prints)) {
        let index = share_index(share)?;
        let value = Zeroizing::new(<[u8; SCALAR_LEN]>::from(share.value().0.to_repr()));
        let info = ShareInfo { ceremony, threshold, shares: count, index, recipient: *print };
        out.push(seal_share(&info, officer, &value)?);
    }
    // The share values are wiped (p384 scalars are Copy and do not wipe
    // themselves; vsss-rs's polynomial is its own, dropped inside split).
    for s in &mut shares {
        s.value.0.zeroize();
    }
    Ok(Ceremony { recovery_key: *key.public_key(), shares: out })
}

/// The one-byte index of a share whose identifier is a small integer.
fn share_index(share: &PrimeFieldShare<Scalar>) -> Result<u8> {
    let repr = share.identifier().0.to_repr();
    let (high, low) = repr.split_at(SCALAR_LEN - 1);
    match (high.iter().all(|&b| b == 0), low.first()) {
        (true, Some(&i)) if i != 0 => Ok(i),
        _ => Err(Error::misuse("unexpected share identifier")),
    }
}

/// An officer's step of a recovery: opens the officer's share and seals it
/// to the recovery session's public key `to` (header unchanged but the
/// recipient). Run it on the officer's machine; the share is never in the
/// clear anywhere else. `to` must be the recovery session's key, checked out
/// of band (FORMAT §9.3 step 2: `phiseal recovery reseal` refuses a key whose
/// kid is not the one the administrator read out): a relay that swapped it
/// for its own would collect the shares.
///
/// # Errors
/// [`ErrorCode::NotRecipient`] for a share sealed to another key;
/// [`ErrorCode::DecryptFailed`] for an edited share; as [`share_info`].
pub fn reseal_share(sealed: &str, officer: &PrivateKey, to: &PublicKey) -> Result<String> {
    let (info, value) = open_share(sealed, officer)?;
    seal_share(&ShareInfo { recipient: to.thumbprint(), ..info }, to, &value)
}

/// Combines shares sealed to the recovery session's key into the recovery
/// private key, which must be `expected` (the recovery key the organisation
/// pinned).
///
/// # Errors
/// - [`ErrorCode::ContextMismatch`]: shares of different ceremonies, or of
///   a ceremony other than `expected`'s, or shares that combine into another
///   key (a forged or altered share);
/// - [`ErrorCode::InvalidArgument`]: fewer shares than the threshold, or one
///   index twice;
/// - [`ErrorCode::NotRecipient`], [`ErrorCode::DecryptFailed`]: as
///   [`reseal_share`].
pub fn combine(sealed: &[String], session: &PrivateKey, expected: &PublicKey) -> Result<PrivateKey> {
    const OTHER: Error =
        Error::new(ErrorCode::ContextMismatch, "these recovery shares are not of the expected ceremony");
    let want = expected.thumbprint();
    let mut shares = Vec::with_capacity(sealed.len());
    let mut first: Option<ShareInfo> = None;
    for s in sealed {
        let (info, value) = open_share(s, session)?;
        if info.ceremony != want {
            return Err(OTHER);
        }
        if first.is_some_and(|f| (f.threshold, f.shares) != (info.threshold, info.shares)) {
            return Err(OTHER);
        }
        first = Some(info);
        let v: Option<Scalar> = Scalar::from_repr((*value).into()).into();
        let v = v.ok_or(Error::DECRYPT_FAILED)?;
        shares.push((info.index, v));
    }
    let Some(info) = first else { return Err(Error::invalid_argument("no recovery shares")) };
    if shares.iter().enumerate().any(|(i, (a, _))| shares.iter().take(i).any(|(b, _)| a == b)) {
        return Err(Error::invalid_argument("a recovery share is given twice"));
    }
    if shares.len() < usize::from(info.threshold) {
        return Err(Error::invalid_argument("fewer recovery shares than the ceremony's threshold"));
    }
    let mut set: Vec<PrimeFieldShare<Scalar>> = shares
        .iter()
        .map(|(i, v)| {
            PrimeFieldShare::with_identifier_and_value(
                IdentifierPrimeField(Scalar::from(u64::from(*i))),
                IdentifierPrimeField(*v),
            )
        })
        .collect();
    let combined = set.combine();
    for s in &mut shares {
        s.1.zeroize();
    }
    for s in &mut set {
        s.value.0.zeroize();
    }
    let mut secret = combined.map_err(|_| OTHER)?;
    let bytes = Zeroizing::new(<[u8; SCALAR_LEN]>::from(secret.0.to_repr()));
    secret.0.zeroize();
    let key = PrivateKey::from_scalar_bytes(&bytes[..]).map_err(|_| OTHER)?;
    if key.public_key().thumbprint() != want {
        return Err(OTHER);
    }
    Ok(key)
}

/// Checks that `recovery` is a recipient of every access group of a sealed
/// record (docs/FORMAT.md §9.3): the organisation's policy that no record is
/// sealed without its recovery key. Reads the header only (no key).
///
/// # Errors
/// [`ErrorCode::NotRecipient`] for a group without it; as
/// [`crate::field::inspect`] for a record that is not sealed.
pub fn check_recoverable(sealed: &Value, recovery: &PublicKey) -> Result<()> {
    let header = crate::field::inspect(sealed)?;
    let print = recovery.thumbprint();
    if header.groups.iter().all(|(_, kids)| kids.contains(&print)) {
        Ok(())
    } else {
        Err(Error::new(ErrorCode::NotRecipient, "the recovery key is not a recipient of every group of this record"))
    }
}
