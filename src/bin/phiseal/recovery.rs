//! `phiseal recovery …`: the organisation recovery key ceremony and a
//! recovery (docs/FORMAT.md §9, phiseal::recovery).
//!
//! ```text
//! phiseal recovery split --threshold K --out DIR OFFICER.pub.jwk...
//!     a new recovery key split K-of-N among the officers: DIR/recovery.pub.jwk (make it a
//!     recipient of every record) and DIR/share-I.phr, one per officer in the order given
//!     (sealed to that officer: hand each its file). The recovery private key is written nowhere.
//! phiseal recovery session DIR
//!     a recovery session: DIR/session.key.pem (mode 0600) and DIR/session.pub.jwk (send it to
//!     the officers)
//! phiseal recovery reseal SHARE.phr --key OFFICER.key.pem --to SESSION.pub.jwk --session-kid KID
//!     an officer's step, on the officer's machine: prints the share sealed to the session, once
//!     the session key's kid is the one the administrator read out to the officer (by phone, in
//!     person: not through the channel that carried the key)
//! phiseal recovery combine DIR --expect RECOVERY.pub.jwk SHARE...
//!     combines K shares sealed to DIR's session into DIR/recovery.key.pem (mode 0600) when
//!     they make the expected recovery key; rewrap what you must, then delete it
//! ```
//!
//! Exit status: 0 on success, 2 on a usage error, an unreadable file or a
//! refused share.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use phiseal::keys::{Jwk, PrivateKey, PublicKey};
use phiseal::recovery;

const USAGE: &str = "usage: phiseal recovery split --threshold K --out DIR OFFICER.pub.jwk...\n       phiseal recovery session DIR\n       phiseal recovery reseal SHARE.phr --key OFFICER.key.pem --to SESSION.pub.jwk --session-kid KID\n       phiseal recovery combine DIR --expect RECOVERY.pub.jwk SHARE...";

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("phiseal recovery: {message}");
    ExitCode::from(2)
}

/// Runs `phiseal recovery ARGS`.
pub fn run(args: &[String]) -> ExitCode {
    let Some((cmd, rest)) = args.split_first() else { return fail(USAGE) };
    let result = match cmd.as_str() {
        "split" => split(rest),
        "session" => match rest {
            [dir] => session(Path::new(dir)),
            _ => Err(USAGE.to_owned()),
        },
        "reseal" => reseal(rest),
        "combine" => combine(rest),
        _ => Err(USAGE.to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => fail(message),
    }
}

/// `(--name, VALUE)` pairs and the positional arguments.
type Parsed<'a> = (Vec<(&'a str, &'a str)>, Vec<&'a str>);

/// `--name VALUE` options and the positional arguments.
fn parse<'a>(rest: &'a [String], names: &[&str]) -> Result<Parsed<'a>, String> {
    let (mut opts, mut positional) = (Vec::new(), Vec::new());
    let mut it = rest.iter();
    while let Some(a) = it.next() {
        if names.contains(&a.as_str()) {
            let v = it.next().ok_or(format!("{a} needs a value\n{USAGE}"))?;
            opts.push((a.as_str(), v.as_str()));
        } else if a.starts_with("--") {
            return Err(format!("unknown option {a}\n{USAGE}"));
        } else {
            positional.push(a.as_str());
        }
    }
    Ok((opts, positional))
}

fn opt<'a>(opts: &[(&str, &'a str)], name: &str) -> Result<&'a str, String> {
    opts.iter().find(|(n, _)| *n == name).map(|(_, v)| *v).ok_or(format!("{name} is required\n{USAGE}"))
}

fn read(file: &str) -> Result<String, String> {
    fs::read_to_string(file).map_err(|e| format!("{file}: {e}"))
}

