//! Tamper-evident audit log (docs/FORMAT.md §6): a SHA-384 hash chain of
//! entries with ECDSA P-384 signed checkpoints, exported as JSON Lines.
//!
//! Each entry's hash covers a fixed binary encoding of all its fields and
//! the previous entry's hash; the chain starts from a genesis hash bound to
//! the log id. A checkpoint signs (log id, sequence, head hash, time).
//! [`verify_log`] pinpoints the first bad line for modification, insertion,
//! deletion, reordering and replay, and reports how many entries follow the
//! last signed checkpoint (those are not protected against truncation).
//!
//! ```
//! use phiseal::audit::{AuditLog, Entry, verify_log};
//! use phiseal::sign::SigningKey;
//! let key = SigningKey::generate()?;
//! let mut log = AuditLog::new("session-1")?;
//! log.append(Entry::new("dr-lee", "clinician", "view", 1_700_000_000_000).patient("p-17"))?;
//! log.checkpoint(&key, 1_700_000_000_500)?;
//! let report = verify_log(&log.to_jsonl(), &[key.verifying_key()]);
//! assert!(report.valid);
//! # Ok::<(), phiseal::Error>(())
//! ```

use sha2::{Digest as _, Sha384};
use subtle::ConstantTimeEq as _;

use crate::error::{Error, ErrorCode, Result};
use crate::field::{Schema, codec_b64 as b64, codec_unb64 as unb64};
use crate::json::Value;
use crate::keys::PublicKey;
use crate::sign::{self, SigningKey};

/// Hash length (SHA-384).
pub const HASH_LEN: usize = 48;
const ENTRY_LABEL: &[u8] = b"phiseal-audit-entry-v1";
const GENESIS_LABEL: &[u8] = b"phiseal-audit-genesis-v1";
const CHECKPOINT_LABEL: &[u8] = b"phiseal-audit-checkpoint-v1";

/// Who acted.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Actor {
    /// User id.
    pub id: String,
    /// Role (e.g. `clinician`, `billing`, `admin`).
    pub role: String,
}

/// Client information.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Client {
    /// IP address, if known.
    pub ip: Option<String>,
    /// Device fingerprint.
    pub device: Option<String>,
}

/// One audit entry. `seq`, `log`, `prev_hash` and `hash` are set by
/// [`AuditLog::append`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Log (chain) id.
    pub log: String,
    /// Sequence number, from 1.
    pub seq: u64,
    /// Time, Unix milliseconds.
    pub time: u64,
    /// Who acted.
    pub actor: Actor,
    /// The patient concerned.
    pub patient_id: Option<String>,
    /// What happened: view, create, update, delete, export, decrypt,
    /// capture-attempt, watermark-tamper, break-glass, key-rotate, …
    pub action: String,
    /// The resource (e.g. a record id).
    pub resource: Option<String>,
    /// The field path concerned (never its value).
    pub field_path: Option<String>,
    /// `success`, `failure` or `denied`.
    pub outcome: String,
    /// Client information.
    pub client: Client,
    /// Why (required for break-glass).
    pub reason: Option<String>,
    /// Hash of the previous entry (base64url).
    pub prev_hash: String,
    /// This entry's hash (base64url).
    pub hash: String,
}

fn default_outcome() -> String {
    "success".to_owned()
}

impl Entry {
    /// A new entry (outcome `success`).
    #[must_use]
    pub fn new(actor_id: &str, role: &str, action: &str, time_ms: u64) -> Self {
        Self {
            log: String::new(),
            seq: 0,
            time: time_ms,
            actor: Actor { id: actor_id.to_owned(), role: role.to_owned() },
            patient_id: None,
            action: action.to_owned(),
            resource: None,
            field_path: None,
            outcome: default_outcome(),
            client: Client::default(),
            reason: None,
            prev_hash: String::new(),
            hash: String::new(),
        }
    }

    /// Sets the patient id.
    #[must_use]
    pub fn patient(mut self, id: &str) -> Self {
        self.patient_id = Some(id.to_owned());
        self
    }

