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
//! let back = fhir::from_fhir(&bundle, None)?;
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

fn obj(members: Vec<(&str, Value)>) -> Value {
    Value::Object(members.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

fn s(text: &str) -> Value {
    Value::from(text)
}

fn coding(system: &str, code: &str, display: &str) -> Value {
    obj(vec![("system", s(system)), ("code", s(code)), ("display", s(display))])
}

fn ext_string(url: &str, value: &str) -> Value {
    obj(vec![("url", s(url)), ("valueString", s(value))])
}

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
fn action_view(action: &str) -> (Value, Option<Value>, &'static str) {
    let rest = |code: &str, display: &str, act| {
        (coding(EVENT_TYPE, "rest", "RESTful Operation"), Some(coding(RESTFUL, code, display)), act)
    };
    match action {
        "view" | "read" | "open" | "decrypt" => rest("read", "read", "R"),
        "create" | "seal" => rest("create", "create", "C"),
        "update" => rest("update", "update", "U"),
        "delete" => rest("delete", "delete", "D"),
        "search" => rest("search-type", "search type", "E"),
        "export" => (coding(DCM, "110106", "Export"), None, "R"),
        "import" => (coding(DCM, "110107", "Import"), None, "C"),
        "login" | "logout" => (coding(DCM, "110114", "User Authentication"), None, "E"),
        "break-glass" | "capture-attempt" | "watermark-tamper" | "key-rotate" | "grant" | "revoke" => {
            (coding(DCM, "110113", "Security Alert"), None, "E")
        }
        _ => (coding(DCM, "110100", "Application Activity"), None, "E"),
    }
}

fn outcome_code(outcome: &str) -> &'static str {
    match outcome {
        "success" => "0",
        "denied" => "4",
        _ => "8",
    }
}

fn chain_extension(line: &str, members: Vec<(&str, &str)>) -> Value {
    let mut ext = vec![ext_string("line", line)];
    ext.extend(members.into_iter().map(|(url, v)| ext_string(url, v)));
    Value::Array(vec![obj(vec![("url", s(CHAIN_EXTENSION)), ("extension", Value::Array(ext))])])
}

fn entry_event(e: &Entry, line: &str) -> Result<Value> {
    let (kind, rest, act) = action_view(&e.action);
    let mut subtype = Vec::new();
    subtype.extend(rest);
    subtype.push(obj(vec![("system", s(ACTION_SYSTEM)), ("code", s(&e.action))]));
    let mut agent = vec![
        ("type", obj(vec![("coding", Value::Array(vec![coding(PARTICIPATION, "IRCP", "information recipient")]))])),
    ];
    if !e.actor.role.is_empty() {
        agent.push(("role", Value::Array(vec![obj(vec![("text", s(&e.actor.role))])])));
    }
    agent.push(("who", obj(vec![("identifier", obj(vec![("value", s(&e.actor.id))]))])));
    agent.push(("requestor", Value::Bool(true)));
    if let Some(ip) = &e.client.ip {
        agent.push(("network", obj(vec![("address", s(ip)), ("type", s("2"))])));
    }
    let mut entity = Vec::new();
    if let Some(p) = &e.patient_id {
        entity.push(obj(vec![
            ("what", obj(vec![("identifier", obj(vec![("value", s(p))]))])),
            ("type", coding(ENTITY_TYPE, "1", "Person")),
            ("role", coding(OBJECT_ROLE, "1", "Patient")),
        ]));
    }
    if e.resource.is_some() || e.field_path.is_some() {
        let mut m = Vec::new();
        if let Some(r) = &e.resource {
            m.push(("what", obj(vec![("identifier", obj(vec![("value", s(r))]))])));
        }
        m.push(("type", coding(ENTITY_TYPE, "2", "System Object")));
        if let Some(f) = &e.field_path {
            m.push(("detail", Value::Array(vec![obj(vec![("type", s("fieldPath")), ("valueString", s(f))])])));
        }
        entity.push(obj(m));
    }
    let seq = e.seq.to_string();
    let mut ev = vec![
        ("resourceType", s("AuditEvent")),
        ("extension", chain_extension(line, vec![("log", &e.log), ("seq", &seq), ("hash", &e.hash)])),
        ("type", kind),
        ("subtype", Value::Array(subtype)),
        ("action", s(act)),
        ("recorded", s(&instant(e.time)?)),
        ("outcome", s(outcome_code(&e.outcome))),
    ];
    if e.outcome != "success" {
        ev.push(("outcomeDesc", s(&e.outcome)));
    }
    if let Some(r) = &e.reason {
        ev.push(("purposeOfEvent", Value::Array(vec![obj(vec![("text", s(r))])])));
    }
    ev.push(("agent", Value::Array(vec![obj(agent)])));
    ev.push(("source", source(&e.log, e.client.device.as_deref().unwrap_or("phiseal"), "1", "User Device")));
    if !entity.is_empty() {
        ev.push(("entity", Value::Array(entity)));
    }
    Ok(obj(ev))
}

fn source(site: &str, observer: &str, code: &str, display: &str) -> Value {
    obj(vec![
        ("site", s(site)),
        ("observer", obj(vec![("display", s(observer))])),
        ("type", Value::Array(vec![coding(SOURCE_TYPE, code, display)])),
    ])
}

/// A checkpoint's origin, tree size and time.
fn checkpoint_facts(line: &Line) -> Option<(&str, u64, u64)> {
    match line {
        Line::Note(n) => Some((&n.body.origin, n.body.size, n.body.time)),
        Line::Checkpoint(c) => Some((&c.log, c.seq, c.time)),
        Line::Entry(_) => None,
    }
}

fn checkpoint_event(line: &Line, text: &str) -> Result<Value> {
    let (origin, size, time) = checkpoint_facts(line).ok_or(Error::malformed("not a checkpoint line"))?;
    let size = size.to_string();
    Ok(obj(vec![
        ("resourceType", s("AuditEvent")),
        ("extension", chain_extension(text, vec![("log", origin), ("size", &size)])),
        ("type", coding(ACTION_SYSTEM, "checkpoint", "audit log checkpoint")),
        ("action", s("E")),
        ("recorded", s(&instant(time)?)),
        ("outcome", s("0")),
        (
            "agent",
            Value::Array(vec![obj(vec![
                ("type", obj(vec![("coding", Value::Array(vec![coding(DCM, "110153", "Source Role ID")]))])),
                ("who", obj(vec![("identifier", obj(vec![("value", s(origin))]))])),
                ("requestor", Value::Bool(false)),
            ])]),
        ),
        ("source", source(origin, "phiseal", "4", "Application Server")),
    ]))
}

/// One line's `AuditEvent`.
fn event(line: &Line) -> Result<Value> {
    let text = line.to_json();
    match line {
        Line::Entry(e) => entry_event(e, &text),
        _ => checkpoint_event(line, &text),
    }
}

/// A JSON Lines log as a FHIR R4 `Bundle` of `AuditEvent`s, one per line, in
/// log order: `type` `collection`, or `transaction` (each entry a `POST
/// AuditEvent`, for a FHIR server to store in one go).
///
/// # Errors
/// [`ErrorCode::MalformedInput`] for a line that is not an audit line
/// (§6.1; nothing is verified here: [`super::verify_log_with`] does that);
/// [`ErrorCode::InvalidArgument`] for a time after the year 9999.
pub fn to_fhir(jsonl: &str, transaction: bool) -> Result<Value> {
    let mut entries = Vec::new();
    for text in jsonl.split('\n') {
        let text = text.strip_suffix('\r').unwrap_or(text);
        if text.trim().is_empty() {
            continue;
        }
        let line = Line::from_json(text)?;
        let mut m = vec![("resource", event(&line)?)];
        if transaction {
            m.push(("request", obj(vec![("method", s("POST")), ("url", s("AuditEvent"))])));
        }
        entries.push(obj(m));
    }
    let kind = if transaction { "transaction" } else { "collection" };
    Ok(obj(vec![("resourceType", s("Bundle")), ("type", s(kind)), ("entry", Value::Array(entries))]))
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

/// The event with the members a FHIR server adds or may rewrite
/// (`id`, `meta`, `text`) removed.
fn comparable(mut event: Map) -> Value {
    for m in ["id", "meta", "text"] {
        event.remove(m);
    }
    Value::Object(event)
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
        if comparable(ev.clone()) != event(&line)? {
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

#[cfg(test)]
mod tests {
    use super::instant;

    #[test]
    fn instants_are_utc_with_milliseconds() {
        assert_eq!(instant(0).unwrap(), "1970-01-01T00:00:00.000Z");
        assert_eq!(instant(1_700_000_000_123).unwrap(), "2023-11-14T22:13:20.123Z");
        assert_eq!(instant(951_782_400_000).unwrap(), "2000-02-29T00:00:00.000Z");
        assert_eq!(instant(253_402_300_799_999).unwrap(), "9999-12-31T23:59:59.999Z");
        assert!(instant(253_402_300_800_000).is_err());
    }
}
