//! Which values of a record a schema selects, and at which JSON Pointers
//! (docs/FORMAT.md §5.1 and §5.11).
//!
//! Selection runs on the record as given, before anything is sealed or
//! opened, and gives the same pointers for a record and for its sealed form:
//! the walk never enters a selected value, and every decision depends only on
//! clear members (object member names, array lengths, `resourceType`).

use std::collections::BTreeSet;

use super::schema::{FieldSpec, RESOURCE_TYPE, ResourceSet, Schema, Segment, push_token};
use crate::error::{Error, Result};
use crate::json::{MAX_DEPTH, Value};

/// A selected value: its RFC 6901 pointer and the field that selected it.
pub(crate) struct Selected<'s> {
    pub(crate) pointer: String,
    pub(crate) spec: &'s FieldSpec,
}

const MISMATCH: Error =
    Error::invalid_argument("record does not match the schema (an object or array is expected on a PHI path)");
const OVERLAP: Error = Error::invalid_argument("two schema paths select the same value, or one value inside another");

/// The values `schema` selects in `record`, in field order (§5.11).
///
/// # Errors
/// `INVALID_ARGUMENT` for a container of the wrong type on a path of
/// `fields` or of a resource set, a value selected twice or inside another,
/// a selected `resourceType`, a `resourceType` that is not a string (with
/// resources), or nesting deeper than [`MAX_DEPTH`].
pub(crate) fn select<'s>(record: &Value, schema: &'s Schema) -> Result<Vec<Selected<'s>>> {
    let mut s = Selector { schema, out: Vec::new(), taken: BTreeSet::new() };
    let mut pointer = String::new();
    for spec in schema.fields() {
        s.path(record, &spec.segments, &mut pointer, spec, false)?;
    }
    if schema.has_resources() {
        s.walk(record, &mut pointer, None, 0)?;
    }
    Ok(s.out)
}

struct Selector<'s> {
    schema: &'s Schema,
    out: Vec<Selected<'s>>,
    taken: BTreeSet<String>,
}

impl<'s> Selector<'s> {
    /// Whether `p` is selected, inside a selected value, or holds one.
    fn overlaps(&self, p: &str) -> bool {
        if self.taken.contains(p) {
            return true;
        }
        let inside = p.char_indices().any(|(i, c)| c == '/' && p.get(..i).is_some_and(|q| self.taken.contains(q)));
        let below = format!("{p}/");
        inside || self.taken.range(below.clone()..).next().is_some_and(|t| t.starts_with(&below))
    }

    /// Selects `pointer` for `spec`; a descendant rule skips a conflicting
    /// value, a path of `fields` or of a resource set is refused.
    fn take(&mut self, pointer: &str, spec: &'s FieldSpec, descendant: bool) -> Result<()> {
        if self.schema.has_resources() && pointer.rsplit('/').next() == Some(RESOURCE_TYPE) {
            return Err(Error::invalid_argument("with resources, a schema path cannot select resourceType"));
        }
        if self.overlaps(pointer) {
            return if descendant { Ok(()) } else { Err(OVERLAP) };
        }
        self.taken.insert(pointer.to_owned());
        self.out.push(Selected { pointer: pointer.to_owned(), spec });
        Ok(())
    }

    /// Follows `segments` from `value` (at `pointer`). Missing members and
    /// `null` containers select nothing. A container of another type is an
    /// error, except for descendant rules, which also stop at selected values.
    fn path(
        &mut self,
        value: &Value,
        segments: &[Segment],
        pointer: &mut String,
        spec: &'s FieldSpec,
        descendant: bool,
    ) -> Result<()> {
        let Some((first, rest)) = segments.split_first() else {
            return self.take(pointer, spec, descendant);
        };
        if descendant && self.taken.contains(pointer.as_str()) {
            return Ok(());
        }
        let len = pointer.len();
        match (first, value) {
            (_, Value::Null) => Ok(()),
            (Segment::Key(_) | Segment::Choice(_), Value::Object(map)) => {
                for (key, child) in map.iter().filter(|(k, _)| first.matches(k)) {
                    push_token(pointer, key);
                    let out = self.path(child, rest, pointer, spec, descendant);
                    pointer.truncate(len);
                    out?;
                }
                Ok(())
            }
            (Segment::Each, Value::Array(items)) => {
                for (i, child) in items.iter().enumerate() {
                    push_token(pointer, &i.to_string());
                    let out = self.path(child, rest, pointer, spec, descendant);
                    pointer.truncate(len);
                    out?;
                }
                Ok(())
            }
            _ if descendant => Ok(()),
            _ => Err(MISMATCH),
        }
    }

    /// The resource walk (§5.11): every value in document order, not
    /// entering selected ones; an object with a `resourceType` starts the
    /// scope of its type's set (its paths are followed from it); the scope's
    /// descendant rules are tried at every value of the scope.
    fn walk(
        &mut self,
        value: &Value,
        pointer: &mut String,
        scope: Option<&'s ResourceSet>,
        depth: usize,
    ) -> Result<()> {
        if self.taken.contains(pointer.as_str()) {
            return Ok(());
        }
        if depth > MAX_DEPTH {
            return Err(Error::invalid_argument("record nested too deeply"));
        }
        let mut scope = scope;
        if let Some(t) = value.as_object().and_then(|m| m.get(RESOURCE_TYPE)) {
            let t = t.as_str().ok_or(Error::invalid_argument("resourceType must be a string"))?;
            scope = self.schema.resource_set(t);
            for spec in scope.map_or(&[][..], |set| &set.fixed) {
                self.path(value, &spec.segments, pointer, spec, false)?;
            }
        }
        for spec in scope.map_or(&[][..], |set| &set.descendant) {
            self.path(value, &spec.segments, pointer, spec, true)?;
        }
        let len = pointer.len();
        match value {
            Value::Object(map) => {
                for (key, child) in map.iter() {
                    push_token(pointer, key);
                    let out = self.walk(child, pointer, scope, depth + 1);
                    pointer.truncate(len);
                    out?;
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    push_token(pointer, &i.to_string());
                    let out = self.walk(child, pointer, scope, depth + 1);
                    pointer.truncate(len);
                    out?;
                }
            }
            _ => {}
        }
        Ok(())
    }
}
