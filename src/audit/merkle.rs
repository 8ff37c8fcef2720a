//! The Merkle tree over audit entries: RFC 9162 §2.1 with SHA-256
//! (docs/FORMAT.md §6.3), the tree C2SP tlog-checkpoint root hashes name.
//!
//! - leaf hash `SHA-256(0x00 ‖ leaf)`, node hash `SHA-256(0x01 ‖ left ‖ right)`,
//!   empty tree `SHA-256("")` (RFC 9162 §2.1.1);
//! - inclusion proofs (§2.1.3) and consistency proofs (§2.1.4), generated
//!   from a [`MerkleTree`] and checked with [`verify_inclusion`] and
//!   [`verify_consistency`] (the verification algorithms of §2.1.3.2 and
//!   §2.1.4.2, step by step);
//! - [`Frontier`]: the right edge of a tree (one hash per set bit of its
//!   size), all a writer needs to append in O(log n) and sign a root.
//!
//! ```
//! use phiseal::audit::merkle::{MerkleTree, leaf_hash, verify_consistency, verify_inclusion};
//! let mut tree = MerkleTree::new();
//! for i in 0u32..7 {
//!     tree.push(leaf_hash(&i.to_be_bytes()));
//! }
//! let proof = tree.inclusion_proof(3, 7)?;
//! verify_inclusion(3, 7, &leaf_hash(&3u32.to_be_bytes()), &proof, &tree.root_at(7)?)?;
//! let proof = tree.consistency_proof(4, 7)?;
//! verify_consistency(4, 7, &tree.root_at(4)?, &tree.root_at(7)?, &proof)?;
//! # Ok::<(), phiseal::Error>(())
//! ```

use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

use crate::error::{Error, ErrorCode, Result};

/// Length of a tree hash (SHA-256).
pub const TREE_HASH_LEN: usize = 32;
/// A tree hash.
pub type TreeHash = [u8; TREE_HASH_LEN];
/// Longest proof accepted: a tree of at most 2^64 − 1 leaves has at most 64
/// inclusion nodes and 2·64 consistency nodes.
pub const MAX_PROOF_LEN: usize = 128;

const INCLUSION_FAILED: Error = Error::new(ErrorCode::InvalidSignature, "inclusion proof does not verify");
const CONSISTENCY_FAILED: Error = Error::new(ErrorCode::InvalidSignature, "consistency proof does not verify");
const OUT_OF_RANGE: Error = Error::new(ErrorCode::InvalidArgument, "tree size or index out of range");

/// `SHA-256(0x00 ‖ data)`: the hash of one leaf (RFC 9162 §2.1.1).
#[must_use]
pub fn leaf_hash(data: &[u8]) -> TreeHash {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(data);
    h.finalize().into()
}

/// `SHA-256(0x01 ‖ left ‖ right)`: an interior node (RFC 9162 §2.1.1).
#[must_use]
pub fn node_hash(left: &TreeHash, right: &TreeHash) -> TreeHash {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root of the empty tree, `SHA-256("")`.
#[must_use]
pub fn empty_root() -> TreeHash {
    Sha256::digest([]).into()
}

/// Constant-time equality of two tree hashes.
#[must_use]
pub fn same(a: &TreeHash, b: &TreeHash) -> bool {
    bool::from(a[..].ct_eq(&b[..]))
}

/// The largest power of two strictly below `n` (`n >= 2`): RFC 9162's `k`.
const fn split(n: u64) -> u64 {
    1 << (63 - (n - 1).leading_zeros())
}

/// The right edge of a tree: the roots of its complete subtrees, left to
/// right (one per set bit of the size, largest first). Appending is
/// O(log n) in the worst case and O(1) amortised; nothing else is kept.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    nodes: Vec<TreeHash>,
}

impl Frontier {
    /// The empty tree.
    #[must_use]
    pub const fn new() -> Self {
        Self { size: 0, nodes: Vec::new() }
    }

    /// A frontier from its size and nodes (as [`Frontier::nodes`] gives them).
    ///
    /// # Errors
    /// [`ErrorCode::InvalidArgument`] unless there is one node per set bit of `size`.
    pub fn from_parts(size: u64, nodes: Vec<TreeHash>) -> Result<Self> {
        if nodes.len() != size.count_ones() as usize {
            return Err(Error::invalid_argument("a frontier has one hash per set bit of its size"));
        }
        Ok(Self { size, nodes })
    }