    /// The canonical bytes the hash covers (docs/FORMAT.md §6.1).
    fn canonical(&self, prev: &[u8; HASH_LEN]) -> Result<Vec<u8>> {
        fn s16(out: &mut Vec<u8>, s: &str) -> Result<()> {
            let len =
                u16::try_from(s.len()).map_err(|_| Error::invalid_argument("audit field longer than 65535 bytes"))?;
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(s.as_bytes());
            Ok(())
        }
        fn opt(out: &mut Vec<u8>, s: Option<&String>) -> Result<()> {
            match s {
                None => {
                    out.push(0);
                    Ok(())
                }
                Some(s) => {
                    out.push(1);
                    s16(out, s)
                }
            }
        }
        let mut out = Vec::with_capacity(256);
        out.push(u8::try_from(ENTRY_LABEL.len()).unwrap_or(0));
        out.extend_from_slice(ENTRY_LABEL);
        s16(&mut out, &self.log)?;
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend_from_slice(&self.time.to_be_bytes());
        s16(&mut out, &self.actor.id)?;
        s16(&mut out, &self.actor.role)?;
        opt(&mut out, self.patient_id.as_ref())?;
        s16(&mut out, &self.action)?;
        opt(&mut out, self.resource.as_ref())?;
        opt(&mut out, self.field_path.as_ref())?;
        s16(&mut out, &self.outcome)?;
        opt(&mut out, self.client.ip.as_ref())?;
        opt(&mut out, self.client.device.as_ref())?;
        opt(&mut out, self.reason.as_ref())?;
        out.extend_from_slice(prev);
        Ok(out)
    }

    fn compute_hash(&self, prev: &[u8; HASH_LEN]) -> Result<[u8; HASH_LEN]> {
        Ok(Sha384::digest(self.canonical(prev)?).into())
    }

    fn text_fields(&self) -> impl Iterator<Item = &str> {
        [
            Some(&self.actor.id),
            Some(&self.actor.role),
            self.patient_id.as_ref(),
            Some(&self.action),
            self.resource.as_ref(),
        ]
        .into_iter()
        .chain([self.field_path.as_ref(), self.client.ip.as_ref(), self.client.device.as_ref(), self.reason.as_ref()])
        .flatten()
        .map(String::as_str)
    }
}

/// A signed checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// Log id.
    pub log: String,
    /// Sequence number of the last entry covered.
    pub seq: u64,
    /// Hash of that entry (base64url).
    pub head: String,
    /// Time, Unix milliseconds.
    pub time: u64,
    /// RFC 7638 kid of the signing key.
    pub kid: String,
    /// ECDSA P-384 / SHA-384 signature, P1363 (base64url).
    pub sig: String,
}

impl Checkpoint {
    fn message(log: &str, seq: u64, head: &[u8; HASH_LEN], time: u64) -> Result<Vec<u8>> {
        let mut m = Vec::with_capacity(128);
        m.push(u8::try_from(CHECKPOINT_LABEL.len()).unwrap_or(0));
        m.extend_from_slice(CHECKPOINT_LABEL);
        let len = u16::try_from(log.len()).map_err(|_| Error::invalid_argument("log id too long"))?;
        m.extend_from_slice(&len.to_be_bytes());
        m.extend_from_slice(log.as_bytes());
        m.extend_from_slice(&seq.to_be_bytes());
        m.extend_from_slice(head);
        m.extend_from_slice(&time.to_be_bytes());
        Ok(m)
    }
}

/// One line of an exported log.
#[derive(Clone, Debug, PartialEq, Eq)]
// Lines are handled one at a time, never stored in bulk as `Line`s by callers
// that would care about the variant size.
#[allow(clippy::large_enum_variant)]
pub enum Line {
    /// An entry.
    Entry(Entry),
    /// A checkpoint.
    Checkpoint(Checkpoint),
}

/// The genesis "previous hash" of a log: SHA-384(label ‖ log id).
fn genesis(log: &str) -> [u8; HASH_LEN] {
    let mut h = Sha384::new();
    h.update(GENESIS_LABEL);
    h.update(log.as_bytes());
    h.finalize().into()
}

