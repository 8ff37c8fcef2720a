//! Fixed keys and inputs shared by the fuzz targets and the seed generator
//! (`cargo run --release --bin seeds`), so that the committed seeds open with
//! the targets' keys and every finding reproduces from its input alone.
#![forbid(unsafe_code)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::missing_panics_doc, missing_docs)]

use std::sync::OnceLock;

use phiseal::field::{IndexKey, Schema};
use phiseal::kdf::Kdf;
use phiseal::keys::{PrivateKey, PublicKey};
use phiseal::sign::SigningKey;

/// The recipient key of every sealed seed (HPKE, records, streams, index keys).
pub fn hpke_key() -> &'static PrivateKey {
    static KEY: OnceLock<PrivateKey> = OnceLock::new();
    KEY.get_or_init(|| PrivateKey::from_scalar_bytes(&[0x11; 48]).unwrap())
}

/// The checkpoint key the audit target trusts.
pub fn signing_key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| SigningKey::from_scalar_bytes(&[0x22; 48]).unwrap())
}

/// The author of every sealed seed (records and index keys), the one author
/// the targets trust.
pub fn author_key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| SigningKey::from_scalar_bytes(&[0x55; 48]).unwrap())
}

/// The trusted authors: [`author_key`]'s public key.
pub fn authors() -> &'static [PublicKey] {
    static KEYS: OnceLock<[PublicKey; 1]> = OnceLock::new();
    KEYS.get_or_init(|| [author_key().verifying_key()])
}

/// SFrame base key of sender id 1, epoch 0 (KID 0x100), and of KID 7.
pub const SFRAME_BASE_KEY: [u8; 16] = *b"phiseal fuzz key";

/// HPKE info of the hpke_open target.
pub const HPKE_INFO: &[u8] = b"phiseal fuzz";

/// The schema of the field_open target.
pub const SCHEMA: &str = r#"{"id":"fuzz","version":1,"fields":{
  "ssn":{"mode":"blindIndex","bits":16,"group":"clinical"},
  "name":{"mode":"deterministic","group":"clinical"},
  "notes":{"group":"clinical"},
  "dx[].code":{"mode":"deterministic"},
  "card":{"mode":"random","group":"billing"}}}"#;

pub fn schema() -> &'static Schema {
    static S: OnceLock<Schema> = OnceLock::new();
    S.get_or_init(|| Schema::from_json(SCHEMA).unwrap())
}

/// The fixed tenant index key's id and secret.
pub const INDEX_KEY_ID: [u8; 16] = [0x44; 16];
pub const INDEX_KEY_SECRET: [u8; 32] = [0x33; 32];

/// A fixed tenant index key ([`INDEX_KEY_ID`], [`INDEX_KEY_SECRET`]), built
/// through the sealed-index-key opener so that no test-only constructor is
/// needed: a `phk2.` key written from docs/FORMAT.md §5.5 with its
/// commitment, signed by [`author_key`]; its wrap is never run (the secret
/// is handed to the opener directly), so it is left zero.
pub fn index_key() -> &'static IndexKey {
    static K: OnceLock<IndexKey> = OnceLock::new();
    K.get_or_init(|| {
        let mut commitment = [0u8; 32];
        Kdf::Sha384
            .hkdf(&INDEX_KEY_ID, &INDEX_KEY_SECRET, b"phiseal-index-key-v2 commitment", &mut commitment)
            .unwrap();
        let me = hpke_key().public_key();
        let mut raw = vec![2u8];
        raw.extend_from_slice(&INDEX_KEY_ID);
        raw.extend_from_slice(&commitment);
        raw.extend_from_slice(&author_key().verifying_key().thumbprint());
        raw.push(1);
        raw.extend_from_slice(&me.thumbprint());
        raw.extend_from_slice(&[0u8; 97 + 48]);
        const LABEL: &[u8] = b"phiseal-index-key-v2 signature";
        let message = [&[LABEL.len() as u8][..], LABEL, &raw].concat();
        raw.extend_from_slice(&author_key().sign(&message).unwrap());
        let sealed = format!("phk2.{}", b64(&raw));
        let (plan, verify, _) = IndexKey::plan_open(&sealed, me, authors()).unwrap();
        plan.finish(&verify.run().unwrap(), &INDEX_KEY_SECRET).unwrap()
    })
}

/// base64url without padding.
pub fn b64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (i, b)| acc | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(A[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
    out
}

/// Fails the fuzz run if an error is not a typed phiseal error.
pub fn typed<T>(r: phiseal::Result<T>) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(e) => {
            assert!(!e.message().is_empty() && !e.code().as_str().is_empty());
            None
        }
    }
}
