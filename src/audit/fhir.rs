//! Audit lines as FHIR R4 `AuditEvent` resources (docs/FORMAT.md §6.12).
//!
//! [`to_fhir`] turns a JSON Lines log into a `Bundle` of `AuditEvent`s a
//! FHIR server or a healthcare SIEM ingests: each entry's type, action,
//! time, outcome, user, client address, patient and resource are ordinary
//! FHIR elements (following the IHE Basic Audit Log Patterns where they
//! apply), and each event carries its audit line, unchanged, in the
//! `audit-chain` extension. [`from_fhir`] takes those events back, in any
//! order and with whatever `id`, `meta` and `text` a server added, and
//! rebuilds the log so [`super::verify_log_with`] verifies the chain and its
//! checkpoints again.
//!
//! The FHIR elements are a view of the carried line, which the chain and the
//! checkpoint signatures cover; the view itself is not signed. So
//! [`from_fhir`] rebuilds every event from its line and refuses an event
//! whose elements differ ([`ErrorCode::InvalidSignature`]): an edit of a
//! visible element (the user, the patient, the outcome) is refused even
//! though the line it carries still verifies.
//!
//! ```
//! use phiseal::audit::{AuditLog, Entry, VerifyOptions, fhir, verify_log_with};
//! use phiseal::sign::SigningKey;
//! let key = SigningKey::generate()?;
//! let mut log = AuditLog::new("clinic.example/audit-1")?;
//! log.append(Entry::new("dr-lee", "clinician", "view", 1_700_000_000_000).patient("p-17"))?;
//! log.checkpoint(&key, 1_700_000_000_500)?;
//! let bundle = fhir::to_fhir(&log.to_jsonl(), false)?;
//! let back = fhir::from_fhir(&phiseal::json::Value::parse(&bundle)?, None)?;
//! let opts = VerifyOptions { trusted: vec![key.verifying_key()], ..VerifyOptions::default() };
//! assert!(verify_log_with(&back.jsonl, &opts)?.valid);
//! # Ok::<(), phiseal::Error>(())
//! ```

use super::{Entry, Line};
use crate::error::{Error, ErrorCode, Result};
use crate::json::{Map, Value};

/// The extension that carries an event's audit line (and, for reading by
/// people and SIEM rules, its log id, sequence number and chain hash).
pub const CHAIN_EXTENSION: &str = "https://phiseal.dev/fhir/StructureDefinition/audit-chain";
/// The code system of phiseal's audit actions (`subtype`) and of the
/// checkpoint event type.
pub const ACTION_SYSTEM: &str = "https://phiseal.dev/fhir/CodeSystem/audit-action";

const EVENT_TYPE: &str = "http://terminology.hl7.org/CodeSystem/audit-event-type";
const DCM: &str = "http://dicom.nema.org/resources/ontology/DCM";
const RESTFUL: &str = "http://hl7.org/fhir/restful-interaction";
const PARTICIPATION: &str = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType";
const SOURCE_TYPE: &str = "http://terminology.hl7.org/CodeSystem/security-source-type";
const ENTITY_TYPE: &str = "http://terminology.hl7.org/CodeSystem/audit-entity-type";
const OBJECT_ROLE: &str = "http://terminology.hl7.org/CodeSystem/object-role";

/// Events read back from FHIR: the log as JSON Lines, in chain order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Imported {
    /// The log's lines (entries by `seq`, each checkpoint after the entry
    /// its tree size ends at), `\n`-terminated.
    pub jsonl: String,
    /// Entries read.
    pub entries: usize,
    /// Checkpoint lines read.
    pub checkpoints: usize,
    /// Resources skipped: not an `AuditEvent`, or an `AuditEvent` without
    /// phiseal's chain extension (a server's own events), or of another log
    /// than the one asked for.
    pub skipped: usize,
}

/// Compact JSON text, written piece by piece (far less wasm than building
/// [`Value`] trees element by element).
struct Json(String);