/// Whether `text` is the base64url of `expected`, compared in constant time
/// (chain links and checkpoint heads are hashes: never compared with `==`).
fn hash_is(text: &str, expected: &[u8; HASH_LEN]) -> bool {
    hash_from(text).is_some_and(|h| bool::from(h[..].ct_eq(&expected[..])))
}

fn hash_from(s: &str) -> Option<[u8; HASH_LEN]> {
    unb64(s).ok().and_then(|v| <[u8; HASH_LEN]>::try_from(v.as_slice()).ok())
}

/// An append-only audit log (one chain).
#[derive(Clone, Debug)]
pub struct AuditLog {
    id: String,
    lines: Vec<Line>,
    head: [u8; HASH_LEN],
    seq: u64,
}

impl AuditLog {
    /// A new, empty log. The id names the chain (one per tab or session).
    ///
    /// # Errors
    /// [`ErrorCode::InvalidArgument`] for an empty id or one over 255 bytes.
    pub fn new(id: &str) -> Result<Self> {
        if id.is_empty() || id.len() > 255 {
            return Err(Error::invalid_argument("log id must be 1 to 255 bytes"));
        }
        Ok(Self { id: id.to_owned(), lines: Vec::new(), head: genesis(id), seq: 0 })
    }

    /// Continues a log from its last entry (e.g. after a page reload).
    ///
    /// # Errors
    /// [`ErrorCode::MalformedInput`] for a bad hash.
    pub fn resume(id: &str, seq: u64, head: &str) -> Result<Self> {
        let mut log = Self::new(id)?;
        if seq > 0 {
            log.head = hash_from(head).ok_or(Error::malformed("bad head hash"))?;
            log.seq = seq;
        }
        Ok(log)
    }

    /// Appends an entry, setting `log`, `seq`, `prevHash`, `hash`.
    ///
    /// # Errors
    /// [`ErrorCode::InvalidArgument`] for an empty action or actor, or an
    /// oversize field; [`ErrorCode::Misuse`] if the sequence is exhausted.
    pub fn append(&mut self, mut entry: Entry) -> Result<Entry> {
        if entry.action.is_empty() || entry.actor.id.is_empty() {
            return Err(Error::invalid_argument("an audit entry needs an action and an actor id"));
        }
        if entry.action == "break-glass" && entry.reason.as_deref().is_none_or(str::is_empty) {
            return Err(Error::invalid_argument("a break-glass entry needs a reason"));
        }
        entry.log.clone_from(&self.id);
        entry.seq = self.seq.checked_add(1).ok_or(Error::misuse("audit sequence exhausted"))?;
        entry.prev_hash = b64(&self.head);
        let hash = entry.compute_hash(&self.head)?;
        entry.hash = b64(&hash);
        self.head = hash;
        self.seq = entry.seq;
        self.lines.push(Line::Entry(entry.clone()));
        Ok(entry)
    }

    /// Appends an entry after refusing it if any of its text fields contains
    /// a PHI value of `record` (as named by `schema`): audit entries carry
    /// paths, never values.
    ///
    /// # Errors
    /// [`ErrorCode::InvalidArgument`] naming the PHI path found; as [`AuditLog::append`].
    pub fn append_checked(&mut self, entry: Entry, record: &crate::json::Value, schema: &Schema) -> Result<Entry> {
        let values = crate::field::phi_strings(record, schema)?;
        for text in entry.text_fields() {
            if values.iter().any(|v| v.chars().count() >= 4 && text.contains(v.as_str())) {
                return Err(Error::invalid_argument(
                    "the audit entry contains a PHI value; log the field path, not the value",
                ));
            }
        }
        self.append(entry)
    }

