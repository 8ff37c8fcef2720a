//! Audit logs: JSON Lines entries and checkpoints, verified against the
//! fixed trusted checkpoint key; also trusted-key parsing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use phiseal::audit::{self, Verifier, verify_log};
use phiseal_fuzz::{signing_key, typed};

fuzz_target!(|data: &[u8]| {
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
    let _ = v.finish();
    let _ = typed(audit::trusted_key(text));
});
