//! P-384 keys: generation, import/export and identifiers.
//!
//! Encodings: JWK (RFC 7517, RFC 7518 §6.2 `kty: "EC"`, `crv: "P-384"`),
//! SubjectPublicKeyInfo (RFC 5480) and PKCS#8 (RFC 5208/5915) in DER and PEM
//! (RFC 7468), raw SEC1 §2.3.3 points (uncompressed and compressed) and raw
//! scalars. The key id (`kid`) is the RFC 7638 JWK thumbprint (SHA-256,
//! base64url without padding).
//!
//! Every import validates fully: the point is on the curve and not the
//! identity, the scalar is in `[1, n-1]`, a private JWK's `x`/`y` match its
//! `d`. Private material is zeroized on drop and never printed.
//!
//! ```
//! use phiseal::keys::{PrivateKey, PublicKey};
//! let sk = PrivateKey::generate()?;
//! let jwk = sk.public_key().to_jwk();
//! let pk = PublicKey::from_jwk(&jwk)?;
//! assert_eq!(pk.kid(), sk.public_key().kid());
//! # Ok::<(), phiseal::Error>(())
//! ```

use core::fmt;

use base64ct::{Base64UrlUnpadded, Encoding as _};
use p384::elliptic_curve::sec1::ToSec1Point as _;
use sha2::{Digest as _, Sha256};
use zeroize::{Zeroize, Zeroizing};

mod der;

use crate::error::{Error, Result};
use crate::json::Value;

/// Length of a P-384 field element or scalar in bytes.
pub const SCALAR_LEN: usize = 48;
/// Length of an uncompressed SEC1 point (`0x04 || X || Y`).
pub const UNCOMPRESSED_POINT_LEN: usize = 1 + 2 * SCALAR_LEN;
/// Length of a compressed SEC1 point (`0x02/0x03 || X`).
pub const COMPRESSED_POINT_LEN: usize = 1 + SCALAR_LEN;
/// Length of an ECDH shared secret (the x-coordinate).
pub const SHARED_SECRET_LEN: usize = SCALAR_LEN;

const JWK_KTY: &str = "EC";
const JWK_CRV: &str = "P-384";
const JWK_SHAPE: Error = Error::malformed("JWK is not valid JSON of the expected shape");

/// A JSON Web Key for P-384 (RFC 7518 §6.2). Unknown members are ignored on
/// input (so WebCrypto's `key_ops` and `ext` are accepted).
#[derive(Clone, PartialEq, Eq)]
pub struct Jwk {
    /// Key type; must be `"EC"`.
    pub kty: String,
    /// Curve; must be `"P-384"`.
    pub crv: String,
    /// base64url x-coordinate (48 bytes).
    pub x: String,
    /// base64url y-coordinate (48 bytes).
    pub y: String,
    /// base64url private scalar (48 bytes), private keys only.
    pub d: Option<Zeroizing<String>>,
    /// Key id; on export, the RFC 7638 thumbprint. Ignored on import.
    pub kid: Option<String>,
}

impl fmt::Debug for Jwk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Jwk")
            .field("kty", &self.kty)
            .field("crv", &self.crv)
            .field("x", &self.x)
            .field("y", &self.y)
            .field("d", &self.d.as_ref().map(|_| "<redacted>"))
            .field("kid", &self.kid)
            .finish()
    }
}

impl Jwk {
    /// Parses a JWK from JSON text.
    ///
    /// # Errors
    /// [`ErrorCode::MalformedInput`](crate::ErrorCode::MalformedInput) if the
    /// text is not a JSON object with string members `kty`, `crv`, `x`, `y`.
    pub fn from_json(json: &str) -> Result<Self> {
        Self::from_value(Value::parse(json).map_err(|_| JWK_SHAPE)?)
    }

