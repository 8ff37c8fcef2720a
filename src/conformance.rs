//! Runners for upstream test vectors (feature `conformance`).
//!
//! Each runner takes the text of one vector file and returns a
//! [`Report`]: cases passed, failed and skipped (with the reason a case was
//! skipped kept visible). The format is recognised from the file itself:
//!
//! * RFC 9180 `test-vectors.json` format (the official file and the P-384
//!   cross-checked file): key derivation, KEM, key schedule, every
//!   encryption in order and every export; entries whose KEM is not P-384
//!   run the key schedule from the given shared secret.
//! * SFrame RFC 9605 `test-vectors.json` (object with `header`,
//!   `aes_ctr_hmac`, `sframe`): header encode/decode, the AES-CTR + HMAC
//!   AEAD, and key/salt derivation, nonce, AAD and whole frames; the draft
//!   file of suites 6-8 (`sframe_aes_256_ctr_hmac`) is recognised and its
//!   entries skipped (not RFC 9605 suites).
//! * Wycheproof (`testvectors_v1`): `EcdhTest`, `EcdhEcpointTest`,
//!   `EcdhWebcryptoTest`, `AeadTest`, `HkdfTest`, `EcdsaVerify`,
//!   `EcdsaP1363Verify`, honouring `valid` / `invalid` / `acceptable`.
//!
//! These runners are used by `cargo test`, by the `phiseal vectors` command
//! (`make vectors`) and by the wasm tests in the browser, so the same code
//! proves the native and the wasm builds.

use serde::Deserialize;
use serde_json::Value;

use crate::aead::AesGcm;
use crate::hpke::{self, Mode, Psk, Suite};
use crate::kdf::Kdf;
use crate::keys::{Jwk, PrivateKey, PublicKey, SCALAR_LEN};
use crate::sign;

/// Outcome of running one vector file.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    /// Cases whose result matched the expectation.
    pub passed: usize,
    /// Cases whose result did not match.
    pub failed: usize,
    /// Cases not applicable to phiseal (with reasons in `skip_reasons`).
    pub skipped: usize,
    /// Descriptions of the first failures (at most 20).
    pub failures: Vec<String>,
    /// Distinct reasons for skipped cases.
    pub skip_reasons: Vec<String>,
}

impl Report {
    fn check(&mut self, ok: bool, what: impl FnOnce() -> String) {
        if ok {
            self.passed += 1;
        } else {
            self.failed += 1;
            if self.failures.len() < 20 {
                self.failures.push(what());
            }
        }
    }

    fn skip(&mut self, count: usize, reason: &str) {
        self.skipped += count;
        if count > 0 && !self.skip_reasons.iter().any(|r| r == reason) {
            self.skip_reasons.push(reason.to_owned());
        }
    }

    fn fail_file(message: String) -> Self {
        Self { failed: 1, failures: vec![message], ..Self::default() }
    }
}

/// Decodes lowercase or uppercase hex.
///
/// # Errors
/// A message if the text is not hex of even length.
pub fn hex(s: &str) -> Result<Vec<u8>, String> {
    if !s.len().is_multiple_of(2) {
        return Err(format!("odd-length hex: {s}"));
    }
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|b| u8::from_str_radix(b, 16).ok()).ok_or_else(|| format!("bad hex: {s}")))
        .collect()
}

fn de_hex<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    let s = String::deserialize(d)?;
    hex(&s).map_err(serde::de::Error::custom)
}

fn de_hex_opt<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
    let s = Option::<String>::deserialize(d)?;
    s.map(|s| hex(&s).map_err(serde::de::Error::custom)).transpose()
}

