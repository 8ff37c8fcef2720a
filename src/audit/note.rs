//! Checkpoints as C2SP signed notes (docs/FORMAT.md §6.4–§6.5):
//! a C2SP tlog-checkpoint body (origin, tree size, base64 root hash, one
//! phiseal extension line) signed by the log's ECDSA P-384 key, and
//! cosigned by witnesses in the C2SP tlog-cosignature message layout.
//!
//! C2SP signed-note assigns no identifier byte to ECDSA P-384 with SHA-384
//! over the note text (`0x02` is "ECDSA as github.com/transparency-dev/witness
//! implements it", with a key id over the SPKI and no fixed hash), so phiseal
//! uses the escape the spec reserves, `0xff` followed by a long identifier:
//! [`LOG_SIGNATURE_TYPE`] and [`COSIGNATURE_TYPE`]. Key ids follow the spec's
//! recommendation, `SHA-256(name ‖ 0x0A ‖ type ‖ public key)[:4]`.

use base64ct::{Base64, Encoding as _};
use sha2::{Digest as _, Sha256};

use super::merkle::{TREE_HASH_LEN, TreeHash};
use crate::error::{Error, ErrorCode, Result};
use crate::keys::PublicKey;
use crate::sign::{self, SIGNATURE_LEN, SigningKey};

/// The signature type of a log's checkpoint signature: `0xff` then this
/// ASCII identifier (C2SP signed-note "signature types without an
/// identifier byte").
pub const LOG_SIGNATURE_TYPE: &[u8] = b"\xffphiseal.dev/audit/ecdsa-p384-sha384/v1";
/// The signature type of a witness cosignature.
pub const COSIGNATURE_TYPE: &[u8] = b"\xffphiseal.dev/audit/cosignature-ecdsa-p384-sha384/v1";
/// The extension line phiseal writes: `phiseal-time-ms <Unix ms>`.
pub const TIME_EXTENSION: &str = "phiseal-time-ms ";
/// The cosigned message's header line (C2SP tlog-cosignature).
pub const COSIGNATURE_HEADER: &str = "cosignature/v1\n";
/// Longest note accepted.
pub const MAX_NOTE_LEN: usize = 65_536;
/// Most signature lines accepted on one note.
pub const MAX_SIGNATURES: usize = 64;
/// Length of a key id.
pub const KEY_ID_LEN: usize = 4;

const BAD_NOTE: Error = Error::malformed("not a phiseal checkpoint note");
const BAD_LOG_SIGNATURE: Error = Error::new(ErrorCode::InvalidSignature, "checkpoint signature does not verify");
const NOT_TRUSTED: Error = Error::new(ErrorCode::UntrustedAuthor, "checkpoint not signed by a trusted key");

/// `SHA-256(name ‖ 0x0A ‖ sig_type ‖ SEC1 uncompressed public key)[:4]`.
#[must_use]
pub fn key_id(name: &str, sig_type: &[u8], key: &PublicKey) -> [u8; KEY_ID_LEN] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([0x0a]);
    h.update(sig_type);
    h.update(key.to_sec1(false));
    let d = h.finalize();
    let mut id = [0u8; KEY_ID_LEN];
    id.copy_from_slice(d.get(..KEY_ID_LEN).unwrap_or(&[0; KEY_ID_LEN]));
    id
}

/// Whether `name` may be a checkpoint origin or key name: 1–255 bytes,
/// no Unicode whitespace, no `+`, no control character.
#[must_use]
pub fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 255 && !name.chars().any(|c| c.is_whitespace() || c.is_control() || c == '+')
}

/// A checkpoint body (C2SP tlog-checkpoint note text).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckpointBody {
    /// Origin: the log id.
    pub origin: String,
    /// Tree size: number of entries covered.
    pub size: u64,
    /// Root hash of the tree of the first `size` entries.
    pub root: TreeHash,
    /// When the log signed it (Unix ms), from the `phiseal-time-ms` line.
    pub time: u64,
}

impl CheckpointBody {
    /// The note text: `origin\nsize\nbase64(root)\nphiseal-time-ms time\n`.
    #[must_use]
    pub fn text(&self) -> String {
        format!(
            "{}\n{}\n{}\n{TIME_EXTENSION}{}\n",
            self.origin,
            self.size,
            Base64::encode_string(&self.root),
            self.time
        )
    }

