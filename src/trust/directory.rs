//! A transparent key directory (docs/TRUST.md §6): every (subject →
//! certificate) publication is an entry of an append-only Merkle log (the
//! audit log's RFC 9162 tree and C2SP signed-note checkpoints), so a
//! directory that shows one patient a key it hides from everyone else, or
//! rewrites its history, is caught.
//!
//! * [`Directory`] is the publishing side (the organisation's server).
//! * [`DirectoryClient`] is the browser side: it accepts a lookup only with
//!   a checkpoint signed by a pinned directory key, an inclusion proof of
//!   the entry in that checkpoint's tree and, once it has kept a
//!   checkpoint, a consistency proof from the kept one. A shorter tree, a
//!   fork, another origin, an unsigned checkpoint or an entry not in the tree
//!   is refused.
//! * [`monitor`]: a subject (or an auditor) downloads the entries, checks
//!   that they make the signed tree, and lists the certificates published
//!   for one subject since a size: the "someone added a key for you" signal.
//! * Two clients detect a split view by exchanging kept checkpoints and a
//!   consistency proof between them ([`DirectoryClient::compare`]).
//!
//! What inclusion does not prove: that an entry is the subject's *latest*
//! (a lookup can serve an older certificate that is still in the log); that
//! needs a verifiable map (akd), not built. Revocation lists handle replaced
//! keys, and [`monitor`] shows the subject every key published for it.

use crate::audit::merkle::{MerkleTree, TreeHash, leaf_hash, verify_consistency, verify_inclusion};
use crate::audit::note::{CheckpointBody, CheckpointNote};
use crate::error::{Error, ErrorCode, Result};
use crate::keys::PublicKey;
use crate::sign::{SigningKey, Verified, VerifyJob};

/// Domain label at the start of every directory leaf.
pub const LEAF_LABEL: &[u8] = b"phiseal-directory-v1\0";

/// The bytes of a directory leaf: `LEAF_LABEL ‖ len(subject) (u16 BE) ‖
/// subject ‖ certificate` (UTF-8).
///
/// # Errors
/// [`ErrorCode::InvalidArgument`] for an empty subject or one over 256 bytes.
pub fn leaf_bytes(subject: &str, certificate: &str) -> Result<Vec<u8>> {
    let len = u16::try_from(subject.len())
        .ok()
        .filter(|n| (1..=256).contains(n))
        .ok_or(Error::new(ErrorCode::InvalidArgument, "a directory subject is 1 to 256 bytes"))?;
    Ok([LEAF_LABEL, &len.to_be_bytes(), subject.as_bytes(), certificate.as_bytes()].concat())
}

/// What a lookup returns: the entry, where it is, and the proofs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lookup {
    /// The subject looked up.
    pub subject: String,
    /// Its certificate (the newest entry for the subject).
    pub certificate: String,
    /// The entry's index in the log.
    pub index: u64,
    /// The signed checkpoint (note text) the proofs are against.
    pub checkpoint: String,
    /// Inclusion proof of the entry in the checkpoint's tree.
    pub inclusion: Vec<TreeHash>,
    /// Consistency proof from the size the client said it kept.
    pub consistency: Vec<TreeHash>,
}

impl Lookup {
    /// The lookup as JSON text: `{"subject","certificate","index","checkpoint","inclusion":[b64…],"consistency":[b64…]}`
    /// (hashes in standard base64, as the audit log's proofs).
    #[must_use]
    pub fn to_json(&self) -> String {
        use crate::json::{Map, Number, Value};
        use base64ct::{Base64, Encoding as _};
        let hashes = |v: &[TreeHash]| Value::Array(v.iter().map(|h| Value::String(Base64::encode_string(h))).collect());
        let mut m = Map::default();
        m.insert("subject".into(), Value::String(self.subject.clone()));
        m.insert("certificate".into(), Value::String(self.certificate.clone()));
        m.insert("index".into(), Number::from_text(&self.index.to_string()).map_or(Value::Null, Value::Number));
        m.insert("checkpoint".into(), Value::String(self.checkpoint.clone()));
        m.insert("inclusion".into(), hashes(&self.inclusion));
        m.insert("consistency".into(), hashes(&self.consistency));
        Value::Object(m).to_json()
    }

