//! phiseal's JSON (src/json.rs): any input either fails with a typed error
//! or parses to a value whose printed form parses back to the same value and
//! prints identically (numbers and member order kept as written).
#![no_main]

use libfuzzer_sys::fuzz_target;
use phiseal::json::Value;
use phiseal_fuzz::typed;

fuzz_target!(|data: &[u8]| {
    let Some(value) = typed(Value::from_slice(data)) else { return };
    let text = value.to_json();
    let again = Value::parse(&text).expect("printed JSON parses");
    assert_eq!(again, value);
    assert_eq!(again.to_json(), text);
    let sorted = value.sorted();
    assert_eq!(sorted, value, "sorting members keeps the object equal");
    assert_eq!(Value::parse(&sorted.to_json()).expect("sorted JSON parses").to_json(), sorted.to_json());
});
