//! Access alerts over a verified audit log (docs/FORMAT.md §6.9): many
//! distinct patients in a short window, access outside working hours, and
//! repeated failed or denied attempts. They run only on a log that verified
//! against trusted keys ([`access_alerts`] refuses anything else), and each
//! alert names the lines and sequence numbers it rests on.
//!
//! ```
//! use phiseal::audit::{AlertRules, AuditLog, Entry, VerifyOptions, access_alerts};
//! use phiseal::sign::SigningKey;
//! let key = SigningKey::generate()?;
//! let mut log = AuditLog::new("s")?;
//! let t0 = 1_700_000_000_000; // 22:13 UTC: outside 08-18
//! log.append(Entry::new("dr-lee", "clinician", "view", t0).patient("p-1"))?;
//! log.checkpoint(&key, t0)?;
//! let opts = VerifyOptions { trusted: vec![key.verifying_key()], ..VerifyOptions::default() };
//! let (_, alerts) = access_alerts(&log.to_jsonl(), &opts, &AlertRules::default())?;
//! assert_eq!(alerts[0].seqs, vec![1]);
//! # Ok::<(), phiseal::Error>(())
//! ```

use super::{Report, VerifyOptions, verify_collecting};
use crate::error::{Error, ErrorCode, Result};
use crate::json::{Map, Value};

/// Which rule an alert comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AlertKind {
    /// One user touched at least the threshold of distinct patients within the window.
    DistinctPatients,
    /// An access outside the role's working hours.
    OffHours,
    /// More failed or denied attempts by one user within the window than allowed.
    FailedAttempts,
}

impl AlertKind {
    /// `distinct-patients`, `off-hours` or `failed-attempts`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::DistinctPatients => "distinct-patients",
            Self::OffHours => "off-hours",
            Self::FailedAttempts => "failed-attempts",
        }
    }
}

/// Thresholds. Hours are `[from, to)` in local time at `utc_offset_minutes`
/// from UTC (default 0: UTC); `from > to` spans midnight. Per-role lists are
/// `(role, value)` pairs (the first match counts); they stay short, and a
/// list keeps the wasm build smaller than a map.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertRules {
    /// Distinct patients that raise an alert (default 10).
    pub distinct_patients: usize,
    /// Per-role override of `distinct_patients`.
    pub distinct_patients_by_role: Vec<(String, usize)>,
    /// Window for distinct patients, ms (default 5 minutes).
    pub patients_window_ms: u64,
    /// Working hours (default 08–18).
    pub hours: (u8, u8),
    /// Per-role override of `hours`.
    pub hours_by_role: Vec<(String, (u8, u8))>,
    /// Offset of local time from UTC, minutes (default 0).
    pub utc_offset_minutes: i32,
    /// Failed or denied attempts allowed per user within the window (default
    /// 3: the 4th raises an alert).
    pub max_failures: usize,
    /// Window for failed attempts, ms (default 15 minutes).
    pub failures_window_ms: u64,
}

impl Default for AlertRules {
    fn default() -> Self {
        Self {
            distinct_patients: 10,
            distinct_patients_by_role: Vec::new(),
            patients_window_ms: 5 * 60 * 1000,
            hours: (8, 18),
            hours_by_role: Vec::new(),
            utc_offset_minutes: 0,
            max_failures: 3,
            failures_window_ms: 15 * 60 * 1000,
        }
    }
}

/// One alert.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alert {
    /// The rule.
    pub kind: AlertKind,
    /// The user.
    pub actor_id: String,
    /// The user's role (on the last entry).
    pub role: String,
    /// Sequence numbers of the entries it rests on.
    pub seqs: Vec<u64>,
    /// Their 1-based line numbers in the log.
    pub lines: Vec<usize>,
    /// Time of the last of them (Unix ms).
    pub time: u64,
    /// Whether every one of them is covered by a checkpoint that counts
    /// (false: some are in the unsigned tail).
    pub authenticated: bool,
}