    /// Parses [`Lookup::to_json`]'s form strictly (exactly those members).
    ///
    /// # Errors
    /// [`ErrorCode::MalformedInput`] for any other shape.
    pub fn from_json(text: &str) -> Result<Self> {
        use crate::json::Value;
        use base64ct::{Base64, Encoding as _};
        const SHAPE: Error = Error::new(
            ErrorCode::MalformedInput,
            "a directory lookup is {subject, certificate, index, checkpoint, inclusion, consistency}",
        );
        let Value::Object(mut m) = Value::parse(text)? else { return Err(SHAPE) };
        let mut string = |name: &str| match m.remove(name) {
            Some(Value::String(s)) => Ok(s),
            _ => Err(SHAPE),
        };
        let (subject, certificate, checkpoint) = (string("subject")?, string("certificate")?, string("checkpoint")?);
        let index = m.remove("index").and_then(|v| v.as_u64()).ok_or(SHAPE)?;
        let mut hashes = |name: &str| -> Result<Vec<TreeHash>> {
            let Some(Value::Array(items)) = m.remove(name) else { return Err(SHAPE) };
            if items.len() > crate::audit::merkle::MAX_PROOF_LEN {
                return Err(SHAPE);
            }
            items
                .iter()
                .map(|v| {
                    v.as_str()
                        .and_then(|s| Base64::decode_vec(s).ok())
                        .and_then(|b| TreeHash::try_from(b.as_slice()).ok())
                        .ok_or(SHAPE)
                })
                .collect()
        };
        let (inclusion, consistency) = (hashes("inclusion")?, hashes("consistency")?);
        if !m.is_empty() {
            return Err(SHAPE);
        }
        Ok(Self { subject, certificate, index, checkpoint, inclusion, consistency })
    }
}

/// The publishing side.
#[derive(Debug)]
pub struct Directory {
    origin: String,
    key: SigningKey,
    tree: MerkleTree,
    entries: Vec<(String, String)>,
}

impl Directory {
    /// An empty directory named `origin`, checkpoints signed by `key`.
    #[must_use]
    pub fn new(origin: &str, key: SigningKey) -> Self {
        Self { origin: origin.to_owned(), key, tree: MerkleTree::new(), entries: Vec::new() }
    }

    /// Appends a publication; returns its index.
    ///
    /// # Errors
    /// As [`leaf_bytes`].
    pub fn publish(&mut self, subject: &str, certificate: &str) -> Result<u64> {
        self.tree.push(leaf_hash(&leaf_bytes(subject, certificate)?));
        self.entries.push((subject.to_owned(), certificate.to_owned()));
        Ok(self.tree.size() - 1)
    }

    /// Every entry, in log order (for monitors).
    #[must_use]
    pub fn entries(&self) -> &[(String, String)] {
        &self.entries
    }

    /// A signed checkpoint of the whole log at `time_ms`.
    ///
    /// # Errors
    /// As [`CheckpointNote::sign`].
    pub fn checkpoint(&self, time_ms: u64) -> Result<String> {
        let body = CheckpointBody {
            origin: self.origin.clone(),
            size: self.tree.size(),
            root: self.tree.root_at(self.tree.size())?,
            time: time_ms,
        };
        Ok(CheckpointNote::sign(body, &self.key)?.to_text())
    }

    /// The newest entry for `subject`, with a fresh checkpoint and proofs
    /// (consistency from `kept_size`, the size the client kept, if any).
    ///
    /// # Errors
    /// [`ErrorCode::NotRecipient`] for an unknown subject; as the proofs.
    pub fn lookup(&self, subject: &str, kept_size: Option<u64>, time_ms: u64) -> Result<Lookup> {
        let index = self
            .entries
            .iter()
            .rposition(|(s, _)| s == subject)
            .ok_or(Error::new(ErrorCode::NotRecipient, "no such subject in the directory"))?;
        let index = index as u64;
        let size = self.tree.size();
        let consistency = match kept_size {
            Some(old) if old > 0 && old < size => self.tree.consistency_proof(old, size)?,
            _ => Vec::new(),
        };
        Ok(Lookup {
            subject: subject.to_owned(),
            certificate: self.entries.get(index as usize).map(|(_, c)| c.clone()).unwrap_or_default(),
            index,
            checkpoint: self.checkpoint(time_ms)?,
            inclusion: self.tree.inclusion_proof(index, size)?,
            consistency,
        })
    }

    /// A consistency proof between two sizes (for clients comparing views).
    ///
    /// # Errors
    /// As [`MerkleTree::consistency_proof`].
    pub fn consistency(&self, old: u64, new: u64) -> Result<Vec<TreeHash>> {
        self.tree.consistency_proof(old, new)
    }
}

const BAD_CHECKPOINT_SIGNATURE: Error = Error::new(ErrorCode::InvalidSignature, "checkpoint signature does not verify");
const FORKED: Error = Error::new(
    ErrorCode::StaleVersion,
    "the directory's tree does not extend the checkpoint this client kept (a fork or a rewrite)",
);
const SHORTER: Error = Error::new(
    ErrorCode::StaleVersion,
    "the directory's tree is smaller than the checkpoint this client kept (a rollback)",
);