/// Runs a vector file, recognising its format.
#[must_use]
pub fn run_file(text: &str) -> Report {
    let value: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => return Report::fail_file(format!("not JSON: {e}")),
    };
    if value.is_array() {
        return run_hpke(text);
    }
    // SFrame (RFC 9605 Appendix C JSON, and the draft AES-256-CTR-HMAC file).
    if is_sframe(&value) {
        return run_sframe(text);
    }
    let groups = value.get("testGroups").and_then(Value::as_array);
    let kind = groups.and_then(|g| g.first()).and_then(|g| g.get("type")).and_then(Value::as_str);
    match (kind, groups) {
        (Some(kind), Some(groups)) => run_wycheproof(kind, groups),
        _ => Report::fail_file("unrecognised vector format (not RFC 9180 HPKE, not Wycheproof)".into()),
    }
}

// ---------------------------------------------------------------------------
// HPKE, RFC 9180 test-vectors.json format
// ---------------------------------------------------------------------------

/// One encryption of an RFC 9180 vector entry.
#[derive(Debug, Clone, Deserialize)]
pub struct HpkeEncryption {
    /// Associated data.
    #[serde(deserialize_with = "de_hex")]
    pub aad: Vec<u8>,
    /// Ciphertext with tag.
    #[serde(deserialize_with = "de_hex")]
    pub ct: Vec<u8>,
    /// Plaintext.
    #[serde(deserialize_with = "de_hex")]
    pub pt: Vec<u8>,
}

/// One export of an RFC 9180 vector entry.
#[derive(Debug, Clone, Deserialize)]
pub struct HpkeExport {
    /// Exporter context.
    #[serde(deserialize_with = "de_hex")]
    pub exporter_context: Vec<u8>,
    /// Requested length.
    #[serde(rename = "L")]
    pub len: usize,
    /// Expected output.
    #[serde(deserialize_with = "de_hex")]
    pub exported_value: Vec<u8>,
}

/// One entry of an RFC 9180 vector file (fields phiseal checks).
#[derive(Debug, Clone, Deserialize)]
#[allow(missing_docs)]
pub struct HpkeVector {
    pub mode: u8,
    pub kem_id: u16,
    pub kdf_id: u16,
    pub aead_id: u16,
    #[serde(deserialize_with = "de_hex")]
    pub info: Vec<u8>,
    #[serde(deserialize_with = "de_hex", rename = "ikmR")]
    pub ikm_r: Vec<u8>,
    #[serde(default, rename = "ikmS", deserialize_with = "de_hex_opt")]
    pub ikm_s: Option<Vec<u8>>,
    #[serde(deserialize_with = "de_hex", rename = "ikmE")]
    pub ikm_e: Vec<u8>,
    #[serde(deserialize_with = "de_hex", rename = "skRm")]
    pub sk_rm: Vec<u8>,
    #[serde(default, rename = "skSm", deserialize_with = "de_hex_opt")]
    pub sk_sm: Option<Vec<u8>>,
    #[serde(default, rename = "skEm", deserialize_with = "de_hex_opt")]
    pub sk_em: Option<Vec<u8>>,
    #[serde(default, deserialize_with = "de_hex_opt")]
    pub psk: Option<Vec<u8>>,
    #[serde(default, deserialize_with = "de_hex_opt")]
    pub psk_id: Option<Vec<u8>>,
    #[serde(deserialize_with = "de_hex", rename = "pkRm")]
    pub pk_rm: Vec<u8>,
    #[serde(default, rename = "pkSm", deserialize_with = "de_hex_opt")]
    pub pk_sm: Option<Vec<u8>>,
    #[serde(default, rename = "pkEm", deserialize_with = "de_hex_opt")]
    pub pk_em: Option<Vec<u8>>,
    #[serde(deserialize_with = "de_hex")]
    pub enc: Vec<u8>,
    #[serde(deserialize_with = "de_hex")]
    pub shared_secret: Vec<u8>,
    #[serde(deserialize_with = "de_hex")]
    pub key: Vec<u8>,
    #[serde(deserialize_with = "de_hex")]
    pub base_nonce: Vec<u8>,
    #[serde(deserialize_with = "de_hex")]
    pub exporter_secret: Vec<u8>,
    #[serde(default)]
    pub encryptions: Vec<HpkeEncryption>,
    #[serde(default)]
    pub exports: Vec<HpkeExport>,
}