fn by_role<T: Copy>(list: &[(String, T)], role: &str, default: T) -> T {
    list.iter().find(|(r, _)| r == role).map_or(default, |(_, v)| *v)
}

fn in_hours(time_ms: u64, offset_min: i32, (from, to): (u8, u8)) -> bool {
    let local = i128::from(time_ms / 1000) + i128::from(offset_min) * 60;
    let hour = u8::try_from(local.rem_euclid(86_400) / 3600).unwrap_or(0);
    if from <= to { hour >= from && hour < to } else { hour >= from || hour < to }
}

/// Verifies `jsonl` with `opts` and runs the alert rules on its entries.
///
/// # Errors
/// As [`super::Verifier::with_options`]; [`ErrorCode::InvalidSignature`]
/// when the log does not verify or is not authenticated (no trusted keys):
/// alerts never run on a log that could have been rewritten.
/// [`ErrorCode::InvalidArgument`] for hours above 24 or zero thresholds.
pub fn access_alerts(jsonl: &str, opts: &VerifyOptions, rules: &AlertRules) -> Result<(Report, Vec<Alert>)> {
    let bad_hours = |(a, b): (u8, u8)| a > 24 || b > 24;
    if bad_hours(rules.hours)
        || rules.hours_by_role.iter().any(|(_, h)| bad_hours(*h))
        || rules.distinct_patients == 0
        || rules.distinct_patients_by_role.iter().any(|(_, n)| *n == 0)
    {
        return Err(Error::invalid_argument("alert hours must be 0-24 and thresholds at least 1"));
    }
    let (report, entries) = verify_collecting(jsonl, opts)?;
    if !report.valid || !report.authenticated {
        return Err(Error::new(
            ErrorCode::InvalidSignature,
            "the audit log did not verify against trusted keys: alerts run only on a verified log",
        ));
    }
    let covered = report.last_checkpoint_seq;
    let alert = |kind, hits: &[usize]| {
        let last = hits.last().and_then(|i| entries.get(*i)).map(|(_, e)| e);
        let pick = |i: &usize| entries.get(*i);
        Alert {
            kind,
            actor_id: last.map(|e| e.actor.id.clone()).unwrap_or_default(),
            role: last.map(|e| e.actor.role.clone()).unwrap_or_default(),
            seqs: hits.iter().filter_map(pick).map(|(_, e)| e.seq).collect(),
            lines: hits.iter().filter_map(pick).map(|(l, _)| *l).collect(),
            time: last.map_or(0, |e| e.time),
            authenticated: hits.iter().filter_map(pick).all(|(_, e)| e.seq <= covered),
        }
    };
    // One pass in log order; each user's windows found by binary search in a
    // list sorted by actor id (no map, no sort: alerts come out in the order
    // of the entry that raised them, off-hours, then failures, then patients).
    let mut users: Vec<(&str, Vec<usize>, Vec<usize>)> = Vec::new();
    let mut alerts = Vec::new();
    for (i, (_, e)) in entries.iter().enumerate() {
        if !in_hours(e.time, rules.utc_offset_minutes, by_role(&rules.hours_by_role, &e.actor.role, rules.hours)) {
            alerts.push(alert(AlertKind::OffHours, &[i]));
        }
        let id = e.actor.id.as_str();
        let at = match users.binary_search_by(|(u, _, _)| (*u).cmp(id)) {
            Ok(at) => at,
            Err(at) => {
                users.insert(at, (id, Vec::new(), Vec::new()));
                at
            }
        };
        let Some((_, recent, failures)) = users.get_mut(at) else { continue };
        let older =
            |j: &usize, window: u64| entries.get(*j).is_some_and(|(_, f)| e.time.saturating_sub(f.time) > window);
        if e.outcome == "failure" || e.outcome == "denied" {
            failures.push(i);
            failures.retain(|j| !older(j, rules.failures_window_ms));
            if failures.len() > rules.max_failures {
                alerts.push(alert(AlertKind::FailedAttempts, failures));
                failures.clear();
            }
        }
        if let Some(patient) = e.patient_id.as_deref() {
            recent.retain(|j| entries.get(*j).is_some_and(|(_, r)| r.patient_id.as_deref() != Some(patient)));
            recent.push(i);
            recent.retain(|j| !older(j, rules.patients_window_ms));
            if recent.len() >= by_role(&rules.distinct_patients_by_role, &e.actor.role, rules.distinct_patients) {
                alerts.push(alert(AlertKind::DistinctPatients, recent));
                recent.clear();
            }
        }
    }
    Ok((report, alerts))
}

