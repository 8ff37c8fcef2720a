//! The native `phiseal` command.
//!
//! ```text
//! phiseal vectors FILE...                 run upstream test-vector files, one line per file
//! phiseal check-phi SCHEMA.json FILE...   list PHI fields stored in plaintext (records: a JSON
//!                                         object or array per file, or JSON Lines)
//! phiseal audit verify LOG.jsonl --trust KEY... [--since CHECKPOINT] [--witness KEY...]
//!                       [--witnesses-required N] [--keep FILE]
//!                                         verify an audit log against trusted checkpoint keys
//!                                         (JWK or SPKI PEM files), the checkpoint note kept from
//!                                         an earlier run (the log must extend it) and witness
//!                                         keys (N of them must cosign; default all); --keep
//!                                         writes the checkpoint to keep for the next run
//! phiseal audit bench [N]                 native audit numbers for an N-entry log (default
//!                                         1,000,000): appends/s with the tree, verification,
//!                                         proof sizes and verification times; one JSON object
//!                                         per line (`make bench` runs it)
//! phiseal org init|issue|revoke|revocations|list DIR …
//!                                         the organisation's certificate authority
//!                                         (docs/TRUST.md; see src/bin/phiseal/org.rs)
//! phiseal recovery split|session|reseal|combine …
//!                                         the recovery key ceremony and a recovery
//!                                         (docs/FORMAT.md §9; see src/bin/phiseal/recovery.rs)
//! ```
//!
//! Exit status: 0 when every case passed (no plaintext PHI), 1 when any case
//! failed (plaintext PHI found), 2 on a usage error or an unreadable file.

use std::process::ExitCode;

use phiseal::conformance::{Report, run_file};

#[path = "phiseal/org.rs"]
mod org;
#[path = "phiseal/recovery.rs"]
mod recovery;

const USAGE: &str = "usage: phiseal vectors FILE...\n       phiseal check-phi SCHEMA.json FILE...\n       phiseal audit verify LOG.jsonl --trust KEY... [--since CHECKPOINT] [--witness KEY...] [--witnesses-required N] [--keep FILE]\n       phiseal org init|issue|revoke|revocations|list DIR ...\n       phiseal recovery split|session|reseal|combine ...";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.split_first() {
        Some((cmd, files)) if cmd == "vectors" && !files.is_empty() => vectors(files),
        Some((cmd, rest)) if cmd == "check-phi" && rest.len() >= 2 => check_phi(rest),
        Some((cmd, rest)) if cmd == "audit" && rest.first().is_some_and(|s| s == "verify") => {
            audit_verify(rest.get(1..).unwrap_or_default())
        }
        Some((cmd, rest)) if cmd == "org" => org::run(rest),
        Some((cmd, rest)) if cmd == "recovery" => recovery::run(rest),
        Some((cmd, rest)) if cmd == "audit" && rest.first().is_some_and(|s| s == "bench") => {
            match rest.get(1).map_or(Ok(1_000_000), |n| n.parse::<u64>()) {
                Ok(n) if n >= 2 => audit_bench(n),
                _ => {
                    eprintln!("{USAGE}");
                    ExitCode::from(2)
                }
            }
        }
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn vectors(files: &[String]) -> ExitCode {
    let mut total = Report::default();
    let mut unreadable = false;
    for file in files {
        let report = match std::fs::read_to_string(file) {
            Ok(text) => run_file(&text),
            Err(e) => {
                eprintln!("{file}: cannot read: {e}");
                unreadable = true;
                continue;
            }
        };
        println!("{file}: {} passed, {} failed, {} skipped", report.passed, report.failed, report.skipped);
        for reason in &report.skip_reasons {
            println!("    skipped: {reason}");
        }
        for failure in &report.failures {
            println!("    FAILED: {failure}");
        }
        total.passed += report.passed;
        total.failed += report.failed;
        total.skipped += report.skipped;
    }
    println!("total: {} passed, {} failed, {} skipped", total.passed, total.failed, total.skipped);
    if unreadable {
        ExitCode::from(2)
    } else if total.failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// The nightly compliance check: every PHI field of every record is sealed.
fn check_phi(args: &[String]) -> ExitCode {
    use phiseal::json::Value;
    let Some((schema_file, files)) = args.split_first() else { return ExitCode::from(2) };
    let schema = match std::fs::read_to_string(schema_file)
        .map_err(|e| e.to_string())
        .and_then(|t| phiseal::field::Schema::from_json(&t).map_err(|e| e.to_string()))
    {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{schema_file}: {e}");
            return ExitCode::from(2);
        }
    };
    let (mut records, mut leaks) = (0usize, 0usize);
    for file in files {
        let text = match std::fs::read_to_string(file) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("{file}: cannot read: {e}");
                return ExitCode::from(2);
            }
        };
        let values: Vec<Value> = match Value::parse(&text) {
            Ok(Value::Array(items)) => items,
            Ok(v) => vec![v],
            Err(_) => match text.lines().filter(|l| !l.trim().is_empty()).map(Value::parse).collect() {
                Ok(v) => v,
                Err(e) => {
                    eprintln!("{file}: not JSON or JSON Lines: {e}");
                    return ExitCode::from(2);
                }
            },
        };
        for (i, record) in values.iter().enumerate() {
            records += 1;
            match phiseal::field::verify_all_phi_encrypted(record, &schema) {
                Ok(paths) => {
                    for p in &paths {
                        println!("{file}: record {i}: plaintext PHI at {p}");
                    }
                    leaks += paths.len();
                }
                Err(e) => {
                    println!("{file}: record {i}: {e}");
                    leaks += 1;
                }
            }
        }
    }
    println!("{records} records checked, {leaks} plaintext PHI fields");
    if leaks == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

