//! Key certificates (docs/TRUST.md): an organisation's root signing key
//! (ECDSA P-384) certifies each member key with who it belongs to, its
//! role, access groups, purposes and validity, so that a server that hands
//! out public keys cannot swap whose key a browser encrypts to.
//!
//! A certificate is a compact JWS (RFC 7515) with `alg` ES384 (RFC 7518
//! §3.4) over a JWT claims set (RFC 7519) whose `cnf.jwk` (RFC 7800) is the
//! certified public key, so any JOSE library verifies it. Why JWS and not
//! X.509: browsers already speak JOSE, the claims are JSON like the rest of
//! phiseal's formats, and a complete strict verifier is a few hundred lines
//! over phiseal's own JSON and ECDSA instead of an ASN.1 stack in the wasm.
//!
//! * Intermediate issuers (a department, an identity provider) hold a
//!   certificate with purpose `certify`; the groups it lists are the only
//!   groups it may certify (a leaf's groups must be a subset of every
//!   issuer's above it).
//! * Revocation: a root signs a revocation list (`phiseal-revocations+jwt`)
//!   with an expiry; [`TrustStore::verify`] refuses every chain while the
//!   store holds no current list from the chain's root (unless the store was
//!   made with [`Revocation::NotChecked`]), so the revocation window is the
//!   list's lifetime (the organisation's CLI issues 24-hour lists).
//!
//! ```
//! use phiseal::keys::PrivateKey;
//! use phiseal::sign::SigningKey;
//! use phiseal::trust::{Claims, Purpose, Revocation, TrustStore, issue, issue_revocations};
//! let root = SigningKey::generate()?;
//! let clinician = PrivateKey::generate()?;
//! let claims = Claims::new("dr-lee", "Dr. Maya Lee", "clinician", *clinician.public_key(), 1_700_000_000, 1_700_086_400)
//!     .groups(&["clinical"])
//!     .purposes(&[Purpose::Encrypt]);
//! let cert = issue(&claims, &root, 1_700_000_000)?;
//! let mut trust = TrustStore::new(vec![root.verifying_key()], Revocation::Required);
//! trust.add_revocations(&issue_revocations(&[], &root, 1_700_000_000, 1_700_086_400)?, 1_700_000_100)?;
//! let certified = trust.verify(&[cert.as_str()], 1_700_000_100, Purpose::Encrypt, &["clinical"])?;
//! assert_eq!(certified.claims.subject, "dr-lee");
//! assert_eq!(certified.claims.key.kid(), clinician.public_key().kid());
//! # Ok::<(), phiseal::Error>(())
//! ```

pub mod directory;

use crate::error::{Error, ErrorCode, Result};
use crate::field::{codec_b64 as b64, codec_unb64 as unb64};
use crate::json::{Map, Value, write_string};
use crate::keys::{Jwk, PublicKey, random_bytes};
use crate::sign::{SIGNATURE_LEN, SigningKey, Verified, VerifyJob, verify_p1363};

/// `typ` of a certificate.
pub const CERT_TYP: &str = "phiseal-cert+jwt";
/// `typ` of a revocation list.
pub const REVOCATIONS_TYP: &str = "phiseal-revocations+jwt";
/// The longest certificate or revocation list accepted, in bytes.
pub const MAX_TOKEN_LEN: usize = 64 * 1024;
/// The most certificates in a chain (leaf and intermediates; the root is pinned, not sent).
pub const MAX_CHAIN: usize = 4;
/// The most groups or purposes in a certificate.
pub const MAX_GROUPS: usize = 64;
/// The longest string claim (subject, name, role, a group), in bytes.
pub const MAX_CLAIM_LEN: usize = 256;
/// The most serials in a revocation list.
pub const MAX_REVOKED: usize = 100_000;

const UNTRUSTED: Error = Error::new(ErrorCode::UntrustedKey, "the key is not certified by a trusted root");
const BAD_SIGNATURE: Error = Error::new(ErrorCode::InvalidSignature, "a certificate's signature does not verify");