    /// Signs a checkpoint over the current head.
    ///
    /// # Errors
    /// [`ErrorCode::Misuse`] on an empty log.
    pub fn checkpoint(&mut self, key: &SigningKey, time_ms: u64) -> Result<Checkpoint> {
        if self.seq == 0 {
            return Err(Error::misuse("nothing to checkpoint"));
        }
        let sig = key.sign(&Checkpoint::message(&self.id, self.seq, &self.head, time_ms)?)?;
        let cp = Checkpoint {
            log: self.id.clone(),
            seq: self.seq,
            head: b64(&self.head),
            time: time_ms,
            kid: key.verifying_key().kid(),
            sig: b64(&sig),
        };
        self.lines.push(Line::Checkpoint(cp.clone()));
        Ok(cp)
    }

    /// The lines so far.
    #[must_use]
    pub fn lines(&self) -> &[Line] {
        &self.lines
    }

    /// Sequence number of the last entry.
    #[must_use]
    pub const fn seq(&self) -> u64 {
        self.seq
    }

    /// Head hash (base64url).
    #[must_use]
    pub fn head(&self) -> String {
        b64(&self.head)
    }

    /// Exports as JSON Lines (one entry or checkpoint per line).
    #[must_use]
    pub fn to_jsonl(&self) -> String {
        let mut out = String::new();
        for line in &self.lines {
            line.write(&mut out);
            out.push('\n');
        }
        out
    }
}

/// The first problem found by [`verify_log`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line number in the JSON Lines input.
    pub line: usize,
    /// The entry's sequence number, when known.
    pub seq: Option<u64>,
    /// What is wrong.
    pub reason: String,
}

/// The result of [`verify_log`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// No problem found and at least one entry.
    pub valid: bool,
    /// Entries verified before the first problem.
    pub entries: u64,
    /// Checkpoints verified.
    pub checkpoints: u64,
    /// Sequence number covered by the last valid checkpoint (0: none).
    pub last_checkpoint_seq: u64,
    /// Entries after the last checkpoint: not protected against truncation.
    pub unsigned_tail: u64,
    /// The first problem.
    pub problem: Option<Problem>,
}

/// Streaming verification: feed lines in order with [`Verifier::push_line`];
/// it stops at the first problem. Cloning a verifier snapshots the chain
/// state (used to check very large logs incrementally).
#[derive(Clone, Debug)]
pub struct Verifier {
    trusted: Vec<PublicKey>,
    report: Report,
    log_id: Option<String>,
    head: [u8; HASH_LEN],
    seq: u64,
    /// Entry hashes by sequence number (index = seq - 1).
    hashes: Vec<[u8; HASH_LEN]>,
    line: usize,
}

impl Verifier {
    /// A verifier trusting these checkpoint keys.
    #[must_use]
    pub fn new(trusted: &[PublicKey]) -> Self {
        Self {
            trusted: trusted.to_vec(),
            report: Report {
                valid: false,
                entries: 0,
                checkpoints: 0,
                last_checkpoint_seq: 0,
                unsigned_tail: 0,
                problem: None,
            },
            log_id: None,
            head: [0u8; HASH_LEN],
            seq: 0,
            hashes: Vec::new(),
            line: 0,
        }
    }

    /// Verifies the next line (blank lines are skipped).
    ///
    /// # Errors
    /// The first [`Problem`]; every later call returns it again.
    pub fn push_line(&mut self, text: &str) -> core::result::Result<(), Problem> {
        if let Some(p) = &self.report.problem {
            return Err(p.clone());
        }
        self.line += 1;
        if text.trim().is_empty() {
            return Ok(());
        }
        let result = match Line::from_json(text) {
            Ok(Line::Entry(e)) => self.entry(&e),
            Ok(Line::Checkpoint(c)) => self.checkpoint(&c),
            Err(_) => Err((None, "not a valid audit line")),
        };
        result.map_err(|(seq, reason)| {
            let p = Problem { line: self.line, seq, reason: reason.to_owned() };
            self.report.problem = Some(p.clone());
            p
        })
    }

