//! Hybrid Public Key Encryption, [RFC 9180], with DHKEM(P-384, HKDF-SHA384).
//!
//! phiseal's own formats pin one suite, [`Suite::PHISEAL`]:
//! DHKEM(P-384, HKDF-SHA384) (`0x0011`), HKDF-SHA384 (`0x0002`),
//! AES-256-GCM (`0x0002`). For conformance and interoperability this module
//! also runs HKDF-SHA256/512, AES-128-GCM and the export-only AEAD, in all
//! four modes (base, psk, auth, auth_psk), single-shot and with
//! multi-message contexts and the secret-export interface.
//!
//! # Where the Diffie-Hellman step runs
//! The key schedule (§5.1), the DHKEM `ExtractAndExpand` (§4.1) and all
//! validation live here. The Diffie-Hellman operations themselves can come
//! from RustCrypto ([`setup_sender`], [`setup_recipient`]) or from elsewhere,
//! e.g. WebCrypto with a non-extractable key in the browser, through
//! [`setup_sender_from_dh`] and [`setup_recipient_from_dh`], which take the
//! DH output and finish the same way. Both paths run the same vectors.
//!
//! ```
//! use phiseal::hpke::{self, Suite};
//! use phiseal::keys::PrivateKey;
//! let recipient = PrivateKey::generate()?;
//! let (enc, ct) = hpke::seal(Suite::PHISEAL, recipient.public_key(), b"info", b"aad", b"hello", None, None)?;
//! let pt = hpke::open(Suite::PHISEAL, &enc, &recipient, b"info", b"aad", &ct, None, None)?;
//! assert_eq!(pt, b"hello");
//! # Ok::<(), phiseal::Error>(())
//! ```
//!
//! [RFC 9180]: https://www.rfc-editor.org/rfc/rfc9180

use core::fmt;

use zeroize::Zeroizing;

use crate::aead::{AesGcm, NONCE_LEN};
use crate::error::{Error, Result};
use crate::kdf::Kdf;
use crate::keys::{PrivateKey, PublicKey, SCALAR_LEN, SHARED_SECRET_LEN, UNCOMPRESSED_POINT_LEN};

/// RFC 9180 §7.1: DHKEM(P-384, HKDF-SHA384).
pub const KEM_P384_HKDF_SHA384: u16 = 0x0011;
/// RFC 9180 §7.1: `Nenc` for DHKEM(P-384): an uncompressed point.
pub const ENC_LEN: usize = UNCOMPRESSED_POINT_LEN;
/// RFC 9180 §7.1: `Nsecret` for DHKEM(P-384).
pub const KEM_SECRET_LEN: usize = 48;
/// Minimum PSK length (RFC 9180 §9.5: at least 32 bytes of entropy).
pub const MIN_PSK_LEN: usize = 32;
/// The DHKEM's own KDF (RFC 9180 §7.1).
const KEM_KDF: Kdf = Kdf::Sha384;
/// `suite_id` of the KEM (§4.1): `"KEM" || I2OSP(kem_id, 2)`.
const KEM_SUITE_ID: [u8; 5] = [b'K', b'E', b'M', 0x00, 0x11];

/// KEM ids of RFC 9180 §7.1 that the key schedule accepts (for running the
/// official vectors). Only P-384 has a KEM implementation here.
const KNOWN_KEM_IDS: [u16; 5] = [0x0010, 0x0011, 0x0012, 0x0020, 0x0021];

/// RFC 9180 §5: the four modes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// `mode_base` (0x00).
    Base,
    /// `mode_psk` (0x01).
    Psk,
    /// `mode_auth` (0x02).
    Auth,
    /// `mode_auth_psk` (0x03).
    AuthPsk,
}

impl Mode {
    /// The mode byte.
    #[must_use]
    pub const fn id(self) -> u8 {
        match self {
            Self::Base => 0,
            Self::Psk => 1,
            Self::Auth => 2,
            Self::AuthPsk => 3,
        }
    }