    /// Reads a JWK from a parsed JSON object (unknown members ignored).
    ///
    /// # Errors
    /// As [`Jwk::from_json`].
    pub fn from_value(mut value: Value) -> Result<Self> {
        const SHAPE: Error = JWK_SHAPE;
        let obj = value.as_object_mut().ok_or(SHAPE)?;
        // Members are moved out, never copied: `d` goes straight into its
        // zeroizing wrapper. `null` reads as absent for the optional ones.
        let mut take = |name: &str| match obj.remove(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(SHAPE),
        };
        let d = take("d")?.map(Zeroizing::new);
        let kid = take("kid")?;
        let mut required = |name: &str| take(name)?.ok_or(SHAPE);
        Ok(Self { kty: required("kty")?, crv: required("crv")?, x: required("x")?, y: required("y")?, d, kid })
    }

    /// Serializes to compact JSON (contains the private scalar if present).
    #[must_use]
    pub fn to_json(&self) -> Zeroizing<String> {
        // Reserved up front so the text holding `d` is never reallocated
        // (which would leave a copy behind).
        // Escaping can at most sextuple a character (`\u00XX`).
        let members = [&self.kty, &self.crv, &self.x, &self.y].map(|m| m.len()).iter().sum::<usize>()
            + self.d.as_ref().map_or(0, |d| d.len())
            + self.kid.as_ref().map_or(0, String::len);
        let mut out = Zeroizing::new(String::with_capacity(6 * members + 64));
        let mut member = |name: &str, value: &str| {
            let sep = if out.is_empty() { '{' } else { ',' };
            out.push(sep);
            crate::json::write_string(name, &mut out);
            out.push(':');
            crate::json::write_string(value, &mut out);
        };
        member("kty", &self.kty);
        member("crv", &self.crv);
        member("x", &self.x);
        member("y", &self.y);
        if let Some(d) = &self.d {
            member("d", d);
        }
        if let Some(kid) = &self.kid {
            member("kid", kid);
        }
        out.push('}');
        out
    }

    fn check_curve(&self) -> Result<()> {
        if self.kty != JWK_KTY {
            return Err(Error::invalid_key("JWK kty must be \"EC\""));
        }
        if self.crv != JWK_CRV {
            return Err(Error::invalid_key("JWK crv must be \"P-384\""));
        }
        Ok(())
    }
}

/// Decodes strict base64url without padding into exactly `N` bytes.
fn b64_fixed<const N: usize>(s: &str, what: &'static str) -> Result<Zeroizing<[u8; N]>> {
    let mut out = Zeroizing::new([0u8; N]);
    let decoded = Base64UrlUnpadded::decode(s, &mut out[..]).map_err(|_| Error::malformed(what))?;
    if decoded.len() != N {
        return Err(Error::malformed(what));
    }
    Ok(out)
}

fn b64(bytes: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(bytes)
}

/// Fills `buf` from the platform CSPRNG (`crypto.getRandomValues` in browsers).
///
/// # Errors
/// [`ErrorCode::RngFailed`](crate::ErrorCode::RngFailed) if the platform RNG fails.
pub fn random_bytes(buf: &mut [u8]) -> Result<()> {
    getrandom::fill(buf).map_err(|_| Error::new(crate::ErrorCode::RngFailed, "platform random number generator failed"))
}

/// Rejection sampling of a P-384 scalar from the CSPRNG into `[1, n-1]`,
/// handed to `make`. The probability that 48 random bytes are not a valid
/// scalar is about 2^-190, so the bound is never reached with a working RNG.
pub(crate) fn generate_scalar<T>(make: impl Fn(&[u8]) -> Result<T>) -> Result<T> {
    for _ in 0..16 {
        let mut bytes = Zeroizing::new([0u8; SCALAR_LEN]);
        random_bytes(&mut bytes[..])?;
        if let Ok(key) = make(&bytes[..]) {
            return Ok(key);
        }
    }
    Err(Error::new(crate::ErrorCode::RngFailed, "random number generator output rejected repeatedly"))
}