    /// Number of leaves.
    #[must_use]
    pub const fn size(&self) -> u64 {
        self.size
    }

    /// The complete-subtree roots, left to right.
    #[must_use]
    pub fn nodes(&self) -> &[TreeHash] {
        &self.nodes
    }

    /// Appends a leaf hash.
    ///
    /// # Errors
    /// [`ErrorCode::Misuse`] when the tree holds 2^64 − 1 leaves.
    pub fn push(&mut self, leaf: TreeHash) -> Result<()> {
        let size = self.size.checked_add(1).ok_or(Error::misuse("tree is full"))?;
        let mut hash = leaf;
        let mut s = self.size;
        while s & 1 == 1 {
            let Some(left) = self.nodes.pop() else { break };
            hash = node_hash(&left, &hash);
            s >>= 1;
        }
        self.nodes.push(hash);
        self.size = size;
        Ok(())
    }

    /// The root hash (RFC 9162 MTH of all leaves).
    #[must_use]
    pub fn root(&self) -> TreeHash {
        let mut nodes = self.nodes.iter().rev();
        let Some(last) = nodes.next() else { return empty_root() };
        nodes.fold(*last, |right, left| node_hash(left, &right))
    }
}

/// Every node of a tree (level 0: leaf hashes; level k: the roots of the
/// complete subtrees of 2^k leaves): roots at any earlier size and proofs
/// between any two sizes in O(log n) hashes. 2·32 bytes per leaf.
#[derive(Clone, Debug, Default)]
pub struct MerkleTree {
    levels: Vec<Vec<TreeHash>>,
}

impl MerkleTree {
    /// An empty tree.
    #[must_use]
    pub const fn new() -> Self {
        Self { levels: Vec::new() }
    }

    /// Number of leaves.
    #[must_use]
    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len() as u64)
    }

    /// Appends a leaf hash (O(1) amortised).
    pub fn push(&mut self, leaf: TreeHash) {
        let mut hash = leaf;
        let mut level = 0;
        loop {
            if self.levels.len() == level {
                self.levels.push(Vec::new());
            }
            let Some(nodes) = self.levels.get_mut(level) else { return };
            nodes.push(hash);
            let n = nodes.len();
            if n % 2 == 1 {
                return;
            }
            match (nodes.get(n - 2), nodes.get(n - 1)) {
                (Some(l), Some(r)) => hash = node_hash(l, r),
                _ => return,
            }
            level += 1;
        }
    }

    /// The leaf hash at `index`.
    #[must_use]
    pub fn leaf(&self, index: u64) -> Option<TreeHash> {
        let i = usize::try_from(index).ok()?;
        self.levels.first().and_then(|l| l.get(i)).copied()
    }

    /// MTH(D[lo:hi]) for `lo < hi <= size` (RFC 9162 §2.1.1).
    fn subtree(&self, lo: u64, hi: u64) -> Result<TreeHash> {
        let n = hi - lo;
        if n.is_power_of_two() && lo.is_multiple_of(n) {
            let level = n.trailing_zeros() as usize;
            let index = usize::try_from(lo >> level).map_err(|_| OUT_OF_RANGE)?;
            return self.levels.get(level).and_then(|l| l.get(index)).copied().ok_or(OUT_OF_RANGE);
        }
        let k = split(n);
        Ok(node_hash(&self.subtree(lo, lo + k)?, &self.subtree(lo + k, hi)?))
    }

    /// The root of the tree of the first `size` leaves.
    ///
    /// # Errors
    /// [`ErrorCode::InvalidArgument`] if `size` exceeds the tree.
    pub fn root_at(&self, size: u64) -> Result<TreeHash> {
        if size > self.size() {
            return Err(OUT_OF_RANGE);
        }
        if size == 0 { Ok(empty_root()) } else { self.subtree(0, size) }
    }

    /// The audit path of leaf `index` in the tree of `size` leaves (RFC 9162
    /// §2.1.3.1), deepest node first.
    ///
    /// # Errors
    /// [`ErrorCode::InvalidArgument`] unless `index < size <= self.size()`.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<TreeHash>> {
        if index >= size || size > self.size() {
            return Err(OUT_OF_RANGE);
        }
        let mut out = Vec::new();
        self.path(index, 0, size, &mut out)?;
        Ok(out)
    }

    fn path(&self, m: u64, lo: u64, hi: u64, out: &mut Vec<TreeHash>) -> Result<()> {
        let n = hi - lo;
        if n <= 1 {
            return Ok(());
        }
        let k = split(n);
        if m < k {
            self.path(m, lo, lo + k, out)?;
            out.push(self.subtree(lo + k, hi)?);
        } else {
            self.path(m - k, lo + k, hi, out)?;
            out.push(self.subtree(lo, lo + k)?);
        }
        Ok(())
    }

    /// The proof that the tree of `new` leaves extends the tree of `old`
    /// leaves (RFC 9162 §2.1.4.1); empty when `old` is 0 or equals `new`.
    ///
    /// # Errors
    /// [`ErrorCode::InvalidArgument`] unless `old <= new <= self.size()`.
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<TreeHash>> {
        if old > new || new > self.size() {
            return Err(OUT_OF_RANGE);
        }
        let mut out = Vec::new();
        if old > 0 && old < new {
            self.subproof(old, 0, new, true, &mut out)?;
        }
        Ok(out)
    }

    fn subproof(&self, m: u64, lo: u64, hi: u64, complete: bool, out: &mut Vec<TreeHash>) -> Result<()> {
        let n = hi - lo;
        if m == n {
            if !complete {
                out.push(self.subtree(lo, hi)?);
            }
            return Ok(());
        }
        let k = split(n);
        if m <= k {
            self.subproof(m, lo, lo + k, complete, out)?;
            out.push(self.subtree(lo + k, hi)?);
        } else {
            self.subproof(m - k, lo + k, hi, false, out)?;
            out.push(self.subtree(lo, lo + k)?);
        }
        Ok(())
    }
}