    /// The mode implied by the presence of a PSK and of a sender key.
    #[must_use]
    pub const fn of(psk: bool, auth: bool) -> Self {
        match (psk, auth) {
            (false, false) => Self::Base,
            (true, false) => Self::Psk,
            (false, true) => Self::Auth,
            (true, true) => Self::AuthPsk,
        }
    }
}

/// RFC 9180 §7.3 AEAD ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AeadId {
    /// AES-128-GCM (0x0001).
    Aes128Gcm,
    /// AES-256-GCM (0x0002).
    Aes256Gcm,
    /// Export-only (0xFFFF): the context can only export secrets.
    ExportOnly,
}

impl AeadId {
    /// The registry id.
    #[must_use]
    pub const fn id(self) -> u16 {
        match self {
            Self::Aes128Gcm => 0x0001,
            Self::Aes256Gcm => 0x0002,
            Self::ExportOnly => 0xFFFF,
        }
    }

    /// Looks up a registry id.
    ///
    /// # Errors
    /// [`ErrorCode::Unsupported`](crate::ErrorCode::Unsupported) for ChaCha20-Poly1305 and unknown ids.
    pub const fn from_id(id: u16) -> Result<Self> {
        match id {
            0x0001 => Ok(Self::Aes128Gcm),
            0x0002 => Ok(Self::Aes256Gcm),
            0xFFFF => Ok(Self::ExportOnly),
            _ => Err(Error::unsupported("unsupported AEAD id")),
        }
    }

    const fn cipher(self) -> Option<AesGcm> {
        match self {
            Self::Aes128Gcm => Some(AesGcm::Aes128),
            Self::Aes256Gcm => Some(AesGcm::Aes256),
            Self::ExportOnly => None,
        }
    }
}

/// An HPKE cipher suite (KEM, KDF, AEAD).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Suite {
    kem_id: u16,
    kdf: Kdf,
    aead: AeadId,
}

impl Suite {
    /// phiseal's pinned suite: DHKEM(P-384, HKDF-SHA384), HKDF-SHA384, AES-256-GCM.
    pub const PHISEAL: Self = Self { kem_id: KEM_P384_HKDF_SHA384, kdf: Kdf::Sha384, aead: AeadId::Aes256Gcm };

    /// A DHKEM(P-384) suite with the given KDF and AEAD.
    #[must_use]
    pub const fn p384(kdf: Kdf, aead: AeadId) -> Self {
        Self { kem_id: KEM_P384_HKDF_SHA384, kdf, aead }
    }

    /// A suite from registry ids. KEM ids other than P-384 are accepted so
    /// the key schedule can run RFC 9180's official vectors, but their KEM
    /// operations return [`ErrorCode::Unsupported`](crate::ErrorCode::Unsupported).
    ///
    /// # Errors
    /// [`ErrorCode::Unsupported`](crate::ErrorCode::Unsupported) for unknown ids.
    pub fn from_ids(kem_id: u16, kdf_id: u16, aead_id: u16) -> Result<Self> {
        if !KNOWN_KEM_IDS.contains(&kem_id) {
            return Err(Error::unsupported("unsupported KEM id"));
        }
        Ok(Self { kem_id, kdf: Kdf::from_id(kdf_id)?, aead: AeadId::from_id(aead_id)? })
    }

    /// The KEM id.
    #[must_use]
    pub const fn kem_id(&self) -> u16 {
        self.kem_id
    }
    /// The KDF.
    #[must_use]
    pub const fn kdf(&self) -> Kdf {
        self.kdf
    }
    /// The AEAD.
    #[must_use]
    pub const fn aead(&self) -> AeadId {
        self.aead
    }