impl Json {
    #[inline(never)]
    fn raw(&mut self, s: &str) -> &mut Self {
        self.0.push_str(s);
        self
    }
    #[inline(never)]
    fn str(&mut self, s: &str) -> &mut Self {
        crate::json::write_string(s, &mut self.0);
        self
    }
    /// `"name":"value"` after a comma.
    #[inline(never)]
    fn member(&mut self, name: &str, value: &str) -> &mut Self {
        self.raw(",\"").raw(name).raw("\":").str(value)
    }
    #[inline(never)]
    fn coding(&mut self, c: Coding) -> &mut Self {
        self.raw("{\"system\":").str(c.0).raw(",\"code\":").str(c.1).raw(",\"display\":").str(c.2).raw("}")
    }
    /// `{"identifier":{"value":VALUE}}`
    #[inline(never)]
    fn identified(&mut self, value: &str) -> &mut Self {
        self.raw("{\"identifier\":{\"value\":").str(value).raw("}}")
    }
}

/// (system, code, display).
type Coding<'a> = (&'a str, &'a str, &'a str);

/// `ms` since the Unix epoch as a FHIR `instant` (UTC, milliseconds).
///
/// # Errors
/// [`ErrorCode::InvalidArgument`] after the year 9999 (an `instant` has four
/// year digits).
pub fn instant(ms: u64) -> Result<String> {
    if ms > 253_402_300_799_999 {
        return Err(Error::invalid_argument("an audit time after the year 9999 is not a FHIR instant"));
    }
    let (days, rem) = (ms / 86_400_000, ms % 86_400_000);
    // Days to a civil date (H. Hinnant's algorithm), for days >= 0.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    let (h, m, sec, milli) = (rem / 3_600_000, rem / 60_000 % 60, rem / 1000 % 60, rem % 1000);
    Ok(format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{sec:02}.{milli:03}Z"))
}

/// The FHIR view of an action: event type, RESTful subtype if any, and the
/// `AuditEvent.action` code.
fn action_view(action: &str) -> (Coding<'static>, Option<Coding<'static>>, &'static str) {
    const REST: Coding<'static> = (EVENT_TYPE, "rest", "RESTful Operation");
    let (kind, rest, act) = match action {
        "view" | "read" | "open" | "decrypt" => (REST, Some(("read", "read")), "R"),
        "create" | "seal" => (REST, Some(("create", "create")), "C"),
        "update" => (REST, Some(("update", "update")), "U"),
        "delete" => (REST, Some(("delete", "delete")), "D"),
        "search" => (REST, Some(("search-type", "search type")), "E"),
        "export" => ((DCM, "110106", "Export"), None, "R"),
        "import" => ((DCM, "110107", "Import"), None, "C"),
        "login" | "logout" => ((DCM, "110114", "User Authentication"), None, "E"),
        "break-glass" | "capture-attempt" | "watermark-tamper" | "key-rotate" | "grant" | "revoke" => {
            ((DCM, "110113", "Security Alert"), None, "E")
        }
        _ => ((DCM, "110100", "Application Activity"), None, "E"),
    };
    (kind, rest.map(|(code, display)| (RESTFUL, code, display)), act)
}

fn outcome_code(outcome: &str) -> &'static str {
    match outcome {
        "success" => "0",
        "denied" => "4",
        _ => "8",
    }
}

/// `{"resourceType":"AuditEvent","extension":[…]` with the line and the
/// members after it.
fn head(j: &mut Json, line: &str, members: &[(&str, &str)]) {
    j.raw("{\"resourceType\":\"AuditEvent\",\"extension\":[{\"url\":").str(CHAIN_EXTENSION);
    j.raw(",\"extension\":[{\"url\":\"line\",\"valueString\":").str(line).raw("}");
    for (url, v) in members {
        j.raw(",{\"url\":").str(url).raw(",\"valueString\":").str(v).raw("}");
    }
    j.raw("]}]");
}

fn source(j: &mut Json, site: &str, observer: &str, kind: Coding) {
    j.raw(",\"source\":{\"site\":").str(site).raw(",\"observer\":{\"display\":").str(observer);
    j.raw("},\"type\":[").coding(kind).raw("]}");
}