/// What a certified key may be used for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Purpose {
    /// Receiving HPKE-sealed records, index keys, streams.
    Encrypt,
    /// Signing records, index keys, streams, audit checkpoints (author keys).
    Sign,
    /// Call identity: SFrame key wraps and safety codes.
    Media,
    /// Issuing certificates (intermediate issuers).
    Certify,
}

impl Purpose {
    /// The claim value.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Encrypt => "encrypt",
            Self::Sign => "sign",
            Self::Media => "media",
            Self::Certify => "certify",
        }
    }

    /// Parses a claim value.
    ///
    /// # Errors
    /// [`ErrorCode::InvalidArgument`] for anything else.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "encrypt" => Ok(Self::Encrypt),
            "sign" => Ok(Self::Sign),
            "media" => Ok(Self::Media),
            "certify" => Ok(Self::Certify),
            _ => Err(Error::invalid_argument("purpose must be encrypt, sign, media or certify")),
        }
    }
}

/// The claims of a certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claims {
    /// `sub`: the member's id in the organisation.
    pub subject: String,
    /// `name`: display name.
    pub name: String,
    /// `role`: e.g. clinician, billing, patient.
    pub role: String,
    /// `groups`: access groups (for an issuer: the groups it may certify).
    pub groups: Vec<String>,
    /// `purposes`.
    pub purposes: Vec<Purpose>,
    /// `nbf`, seconds since the epoch.
    pub not_before: u64,
    /// `exp`, seconds since the epoch (exclusive).
    pub not_after: u64,
    /// `cnf.jwk`: the certified key.
    pub key: PublicKey,
    /// `jti`: the serial, what a revocation list names (set by [`issue`]).
    pub serial: String,
}

impl Claims {
    /// Claims for `key`, valid from `not_before` to `not_after` (seconds),
    /// with no groups and no purposes yet.
    #[must_use]
    pub fn new(subject: &str, name: &str, role: &str, key: PublicKey, not_before: u64, not_after: u64) -> Self {
        Self {
            subject: subject.into(),
            name: name.into(),
            role: role.into(),
            groups: Vec::new(),
            purposes: Vec::new(),
            not_before,
            not_after,
            key,
            serial: String::new(),
        }
    }

    /// Sets the access groups.
    #[must_use]
    pub fn groups(mut self, groups: &[&str]) -> Self {
        self.groups = groups.iter().map(|g| (*g).to_owned()).collect();
        self
    }

    /// Sets the purposes.
    #[must_use]
    pub fn purposes(mut self, purposes: &[Purpose]) -> Self {
        self.purposes = purposes.to_vec();
        self
    }

    fn check(&self) -> Result<()> {
        for s in [&self.subject, &self.name, &self.role] {
            check_claim_string(s)?;
        }
        if self.groups.len() > MAX_GROUPS || self.purposes.len() > MAX_GROUPS {
            return Err(Error::invalid_argument("a certificate lists at most 64 groups and 64 purposes"));
        }
        for (i, g) in self.groups.iter().enumerate() {
            check_claim_string(g)?;
            if self.groups.get(..i).is_some_and(|before| before.contains(g)) {
                return Err(Error::invalid_argument("a group appears twice in a certificate"));
            }
        }
        for (i, p) in self.purposes.iter().enumerate() {
            if self.purposes.get(..i).is_some_and(|before| before.contains(p)) {
                return Err(Error::invalid_argument("a purpose appears twice in a certificate"));
            }
        }
        if self.purposes.is_empty() {
            return Err(Error::invalid_argument("a certificate needs at least one purpose"));
        }
        if self.not_after <= self.not_before {
            return Err(Error::invalid_argument("a certificate's exp must be after its nbf"));
        }
        Ok(())
    }
}

fn check_claim_string(s: &str) -> Result<()> {
    if s.is_empty() || s.len() > MAX_CLAIM_LEN {
        return Err(Error::invalid_argument("certificate strings (sub, name, role, groups) are 1 to 256 bytes"));
    }
    Ok(())
}