    /// §5.1: `"HPKE" || I2OSP(kem_id, 2) || I2OSP(kdf_id, 2) || I2OSP(aead_id, 2)`.
    fn suite_id(&self) -> [u8; 10] {
        let [k0, k1] = self.kem_id.to_be_bytes();
        let [d0, d1] = self.kdf.id().to_be_bytes();
        let [a0, a1] = self.aead.id().to_be_bytes();
        [b'H', b'P', b'K', b'E', k0, k1, d0, d1, a0, a1]
    }

    fn require_p384(&self) -> Result<()> {
        if self.kem_id == KEM_P384_HKDF_SHA384 {
            Ok(())
        } else {
            Err(Error::unsupported("only DHKEM(P-384, HKDF-SHA384) is implemented"))
        }
    }
}

/// A pre-shared key and its id (modes psk and auth_psk).
#[derive(Clone, Copy)]
pub struct Psk<'a> {
    /// The PSK, at least [`MIN_PSK_LEN`] bytes.
    pub psk: &'a [u8],
    /// The PSK identifier, non-empty.
    pub id: &'a [u8],
}

impl fmt::Debug for Psk<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Psk").field("id_len", &self.id.len()).finish_non_exhaustive()
    }
}

/// A KEM shared secret (`Nsecret` bytes). Zeroized on drop.
pub type SharedSecret = Zeroizing<[u8; KEM_SECRET_LEN]>;

// ---------------------------------------------------------------------------
// DHKEM(P-384, HKDF-SHA384), RFC 9180 §4.1 and §7.1.3
// ---------------------------------------------------------------------------

/// §7.1.3 `DeriveKeyPair(ikm)` for P-384 (bitmask 0xff).
///
/// # Errors
/// [`ErrorCode::InvalidArgument`](crate::ErrorCode::InvalidArgument) if `ikm`
/// is shorter than `Nsk` = 48 bytes; [`ErrorCode::Misuse`](crate::ErrorCode::Misuse)
/// in the (probability ~2^-190·256) case that no candidate is valid.
pub fn derive_key_pair(ikm: &[u8]) -> Result<PrivateKey> {
    if ikm.len() < SCALAR_LEN {
        return Err(Error::invalid_argument("DeriveKeyPair input must have at least 48 bytes"));
    }
    let dkp_prk = KEM_KDF.labeled_extract(&KEM_SUITE_ID, b"", b"dkp_prk", ikm);
    for counter in 0..=255u8 {
        let mut candidate = Zeroizing::new([0u8; SCALAR_LEN]);
        KEM_KDF.labeled_expand(&KEM_SUITE_ID, &dkp_prk, b"candidate", &[counter], &mut candidate[..])?;
        if let Ok(key) = PrivateKey::from_scalar_bytes(&candidate[..]) {
            return Ok(key);
        }
    }
    Err(Error::misuse("DeriveKeyPair found no valid candidate"))
}

/// §4.1 `ExtractAndExpand(dh, kem_context)` with `kem_context = enc || pkRm [|| pkSm]`.
pub(crate) fn kem_shared_secret(
    dh: &[u8],
    enc: &[u8],
    pk_r: &PublicKey,
    pk_s: Option<&PublicKey>,
) -> Result<SharedSecret> {
    let expected_dh = if pk_s.is_some() { 2 * SHARED_SECRET_LEN } else { SHARED_SECRET_LEN };
    if dh.len() != expected_dh {
        return Err(Error::invalid_argument("Diffie-Hellman output has the wrong length"));
    }
    let eae_prk = KEM_KDF.labeled_extract(&KEM_SUITE_ID, b"", b"eae_prk", dh);
    let pk_rm = pk_r.to_sec1(false);
    let pk_sm = pk_s.map(|k| k.to_sec1(false)).unwrap_or_default();
    let mut kem_context = Vec::with_capacity(3 * ENC_LEN);
    kem_context.extend_from_slice(enc);
    kem_context.extend_from_slice(&pk_rm);
    kem_context.extend_from_slice(&pk_sm);
    let mut shared = Zeroizing::new([0u8; KEM_SECRET_LEN]);
    KEM_KDF.labeled_expand(&KEM_SUITE_ID, &eae_prk, b"shared_secret", &kem_context, &mut shared[..])?;
    Ok(shared)
}

