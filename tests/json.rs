//! phiseal's strict JSON (src/json.rs): verbatim round trips, what is
//! refused, escaping as `JSON.stringify`, member order and sorting, JSON
//! Pointers, numbers.
// A native suite (`cargo test`); in wasm32 this file compiles to nothing, so
// `wasm-pack test` builds every test target and runs tests/web.rs.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use phiseal::json::{MAX_DEPTH, Number, Value};

#[test]
fn round_trips_verbatim() {
    for text in [
        r#"{"a":1,"b":[true,false,null],"c":"x\"y\\z\n\u0001","d":-0.5e+10,"e":12345678901234567890123}"#,
        r#"[]"#,
        r#"{}"#,
        r#""é😀/""#,
        "0",
        "-0",
        "1E5",
        "0.1000",
    ] {
        assert_eq!(Value::parse(text).unwrap().to_json(), text, "{text}");
    }
    assert_eq!(
        Value::parse(" [ 1 , {\"a\" : \"\\u00e9\\/\\ud83d\\ude00\"} ] ").unwrap().to_json(),
        "[1,{\"a\":\"é/😀\"}]"
    );
}

#[test]
fn rejects_what_is_not_json() {
    for text in [
        "",
        " ",
        "nul",
        "True",
        "01",
        "1.",
        ".5",
        "1e",
        "+1",
        "-",
        "[1,]",
        "{\"a\":1,}",
        "{a:1}",
        "[1 2]",
        "\"\u{1}\"",
        "\"\\x\"",
        "\"\\ud800\"",
        "\"\\udc00\"",
        "\"\\ud800\\u0041\"",
        "\"abc",
        "1 2",
        "{\"a\":1,\"a\":2}",
        "NaN",
        "Infinity",
        "\"\\u12\"",
    ] {
        assert!(Value::parse(text).is_err(), "{text:?}");
    }
    assert!(Value::from_slice(b"\"\xff\"").is_err());
    let deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
    assert!(Value::parse(&deep).is_err());
    let ok = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
    assert!(Value::parse(&ok).is_ok());
}

#[test]
fn escapes_like_json_stringify() {
    let v = Value::String("\"\\\u{8}\u{c}\n\r\t\u{1f}\u{7f}é/".into());
    assert_eq!(v.to_json(), "\"\\\"\\\\\\b\\f\\n\\r\\t\\u001f\u{7f}é/\"");
}

#[test]
fn map_keeps_order_and_sorted_sorts_by_bytes() {
    let v = Value::parse(r#"{"b":1,"a":{"z":1,"é":2,"Z":3},"c":[{"y":1,"x":2}]}"#).unwrap();
    assert_eq!(v.to_json(), r#"{"b":1,"a":{"z":1,"é":2,"Z":3},"c":[{"y":1,"x":2}]}"#);
    assert_eq!(v.sorted().to_json(), r#"{"a":{"Z":3,"z":1,"é":2},"b":1,"c":[{"x":2,"y":1}]}"#);
    assert_eq!(v["a"]["é"].as_u64(), Some(2));
    assert!(v["missing"]["deeper"].is_null());
    assert_eq!(v, v.sorted(), "object equality ignores member order");
    assert_ne!(v, Value::parse(r#"{"b":1,"a":{"z":1,"é":2,"Z":3},"c":[{"y":1,"x":3}]}"#).unwrap());
    assert_eq!(v["c"][0]["x"].as_u64(), Some(2));
}

#[test]
fn pointers() {
    let mut v = Value::parse(r#"{"a":[{"b/c":1,"d~e":2}],"":3}"#).unwrap();
    assert_eq!(v.pointer("/a/0/b~1c").unwrap().as_u64(), Some(1));
    assert_eq!(v.pointer("/a/0/d~0e").unwrap().as_u64(), Some(2));
    assert_eq!(v.pointer("/").unwrap().as_u64(), Some(3));
    assert_eq!(v.pointer("").unwrap(), &v.clone());
    for missing in ["a", "/a/1", "/a/00", "/a/-", "/a/0/x", "/a/0/b~1c/z", "/a/0/b~2c", "/a/0/d~"] {
        assert!(v.pointer(missing).is_none(), "{missing}");
    }
    *v.pointer_mut("/a/0/b~1c").unwrap() = Value::Null;
    assert_eq!(v.to_json(), r#"{"a":[{"b/c":null,"d~e":2}],"":3}"#);
}

#[test]
fn numbers() {
    assert_eq!(Number::from_text("18446744073709551615").unwrap().as_u64(), Some(u64::MAX));
    assert_eq!(Number::from_text("18446744073709551616").unwrap().as_u64(), None);
    assert_eq!(Number::from_text("1.0").unwrap().as_u64(), None);
    assert_eq!(Number::from_text("-1").unwrap().as_u64(), None);
    assert!(Number::from_text("1 ").is_err());
    assert_eq!(Value::from(42u32).to_json(), "42");
    assert_eq!(Value::from(-7i64).to_json(), "-7");
}