    /// Parses the note text exactly as [`CheckpointBody::text`] writes it.
    ///
    /// # Errors
    /// [`ErrorCode::MalformedInput`] for anything else.
    pub fn parse(text: &str) -> Result<Self> {
        let body = text.strip_suffix('\n').ok_or(BAD_NOTE)?;
        let mut lines = body.split('\n');
        let (Some(origin), Some(size), Some(root), Some(time), None) =
            (lines.next(), lines.next(), lines.next(), lines.next(), lines.next())
        else {
            return Err(BAD_NOTE);
        };
        let root: TreeHash = Base64::decode_vec(root)
            .ok()
            .and_then(|v| <[u8; TREE_HASH_LEN]>::try_from(v.as_slice()).ok())
            .ok_or(BAD_NOTE)?;
        let time = time.strip_prefix(TIME_EXTENSION).ok_or(BAD_NOTE)?;
        let parsed = Self { origin: origin.to_owned(), size: decimal(size)?, root, time: decimal(time)? };
        if !valid_name(origin) || parsed.text() != text {
            return Err(BAD_NOTE);
        }
        Ok(parsed)
    }

    /// The message a witness signs: `cosignature/v1\ntime <seconds>\n` ‖ text.
    #[must_use]
    pub fn cosigned_message(&self, time_s: u64) -> String {
        format!("{COSIGNATURE_HEADER}time {time_s}\n{}", self.text())
    }
}

/// ASCII decimal without leading zeroes (or exactly `0`), at most 2^64 − 1.
fn decimal(s: &str) -> Result<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0')) {
        return Err(BAD_NOTE);
    }
    s.parse().map_err(|_| BAD_NOTE)
}

/// One signature line of a note: `— name base64(key id ‖ signature)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteSignature {
    /// Key name.
    pub name: String,
    /// Key id (first 4 bytes of the blob).
    pub key_id: [u8; KEY_ID_LEN],
    /// The rest of the blob.
    pub signature: Vec<u8>,
}

impl NoteSignature {
    fn line(&self) -> String {
        let mut blob = self.key_id.to_vec();
        blob.extend_from_slice(&self.signature);
        format!("\u{2014} {} {}\n", self.name, Base64::encode_string(&blob))
    }
}

/// A checkpoint as a signed note: body and signature lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckpointNote {
    /// The body.
    pub body: CheckpointBody,
    /// Signature lines, in order.
    pub signatures: Vec<NoteSignature>,
}

impl CheckpointNote {
    /// Signs `body` with the log's key; the key name is the origin.
    ///
    /// # Errors
    /// [`ErrorCode::InvalidArgument`] for an origin that cannot be a key
    /// name; as [`SigningKey::sign`].
    pub fn sign(body: CheckpointBody, key: &SigningKey) -> Result<Self> {
        Self::check_origin(&body)?;
        let sig = key.sign(body.text().as_bytes())?;
        Ok(Self::from_signature(body, &key.verifying_key(), sig))
    }

    /// Refuses a body whose origin cannot name a note's key.
    ///
    /// # Errors
    /// [`ErrorCode::InvalidArgument`] for an origin that is not a valid key name.
    pub fn check_origin(body: &CheckpointBody) -> Result<()> {
        if valid_name(&body.origin) {
            Ok(())
        } else {
            Err(Error::invalid_argument(
                "a checkpointed log id must be 1-255 bytes without spaces, '+' or control characters",
            ))
        }
    }

    /// The note of `body` with the signature `signature` of `key` over
    /// [`CheckpointBody::text`], made elsewhere (WebCrypto in the browser);
    /// the caller checked the origin with [`Self::check_origin`].
    #[must_use]
    pub fn from_signature(body: CheckpointBody, key: &PublicKey, signature: [u8; SIGNATURE_LEN]) -> Self {
        let key_id = key_id(&body.origin, LOG_SIGNATURE_TYPE, key);
        let signature = NoteSignature { name: body.origin.clone(), key_id, signature: signature.to_vec() };
        Self { body, signatures: vec![signature] }
    }

    /// The whole signed note text.
    #[must_use]
    pub fn to_text(&self) -> String {
        let mut out = self.body.text();
        out.push('\n');
        for s in &self.signatures {
            out.push_str(&s.line());
        }
        out
    }

    /// Parses a signed note (C2SP signed-note) with a checkpoint body.
    ///
    /// # Errors
    /// [`ErrorCode::MalformedInput`] if it is not one.
    pub fn parse(text: &str) -> Result<Self> {
        if text.len() > MAX_NOTE_LEN || text.chars().any(|c| c != '\n' && c.is_control()) {
            return Err(BAD_NOTE);
        }
        let split = text.rfind("\n\n").ok_or(BAD_NOTE)?;
        let (body, sigs) = (text.get(..=split).ok_or(BAD_NOTE)?, text.get(split + 2..).ok_or(BAD_NOTE)?);
        let body = CheckpointBody::parse(body)?;
        let sigs = sigs.strip_suffix('\n').ok_or(BAD_NOTE)?;
        let mut signatures = Vec::new();
        for line in sigs.split('\n') {
            let rest = line.strip_prefix("\u{2014} ").ok_or(BAD_NOTE)?;
            let (name, b64) = rest.split_once(' ').ok_or(BAD_NOTE)?;
            if !valid_name(name) {
                return Err(BAD_NOTE);
            }
            let blob = Base64::decode_vec(b64).map_err(|_| BAD_NOTE)?;
            if blob.len() <= KEY_ID_LEN || Base64::encode_string(&blob) != b64 {
                return Err(BAD_NOTE);
            }
            let (id, signature) = blob.split_at(KEY_ID_LEN);
            let mut key_id = [0u8; KEY_ID_LEN];
            key_id.copy_from_slice(id);
            signatures.push(NoteSignature { name: name.to_owned(), key_id, signature: signature.to_vec() });
        }
        if signatures.len() > MAX_SIGNATURES {
            return Err(BAD_NOTE);
        }
        Ok(Self { body, signatures })
    }