/// Verifies that `leaf` is leaf `index` of the tree of `size` leaves with
/// root `root` (RFC 9162 §2.1.3.2).
///
/// # Errors
/// [`ErrorCode::InvalidSignature`] if the proof does not verify (any cause,
/// including `index >= size` or a proof of the wrong length).
pub fn verify_inclusion(index: u64, size: u64, leaf: &TreeHash, proof: &[TreeHash], root: &TreeHash) -> Result<()> {
    if index >= size || proof.len() > MAX_PROOF_LEN {
        return Err(INCLUSION_FAILED);
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if s == 0 {
            return Err(INCLUSION_FAILED);
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    if s == 0 && same(&r, root) { Ok(()) } else { Err(INCLUSION_FAILED) }
}

/// Verifies that the tree of `new` leaves with root `new_root` extends the
/// tree of `old` leaves with root `old_root` (RFC 9162 §2.1.4.2). `old == new`
/// needs an empty proof and equal roots; `old == 0` an empty proof.
///
/// # Errors
/// [`ErrorCode::InvalidSignature`] if the proof does not verify (any cause,
/// including `old > new`).
pub fn verify_consistency(
    old: u64,
    new: u64,
    old_root: &TreeHash,
    new_root: &TreeHash,
    proof: &[TreeHash],
) -> Result<()> {
    if old > new || proof.len() > MAX_PROOF_LEN {
        return Err(CONSISTENCY_FAILED);
    }
    if old == new {
        return if proof.is_empty() && same(old_root, new_root) { Ok(()) } else { Err(CONSISTENCY_FAILED) };
    }
    if old == 0 {
        return if proof.is_empty() { Ok(()) } else { Err(CONSISTENCY_FAILED) };
    }
    // Step 2: a power-of-two old tree is itself the first node of the path.
    let mut path: Vec<&TreeHash> = Vec::with_capacity(proof.len() + 1);
    if old.is_power_of_two() {
        path.push(old_root);
    }
    path.extend(proof.iter());
    let Some((first, rest)) = path.split_first() else { return Err(CONSISTENCY_FAILED) };
    let (mut f, mut s) = (old - 1, new - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let (mut fr, mut sr) = (**first, **first);
    for c in rest {
        if s == 0 {
            return Err(CONSISTENCY_FAILED);
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    if s == 0 && same(&fr, old_root) && same(&sr, new_root) { Ok(()) } else { Err(CONSISTENCY_FAILED) }
}