/// Validates `enc` as an uncompressed P-384 point (§7.1.4 `DeserializePublicKey`).
///
/// # Errors
/// [`ErrorCode::InvalidKey`](crate::ErrorCode::InvalidKey) if it is not.
pub fn parse_enc(enc: &[u8]) -> Result<PublicKey> {
    if enc.len() != ENC_LEN {
        return Err(Error::invalid_key("HPKE enc must be a 97-byte uncompressed P-384 point"));
    }
    PublicKey::from_sec1(enc)
}

fn dh_concat(
    first: &PrivateKey,
    second: Option<&PrivateKey>,
    with_first: &PublicKey,
    with_second: &PublicKey,
) -> Zeroizing<Vec<u8>> {
    let mut dh = Zeroizing::new(Vec::with_capacity(2 * SHARED_SECRET_LEN));
    dh.extend_from_slice(&first.diffie_hellman(with_first)[..]);
    if let Some(second) = second {
        dh.extend_from_slice(&second.diffie_hellman(with_second)[..]);
    }
    dh
}

// ---------------------------------------------------------------------------
// Key schedule, RFC 9180 §5.1
// ---------------------------------------------------------------------------

/// §5.1 `KeySchedule`, returning the context state.
fn key_schedule(
    suite: Suite,
    mode: Mode,
    shared_secret: &[u8],
    info: &[u8],
    psk: Option<Psk<'_>>,
) -> Result<ContextState> {
    let (psk_bytes, psk_id) = match psk {
        Some(p) => {
            if p.psk.is_empty() || p.id.is_empty() {
                return Err(Error::invalid_argument("PSK and PSK id must both be non-empty"));
            }
            if p.psk.len() < MIN_PSK_LEN {
                return Err(Error::invalid_argument("PSK must be at least 32 bytes"));
            }
            (p.psk, p.id)
        }
        None => (&b""[..], &b""[..]),
    };
    let suite_id = suite.suite_id();
    let kdf = suite.kdf;
    let psk_id_hash = kdf.labeled_extract(&suite_id, b"", b"psk_id_hash", psk_id);
    let info_hash = kdf.labeled_extract(&suite_id, b"", b"info_hash", info);
    let mut context = Vec::with_capacity(1 + psk_id_hash.len() + info_hash.len());
    context.push(mode.id());
    context.extend_from_slice(&psk_id_hash);
    context.extend_from_slice(&info_hash);
    let secret = kdf.labeled_extract(&suite_id, shared_secret, b"secret", psk_bytes);

    let (key, base_nonce) = match suite.aead.cipher() {
        Some(cipher) => {
            let mut key = Zeroizing::new(vec![0u8; cipher.key_len()]);
            kdf.labeled_expand(&suite_id, &secret, b"key", &context, &mut key)?;
            let mut nonce = Zeroizing::new([0u8; NONCE_LEN]);
            kdf.labeled_expand(&suite_id, &secret, b"base_nonce", &context, &mut nonce[..])?;
            (key, nonce)
        }
        None => (Zeroizing::new(Vec::new()), Zeroizing::new([0u8; NONCE_LEN])),
    };
    let mut exporter_secret = Zeroizing::new(vec![0u8; kdf.output_len()]);
    kdf.labeled_expand(&suite_id, &secret, b"exp", &context, &mut exporter_secret)?;
    Ok(ContextState { suite, key, base_nonce, exporter_secret, seq: 0 })
}

/// The state shared by sender and recipient contexts (§5.2). Zeroized on drop.
struct ContextState {
    suite: Suite,
    key: Zeroizing<Vec<u8>>,
    base_nonce: Zeroizing<[u8; NONCE_LEN]>,
    exporter_secret: Zeroizing<Vec<u8>>,
    seq: u64,
}