    /// The log's signature check: whether some line by one of `trusted`
    /// (key name = origin, key id of [`LOG_SIGNATURE_TYPE`]) verifies.
    ///
    /// # Errors
    /// [`ErrorCode::UntrustedAuthor`] when no line is by a trusted key;
    /// [`ErrorCode::InvalidSignature`] when a line by a trusted key does not
    /// verify (the whole note is refused, as C2SP signed-note advises).
    pub fn verify_log_signature(&self, trusted: &[PublicKey]) -> Result<PublicKey> {
        let jobs = self.log_signature_jobs(trusted)?;
        for job in &jobs {
            job.run().map_err(|_| BAD_LOG_SIGNATURE)?;
        }
        jobs.last().map(|j| j.key).ok_or(NOT_TRUSTED)
    }

    /// The checks [`Self::verify_log_signature`] runs, as jobs (for a
    /// provider that checks them elsewhere, WebCrypto in the browser): one
    /// per line by a key of `trusted`; every one must verify.
    ///
    /// # Errors
    /// [`ErrorCode::UntrustedAuthor`] when no line is by a trusted key;
    /// [`ErrorCode::InvalidSignature`] for a line of the wrong length.
    pub fn log_signature_jobs(&self, trusted: &[PublicKey]) -> Result<Vec<sign::VerifyJob>> {
        let text = self.body.text();
        let mut jobs = Vec::new();
        for s in self.signatures.iter().filter(|s| s.name == self.body.origin) {
            for k in trusted {
                if key_id(&s.name, LOG_SIGNATURE_TYPE, k) == s.key_id {
                    let signature = s.signature.as_slice().try_into().map_err(|_| BAD_LOG_SIGNATURE)?;
                    jobs.push(sign::VerifyJob { key: *k, message: text.as_bytes().to_vec(), signature });
                }
            }
        }
        if jobs.is_empty() {
            return Err(NOT_TRUSTED);
        }
        Ok(jobs)
    }

    /// The distinct `witnesses` whose cosignature verifies, with its time
    /// (seconds). Lines by other keys are ignored.
    ///
    /// # Errors
    /// [`ErrorCode::InvalidSignature`] when a line by a given witness key does not verify.
    pub fn verify_cosignatures(&self, witnesses: &[PublicKey]) -> Result<Vec<(PublicKey, u64)>> {
        let mut found: Vec<(PublicKey, u64)> = Vec::new();
        for s in &self.signatures {
            for w in witnesses {
                if key_id(&s.name, COSIGNATURE_TYPE, w) != s.key_id {
                    continue;
                }
                let bad = Error::new(ErrorCode::InvalidSignature, "cosignature does not verify");
                let (time, sig) = s.signature.split_at_checked(8).ok_or(bad)?;
                let time = u64::from_be_bytes(<[u8; 8]>::try_from(time).map_err(|_| bad)?);
                if time > i64::MAX as u64 || sig.len() != SIGNATURE_LEN {
                    return Err(bad);
                }
                sign::verify_p1363(w, self.body.cosigned_message(time).as_bytes(), sig).map_err(|_| bad)?;
                if !found.iter().any(|(k, _)| k == w) {
                    found.push((*w, time));
                }
            }
        }
        Ok(found)
    }
}

/// A witness's cosignature of `body` at `time_s` (POSIX seconds): the
/// signature line (with its newline) to append to the note.
///
/// # Errors
/// [`ErrorCode::InvalidArgument`] for a bad name or a time above 2^63 − 1.
pub fn cosign(body: &CheckpointBody, name: &str, key: &SigningKey, time_s: u64) -> Result<String> {
    if !valid_name(name) || time_s > i64::MAX as u64 {
        return Err(Error::invalid_argument("witness name or time out of range"));
    }
    let sig = key.sign(body.cosigned_message(time_s).as_bytes())?;
    let mut signature = time_s.to_be_bytes().to_vec();
    signature.extend_from_slice(&sig);
    let key_id = key_id(name, COSIGNATURE_TYPE, &key.verifying_key());
    Ok(NoteSignature { name: name.to_owned(), key_id, signature }.line())
}
