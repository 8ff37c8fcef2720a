//! Secrets never leak into text (issue #11): keys, data keys, SFrame base
//! keys, stream content keys and plaintexts with known bytes go through as
//! many error paths as we can reach, and no error message (Display or
//! Debug) and no Debug output of a key-holding type contains those bytes in
//! hex, base64, base64url or decimal-array form, whole or in part.
// A native suite (`cargo test`); in wasm32 this file compiles to nothing, so
// `wasm-pack test` builds every test target and runs tests/web.rs.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

#[macro_use]
#[path = "support/json.rs"]
mod support_json;
use base64ct::{Base64, Base64Unpadded, Base64UrlUnpadded, Encoding as _};
use phiseal::Error;
use phiseal::audit::{self, AuditLog, Entry, verify_log};
use phiseal::field::{self, Context, Expected, IndexKey, Recipient, Schema, SealOptions};
use phiseal::hpke::{self, Psk, Suite};
use phiseal::keys::{Jwk, PrivateKey, PublicKey};
use phiseal::media::sframe::{CipherSuite, SframeKey, SframeReceiver, SframeSender};
use phiseal::media::stream::{StreamDecryptor, StreamEncryptor, StreamHeader};
use phiseal::sign::SigningKey;
use sha2::{Digest as _, Sha384};

/// 48 distinctive bytes derived from a label.
fn known(label: &str) -> Vec<u8> {
    Sha384::digest(label.as_bytes()).to_vec()
}

/// Every textual form of `secret` (and of its 8-byte windows) that a leak
/// would show.
fn forms(secret: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    for encoded in
        [Base64::encode_string(secret), Base64Unpadded::encode_string(secret), Base64UrlUnpadded::encode_string(secret)]
    {
        // Any 12 characters at a 4-character boundary are 9 whole bytes.
        let chars: Vec<char> = encoded.trim_end_matches('=').chars().collect();
        for chunk in chars.chunks(4).collect::<Vec<_>>().windows(3) {
            out.push(chunk.concat().into_iter().collect());
        }
    }
    for w in secret.windows(8.min(secret.len())) {
        out.push(hex(w));
        out.push(hex(w).to_uppercase());
        let dec = w.iter().map(u8::to_string).collect::<Vec<_>>();
        out.push(dec.join(", "));
        out.push(dec.join(","));
    }
    out
}