impl ContextState {
    fn cipher(&self) -> Result<AesGcm> {
        self.suite.aead.cipher().ok_or(Error::misuse("an export-only HPKE context cannot seal or open"))
    }

    /// §5.2 `ComputeNonce(seq)`: base_nonce XOR I2OSP(seq, Nn).
    fn nonce(&self) -> [u8; NONCE_LEN] {
        let mut nonce = *self.base_nonce;
        for (n, s) in nonce[NONCE_LEN - 8..].iter_mut().zip(self.seq.to_be_bytes()) {
            *n ^= s;
        }
        nonce
    }

    /// §5.2 `IncrementSeq`; the last sequence number is never used so the
    /// counter cannot wrap.
    fn check_seq(&self) -> Result<()> {
        if self.seq == u64::MAX { Err(Error::misuse("HPKE context message limit reached")) } else { Ok(()) }
    }

    /// §5.3 `Export(exporter_context, L)`.
    fn export(&self, exporter_context: &[u8], len: usize) -> Result<Zeroizing<Vec<u8>>> {
        if len > 255 * self.suite.kdf.output_len() {
            return Err(Error::invalid_argument("HPKE export length exceeds 255*Nh"));
        }
        let mut out = Zeroizing::new(vec![0u8; len]);
        self.suite.kdf.labeled_expand(
            &self.suite.suite_id(),
            &self.exporter_secret,
            b"sec",
            exporter_context,
            &mut out,
        )?;
        Ok(out)
    }
}

/// A sender's context: seals messages in order and exports secrets.
pub struct SenderContext(ContextState);
/// A recipient's context: opens messages in order and exports secrets.
pub struct RecipientContext(ContextState);

impl fmt::Debug for SenderContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SenderContext").field("suite", &self.0.suite).field("seq", &self.0.seq).finish_non_exhaustive()
    }
}
impl fmt::Debug for RecipientContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecipientContext")
            .field("suite", &self.0.suite)
            .field("seq", &self.0.seq)
            .finish_non_exhaustive()
    }
}

impl SenderContext {
    /// §5.2 `Seal(aad, pt)` with the next sequence number.
    ///
    /// # Errors
    /// [`ErrorCode::Misuse`](crate::ErrorCode::Misuse) for an export-only
    /// suite or an exhausted sequence number.
    pub fn seal(&mut self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
        let cipher = self.0.cipher()?;
        self.0.check_seq()?;
        let ct = cipher.seal_raw(&self.0.key, &self.0.nonce(), aad, plaintext)?;
        self.0.seq += 1;
        Ok(ct)
    }

    /// §5.3 secret export.
    ///
    /// # Errors
    /// [`ErrorCode::InvalidArgument`](crate::ErrorCode::InvalidArgument) if `len > 255·Nh`.
    pub fn export(&self, exporter_context: &[u8], len: usize) -> Result<Zeroizing<Vec<u8>>> {
        self.0.export(exporter_context, len)
    }

    /// The sequence number of the next message.
    #[must_use]
    pub const fn seq(&self) -> u64 {
        self.0.seq
    }

    #[cfg(any(test, feature = "conformance"))]
    pub(crate) fn secrets(&self) -> (&[u8], &[u8], &[u8]) {
        (&self.0.key, &self.0.base_nonce[..], &self.0.exporter_secret)
    }
}

impl RecipientContext {
    /// §5.2 `Open(aad, ct)` with the next sequence number. On failure the
    /// sequence number does not advance and nothing is returned.
    ///
    /// # Errors
    /// [`ErrorCode::DecryptFailed`](crate::ErrorCode::DecryptFailed) on any
    /// authentication failure; [`ErrorCode::Misuse`](crate::ErrorCode::Misuse)
    /// for an export-only suite or an exhausted sequence number.
    pub fn open(&mut self, aad: &[u8], ciphertext: &[u8]) -> Result<Vec<u8>> {
        let cipher = self.0.cipher()?;
        self.0.check_seq()?;
        let pt = cipher.open(&self.0.key, &self.0.nonce(), aad, ciphertext)?;
        self.0.seq += 1;
        Ok(pt)
    }

