//! Schemas: parsing, then using an accepted schema on a fixed record
//! (seal, PHI check, redaction, search tokens).
#![no_main]

use libfuzzer_sys::fuzz_target;
use phiseal::field::{self, Expected, Recipient, Schema, SealOptions};
use phiseal::json::Value;
use phiseal_fuzz::{author_key, authors, hpke_key, index_key, typed};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Some(schema) = typed(Schema::from_json(text)) else { return };
    assert!(!schema.fields().is_empty());
    let record = Value::parse(r#"{"a": "x", "b": {"c": [1, {"d": null}]}, "ssn": "123", "e": [[1, 2], []]}"#).unwrap();
    let _ = field::redact(&record, &schema);
    let _ = typed(field::verify_all_phi_encrypted(&record, &schema));
    for f in schema.fields() {
        let _ = typed(field::search_token(&schema, f.path(), &Value::from("x"), index_key()));
    }
    let key = hpke_key();
    let opts = SealOptions::new("r", vec![Recipient::all_groups(*key.public_key())], 1);
    if let Some(sealed) = typed(field::seal_record(&record, &schema, &opts, Some(index_key()), author_key())) {
        let opened =
            field::open_record(&sealed, &schema, key, Some(index_key()), &Expected::new("r", authors())).unwrap();
        assert_eq!(opened.record, record);
    }
});