fn header(typ: &str, issuer_kid: &str) -> String {
    let mut out = String::from(r#"{"alg":"ES384","typ":"#);
    write_string(typ, &mut out);
    out.push_str(r#","kid":"#);
    write_string(issuer_kid, &mut out);
    out.push('}');
    out
}

fn strings(values: &[String]) -> Value {
    Value::Array(values.iter().cloned().map(Value::String).collect())
}

fn number(n: u64) -> Result<Value> {
    Ok(Value::Number(crate::json::Number::from_text(&n.to_string())?))
}

fn sign_token(typ: &str, payload: &Map, issuer: &SigningKey) -> Result<String> {
    let mut input = b64(header(typ, &issuer.verifying_key().kid()).as_bytes());
    input.push('.');
    input.push_str(&b64(Value::Object(payload.clone()).to_json().as_bytes()));
    let signature = issuer.sign(input.as_bytes())?;
    input.push('.');
    input.push_str(&b64(&signature));
    Ok(input)
}

fn new_serial() -> Result<String> {
    let mut serial = [0u8; 16];
    random_bytes(&mut serial)?;
    Ok(b64(&serial))
}

/// Issues a certificate for `claims` signed by `issuer` (a root, or an
/// intermediate whose own certificate has purpose `certify`), with a fresh
/// random serial. Returns the compact JWS.
///
/// # Errors
/// [`ErrorCode::InvalidArgument`] for claims out of bounds (empty or
/// over-long strings, duplicate groups or purposes, no purpose, `exp` not
/// after `nbf`); [`ErrorCode::RngFailed`].
pub fn issue(claims: &Claims, issuer: &SigningKey, issued_at: u64) -> Result<String> {
    claims.check()?;
    let mut p = Map::default();
    p.insert("iss".into(), Value::String(issuer.verifying_key().kid()));
    p.insert("sub".into(), Value::String(claims.subject.clone()));
    p.insert("name".into(), Value::String(claims.name.clone()));
    p.insert("role".into(), Value::String(claims.role.clone()));
    p.insert("groups".into(), strings(&claims.groups));
    p.insert(
        "purposes".into(),
        Value::Array(claims.purposes.iter().map(|x| Value::String(x.as_str().into())).collect()),
    );
    p.insert("iat".into(), number(issued_at)?);
    p.insert("nbf".into(), number(claims.not_before)?);
    p.insert("exp".into(), number(claims.not_after)?);
    p.insert("jti".into(), Value::String(new_serial()?));
    let mut cnf = Map::default();
    cnf.insert("jwk".into(), Value::parse(&claims.key.to_jwk().to_json())?);
    p.insert("cnf".into(), Value::Object(cnf));
    sign_token(CERT_TYP, &p, issuer)
}

/// Issues a revocation list naming `serials`, valid from `issued_at` to
/// `expires` (seconds): the verifier's revocation window.
///
/// # Errors
/// [`ErrorCode::InvalidArgument`] if `expires` is not after `issued_at`,
/// for more than [`MAX_REVOKED`] serials or a serial that is not a
/// certificate serial (22 base64url characters).
pub fn issue_revocations(serials: &[&str], issuer: &SigningKey, issued_at: u64, expires: u64) -> Result<String> {
    if expires <= issued_at {
        return Err(Error::invalid_argument("a revocation list's exp must be after its iat"));
    }
    if serials.len() > MAX_REVOKED {
        return Err(Error::invalid_argument("a revocation list names at most 100,000 serials"));
    }
    for s in serials {
        check_serial(s).map_err(|_| Error::invalid_argument("a revoked serial must be a certificate's jti"))?;
    }
    let mut p = Map::default();
    p.insert("iss".into(), Value::String(issuer.verifying_key().kid()));
    p.insert("iat".into(), number(issued_at)?);
    p.insert("exp".into(), number(expires)?);
    p.insert("revoked".into(), Value::Array(serials.iter().map(|s| Value::String((*s).to_owned())).collect()));
    sign_token(REVOCATIONS_TYP, &p, issuer)
}

fn check_serial(s: &str) -> Result<()> {
    if s.len() == 22 && unb64(s).is_ok_and(|b| b.len() == 16) {
        Ok(())
    } else {
        Err(Error::malformed("a serial (jti) is 16 bytes in base64url"))
    }
}

/// A parsed, not yet verified, compact JWS of one of phiseal's types.
struct Token {
    issuer: String,
    payload: Map,
    signing_input: String,
    signature: Vec<u8>,
}

impl Token {
    fn parse(text: &str, typ: &str) -> Result<Self> {
        if text.len() > MAX_TOKEN_LEN {
            return Err(Error::malformed("certificate or revocation list longer than 64 KiB"));
        }
        let mut parts = text.split('.');
        let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(Error::malformed("a certificate is a compact JWS: three base64url parts joined by dots"));
        };
        let header = object(&unb64(h)?)?;
        let payload = object(&unb64(p)?)?;
        let signature = unb64(s)?;
        for name in header.keys() {
            if !matches!(name.as_str(), "alg" | "typ" | "kid") {
                // `crit` included: phiseal understands no JWS extension.
                return Err(Error::unsupported(
                    "unknown JWS header member (phiseal certificates use alg, typ and kid only)",
                ));
            }
        }
        if header.get("alg").and_then(Value::as_str) != Some("ES384") {
            return Err(Error::unsupported("certificates are signed with ES384 only"));
        }
        if header.get("typ").and_then(Value::as_str) != Some(typ) {
            return Err(Error::malformed("not a phiseal certificate or revocation list of the expected typ"));
        }
        let kid = header.get("kid").and_then(Value::as_str).ok_or(Error::malformed("JWS header without kid"))?;
        let issuer = string(&payload, "iss")?;
        if issuer != kid {
            return Err(Error::malformed("JWS kid and iss name different issuers"));
        }
        let issuer = issuer.to_owned();
        if signature.len() != SIGNATURE_LEN {
            return Err(BAD_SIGNATURE);
        }
        let end = h.len() + 1 + p.len();
        let signing_input = text.get(..end).ok_or(Error::malformed("bad JWS"))?.to_owned();
        Ok(Self { issuer, payload, signing_input, signature })
    }

    fn verify(&self, issuer: &PublicKey) -> Result<()> {
        verify_p1363(issuer, self.signing_input.as_bytes(), &self.signature).map_err(|_| BAD_SIGNATURE)
    }
}

fn object(bytes: &[u8]) -> Result<Map> {
    match Value::from_slice(bytes)? {
        Value::Object(m) => Ok(m),
        _ => Err(Error::malformed("a JWS header and payload are JSON objects")),
    }
}

fn string<'a>(m: &'a Map, name: &'static str) -> Result<&'a str> {
    m.get(name).and_then(Value::as_str).ok_or(Error::malformed("a certificate claim is missing or not a string"))
}

fn seconds(m: &Map, name: &'static str) -> Result<u64> {
    m.get(name).and_then(Value::as_u64).ok_or(Error::malformed("a certificate time claim is missing or not an integer"))
}

fn string_list(m: &Map, name: &'static str, max: usize) -> Result<Vec<String>> {
    let Some(Value::Array(items)) = m.get(name) else {
        return Err(Error::malformed("a certificate list claim is missing or not an array"));
    };
    if items.len() > max {
        return Err(Error::malformed("a certificate list claim is too long"));
    }
    items
        .iter()
        .map(|v| v.as_str().map(str::to_owned).ok_or(Error::malformed("a certificate list holds a non-string")))
        .collect()
}

const CERT_CLAIMS: [&str; 11] = ["iss", "sub", "name", "role", "groups", "purposes", "iat", "nbf", "exp", "jti", "cnf"];

/// A certificate, parsed and shape-checked, signature not yet verified.
#[derive(Clone, Debug)]
pub struct Certificate {
    /// The issuer's kid (`iss`).
    pub issuer: String,
    /// `iat`.
    pub issued_at: u64,
    /// The claims.
    pub claims: Claims,
    token_input: String,
    signature: Vec<u8>,
}

impl Certificate {
    /// Parses a certificate strictly: the header holds exactly `alg` ES384,
    /// `typ` [`CERT_TYP`] and `kid` (= `iss`); the payload exactly the claims
    /// docs/TRUST.md lists (an unknown claim is refused, as it could be one
    /// a verifier must understand).
    ///
    /// # Errors
    /// [`ErrorCode::MalformedInput`] or [`ErrorCode::Unsupported`] for
    /// anything else; [`ErrorCode::InvalidSignature`] for a signature of the
    /// wrong length.
    pub fn parse(text: &str) -> Result<Self> {
        let t = Token::parse(text, CERT_TYP)?;
        for name in t.payload.keys() {
            if !CERT_CLAIMS.contains(&name.as_str()) {
                return Err(Error::unsupported(
                    "unknown certificate claim (phiseal refuses what it does not understand)",
                ));
            }
        }
        let purposes = string_list(&t.payload, "purposes", MAX_GROUPS)?
            .iter()
            .map(|p| Purpose::parse(p).map_err(|_| Error::unsupported("unknown certificate purpose")))
            .collect::<Result<Vec<_>>>()?;
        let Some(Value::Object(cnf)) = t.payload.get("cnf") else {
            return Err(Error::malformed("a certificate's cnf is missing or not an object"));
        };
        if cnf.len() != 1 {
            return Err(Error::unsupported("a certificate's cnf holds exactly jwk"));
        }
        let jwk = cnf.get("jwk").ok_or(Error::malformed("a certificate's cnf has no jwk"))?;
        let jwk = Jwk::from_value(jwk.clone())?;
        if jwk.d.is_some() {
            return Err(Error::malformed("a certificate's cnf.jwk holds a private key"));
        }
        let key = PublicKey::from_jwk(&jwk)?;
        if jwk.kid.as_ref().is_some_and(|kid| *kid != key.kid()) {
            return Err(Error::malformed("a certificate's cnf.jwk kid is not the key's RFC 7638 thumbprint"));
        }
        let claims = Claims {
            subject: string(&t.payload, "sub")?.to_owned(),
            name: string(&t.payload, "name")?.to_owned(),
            role: string(&t.payload, "role")?.to_owned(),
            groups: string_list(&t.payload, "groups", MAX_GROUPS)?,
            purposes,
            not_before: seconds(&t.payload, "nbf")?,
            not_after: seconds(&t.payload, "exp")?,
            key,
            serial: string(&t.payload, "jti")?.to_owned(),
        };
        claims.check().map_err(|_| {
            Error::malformed(
                "certificate claims out of bounds (empty or long strings, duplicates, no purpose, exp not after nbf)",
            )
        })?;
        check_serial(&claims.serial)?;
        Ok(Self {
            issuer: t.issuer,
            issued_at: seconds(&t.payload, "iat")?,
            claims,
            token_input: t.signing_input,
            signature: t.signature,
        })
    }
}

/// A revocation list, verified.
#[derive(Clone, Debug)]
struct Revocations {
    issuer: String,
    issued_at: u64,
    expires: u64,
    serials: Vec<String>,
}

/// Whether [`TrustStore::verify`] needs a current revocation list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Revocation {
    /// Every chain needs a current list (`iat <= now < exp`) from its root.
    Required,
    /// Revocation is not checked: a certificate is good until it expires
    /// (choose this only with short-lived certificates).
    NotChecked,
}