    /// §5.3 secret export.
    ///
    /// # Errors
    /// [`ErrorCode::InvalidArgument`](crate::ErrorCode::InvalidArgument) if `len > 255·Nh`.
    pub fn export(&self, exporter_context: &[u8], len: usize) -> Result<Zeroizing<Vec<u8>>> {
        self.0.export(exporter_context, len)
    }

    /// The sequence number of the next message.
    #[must_use]
    pub const fn seq(&self) -> u64 {
        self.0.seq
    }
}

// ---------------------------------------------------------------------------
// Setup, RFC 9180 §5.1.1–§5.1.4
// ---------------------------------------------------------------------------

/// Finishes sender setup from externally computed Diffie-Hellman output:
/// `dh = DH(skE, pkR)`, followed by `DH(skS, pkR)` in the auth modes.
/// `enc` is the serialized ephemeral public key. Used by the WebCrypto provider.
///
/// # Errors
/// [`ErrorCode::InvalidKey`](crate::ErrorCode::InvalidKey) for a bad `enc`;
/// [`ErrorCode::InvalidArgument`](crate::ErrorCode::InvalidArgument) for bad
/// PSK inputs or a DH output of the wrong length;
/// [`ErrorCode::Unsupported`](crate::ErrorCode::Unsupported) for a non-P-384 suite.
pub fn setup_sender_from_dh(
    suite: Suite,
    enc: &[u8],
    pk_r: &PublicKey,
    pk_s: Option<&PublicKey>,
    dh: &[u8],
    info: &[u8],
    psk: Option<Psk<'_>>,
) -> Result<SenderContext> {
    suite.require_p384()?;
    parse_enc(enc)?;
    let shared = kem_shared_secret(dh, enc, pk_r, pk_s)?;
    key_schedule(suite, Mode::of(psk.is_some(), pk_s.is_some()), &shared[..], info, psk).map(SenderContext)
}

/// Finishes recipient setup from externally computed Diffie-Hellman output:
/// `dh = DH(skR, pkE)`, followed by `DH(skR, pkS)` in the auth modes.
///
/// # Errors
/// As [`setup_sender_from_dh`].
pub fn setup_recipient_from_dh(
    suite: Suite,
    enc: &[u8],
    pk_r: &PublicKey,
    pk_s: Option<&PublicKey>,
    dh: &[u8],
    info: &[u8],
    psk: Option<Psk<'_>>,
) -> Result<RecipientContext> {
    suite.require_p384()?;
    parse_enc(enc)?;
    let shared = kem_shared_secret(dh, enc, pk_r, pk_s)?;
    key_schedule(suite, Mode::of(psk.is_some(), pk_s.is_some()), &shared[..], info, psk).map(RecipientContext)
}

/// Sender setup with a given ephemeral key (deterministic; for vectors).
pub(crate) fn setup_sender_with_ephemeral(
    suite: Suite,
    pk_r: &PublicKey,
    info: &[u8],
    psk: Option<Psk<'_>>,
    sk_s: Option<&PrivateKey>,
    sk_e: &PrivateKey,
) -> Result<(Vec<u8>, SenderContext)> {
    let enc = sk_e.public_key().to_sec1(false);
    let dh = dh_concat(sk_e, sk_s, pk_r, pk_r);
    let ctx = setup_sender_from_dh(suite, &enc, pk_r, sk_s.map(PrivateKey::public_key), &dh, info, psk)?;
    Ok((enc, ctx))
}

