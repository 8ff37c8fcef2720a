//! Tamper-evident audit log (docs/FORMAT.md §6): a SHA-384 hash chain of
//! entries, an RFC 9162 Merkle tree (SHA-256) over the same entries, and
//! checkpoints as C2SP signed notes (tlog-checkpoint body, ECDSA P-384 log
//! signature, witness cosignatures), exported as JSON Lines.
//!
//! Each entry's hash covers a fixed binary encoding of all its fields and
//! the previous entry's hash; the chain starts from a genesis hash bound to
//! the log id; the same encoding is the entry's Merkle leaf. A checkpoint
//! signs (log id, tree size, root hash, time). [`verify_log`] pinpoints the
//! first bad line for modification, insertion, deletion, reordering and
//! replay, and reports how many entries follow the last signed checkpoint.
//! [`verify_log_with`] also takes the checkpoint the verifier kept from an
//! earlier run (`since`: a shorter or forked log is refused) and the
//! witnesses whose cosignatures it requires ([`Witness`]).
//!
//! ```
//! use phiseal::audit::{AuditLog, Entry, VerifyOptions, verify_log, verify_log_with};
//! use phiseal::sign::SigningKey;
//! let key = SigningKey::generate()?;
//! let mut log = AuditLog::new("session-1")?;
//! log.append(Entry::new("dr-lee", "clinician", "view", 1_700_000_000_000).patient("p-17"))?;
//! let kept = log.checkpoint(&key, 1_700_000_000_500)?.to_text();
//! let report = verify_log(&log.to_jsonl(), &[key.verifying_key()]);
//! assert!(report.valid);
//! log.append(Entry::new("dr-lee", "clinician", "export", 1_700_000_001_000))?;
//! log.checkpoint(&key, 1_700_000_001_500)?;
//! let opts = VerifyOptions { trusted: vec![key.verifying_key()], since: Some(kept), ..VerifyOptions::default() };
//! assert!(verify_log_with(&log.to_jsonl(), &opts)?.valid);
//! # Ok::<(), phiseal::Error>(())
//! ```

pub mod alerts;
pub mod fhir;
pub mod merkle;
pub mod note;
pub mod witness;

pub use alerts::{Alert, AlertKind, AlertRules, access_alerts};
pub use merkle::{Frontier, MerkleTree, TreeHash, verify_consistency, verify_inclusion};
pub use note::{CheckpointBody, CheckpointNote};
pub use witness::Witness;

