//! Sealed records (`_phiseal` envelope header, `phs1.`/`phd1.`/`phb1.`
//! field strings) and sealed index keys (`phk1.`), opened with the fixed
//! recipient and index keys. Input: JSON text of a record, or a `phk1.` string.
#![no_main]

use libfuzzer_sys::fuzz_target;
use phiseal::field::{self, IndexKey};
use phiseal_fuzz::{hpke_key, index_key, schema, typed};
use phiseal::json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let key = hpke_key();
    if text.starts_with("phk") {
        if let Some((plan, job)) = typed(IndexKey::plan_open(text, key.public_key()))
            && let Some(secret) = typed(job.run(key))
        {
            let _ = typed(plan.finish(&secret));
        }
        return;
    }
    let Ok(record) = Value::parse(text) else { return };
    let _ = typed(field::inspect(&record));
    let _ = typed(field::needs_rotation(&record, 30, 1_700_000_000));
    let _ = typed(field::verify_all_phi_encrypted(&record, schema()));
    let _ = field::redact(&record, schema());
    let _ = typed(field::open_record(&record, schema(), key, None));
    if let Some(opened) = typed(field::open_record(&record, schema(), key, Some(index_key()))) {
        // What opens must also pass the rewrap path.
        let _ = typed(field::rewrap_record(&record, schema(), key, &[field::Recipient::all_groups(*key.public_key())]));
        assert!(opened.record.get(field::ENVELOPE_MEMBER).is_none());
    }
});