/// The browser side: pinned directory keys and the last checkpoint seen.
#[derive(Clone, Debug)]
pub struct DirectoryClient {
    origin: String,
    keys: Vec<PublicKey>,
    kept: Option<CheckpointBody>,
    kept_note: Option<String>,
}

/// A lookup whose subject, origin and signer were checked by
/// [`DirectoryClient::prepare`], waiting for its checkpoint signature checks.
#[derive(Debug)]
pub struct PendingLookup {
    lookup: Lookup,
    body: CheckpointBody,
    jobs: Vec<(VerifyJob, Option<Verified>)>,
}

impl PendingLookup {
    /// The signature checks to run, in order.
    pub fn jobs(&self) -> impl Iterator<Item = &VerifyJob> {
        self.jobs.iter().map(|(j, _)| j)
    }

    /// Records the token of a job's successful run (`index` in [`Self::jobs`] order).
    ///
    /// # Errors
    /// [`ErrorCode::InvalidArgument`] for an index out of range.
    pub fn set_verified(&mut self, index: usize, verified: Verified) -> Result<()> {
        let j = self
            .jobs
            .get_mut(index)
            .ok_or(Error::new(ErrorCode::InvalidArgument, "no signature job with this index"))?;
        j.1 = Some(verified);
        Ok(())
    }
}

impl DirectoryClient {
    /// A client of the directory `origin` whose checkpoints `keys` sign,
    /// with the checkpoint it kept before (note text), if any.
    ///
    /// # Errors
    /// As [`CheckpointNote::parse`] and its signature check for `kept`.
    pub fn new(origin: &str, keys: Vec<PublicKey>, kept: Option<&str>) -> Result<Self> {
        let mut client = Self { origin: origin.to_owned(), keys, kept: None, kept_note: None };
        if let Some(text) = kept {
            client.kept = Some(client.checked(text)?);
            client.kept_note = Some(text.to_owned());
        }
        Ok(client)
    }

    fn checked(&self, text: &str) -> Result<CheckpointBody> {
        let (body, jobs) = self.parsed(text)?;
        for job in &jobs {
            job.run().map_err(|_| BAD_CHECKPOINT_SIGNATURE)?;
        }
        Ok(body)
    }

    /// A checkpoint of this origin by a pinned key, with its signature checks still to run.
    fn parsed(&self, text: &str) -> Result<(CheckpointBody, Vec<VerifyJob>)> {
        let note = CheckpointNote::parse(text)?;
        if note.body.origin != self.origin {
            return Err(Error::new(ErrorCode::ContextMismatch, "a checkpoint of another directory"));
        }
        let jobs = note.log_signature_jobs(&self.keys).map_err(|e| {
            if e.code() == ErrorCode::UntrustedAuthor {
                Error::new(ErrorCode::UntrustedKey, "the checkpoint is not signed by a pinned directory key")
            } else {
                e
            }
        })?;
        Ok((note.body, jobs))
    }

    /// The size of the kept checkpoint (to send with a lookup).
    #[must_use]
    pub fn kept_size(&self) -> Option<u64> {
        self.kept.as_ref().map(|k| k.size)
    }

    /// The kept checkpoint's note text (store it; pass it to [`DirectoryClient::new`] next time).
    #[must_use]
    pub fn kept_note(&self) -> Option<&str> {
        self.kept_note.as_deref()
    }

    /// The kept checkpoint's tree size and root (to compare with another client).
    #[must_use]
    pub fn kept(&self) -> Option<(u64, TreeHash)> {
        self.kept.as_ref().map(|k| (k.size, k.root))
    }

    /// Verifies a lookup for `subject`; on success keeps its checkpoint and
    /// returns the certificate (verify it with a [`TrustStore`](super::TrustStore)).
    ///
    /// # Errors
    /// [`ErrorCode::ContextMismatch`] (another subject or directory);
    /// [`ErrorCode::UntrustedKey`] (checkpoint not signed by a pinned key);
    /// [`ErrorCode::InvalidSignature`] (a bad checkpoint signature, or the
    /// entry is not in the tree); [`ErrorCode::StaleVersion`] (a tree smaller
    /// than, or not extending, the kept checkpoint).
    pub fn verify(&mut self, subject: &str, lookup: &Lookup) -> Result<String> {
        let mut pending = self.prepare(subject, lookup)?;
        for j in &mut pending.jobs {
            j.1 = Some(j.0.run().map_err(|_| BAD_CHECKPOINT_SIGNATURE)?);
        }
        self.finish(pending)
    }