use base64ct::Encoding as _;
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

    /// The chain hash `SHA-384(C)` and the Merkle leaf hash
    /// `SHA-256(0x00 ‖ C)` of this entry after `prev`.
    fn hashes(&self, prev: &[u8; HASH_LEN]) -> Result<([u8; HASH_LEN], TreeHash)> {
        let c = self.canonical(prev)?;
        Ok((Sha384::digest(&c).into(), merkle::leaf_hash(&c)))
    }

    /// This entry's Merkle leaf hash (docs/FORMAT.md §6.3), computed from its
    /// members and its `prevHash` (not from `hash`).
    ///
    /// # Errors
    /// [`ErrorCode::MalformedInput`] for a bad `prevHash`; [`ErrorCode::InvalidArgument`]
    /// for an oversize member.
    pub fn leaf_hash(&self) -> Result<TreeHash> {
        let prev = hash_from(&self.prev_hash).ok_or(Error::malformed("bad prevHash"))?;
        Ok(merkle::leaf_hash(&self.canonical(&prev)?))
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

/// A version 1 checkpoint line (read and verified; phiseal no longer writes
/// them: [`AuditLog::checkpoint`] writes a [`CheckpointNote`]).
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
    /// A version 1 checkpoint (`log`, `seq`, `head`, `time`, `kid`, `sig`).
    Checkpoint(Checkpoint),
    /// A checkpoint note (`{"type":"checkpoint","note":…}`).
    Note(CheckpointNote),
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

/// An append-only audit log (one chain, one tree).
#[derive(Clone, Debug)]
pub struct AuditLog {
    id: String,
    lines: Vec<Line>,
    head: [u8; HASH_LEN],
    seq: u64,
    /// The tree's right edge; `None` after [`AuditLog::resume`] without it.
    tree: Option<Frontier>,
}

impl AuditLog {
    /// A new, empty log. The id names the chain (one per tab or session);
    /// to be checkpointed it must also be a valid note origin (no spaces,
    /// `+` or control characters).
    ///
    /// # Errors
    /// [`ErrorCode::InvalidArgument`] for an empty id or one over 255 bytes.
    pub fn new(id: &str) -> Result<Self> {
        if id.is_empty() || id.len() > 255 {
            return Err(Error::invalid_argument("log id must be 1 to 255 bytes"));
        }
        Ok(Self { id: id.to_owned(), lines: Vec::new(), head: genesis(id), seq: 0, tree: Some(Frontier::new()) })
    }

    /// Continues a chain from its last entry without its tree state: entries
    /// can be appended, but [`AuditLog::checkpoint`] refuses (use
    /// [`AuditLog::resume_with_tree`]).
    ///
    /// # Errors
    /// [`ErrorCode::MalformedInput`] for a bad hash.
    pub fn resume(id: &str, seq: u64, head: &str) -> Result<Self> {
        let mut log = Self::new(id)?;
        if seq > 0 {
            log.head = hash_from(head).ok_or(Error::malformed("bad head hash"))?;
            log.seq = seq;
            log.tree = None;
        }
        Ok(log)
    }

    /// Continues a log from its last entry and its tree state (what
    /// [`AuditLog::tree_state`] returned), e.g. after a page reload.
    ///
    /// # Errors
    /// [`ErrorCode::MalformedInput`] for a bad hash or tree state.
    pub fn resume_with_tree(id: &str, seq: u64, head: &str, tree: &str) -> Result<Self> {
        let mut log = Self::resume(id, seq, head)?;
        let bytes = unb64(tree)?;
        let nodes: Vec<TreeHash> = bytes
            .chunks(merkle::TREE_HASH_LEN)
            .map(|c| <TreeHash>::try_from(c).map_err(|_| Error::malformed("bad tree state")))
            .collect::<Result<_>>()?;
        log.tree = Some(Frontier::from_parts(seq, nodes).map_err(|_| Error::malformed("bad tree state"))?);
        Ok(log)
    }

    /// The tree state to keep with `seq` and `head` for
    /// [`AuditLog::resume_with_tree`]: base64url of the frontier hashes
    /// (32 bytes per set bit of `seq`); `None` if unknown.
    #[must_use]
    pub fn tree_state(&self) -> Option<String> {
        self.tree.as_ref().map(|t| b64(&t.nodes().concat()))
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
        let (hash, leaf) = entry.hashes(&self.head)?;
        if let Some(t) = &mut self.tree {
            t.push(leaf)?;
        }
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

    /// Signs a checkpoint of the whole tree (docs/FORMAT.md §6.4) and adds
    /// its line.
    ///
    /// # Errors
    /// [`ErrorCode::Misuse`] on an empty log or one resumed without its tree
    /// state; [`ErrorCode::InvalidArgument`] for a log id that cannot be a
    /// note origin.
    pub fn checkpoint(&mut self, key: &SigningKey, time_ms: u64) -> Result<CheckpointNote> {
        let note = CheckpointNote::sign(self.checkpoint_body(time_ms)?, key)?;
        self.lines.push(Line::Note(note.clone()));
        Ok(note)
    }

    /// The body a checkpoint of the log now would sign (for a key held
    /// elsewhere: sign [`CheckpointBody::text`], then [`Self::add_checkpoint`]).
    ///
    /// # Errors
    /// As [`Self::checkpoint`].
    pub fn checkpoint_body(&self, time_ms: u64) -> Result<CheckpointBody> {
        if self.seq == 0 {
            return Err(Error::misuse("nothing to checkpoint"));
        }
        let tree = self.tree.as_ref().ok_or(Error::misuse("log resumed without its tree state"))?;
        let body = CheckpointBody { origin: self.id.clone(), size: tree.size(), root: tree.root(), time: time_ms };
        CheckpointNote::check_origin(&body)?;
        Ok(body)
    }

    /// Adds a checkpoint signed elsewhere: it must be of this log's tree as
    /// it is now ([`ErrorCode::Misuse`] otherwise: an entry was appended
    /// since its body was taken).
    ///
    /// # Errors
    /// As listed.
    pub fn add_checkpoint(&mut self, note: CheckpointNote) -> Result<()> {
        if self.checkpoint_body(note.body.time)? != note.body {
            return Err(Error::misuse("this checkpoint is not of the log's current tree"));
        }
        self.lines.push(Line::Note(note));
        Ok(())
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

    /// Root hash of the tree of every entry, if the tree state is known.
    #[must_use]
    pub fn root(&self) -> Option<TreeHash> {
        self.tree.as_ref().map(Frontier::root)
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

/// What kind of problem [`verify_log`] found: a stable code for programs
/// (the `reason` text is for people).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProblemCode {
    /// Not a valid audit line.
    Malformed,
    /// An entry or checkpoint of another log.
    OtherLog,
    /// Sequence goes back.
    SequenceBack,
    /// Sequence gap.
    SequenceGap,
    /// Previous-hash link broken.
    BrokenLink,
    /// Entry hash does not match its content.
    Modified,
    /// Checkpoint signed by an untrusted key (or by none).
    UntrustedKey,
    /// Checkpoint covers entries that are missing.
    Truncated,
    /// Checkpoint signature or root does not verify.
    BadCheckpoint,
    /// A cosignature by a required witness's key does not verify.
    BadCosignature,
    /// No entry at all.
    Empty,
    /// No valid signed checkpoint.
    Unsigned,
    /// No checkpoint carries the required cosignatures.
    NotWitnessed,
    /// Fewer entries than the checkpoint the verifier kept.
    RolledBack,
    /// The entries differ from the ones the kept checkpoint covers.
    Forked,
}

impl ProblemCode {
    /// The code as SCREAMING_CASE text (JSON `problem.code`).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Malformed => "MALFORMED",
            Self::OtherLog => "OTHER_LOG",
            Self::SequenceBack => "SEQUENCE_BACK",
            Self::SequenceGap => "SEQUENCE_GAP",
            Self::BrokenLink => "BROKEN_LINK",
            Self::Modified => "MODIFIED",
            Self::UntrustedKey => "UNTRUSTED_KEY",
            Self::Truncated => "TRUNCATED",
            Self::BadCheckpoint => "BAD_CHECKPOINT",
            Self::BadCosignature => "BAD_COSIGNATURE",
            Self::Empty => "EMPTY",
            Self::Unsigned => "UNSIGNED",
            Self::NotWitnessed => "NOT_WITNESSED",
            Self::RolledBack => "ROLLED_BACK",
            Self::Forked => "FORKED",
        }
    }
}

/// The first problem found by [`verify_log`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line number in the JSON Lines input.
    pub line: usize,
    /// The entry's sequence number (a note's tree size), when known.
    pub seq: Option<u64>,
    /// What kind of problem.
    pub code: ProblemCode,
    /// What is wrong, for people.
    pub reason: String,
}

/// The result of [`verify_log`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// No problem found and at least one entry.
    pub valid: bool,
    /// Valid, and checked against trusted keys (not only the chain).
    pub authenticated: bool,
    /// Entries verified before the first problem.
    pub entries: u64,
    /// Checkpoints whose signature verified (0 without trusted keys).
    pub checkpoints: u64,
    /// Entries covered by the last checkpoint that counts: signed by a
    /// trusted key (and cosigned as required), or the kept one (0: none).
    pub last_checkpoint_seq: u64,
    /// Entries after it: not authenticated (could be cut off or rewritten).
    pub unsigned_tail: u64,
    /// Root hash of the tree of the verified entries.
    pub root: TreeHash,
    /// The signed note of that checkpoint, to keep for the next
    /// verification's `since` (`None` for a version 1 checkpoint or none).
    pub checkpoint: Option<String>,
    /// Distinct required-witness cosignatures on that checkpoint.
    pub witnessed: u64,
    /// The first problem.
    pub problem: Option<Problem>,
}

