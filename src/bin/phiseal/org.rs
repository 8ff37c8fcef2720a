//! `phiseal org …`: the organisation's certificate authority on the machine
//! that runs it (docs/TRUST.md). The root private key is written once, to
//! `DIR/root.key.pem` (mode 0600 on Unix), and never printed; everything
//! else this command prints or writes is public.
//!
//! ```text
//! phiseal org init DIR                       a new root: DIR/root.key.pem, DIR/root.pub.jwk (pin this in the app)
//! phiseal org issue DIR --subject ID --name NAME --role ROLE --purposes encrypt,sign,media,certify
//!                   [--groups a,b] [--days N] KEY.jwk|KEY.pem
//!                                            prints the certificate; records it in DIR/issued.jsonl
//! phiseal org revoke DIR SERIAL...           records revocations in DIR/revoked.txt
//! phiseal org revocations DIR [--hours N]    prints a revocation list valid for N hours (default 24)
//! phiseal org list DIR                       the certificates issued, one JSON object per line, with "revoked"
//! ```
//!
//! Exit status: 0 on success, 2 on a usage error, an unreadable or invalid
//! file, or a refused argument.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use phiseal::json::{Map, Value};
use phiseal::keys::PrivateKey;
use phiseal::sign::SigningKey;
use phiseal::trust::{Certificate, Claims, Purpose, issue, issue_revocations};

const USAGE: &str = "usage: phiseal org init DIR\n       phiseal org issue DIR --subject ID --name NAME --role ROLE --purposes P,... [--groups G,...] [--days N] KEY\n       phiseal org revoke DIR SERIAL...\n       phiseal org revocations DIR [--hours N]\n       phiseal org list DIR";

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("phiseal org: {message}");
    ExitCode::from(2)
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn root_key(dir: &Path) -> Result<SigningKey, String> {
    let pem = fs::read_to_string(dir.join("root.key.pem"))
        .map_err(|e| format!("{}: {e}", dir.join("root.key.pem").display()))?;
    let key = PrivateKey::from_pkcs8_pem(&pem).map_err(|e| format!("root.key.pem: {e}"))?;
    SigningKey::from_scalar_bytes(&key.to_scalar_bytes()[..]).map_err(|e| e.to_string())
}

/// Runs `phiseal org ARGS`.
pub fn run(args: &[String]) -> ExitCode {
    let Some((cmd, rest)) = args.split_first() else { return fail(USAGE) };
    let Some((dir, rest)) = rest.split_first() else { return fail(USAGE) };
    let dir = PathBuf::from(dir);
    let result = match cmd.as_str() {
        "init" if rest.is_empty() => init(&dir),
        "issue" => issue_cmd(&dir, rest),
        "revoke" if !rest.is_empty() => revoke(&dir, rest),
        "revocations" => revocations(&dir, rest),
        "list" if rest.is_empty() => list(&dir),
        _ => Err(USAGE.to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => fail(message),
    }
}

fn init(dir: &Path) -> Result<(), String> {
    let key_path = dir.join("root.key.pem");
    if key_path.exists() {
        return Err(format!("{} exists: refusing to replace a root key", key_path.display()));
    }
    fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let key = SigningKey::generate().map_err(|e| e.to_string())?;
    let pem = PrivateKey::from_scalar_bytes(&key.to_scalar_bytes()[..]).map_err(|e| e.to_string())?.to_pkcs8_pem();
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&key_path).map_err(|e| format!("{}: {e}", key_path.display()))?;
    file.write_all(pem.as_bytes()).map_err(|e| e.to_string())?;
    let public = key.verifying_key();
    fs::write(dir.join("root.pub.jwk"), format!("{}\n", public.to_jwk().to_json().as_str()))
        .map_err(|e| e.to_string())?;
    println!("{}", public.kid());
    Ok(())
}

fn flag<'a>(rest: &'a [String], name: &str) -> Option<&'a str> {
    rest.iter().position(|a| a == name).and_then(|i| rest.get(i + 1)).map(String::as_str)
}