/// Options of `audit verify`, as given.
#[derive(Default)]
struct AuditArgs<'a> {
    trust: Vec<&'a str>,
    witness: Vec<&'a str>,
    since: Option<&'a str>,
    required: Option<&'a str>,
    keep: Option<&'a str>,
}

fn audit_args(rest: &[String]) -> Option<AuditArgs<'_>> {
    let mut a = AuditArgs::default();
    let mut list: Option<&mut Vec<&str>> = None;
    let mut it = rest.iter().map(String::as_str);
    while let Some(arg) = it.next() {
        match arg {
            "--trust" => list = Some(&mut a.trust),
            "--witness" => list = Some(&mut a.witness),
            "--since" | "--witnesses-required" | "--keep" => {
                let value = it.next().filter(|v| !v.starts_with("--"))?;
                let slot = match arg {
                    "--since" => &mut a.since,
                    "--keep" => &mut a.keep,
                    _ => &mut a.required,
                };
                if slot.replace(value).is_some() {
                    return None;
                }
                list = None;
            }
            flag if flag.starts_with("--") => return None,
            value => list.as_mut()?.push(value),
        }
    }
    Some(a)
}

fn read_keys(files: &[&str]) -> Result<Vec<phiseal::keys::PublicKey>, ExitCode> {
    files
        .iter()
        .map(|f| {
            std::fs::read_to_string(f)
                .map_err(|e| e.to_string())
                .and_then(|t| phiseal::audit::trusted_key(&t).map_err(|e| e.to_string()))
                .map_err(|e| {
                    eprintln!("{f}: {e}");
                    ExitCode::from(2)
                })
        })
        .collect()
}

/// `phiseal audit verify LOG --trust KEY... [--since CHECKPOINT] [--witness KEY...]
/// [--witnesses-required N] [--keep FILE]`: exit 0 if the log verifies, 1 if
/// it does not (the first bad line is printed), 2 on usage errors, an
/// unreadable file, or a kept checkpoint the trusted keys did not sign.
fn audit_verify(args: &[String]) -> ExitCode {
    let usage = || {
        eprintln!("{USAGE}");
        ExitCode::from(2)
    };
    let Some((log_file, rest)) = args.split_first() else { return usage() };
    let Some(a) = audit_args(rest) else { return usage() };
    if a.trust.is_empty() {
        return usage();
    }
    let (trusted, witnesses) = match (read_keys(&a.trust), read_keys(&a.witness)) {
        (Ok(t), Ok(w)) => (t, w),
        (Err(code), _) | (_, Err(code)) => return code,
    };
    let witnesses_required = match a.required.map(str::parse::<usize>) {
        None => witnesses.len(),
        Some(Ok(n)) => n,
        Some(Err(_)) => return usage(),
    };
    let since = match a.since.map(std::fs::read_to_string).transpose() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{}: cannot read: {e}", a.since.unwrap_or_default());
            return ExitCode::from(2);
        }
    };
    let text = match std::fs::read_to_string(log_file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{log_file}: cannot read: {e}");
            return ExitCode::from(2);
        }
    };
    let opts = phiseal::audit::VerifyOptions { trusted, since, witnesses, witnesses_required };
    let r = match phiseal::audit::verify_log_with(&text, &opts) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{}: {e}", a.since.unwrap_or("options"));
            return ExitCode::from(2);
        }
    };
    println!(
        "{log_file}: {} entries, {} checkpoints, last checkpoint at seq {}, {} entries after it (not authenticated: they could be cut or rewritten)",
        r.entries, r.checkpoints, r.last_checkpoint_seq, r.unsigned_tail
    );
    if opts.witnesses_required > 0 && r.valid {
        println!("cosigned by {} of the required witnesses ({} required)", r.witnessed, opts.witnesses_required);
    }
    match r.problem {
        None if r.valid => {
            if let (Some(file), Some(note)) = (a.keep, &r.checkpoint)
                && let Err(e) = std::fs::write(file, note)
            {
                eprintln!("{file}: cannot write: {e}");
                return ExitCode::from(2);
            }
            println!("VALID");
            ExitCode::SUCCESS
        }
        Some(p) => {
            println!(
                "INVALID at line {}{}: {} ({})",
                p.line,
                p.seq.map(|s| format!(" (seq {s})")).unwrap_or_default(),
                p.reason,
                p.code.as_str()
            );
            ExitCode::FAILURE
        }
        None => ExitCode::FAILURE,
    }
}