/// A validated P-384 public key.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(p384::PublicKey);

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PublicKey").field(&self.kid()).finish()
    }
}

impl PublicKey {
    /// Parses a SEC1 point, uncompressed (97 bytes) or compressed (49 bytes).
    ///
    /// # Errors
    /// [`ErrorCode::InvalidKey`](crate::ErrorCode::InvalidKey) if the length
    /// or tag is wrong, the point is not on the curve, or it is the identity.
    pub fn from_sec1(bytes: &[u8]) -> Result<Self> {
        match (bytes.len(), bytes.first()) {
            (UNCOMPRESSED_POINT_LEN, Some(0x04)) | (COMPRESSED_POINT_LEN, Some(0x02 | 0x03)) => {}
            _ => return Err(Error::invalid_key("SEC1 point has the wrong length or tag")),
        }
        p384::PublicKey::from_sec1_bytes(bytes)
            .map(Self)
            .map_err(|_| Error::invalid_key("point is not on the P-384 curve"))
    }

    /// Serializes as a SEC1 point (uncompressed unless `compress`).
    #[must_use]
    pub fn to_sec1(&self, compress: bool) -> Vec<u8> {
        self.0.to_sec1_point(compress).as_bytes().to_vec()
    }

    /// Parses a DER SubjectPublicKeyInfo (id-ecPublicKey, secp384r1).
    ///
    /// # Errors
    /// [`ErrorCode::InvalidKey`](crate::ErrorCode::InvalidKey) if the DER is
    /// malformed, names another algorithm or curve, or the point is invalid.
    pub fn from_spki_der(der: &[u8]) -> Result<Self> {
        const BAD: Error = Error::invalid_key("not a valid P-384 SubjectPublicKeyInfo");
        der::spki_point(der).ok_or(BAD).and_then(|point| Self::from_sec1(point).map_err(|_| BAD))
    }

    /// Serializes as DER SubjectPublicKeyInfo (uncompressed point).
    #[must_use]
    pub fn to_spki_der(&self) -> Vec<u8> {
        der::spki(&self.to_sec1(false))
    }

    /// Parses a PEM `PUBLIC KEY` (SubjectPublicKeyInfo).
    ///
    /// # Errors
    /// As [`PublicKey::from_spki_der`], plus malformed PEM.
    pub fn from_spki_pem(pem: &str) -> Result<Self> {
        const WHAT: &str = "not a valid P-384 PUBLIC KEY PEM";
        Self::from_spki_der(&der::unpem(pem, "PUBLIC KEY", WHAT)?).map_err(|_| Error::invalid_key(WHAT))
    }

    /// Serializes as PEM `PUBLIC KEY` with LF line endings.
    #[must_use]
    pub fn to_spki_pem(&self) -> String {
        der::pem("PUBLIC KEY", &self.to_spki_der()).as_str().to_owned()
    }

    /// Parses a public JWK (a `d` member, if present, is ignored).
    ///
    /// # Errors
    /// [`ErrorCode::InvalidKey`](crate::ErrorCode::InvalidKey) for a wrong
    /// `kty`/`crv` or an invalid point;
    /// [`ErrorCode::MalformedInput`](crate::ErrorCode::MalformedInput) for
    /// bad base64url or coordinates that are not exactly 48 bytes.
    pub fn from_jwk(jwk: &Jwk) -> Result<Self> {
        jwk.check_curve()?;
        let x = b64_fixed::<SCALAR_LEN>(&jwk.x, "JWK x is not 48 bytes of base64url")?;
        let y = b64_fixed::<SCALAR_LEN>(&jwk.y, "JWK y is not 48 bytes of base64url")?;
        let mut point = [0u8; UNCOMPRESSED_POINT_LEN];
        point[0] = 0x04;
        point[1..=SCALAR_LEN].copy_from_slice(&x[..]);
        point[1 + SCALAR_LEN..].copy_from_slice(&y[..]);
        Self::from_sec1(&point)
    }