fn entry_event(j: &mut Json, e: &Entry, line: &str) -> Result<()> {
    let (kind, rest, act) = action_view(&e.action);
    head(j, line, &[("log", &e.log), ("seq", &e.seq.to_string()), ("hash", &e.hash)]);
    j.raw(",\"type\":").coding(kind).raw(",\"subtype\":[");
    if let Some(r) = rest {
        j.coding(r).raw(",");
    }
    j.raw("{\"system\":").str(ACTION_SYSTEM).raw(",\"code\":").str(&e.action).raw("}]");
    j.member("action", act).member("recorded", &instant(e.time)?).member("outcome", outcome_code(&e.outcome));
    if e.outcome != "success" {
        j.member("outcomeDesc", &e.outcome);
    }
    if let Some(r) = &e.reason {
        j.raw(",\"purposeOfEvent\":[{\"text\":").str(r).raw("}]");
    }
    j.raw(",\"agent\":[{\"type\":{\"coding\":[").coding((PARTICIPATION, "IRCP", "information recipient")).raw("]}");
    if !e.actor.role.is_empty() {
        j.raw(",\"role\":[{\"text\":").str(&e.actor.role).raw("}]");
    }
    j.raw(",\"who\":").identified(&e.actor.id).raw(",\"requestor\":true");
    if let Some(ip) = &e.client.ip {
        j.raw(",\"network\":{\"address\":").str(ip).raw(",\"type\":\"2\"}");
    }
    j.raw("}]");
    source(j, &e.log, e.client.device.as_deref().unwrap_or("phiseal"), (SOURCE_TYPE, "1", "User Device"));
    let object = e.resource.is_some() || e.field_path.is_some();
    if e.patient_id.is_some() || object {
        j.raw(",\"entity\":[");
        if let Some(p) = &e.patient_id {
            j.raw("{\"what\":").identified(p).raw(",\"type\":").coding((ENTITY_TYPE, "1", "Person"));
            j.raw(",\"role\":").coding((OBJECT_ROLE, "1", "Patient")).raw(if object { "}," } else { "}" });
        }
        if object {
            j.raw("{");
            if let Some(r) = &e.resource {
                j.raw("\"what\":").identified(r).raw(",");
            }
            j.raw("\"type\":").coding((ENTITY_TYPE, "2", "System Object"));
            if let Some(f) = &e.field_path {
                j.raw(",\"detail\":[{\"type\":\"fieldPath\",\"valueString\":").str(f).raw("}]");
            }
            j.raw("}");
        }
        j.raw("]");
    }
    j.raw("}");
    Ok(())
}

/// A checkpoint's origin, tree size and time.
fn checkpoint_facts(line: &Line) -> Option<(&str, u64, u64)> {
    match line {
        Line::Note(n) => Some((&n.body.origin, n.body.size, n.body.time)),
        Line::Checkpoint(c) => Some((&c.log, c.seq, c.time)),
        Line::Entry(_) => None,
    }
}

fn checkpoint_event(j: &mut Json, line: &Line, text: &str) -> Result<()> {
    let (origin, size, time) = checkpoint_facts(line).ok_or(BAD_EVENT)?;
    head(j, text, &[("log", origin), ("size", &size.to_string())]);
    j.raw(",\"type\":").coding((ACTION_SYSTEM, "checkpoint", "audit log checkpoint"));
    j.member("action", "E").member("recorded", &instant(time)?).member("outcome", "0");
    j.raw(",\"agent\":[{\"type\":{\"coding\":[").coding((DCM, "110153", "Source Role ID")).raw("]}");
    j.raw(",\"who\":").identified(origin).raw(",\"requestor\":false}]");
    source(j, origin, "phiseal", (SOURCE_TYPE, "4", "Application Server"));
    j.raw("}");
    Ok(())
}

