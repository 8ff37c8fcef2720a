//! A small, strict JSON (RFC 8259) value type for records, schemas, JWKs and
//! audit lines.
//!
//! phiseal parses and prints JSON itself instead of through `serde_json`:
//! the generic serde machinery and float formatting were the largest part of
//! the wasm (docs/FORMAT.md §5.1 and README "Speed and size"). The rules are those a
//! sealed record needs:
//!
//! - **Numbers are kept exactly as written** (validated against the JSON
//!   grammar, never converted to a double), so `12345678901234567890` or
//!   `0.1000` open back byte for byte.
//! - **Object members keep their order**; a **duplicate member name is an
//!   error** (parsers disagree on which duplicate wins, a known smuggling
//!   route).
//! - Strings must be valid Unicode: a lone UTF-16 surrogate escape is an
//!   error. Nesting is limited to [`MAX_DEPTH`].
//! - Output is compact, escaping exactly what `JSON.stringify` escapes
//!   (`"`, `\`, and control characters below U+0020).

use core::fmt;
use core::ops::Index;

use crate::error::{Error, Result};

/// Deepest nesting of arrays and objects accepted by [`Value::parse`].
pub const MAX_DEPTH: usize = 128;

/// A JSON value.
#[derive(Clone, PartialEq, Eq, Default)]
pub enum Value {
    /// `null`.
    #[default]
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, as written.
    Number(Number),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Value>),
    /// An object, members in order.
    Object(Map),
}

/// A JSON number, kept as its (validated) text.
#[derive(Clone, PartialEq, Eq)]
pub struct Number(String);

/// A JSON object: members in insertion order, names unique. Two maps are
/// equal when they have the same members, in any order (as JSON objects).
/// Lookups are linear scans: records have tens of members, not thousands.
#[derive(Clone, Eq, Default)]
pub struct Map(Vec<(String, Value)>);

impl PartialEq for Map {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|(k, v)| other.get(k) == Some(v))
    }
}

static NULL: Value = Value::Null;

impl Number {
    /// Validates `text` against the JSON number grammar.
    ///
    /// # Errors
    /// [`ErrorCode::MalformedInput`](crate::ErrorCode::MalformedInput) if it is not a JSON number.
    pub fn from_text(text: &str) -> Result<Self> {
        let mut p = Parser { bytes: text.as_bytes(), pos: 0 };
        p.number()?;
        if p.pos == text.len() { Ok(Self(text.to_owned())) } else { Err(NOT_JSON) }
    }
    /// The number as written.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The value if the text is a non-negative integer without fraction or
    /// exponent that fits in a `u64`.
    #[must_use]
    pub fn as_u64(&self) -> Option<u64> {
        if self.0.bytes().all(|b| b.is_ascii_digit()) { self.0.parse().ok() } else { None }
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

macro_rules! number_from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for Number {
            fn from(n: $t) -> Self {
                Self(n.to_string())
            }
        }
        impl From<$t> for Value {
            fn from(n: $t) -> Self {
                Self::Number(n.into())
            }
        }
    )*};
}
number_from_int!(u8, u16, u32, u64, i32, i64, usize);

impl Map {
    /// An empty object.
    #[must_use]
    pub const fn new() -> Self {
        Self(Vec::new())
    }
    /// The member named `key`.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
    /// The member named `key`, mutable.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        self.0.iter_mut().find(|(k, _)| k == key).map(|(_, v)| v)
    }
    /// Whether a member named `key` exists.
    #[must_use]
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }
    /// Sets `key` (in place if present, else appended); returns the old value.
    pub fn insert(&mut self, key: String, value: Value) -> Option<Value> {
        match self.get_mut(&key) {
            Some(slot) => Some(core::mem::replace(slot, value)),
            None => {
                self.0.push((key, value));
                None
            }
        }
    }
    /// Removes `key`, keeping the order of the others.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let at = self.0.iter().position(|(k, _)| k == key)?;
        Some(self.0.remove(at).1)
    }
    /// Members in order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.0.iter().map(|(k, v)| (k, v))
    }
    /// Members in order, values mutable.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&String, &mut Value)> {
        self.0.iter_mut().map(|(k, v)| (&*k, v))
    }
    /// Member names in order.
    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.0.iter().map(|(k, _)| k)
    }
    /// Member values in order.
    pub fn values(&self) -> impl Iterator<Item = &Value> {
        self.0.iter().map(|(_, v)| v)
    }
    /// Member values in order, mutable.
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut Value> {
        self.0.iter_mut().map(|(_, v)| v)
    }
    /// Number of members.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// Whether there are no members.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromIterator<(String, Value)> for Map {
    /// Later duplicates replace earlier ones (in the earlier position).
    fn from_iter<I: IntoIterator<Item = (String, Value)>>(iter: I) -> Self {
        let mut map = Self::new();
        for (k, v) in iter {
            map.insert(k, v);
        }
        map
    }
}