    /// Exports as a public JWK with `kid` set to the RFC 7638 thumbprint.
    #[must_use]
    pub fn to_jwk(&self) -> Jwk {
        let (x, y) = self.coordinates();
        Jwk { kty: JWK_KTY.into(), crv: JWK_CRV.into(), x: b64(&x), y: b64(&y), d: None, kid: Some(self.kid()) }
    }

    /// The affine coordinates, big-endian, 48 bytes each.
    fn coordinates(&self) -> ([u8; SCALAR_LEN], [u8; SCALAR_LEN]) {
        let point = self.to_sec1(false);
        let mut x = [0u8; SCALAR_LEN];
        let mut y = [0u8; SCALAR_LEN];
        if let (Some(xs), Some(ys)) = (point.get(1..=SCALAR_LEN), point.get(1 + SCALAR_LEN..)) {
            x.copy_from_slice(xs);
            y.copy_from_slice(ys);
        }
        (x, y)
    }

    /// The RFC 7638 JWK thumbprint: base64url(SHA-256 of
    /// `{"crv":"P-384","kty":"EC","x":…,"y":…}`), 43 characters.
    #[must_use]
    pub fn kid(&self) -> String {
        b64(&self.thumbprint())
    }

    /// The raw 32-byte RFC 7638 thumbprint.
    #[must_use]
    pub fn thumbprint(&self) -> [u8; 32] {
        let (x, y) = self.coordinates();
        let canonical = format!(r#"{{"crv":"{JWK_CRV}","kty":"{JWK_KTY}","x":"{}","y":"{}"}}"#, b64(&x), b64(&y));
        Sha256::digest(canonical.as_bytes()).into()
    }

    pub(crate) const fn inner(&self) -> &p384::PublicKey {
        &self.0
    }
}

/// A P-384 private key. The scalar is zeroized on drop and never printed.
#[derive(Clone)]
pub struct PrivateKey {
    secret: p384::SecretKey,
    public: PublicKey,
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey").field("kid", &self.public.kid()).finish_non_exhaustive()
    }
}

impl PrivateKey {
    /// Generates a key pair from the platform CSPRNG (rejection sampling of
    /// 48 random bytes into `[1, n-1]`).
    ///
    /// # Errors
    /// [`ErrorCode::RngFailed`](crate::ErrorCode::RngFailed) if the RNG fails.
    pub fn generate() -> Result<Self> {
        generate_scalar(Self::from_scalar_bytes)
    }

    /// Imports a raw big-endian scalar of exactly 48 bytes.
    ///
    /// # Errors
    /// [`ErrorCode::InvalidKey`](crate::ErrorCode::InvalidKey) if the length
    /// is not 48 or the scalar is zero or not below the group order.
    pub fn from_scalar_bytes(bytes: &[u8]) -> Result<Self> {
        if bytes.len() != SCALAR_LEN {
            return Err(Error::invalid_key("P-384 private scalar must be 48 bytes"));
        }
        let secret =
            p384::SecretKey::from_slice(bytes).map_err(|_| Error::invalid_key("P-384 private scalar out of range"))?;
        Ok(Self::from_secret(secret))
    }

    fn from_secret(secret: p384::SecretKey) -> Self {
        let public = PublicKey(secret.public_key());
        Self { secret, public }
    }

    /// Exports the raw 48-byte scalar. Handle with care.
    #[must_use]
    pub fn to_scalar_bytes(&self) -> Zeroizing<[u8; SCALAR_LEN]> {
        let mut out = Zeroizing::new([0u8; SCALAR_LEN]);
        let mut bytes = self.secret.to_bytes();
        out.copy_from_slice(&bytes);
        bytes.zeroize();
        out
    }