/// What [`verify_log_with`] checks a log against.
#[derive(Clone, Debug, Default)]
pub struct VerifyOptions {
    /// Keys whose checkpoint signatures are accepted (the writers' audit
    /// signing keys, pinned by the verifier). Empty: the chain and tree are
    /// checked, no signature, and the report is not `authenticated`.
    pub trusted: Vec<PublicKey>,
    /// The checkpoint note kept from an earlier verification of this log
    /// (its `Report::checkpoint`): the log must extend it.
    pub since: Option<String>,
    /// Witness public keys.
    pub witnesses: Vec<PublicKey>,
    /// How many distinct witnesses of `witnesses` must cosign a checkpoint
    /// for it to count.
    pub witnesses_required: usize,
}

type Failure = (Option<u64>, ProblemCode, &'static str);

/// Streaming verification: feed lines in order with [`Verifier::push_line`];
/// it stops at the first problem. Cloning a verifier snapshots the chain
/// state (used to check very large logs incrementally).
#[derive(Clone, Debug)]
pub struct Verifier {
    opts: VerifyOptions,
    since: Option<CheckpointBody>,
    report: Report,
    log_id: Option<String>,
    head: [u8; HASH_LEN],
    seq: u64,
    /// Entry hashes by sequence number (index = seq - 1), for version 1 checkpoints.
    hashes: Vec<[u8; HASH_LEN]>,
    tree: MerkleTree,
    line: usize,
    collected: Option<Vec<(usize, Entry)>>,
}

impl Verifier {
    /// A verifier trusting these checkpoint keys (no kept checkpoint, no witnesses).
    #[must_use]
    pub fn new(trusted: &[PublicKey]) -> Self {
        let opts = VerifyOptions { trusted: trusted.to_vec(), ..VerifyOptions::default() };
        Self {
            opts,
            since: None,
            report: Report {
                valid: false,
                authenticated: false,
                entries: 0,
                checkpoints: 0,
                last_checkpoint_seq: 0,
                unsigned_tail: 0,
                root: merkle::empty_root(),
                checkpoint: None,
                witnessed: 0,
                problem: None,
            },
            log_id: None,
            head: [0u8; HASH_LEN],
            seq: 0,
            hashes: Vec::new(),
            tree: MerkleTree::new(),
            line: 0,
            collected: None,
        }
    }

    /// A verifier with a kept checkpoint and required witnesses.
    ///
    /// # Errors
    /// [`ErrorCode::InvalidArgument`] for `since` or witnesses without
    /// trusted keys, or more required witnesses than keys;
    /// [`ErrorCode::MalformedInput`] for a `since` that is not a checkpoint
    /// note; [`ErrorCode::UntrustedAuthor`] / [`ErrorCode::InvalidSignature`]
    /// for one not signed by a trusted key.
    pub fn with_options(opts: &VerifyOptions) -> Result<Self> {
        if opts.trusted.is_empty() && (opts.since.is_some() || opts.witnesses_required > 0) {
            return Err(Error::invalid_argument("a kept checkpoint or required witnesses need trusted keys"));
        }
        if opts.witnesses_required > opts.witnesses.len() {
            return Err(Error::invalid_argument("more witnesses required than witness keys given"));
        }
        let mut v = Self::new(&opts.trusted);
        v.opts = opts.clone();
        if let Some(text) = &opts.since {
            let note = CheckpointNote::parse(text)?;
            note.verify_log_signature(&opts.trusted)?;
            v.since = Some(note.body);
        }
        Ok(v)
    }

    /// Keeps every verified entry with its line number (for [`access_alerts`]).
    fn collecting(mut self) -> Self {
        self.collected = Some(Vec::new());
        self
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
            Ok(Line::Entry(e)) => self.entry(e),
            Ok(Line::Checkpoint(c)) => self.checkpoint(&c),
            Ok(Line::Note(n)) => self.note(&n),
            Err(_) => Err((None, ProblemCode::Malformed, "not a valid audit line")),
        };
        result.map_err(|(seq, code, reason)| self.fail(seq, code, reason))
    }

    fn fail(&mut self, seq: Option<u64>, code: ProblemCode, reason: &str) -> Problem {
        let p = Problem { line: self.line, seq, code, reason: reason.to_owned() };
        self.report.problem = Some(p.clone());
        p
    }

    fn entry(&mut self, e: Entry) -> core::result::Result<(), Failure> {
        let id = self.log_id.get_or_insert_with(|| e.log.clone()).clone();
        if self.seq == 0 {
            self.head = genesis(&id);
            if self.since.as_ref().is_some_and(|s| s.origin != id) {
                return Err((Some(e.seq), ProblemCode::OtherLog, "the kept checkpoint is of another log"));
            }
        }
        if e.log != id {
            return Err((Some(e.seq), ProblemCode::OtherLog, "entry from another log (replayed or spliced)"));
        }
        if e.seq != self.seq + 1 {
            return Err(if e.seq <= self.seq {
                (Some(e.seq), ProblemCode::SequenceBack, "sequence goes back (reordered or replayed)")
            } else {
                (Some(e.seq), ProblemCode::SequenceGap, "sequence gap (entry deleted)")
            });
        }
        if !hash_is(&e.prev_hash, &self.head) {
            return Err((
                Some(e.seq),
                ProblemCode::BrokenLink,
                "previous-hash link broken (entry inserted, deleted or reordered)",
            ));
        }
        let modified = (Some(e.seq), ProblemCode::Modified, "entry hash does not match its content (modified)");
        let (h, leaf) = e.hashes(&self.head).map_err(|_| modified)?;
        if !hash_is(&e.hash, &h) {
            return Err(modified);
        }
        self.head = h;
        self.seq = e.seq;
        self.hashes.push(h);
        self.tree.push(leaf);
        self.report.entries += 1;
        if let Some(kept) = &self.since
            && kept.size == self.tree.size()
        {
            if !self.tree.root_at(kept.size).is_ok_and(|r| merkle::same(&r, &kept.root)) {
                return Err((
                    Some(e.seq),
                    ProblemCode::Forked,
                    "log does not extend the kept checkpoint (forked or rewritten)",
                ));
            }
            self.covered(kept.size, None, 0);
        }
        if let Some(c) = &mut self.collected {
            c.push((self.line, e));
        }
        Ok(())
    }

    /// Records that the first `size` entries are authenticated by `note`.
    fn covered(&mut self, size: u64, note: Option<String>, witnessed: u64) {
        if size >= self.report.last_checkpoint_seq {
            self.report.last_checkpoint_seq = size;
            if note.is_some() || self.report.checkpoint.is_none() {
                self.report.checkpoint = note.or_else(|| self.opts.since.clone());
                self.report.witnessed = witnessed;
            }
        }
    }

    fn checkpoint(&mut self, c: &Checkpoint) -> core::result::Result<(), Failure> {
        let covered = usize::try_from(c.seq).ok().and_then(|s| s.checked_sub(1)).and_then(|i| self.hashes.get(i));
        let key = self.opts.trusted.iter().find(|k| k.kid() == c.kid);
        if !self.opts.trusted.is_empty() && key.is_none() {
            return Err((Some(c.seq), ProblemCode::UntrustedKey, "checkpoint signed by an untrusted key"));
        }
        if c.seq > self.seq {
            return Err((
                Some(c.seq),
                ProblemCode::Truncated,
                "checkpoint covers entries that are missing (log truncated)",
            ));
        }
        let head = hash_from(&c.head);
        let bound = covered.is_some_and(|h| hash_is(&c.head, h)) && self.log_id.as_deref() == Some(c.log.as_str());
        let signed = key.is_none_or(|k| {
            let msg = head.and_then(|h| Checkpoint::message(&c.log, c.seq, &h, c.time).ok());
            let sig = unb64(&c.sig).ok();
            matches!((msg, sig), (Some(m), Some(s)) if sign::verify_p1363(k, &m, &s).is_ok())
        });
        if !bound || !signed {
            return Err((Some(c.seq), ProblemCode::BadCheckpoint, "checkpoint does not verify"));
        }
        if key.is_some() {
            self.report.checkpoints += 1;
            if self.opts.witnesses_required == 0 {
                self.covered(c.seq, None, 0);
            }
        }
        Ok(())
    }

    fn note(&mut self, n: &CheckpointNote) -> core::result::Result<(), Failure> {
        let size = Some(n.body.size);
        match self.log_id.as_deref() {
            None => {
                return Err((
                    size,
                    ProblemCode::Truncated,
                    "checkpoint covers entries that are missing (log truncated)",
                ));
            }
            Some(id) if id != n.body.origin => return Err((size, ProblemCode::OtherLog, "checkpoint of another log")),
            Some(_) => {}
        }
        if !self.opts.trusted.is_empty() {
            n.verify_log_signature(&self.opts.trusted).map_err(|e| match e.code() {
                ErrorCode::UntrustedAuthor => {
                    (size, ProblemCode::UntrustedKey, "checkpoint signed by an untrusted key")
                }
                _ => (size, ProblemCode::BadCheckpoint, "checkpoint does not verify"),
            })?;
        }
        if n.body.size > self.tree.size() {
            return Err((size, ProblemCode::Truncated, "checkpoint covers entries that are missing (log truncated)"));
        }
        if !self.tree.root_at(n.body.size).is_ok_and(|r| merkle::same(&r, &n.body.root)) {
            return Err((size, ProblemCode::BadCheckpoint, "checkpoint root does not match the entries (rewritten)"));
        }
        if self.opts.trusted.is_empty() {
            return Ok(());
        }
        let cosigned = n
            .verify_cosignatures(&self.opts.witnesses)
            .map_err(|_| (size, ProblemCode::BadCosignature, "a witness cosignature does not verify"))?;
        self.report.checkpoints += 1;
        if cosigned.len() >= self.opts.witnesses_required {
            self.covered(n.body.size, Some(n.to_text()), cosigned.len() as u64);
        }
        Ok(())
    }

    /// The report for the lines pushed so far. With trusted keys, a log
    /// needs at least one checkpoint that counts (signed by a trusted key,
    /// cosigned by the required witnesses) or to extend the kept one: the
    /// chain itself has no key, so without one anyone could have rewritten
    /// it. Entries after the last such checkpoint are counted in `unsigned_tail`.
    #[must_use]
    pub fn finish(mut self) -> Report {
        if self.report.problem.is_none() {
            self.report.unsigned_tail = self.seq - self.report.last_checkpoint_seq;
            self.report.root = self.tree.root_at(self.tree.size()).unwrap_or_else(|_| merkle::empty_root());
            let keyed = !self.opts.trusted.is_empty();
            let problem = if self.report.entries == 0 {
                Some((ProblemCode::Empty, "empty log"))
            } else if self.since.as_ref().is_some_and(|s| s.size > self.tree.size()) {
                Some((ProblemCode::RolledBack, "log is shorter than the kept checkpoint (truncated or rolled back)"))
            } else if keyed && self.report.last_checkpoint_seq == 0 {
                Some(if self.report.checkpoints > 0 && self.opts.witnesses_required > 0 {
                    (ProblemCode::NotWitnessed, "no checkpoint cosigned by the required witnesses")
                } else {
                    (ProblemCode::Unsigned, "no signed checkpoint: the log is not authenticated")
                })
            } else {
                None
            };
            match problem {
                Some((code, reason)) => drop(self.fail(None, code, reason)),
                None => {
                    self.report.valid = true;
                    self.report.authenticated = keyed;
                }
            }
        }
        if !self.report.valid {
            self.report.authenticated = false;
        }
        self.report
    }
}