impl IntoIterator for Map {
    type Item = (String, Value);
    type IntoIter = std::vec::IntoIter<(String, Value)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a Map {
    type Item = (&'a String, &'a Value);
    type IntoIter =
        core::iter::Map<core::slice::Iter<'a, (String, Value)>, fn(&'a (String, Value)) -> (&'a String, &'a Value)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Self::String(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Self::String(s)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Self::Bool(b)
    }
}

impl From<Map> for Value {
    fn from(m: Map) -> Self {
        Self::Object(m)
    }
}

impl From<Vec<Self>> for Value {
    fn from(items: Vec<Self>) -> Self {
        Self::Array(items)
    }
}

impl<T: Into<Self>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Self::Null, Into::into)
    }
}

impl Value {
    /// Parses JSON text (one value, optional surrounding whitespace).
    ///
    /// # Errors
    /// [`ErrorCode::MalformedInput`](crate::ErrorCode::MalformedInput) if the
    /// text is not JSON by the rules above.
    pub fn parse(text: &str) -> Result<Self> {
        Self::from_slice(text.as_bytes())
    }

    /// Parses UTF-8 JSON bytes.
    ///
    /// # Errors
    /// As [`Value::parse`]; also if the bytes are not UTF-8.
    pub fn from_slice(bytes: &[u8]) -> Result<Self> {
        if core::str::from_utf8(bytes).is_err() {
            return Err(NOT_JSON);
        }
        let mut p = Parser { bytes, pos: 0 };
        let value = p.value(0)?;
        p.ws();
        if p.pos == bytes.len() { Ok(value) } else { Err(NOT_JSON) }
    }

    /// Compact JSON text.
    #[must_use]
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    /// Appends compact JSON text to `out`.
    pub fn write(&self, out: &mut String) {
        match self {
            Self::Null => out.push_str("null"),
            Self::Bool(true) => out.push_str("true"),
            Self::Bool(false) => out.push_str("false"),
            Self::Number(n) => out.push_str(&n.0),
            Self::String(s) => write_string(s, out),
            Self::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write(out);
                }
                out.push(']');
            }
            Self::Object(map) => {
                out.push('{');
                for (i, (k, v)) in map.0.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_string(k, out);
                    out.push(':');
                    v.write(out);
                }
                out.push('}');
            }
        }
    }

    /// The member `key` of an object (`None` for other values).
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&Self> {
        self.as_object().and_then(|m| m.get(key))
    }
    /// The member `key` of an object, mutable.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Self> {
        self.as_object_mut().and_then(|m| m.get_mut(key))
    }
    /// The string, if this is one.
    #[must_use]
    pub fn as_str(&self) -> Option<&str> {
        if let Self::String(s) = self { Some(s) } else { None }
    }
    /// The boolean, if this is one.
    #[must_use]
    pub const fn as_bool(&self) -> Option<bool> {
        if let Self::Bool(b) = self { Some(*b) } else { None }
    }
    /// A non-negative integer number (see [`Number::as_u64`]).
    #[must_use]
    pub fn as_u64(&self) -> Option<u64> {
        if let Self::Number(n) = self { n.as_u64() } else { None }
    }
    /// The object, if this is one.
    #[must_use]
    pub const fn as_object(&self) -> Option<&Map> {
        if let Self::Object(m) = self { Some(m) } else { None }
    }
    /// The object, mutable.
    pub const fn as_object_mut(&mut self) -> Option<&mut Map> {
        if let Self::Object(m) = self { Some(m) } else { None }
    }
    /// The array, if this is one.
    #[must_use]
    pub const fn as_array(&self) -> Option<&Vec<Self>> {
        if let Self::Array(a) = self { Some(a) } else { None }
    }
    /// The array, mutable.
    pub const fn as_array_mut(&mut self) -> Option<&mut Vec<Self>> {
        if let Self::Array(a) = self { Some(a) } else { None }
    }
    /// Whether this is `null`.
    #[must_use]
    pub const fn is_null(&self) -> bool {
        matches!(self, Self::Null)
    }
    /// Whether this is an object.
    #[must_use]
    pub const fn is_object(&self) -> bool {
        matches!(self, Self::Object(_))
    }
    /// Whether this is a string.
    #[must_use]
    pub const fn is_string(&self) -> bool {
        matches!(self, Self::String(_))
    }
    /// The value at an RFC 6901 JSON Pointer (`""` is the whole value,
    /// `/a/0/b~1c` the member `b/c` of element 0 of member `a`).
    #[must_use]
    pub fn pointer(&self, pointer: &str) -> Option<&Self> {
        pointer_tokens(pointer)?.into_iter().try_fold(self, |v, token| match v {
            Self::Object(m) => m.get(&token),
            Self::Array(a) => a.get(array_index(&token)?),
            _ => None,
        })
    }
    /// The value at an RFC 6901 JSON Pointer, mutable.
    pub fn pointer_mut(&mut self, pointer: &str) -> Option<&mut Self> {
        pointer_tokens(pointer)?.into_iter().try_fold(self, |v, token| match v {
            Self::Object(m) => m.get_mut(&token),
            Self::Array(a) => a.get_mut(array_index(&token)?),
            _ => None,
        })
    }
    /// The same value with object members sorted by name (UTF-8 bytes),
    /// recursively: the canonical form of docs/FORMAT.md §5.1.
    #[must_use]
    pub fn sorted(&self) -> Self {
        match self {
            Self::Object(map) => {
                let order = order_by_bytes(map.keys().map(String::as_str));
                let members = order.iter().filter_map(|&(_, i)| map.0.get(i)).map(|(k, v)| (k.clone(), v.sorted()));
                Self::Object(Map(members.collect()))
            }
            Self::Array(items) => Self::Array(items.iter().map(Self::sorted).collect()),
            other => other.clone(),
        }
    }
}