/// A key that verified: its certificate's claims and the chain's issuers.
#[derive(Clone, Debug)]
pub struct Certified {
    /// The leaf's claims.
    pub claims: Claims,
    /// The root's kid.
    pub root: String,
    /// Issuer kids from the leaf's issuer up to the root.
    pub issuers: Vec<String>,
}

/// A chain parsed and linked by [`TrustStore::prepare`], waiting for its
/// signature checks.
#[derive(Debug)]
pub struct ChainCheck {
    certs: Vec<Certificate>,
    issuers: Vec<String>,
    /// None: a link is broken (after the jobs listed).
    root: Option<String>,
    jobs: Vec<SignatureJob>,
}

#[derive(Debug)]
struct SignatureJob {
    seen: [u8; 32],
    job: VerifyJob,
    verified: Option<Verified>,
}

impl ChainCheck {
    /// The signature checks still needed, in chain order.
    pub fn jobs(&self) -> impl Iterator<Item = &VerifyJob> {
        self.jobs.iter().map(|j| &j.job)
    }

    /// Records the token of a job's successful run (`index` in [`Self::jobs`] order).
    ///
    /// # Errors
    /// [`ErrorCode::InvalidArgument`] for an index out of range.
    pub fn set_verified(&mut self, index: usize, verified: Verified) -> Result<()> {
        let j = self.jobs.get_mut(index).ok_or(Error::invalid_argument("no signature job with this index"))?;
        j.verified = Some(verified);
        Ok(())
    }
}