/// Verifies a JSON Lines log against trusted checkpoint keys.
#[must_use]
pub fn verify_log(jsonl: &str, trusted: &[PublicKey]) -> Report {
    run(Verifier::new(trusted), jsonl).0
}

/// Verifies a JSON Lines log against trusted keys, the checkpoint kept from
/// an earlier verification and required witnesses (docs/FORMAT.md §6.7).
///
/// # Errors
/// As [`Verifier::with_options`] (bad options); a log that does not verify
/// is a [`Report`] with a [`Problem`], not an error.
pub fn verify_log_with(jsonl: &str, opts: &VerifyOptions) -> Result<Report> {
    Ok(run(Verifier::with_options(opts)?, jsonl).0)
}

fn run(mut v: Verifier, jsonl: &str) -> (Report, Vec<(usize, Entry)>) {
    for line in jsonl.lines() {
        if v.push_line(line).is_err() {
            break;
        }
    }
    let entries = v.collected.take().unwrap_or_default();
    (v.finish(), entries)
}

/// Verifies like [`verify_log_with`] and returns the entries with their line numbers.
pub(crate) fn verify_collecting(jsonl: &str, opts: &VerifyOptions) -> Result<(Report, Vec<(usize, Entry)>)> {
    Ok(run(Verifier::with_options(opts)?.collecting(), jsonl))
}

