//! Key certificates (src/trust.rs) for JavaScript: a `TrustStore` class in
//! both builds; issuing (`issueCertificate`, `issueRevocations`) in the full
//! build, with a `SigningKey`.

use wasm_bindgen::prelude::*;

use super::args;
use super::error::{IntoJs as _, JsResult, to_js};
use crate::browser::provider;
use crate::error::{Error, ErrorCode};
use crate::json::{Map, Value};
use crate::sign::{Verified, VerifyJob};
use crate::trust::{ChainCheck, Purpose, Revocation, TrustStore};

fn json_array(value: &JsValue, shape: Error) -> JsResult<Vec<Value>> {
    let text = args::string(value, "expected JSON text")?;
    match Value::parse(&text) {
        Ok(Value::Array(items)) => Ok(items),
        _ => Err(to_js(shape)),
    }
}

fn string_array(value: &JsValue, shape: Error) -> JsResult<Vec<String>> {
    json_array(value, shape)?.into_iter().map(|v| v.as_str().map(str::to_owned).ok_or_else(|| to_js(shape))).collect()
}

/// Pinned roots and their revocation lists.
#[wasm_bindgen(js_name = TrustStore)]
pub struct WasmTrustStore(TrustStore);

#[wasm_bindgen(js_class = TrustStore)]
impl WasmTrustStore {
    /// `roots`: JSON text of an array of public JWKs; `requireRevocations`:
    /// refuse every chain without a current revocation list from its root.
    #[wasm_bindgen(constructor)]
    pub fn new(roots: JsValue, require_revocations: JsValue) -> JsResult<WasmTrustStore> {
        let roots = args::public_keys(&roots, "roots must be PublicKeys")?;
        let policy = if args::boolean(&require_revocations, "requireRevocations must be a boolean")? {
            Revocation::Required
        } else {
            Revocation::NotChecked
        };
        Ok(Self(TrustStore::new(roots, policy)))
    }

    /// Verifies and adds a revocation list (`now` in seconds).
    #[wasm_bindgen(js_name = addRevocations)]
    pub fn add_revocations(&mut self, text: JsValue, now: JsValue) -> JsResult<()> {
        let text = args::string(&text, "a revocation list is a string")?;
        let now = args::safe_u64(&now, "now must be seconds, a safe integer")?;
        self.0.add_revocations(&text, now).js()
    }

    /// Parses and links `chain` (JSON text of an array of certificate
    /// strings, leaf first): the first half of a verification. Run the
    /// returned check with `runChainCheck` (WebCrypto where it exists), then
    /// `finish` it.
    pub fn prepare(&self, chain: JsValue) -> JsResult<WasmChainCheck> {
        const CHAIN: Error =
            Error::new(ErrorCode::InvalidArgument, "a certificate chain is an array of certificate strings");
        let chain = string_array(&chain, CHAIN)?;
        let chain: Vec<&str> = chain.iter().map(String::as_str).collect();
        Ok(WasmChainCheck(self.0.prepare(&chain).js()?))
    }

    /// Finishes a check whose signatures ran, at `now` (seconds), for
    /// `purpose` and `groups` (JSON text of an array of strings); with
    /// `subject` (a string, not undefined) the leaf must be certified for
    /// that subject (a directory entry's). Returns JSON text of the certified
    /// identity: `{subject, name, role, groups, purposes, notBefore,
    /// notAfter, serial, root, issuers, jwk}`.
    pub fn finish(
        &mut self,
        check: WasmChainCheck,
        now: JsValue,
        purpose: JsValue,
        groups: JsValue,
        subject: JsValue,
    ) -> JsResult<String> {
        const GROUPS: Error = Error::new(ErrorCode::InvalidArgument, "groups must be an array of strings");
        let groups = string_array(&groups, GROUPS)?;
        let now = args::safe_u64(&now, "now must be seconds, a safe integer")?;
        let purpose = Purpose::parse(&args::string(&purpose, "purpose must be a string")?).js()?;
        let groups: Vec<&str> = groups.iter().map(String::as_str).collect();
        let subject =
            if subject.is_undefined() { None } else { Some(args::string(&subject, "subject must be a string")?) };
        let c = self.0.finish(check.0, now, purpose, &groups, subject.as_deref()).js()?;
        let strings = |v: &[String]| Value::Array(v.iter().cloned().map(Value::String).collect());
        let number = |n: u64| crate::json::Number::from_text(&n.to_string()).map(Value::Number);
        let mut o = Map::default();
        o.insert("subject".into(), Value::String(c.claims.subject));
        o.insert("name".into(), Value::String(c.claims.name));
        o.insert("role".into(), Value::String(c.claims.role));
        o.insert("groups".into(), strings(&c.claims.groups));
        o.insert(
            "purposes".into(),
            Value::Array(c.claims.purposes.iter().map(|p| Value::String(p.as_str().into())).collect()),
        );
        o.insert("notBefore".into(), number(c.claims.not_before).js()?);
        o.insert("notAfter".into(), number(c.claims.not_after).js()?);
        o.insert("serial".into(), Value::String(c.claims.serial));
        o.insert("root".into(), Value::String(c.root));
        o.insert("issuers".into(), strings(&c.issuers));
        o.insert("jwk".into(), Value::parse(&c.claims.key.to_jwk().to_json()).js()?);
        Ok(Value::Object(o).to_json())
    }
}

