//! Sealed records (`_phiseal` envelope header, `phs1.`/`phd1.`/`phb1.`
//! field strings) and sealed index keys (`phk2.`), opened with the fixed
//! recipient and index keys, trusting the fixed author. Input: JSON text of
//! a record, or a `phk2.` string.
#![no_main]

use libfuzzer_sys::fuzz_target;
use phiseal::field::{self, Expected, IndexKey};
use phiseal::json::Value;
use phiseal_fuzz::{author_key, authors, hpke_key, index_key, schema, typed};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let key = hpke_key();
    if text.starts_with("phk") {
        if let Some((plan, verify, job)) = typed(IndexKey::plan_open(text, key.public_key(), authors()))
            && let Some(verified) = typed(verify.run())
            && let Some(secret) = typed(job.run(key))
        {
            let _ = typed(plan.finish(&verified, &secret));
        }
        return;
    }
    let Ok(record) = Value::parse(text) else { return };
    let header = typed(field::inspect(&record));
    let _ = typed(field::needs_rotation(&record, 30, 1_700_000_000));
    let _ = typed(field::verify_all_phi_encrypted(&record, schema()));
    let _ = field::redact(&record, schema());
    // The seeds' record id and empty context, then whatever the header names
    // (so that mutated inputs get past the record id and context checks).
    let _ = typed(field::open_record(&record, schema(), key, None, &Expected::new("rec-1", authors())));
    let Some(header) = header else { return };
    let expected = Expected { context: header.context.clone(), ..Expected::new(&header.record_id, authors()) };
    let _ = typed(field::open_record(&record, schema(), key, None, &expected));
    if let Some(opened) = typed(field::open_record(&record, schema(), key, Some(index_key()), &expected)) {
        assert!(opened.record.get(field::ENVELOPE_MEMBER).is_none());
        assert_eq!(opened.header, header);
        // What opens must also pass the rewrap path, and its result open as the next version.
        let to = [field::Recipient::all_groups(*key.public_key())];
        if let Some(next) = typed(field::rewrap_record(&record, schema(), key, &to, &expected, author_key())) {
            let newer = Expected { min_version: header.version + 1, ..expected.clone() };
            let reopened = field::open_record(&next, schema(), key, Some(index_key()), &newer).unwrap();
            assert_eq!(reopened.header.previous, Some(opened.digest));
        }
    }
});