/// Builds the full Merkle tree of a log's entries (for proofs), after
/// checking its chain.
///
/// # Errors
/// [`ErrorCode::MalformedInput`] if the log's chain does not verify.
pub fn tree_of(jsonl: &str) -> Result<(MerkleTree, Vec<Entry>)> {
    let mut v = Verifier::new(&[]).collecting();
    for line in jsonl.lines() {
        if v.push_line(line).is_err() {
            break;
        }
    }
    let tree = core::mem::take(&mut v.tree);
    let entries = v.collected.take().unwrap_or_default();
    if !v.finish().valid {
        return Err(Error::malformed("the log's chain does not verify"));
    }
    Ok((tree, entries.into_iter().map(|(_, e)| e).collect()))
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

// JSON forms (docs/FORMAT.md §6). Member names are camelCase; optional
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
            Some("checkpoint") if o.contains_key("note") => {
                let note = take_str(&mut o, "note")?.ok_or(BAD_LINE)?;
                done(&o, ())?;
                CheckpointNote::parse(&note).map(Self::Note).map_err(|_| BAD_LINE)
            }
            Some("checkpoint") => Checkpoint::from_obj(o).map(Self::Checkpoint),
            _ => Err(BAD_LINE),
        }
    }

    /// Appends the line's compact JSON (no newline) to `out`. A note's
    /// non-ASCII characters (the signature lines' em dash) are written as
    /// `\uXXXX` escapes, so phiseal's lines are ASCII.
    pub fn write(&self, out: &mut String) {
        if let Self::Note(n) = self {
            let mut text = String::new();
            Value::from(n.to_text().as_str()).write(&mut text);
            out.push_str("{\"type\":\"checkpoint\",\"note\":");
            for c in text.chars() {
                if c.is_ascii() {
                    out.push(c);
                } else {
                    let mut units = [0u16; 2];
                    for u in c.encode_utf16(&mut units) {
                        out.push_str(&format!("\\u{u:04x}"));
                    }
                }
            }
            out.push('}');
            return;
        }
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
            Self::Note(_) => {}
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
    /// The report as JSON: `{valid, authenticated, entries, checkpoints,
    /// lastCheckpointSeq, unsignedTail, root, checkpoint, witnessed,
    /// problem: null | {line, seq, code, reason}}` (`root` base64).
    #[must_use]
    pub fn to_json(&self) -> String {
        let mut o = Obj::new();
        put(&mut o, "valid", self.valid);
        put(&mut o, "authenticated", self.authenticated);
        put(&mut o, "entries", self.entries);
        put(&mut o, "checkpoints", self.checkpoints);
        put(&mut o, "lastCheckpointSeq", self.last_checkpoint_seq);
        put(&mut o, "unsignedTail", self.unsigned_tail);
        put(&mut o, "root", base64ct::Base64::encode_string(&self.root));
        put(&mut o, "checkpoint", self.checkpoint.as_deref());
        put(&mut o, "witnessed", self.witnessed);
        let problem = self.problem.as_ref().map(|p| {
            let mut po = Obj::new();
            put(&mut po, "line", p.line);
            put(&mut po, "seq", p.seq);
            put(&mut po, "code", p.code.as_str());
            put(&mut po, "reason", p.reason.as_str());
            Value::Object(po)
        });
        put(&mut o, "problem", problem);
        Value::Object(o).to_json()
    }
}