/// `(name, original index)` sorted by name bytes (then index). Every sort in
/// phiseal goes through this one function, so the wasm carries one sort.
pub(crate) fn order_by_bytes<'a>(names: impl Iterator<Item = &'a str>) -> Vec<(&'a str, usize)> {
    let mut order: Vec<(&str, usize)> = names.enumerate().map(|(i, n)| (n, i)).collect();
    order.sort_unstable();
    order
}

fn pointer_tokens(pointer: &str) -> Option<Vec<String>> {
    if pointer.is_empty() {
        return Some(Vec::new());
    }
    pointer
        .strip_prefix('/')?
        .split('/')
        .map(|t| {
            // `~` must start `~0` or `~1` (RFC 6901 §3).
            let valid = t.match_indices('~').all(|(i, _)| matches!(t.as_bytes().get(i + 1), Some(b'0' | b'1')));
            valid.then(|| t.replace("~1", "/").replace("~0", "~"))
        })
        .collect()
}

/// A decimal array index without leading zeros.
fn array_index(token: &str) -> Option<usize> {
    if token.is_empty() || (token.len() > 1 && token.starts_with('0')) || !token.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    token.parse().ok()
}

/// `value["key"]`: the member, or `null` if absent or not an object.
impl Index<&str> for Value {
    type Output = Self;
    fn index(&self, key: &str) -> &Self {
        self.get(key).unwrap_or(&NULL)
    }
}

/// `value[i]`: the element, or `null` if absent or not an array.
impl Index<usize> for Value {
    type Output = Self;
    fn index(&self, i: usize) -> &Self {
        self.as_array().and_then(|a| a.get(i)).unwrap_or(&NULL)
    }
}

impl fmt::Display for Value {
    /// Compact JSON text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_json())
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_json())
    }
}