/// Pinned roots and the revocation lists they signed.
#[derive(Clone, Debug)]
pub struct TrustStore {
    roots: Vec<PublicKey>,
    policy: Revocation,
    revocations: Vec<Revocations>,
    /// SHA-256 of (issuer key, signing input, signature) of signatures that
    /// verified: the same certificate under the same issuer verifies again
    /// without the ECDSA work (validity, revocation and constraints are
    /// checked every time). At most [`SIGNATURE_CACHE`] entries.
    verified: Vec<[u8; 32]>,
}

/// Verified certificate signatures a [`TrustStore`] remembers.
pub const SIGNATURE_CACHE: usize = 4096;

impl TrustStore {
    /// A store trusting `roots` (pinned by the app at build time).
    #[must_use]
    pub fn new(roots: Vec<PublicKey>, policy: Revocation) -> Self {
        Self { roots, policy, revocations: Vec::new(), verified: Vec::new() }
    }

    /// Verifies and adds a revocation list signed by one of the roots,
    /// keeping the newest per root (an older list than the one held, or a
    /// different one with the same `iat`, is refused: a server cannot roll
    /// revocations back).
    ///
    /// # Errors
    /// [`ErrorCode::UntrustedKey`] if no root signed it;
    /// [`ErrorCode::InvalidSignature`]; [`ErrorCode::KeyExpired`] if it is not
    /// current at `now`; [`ErrorCode::StaleVersion`] if older than the held
    /// one; [`ErrorCode::MalformedInput`] / [`ErrorCode::Unsupported`] for
    /// its shape.
    pub fn add_revocations(&mut self, text: &str, now: u64) -> Result<()> {
        let t = Token::parse(text, REVOCATIONS_TYP)?;
        for name in t.payload.keys() {
            if !matches!(name.as_str(), "iss" | "iat" | "exp" | "revoked") {
                return Err(Error::unsupported("unknown revocation list claim"));
            }
        }
        let root = self
            .roots
            .iter()
            .find(|r| r.kid() == t.issuer)
            .ok_or(Error::new(ErrorCode::UntrustedKey, "the revocation list is not signed by a trusted root"))?;
        t.verify(root)?;
        let issued_at = seconds(&t.payload, "iat")?;
        let expires = seconds(&t.payload, "exp")?;
        let serials = string_list(&t.payload, "revoked", MAX_REVOKED)?;
        for s in &serials {
            check_serial(s)?;
        }
        if !(issued_at <= now && now < expires) {
            return Err(Error::new(ErrorCode::KeyExpired, "the revocation list is not current (outside iat..exp)"));
        }
        if let Some(held) = self.revocations.iter_mut().find(|r| r.issuer == t.issuer) {
            // Older, or another list of the same second: the server would pick which one counts.
            if issued_at < held.issued_at
                || (issued_at == held.issued_at && (serials != held.serials || expires != held.expires))
            {
                return Err(Error::new(
                    ErrorCode::StaleVersion,
                    "this revocation list is older than the one held (or another list of the same iat)",
                ));
            }
            *held = Revocations { issuer: t.issuer, issued_at, expires, serials };
        } else {
            self.revocations.push(Revocations { issuer: t.issuer, issued_at, expires, serials });
        }
        Ok(())
    }