impl HpkeVector {
    /// The PSK pair, if the entry's mode uses one.
    #[must_use]
    pub fn psk(&self) -> Option<Psk<'_>> {
        match (&self.psk, &self.psk_id) {
            (Some(psk), Some(id)) => Some(Psk { psk, id }),
            _ => None,
        }
    }

    /// The entry's suite, if phiseal supports it.
    ///
    /// # Errors
    /// Unsupported KDF/AEAD ids (e.g. ChaCha20-Poly1305, SHAKE256).
    pub fn suite(&self) -> crate::Result<Suite> {
        Suite::from_ids(self.kem_id, self.kdf_id, self.aead_id)
    }
}

/// Parses an RFC 9180 vector file.
///
/// # Errors
/// A message if the JSON does not have the expected shape.
pub fn hpke_vectors(text: &str) -> Result<Vec<HpkeVector>, String> {
    serde_json::from_str(text).map_err(|e| e.to_string())
}

fn run_hpke(text: &str) -> Report {
    let vectors = match hpke_vectors(text) {
        Ok(v) => v,
        Err(e) => return Report::fail_file(format!("bad RFC 9180 vector file: {e}")),
    };
    let mut report = Report::default();
    for (i, v) in vectors.iter().enumerate() {
        run_hpke_entry(&mut report, i, v);
    }
    report
}

fn run_hpke_entry(report: &mut Report, i: usize, v: &HpkeVector) {
    let label =
        format!("entry {i} (mode {}, kem {:#06x}, kdf {:#06x}, aead {:#06x})", v.mode, v.kem_id, v.kdf_id, v.aead_id);
    let cases = 1 + v.encryptions.len() + v.exports.len();
    let is_p384 = v.kem_id == hpke::KEM_P384_HKDF_SHA384;

    // KEM-level values (DeriveKeyPair, enc, shared_secret) for P-384.
    let kem = if is_p384 {
        match check_p384_kem(v) {
            Ok(keys) => Some(keys),
            Err(e) => {
                report.check(false, || format!("{label}: KEM: {e}"));
                report.skip(cases - 1, "entry whose KEM check failed");
                return;
            }
        }
    } else {
        None
    };

    let suite = match v.suite() {
        Ok(s) => s,
        Err(_) if is_p384 => {
            // e.g. the draft's SHAKE256 KDF: only the KEM values are RFC 9180 values.
            report.check(true, String::new);
            report.skip(cases - 1, "KDF or AEAD not in RFC 9180 / not supported (KEM values checked)");
            return;
        }
        Err(_) => {
            report.skip(cases, "KDF or AEAD not supported (ChaCha20-Poly1305)");
            return;
        }
    };
    let mode = match v.mode {
        0 => Mode::Base,
        1 => Mode::Psk,
        2 => Mode::Auth,
        3 => Mode::AuthPsk,
        _ => {
            report.check(false, || format!("{label}: unknown mode"));
            return;
        }
    };

    let setup = match &kem {
        Some(keys) => {
            let sender = hpke::setup_sender_with_ephemeral(
                suite,
                keys.r.public_key(),
                &v.info,
                v.psk(),
                keys.s.as_ref(),
                &keys.e,
            );
            let recipient = hpke::setup_recipient(
                suite,
                &v.enc,
                &keys.r,
                &v.info,
                v.psk(),
                keys.s.as_ref().map(PrivateKey::public_key),
            );
            match (sender, recipient) {
                (Ok((enc, s)), Ok(r)) if enc == v.enc => Ok((s, r)),
                (Ok(_), Ok(_)) => Err("enc differs".to_owned()),
                (Err(e), _) | (_, Err(e)) => Err(e.to_string()),
            }
        }
        None => hpke::sender_from_shared_secret(suite, mode, &v.shared_secret, &v.info, v.psk())
            .and_then(|s| Ok((s, hpke::recipient_from_shared_secret(suite, mode, &v.shared_secret, &v.info, v.psk())?)))
            .map_err(|e| e.to_string()),
    };
    let (mut sender, mut recipient) = match setup {
        Ok(pair) => pair,
        Err(e) => {
            report.check(false, || format!("{label}: setup: {e}"));
            report.skip(cases - 1, "entry whose setup failed");
            return;
        }
    };
    let (key, base_nonce, exporter_secret) = sender.secrets();
    let schedule_ok = key == v.key.as_slice()
        && (v.base_nonce.is_empty() || base_nonce == v.base_nonce.as_slice())
        && exporter_secret == v.exporter_secret.as_slice()
        && Mode::of(v.psk().is_some(), v.ikm_s.is_some()) == mode;
    report.check(schedule_ok, || format!("{label}: key schedule values differ"));

    for (j, e) in v.encryptions.iter().enumerate() {
        let sealed = sender.seal(&e.aad, &e.pt);
        let opened = recipient.open(&e.aad, &e.ct);
        let ok = sealed.as_deref() == Ok(e.ct.as_slice()) && opened.as_deref() == Ok(e.pt.as_slice());
        report.check(ok, || format!("{label}: encryption {j}"));
    }
    for (j, x) in v.exports.iter().enumerate() {
        let a = sender.export(&x.exporter_context, x.len);
        let b = recipient.export(&x.exporter_context, x.len);
        let ok = matches!((&a, &b), (Ok(a), Ok(b)) if a.as_slice() == x.exported_value.as_slice() && b.as_slice() == x.exported_value.as_slice());
        report.check(ok, || format!("{label}: export {j}"));
    }
}