impl core::str::FromStr for Value {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

/// Appends `s` as a JSON string literal.
pub fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => {
                let b = c as u32;
                out.push_str("\\u00");
                out.push(char::from_digit(b >> 4, 16).unwrap_or('0'));
                out.push(char::from_digit(b & 0xf, 16).unwrap_or('0'));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

const NOT_JSON: Error = Error::malformed("not valid JSON");

struct Parser<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }
    fn next(&mut self) -> Result<u8> {
        let b = self.peek().ok_or(NOT_JSON)?;
        self.pos += 1;
        Ok(b)
    }
    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn want(&mut self, b: u8) -> Result<()> {
        if self.eat(b) { Ok(()) } else { Err(NOT_JSON) }
    }
    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }
    fn literal(&mut self, word: &[u8], value: Value) -> Result<Value> {
        let end = self.pos.checked_add(word.len()).ok_or(NOT_JSON)?;
        if self.bytes.get(self.pos..end) == Some(word) {
            self.pos = end;
            Ok(value)
        } else {
            Err(NOT_JSON)
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value> {
        self.ws();
        match self.peek().ok_or(NOT_JSON)? {
            b'n' => self.literal(b"null", Value::Null),
            b't' => self.literal(b"true", Value::Bool(true)),
            b'f' => self.literal(b"false", Value::Bool(false)),
            b'"' => self.string().map(Value::String),
            b'[' | b'{' if depth >= MAX_DEPTH => Err(Error::malformed("JSON nested too deeply")),
            b'[' => {
                self.pos += 1;
                let mut items = Vec::new();
                self.ws();
                if !self.eat(b']') {
                    loop {
                        items.push(self.value(depth + 1)?);
                        self.ws();
                        if self.eat(b']') {
                            break;
                        }
                        self.want(b',')?;
                    }
                }
                Ok(Value::Array(items))
            }
            b'{' => {
                self.pos += 1;
                let mut members = Vec::new();
                self.ws();
                if !self.eat(b'}') {
                    loop {
                        self.ws();
                        if self.peek() != Some(b'"') {
                            return Err(NOT_JSON);
                        }
                        let key = self.string()?;
                        self.ws();
                        self.want(b':')?;
                        members.push((key, self.value(depth + 1)?));
                        self.ws();
                        if self.eat(b'}') {
                            break;
                        }
                        self.want(b',')?;
                    }
                }
                let names = order_by_bytes(members.iter().map(|(k, _)| k.as_str()));
                if names.windows(2).any(|w| w.first().map(|n| n.0) == w.get(1).map(|n| n.0)) {
                    return Err(Error::malformed("duplicate member name in JSON object"));
                }
                Ok(Value::Object(Map(members)))
            }
            _ => {
                let start = self.pos;
                self.number()?;
                let text = self.bytes.get(start..self.pos).ok_or(NOT_JSON)?;
                let text = core::str::from_utf8(text).map_err(|_| NOT_JSON)?;
                Ok(Value::Number(Number(text.to_owned())))
            }
        }
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
    fn number(&mut self) -> Result<()> {
        self.eat(b'-');
        match self.next()? {
            b'0' => {}
            b'1'..=b'9' => self.digits(),
            _ => return Err(NOT_JSON),
        }
        if self.eat(b'.') {
            self.digit()?;
            self.digits();
        }
        if self.eat(b'e') || self.eat(b'E') {
            if !self.eat(b'+') {
                self.eat(b'-');
            }
            self.digit()?;
            self.digits();
        }
        Ok(())
    }
    fn digit(&mut self) -> Result<()> {
        if self.next()?.is_ascii_digit() { Ok(()) } else { Err(NOT_JSON) }
    }
    fn digits(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
    }

    fn string(&mut self) -> Result<String> {
        self.want(b'"')?;
        let mut out: Vec<u8> = Vec::new();
        loop {
            // Copy the run of plain bytes up to the next quote, backslash or
            // control character in one go (the input is valid UTF-8).
            let start = self.pos;
            while self.peek().is_some_and(|b| b != b'"' && b != b'\\' && b >= 0x20) {
                self.pos += 1;
            }
            out.extend_from_slice(self.bytes.get(start..self.pos).ok_or(NOT_JSON)?);
            match self.next()? {
                b'"' => break,
                b'\\' => {
                    let c = match self.next()? {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => self.unicode_escape()?,
                        _ => return Err(NOT_JSON),
                    };
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
                _ => return Err(NOT_JSON), // raw control character
            }
        }
        String::from_utf8(out).map_err(|_| NOT_JSON)
    }
    fn hex4(&mut self) -> Result<u32> {
        let mut v = 0u32;
        for _ in 0..4 {
            let d = char::from(self.next()?).to_digit(16).ok_or(NOT_JSON)?;
            v = (v << 4) | d;
        }
        Ok(v)
    }
    fn unicode_escape(&mut self) -> Result<char> {
        const LONE: Error = Error::malformed("lone UTF-16 surrogate in JSON string");
        let first = self.hex4()?;
        let code = match first {
            0xD800..=0xDBFF => {
                if !(self.eat(b'\\') && self.eat(b'u')) {
                    return Err(LONE);
                }
                let second = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&second) {
                    return Err(LONE);
                }
                0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
            }
            0xDC00..=0xDFFF => return Err(LONE),
            c => c,
        };
        char::from_u32(code).ok_or(LONE)
    }
}