/// A certificate chain parsed and linked, waiting for its signature checks.
#[wasm_bindgen(js_name = ChainCheck)]
pub struct WasmChainCheck(ChainCheck);

/// Runs the signature checks of `check` with the browser's provider
/// (WebCrypto ECDSA where it exists, RustCrypto otherwise) and returns it
/// for `TrustStore.finish`; a signature that does not verify is
/// `INVALID_SIGNATURE`.
#[wasm_bindgen(js_name = runChainCheck)]
pub async fn run_chain_check(check: WasmChainCheck) -> JsResult<WasmChainCheck> {
    let mut check = check.0;
    let jobs: Vec<_> = check.jobs().cloned().collect();
    for (i, job) in jobs.iter().enumerate() {
        check.set_verified(i, verified(job, "a certificate's signature does not verify").await?).js()?;
    }
    Ok(WasmChainCheck(check))
}

/// Runs one signature job with the provider; a bad signature is `INVALID_SIGNATURE` with `message`.
async fn verified(job: &VerifyJob, message: &'static str) -> JsResult<Verified> {
    provider::verify(job)
        .await
        .map_err(|e| {
            if e.code() == ErrorCode::InvalidSignature { Error::new(ErrorCode::InvalidSignature, message) } else { e }
        })
        .js()
}

#[cfg(feature = "audit")]
mod issuing {
    use super::{Error, ErrorCode, JsResult, JsValue, Purpose, args, string_array, to_js, wasm_bindgen};
    use crate::json::Value;
    use crate::trust::{Claims, issue, issue_revocations};
    use crate::wasm::audit::WasmSigningKey;
    use crate::wasm::error::IntoJs as _;

    /// Issues a certificate: `claims` is JSON text of `{subject, name, role,
    /// groups, purposes, notBefore, notAfter, jwk}` (seconds), `issuedAt` seconds.
    #[wasm_bindgen(js_name = issueCertificate)]
    pub fn issue_certificate(claims: JsValue, issuer: &WasmSigningKey, issued_at: JsValue) -> JsResult<String> {
        const SHAPE: Error = Error::new(
            ErrorCode::InvalidArgument,
            "claims are {subject, name, role, groups, purposes, notBefore, notAfter, publicKey}",
        );
        let text = args::string(&claims, "claims must be JSON text")?;
        let Ok(Value::Object(mut o)) = Value::parse(&text) else { return Err(to_js(SHAPE)) };
        let mut take_str = |name: &str| match o.remove(name) {
            Some(Value::String(s)) => Ok(s),
            _ => Err(to_js(SHAPE)),
        };
        let (subject, name, role) = (take_str("subject")?, take_str("name")?, take_str("role")?);
        let list = |v: Option<Value>| -> JsResult<Vec<String>> {
            let text = JsValue::from_str(&v.ok_or_else(|| to_js(SHAPE))?.to_json());
            string_array(&text, SHAPE)
        };
        let groups = list(o.remove("groups"))?;
        let purposes =
            list(o.remove("purposes"))?.iter().map(|p| Purpose::parse(p)).collect::<crate::Result<Vec<_>>>().js()?;
        let secs = |v: Option<Value>| v.and_then(|v| v.as_u64()).ok_or_else(|| to_js(SHAPE));
        let (not_before, not_after) = (secs(o.remove("notBefore"))?, secs(o.remove("notAfter"))?);
        let jwk = crate::keys::Jwk::from_value(o.remove("jwk").ok_or_else(|| to_js(SHAPE))?).js()?;
        if !o.is_empty() {
            return Err(to_js(SHAPE));
        }
        let key = crate::keys::PublicKey::from_jwk(&jwk).js()?;
        let groups: Vec<&str> = groups.iter().map(String::as_str).collect();
        let claims =
            Claims::new(&subject, &name, &role, key, not_before, not_after).groups(&groups).purposes(&purposes);
        let issued_at = args::safe_u64(&issued_at, "issuedAt must be seconds, a safe integer")?;
        issue(&claims, &issuer.0, issued_at).js()
    }