/// Key pairs derived from an entry's ikms.
pub struct KemKeys {
    /// Recipient.
    pub r: PrivateKey,
    /// Ephemeral.
    pub e: PrivateKey,
    /// Sender (auth modes).
    pub s: Option<PrivateKey>,
}

/// Checks `DeriveKeyPair` for every ikm, `enc` and `shared_secret` of a
/// DHKEM(P-384) entry, returning the derived keys.
///
/// # Errors
/// A description of the first mismatch.
pub fn check_p384_kem(v: &HpkeVector) -> Result<KemKeys, String> {
    let derive = |ikm: &[u8], sk: Option<&Vec<u8>>, pk: Option<&Vec<u8>>, who: &str| -> Result<PrivateKey, String> {
        let key = hpke::derive_key_pair(ikm).map_err(|e| format!("DeriveKeyPair({who}): {e}"))?;
        if sk.is_some_and(|sk| sk.as_slice() != &key.to_scalar_bytes()[..]) {
            return Err(format!("sk{who}m differs"));
        }
        if pk.is_some_and(|pk| *pk != key.public_key().to_sec1(false)) {
            return Err(format!("pk{who}m differs"));
        }
        Ok(key)
    };
    let r = derive(&v.ikm_r, Some(&v.sk_rm), Some(&v.pk_rm), "R")?;
    let e = derive(&v.ikm_e, v.sk_em.as_ref(), v.pk_em.as_ref(), "E")?;
    let s = match &v.ikm_s {
        Some(ikm) => Some(derive(ikm, v.sk_sm.as_ref(), v.pk_sm.as_ref(), "S")?),
        None => None,
    };
    if e.public_key().to_sec1(false) != v.enc {
        return Err("enc differs from the ephemeral public key".into());
    }
    let mut dh = e.diffie_hellman(r.public_key()).to_vec();
    if let Some(s) = &s {
        dh.extend_from_slice(&s.diffie_hellman(r.public_key())[..]);
    }
    let shared = hpke::kem_shared_secret(&dh, &v.enc, r.public_key(), s.as_ref().map(PrivateKey::public_key))
        .map_err(|e| e.to_string())?;
    if shared[..] != v.shared_secret[..] {
        return Err("shared_secret differs".into());
    }
    Ok(KemKeys { r, e, s })
}

// ---------------------------------------------------------------------------
// SFrame, RFC 9605 test-vectors.json format (Appendix C)
// ---------------------------------------------------------------------------

