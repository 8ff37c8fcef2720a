//! Schemas: which fields of a record are PHI, how each is sealed, and who
//! may read it (docs/FORMAT.md §5.1).
//!
//! A schema is JSON:
//! ```json
//! { "id": "intake", "version": 3,
//!   "fields": { "patient.ssn": { "mode": "blindIndex", "bits": 16, "group": "clinical" },
//!               "notes": "random",
//!               "diagnoses[].code": { "mode": "deterministic" } } }
//! ```
//! A path is keys separated by `.`; `[]` after a key means every element of
//! that array. A field spec is an object, a mode name, or `true` (random,
//! group `"default"`).

use crate::json::Value;

use crate::error::{Error, Result};

/// Default access group.
pub const DEFAULT_GROUP: &str = "default";
/// Default blind-index length in bits.
pub const DEFAULT_BLIND_INDEX_BITS: u8 = 32;
/// Largest blind index, in bits.
pub const MAX_BLIND_INDEX_BITS: u8 = 128;
/// Longest schema id, record id, group name or path, in bytes.
pub const MAX_NAME_LEN: usize = 255;

/// How a field is sealed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldMode {
    /// AES-256-GCM under the record's data key, fresh random nonce.
    Random,
    /// AES-256-SIV under a per-field key from the tenant index key: equal
    /// values give equal ciphertexts (exact-match lookups).
    Deterministic,
    /// Random ciphertext plus a truncated HMAC-SHA384 index of `bits` bits.
    BlindIndex {
        /// Index length in bits (1..=128).
        bits: u8,
    },
}

impl FieldMode {
    /// The mode byte used in field AAD and field strings.
    #[must_use]
    pub const fn id(self) -> u8 {
        match self {
            Self::Random => 1,
            Self::Deterministic => 2,
            Self::BlindIndex { .. } => 3,
        }
    }

    /// Whether this mode needs the tenant index key.
    #[must_use]
    pub const fn needs_index_key(self) -> bool {
        !matches!(self, Self::Random)
    }
}

/// One step of a path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Segment {
    Key(String),
    Each,
}

/// One PHI field of a schema.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldSpec {
    path: String,
    pub(crate) segments: Vec<Segment>,
    mode: FieldMode,
    group: String,
}

impl FieldSpec {
    /// The schema path, e.g. `diagnoses[].code`.
    #[must_use]
    pub fn path(&self) -> &str {
        &self.path
    }
    /// The sealing mode.
    #[must_use]
    pub const fn mode(&self) -> FieldMode {
        self.mode
    }
    /// The access group.
    #[must_use]
    pub fn group(&self) -> &str {
        &self.group
    }
}

/// A validated schema.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schema {
    id: String,
    version: u32,
    fields: Vec<FieldSpec>,
    unsigned: Vec<String>,
}

fn name(s: &str, what: &'static str) -> Result<()> {
    if s.is_empty() || s.len() > MAX_NAME_LEN {
        return Err(Error::invalid_argument(what));
    }
    Ok(())
}

fn parse_path(path: &str) -> Result<Vec<Segment>> {
    const BAD: Error =
        Error::invalid_argument("schema path must be keys separated by '.', each optionally followed by []");
    name(path, "schema path must be 1 to 255 bytes")?;
    let mut segments = Vec::new();
    for part in path.split('.') {
        let mut key = part;
        let mut each = 0;
        while let Some(stripped) = key.strip_suffix("[]") {
            key = stripped;
            each += 1;
        }
        if key.is_empty() || key.contains('[') || key.contains(']') {
            return Err(BAD);
        }
        segments.push(Segment::Key(key.to_owned()));
        segments.extend(core::iter::repeat_n(Segment::Each, each));
    }
    Ok(segments)
}