/// `text` with every run of whitespace made one space.
fn fold(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

struct Scanner {
    secrets: Vec<(&'static str, Vec<String>)>,
    texts: usize,
}

impl Scanner {
    fn new() -> Self {
        Self { secrets: Vec::new(), texts: 0 }
    }

    fn secret(&mut self, name: &'static str, bytes: &[u8]) {
        assert!(bytes.len() >= 8, "{name} too short to scan for");
        self.secrets.push((name, forms(bytes)));
    }

    #[track_caller]
    fn text(&mut self, what: &str, text: &str) {
        self.texts += 1;
        // Pretty Debug puts one array element per line: compare with the
        // whitespace folded too.
        let folded = fold(text);
        for (name, forms) in &self.secrets {
            for f in forms {
                assert!(
                    !text.contains(f.as_str()) && !folded.contains(f.as_str()),
                    "{what} shows {name} ({f}): {text}"
                );
            }
        }
    }

    #[track_caller]
    fn err<T>(&mut self, what: &str, r: phiseal::Result<T>) {
        if let Err(e) = r {
            self.error(what, &e);
        }
    }

    #[track_caller]
    fn error(&mut self, what: &str, e: &Error) {
        self.text(what, &e.to_string());
        self.text(what, &format!("{e:?}"));
        self.text(what, e.message());
    }

    #[track_caller]
    fn debug(&mut self, what: &str, v: &impl std::fmt::Debug) {
        self.text(what, &format!("{v:?}"));
        self.text(what, &format!("{v:#?}"));
    }
}

const PHI: &str = "PATIENT-PLAINTEXT 078-05-1120 diabetes type 2";

#[test]
fn no_error_or_debug_text_shows_a_secret() {
    let mut scan = Scanner::new();

    // Private scalars (HPKE and signing) with known bytes.
    let scalar = known("phiseal secrets: hpke scalar");
    let key = PrivateKey::from_scalar_bytes(&scalar).unwrap();
    let sig_scalar = known("phiseal secrets: signing scalar");
    let signer = SigningKey::from_scalar_bytes(&sig_scalar).unwrap();
    let sframe_base = known("phiseal secrets: sframe base key")[..32].to_vec();
    let psk = known("phiseal secrets: psk");
    scan.secret("private scalar", &scalar);
    scan.secret("signing scalar", &sig_scalar);
    scan.secret("SFrame base key", &sframe_base);
    scan.secret("PSK", &psk);
    scan.secret("plaintext", PHI.as_bytes());

    // ---- keys: Debug and every import error path with the secret inside
    scan.debug("PrivateKey", &key);
    scan.debug("SigningKey", &signer);
    scan.debug("PublicKey", key.public_key());
    let jwk = key.to_jwk();
    scan.debug("private Jwk", &jwk);
    let mut longer = scalar.clone();
    longer.push(1);
    scan.err("scalar + 1 byte", PrivateKey::from_scalar_bytes(&longer));
    scan.err("scalar - 1 byte", PrivateKey::from_scalar_bytes(&scalar[1..]));
    scan.err("signing scalar + 1 byte", SigningKey::from_scalar_bytes(&longer));
    scan.err("scalar ff", PrivateKey::from_scalar_bytes(&[0xff; 48]));
    let mut mismatched = jwk.clone();
    mismatched.x = PrivateKey::generate().unwrap().to_jwk().x;
    scan.err("JWK x mismatch", PrivateKey::from_jwk(&mismatched));
    let mut bad_d = jwk.clone();
    bad_d.d = Some(zeroize::Zeroizing::new(format!("{}!", jwk.d.as_deref().unwrap())));
    scan.err("JWK bad d", PrivateKey::from_jwk(&bad_d));
    scan.debug("JWK bad d", &bad_d);
    let json = jwk.to_json();
    scan.err("JWK JSON cut", Jwk::from_json(&json[..json.len() - 2]));
    scan.err("JWK as trusted key", audit::trusted_key(&json[..json.len() - 1]));
    let der = key.to_pkcs8_der();
    for i in [0, 10, der.len() / 2, der.len() - 1] {
        let mut bad = der.to_vec();
        bad[i] ^= 0x40;
        scan.err("PKCS#8 DER flipped", PrivateKey::from_pkcs8_der(&bad));
        scan.err("PKCS#8 DER cut", PrivateKey::from_pkcs8_der(&der[..i]));
    }
    let pem = key.to_pkcs8_pem();
    scan.err("PKCS#8 PEM cut", PrivateKey::from_pkcs8_pem(&pem[..pem.len() / 2]));
    scan.err("PKCS#8 PEM as SPKI", PublicKey::from_spki_pem(&pem));
    scan.err("PKCS#8 DER as SPKI", PublicKey::from_spki_der(&der));
    scan.err("scalar as SEC1", PublicKey::from_sec1(&scalar));

    // ---- HPKE: contexts, PSK, exporter secrets, failed opens
    let (enc, ct) = hpke::seal(Suite::PHISEAL, key.public_key(), b"info", b"aad", PHI.as_bytes(), None, None).unwrap();
    let (_, sender) = hpke::setup_sender(Suite::PHISEAL, key.public_key(), b"info", None, None).unwrap();
    let exported = sender.export(b"ctx", 32).unwrap();
    scan.secret("HPKE exporter secret", &exported);
    scan.debug("SenderContext", &sender);
    let recipient = hpke::setup_recipient(Suite::PHISEAL, &enc, &key, b"info", None, None).unwrap();
    scan.debug("RecipientContext", &recipient);
    let p = Psk { psk: &psk, id: b"psk id" };
    scan.debug("Psk", &p);
    scan.err(
        "PSK too short",
        hpke::seal(Suite::PHISEAL, key.public_key(), b"", b"", b"", Some(Psk { psk: &psk[..8], id: b"x" }), None),
    );
    scan.err("HPKE wrong aad", hpke::open(Suite::PHISEAL, &enc, &key, b"info", b"AAD", &ct, None, None));
    scan.err("HPKE psk mode mismatch", hpke::open(Suite::PHISEAL, &enc, &key, b"info", b"aad", &ct, Some(p), None));
    scan.err("HPKE scalar as enc", hpke::open(Suite::PHISEAL, &scalar, &key, b"info", b"aad", &ct, None, None));

    // ---- sealed records: data keys, index key, plaintext
    let schema = Schema::from_json(
        r#"{"id":"s","version":1,"fields":{"a":{"group":"g"},"b":"deterministic","c":{"mode":"blindIndex","bits":12}}}"#,
    )
    .unwrap();
    let ik = IndexKey::generate().unwrap();
    let me = [*key.public_key()];
    // The signing key with known bytes is the author of the records and index keys.
    let authors = [signer.verifying_key()];
    let sealed_ik = ik.seal(&me, &signer).unwrap();
    let (plan, verify, job) = IndexKey::plan_open(&sealed_ik, key.public_key(), &authors).unwrap();
    let ik_bytes = job.run(&key).unwrap();
    let verified = verify.run().unwrap();
    scan.secret("index key", &ik_bytes);
    scan.debug("IndexKey", &ik);
    scan.debug("VerifyJob (index key)", &verify);
    scan.debug("Verified (index key)", &verified);
    scan.debug("IndexKey (opened)", &plan.finish(&verified, &ik_bytes).unwrap());
    scan.err(
        "index key wrong length",
        IndexKey::plan_open(&sealed_ik, key.public_key(), &authors).unwrap().0.finish(&verified, &ik_bytes[1..]),
    );
    scan.err(
        "index key, another secret",
        IndexKey::plan_open(&sealed_ik, key.public_key(), &authors).unwrap().0.finish(&verified, &[0x5a; 32]),
    );
    scan.err("index key, untrusted author", IndexKey::open(&sealed_ik, &key, &[*key.public_key()]));
    scan.err("index key, recipient twice", ik.seal(&[me[0], me[0]], &signer));
    let record = json!({"a": PHI, "b": PHI, "c": PHI, "visit": 1});
    let context: Context = [("patient".to_owned(), "p-1".to_owned())].into_iter().collect();
    let opts = SealOptions {
        context: context.clone(),
        ..SealOptions::new("rec", vec![Recipient::all_groups(*key.public_key())], 1)
    };
    let expected = Expected { context: context.clone(), ..Expected::new("rec", &authors) };
    let sealed = field::seal_record(&record, &schema, &opts, Some(&ik), &signer).unwrap();
    let (open_plan, verify, jobs) = field::plan_open(&sealed, &schema, key.public_key(), &expected).unwrap();
    scan.debug("VerifyJob (record)", &verify);
    scan.debug("Header", open_plan.header());
    let mut deks = Vec::new();
    for (i, j) in jobs.iter().enumerate() {
        let dek = j.run(&key).unwrap();
        scan.secret(["data key 0", "data key 1", "data key 2"][i.min(2)], &dek);
        deks.push(dek);
    }
    scan.text("sealed record", &sealed.to_string());
    scan.err("PHI in the clear", field::verify_all_phi_encrypted(&record, &schema).map(|v| assert!(!v.is_empty())));
    for member in ["a", "b", "c", "_phiseal"] {
        let mut bad = sealed.clone();
        let s = bad[member].as_str().unwrap().to_owned();
        support_json::put(&mut bad, member, json!(format!("{}A{}", &s[..s.len() - 3], &s[s.len() - 2..])));
        scan.err("open tampered", field::open_record(&bad, &schema, &key, Some(&ik), &expected));
        support_json::put(&mut bad, member, json!(PHI));
        scan.err("open plaintext member", field::open_record(&bad, &schema, &key, Some(&ik), &expected));
    }
    // Behind the signature: the plan API with wrong data keys.
    let wrong_keys: Vec<_> = deks.iter().map(|_| zeroize::Zeroizing::new(vec![0x5a; 32])).collect();
    let plan = || field::plan_open(&sealed, &schema, key.public_key(), &expected).unwrap().0;
    scan.err("open with wrong data keys", plan().finish(&schema, &verify.run().unwrap(), &wrong_keys, Some(&ik)));
    scan.err("open with short data keys", plan().finish(&schema, &verify.run().unwrap(), &deks[..0], Some(&ik)));
    scan.err(
        "open with another key",
        field::open_record(&sealed, &schema, &PrivateKey::generate().unwrap(), Some(&ik), &expected),
    );
    scan.err(
        "open with another index key",
        field::open_record(&sealed, &schema, &key, Some(&IndexKey::generate().unwrap()), &expected),
    );
    scan.err(
        "open with another context",
        field::open_record(&sealed, &schema, &key, Some(&ik), &Expected::new("rec", &authors)),
    );
    scan.err(
        "open with another record id",
        field::open_record(
            &sealed,
            &schema,
            &key,
            Some(&ik),
            &Expected { context: context.clone(), ..Expected::new(PHI, &authors) },
        ),
    );
    scan.err(
        "open, untrusted author",
        field::open_record(
            &sealed,
            &schema,
            &key,
            Some(&ik),
            &Expected { context: context.clone(), ..Expected::new("rec", &me) },
        ),
    );
    scan.err(
        "open, stale version",
        field::open_record(&sealed, &schema, &key, Some(&ik), &Expected { min_version: 2, ..expected.clone() }),
    );
    let mut with_env = record.clone();
    support_json::put(&mut with_env, "_phiseal", json!(PHI));
    scan.err("seal a sealed record", field::seal_record(&with_env, &schema, &opts, Some(&ik), &signer));
    scan.err("seal without index key", field::seal_record(&record, &schema, &opts, None, &signer));
    scan.err(
        "PHI record id",
        field::seal_record(
            &record,
            &schema,
            &SealOptions::new(&PHI.repeat(9), opts.recipients.clone(), 1),
            Some(&ik),
            &signer,
        ),
    );
    let phi_context: Context = [(PHI.repeat(9), PHI.to_owned())].into_iter().collect();
    scan.err(
        "PHI context key",
        field::seal_record(&record, &schema, &SealOptions { context: phi_context, ..opts.clone() }, Some(&ik), &signer),
    );
    let opened = field::open_record(&sealed, &schema, &key, Some(&ik), &expected).unwrap();
    scan.err(
        "rewrap to a recipient twice",
        field::rewrap_record(
            &sealed,
            &schema,
            &key,
            &[Recipient::all_groups(me[0]), Recipient::all_groups(me[0])],
            &expected,
            &signer,
        ),
    );
    scan.err(
        "seal an update with a wrong author",
        field::plan_seal(
            &record,
            &schema,
            &SealOptions::update_of(&opened, opts.recipients.clone(), 2).unwrap(),
            Some(&ik),
            &me[0],
        )
        .and_then(|(p, jobs)| p.finish(&jobs.iter().map(|j| j.run().unwrap()).collect::<Vec<_>>()))
        .and_then(|p| p.sign(&signer)),
    );
    scan.err("PHI as schema", Schema::from_json(PHI));
    scan.err("PHI path", Schema::from_json(&json!({"id":"s","version":1,"fields":{PHI.repeat(9): true}}).to_string()));
    scan.err("search token for a non-PHI path", field::search_token(&schema, "visit", &json!(PHI), &ik));
    scan.debug("Opened", &opened.locked);
    scan.debug("Opened header", &opened.header);

    // ---- SFrame: base keys in keys, senders, receivers; failed frames
    for suite in CipherSuite::ALL {
        let sk = SframeKey::new(suite, 9, &sframe_base).unwrap();
        scan.debug("SframeKey", &sk);
        if let Some(k) = sk.aead_key() {
            scan.secret("SFrame AEAD key", &k);
        }
        let mut sender = SframeSender::for_member(suite, 1, 2, &sframe_base).unwrap();
        scan.debug("SframeSender", &sender);
        let frame = sender.encrypt(b"meta", PHI.as_bytes()).unwrap();
        if suite.is_gcm() {
            scan.debug("PreparedFrame", &sender.prepare(b"meta").unwrap());
        } else {
            scan.err("prepare a CTR suite", sender.prepare(b"meta"));
        }
        let mut receiver = SframeReceiver::new(suite);
        receiver.set_sender_key(1, 2, &sframe_base).unwrap();
        scan.debug("SframeReceiver", &receiver);
        match receiver.begin(b"meta", &frame) {
            Ok(pending) => scan.debug("PendingFrame", &pending),
            Err(e) => scan.error("begin a CTR suite frame", &e),
        }
        scan.debug("ReceivedFrame", &receiver.decrypt(b"meta", &frame).unwrap());
        scan.err("SFrame replay", receiver.decrypt(b"meta", &frame));
        scan.err("SFrame wrong metadata", sk.decrypt(b"other", &frame));
        scan.err("SFrame short base key", SframeKey::new(suite, 9, &sframe_base[..8]));
        scan.err("SFrame short base key", receiver.set_sender_key(1, 3, &sframe_base[..8]));
        scan.err("SFrame rekey to the same epoch", sender.rekey(2, &sframe_base));
    }

    // ---- streams: content key, segment key, plaintext
    let mut enc = StreamEncryptor::new(&me, 1024, &signer).unwrap();
    scan.debug("StreamEncryptor", &enc);
    let mut wire = enc.push(PHI.repeat(50).as_bytes()).unwrap();
    wire.extend(enc.finish_signed(&signer).unwrap());
    let (header, _) = StreamHeader::parse(&wire).unwrap().unwrap();
    let content_key = header.unwrap_job(key.public_key()).unwrap().run(&key).unwrap();
    scan.secret("stream content key", &content_key);
    let stream_verify = header.verify_job(&authors).unwrap();
    let stream_verified = stream_verify.run().unwrap();
    let mut dec =
        StreamDecryptor::from_unwrapped(&header, &stream_verify, &stream_verified, Ok(content_key.clone())).unwrap();
    scan.debug("StreamDecryptor", &dec);
    let mut dec2 = StreamDecryptor::from_unwrapped(&header, &stream_verify, &stream_verified, Ok(content_key)).unwrap();
    scan.secret("stream segment key", &dec2.export_segment_key().unwrap()[..]);
    scan.err("segment key twice", dec2.export_segment_key());
    let (plan, _) = StreamEncryptor::plan(&me, 1024, &signer.verifying_key()).unwrap();
    scan.debug("EncryptPlan", &plan);
    let mut enc2 = StreamEncryptor::new(&me, 1024, &signer).unwrap();
    enc2.take_header();
    enc2.export_segment_key().unwrap();
    for s in enc2.push_segments(PHI.repeat(60).as_bytes()).unwrap() {
        scan.debug("PlainSegment", &s);
    }
    let mut bad = wire.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    scan.err("stream tampered", dec.push(&bad[header.as_bytes().len()..]).and_then(|_| dec.finish()));
    scan.err("stream after error", dec.finish());
    scan.err("stream wrong key", StreamDecryptor::new(&PrivateKey::generate().unwrap(), &authors).push(&wire));
    scan.err("stream bad segment size", StreamEncryptor::new(&me, 1, &signer));

    // ---- audit: PHI refused in entries, signing key in checkpoints
    let mut log = AuditLog::new("log").unwrap();
    let mut e = Entry::new("u", "clinician", "break-glass", 1);
    scan.err("break-glass without a reason", log.append(e.clone()));
    e.reason = Some("emergency".into());
    log.append(e).unwrap();
    scan.err(
        "PHI in an entry",
        log.append_checked(Entry::new("u", "clinician", "view", 2).patient(PHI), &record, &schema),
    );
    let cp = log.checkpoint(&signer, 3).unwrap();
    scan.debug("Checkpoint", &cp);
    scan.debug("AuditLog", &log);
    let report = verify_log(&log.to_jsonl().replace("emergency", PHI), &[signer.verifying_key()]);
    scan.debug("audit Report", &report);

    assert!(scan.texts > 150, "only {} texts scanned", scan.texts);
}

/// The scanner itself finds each form a leak could take, whole or in part.
#[test]
fn the_scanner_recognises_every_encoding() {
    let secret = known("phiseal secrets: scanner self-test");
    let forms = forms(&secret);
    let shows = |text: &str| forms.iter().any(|f| fold(text).contains(f.as_str()));
    let hex: String = secret.iter().map(|x| format!("{x:02x}")).collect();
    for leak in [
        hex.clone(),
        hex[20..40].to_owned(),
        hex.to_uppercase(),
        Base64::encode_string(&secret),
        Base64UrlUnpadded::encode_string(&secret[..21]),
        format!("{:?}", &secret[..]),
        format!("{:?}", &secret[17..30]),
        format!("{:#?}", &secret[..]),
        format!("key={}", secret.iter().map(u8::to_string).collect::<Vec<_>>().join(",")),
    ] {
        assert!(shows(&format!("error: {leak} …")), "not recognised: {leak}");
    }
    assert!(!shows("Error(DECRYPT_FAILED: decryption failed)"));
}