fn issue_cmd(dir: &Path, rest: &[String]) -> Result<(), String> {
    const FLAGS: [&str; 6] = ["--subject", "--name", "--role", "--purposes", "--groups", "--days"];
    let mut positional = Vec::new();
    let mut i = 0;
    while let Some(a) = rest.get(i) {
        if FLAGS.contains(&a.as_str()) {
            i += 2;
        } else if a.starts_with("--") {
            return Err(format!("unknown option {a}\n{USAGE}"));
        } else {
            positional.push(a);
            i += 1;
        }
    }
    let [key_file] = positional.as_slice() else { return Err(format!("one KEY file is needed\n{USAGE}")) };
    let need = |name: &str| flag(rest, name).ok_or(format!("{name} is required\n{USAGE}"));
    let purposes =
        need("--purposes")?.split(',').map(Purpose::parse).collect::<Result<Vec<_>, _>>().map_err(|e| e.to_string())?;
    let groups: Vec<&str> =
        flag(rest, "--groups").map_or_else(Vec::new, |g| g.split(',').filter(|s| !s.is_empty()).collect());
    let days: u64 =
        flag(rest, "--days").map_or(Ok(365), str::parse).map_err(|_| "--days must be a whole number".to_owned())?;
    if days == 0 || days > 3650 {
        return Err("--days must be from 1 to 3650".into());
    }
    let text = fs::read_to_string(key_file).map_err(|e| format!("{key_file}: {e}"))?;
    if text.contains("PRIVATE KEY") || Value::parse(&text).is_ok_and(|v| v.get("d").is_some()) {
        return Err(format!("{key_file}: a private key; pass the member's public key (JWK or SPKI PEM)"));
    }
    let key = phiseal::audit::trusted_key(&text).map_err(|e| format!("{key_file}: {e}"))?;
    let root = root_key(dir)?;
    let t = now();
    let claims = Claims::new(need("--subject")?, need("--name")?, need("--role")?, key, t, t + days * 86_400)
        .groups(&groups)
        .purposes(&purposes);
    let cert = issue(&claims, &root, t).map_err(|e| e.to_string())?;
    let parsed = Certificate::parse(&cert).map_err(|e| e.to_string())?;
    let mut line = Map::default();
    line.insert("serial".into(), Value::String(parsed.claims.serial.clone()));
    line.insert("subject".into(), Value::String(parsed.claims.subject.clone()));
    line.insert("kid".into(), Value::String(parsed.claims.key.kid()));
    line.insert("certificate".into(), Value::String(cert.clone()));
    let mut log =
        fs::OpenOptions::new().append(true).create(true).open(dir.join("issued.jsonl")).map_err(|e| e.to_string())?;
    writeln!(log, "{}", Value::Object(line).to_json()).map_err(|e| e.to_string())?;
    println!("{cert}");
    Ok(())
}

fn issued(dir: &Path) -> Result<Vec<Map>, String> {
    let text = match fs::read_to_string(dir.join("issued.jsonl")) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e.to_string()),
    };
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|l| match Value::parse(l) {
            Ok(Value::Object(m)) => Ok(m),
            _ => Err("issued.jsonl: a line is not a JSON object".to_owned()),
        })
        .collect()
}

fn revoked(dir: &Path) -> Result<Vec<String>, String> {
    match fs::read_to_string(dir.join("revoked.txt")) {
        Ok(t) => Ok(t.lines().filter(|l| !l.is_empty()).map(str::to_owned).collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e.to_string()),
    }
}

fn revoke(dir: &Path, serials: &[String]) -> Result<(), String> {
    let known = issued(dir)?;
    for s in serials {
        if !known.iter().any(|m| m.get("serial").and_then(Value::as_str) == Some(s.as_str())) {
            return Err(format!("{s}: no certificate with this serial was issued here"));
        }
    }
    let already = revoked(dir)?;
    let mut file =
        fs::OpenOptions::new().append(true).create(true).open(dir.join("revoked.txt")).map_err(|e| e.to_string())?;
    for s in serials.iter().filter(|s| !already.contains(s)) {
        writeln!(file, "{s}").map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn revocations(dir: &Path, rest: &[String]) -> Result<(), String> {
    let hours: u64 = match rest {
        [] => 24,
        [f, n] if f == "--hours" => n.parse().map_err(|_| "--hours must be a whole number".to_owned())?,
        _ => return Err(USAGE.into()),
    };
    if hours == 0 || hours > 24 * 31 {
        return Err("--hours must be from 1 to 744".into());
    }
    let serials = revoked(dir)?;
    let refs: Vec<&str> = serials.iter().map(String::as_str).collect();
    // Each list's iat is later than the last one's: a client holding that one refuses another of the same iat.
    let last_path = dir.join("revocations.iat");
    let last: u64 = fs::read_to_string(&last_path).ok().and_then(|t| t.trim().parse().ok()).unwrap_or(0);
    let t = now().max(last + 1);
    let list = issue_revocations(&refs, &root_key(dir)?, t, t + hours * 3600).map_err(|e| e.to_string())?;
    fs::write(&last_path, format!("{t}\n")).map_err(|e| e.to_string())?;
    println!("{list}");
    Ok(())
}

fn list(dir: &Path) -> Result<(), String> {
    let revoked = revoked(dir)?;
    for mut m in issued(dir)? {
        let serial = m.get("serial").and_then(Value::as_str).unwrap_or_default().to_owned();
        m.remove("certificate");
        m.insert("revoked".into(), Value::Bool(revoked.contains(&serial)));
        println!("{}", Value::Object(m).to_json());
    }
    Ok(())
}