    /// Parses a DER PKCS#8 `PrivateKeyInfo` for P-384.
    ///
    /// # Errors
    /// [`ErrorCode::InvalidKey`](crate::ErrorCode::InvalidKey) if the DER is
    /// malformed, truncated, names another curve, or the scalar is invalid.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self> {
        const BAD: Error = Error::invalid_key("not a valid P-384 PKCS#8 private key");
        let parts = der::pkcs8_parts(der).ok_or(BAD)?;
        // 24 to 48 bytes: some encoders drop leading zero bytes.
        let pad = SCALAR_LEN.checked_sub(parts.scalar.len()).filter(|&p| p <= SCALAR_LEN / 2).ok_or(BAD)?;
        let mut scalar = Zeroizing::new([0u8; SCALAR_LEN]);
        scalar.get_mut(pad..).ok_or(BAD)?.copy_from_slice(parts.scalar);
        let key = Self::from_scalar_bytes(&scalar[..]).map_err(|_| BAD)?;
        // Every public key carried along must be the scalar's.
        for point in parts.points.into_iter().flatten() {
            if PublicKey::from_sec1(point).map_err(|_| BAD)? != key.public {
                return Err(BAD);
            }
        }
        Ok(key)
    }

    /// Serializes as DER PKCS#8.
    #[must_use]
    pub fn to_pkcs8_der(&self) -> Zeroizing<Vec<u8>> {
        der::pkcs8(&self.to_scalar_bytes()[..], &self.public.to_sec1(false))
    }

    /// Parses a PEM `PRIVATE KEY` (PKCS#8).
    ///
    /// # Errors
    /// As [`PrivateKey::from_pkcs8_der`], plus malformed PEM.
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self> {
        const WHAT: &str = "not a valid P-384 PRIVATE KEY PEM";
        Self::from_pkcs8_der(&der::unpem(pem, "PRIVATE KEY", WHAT)?).map_err(|_| Error::invalid_key(WHAT))
    }

    /// Serializes as PEM `PRIVATE KEY` with LF line endings.
    #[must_use]
    pub fn to_pkcs8_pem(&self) -> Zeroizing<String> {
        der::pem("PRIVATE KEY", &self.to_pkcs8_der())
    }

    /// Parses a private JWK; `x` and `y` must match the public key of `d`.
    ///
    /// # Errors
    /// As [`PublicKey::from_jwk`]; [`ErrorCode::InvalidKey`](crate::ErrorCode::InvalidKey)
    /// if `d` is missing, out of range, or does not match `x`/`y`.
    pub fn from_jwk(jwk: &Jwk) -> Result<Self> {
        let public = PublicKey::from_jwk(jwk)?;
        let d = jwk.d.as_ref().ok_or(Error::invalid_key("JWK has no private member d"))?;
        let d = b64_fixed::<SCALAR_LEN>(d, "JWK d is not 48 bytes of base64url")?;
        let key = Self::from_scalar_bytes(&d[..])?;
        if key.public != public {
            return Err(Error::invalid_key("JWK x/y do not match its private scalar"));
        }
        Ok(key)
    }

    /// Exports as a private JWK (contains `d`).
    #[must_use]
    pub fn to_jwk(&self) -> Jwk {
        let mut jwk = self.public.to_jwk();
        jwk.d = Some(Zeroizing::new(b64(&self.to_scalar_bytes()[..])));
        jwk
    }

    /// The matching public key.
    #[must_use]
    pub const fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// ECDH (SEC1 §3.3.1): the x-coordinate of `d·Q`, 48 bytes.
    #[must_use]
    pub fn diffie_hellman(&self, peer: &PublicKey) -> Zeroizing<[u8; SHARED_SECRET_LEN]> {
        let shared = self.secret.diffie_hellman(peer.inner());
        let mut out = Zeroizing::new([0u8; SHARED_SECRET_LEN]);
        out.copy_from_slice(shared.raw_secret_bytes());
        out
    }
}
