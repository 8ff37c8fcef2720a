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
//!
//! A schema may also map resource types to field sets (`resources`,
//! docs/FORMAT.md §5.11): each set applies wherever an object with that
//! `resourceType` appears in the record. Their paths may use choice keys
//! (`value[x]`: `valueString`, `valueQuantity`, …) and descendant rules
//! (`**.identifier`: every `identifier` member at any depth of the
//! resource); the private `resolve` module finds the values they select.

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

/// The member a record's objects are dispatched on (docs/FORMAT.md §5.11).
pub const RESOURCE_TYPE: &str = "resourceType";
/// The resource-set name that applies to resource types without a set of their own.
pub const ANY_RESOURCE: &str = "*";
/// A path starting with this segment is a descendant rule (resource sets only).
const DESCENDANT: &str = "**";

/// One step of a path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Segment {
    Key(String),
    Each,
    /// `prefix[x]`: every member named `prefix` followed by an ASCII capital
    /// letter and anything (FHIR choice types), in record order.
    Choice(String),
}

impl Segment {
    /// Whether this step, taken from an object, reaches its member `name`.
    pub(crate) fn matches(&self, name: &str) -> bool {
        match self {
            Self::Key(k) => k == name,
            Self::Each => false,
            Self::Choice(prefix) => name
                .strip_prefix(prefix.as_str())
                .and_then(|rest| rest.bytes().next())
                .is_some_and(|b| b.is_ascii_uppercase()),
        }
    }
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

/// The field set of one resource type (docs/FORMAT.md §5.11): ranges of
/// [`Schema::all_fields`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ResourceSet {
    /// The `resourceType` it applies to, or `"*"`.
    name: String,
    /// Paths from the resource, sorted by path bytes.
    fixed: core::ops::Range<usize>,
    /// Descendant rules (`**.` paths, segments without the `**`), sorted by path bytes.
    descendant: core::ops::Range<usize>,
}

/// A validated schema.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schema {
    id: String,
    version: u32,
    /// `fields` (the first `n_fields`), then each resource set's fixed paths
    /// and descendant rules, sets in name order.
    all: Vec<FieldSpec>,
    n_fields: usize,
    resources: Vec<ResourceSet>,
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
        Error::invalid_argument("schema path must be keys separated by '.', each optionally followed by [x] and by []");
    name(path, "schema path must be 1 to 255 bytes")?;
    let mut segments = Vec::new();
    for part in path.split('.') {
        let mut key = part;
        let mut each = 0;
        while let Some(stripped) = key.strip_suffix("[]") {
            key = stripped;
            each += 1;
        }
        let choice = key.strip_suffix("[x]");
        let key = choice.unwrap_or(key);
        if key.is_empty() || key.contains('[') || key.contains(']') {
            return Err(BAD);
        }
        segments.push(if choice.is_some() { Segment::Choice(key.to_owned()) } else { Segment::Key(key.to_owned()) });
        segments.extend(core::iter::repeat_n(Segment::Each, each));
    }
    Ok(segments)
}

/// `path` is the field's name in key derivation (the qualified path of a
/// resource-set field); `relative` the path walked.
fn parse_spec(path: &str, relative: &str, spec: &Value) -> Result<FieldSpec> {
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
    name(path, "a qualified schema path ([type] path) must be 1 to 255 bytes")?;
    Ok(FieldSpec { path: path.to_owned(), segments: parse_path(relative)?, mode, group })
}

/// Sorts specs by path bytes and refuses a path inside another.
fn order_fields(fields: Vec<FieldSpec>) -> Result<Vec<FieldSpec>> {
    let order: Vec<usize> =
        crate::json::order_by_bytes(fields.iter().map(|f| f.path.as_str())).into_iter().map(|(_, i)| i).collect();
    let mut slots: Vec<Option<FieldSpec>> = fields.into_iter().map(Some).collect();
    let fields: Vec<FieldSpec> = order.into_iter().filter_map(|i| slots.get_mut(i).and_then(Option::take)).collect();
    for a in &fields {
        for b in &fields {
            if a.path != b.path && b.segments.starts_with(&a.segments) {
                return Err(Error::invalid_argument("a schema path lies inside another PHI path"));
            }
        }
    }
    Ok(fields)
}

