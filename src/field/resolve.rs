//! Which values of a record a schema selects, and at which JSON Pointers
//! (docs/FORMAT.md §5.1 and §5.11).
//!
//! Selection runs on the record as given, before anything is sealed or
//! opened, and gives the same pointers for a record and for its sealed form:
//! the walk never enters a selected value, and every decision depends only on
//! clear members (object member names, array lengths, `resourceType`).

use std::collections::BTreeMap;

use super::schema::{FieldSpec, RESOURCE_TYPE, ResourceSet, Schema, Segment, push_token};
use crate::error::{Error, Result};
use crate::json::{MAX_DEPTH, Value};

/// A selected value: its RFC 6901 pointer, its position (member or element
/// index at each step) and the field that selected it.
pub(crate) struct Selected<'s> {
    pub(crate) pointer: String,
    steps: Vec<usize>,
    pub(crate) spec: &'s FieldSpec,
}

impl Selected<'_> {
    /// The selected value in `record` (the record it was selected in, or
    /// one with the same shape).
    pub(crate) fn get<'v>(&self, record: &'v Value) -> Option<&'v Value> {
        self.steps.iter().try_fold(record, |v, &i| match v {
            Value::Object(map) => map.values().nth(i),
            Value::Array(items) => items.get(i),
            _ => None,
        })
    }

    /// The selected value in `record`, mutable.
    pub(crate) fn get_mut<'v>(&self, record: &'v mut Value) -> Option<&'v mut Value> {
        self.steps.iter().try_fold(record, |v, &i| match v {
            Value::Object(map) => map.values_mut().nth(i),
            Value::Array(items) => items.get_mut(i),
            _ => None,
        })
    }
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
    let mut s = Selector {
        schema,
        out: Vec::new(),
        claims: vec![Claim::default()],
        at: Vec::new(),
        frames: vec![(Some(0), false)],
    };
    let mut pointer = String::new();
    for spec in schema.fields() {
        s.path(record, &spec.segments, &mut pointer, spec, false)?;
    }
    if schema.has_resources() {
        s.walk(record, &mut pointer, None, 0)?;
    }
    Ok(s.out)
}

/// A node of the tree of selected positions (index 0 is the record).
#[derive(Default)]
struct Claim {
    /// Step (member or element index) to node index. A map, not a list:
    /// a path through an array of N elements gives its node N children, and a
    /// linear scan per lookup would make selection quadratic in N.
    children: BTreeMap<usize, usize>,
    /// This position is selected.
    taken: bool,
    /// A position below this one is selected.
    below: bool,
    /// A path of `fields` or of a resource set steps through this position.
    route: bool,
}

struct Selector<'s> {
    schema: &'s Schema,
    out: Vec<Selected<'s>>,
    claims: Vec<Claim>,
    /// The position being visited.
    at: Vec<usize>,
    /// Per prefix of `at` (the record first): its claim node if made, and
    /// whether a position above it is selected; kept as the walk goes, so a
    /// lookup costs O(1), not O(depth) (a 60-level QuestionnaireResponse took
    /// seconds with a walk from the record at every lookup).
    frames: Vec<(Option<usize>, bool)>,
}

impl<'s> Selector<'s> {
    fn child(&self, node: usize, step: usize) -> Option<usize> {
        self.claims.get(node)?.children.get(&step).copied()
    }

    /// The claim node of the current position, if any, and whether a
    /// position above it is selected.
    fn lookup(&self) -> (Option<usize>, bool) {
        match self.frames.last() {
            Some(&(_, true)) => (None, true),
            Some(&(node, false)) => (node, false),
            None => (None, false),
        }
    }

    /// Steps into child `step` of the current position.
    fn enter(&mut self, step: usize) {
        let (parent, above) = self.frames.last().copied().unwrap_or((None, false));
        let above = above || parent.is_some_and(|n| self.claims.get(n).is_some_and(|c| c.taken));
        let node = parent.and_then(|n| self.child(n, step));
        self.at.push(step);
        self.frames.push((node, above));
    }

    /// Steps back to the parent position.
    fn leave(&mut self) {
        self.at.pop();
        self.frames.pop();
    }

    /// Whether the current position is selected.
    fn is_taken(&self) -> bool {
        matches!(self.lookup(), (Some(n), _) if self.claims.get(n).is_some_and(|c| c.taken))
    }