fn public_key(file: &str) -> Result<PublicKey, String> {
    let text = read(file)?;
    let jwk = Jwk::from_json(&text).map_err(|e| format!("{file}: {e}"))?;
    if jwk.d.is_some() {
        return Err(format!("{file}: a private key; pass a public JWK"));
    }
    PublicKey::from_jwk(&jwk).map_err(|e| format!("{file}: {e}"))
}

fn private_key(file: &str) -> Result<PrivateKey, String> {
    PrivateKey::from_pkcs8_pem(&read(file)?).map_err(|e| format!("{file}: {e}"))
}

/// Writes `text` to a new file (never replacing one), mode 0600 on Unix when `secret`.
fn write_new(path: &Path, text: &str, secret: bool) -> Result<(), String> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    if secret {
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    }
    #[cfg(not(unix))]
    let _ = secret;
    let mut file = options.open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    file.write_all(text.as_bytes()).map_err(|e| format!("{}: {e}", path.display()))
}

fn split(rest: &[String]) -> Result<(), String> {
    let (opts, officers) = parse(rest, &["--threshold", "--out"])?;
    let k: u8 = opt(&opts, "--threshold")?.parse().map_err(|_| "--threshold must be a whole number".to_owned())?;
    let dir = PathBuf::from(opt(&opts, "--out")?);
    let keys = officers.iter().map(|f| public_key(f)).collect::<Result<Vec<_>, _>>()?;
    let ceremony = recovery::split(k, &keys).map_err(|e| e.to_string())?;
    fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    write_new(&dir.join("recovery.pub.jwk"), &ceremony.recovery_key.to_jwk().to_json(), false)?;
    for (i, share) in ceremony.shares.iter().enumerate() {
        write_new(&dir.join(format!("share-{}.phr", i + 1)), share, false)?;
    }
    println!("{}", ceremony.recovery_key.kid());
    Ok(())
}

fn session(dir: &Path) -> Result<(), String> {
    fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let key = PrivateKey::generate().map_err(|e| e.to_string())?;
    write_new(&dir.join("session.key.pem"), &key.to_pkcs8_pem(), true)?;
    write_new(&dir.join("session.pub.jwk"), &key.public_key().to_jwk().to_json(), false)?;
    println!("{}", key.public_key().kid());
    Ok(())
}

fn reseal(rest: &[String]) -> Result<(), String> {
    let (opts, positional) = parse(rest, &["--key", "--to", "--session-kid"])?;
    let [share] = positional.as_slice() else { return Err(format!("one SHARE file is needed\n{USAGE}")) };
    let officer = private_key(opt(&opts, "--key")?)?;
    let to = public_key(opt(&opts, "--to")?)?;
    // The session key reaches the officer through whatever relays it (mail,
    // a server): a relay that swaps it for its own would collect the shares.
    // The officer types the kid the administrator read out to them.
    if to.kid() != opt(&opts, "--session-kid")?.trim() {
        return Err(format!(
            "the session key in {} is not the one the administrator named (kid {}): do not reseal",
            opt(&opts, "--to")?,
            to.kid()
        ));
    }
    let out = recovery::reseal_share(read(share)?.trim(), &officer, &to).map_err(|e| format!("{share}: {e}"))?;
    println!("{out}");
    Ok(())
}

fn combine(rest: &[String]) -> Result<(), String> {
    let (opts, positional) = parse(rest, &["--expect"])?;
    let Some((dir, shares)) = positional.split_first() else { return Err(USAGE.to_owned()) };
    let dir = PathBuf::from(dir);
    let session = private_key(&dir.join("session.key.pem").to_string_lossy())?;
    let expected = public_key(opt(&opts, "--expect")?)?;
    let texts = shares.iter().map(|f| read(f).map(|t| t.trim().to_owned())).collect::<Result<Vec<_>, _>>()?;
    let key = recovery::combine(&texts, &session, &expected).map_err(|e| e.to_string())?;
    write_new(&dir.join("recovery.key.pem"), &key.to_pkcs8_pem(), true)?;
    println!("{}", key.public_key().kid());
    Ok(())
}