/// Appends one line's `AuditEvent` (compact JSON).
fn event(j: &mut Json, line: &Line) -> Result<()> {
    let text = line.to_json();
    match line {
        Line::Entry(e) => entry_event(j, e, &text),
        _ => checkpoint_event(j, line, &text),
    }
}

/// A JSON Lines log as a FHIR R4 `Bundle` of `AuditEvent`s (compact JSON
/// text), one per line, in log order: `type` `collection`, or `transaction` (each entry a `POST
/// AuditEvent`, for a FHIR server to store in one go).
///
/// # Errors
/// [`ErrorCode::MalformedInput`] for a line that is not an audit line
/// (§6.1; nothing is verified here: [`super::verify_log_with`] does that);
/// [`ErrorCode::InvalidArgument`] for a time after the year 9999.
pub fn to_fhir(jsonl: &str, transaction: bool) -> Result<String> {
    let mut j = Json(String::new());
    j.raw("{\"resourceType\":\"Bundle\"").member("type", if transaction { "transaction" } else { "collection" });
    j.raw(",\"entry\":[");
    let mut first = true;
    for text in jsonl.split('\n') {
        let text = text.strip_suffix('\r').unwrap_or(text);
        if text.trim().is_empty() {
            continue;
        }
        let line = Line::from_json(text)?;
        j.raw(if first { "{\"resource\":" } else { ",{\"resource\":" });
        first = false;
        event(&mut j, &line)?;
        if transaction {
            j.raw(",\"request\":{\"method\":\"POST\",\"url\":\"AuditEvent\"}");
        }
        j.raw("}");
    }
    j.raw("]}");
    Ok(j.0)
}

/// The line an event carries, or `None` for an event without the chain
/// extension.
fn carried_line(event: &Map) -> Result<Option<String>> {
    let Some(Value::Array(exts)) = event.get("extension") else { return Ok(None) };
    let mut chain = exts.iter().filter(|x| x.get("url").and_then(Value::as_str) == Some(CHAIN_EXTENSION));
    let Some(ext) = chain.next() else { return Ok(None) };
    if chain.next().is_some() {
        return Err(Error::malformed("an AuditEvent with two audit-chain extensions"));
    }
    let Some(Value::Array(parts)) = ext.get("extension") else {
        return Err(Error::malformed("an audit-chain extension without its line"));
    };
    let mut lines = parts.iter().filter(|p| p.get("url").and_then(Value::as_str) == Some("line"));
    match (lines.next().and_then(|p| p.get("valueString")).and_then(Value::as_str), lines.next()) {
        (Some(line), None) => Ok(Some(line.to_owned())),
        _ => Err(Error::malformed("an audit-chain extension needs exactly one line")),
    }
}

/// Whether `event`, leaving out the members a FHIR server adds or may
/// rewrite (`id`, `meta`, `text`), is the event `view` (as JSON: members in
/// any order).
fn same_view(event: &Map, view: &str) -> Result<bool> {
    let Value::Object(view) = Value::parse(view)? else { return Ok(false) };
    let added = ["id", "meta", "text"];
    let mut kept = 0;
    for (k, v) in event.iter().filter(|(k, _)| !added.contains(&k.as_str())) {
        if view.get(k) != Some(v) {
            return Ok(false);
        }
        kept += 1;
    }
    Ok(kept == view.len())
}

fn resources(input: &Value) -> Result<Vec<&Value>> {
    match input {
        Value::Array(items) => Ok(items.iter().collect()),
        Value::Object(_) if input.get("resourceType").and_then(Value::as_str) == Some("Bundle") => {
            match input.get("entry") {
                None | Some(Value::Null) => Ok(Vec::new()),
                Some(Value::Array(entries)) => Ok(entries.iter().filter_map(|e| e.get("resource")).collect()),
                Some(_) => Err(Error::malformed("Bundle.entry must be an array")),
            }
        }
        Value::Object(_) => Ok(vec![input]),
        _ => Err(Error::malformed("expected a Bundle, an AuditEvent or an array of AuditEvents")),
    }
}