    fn entry(&mut self, e: &Entry) -> core::result::Result<(), (Option<u64>, &'static str)> {
        let id = self.log_id.get_or_insert_with(|| e.log.clone()).clone();
        if self.seq == 0 {
            self.head = genesis(&id);
        }
        if e.log != id {
            return Err((Some(e.seq), "entry from another log (replayed or spliced)"));
        }
        if e.seq != self.seq + 1 {
            let why = if e.seq <= self.seq {
                "sequence goes back (reordered or replayed)"
            } else {
                "sequence gap (entry deleted)"
            };
            return Err((Some(e.seq), why));
        }
        if !hash_is(&e.prev_hash, &self.head) {
            return Err((Some(e.seq), "previous-hash link broken (entry inserted, deleted or reordered)"));
        }
        match e.compute_hash(&self.head) {
            Ok(h) if hash_is(&e.hash, &h) => {
                self.head = h;
                self.seq = e.seq;
                self.hashes.push(h);
                self.report.entries += 1;
                Ok(())
            }
            _ => Err((Some(e.seq), "entry hash does not match its content (modified)")),
        }
    }

    fn checkpoint(&mut self, c: &Checkpoint) -> core::result::Result<(), (Option<u64>, &'static str)> {
        let key = self.trusted.iter().find(|k| k.kid() == c.kid);
        let covered = usize::try_from(c.seq).ok().and_then(|s| s.checked_sub(1)).and_then(|i| self.hashes.get(i));
        let ok = key.is_some_and(|k| {
            let head = hash_from(&c.head);
            let msg = head.and_then(|h| Checkpoint::message(&c.log, c.seq, &h, c.time).ok());
            let sig = unb64(&c.sig).ok();
            covered.is_some_and(|h| hash_is(&c.head, h))
                && self.log_id.as_deref() == Some(c.log.as_str())
                && matches!((msg, sig), (Some(m), Some(s)) if sign::verify_p1363(k, &m, &s).is_ok())
        });
        if !ok {
            let reason = if key.is_none() {
                "checkpoint signed by an untrusted key"
            } else if c.seq > self.seq {
                "checkpoint covers entries that are missing (log truncated)"
            } else {
                "checkpoint does not verify"
            };
            return Err((Some(c.seq), reason));
        }
        self.report.checkpoints += 1;
        self.report.last_checkpoint_seq = self.report.last_checkpoint_seq.max(c.seq);
        Ok(())
    }

    /// The report for the lines pushed so far. With trusted keys, a log
    /// needs at least one valid checkpoint to be `valid`: the chain itself
    /// has no key, so without a checkpoint anyone could have rewritten it.
    /// Entries after the last checkpoint are counted in `unsigned_tail`.
    #[must_use]
    pub fn finish(mut self) -> Report {
        if self.report.problem.is_none() {
            self.report.unsigned_tail = self.seq - self.report.last_checkpoint_seq;
            let problem = if self.report.entries == 0 {
                Some("empty log")
            } else if !self.trusted.is_empty() && self.report.checkpoints == 0 {
                Some("no signed checkpoint: the log is not authenticated")
            } else {
                None
            };
            match problem {
                Some(reason) => {
                    self.report.problem = Some(Problem { line: self.line, seq: None, reason: reason.to_owned() });
                }
                None => self.report.valid = true,
            }
        }
        self.report
    }
}

/// Verifies a JSON Lines log against trusted checkpoint keys.
#[must_use]
pub fn verify_log(jsonl: &str, trusted: &[PublicKey]) -> Report {
    let mut v = Verifier::new(trusted);
    for line in jsonl.lines() {
        if v.push_line(line).is_err() {
            break;
        }
    }
    v.finish()
}

/// Parses a checkpoint-signing public key from a JWK or SPKI PEM.
///
/// # Errors
/// [`ErrorCode::InvalidKey`] as the key parsers.
pub fn trusted_key(text: &str) -> Result<PublicKey> {
    if text.trim_start().starts_with('{') {
        PublicKey::from_jwk(&crate::keys::Jwk::from_json(text)?)
    } else {
        PublicKey::from_spki_pem(text)
    }
}

const _: ErrorCode = ErrorCode::InvalidArgument;

// JSON forms (docs/FORMAT.md §7). Member names are camelCase; optional
// members are omitted when absent (and read `null` as absent); unknown
// members are an error, so a line cannot carry unhashed data.