    /// Selects the current position for `spec`; a descendant rule skips a
    /// value selected already, inside one or holding one; a path of
    /// `fields` or of a resource set is refused.
    fn take(&mut self, pointer: &str, spec: &'s FieldSpec, descendant: bool) -> Result<()> {
        if self.schema.has_resources() && pointer.ends_with("/resourceType") {
            return Err(Error::invalid_argument("with resources, a schema path cannot select resourceType"));
        }
        let (overlaps, route) = match self.lookup() {
            (_, true) => (true, false),
            (Some(n), false) => self.claims.get(n).map_or((false, false), |c| (c.taken || c.below, c.route)),
            (None, false) => (false, false),
        };
        // A route position is never selected: a descendant rule leaves it
        // alone, a path is refused (another path steps through it; sealed,
        // it would be a string that path can no longer step through).
        if overlaps || route {
            return if descendant { Ok(()) } else { Err(OVERLAP) };
        }
        let node = self.node(true);
        if let Some(c) = self.claims.get_mut(node) {
            c.taken = true;
        }
        self.out.push(Selected { pointer: pointer.to_owned(), steps: self.at.clone(), spec });
        Ok(())
    }

    /// The claim node of the current position, made if missing; `below`
    /// marks the positions above it.
    fn node(&mut self, below: bool) -> usize {
        let mut node = 0;
        for i in 0..self.at.len() {
            let Some(&step) = self.at.get(i) else { break };
            if let Some(c) = self.claims.get_mut(node).filter(|_| below) {
                c.below = true;
            }
            node = match self.child(node, step) {
                Some(n) => n,
                None => {
                    let n = self.claims.len();
                    self.claims.push(Claim::default());
                    if let Some(c) = self.claims.get_mut(node) {
                        c.children.insert(step, n);
                    }
                    n
                }
            };
            if let Some(frame) = self.frames.get_mut(i + 1) {
                frame.0 = Some(node);
            }
        }
        node
    }

    /// Calls `f` on each child of `value` (member or element) that `step`
    /// reaches (every child when `step` is `None`), with the pointer and
    /// position extended; `Ok(false)` when `value` is not a container of the
    /// kind `step` needs.
    fn children(
        &mut self,
        value: &Value,
        step: Option<&Segment>,
        pointer: &mut String,
        f: &mut dyn FnMut(&mut Self, &Value, &mut String) -> Result<()>,
    ) -> Result<bool> {
        let len = pointer.len();
        let mut each = |s: &mut Self, i: usize, token: &str, child: &Value, pointer: &mut String| {
            push_token(pointer, token);
            s.enter(i);
            let out = f(s, child, pointer);
            s.leave();
            pointer.truncate(len);
            out
        };
        match (step, value) {
            (None | Some(Segment::Key(_) | Segment::Choice(_)), Value::Object(map)) => {
                for (i, (key, child)) in map.iter().enumerate() {
                    if step.is_none_or(|s| s.matches(key)) {
                        each(self, i, key, child, pointer)?;
                    }
                }
            }
            (None | Some(Segment::Each), Value::Array(items)) => {
                for (i, child) in items.iter().enumerate() {
                    each(self, i, &i.to_string(), child, pointer)?;
                }
            }
            (None, _) => {}
            _ => return Ok(false),
        }
        Ok(true)
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
        if !descendant && !self.at.is_empty() {
            // A path never steps through a selected value: in the sealed
            // record that value is a ciphertext string, and the path would
            // fail there (or select something else) where it passed here.
            let (node, above) = self.lookup();
            if above || node.is_some_and(|n| self.claims.get(n).is_some_and(|c| c.taken)) {
                return Err(OVERLAP);
            }
            // Descendant rules leave the route of a path alone, `null` and
            // empty containers included: the path steps through this value
            // in the sealed record too.
            let node = self.node(false);
            if let Some(c) = self.claims.get_mut(node) {
                c.route = true;
            }
        }
        if value.is_null() || (descendant && self.is_taken()) {
            return Ok(());
        }
        let matched = self.children(value, Some(first), pointer, &mut |s, child, pointer| {
            s.path(child, rest, pointer, spec, descendant)
        })?;
        if matched || descendant { Ok(()) } else { Err(MISMATCH) }
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
        if self.is_taken() {
            return Ok(());
        }
        if depth > MAX_DEPTH {
            return Err(Error::invalid_argument("record nested too deeply"));
        }
        let schema = self.schema;
        let mut scope = scope;
        if let Some(t) = value.as_object().and_then(|m| m.get(RESOURCE_TYPE)) {
            let t = t.as_str().ok_or(Error::invalid_argument("resourceType must be a string"))?;
            scope = schema.resource_set(t);
            for spec in scope.map_or(&[][..], |set| schema.set_fields(set).0) {
                self.path(value, &spec.segments, pointer, spec, false)?;
            }
        }
        for spec in scope.map_or(&[][..], |set| schema.set_fields(set).1) {
            self.path(value, &spec.segments, pointer, spec, true)?;
        }
        self.children(value, None, pointer, &mut |s, child, pointer| s.walk(child, pointer, scope, depth + 1))?;
        Ok(())
    }
}