    /// The first half of [`Self::verify`] for a provider that checks the
    /// checkpoint's signatures elsewhere (WebCrypto in the browser): the
    /// subject, the origin and that a pinned key signed it; returns the
    /// signature checks to run ([`PendingLookup::jobs`]), then
    /// [`Self::finish`].
    ///
    /// # Errors
    /// As [`Self::verify`], up to the signature check.
    pub fn prepare(&self, subject: &str, lookup: &Lookup) -> Result<PendingLookup> {
        if lookup.subject != subject {
            return Err(Error::new(ErrorCode::ContextMismatch, "the directory answered for another subject"));
        }
        let (body, jobs) = self.parsed(&lookup.checkpoint)?;
        Ok(PendingLookup { lookup: lookup.clone(), body, jobs: jobs.into_iter().map(|j| (j, None)).collect() })
    }

    /// The second half: every signature job must carry the token of its own
    /// successful run ([`ErrorCode::InvalidSignature`]); then the kept
    /// checkpoint, the consistency and the inclusion proofs, as
    /// [`Self::verify`]. Returns the certificate and keeps the checkpoint.
    ///
    /// # Errors
    /// As [`Self::verify`].
    pub fn finish(&mut self, pending: PendingLookup) -> Result<String> {
        let PendingLookup { lookup, body, jobs } = pending;
        if jobs.iter().any(|(job, token)| token.as_ref() != Some(&job.verified())) {
            return Err(BAD_CHECKPOINT_SIGNATURE);
        }
        if let Some(kept) = &self.kept {
            if body.size < kept.size {
                return Err(SHORTER);
            }
            verify_consistency(kept.size, body.size, &kept.root, &body.root, &lookup.consistency)
                .map_err(|_| FORKED)?;
        }
        let leaf = leaf_hash(&leaf_bytes(&lookup.subject, &lookup.certificate)?);
        verify_inclusion(lookup.index, body.size, &leaf, &lookup.inclusion, &body.root)
            .map_err(|_| Error::new(ErrorCode::InvalidSignature, "the entry is not in the directory's signed tree"))?;
        self.kept = Some(body);
        self.kept_note = Some(lookup.checkpoint);
        Ok(lookup.certificate)
    }

    /// Compares this client's kept checkpoint with another client's (note
    /// text), given a consistency proof from the smaller to the larger:
    /// `Ok` if one extends the other; a split view is `STALE_VERSION`.
    ///
    /// # Errors
    /// As above; [`ErrorCode::InvalidArgument`] if this client kept nothing.
    pub fn compare(&self, other: &str, proof: &[TreeHash]) -> Result<()> {
        let mine = self.kept.as_ref().ok_or(Error::new(ErrorCode::InvalidArgument, "no checkpoint kept yet"))?;
        let theirs = self.checked(other)?;
        let (small, large) = if mine.size <= theirs.size { (mine, &theirs) } else { (&theirs, mine) };
        verify_consistency(small.size, large.size, &small.root, &large.root, proof)
            .map_err(|_| Error::new(ErrorCode::StaleVersion, "split view: the two checkpoints are not one history"))
    }
}

/// Checks that `entries` are exactly the log of the signed `checkpoint`
/// (same origin, signed by one of `keys`, same size and root), and returns
/// the `(index, certificate)` published for `subject` at or after `from`.
///
/// # Errors
/// As [`DirectoryClient::verify`]'s checkpoint checks;
/// [`ErrorCode::InvalidSignature`] if the entries do not make the signed tree.
pub fn monitor(
    origin: &str,
    keys: &[PublicKey],
    checkpoint: &str,
    entries: &[(String, String)],
    subject: &str,
    from: u64,
) -> Result<Vec<(u64, String)>> {
    let client = DirectoryClient { origin: origin.to_owned(), keys: keys.to_vec(), kept: None, kept_note: None };
    let body = client.checked(checkpoint)?;
    let mut tree = MerkleTree::new();
    for (s, c) in entries {
        tree.push(leaf_hash(&leaf_bytes(s, c)?));
    }
    if tree.size() != body.size || !crate::audit::merkle::same(&tree.root_at(tree.size())?, &body.root) {
        return Err(Error::new(ErrorCode::InvalidSignature, "the entries do not make the directory's signed tree"));
    }
    Ok(entries
        .iter()
        .enumerate()
        .filter(|(i, (s, _))| s == subject && *i as u64 >= from)
        .map(|(i, (_, c))| (i as u64, c.clone()))
        .collect())
}
