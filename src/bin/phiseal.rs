//! The native `phiseal` command.
//!
//! ```text
//! phiseal vectors FILE...   run upstream test-vector files, one line per file
//! ```
//!
//! Exit status: 0 when every case passed, 1 when any case failed, 2 on a
//! usage error or an unreadable file.

use std::process::ExitCode;

use phiseal::conformance::{Report, run_file};

const USAGE: &str = "usage: phiseal vectors FILE...";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.split_first() {
        Some((cmd, files)) if cmd == "vectors" && !files.is_empty() => vectors(files),
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
