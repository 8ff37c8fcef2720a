//! Audit logs: JSON Lines entries and checkpoints (version 1 lines and
//! version 2 signed notes), verified against the fixed trusted checkpoint
//! key, with the input also as a kept checkpoint and a witness's input;
//! checkpoint notes, alert rules, inclusion and consistency proofs from
//! arbitrary bytes; trusted-key parsing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use phiseal::audit::merkle::TreeHash;
use phiseal::audit::{
    self, AlertRules, CheckpointNote, Verifier, VerifyOptions, Witness, verify_consistency, verify_inclusion,
    verify_log, verify_log_with,
};
use phiseal_fuzz::{author_key, signing_key, typed};

fn hashes(data: &[u8]) -> Vec<TreeHash> {
    data.chunks_exact(32).map(|c| <TreeHash>::try_from(c).unwrap_or([0; 32])).collect()
}

fuzz_target!(|data: &[u8]| {
    // Proofs over raw bytes: a size, an index and hashes.
    if data.len() >= 16 {
        let (n, rest) = data.split_at(16);
        let a = u64::from_be_bytes(n[..8].try_into().unwrap_or_default());
        let b = u64::from_be_bytes(n[8..].try_into().unwrap_or_default());
        let h = hashes(rest);
        if let [x, y, proof @ ..] = h.as_slice() {
            let _ = typed(verify_inclusion(a, b, x, proof, y));
            let _ = typed(verify_consistency(a, b, x, y, proof));
        }
    }
    let Ok(text) = std::str::from_utf8(data) else { return };
    let trusted = [signing_key().verifying_key()];
    let report = verify_log(text, &trusted);
    assert!(!report.valid || report.problem.is_none());
    assert!(report.last_checkpoint_seq + report.unsigned_tail <= report.entries || !report.valid);
    let mut v = Verifier::new(&[]);
    for line in text.lines() {
        if v.push_line(line).is_err() {
            break;
        }
    }
    let r = v.finish();
    assert!(!r.authenticated);
    if let Some(note) = typed(CheckpointNote::parse(text)) {
        assert_eq!(typed(CheckpointNote::parse(&note.to_text())), Some(note.clone()));
        let _ = typed(note.verify_log_signature(&trusted));
        let _ = typed(note.verify_cosignatures(&[author_key().verifying_key()]));
        if let Some(mut w) = typed(
            phiseal::sign::SigningKey::from_scalar_bytes(&author_key().to_scalar_bytes()[..])
                .and_then(|k| Witness::new("fuzz.example/w", k, trusted.to_vec())),
        ) {
            let _ = typed(w.cosign(text, &[], 1));
        }
    }
    let witnesses = vec![author_key().verifying_key()];
    let opts =
        VerifyOptions { trusted: trusted.to_vec(), since: Some(text.to_owned()), witnesses, witnesses_required: 1 };
    let _ = typed(verify_log_with(text, &opts));
    let _ = typed(AlertRules::from_json(text));
    let _ = typed(audit::tree_of(text));
    let _ = typed(audit::trusted_key(text));
});