    /// Issues a revocation list: `serials` JSON text of an array of serials.
    #[wasm_bindgen(js_name = issueRevocations)]
    pub fn issue_revocation_list(
        serials: JsValue,
        issuer: &WasmSigningKey,
        issued_at: JsValue,
        expires: JsValue,
    ) -> JsResult<String> {
        const SHAPE: Error = Error::new(ErrorCode::InvalidArgument, "serials must be an array of certificate serials");
        let serials = string_array(&serials, SHAPE)?;
        let serials: Vec<&str> = serials.iter().map(String::as_str).collect();
        let iat = args::safe_u64(&issued_at, "issuedAt must be seconds, a safe integer")?;
        let exp = args::safe_u64(&expires, "expires must be seconds, a safe integer")?;
        issue_revocations(&serials, &issuer.0, iat, exp).js()
    }
}

#[cfg(feature = "audit")]
mod directory {
    use super::{Error, ErrorCode, JsResult, JsValue, args, json_array, to_js, wasm_bindgen};
    use crate::json::Value;
    use crate::trust::directory::{Directory, DirectoryClient, Lookup, PendingLookup, monitor};
    use crate::wasm::audit::WasmSigningKey;
    use crate::wasm::error::IntoJs as _;

    /// The browser side of the transparent directory.
    #[wasm_bindgen(js_name = DirectoryClient)]
    pub struct WasmDirectoryClient(DirectoryClient);

    /// A lookup waiting for its checkpoint signature checks.
    #[wasm_bindgen(js_name = PendingLookup)]
    pub struct WasmPendingLookup(PendingLookup);

    /// Runs the checkpoint signature checks of `pending` with the browser's
    /// provider (WebCrypto ECDSA where it exists) and returns it for
    /// `DirectoryClient.finish`; one that does not verify is `INVALID_SIGNATURE`.
    #[wasm_bindgen(js_name = runLookupCheck)]
    pub async fn run_lookup_check(pending: WasmPendingLookup) -> JsResult<WasmPendingLookup> {
        let mut pending = pending.0;
        let jobs: Vec<_> = pending.jobs().cloned().collect();
        for (i, job) in jobs.iter().enumerate() {
            let verified = super::verified(job, "checkpoint signature does not verify").await?;
            pending.set_verified(i, verified).js()?;
        }
        Ok(WasmPendingLookup(pending))
    }

    #[wasm_bindgen(js_class = DirectoryClient)]
    impl WasmDirectoryClient {
        /// `keys`: JSON text of the pinned directory keys (JWKs); `kept`: the note kept before, or undefined.
        #[wasm_bindgen(constructor)]
        pub fn new(origin: JsValue, keys_json: JsValue, kept: JsValue) -> JsResult<WasmDirectoryClient> {
            let origin = args::string(&origin, "origin must be a string")?;
            let kept = if kept.is_undefined() || kept.is_null() {
                None
            } else {
                Some(args::string(&kept, "kept must be a checkpoint note")?)
            };
            DirectoryClient::new(&origin, args::public_keys(&keys_json, "keys must be PublicKeys")?, kept.as_deref())
                .map(Self)
                .js()
        }
        /// The first half of verifying a lookup (JSON text) for `subject`:
        /// run the returned check with `runLookupCheck`, then `finish` it.
        pub fn prepare(&self, subject: JsValue, lookup: JsValue) -> JsResult<WasmPendingLookup> {
            let subject = args::string(&subject, "subject must be a string")?;
            let lookup = Lookup::from_json(&args::string(&lookup, "a lookup is JSON text")?).js()?;
            self.0.prepare(&subject, &lookup).map(WasmPendingLookup).js()
        }
        /// Finishes a lookup whose checkpoint signatures ran; returns the certificate and keeps the checkpoint.
        pub fn finish(&mut self, pending: WasmPendingLookup) -> JsResult<String> {
            self.0.finish(pending.0).js()
        }
        /// The kept checkpoint note, or undefined.
        #[wasm_bindgen(getter, js_name = keptNote)]
        pub fn kept_note(&self) -> Option<String> {
            self.0.kept_note().map(str::to_owned)
        }
        /// The kept tree size, or undefined.
        #[wasm_bindgen(getter, js_name = keptSize)]
        pub fn kept_size(&self) -> Option<f64> {
            self.0.kept_size().map(|n| n as f64)
        }
        /// Compares with another client's kept note, given a consistency proof (JSON text).
        pub fn compare(&self, other: JsValue, proof: JsValue) -> JsResult<()> {
            let other = args::string(&other, "other must be a checkpoint note")?;
            self.0.compare(&other, &args::proof(&proof)?).js()
        }
    }