fn parse_spec(path: &str, spec: &Value) -> Result<FieldSpec> {
    let (mode_name, bits, group) = match spec {
        Value::Bool(true) | Value::Null => ("random", None, None),
        Value::String(m) => (m.as_str(), None, None),
        Value::Object(o) => {
            let mode = match o.get("mode") {
                None => "random",
                Some(Value::String(m)) => m.as_str(),
                Some(_) => return Err(Error::invalid_argument("field mode must be a string")),
            };
            let bits = match o.get("bits") {
                None => None,
                Some(v) => Some(
                    v.as_u64()
                        .and_then(|b| u8::try_from(b).ok())
                        .filter(|b| (1..=MAX_BLIND_INDEX_BITS).contains(b))
                        .ok_or(Error::invalid_argument("blind index bits must be an integer from 1 to 128"))?,
                ),
            };
            let group = match o.get("group") {
                None => None,
                Some(Value::String(g)) => Some(g.clone()),
                Some(_) => return Err(Error::invalid_argument("field group must be a string")),
            };
            for key in o.keys() {
                if !matches!(key.as_str(), "mode" | "bits" | "group") {
                    return Err(Error::invalid_argument(
                        "unknown member in a schema field (allowed: mode, bits, group)",
                    ));
                }
            }
            (mode, bits, group)
        }
        _ => return Err(Error::invalid_argument("a schema field must be an object, a mode name or true")),
    };
    let mode = match mode_name {
        "random" => FieldMode::Random,
        "deterministic" => FieldMode::Deterministic,
        "blindIndex" => FieldMode::BlindIndex { bits: bits.unwrap_or(DEFAULT_BLIND_INDEX_BITS) },
        _ => return Err(Error::invalid_argument("field mode must be random, deterministic or blindIndex")),
    };
    if bits.is_some() && !matches!(mode, FieldMode::BlindIndex { .. }) {
        return Err(Error::invalid_argument("bits applies to blindIndex fields only"));
    }
    let group = group.unwrap_or_else(|| DEFAULT_GROUP.to_owned());
    name(&group, "group name must be 1 to 255 bytes")?;
    Ok(FieldSpec { path: path.to_owned(), segments: parse_path(path)?, mode, group })
}

/// `unsigned`: top-level member names, each 1 to 255 bytes, not `_phiseal`,
/// not holding a PHI field, no duplicates; kept sorted by bytes.
fn parse_unsigned(value: Option<&Value>, fields: &[FieldSpec]) -> Result<Vec<String>> {
    const SHAPE: Error = Error::invalid_argument("schema unsigned must be an array of top-level member names");
    let items = match value {
        None => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(SHAPE),
    };
    let mut names = Vec::with_capacity(items.len());
    for item in items {
        let name_str = item.as_str().ok_or(SHAPE)?;
        name(name_str, "an unsigned member name must be 1 to 255 bytes")?;
        if name_str == "_phiseal" {
            return Err(Error::invalid_argument("the envelope member _phiseal cannot be unsigned"));
        }
        if fields.iter().any(|f| f.segments.first() == Some(&Segment::Key(name_str.to_owned()))) {
            return Err(Error::invalid_argument("an unsigned member cannot hold a PHI field"));
        }
        names.push(name_str.to_owned());
    }
    names.sort();
    if names.windows(2).any(|w| w.first() == w.get(1)) {
        return Err(Error::invalid_argument("schema unsigned names a member twice"));
    }
    Ok(names)
}

impl Schema {
    /// Parses and validates a schema.
    ///
    /// # Errors
    /// [`ErrorCode::InvalidArgument`](crate::ErrorCode::InvalidArgument) for a
    /// missing id or version, a bad path or field spec, a duplicate path, or
    /// a path nested inside another PHI path.
    pub fn from_value(value: &Value) -> Result<Self> {
        let obj = value.as_object().ok_or(Error::invalid_argument("schema must be an object"))?;
        let id = obj.get("id").and_then(Value::as_str).ok_or(Error::invalid_argument("schema id must be a string"))?;
        name(id, "schema id must be 1 to 255 bytes")?;
        let version = obj
            .get("version")
            .and_then(Value::as_u64)
            .and_then(|v| u32::try_from(v).ok())
            .ok_or(Error::invalid_argument("schema version must be an integer from 0 to 2^32-1"))?;
        let fields_value = obj
            .get("fields")
            .and_then(Value::as_object)
            .ok_or(Error::invalid_argument("schema fields must be an object"))?;
        if fields_value.is_empty() {
            return Err(Error::invalid_argument("a schema must name at least one PHI field"));
        }
        let mut fields = Vec::with_capacity(fields_value.len());
        for (path, spec) in fields_value {
            fields.push(parse_spec(path, spec)?);
        }
        // Field order is by path bytes (docs/FORMAT.md §5.1), whatever the JSON order.
        let order: Vec<usize> =
            crate::json::order_by_bytes(fields.iter().map(|f| f.path.as_str())).into_iter().map(|(_, i)| i).collect();
        let mut slots: Vec<Option<FieldSpec>> = fields.into_iter().map(Some).collect();
        let fields: Vec<FieldSpec> =
            order.into_iter().filter_map(|i| slots.get_mut(i).and_then(Option::take)).collect();
        for a in &fields {
            for b in &fields {
                if a.path != b.path && b.segments.starts_with(&a.segments) {
                    return Err(Error::invalid_argument("a schema path lies inside another PHI path"));
                }
            }
        }
        let unsigned = parse_unsigned(obj.get("unsigned"), &fields)?;
        for key in obj.keys() {
            if !matches!(key.as_str(), "id" | "version" | "fields" | "unsigned") {
                return Err(Error::invalid_argument(
                    "unknown member in a schema (allowed: id, version, fields, unsigned)",
                ));
            }
        }
        Ok(Self { id: id.to_owned(), version, fields, unsigned })
    }

