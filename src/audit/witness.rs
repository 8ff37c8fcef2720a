//! A witness (docs/FORMAT.md §6.6): a party the log's storage server does
//! not control, which cosigns a checkpoint only if the log's own key signed
//! it and it is consistent with everything the witness cosigned before for
//! that origin (C2SP tlog-witness semantics, with phiseal's ECDSA P-384
//! cosignature). A verifier that requires its cosignature is then shown the
//! same history as the witness, or refuses.
//!
//! ```
//! use phiseal::audit::{AuditLog, Entry, Witness};
//! use phiseal::sign::SigningKey;
//! let (log_key, witness_key) = (SigningKey::generate()?, SigningKey::generate()?);
//! let mut witness = Witness::new("witness.example/w1", witness_key, vec![log_key.verifying_key()])?;
//! let mut log = AuditLog::new("session-1")?;
//! log.append(Entry::new("dr-lee", "clinician", "view", 1_700_000_000_000))?;
//! let note = log.checkpoint(&log_key, 1_700_000_000_500)?.to_text();
//! let cosigned = format!("{note}{}", witness.cosign(&note, &[], 1_700_000_001)?);
//! # let _ = cosigned;
//! # Ok::<(), phiseal::Error>(())
//! ```

use super::merkle::{TreeHash, same, verify_consistency};
use super::note::{self, CheckpointNote, valid_name};
use crate::error::{Error, ErrorCode, Result};
use crate::keys::PublicKey;
use crate::sign::SigningKey;

/// A witness: its name and key, the log keys it accepts, and the last
/// (size, root) it cosigned per origin.
pub struct Witness {
    name: String,
    key: SigningKey,
    logs: Vec<PublicKey>,
    /// (origin, size, root) last cosigned, sorted by origin.
    seen: Vec<(String, u64, TreeHash)>,
}

impl core::fmt::Debug for Witness {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Witness").field("name", &self.name).finish_non_exhaustive()
    }
}

impl Witness {
    /// A witness named `name` (a schema-less URL, e.g. `witness.example/w1`)
    /// that cosigns checkpoints signed by one of `log_keys`.
    ///
    /// # Errors
    /// [`ErrorCode::InvalidArgument`] for a bad name or no log keys.
    pub fn new(name: &str, key: SigningKey, log_keys: Vec<PublicKey>) -> Result<Self> {
        if !valid_name(name) || log_keys.is_empty() {
            return Err(Error::invalid_argument("a witness needs a name without spaces or '+', and log keys"));
        }
        Ok(Self { name: name.to_owned(), key, logs: log_keys, seen: Vec::new() })
    }

    /// The witness's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The public key verifiers require cosignatures from.
    #[must_use]
    pub fn public_key(&self) -> PublicKey {
        self.key.verifying_key()
    }

    /// The last (size, root) cosigned for `origin`.
    #[must_use]
    pub fn last(&self, origin: &str) -> Option<(u64, TreeHash)> {
        let at = self.find(origin).ok()?;
        self.seen.get(at).map(|(_, size, root)| (*size, *root))
    }

    fn find(&self, origin: &str) -> core::result::Result<usize, usize> {
        self.seen.binary_search_by(|(o, _, _)| o.as_str().cmp(origin))
    }

    /// Remembers (size, root) for `origin` as cosigned before (a witness
    /// restarted from its own storage).
    pub fn remember(&mut self, origin: &str, size: u64, root: TreeHash) {
        match self.find(origin) {
            Ok(at) => {
                if let Some(slot) = self.seen.get_mut(at) {
                    *slot = (origin.to_owned(), size, root);
                }
            }
            Err(at) => self.seen.insert(at, (origin.to_owned(), size, root)),
        }
    }

    /// Cosigns `note` at `time_s` (POSIX seconds) and returns the signature
    /// line to append to it. `proof` is the consistency proof from the size
    /// last cosigned for this origin to the note's size (empty the first
    /// time, or when the size is unchanged).
    ///
    /// # Errors
    /// [`ErrorCode::MalformedInput`] for a note that does not parse;
    /// [`ErrorCode::UntrustedAuthor`] / [`ErrorCode::InvalidSignature`] when
    /// no accepted log key signed it; [`ErrorCode::StaleVersion`] for a
    /// smaller tree than one already cosigned, the same size with another
    /// root, or a proof that does not show the new tree extends the old one
    /// (nothing is cosigned and the witness's state does not move).
    pub fn cosign(&mut self, note: &str, proof: &[TreeHash], time_s: u64) -> Result<String> {
        let parsed = CheckpointNote::parse(note)?;
        parsed.verify_log_signature(&self.logs)?;
        let body = &parsed.body;
        if let Some((size, root)) = self.last(&body.origin) {
            const FORK: Error = Error::new(
                ErrorCode::StaleVersion,
                "checkpoint is older than, or not consistent with, one this witness cosigned",
            );
            if body.size < size || (body.size == size && !same(&body.root, &root)) {
                return Err(FORK);
            }
            verify_consistency(size, body.size, &root, &body.root, proof).map_err(|_| FORK)?;
        }
        let line = note::cosign(body, &self.name, &self.key, time_s)?;
        self.remember(&body.origin, body.size, body.root);
        Ok(line)
    }
}