/// One `header` entry: RFC 9605 §4.3 encoding of (KID, CTR).
#[derive(Debug, Deserialize)]
struct SframeHeaderVector {
    kid: u64,
    ctr: u64,
    #[serde(deserialize_with = "de_hex")]
    encoded: Vec<u8>,
}

/// One `aes_ctr_hmac` entry: the RFC 9605 §4.5.1 AEAD alone.
#[derive(Debug, Deserialize)]
struct SframeCtrHmacVector {
    cipher_suite: u16,
    #[serde(deserialize_with = "de_hex")]
    key: Vec<u8>,
    #[serde(deserialize_with = "de_hex")]
    enc_key: Vec<u8>,
    #[serde(deserialize_with = "de_hex")]
    auth_key: Vec<u8>,
    #[serde(deserialize_with = "de_hex")]
    nonce: Vec<u8>,
    #[serde(deserialize_with = "de_hex")]
    aad: Vec<u8>,
    #[serde(deserialize_with = "de_hex")]
    pt: Vec<u8>,
    #[serde(deserialize_with = "de_hex")]
    ct: Vec<u8>,
}

/// One `sframe` entry: derivation, nonce, AAD and the whole SFrame ciphertext.
#[derive(Debug, Deserialize)]
struct SframeVector {
    cipher_suite: u16,
    kid: u64,
    ctr: u64,
    #[serde(deserialize_with = "de_hex")]
    base_key: Vec<u8>,
    #[serde(deserialize_with = "de_hex")]
    sframe_key_label: Vec<u8>,
    #[serde(deserialize_with = "de_hex")]
    sframe_salt_label: Vec<u8>,
    #[serde(deserialize_with = "de_hex")]
    sframe_secret: Vec<u8>,
    #[serde(deserialize_with = "de_hex")]
    sframe_key: Vec<u8>,
    #[serde(deserialize_with = "de_hex")]
    sframe_salt: Vec<u8>,
    #[serde(deserialize_with = "de_hex")]
    metadata: Vec<u8>,
    #[serde(deserialize_with = "de_hex")]
    nonce: Vec<u8>,
    #[serde(deserialize_with = "de_hex")]
    aad: Vec<u8>,
    #[serde(deserialize_with = "de_hex")]
    pt: Vec<u8>,
    #[serde(deserialize_with = "de_hex")]
    ct: Vec<u8>,
}

#[derive(Debug, Deserialize)]
struct SframeFile {
    #[serde(default)]
    header: Vec<SframeHeaderVector>,
    #[serde(default)]
    aes_ctr_hmac: Vec<SframeCtrHmacVector>,
    #[serde(default)]
    sframe: Vec<SframeVector>,
    /// Suites 6-8 (AES-256-CTR-HMAC-SHA512), added upstream after RFC 9605.
    #[serde(default)]
    sframe_aes_256_ctr_hmac: Vec<SframeVector>,
}

/// An SFrame vector file: `header` entries with an `encoded` field (a
/// Wycheproof file's `header` is an array of strings), or the sections only
/// SFrame files have.
fn is_sframe(value: &Value) -> bool {
    let sframe_header = value
        .get("header")
        .and_then(Value::as_array)
        .and_then(|h| h.first())
        .is_some_and(|first| first.get("encoded").is_some());
    sframe_header || ["sframe", "aes_ctr_hmac", "sframe_aes_256_ctr_hmac"].iter().any(|k| value.get(k).is_some())
}

const SFRAME_SUITE_SKIP: &str =
    "SFrame cipher suite not in RFC 9605 (ids 6-8, AES-256-CTR-HMAC-SHA512, are a later draft)";