const BAD_RULES: Error = Error::new(
    ErrorCode::InvalidArgument,
    "alert rules are {distinctPatients, distinctPatientsByRole, patientsWindowMs, hours: [from, to], hoursByRole, utcOffsetMinutes, maxFailures, failuresWindowMs}",
);

fn uint(v: &Value) -> Result<u64> {
    v.as_u64().ok_or(BAD_RULES)
}

fn hour_pair(v: &Value) -> Result<(u8, u8)> {
    match v {
        Value::Array(a) => match a.as_slice() {
            [f, t] => {
                Ok((u8::try_from(uint(f)?).map_err(|_| BAD_RULES)?, u8::try_from(uint(t)?).map_err(|_| BAD_RULES)?))
            }
            _ => Err(BAD_RULES),
        },
        _ => Err(BAD_RULES),
    }
}

fn role_list<T>(v: &Value, each: impl Fn(&Value) -> Result<T>) -> Result<Vec<(String, T)>> {
    let Value::Object(m) = v else { return Err(BAD_RULES) };
    m.iter().map(|(k, v)| Ok((k.clone(), each(v)?))).collect()
}

impl AlertRules {
    /// Rules from JSON (every member optional; defaults as [`AlertRules::default`]).
    ///
    /// # Errors
    /// [`ErrorCode::InvalidArgument`] for an unknown member or a value of the wrong type.
    pub fn from_json(text: &str) -> Result<Self> {
        let Ok(Value::Object(m)) = Value::parse(text) else { return Err(BAD_RULES) };
        let mut r = Self::default();
        let size = |v: &Value| usize::try_from(uint(v)?).map_err(|_| BAD_RULES);
        for (k, v) in m.iter() {
            match k.as_str() {
                "distinctPatients" => r.distinct_patients = size(v)?,
                "distinctPatientsByRole" => r.distinct_patients_by_role = role_list(v, size)?,
                "patientsWindowMs" => r.patients_window_ms = uint(v)?,
                "hours" => r.hours = hour_pair(v)?,
                "hoursByRole" => r.hours_by_role = role_list(v, hour_pair)?,
                "utcOffsetMinutes" => {
                    let Value::Number(n) = v else { return Err(BAD_RULES) };
                    r.utc_offset_minutes = n.as_str().parse().map_err(|_| BAD_RULES)?;
                    if r.utc_offset_minutes.abs() > 24 * 60 {
                        return Err(BAD_RULES);
                    }
                }
                "maxFailures" => r.max_failures = size(v)?,
                "failuresWindowMs" => r.failures_window_ms = uint(v)?,
                _ => return Err(BAD_RULES),
            }
        }
        Ok(r)
    }
}

impl Alert {
    /// `{kind, actorId, role, seqs, lines, time, authenticated}`.
    #[must_use]
    pub fn to_value(&self) -> Value {
        let mut o = Map::new();
        o.insert("kind".into(), self.kind.as_str().into());
        o.insert("actorId".into(), self.actor_id.as_str().into());
        o.insert("role".into(), self.role.as_str().into());
        o.insert("seqs".into(), Value::Array(self.seqs.iter().map(|s| Value::from(*s)).collect()));
        o.insert("lines".into(), Value::Array(self.lines.iter().map(|s| Value::from(*s)).collect()));
        o.insert("time".into(), self.time.into());
        o.insert("authenticated".into(), self.authenticated.into());
        Value::Object(o)
    }
}