    /// Verifies `chain` (the leaf first, then its issuers up to, not
    /// including, a pinned root) at `now` (seconds) for `purpose` and every
    /// group in `groups`.
    ///
    /// Checks, in this order: every certificate parses; each names the next
    /// as its issuer (`iss` = the next one's key kid), the last a pinned root
    /// ([`ErrorCode::UntrustedKey`] otherwise); every signature
    /// ([`ErrorCode::InvalidSignature`]); every validity period
    /// ([`ErrorCode::KeyExpired`], also for not yet valid); revocation
    /// ([`ErrorCode::KeyRevoked`], or [`ErrorCode::KeyExpired`] without a
    /// current list under [`Revocation::Required`]); issuers have purpose
    /// `certify` and the leaf's groups are a subset of each issuer's
    /// ([`ErrorCode::AccessDenied`]); the leaf has `purpose`
    /// ([`ErrorCode::WrongPurpose`]) and every requested group
    /// ([`ErrorCode::AccessDenied`]).
    ///
    /// # Errors
    /// As listed; [`ErrorCode::InvalidArgument`] for an empty or too long chain.
    pub fn verify(&mut self, chain: &[&str], now: u64, purpose: Purpose, groups: &[&str]) -> Result<Certified> {
        self.verify_chain(chain, now, purpose, groups, None)
    }