    /// The publishing side (the organisation's directory server).
    #[wasm_bindgen(js_name = KeyDirectory)]
    pub struct WasmKeyDirectory(Directory);

    #[wasm_bindgen(js_class = KeyDirectory)]
    impl WasmKeyDirectory {
        /// A directory named `origin`, checkpoints signed by `key`.
        #[wasm_bindgen(constructor)]
        pub fn new(origin: JsValue, key: &WasmSigningKey) -> JsResult<WasmKeyDirectory> {
            let origin = args::string(&origin, "origin must be a string")?;
            Ok(Self(Directory::new(&origin, key.copy_key()?)))
        }
        /// Appends a publication; returns its index.
        pub fn publish(&mut self, subject: JsValue, certificate: JsValue) -> JsResult<f64> {
            let subject = args::string(&subject, "subject must be a string")?;
            let certificate = args::string(&certificate, "certificate must be a string")?;
            self.0.publish(&subject, &certificate).map(|n| n as f64).js()
        }
        /// A signed checkpoint note at `timeMs`.
        pub fn checkpoint(&self, time_ms: JsValue) -> JsResult<String> {
            self.0.checkpoint(args::safe_u64(&time_ms, "timeMs must be a safe integer")?).js()
        }
        /// The newest entry for `subject` with proofs, as JSON text.
        pub fn lookup(&self, subject: JsValue, kept_size: JsValue, time_ms: JsValue) -> JsResult<String> {
            let subject = args::string(&subject, "subject must be a string")?;
            let kept = if kept_size.is_undefined() || kept_size.is_null() {
                None
            } else {
                Some(args::safe_u64(&kept_size, "keptSize must be a safe integer")?)
            };
            let time = args::safe_u64(&time_ms, "timeMs must be a safe integer")?;
            self.0.lookup(&subject, kept, time).map(|l| l.to_json()).js()
        }
        /// Every entry as JSON text `[[subject, certificate], …]` (for monitors).
        pub fn entries(&self) -> String {
            Value::Array(
                self.0
                    .entries()
                    .iter()
                    .map(|(s, c)| Value::Array(vec![Value::String(s.clone()), Value::String(c.clone())]))
                    .collect(),
            )
            .to_json()
        }
        /// A consistency proof between two sizes, JSON text of base64 hashes.
        pub fn consistency(&self, old: JsValue, new: JsValue) -> JsResult<String> {
            let old = args::safe_u64(&old, "old must be a safe integer")?;
            let new = args::safe_u64(&new, "new must be a safe integer")?;
            Ok(args::proof_json(&self.0.consistency(old, new).js()?))
        }
    }

    /// Checks `entries` (JSON text `[[subject, certificate], …]`) against the signed checkpoint and
    /// returns JSON text of `[{index, certificate}]` published for `subject` at or after `from`.
    #[wasm_bindgen(js_name = monitorDirectory)]
    pub fn monitor_directory(
        origin: JsValue,
        keys_json: JsValue,
        checkpoint: JsValue,
        entries: JsValue,
        subject: JsValue,
        from: JsValue,
    ) -> JsResult<String> {
        const SHAPE: Error = Error::new(ErrorCode::InvalidArgument, "entries are [[subject, certificate], ...]");
        let origin = args::string(&origin, "origin must be a string")?;
        let checkpoint = args::string(&checkpoint, "checkpoint must be a note")?;
        let subject = args::string(&subject, "subject must be a string")?;
        let from = args::safe_u64(&from, "from must be a safe integer")?;
        let entries = json_array(&entries, SHAPE)?
            .into_iter()
            .map(|v| match v {
                Value::Array(pair) => match pair.as_slice() {
                    [Value::String(s), Value::String(c)] => Ok((s.clone(), c.clone())),
                    _ => Err(to_js(SHAPE)),
                },
                _ => Err(to_js(SHAPE)),
            })
            .collect::<JsResult<Vec<_>>>()?;
        let found = monitor(
            &origin,
            &args::public_keys(&keys_json, "keys must be PublicKeys")?,
            &checkpoint,
            &entries,
            &subject,
            from,
        )
        .js()?;
        let out = found
            .into_iter()
            .map(|(i, c)| {
                let mut m = crate::json::Map::default();
                m.insert(
                    "index".into(),
                    crate::json::Number::from_text(&i.to_string()).map_or(Value::Null, Value::Number),
                );
                m.insert("certificate".into(), Value::String(c));
                Value::Object(m)
            })
            .collect();
        Ok(Value::Array(out).to_json())
    }
}