    /// Parses a schema from JSON text.
    ///
    /// # Errors
    /// [`ErrorCode::MalformedInput`](crate::ErrorCode::MalformedInput) for bad
    /// JSON, otherwise as [`Schema::from_value`].
    pub fn from_json(json: &str) -> Result<Self> {
        let value = Value::parse(json).map_err(|_| Error::malformed("schema is not valid JSON"))?;
        Self::from_value(&value)
    }

    /// The schema id.
    #[must_use]
    pub fn id(&self) -> &str {
        &self.id
    }
    /// The schema version.
    #[must_use]
    pub const fn version(&self) -> u32 {
        self.version
    }
    /// The PHI fields, in schema order.
    #[must_use]
    pub fn fields(&self) -> &[FieldSpec] {
        &self.fields
    }
    /// The access groups named by the schema, sorted, without duplicates.
    #[must_use]
    pub fn groups(&self) -> Vec<&str> {
        let mut groups: Vec<&str> = crate::json::order_by_bytes(self.fields.iter().map(|f| f.group.as_str()))
            .into_iter()
            .map(|(g, _)| g)
            .collect();
        groups.dedup();
        groups
    }
    /// Top-level members left out of the record signature (sorted by bytes):
    /// the server may change them undetected (docs/FORMAT.md §5.2).
    #[must_use]
    pub fn unsigned(&self) -> &[String] {
        &self.unsigned
    }
    /// Whether any field needs the tenant index key.
    #[must_use]
    pub fn needs_index_key(&self) -> bool {
        self.fields.iter().any(|f| f.mode.needs_index_key())
    }
}

/// Appends one RFC 6901 JSON Pointer reference token.
pub(crate) fn push_token(pointer: &mut String, token: &str) {
    pointer.push('/');
    for c in token.chars() {
        match c {
            '~' => pointer.push_str("~0"),
            '/' => pointer.push_str("~1"),
            c => pointer.push(c),
        }
    }
}

/// Calls `f(pointer, value)` for every value at `segments` in `root`, in
/// document order. Missing keys and `null` containers are skipped (the field
/// is absent); a container of the wrong type is an error, because PHI could
/// then sit where the schema does not look.
pub(crate) fn visit_mut(
    root: &mut Value,
    segments: &[Segment],
    pointer: &mut String,
    f: &mut dyn FnMut(&str, &mut Value) -> Result<()>,
) -> Result<()> {
    let Some((first, rest)) = segments.split_first() else {
        return f(pointer, root);
    };
    let mismatch =
        Error::invalid_argument("record does not match the schema (an object or array is expected on a PHI path)");
    let len = pointer.len();
    match (first, root) {
        (_, Value::Null) => Ok(()),
        (Segment::Key(key), Value::Object(map)) => match map.get_mut(key) {
            None => Ok(()),
            Some(child) => {
                push_token(pointer, key);
                let out = visit_mut(child, rest, pointer, f);
                pointer.truncate(len);
                out
            }
        },
        (Segment::Each, Value::Array(items)) => {
            for (i, child) in items.iter_mut().enumerate() {
                push_token(pointer, &i.to_string());
                let out = visit_mut(child, rest, pointer, f);
                pointer.truncate(len);
                out?;
            }
            Ok(())
        }
        _ => Err(mismatch),
    }
}