type Obj = crate::json::Map;

const BAD_LINE: Error = Error::malformed("not a valid audit line");

/// A string member; absent is `None`, `null` is an error (only the optional
/// members read with [`take_opt_str`] may be `null`).
fn take_str(obj: &mut Obj, name: &str) -> Result<Option<String>> {
    match obj.remove(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(BAD_LINE),
    }
}

/// An optional string member (`patientId`, `resource`, `fieldPath`,
/// `reason`, `ip`, `device`): absent or `null` is `None`.
fn take_opt_str(obj: &mut Obj, name: &str) -> Result<Option<String>> {
    match obj.remove(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(BAD_LINE),
    }
}

fn take_u64(obj: &mut Obj, name: &str) -> Result<Option<u64>> {
    obj.remove(name).map(|v| v.as_u64().ok_or(BAD_LINE)).transpose()
}

fn take_obj(obj: &mut Obj, name: &str) -> Result<Option<Obj>> {
    match obj.remove(name) {
        None => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(_) => Err(BAD_LINE),
    }
}

fn done<T>(obj: &Obj, value: T) -> Result<T> {
    if obj.is_empty() { Ok(value) } else { Err(Error::malformed("unknown member in audit line")) }
}

fn put(obj: &mut Obj, name: &str, value: impl Into<Value>) {
    obj.insert(name.to_owned(), value.into());
}

fn put_opt(obj: &mut Obj, name: &str, value: Option<&String>) {
    if let Some(v) = value {
        put(obj, name, v.as_str());
    }
}

impl Entry {
    fn from_obj(mut o: Obj) -> Result<Self> {
        let mut actor = take_obj(&mut o, "actor")?.ok_or(BAD_LINE)?;
        let id = take_str(&mut actor, "id")?.ok_or(BAD_LINE)?;
        let role = take_str(&mut actor, "role")?.ok_or(BAD_LINE)?;
        let actor = done(&actor, Actor { id, role })?;
        let client = match take_obj(&mut o, "client")? {
            None => Client::default(),
            Some(mut c) => {
                let client = Client { ip: take_opt_str(&mut c, "ip")?, device: take_opt_str(&mut c, "device")? };
                done(&c, client)?
            }
        };
        let entry = Self {
            log: take_str(&mut o, "log")?.unwrap_or_default(),
            seq: take_u64(&mut o, "seq")?.unwrap_or_default(),
            time: take_u64(&mut o, "time")?.ok_or(BAD_LINE)?,
            actor,
            patient_id: take_opt_str(&mut o, "patientId")?,
            action: take_str(&mut o, "action")?.ok_or(BAD_LINE)?,
            resource: take_opt_str(&mut o, "resource")?,
            field_path: take_opt_str(&mut o, "fieldPath")?,
            outcome: take_str(&mut o, "outcome")?.unwrap_or_else(default_outcome),
            client,
            reason: take_opt_str(&mut o, "reason")?,
            prev_hash: take_str(&mut o, "prevHash")?.unwrap_or_default(),
            hash: take_str(&mut o, "hash")?.unwrap_or_default(),
        };
        done(&o, entry)
    }

    /// Parses an entry from JSON text (the members of an entry line, without
    /// `type`).
    ///
    /// # Errors
    /// [`ErrorCode::MalformedInput`] if it
    /// is not JSON, lacks `time`, `actor` or `action`, has a member of the
    /// wrong type, or has an unknown member.
    pub fn from_json(text: &str) -> Result<Self> {
        match Value::parse(text)? {
            Value::Object(o) => Self::from_obj(o),
            _ => Err(BAD_LINE),
        }
    }