/// §5.1 `SetupBaseS` / `SetupPSKS` / `SetupAuthS` / `SetupAuthPSKS`: the mode
/// follows from whether `psk` and `sk_s` (the sender's key, for
/// authentication) are given. Returns `enc` and the context.
///
/// # Errors
/// [`ErrorCode::RngFailed`](crate::ErrorCode::RngFailed), or as [`setup_sender_from_dh`].
pub fn setup_sender(
    suite: Suite,
    pk_r: &PublicKey,
    info: &[u8],
    psk: Option<Psk<'_>>,
    sk_s: Option<&PrivateKey>,
) -> Result<(Vec<u8>, SenderContext)> {
    suite.require_p384()?;
    let sk_e = PrivateKey::generate()?;
    setup_sender_with_ephemeral(suite, pk_r, info, psk, sk_s, &sk_e)
}

/// §5.1 `SetupBaseR` / `SetupPSKR` / `SetupAuthR` / `SetupAuthPSKR`.
///
/// # Errors
/// [`ErrorCode::InvalidKey`](crate::ErrorCode::InvalidKey) if `enc` is not a
/// valid point, or as [`setup_sender_from_dh`].
pub fn setup_recipient(
    suite: Suite,
    enc: &[u8],
    sk_r: &PrivateKey,
    info: &[u8],
    psk: Option<Psk<'_>>,
    pk_s: Option<&PublicKey>,
) -> Result<RecipientContext> {
    suite.require_p384()?;
    let pk_e = parse_enc(enc)?;
    let mut dh = Zeroizing::new(Vec::with_capacity(2 * SHARED_SECRET_LEN));
    dh.extend_from_slice(&sk_r.diffie_hellman(&pk_e)[..]);
    if let Some(pk_s) = pk_s {
        dh.extend_from_slice(&sk_r.diffie_hellman(pk_s)[..]);
    }
    setup_recipient_from_dh(suite, enc, sk_r.public_key(), pk_s, &dh, info, psk)
}

/// §6.1 single-shot `Seal`: returns `(enc, ciphertext)`.
///
/// # Errors
/// As [`setup_sender`] and [`SenderContext::seal`].
pub fn seal(
    suite: Suite,
    pk_r: &PublicKey,
    info: &[u8],
    aad: &[u8],
    plaintext: &[u8],
    psk: Option<Psk<'_>>,
    sk_s: Option<&PrivateKey>,
) -> Result<(Vec<u8>, Vec<u8>)> {
    let (enc, mut ctx) = setup_sender(suite, pk_r, info, psk, sk_s)?;
    let ct = ctx.seal(aad, plaintext)?;
    Ok((enc, ct))
}

/// §6.1 single-shot `Open`.
///
/// # Errors
/// As [`setup_recipient`] and [`RecipientContext::open`].
#[allow(clippy::too_many_arguments)]
pub fn open(
    suite: Suite,
    enc: &[u8],
    sk_r: &PrivateKey,
    info: &[u8],
    aad: &[u8],
    ciphertext: &[u8],
    psk: Option<Psk<'_>>,
    pk_s: Option<&PublicKey>,
) -> Result<Vec<u8>> {
    setup_recipient(suite, enc, sk_r, info, psk, pk_s)?.open(aad, ciphertext)
}

/// Runs only the key schedule from a known shared secret (for RFC 9180's
/// official vectors, whose KEMs are not P-384).
#[cfg(any(test, feature = "conformance"))]
pub(crate) fn sender_from_shared_secret(
    suite: Suite,
    mode: Mode,
    shared_secret: &[u8],
    info: &[u8],
    psk: Option<Psk<'_>>,
) -> Result<SenderContext> {
    key_schedule(suite, mode, shared_secret, info, psk).map(SenderContext)
}

#[cfg(any(test, feature = "conformance"))]
pub(crate) fn recipient_from_shared_secret(
    suite: Suite,
    mode: Mode,
    shared_secret: &[u8],
    info: &[u8],
    psk: Option<Psk<'_>>,
) -> Result<RecipientContext> {
    key_schedule(suite, mode, shared_secret, info, psk).map(RecipientContext)
}
