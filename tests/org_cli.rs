//! `phiseal org` (src/bin/phiseal/org.rs): a root made and kept on this
//! machine, certificates that verify under its pinned public key, and
//! revocations that the verifier then refuses.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::path::Path;
use std::process::Command;

use phiseal::ErrorCode;
use phiseal::keys::PrivateKey;
use phiseal::trust::{Purpose, Revocation, TrustStore};

fn org(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_phiseal")).arg("org").args(args).output().unwrap();
    (out.status.code().unwrap(), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

#[test]
fn init_issue_revoke_and_verify() {
    let tmp = std::env::temp_dir().join(format!("phiseal-org-{}-{}", std::process::id(), now()));
    let dir = tmp.join("org");
    let d = dir.to_str().unwrap();
    let (code, kid, _) = org(&["init", d]);
    assert_eq!(code, 0);
    // The root's private key stays in its file (owner-only) and is never printed.
    let pem = std::fs::read_to_string(dir.join("root.key.pem")).unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(std::fs::metadata(dir.join("root.key.pem")).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let root = phiseal::audit::trusted_key(&std::fs::read_to_string(dir.join("root.pub.jwk")).unwrap()).unwrap();
    assert_eq!(root.kid(), kid.trim());
    assert_eq!(org(&["init", d]).0, 2, "a second init must not replace the root");

    let member = PrivateKey::generate().unwrap();
    let key_file = tmp.join("member.pem");
    std::fs::write(&key_file, member.public_key().to_spki_pem()).unwrap();
    let k = key_file.to_str().unwrap();
    let (code, cert, err) = org(&[
        "issue",
        d,
        "--subject",
        "dr-lee",
        "--name",
        "Dr. Lee",
        "--role",
        "clinician",
        "--purposes",
        "encrypt",
        "--groups",
        "clinical",
        "--days",
        "30",
        k,
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(!cert.contains("PRIVATE") && !cert.contains(&pem[30..60]));
    let cert = cert.trim();
    let (_, list, _) = org(&["revocations", d]);
    let mut trust = TrustStore::new(vec![root], Revocation::Required);
    trust.add_revocations(list.trim(), now()).unwrap();
    let got = trust.verify(&[cert], now(), Purpose::Encrypt, &["clinical"]).unwrap();
    assert_eq!((got.claims.subject.as_str(), got.claims.key), ("dr-lee", *member.public_key()));
    assert!(got.claims.not_after - got.claims.not_before == 30 * 86_400);

    // Revoked: listed, and the next list makes the verifier refuse it.
    let (_, listed, _) = org(&["list", d]);
    assert!(listed.contains(r#""revoked":false"#));
    let serial = got.claims.serial.clone();
    assert_eq!(org(&["revoke", d, &serial]).0, 0);
    assert!(org(&["list", d]).1.contains(r#""revoked":true"#));
    // Within the same second as the first list: the CLI still gives the new list a later iat.
    let (_, list, _) = org(&["revocations", d, "--hours", "1"]);
    trust.add_revocations(list.trim(), now() + 2).unwrap();
    assert_eq!(
        trust.verify(&[cert], now() + 2, Purpose::Encrypt, &["clinical"]).unwrap_err().code(),
        ErrorCode::KeyRevoked
    );
    // A private key given as KEY is refused (the member's private key has no business here).
    let private = tmp.join("private.pem");
    std::fs::write(&private, member.to_pkcs8_pem().as_str()).unwrap();
    let (code, _, err) = org(&[
        "issue",
        d,
        "--subject",
        "x",
        "--name",
        "x",
        "--role",
        "r",
        "--purposes",
        "encrypt",
        private.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("a private key"), "{err}");

    // Refusals: exit 2 with a message.
    for bad in [
        vec!["issue", d, "--name", "x", "--role", "r", "--purposes", "encrypt", k],
        vec!["issue", d, "--subject", "x", "--name", "x", "--role", "r", "--purposes", "decrypt", k],
        vec!["issue", d, "--subject", "x", "--name", "x", "--role", "r", "--purposes", "encrypt", "--days", "0", k],
        vec!["issue", d, "--subject", "x", "--name", "x", "--role", "r", "--purposes", "encrypt", "--bogus", k],
        vec!["revoke", d, "AAAAAAAAAAAAAAAAAAAAAA"],
        vec!["revocations", d, "--hours", "0"],
        vec!["nothing", d],
    ] {
        let (code, _, err) = org(&bad);
        assert_eq!(code, 2, "{bad:?}");
        assert!(err.starts_with("phiseal org: "), "{err}");
    }
    let missing = Path::new(d).join("nowhere");
    assert_eq!(org(&["revocations", missing.to_str().unwrap()]).0, 2);
    std::fs::remove_dir_all(&tmp).unwrap();
}

fn recovery_cmd(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_phiseal")).arg("recovery").args(args).output().unwrap();
    (out.status.code().unwrap(), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

/// `phiseal recovery` (src/bin/phiseal/recovery.rs): the ceremony writes the
/// recovery public key and one share per officer; two officers reseal theirs
/// to a session, which combines them into the recovery key; one share is
/// refused, and no file ever holds the key before the combination.
#[test]
fn recovery_ceremony_on_the_command_line() {
    let tmp = std::env::temp_dir().join(format!("phiseal-recovery-{}-{}", std::process::id(), now()));
    std::fs::create_dir_all(&tmp).unwrap();
    let officers: Vec<PrivateKey> = (0..3).map(|_| PrivateKey::generate().unwrap()).collect();
    let mut pub_files = Vec::new();
    for (i, o) in officers.iter().enumerate() {
        let f = tmp.join(format!("officer-{i}.pub.jwk"));
        std::fs::write(&f, o.public_key().to_jwk().to_json().as_str()).unwrap();
        std::fs::write(tmp.join(format!("officer-{i}.key.pem")), o.to_pkcs8_pem().as_str()).unwrap();
        pub_files.push(f.to_str().unwrap().to_owned());
    }
    let out = tmp.join("ceremony");
    let o = out.to_str().unwrap();
    let mut args = vec!["split", "--threshold", "2", "--out", o];
    args.extend(pub_files.iter().map(String::as_str));
    let (code, kid, err) = recovery_cmd(&args);
    assert_eq!(code, 0, "{err}");
    let recovery_pub = out.join("recovery.pub.jwk");
    let files: Vec<String> =
        std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    assert_eq!(files.len(), 4, "the public key and three shares, no private key: {files:?}");
    let session = tmp.join("session");
    let s = session.to_str().unwrap();
    let (code, session_kid, _) = recovery_cmd(&["session", s]);
    assert_eq!(code, 0);
    let mut sealed = Vec::new();
    for i in [0, 2] {
        let share = out.join(format!("share-{}.phr", i + 1));
        let key = tmp.join(format!("officer-{i}.key.pem"));
        let to = session.join("session.pub.jwk");
        let args = ["reseal", share.to_str().unwrap(), "--key", key.to_str().unwrap(), "--to", to.to_str().unwrap()];
        // Without the kid the administrator read out, or with another, nothing is resealed.
        assert_eq!(recovery_cmd(&args).0, 2);
        assert_eq!(recovery_cmd(&[&args[..], &["--session-kid", kid.trim()]].concat()).0, 2, "not the session's kid");
        let (code, text, err) = recovery_cmd(&[&args[..], &["--session-kid", session_kid.trim()]].concat());
        assert_eq!(code, 0, "{err}");
        let f = tmp.join(format!("to-session-{i}.phr"));
        std::fs::write(&f, text).unwrap();
        sealed.push(f.to_str().unwrap().to_owned());
    }
    // An officer cannot reseal someone else's share.
    let wrong = recovery_cmd(&[
        "reseal",
        out.join("share-1.phr").to_str().unwrap(),
        "--key",
        tmp.join("officer-1.key.pem").to_str().unwrap(),
        "--to",
        session.join("session.pub.jwk").to_str().unwrap(),
        "--session-kid",
        session_kid.trim(),
    ]);
    assert_eq!(wrong.0, 2);
    let e = recovery_pub.to_str().unwrap();
    assert_eq!(recovery_cmd(&["combine", s, "--expect", e, &sealed[0]]).0, 2, "one share is not enough");
    let (code, combined, err) = recovery_cmd(&["combine", s, "--expect", e, &sealed[0], &sealed[1]]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(combined.trim(), kid.trim());
    let key = PrivateKey::from_pkcs8_pem(&std::fs::read_to_string(session.join("recovery.key.pem")).unwrap()).unwrap();
    assert_eq!(key.public_key().kid(), kid.trim());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(std::fs::metadata(session.join("recovery.key.pem")).unwrap().permissions().mode() & 0o777, 0o600);
    }
    std::fs::remove_dir_all(&tmp).unwrap();
}
