//! Tests write records with `serde_json::json!`; phiseal takes its own
//! strict JSON values, so the macro here builds one from the other through
//! JSON text (numbers keep serde_json's spelling).

/// `json!({...})` as a [`phiseal::json::Value`].
macro_rules! json {
    ($($t:tt)+) => {
        crate::support_json::from_serde(&serde_json::json!($($t)+))
    };
}

/// A serde_json value as a phiseal value.
#[allow(dead_code)]
pub fn from_serde(v: &serde_json::Value) -> phiseal::json::Value {
    phiseal::json::Value::parse(&v.to_string()).expect("serde_json prints valid JSON")
}

/// `v[member] = new` for an object (phiseal's Value has no panicking `IndexMut`).
#[allow(dead_code)]
pub fn put(v: &mut phiseal::json::Value, member: &str, new: phiseal::json::Value) {
    v.as_object_mut().expect("an object").insert(member.to_owned(), new);
}

/// An object from `(name, value)` pairs, in order.
#[allow(dead_code)]
pub fn obj(members: &[(&str, &phiseal::json::Value)]) -> phiseal::json::Value {
    phiseal::json::Value::Object(members.iter().map(|(k, v)| ((*k).to_owned(), (*v).clone())).collect())
}