    fn to_obj(&self, o: &mut Obj) {
        put(o, "log", self.log.as_str());
        put(o, "seq", self.seq);
        put(o, "time", self.time);
        let mut actor = Obj::new();
        put(&mut actor, "id", self.actor.id.as_str());
        put(&mut actor, "role", self.actor.role.as_str());
        put(o, "actor", actor);
        put_opt(o, "patientId", self.patient_id.as_ref());
        put(o, "action", self.action.as_str());
        put_opt(o, "resource", self.resource.as_ref());
        put_opt(o, "fieldPath", self.field_path.as_ref());
        put(o, "outcome", self.outcome.as_str());
        let mut client = Obj::new();
        put_opt(&mut client, "ip", self.client.ip.as_ref());
        put_opt(&mut client, "device", self.client.device.as_ref());
        put(o, "client", client);
        put_opt(o, "reason", self.reason.as_ref());
        put(o, "prevHash", self.prev_hash.as_str());
        put(o, "hash", self.hash.as_str());
    }
}

impl Checkpoint {
    fn from_obj(mut o: Obj) -> Result<Self> {
        let c = Self {
            log: take_str(&mut o, "log")?.ok_or(BAD_LINE)?,
            seq: take_u64(&mut o, "seq")?.ok_or(BAD_LINE)?,
            head: take_str(&mut o, "head")?.ok_or(BAD_LINE)?,
            time: take_u64(&mut o, "time")?.ok_or(BAD_LINE)?,
            kid: take_str(&mut o, "kid")?.ok_or(BAD_LINE)?,
            sig: take_str(&mut o, "sig")?.ok_or(BAD_LINE)?,
        };
        done(&o, c)
    }
}

impl Line {
    /// Parses one JSON line (`type` is `entry` or `checkpoint`).
    ///
    /// # Errors
    /// [`ErrorCode::MalformedInput`] as
    /// [`Entry::from_json`], or for a missing or unknown `type`.
    pub fn from_json(text: &str) -> Result<Self> {
        let Value::Object(mut o) = Value::parse(text)? else { return Err(BAD_LINE) };
        match take_str(&mut o, "type")?.as_deref() {
            Some("entry") => {
                // A stored line carries every member the writer fills in (an
                // entry handed to `append` may leave them out; a log line may not):
                // so no two texts of one line verify.
                if ["log", "seq", "outcome", "client", "prevHash", "hash"].iter().any(|m| !o.contains_key(m)) {
                    return Err(BAD_LINE);
                }
                Entry::from_obj(o).map(Self::Entry)
            }
            Some("checkpoint") => Checkpoint::from_obj(o).map(Self::Checkpoint),
            _ => Err(BAD_LINE),
        }
    }

    /// Appends the line's compact JSON (no newline) to `out`.
    pub fn write(&self, out: &mut String) {
        let mut o = Obj::new();
        match self {
            Self::Entry(e) => {
                put(&mut o, "type", "entry");
                e.to_obj(&mut o);
            }
            Self::Checkpoint(c) => {
                put(&mut o, "type", "checkpoint");
                put(&mut o, "log", c.log.as_str());
                put(&mut o, "seq", c.seq);
                put(&mut o, "head", c.head.as_str());
                put(&mut o, "time", c.time);
                put(&mut o, "kid", c.kid.as_str());
                put(&mut o, "sig", c.sig.as_str());
            }
        }
        Value::Object(o).write(out);
    }

    /// The line's compact JSON.
    #[must_use]
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }
}

impl Report {
    /// The report as JSON: `{valid, entries, checkpoints, lastCheckpointSeq,
    /// unsignedTail, problem: null | {line, seq, reason}}`.
    #[must_use]
    pub fn to_json(&self) -> String {
        let mut o = Obj::new();
        put(&mut o, "valid", self.valid);
        put(&mut o, "entries", self.entries);
        put(&mut o, "checkpoints", self.checkpoints);
        put(&mut o, "lastCheckpointSeq", self.last_checkpoint_seq);
        put(&mut o, "unsignedTail", self.unsigned_tail);
        let problem = self.problem.as_ref().map(|p| {
            let mut po = Obj::new();
            put(&mut po, "line", p.line);
            put(&mut po, "seq", p.seq);
            put(&mut po, "reason", p.reason.as_str());
            Value::Object(po)
        });
        put(&mut o, "problem", problem);
        Value::Object(o).to_json()
    }
}