/// Reads `AuditEvent`s back into a log: `input` is a `Bundle` (any type: a
/// search result, the export), an array of resources or one `AuditEvent`.
/// Events come in any order and may repeat (a server that delivered one
/// twice); `log` picks one log when the input holds several.
///
/// # Errors
/// - [`ErrorCode::InvalidSignature`]: an event whose FHIR elements differ
///   from those of the line it carries (edited after export);
/// - [`ErrorCode::StaleVersion`]: two different entries with the same `seq`
///   (a fork);
/// - [`ErrorCode::InvalidArgument`]: events of several logs and no `log`;
/// - [`ErrorCode::MalformedInput`]: a carried line that is not an audit line,
///   or a malformed chain extension.
pub fn from_fhir(input: &Value, log: Option<&str>) -> Result<Imported> {
    let mut entries: Vec<(u64, String)> = Vec::new();
    let mut checkpoints: Vec<(u64, String)> = Vec::new();
    let mut logs: Vec<String> = Vec::new();
    let mut skipped = 0;
    for res in resources(input)? {
        let Value::Object(ev) = res else { return Err(Error::malformed("a resource must be a JSON object")) };
        if ev.get("resourceType").and_then(Value::as_str) != Some("AuditEvent") {
            skipped += 1;
            continue;
        }
        let Some(text) = carried_line(ev)? else {
            skipped += 1;
            continue;
        };
        let line = Line::from_json(&text)?;
        let (line_log, key) = match &line {
            Line::Entry(e) => (e.log.clone(), e.seq),
            other => {
                let (origin, size, _) = checkpoint_facts(other).ok_or(BAD_EVENT)?;
                (origin.to_owned(), size)
            }
        };
        if log.is_some_and(|l| l != line_log) {
            skipped += 1;
            continue;
        }
        let mut view = Json(String::new());
        event(&mut view, &line)?;
        if !same_view(ev, &view.0)? {
            return Err(Error::new(
                ErrorCode::InvalidSignature,
                "an AuditEvent's FHIR elements differ from the audit line it carries (edited after export)",
            ));
        }
        if !logs.contains(&line_log) {
            logs.push(line_log);
        }
        let canonical = line.to_json();
        let list = if matches!(line, Line::Entry(_)) { &mut entries } else { &mut checkpoints };
        list.push((key, canonical));
    }
    if logs.len() > 1 {
        return Err(Error::invalid_argument("the events belong to several logs: pass the log id to read one"));
    }
    // Sorted by (seq or size, line bytes) through the crate's one sort:
    // keys are the number in 20 decimal digits, then the line.
    let sorted = |list: &[(u64, String)]| -> Vec<String> {
        let keys: Vec<String> = list.iter().map(|(n, line)| format!("{n:020}{line}")).collect();
        let mut out: Vec<String> = crate::json::order_by_bytes(keys.iter().map(String::as_str))
            .into_iter()
            .map(|(k, _)| k.to_owned())
            .collect();
        out.dedup();
        out
    };
    let (entries, checkpoints) = (sorted(&entries), sorted(&checkpoints));
    let number = |key: &str| key.get(..20).unwrap_or_default().to_owned();
    if entries.windows(2).any(|w| w.first().map(|k| number(k)) == w.get(1).map(|k| number(k))) {
        return Err(Error::new(ErrorCode::StaleVersion, "two different audit entries with the same seq (a fork)"));
    }
    let mut jsonl = String::new();
    let mut next = checkpoints.iter().peekable();
    for key in &entries {
        while let Some(c) = next.next_if(|c| number(c) < number(key)) {
            jsonl.push_str(c.get(20..).unwrap_or_default());
            jsonl.push('\n');
        }
        jsonl.push_str(key.get(20..).unwrap_or_default());
        jsonl.push('\n');
    }
    for c in next {
        jsonl.push_str(c.get(20..).unwrap_or_default());
        jsonl.push('\n');
    }
    Ok(Imported { jsonl, entries: entries.len(), checkpoints: checkpoints.len(), skipped })
}

const BAD_EVENT: Error = Error::malformed("not a phiseal audit event");