/// One case per entry: every value an entry gives is checked.
fn run_sframe(text: &str) -> Report {
    let file: SframeFile = match serde_json::from_str(text) {
        Ok(f) => f,
        Err(e) => return Report::fail_file(format!("SFrame vectors: {e}")),
    };
    let mut report = Report::default();
    for (i, v) in file.header.iter().enumerate() {
        let result = sframe_header_case(v);
        report
            .check(result.is_ok(), || format!("sframe header {i} (kid {}, ctr {}): {}", v.kid, v.ctr, err_of(result)));
    }
    for (i, v) in file.aes_ctr_hmac.iter().enumerate() {
        match crate::media::sframe::CipherSuite::from_id(v.cipher_suite) {
            Ok(suite) => {
                let result = sframe_ctr_hmac_case(suite, v);
                report.check(result.is_ok(), || {
                    format!("aes_ctr_hmac {i} (suite {}): {}", v.cipher_suite, err_of(result))
                });
            }
            Err(_) => report.skip(1, SFRAME_SUITE_SKIP),
        }
    }
    for (i, v) in file.sframe.iter().chain(&file.sframe_aes_256_ctr_hmac).enumerate() {
        match crate::media::sframe::CipherSuite::from_id(v.cipher_suite) {
            Ok(suite) => {
                let result = sframe_case(suite, v);
                report.check(result.is_ok(), || format!("sframe {i} (suite {}): {}", v.cipher_suite, err_of(result)));
            }
            Err(_) => report.skip(1, SFRAME_SUITE_SKIP),
        }
    }
    report
}

fn err_of(result: Result<(), String>) -> String {
    result.err().unwrap_or_default()
}

fn expect_eq(what: &str, got: &[u8], want: &[u8]) -> Result<(), String> {
    if got == want { Ok(()) } else { Err(format!("{what} mismatch")) }
}

fn sframe_header_case(v: &SframeHeaderVector) -> Result<(), String> {
    use crate::media::sframe::SframeHeader;
    let header = SframeHeader::new(v.kid, v.ctr);
    expect_eq("encoded header", &header.encode(), &v.encoded)?;
    if header.encoded_len() != v.encoded.len() {
        return Err("encoded_len mismatch".into());
    }
    let decoded = SframeHeader::decode(&v.encoded).map_err(|e| format!("decode: {e}"))?;
    if decoded != header {
        return Err(format!("decoded ({}, {})", decoded.kid(), decoded.ctr()));
    }
    // Every strict prefix is a truncated header.
    if (0..v.encoded.len()).any(|n| v.encoded.get(..n).is_some_and(|p| SframeHeader::read(p).is_ok())) {
        return Err("a truncated header decoded".into());
    }
    Ok(())
}

fn sframe_ctr_hmac_case(suite: crate::media::sframe::CipherSuite, v: &SframeCtrHmacVector) -> Result<(), String> {
    expect_eq("key = enc_key || auth_key", &v.key, &[v.enc_key.as_slice(), &v.auth_key].concat())?;
    let nonce: [u8; 12] = v.nonce.as_slice().try_into().map_err(|_| "nonce length".to_owned())?;
    let mut buf = v.pt.clone();
    suite.seal_in_place(&v.key, &nonce, &v.aad, &mut buf, 0).map_err(|e| format!("seal: {e}"))?;
    expect_eq("ct", &buf, &v.ct)?;
    let mut buf = v.ct.clone();
    suite.open_in_place(&v.key, &nonce, &v.aad, &mut buf).map_err(|e| format!("open: {e}"))?;
    expect_eq("pt", &buf, &v.pt)?;
    let mut tampered = v.ct.clone();
    if let Some(last) = tampered.last_mut() {
        *last ^= 1;
    }
    if suite.open_in_place(&v.key, &nonce, &v.aad, &mut tampered).is_ok() {
        return Err("tampered tag accepted".into());
    }
    Ok(())
}