    /// [`Self::verify`], and the leaf must be certified for `subject` (its
    /// `sub`): what a key directory entry for `subject` must hold.
    ///
    /// # Errors
    /// As [`Self::verify`]; [`ErrorCode::ContextMismatch`] if the leaf names
    /// another subject (checked once the chain verified, before the leaf's
    /// purpose and groups).
    pub fn verify_for(
        &mut self,
        chain: &[&str],
        now: u64,
        purpose: Purpose,
        groups: &[&str],
        subject: &str,
    ) -> Result<Certified> {
        self.verify_chain(chain, now, purpose, groups, Some(subject))
    }

    fn verify_chain(
        &mut self,
        chain: &[&str],
        now: u64,
        purpose: Purpose,
        groups: &[&str],
        subject: Option<&str>,
    ) -> Result<Certified> {
        let mut check = self.prepare(chain)?;
        for job in &mut check.jobs {
            job.verified = Some(job.job.run().map_err(|_| BAD_SIGNATURE)?);
        }
        self.finish(check, now, purpose, groups, subject)
    }

    /// The first half of a verification whose signatures are checked
    /// elsewhere (WebCrypto in the browser): parses `chain` and links each
    /// certificate to its issuer, the last to a pinned root, and returns the
    /// signature checks still needed ([`ChainCheck::jobs`]; those this store
    /// verified before are not repeated). Run each job, then [`Self::finish`].
    ///
    /// # Errors
    /// As [`Self::verify`] for the parse and the links.
    pub fn prepare(&self, chain: &[&str]) -> Result<ChainCheck> {
        if chain.is_empty() || chain.len() > MAX_CHAIN {
            return Err(Error::invalid_argument(
                "a certificate chain holds 1 to 4 certificates (the root is pinned, not sent)",
            ));
        }
        let certs = chain.iter().map(|c| Certificate::parse(c)).collect::<Result<Vec<_>>>()?;
        // Links: each certificate's issuer is the next one's key, the last one's a root.
        let mut issuers = Vec::with_capacity(certs.len());
        let mut jobs = Vec::new();
        let mut root = None;
        for (i, cert) in certs.iter().enumerate() {
            // A broken link stops here: the signatures before it are still checked first (their
            // INVALID_SIGNATURE comes before this UNTRUSTED_KEY), and `finish` reports it.
            let issuer_key = match certs.get(i + 1) {
                Some(next) if next.claims.key.kid() == cert.issuer => next.claims.key,
                Some(_) => break,
                None => match self.roots.iter().find(|r| r.kid() == cert.issuer) {
                    Some(r) => {
                        root = Some(r.kid());
                        *r
                    }
                    None => break,
                },
            };
            let seen = {
                use sha2::Digest as _;
                let mut h = sha2::Sha256::new();
                h.update(issuer_key.to_sec1(false));
                h.update(cert.token_input.as_bytes());
                h.update(&cert.signature);
                <[u8; 32]>::from(h.finalize())
            };
            // A sorted list: no hashing code in the wasm for 4,096 entries.
            if self.verified.binary_search(&seen).is_err() {
                let signature = cert.signature.as_slice().try_into().map_err(|_| BAD_SIGNATURE)?;
                let job = VerifyJob { key: issuer_key, message: cert.token_input.as_bytes().to_vec(), signature };
                jobs.push(SignatureJob { seen, job, verified: None });
            }
            issuers.push(cert.issuer.clone());
        }
        Ok(ChainCheck { certs, issuers, root, jobs })
    }