/// `resources`: resource type (or `*`) → `{PATH: SPEC}`; a PATH may start
/// with `**.` (a descendant rule). Appends the specs to `all`, sets in name
/// order.
fn parse_resources(value: Option<&Value>, all: &mut Vec<FieldSpec>) -> Result<Vec<ResourceSet>> {
    const SHAPE: Error = Error::invalid_argument("schema resources must be an object of {path: spec} objects");
    let map = match value {
        None => return Ok(Vec::new()),
        Some(Value::Object(map)) if !map.is_empty() => map,
        Some(_) => return Err(SHAPE),
    };
    let mut sets = Vec::with_capacity(map.len());
    for (type_name, set) in map {
        name(type_name, "a resource type must be 1 to 255 bytes")?;
        if type_name.contains('[') || type_name.contains(']') {
            return Err(Error::invalid_argument("a resource type cannot contain [ or ]"));
        }
        let set = set.as_object().ok_or(SHAPE)?;
        let (mut fixed, mut descendant) = (Vec::new(), Vec::new());
        for (path, spec) in set {
            let qualified = format!("[{type_name}]{path}");
            let (relative, list) = match path.strip_prefix("**.") {
                Some(rest) => (rest, &mut descendant),
                None => (path.as_str(), &mut fixed),
            };
            let spec = parse_spec(&qualified, relative, spec)?;
            if spec.segments.iter().any(|s| matches!(s, Segment::Key(k) if k == DESCENDANT)) {
                return Err(Error::invalid_argument("** may only begin a path of a resource set"));
            }
            list.push(spec);
        }
        sets.push((type_name.as_str(), order_fields(fixed)?, order_fields(descendant)?));
    }
    let mut out = Vec::with_capacity(sets.len());
    for (_, i) in crate::json::order_by_bytes(sets.iter().map(|(n, _, _)| *n)) {
        if let Some((n, fixed, descendant)) = sets.get_mut(i) {
            let start = all.len();
            all.append(fixed);
            let mid = all.len();
            all.append(descendant);
            out.push(ResourceSet { name: (*n).to_owned(), fixed: start..mid, descendant: mid..all.len() });
        }
    }
    Ok(out)
}

/// Whether a path's first step can reach the top-level member `name`.
fn first_reaches(spec: &FieldSpec, name: &str) -> bool {
    spec.segments.first().is_some_and(|s| s.matches(name))
}

/// `unsigned`: top-level member names, each 1 to 255 bytes, not `_phiseal`,
/// not holding a PHI field, no duplicates; kept sorted by bytes.
/// `at_top` are the specs whose paths may start at the record: `fields` and,
/// since a resource may be the record itself, every resource set's.
fn parse_unsigned(value: Option<&Value>, at_top: &[FieldSpec], resources: bool) -> Result<Vec<String>> {
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
        if at_top.iter().any(|f| first_reaches(f, name_str)) {
            return Err(Error::invalid_argument("an unsigned member cannot hold a PHI field"));
        }
        if resources && name_str == RESOURCE_TYPE {
            return Err(Error::invalid_argument("with resources, resourceType cannot be unsigned"));
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
        // `fields` may be left out (or empty) only when `resources` is given.
        let fields_value = match obj.get("fields") {
            None if obj.get("resources").is_some() => None,
            v => Some(v.and_then(Value::as_object).ok_or(Error::invalid_argument("schema fields must be an object"))?),
        };
        let mut fields = Vec::new();
        for (path, spec) in fields_value.into_iter().flatten() {
            fields.push(parse_spec(path, path, spec)?);
        }
        // Field order is by path bytes (docs/FORMAT.md §5.1), whatever the JSON order.
        let mut all = order_fields(fields)?;
        let n_fields = all.len();
        let resources = parse_resources(obj.get("resources"), &mut all)?;
        let unsigned = parse_unsigned(obj.get("unsigned"), &all, !resources.is_empty())?;
        for key in obj.keys() {
            if !matches!(key.as_str(), "id" | "version" | "fields" | "resources" | "unsigned") {
                return Err(Error::invalid_argument(
                    "unknown member in a schema (allowed: id, version, fields, resources, unsigned)",
                ));
            }
        }
        if all.is_empty() {
            return Err(Error::invalid_argument("a schema must name at least one PHI field"));
        }
        Ok(Self { id: id.to_owned(), version, all, n_fields, resources, unsigned })
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
    /// The PHI fields of `fields` (paths from the record), in schema order.
    #[must_use]
    pub fn fields(&self) -> &[FieldSpec] {
        self.all.get(..self.n_fields).unwrap_or_default()
    }
    /// Every PHI field: `fields`, then each resource set's paths and
    /// descendant rules (named by their qualified paths, `[Patient]birthDate`).
    #[must_use]
    pub fn all_fields(&self) -> &[FieldSpec] {
        &self.all
    }
    /// A resource set's paths (fixed) and descendant rules.
    pub(crate) fn set_fields(&self, set: &ResourceSet) -> (&[FieldSpec], &[FieldSpec]) {
        let get = |r: &core::ops::Range<usize>| self.all.get(r.clone()).unwrap_or_default();
        (get(&set.fixed), get(&set.descendant))
    }
    /// Whether the schema has resource sets (records are then dispatched on
    /// `resourceType`, docs/FORMAT.md §5.11).
    #[must_use]
    pub fn has_resources(&self) -> bool {
        !self.resources.is_empty()
    }
    /// The set for a resource type: its own, else `"*"`'s, else none.
    pub(crate) fn resource_set(&self, type_name: &str) -> Option<&ResourceSet> {
        let find = |n: &str| {
            self.resources
                .binary_search_by(|r| r.name.as_bytes().cmp(n.as_bytes()))
                .ok()
                .and_then(|i| self.resources.get(i))
        };
        find(type_name).or_else(|| find(ANY_RESOURCE))
    }
    /// The access groups named by the schema, sorted, without duplicates.
    #[must_use]
    pub fn groups(&self) -> Vec<&str> {
        let mut groups: Vec<&str> = crate::json::order_by_bytes(self.all.iter().map(|f| f.group.as_str()))
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
        self.all.iter().any(|f| f.mode.needs_index_key())
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