fn sframe_case(suite: crate::media::sframe::CipherSuite, v: &SframeVector) -> Result<(), String> {
    use crate::media::sframe::{KEY_LABEL, SALT_LABEL, SframeHeader, SframeKey, derive, info_label};
    expect_eq("sframe_key_label", &info_label(KEY_LABEL, v.kid, suite), &v.sframe_key_label)?;
    expect_eq("sframe_salt_label", &info_label(SALT_LABEL, v.kid, suite), &v.sframe_salt_label)?;
    let derived = derive(suite, v.kid, &v.base_key).map_err(|e| format!("derive: {e}"))?;
    expect_eq("sframe_secret", &derived.secret, &v.sframe_secret)?;
    expect_eq("sframe_key", &derived.key, &v.sframe_key)?;
    expect_eq("sframe_salt", derived.salt.as_slice(), &v.sframe_salt)?;
    let key = SframeKey::new(suite, v.kid, &v.base_key).map_err(|e| format!("key: {e}"))?;
    expect_eq("SframeKey key", key.key_bytes(), &v.sframe_key)?;
    expect_eq("nonce", &key.nonce_for(v.ctr), &v.nonce)?;
    let header = SframeHeader::new(v.kid, v.ctr);
    expect_eq("aad", &[header.encode().as_slice(), &v.metadata].concat(), &v.aad)?;
    let ct = key.encrypt_at(v.ctr, &v.metadata, &v.pt).map_err(|e| format!("encrypt: {e}"))?;
    expect_eq("ct", &ct, &v.ct)?;
    let (got_header, pt) = key.decrypt(&v.metadata, &v.ct).map_err(|e| format!("decrypt: {e}"))?;
    if got_header != header {
        return Err("decrypted header mismatch".into());
    }
    expect_eq("pt", &pt, &v.pt)?;
    let mut tampered = v.ct.clone();
    if let Some(last) = tampered.last_mut() {
        *last ^= 1;
    }
    if key.decrypt(&v.metadata, &tampered).is_ok() {
        return Err("tampered frame accepted".into());
    }
    if key.decrypt(b"other metadata", &v.ct).is_ok() {
        return Err("wrong metadata accepted".into());
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Wycheproof
// ---------------------------------------------------------------------------

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

fn hex_of(v: &Value, key: &str) -> Vec<u8> {
    hex(str_of(v, key)).unwrap_or_default()
}

fn run_wycheproof(kind: &str, groups: &[Value]) -> Report {
    let mut report = Report::default();
    for group in groups {
        let tests = group.get("tests").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        for test in tests {
            let tc = test.get("tcId").map(ToString::to_string).unwrap_or_default();
            let result = str_of(test, "result");
            let outcome = match kind {
                "EcdhTest" | "EcdhEcpointTest" | "EcdhWebcryptoTest" => Some(ecdh_case(kind, test)),
                "AeadTest" => aead_case(group, test),
                "HkdfTest" => Some(hkdf_case(test)),
                "EcdsaVerify" | "EcdsaP1363Verify" => Some(ecdsa_case(kind, group, test)),
                _ => {
                    report.skip(1, "Wycheproof test type not supported");
                    continue;
                }
            };
            let Some(outcome) = outcome else {
                report
                    .skip(1, "AES-GCM with a non-96-bit IV, a non-128-bit tag or a 192-bit key (not used by phiseal)");
                continue;
            };
            let ok = match (result, outcome) {
                ("valid", Outcome::Accepted { matches }) => matches,
                ("valid", Outcome::Rejected) => false,
                ("invalid", Outcome::Rejected) => true,
                ("invalid", Outcome::Accepted { .. }) => false,
                // Either answer is allowed, but an accepted case must compute the right value.
                ("acceptable", Outcome::Accepted { matches }) => matches,
                ("acceptable", Outcome::Rejected) => true,
                _ => false,
            };
            report.check(ok, || format!("{kind} tcId {tc} ({result}) {}", str_of(test, "comment")));
        }
    }
    report
}

enum Outcome {
    Accepted { matches: bool },
    Rejected,
}

/// Wycheproof private keys are big-endian integers that may carry a leading
/// zero byte or be shorter than 48 bytes; normalise to exactly 48 bytes.
fn scalar48(bytes: &[u8]) -> Option<Vec<u8>> {
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    let trimmed = bytes.get(first..)?;
    if trimmed.len() > SCALAR_LEN {
        return None;
    }
    let mut out = vec![0u8; SCALAR_LEN - trimmed.len()];
    out.extend_from_slice(trimmed);
    Some(out)
}

fn ecdh_case(kind: &str, test: &Value) -> Outcome {
    let (private, public) = match kind {
        "EcdhWebcryptoTest" => {
            let private = test.get("private").cloned().and_then(|v| Jwk::from_json(&v.to_string()).ok());
            let public = test.get("public").cloned().and_then(|v| Jwk::from_json(&v.to_string()).ok());
            match (private, public) {
                (Some(sk), Some(pk)) => (PrivateKey::from_jwk(&sk), PublicKey::from_jwk(&pk)),
                _ => return Outcome::Rejected,
            }
        }
        _ => {
            let Some(scalar) = scalar48(&hex_of(test, "private")) else { return Outcome::Rejected };
            let public_bytes = hex_of(test, "public");
            let public = if kind == "EcdhTest" {
                PublicKey::from_spki_der(&public_bytes)
            } else {
                PublicKey::from_sec1(&public_bytes)
            };
            (PrivateKey::from_scalar_bytes(&scalar), public)
        }
    };
    match (private, public) {
        (Ok(sk), Ok(pk)) => Outcome::Accepted { matches: sk.diffie_hellman(&pk)[..] == hex_of(test, "shared")[..] },
        _ => Outcome::Rejected,
    }
}

fn aead_case(group: &Value, test: &Value) -> Option<Outcome> {
    let iv_bits = group.get("ivSize").and_then(Value::as_u64);
    let tag_bits = group.get("tagSize").and_then(Value::as_u64);
    let key = hex_of(test, "key");
    if iv_bits != Some(96) || tag_bits != Some(128) {
        return None;
    }
    let cipher = AesGcm::for_key_len(key.len()).ok()?;
    let (iv, aad, msg) = (hex_of(test, "iv"), hex_of(test, "aad"), hex_of(test, "msg"));
    let mut ct = hex_of(test, "ct");
    ct.extend_from_slice(&hex_of(test, "tag"));
    let opened = cipher.open(&key, &iv, &aad, &ct);
    Some(match opened {
        Ok(pt) => {
            let sealed = cipher.seal(&key, &iv, &aad, &msg);
            Outcome::Accepted { matches: pt == msg && sealed.as_deref() == Ok(ct.as_slice()) }
        }
        Err(_) => Outcome::Rejected,
    })
}

fn hkdf_case(test: &Value) -> Outcome {
    let size = test.get("size").and_then(Value::as_u64).and_then(|s| usize::try_from(s).ok()).unwrap_or(0);
    // The invalid cases ask for more than 255*HashLen bytes; cap the buffer
    // so a bogus size cannot exhaust memory.
    let mut okm = vec![0u8; size.min(1 << 20)];
    if okm.len() != size {
        return Outcome::Rejected;
    }
    match Kdf::Sha384.hkdf(&hex_of(test, "salt"), &hex_of(test, "ikm"), &hex_of(test, "info"), &mut okm) {
        Ok(()) => Outcome::Accepted { matches: okm == hex_of(test, "okm") },
        Err(_) => Outcome::Rejected,
    }
}

fn ecdsa_case(kind: &str, group: &Value, test: &Value) -> Outcome {
    let point = group.get("publicKey").map(|k| hex_of(k, "uncompressed")).unwrap_or_default();
    let Ok(public) = PublicKey::from_sec1(&point) else { return Outcome::Rejected };
    let (msg, sig) = (hex_of(test, "msg"), hex_of(test, "sig"));
    let verified = if kind == "EcdsaP1363Verify" {
        sign::verify_p1363(&public, &msg, &sig)
    } else {
        sign::verify_der(&public, &msg, &sig)
    };
    match verified {
        Ok(()) => Outcome::Accepted { matches: true },
        Err(_) => Outcome::Rejected,
    }
}