/// `phiseal audit bench [N]`: prints `{"metric", "value", "unit"}` lines.
/// Timings are measured, never asserted.
fn audit_bench(n: u64) -> ExitCode {
    use phiseal::audit::{
        AuditLog, Entry, VerifyOptions, tree_of, verify_consistency, verify_inclusion, verify_log_with,
    };
    use std::time::Instant;
    let row = |metric: &str, value: f64, unit: &str| {
        println!("{{\"metric\":\"{metric}\",\"value\":{value:.3},\"unit\":\"{unit}\"}}");
    };
    let run = || -> phiseal::Result<()> {
        let key = phiseal::sign::SigningKey::generate()?;
        let mut log = AuditLog::new("bench.example/audit")?;
        let entries: Vec<Entry> = (0..n)
            .map(|i| {
                let mut e = Entry::new("dr-lee", "clinician", "decrypt", 1_700_000_000_000 + i).patient("p-1");
                e.resource = Some("record-1".into());
                e.field_path = Some("/patient/ssn".into());
                e
            })
            .collect();
        let t = Instant::now();
        let mut signed = 0u32;
        let mut kept = None;
        for (i, e) in entries.into_iter().enumerate() {
            log.append(e)?;
            if (i + 1) % 1000 == 0 {
                let note = log.checkpoint(&key, 1_700_000_000_000)?;
                signed += 1;
                if (i as u64 + 1) == n / 2 {
                    kept = Some(note.to_text());
                }
            }
        }
        let secs = t.elapsed().as_secs_f64();
        row(
            &format!("append with tree and a signed checkpoint every 1000 ({n} entries, {signed} checkpoints)"),
            n as f64 / secs,
            "entries/s",
        );
        let mut bare = AuditLog::new("bench.example/bare")?;
        let t = Instant::now();
        for i in 0..n.min(200_000) {
            bare.append(Entry::new("dr-lee", "clinician", "decrypt", 1_700_000_000_000 + i).patient("p-1"))?;
        }
        row("append with tree, no checkpoint", n.min(200_000) as f64 / t.elapsed().as_secs_f64(), "entries/s");
        let text = log.to_jsonl();
        drop(log);
        let trusted = vec![key.verifying_key()];
        let t = Instant::now();
        let r = verify_log_with(
            &text,
            &VerifyOptions { trusted: trusted.clone(), since: kept, ..VerifyOptions::default() },
        )?;
        let secs = t.elapsed().as_secs_f64();
        if !r.valid {
            return Err(phiseal::Error::new(phiseal::ErrorCode::InvalidSignature, "bench log did not verify"));
        }
        row(&format!("verify {n} entries against a kept checkpoint (whole log)"), n as f64 / secs, "entries/s");
        row(&format!("verify {n} entries (whole log)"), secs * 1000.0, "ms");
        let t = Instant::now();
        let (tree, _) = tree_of(&text)?;
        row(
            &format!("build the tree of {n} entries from the log (for proofs)"),
            t.elapsed().as_secs_f64() * 1000.0,
            "ms",
        );
        let root = tree.root_at(n)?;
        let index = n / 2;
        let proof = tree.inclusion_proof(index, n)?;
        let leaf = tree.leaf(index).unwrap_or_default();
        let reps = 10_000u32;
        let t = Instant::now();
        for _ in 0..reps {
            verify_inclusion(index, n, &leaf, &proof, &root)?;
        }
        row(&format!("inclusion proof, entry {} of {n}: nodes", index + 1), proof.len() as f64, "hashes");
        row("inclusion proof size", (proof.len() * 32) as f64, "bytes");
        row("inclusion proof verification", t.elapsed().as_secs_f64() * 1e6 / f64::from(reps), "us");
        let old = n / 2 + 1;
        let old_root = tree.root_at(old)?;
        let proof = tree.consistency_proof(old, n)?;
        let t = Instant::now();
        for _ in 0..reps {
            verify_consistency(old, n, &old_root, &root, &proof)?;
        }
        row(&format!("consistency proof {old} -> {n}: nodes"), proof.len() as f64, "hashes");
        row("consistency proof size", (proof.len() * 32) as f64, "bytes");
        row("consistency proof verification", t.elapsed().as_secs_f64() * 1e6 / f64::from(reps), "us");
        Ok(())
    };
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("audit bench: {e}");
            ExitCode::FAILURE
        }
    }
}