    /// The second half: every job of `check` must carry the token of its
    /// own successful run ([`ErrorCode::InvalidSignature`] otherwise); the
    /// signatures are remembered, and the rest of [`Self::verify`]'s checks
    /// run at `now` (validity, revocation, intermediates, then with
    /// `subject` the leaf's subject, then purpose and groups).
    ///
    /// # Errors
    /// As [`Self::verify`] / [`Self::verify_for`].
    pub fn finish(
        &mut self,
        check: ChainCheck,
        now: u64,
        purpose: Purpose,
        groups: &[&str],
        subject: Option<&str>,
    ) -> Result<Certified> {
        let ChainCheck { certs, issuers, root, jobs } = check;
        for j in &jobs {
            if j.verified.as_ref() != Some(&j.job.verified()) {
                return Err(BAD_SIGNATURE);
            }
        }
        let root = root.ok_or(UNTRUSTED)?;
        for j in &jobs {
            if let Err(at) = self.verified.binary_search(&j.seen) {
                if self.verified.len() >= SIGNATURE_CACHE {
                    self.verified.clear();
                    self.verified.push(j.seen);
                } else {
                    self.verified.insert(at, j.seen);
                }
            }
        }
        for cert in &certs {
            if !(cert.claims.not_before <= now && now < cert.claims.not_after) {
                return Err(Error::new(
                    ErrorCode::KeyExpired,
                    "a certificate in the chain is expired or not yet valid",
                ));
            }
        }
        if self.policy == Revocation::Required {
            let list =
                self.revocations.iter().find(|r| r.issuer == root && r.issued_at <= now && now < r.expires).ok_or(
                    Error::new(ErrorCode::KeyExpired, "no current revocation list from this root: add a fresh one"),
                )?;
            if certs.iter().any(|c| list.serials.contains(&c.claims.serial)) {
                return Err(Error::new(ErrorCode::KeyRevoked, "a certificate in the chain is revoked"));
            }
        }
        let (leaf, issuers_certs) = certs.split_first().ok_or(UNTRUSTED)?;
        for issuer in issuers_certs {
            if !issuer.claims.purposes.contains(&Purpose::Certify) {
                return Err(Error::new(ErrorCode::AccessDenied, "an intermediate certificate without purpose certify"));
            }
        }
        // Every certificate below an intermediate stays within its groups.
        for (i, issuer) in issuers_certs.iter().enumerate() {
            for below in certs.get(..=i).unwrap_or_default() {
                if below.claims.groups.iter().any(|g| !issuer.claims.groups.contains(g)) {
                    return Err(Error::new(
                        ErrorCode::AccessDenied,
                        "a certificate lists groups its issuer may not certify",
                    ));
                }
            }
        }
        if subject.is_some_and(|s| s != leaf.claims.subject) {
            return Err(Error::new(
                ErrorCode::ContextMismatch,
                "the certificate is for another subject than the directory entry it came from",
            ));
        }
        if !leaf.claims.purposes.contains(&purpose) {
            return Err(Error::new(ErrorCode::WrongPurpose, "the key is not certified for this purpose"));
        }
        if groups.iter().any(|g| !leaf.claims.groups.iter().any(|h| h == g)) {
            return Err(Error::new(ErrorCode::AccessDenied, "the key is not certified for this access group"));
        }
        Ok(Certified { claims: leaf.claims.clone(), root, issuers })
    }
}
