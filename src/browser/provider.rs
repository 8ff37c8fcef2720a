//! Run-time choice of where a private key lives and where Diffie-Hellman
//! runs: WebCrypto (fast in Chromium, and the only place a key can be
//! non-extractable) or RustCrypto in wasm (everywhere). Either way the HPKE
//! key schedule, formats and validation are the same Rust code
//! ([`crate::hpke::setup_sender_from_dh`], [`crate::hpke::setup_recipient_from_dh`]).

use zeroize::Zeroizing;

use super::webcrypto::{self, WebCryptoKey, WebCryptoSigningKey};
use crate::error::{Error, ErrorCode, Result};
use crate::hpke::{self, Psk, RecipientContext, SenderContext, Suite};
use crate::keys::{PrivateKey, PublicKey};
use crate::sign::{SIGNATURE_LEN, SigningKey, Verified, VerifyJob};

/// Where key generation and Diffie-Hellman run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Provider {
    /// WebCrypto if `crypto.subtle` exists, else RustCrypto.
    Auto,
    /// WebCrypto only (an error where it is missing).
    WebCrypto,
    /// RustCrypto in wasm.
    Wasm,
}

impl Provider {
    /// Parses `"auto"`, `"webcrypto"` or `"wasm"`.
    ///
    /// # Errors
    /// [`ErrorCode::InvalidArgument`] for anything else.
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "auto" => Ok(Self::Auto),
            "webcrypto" => Ok(Self::WebCrypto),
            "wasm" => Ok(Self::Wasm),
            _ => Err(Error::new(ErrorCode::InvalidArgument, "provider must be \"auto\", \"webcrypto\" or \"wasm\"")),
        }
    }

    fn use_webcrypto(self) -> Result<bool> {
        match self {
            Self::Wasm => Ok(false),
            Self::Auto => Ok(webcrypto::subtle().is_some()),
            Self::WebCrypto if webcrypto::subtle().is_some() => Ok(true),
            Self::WebCrypto => {
                Err(Error::new(ErrorCode::Unsupported, "WebCrypto (crypto.subtle) is not available here"))
            }
        }
    }
}

/// A P-384 private key held either by WebCrypto or in wasm memory.
#[derive(Debug, Clone)]
pub enum KeyHandle {
    /// A RustCrypto key in wasm memory (zeroized on drop).
    Wasm(PrivateKey),
    /// A WebCrypto `CryptoKey`, possibly non-extractable.
    WebCrypto(WebCryptoKey),
}

impl KeyHandle {
    /// Generates a key with the chosen provider.
    ///
    /// # Errors
    /// RNG or platform failures.
    pub async fn generate(provider: Provider, extractable: bool) -> Result<Self> {
        if provider.use_webcrypto()? {
            WebCryptoKey::generate(extractable).await.map(Self::WebCrypto)
        } else {
            PrivateKey::generate().map(Self::Wasm)
        }
    }

    /// Takes custody of an imported key with the chosen provider: with
    /// WebCrypto, the key moves into a `CryptoKey` (non-extractable unless asked).
    ///
    /// # Errors
    /// Platform failures.
    ///
    /// For WebCrypto the key becomes PKCS#8 bytes in a zeroizing heap buffer
    /// now, synchronously, and only that buffer goes into the future: a
    /// future holding the key itself leaves copies of its scalar in its
    /// state each time the state machine moves it, where page script can
    /// read them after the future is freed.
    pub fn adopt(
        key: PrivateKey,
        provider: Provider,
        extractable: bool,
    ) -> impl core::future::Future<Output = Result<Self>> {
        let custody = provider
            .use_webcrypto()
            .map(|webcrypto| if webcrypto { Err((key.to_pkcs8_der(), *key.public_key())) } else { Ok(key) });
        async move {
            match custody? {
                Ok(key) => Ok(Self::Wasm(key)),
                Err((der, public)) => WebCryptoKey::import_pkcs8(&der, public, extractable).await.map(Self::WebCrypto),
            }
        }
    }

    /// The public key.
    #[must_use]
    pub const fn public_key(&self) -> &PublicKey {
        match self {
            Self::Wasm(k) => k.public_key(),
            Self::WebCrypto(k) => k.public_key(),
        }
    }

    /// Whether the private key can be exported.
    #[must_use]
    pub fn extractable(&self) -> bool {
        match self {
            Self::Wasm(_) => true,
            Self::WebCrypto(k) => k.extractable(),
        }
    }

    /// `"wasm"` or `"webcrypto"`.
    #[must_use]
    pub const fn provider_name(&self) -> &'static str {
        match self {
            Self::Wasm(_) => "wasm",
            Self::WebCrypto(_) => "webcrypto",
        }
    }

    /// The private key as a RustCrypto key (for export).
    ///
    /// # Errors
    /// [`ErrorCode::Misuse`] for a non-extractable WebCrypto key.
    pub async fn to_private_key(&self) -> Result<PrivateKey> {
        match self {
            Self::Wasm(k) => Ok(k.clone()),
            Self::WebCrypto(k) => k.export().await,
        }
    }

    /// ECDH with a validated peer key.
    ///
    /// # Errors
    /// Platform failures.
    pub async fn diffie_hellman(&self, peer: &PublicKey) -> Result<Zeroizing<Vec<u8>>> {
        match self {
            Self::Wasm(k) => Ok(Zeroizing::new(k.diffie_hellman(peer).to_vec())),
            Self::WebCrypto(k) => k.diffie_hellman(peer).await,
        }
    }
}

/// HPKE sender setup with the ephemeral key and DH from `provider`
/// (and the sender's key, in the auth modes, from wherever it lives).
///
/// # Errors
/// As [`crate::hpke::setup_sender`].
pub async fn setup_sender(
    provider: Provider,
    suite: Suite,
    pk_r: &PublicKey,
    info: &[u8],
    psk: Option<Psk<'_>>,
    sk_s: Option<&KeyHandle>,
) -> Result<(Vec<u8>, SenderContext)> {
    let ephemeral = if provider.use_webcrypto()? {
        // A pre-generated single-use key if one is ready (then a seal costs
        // one ECDH), else a fresh one; either way the pool refills itself.
        let taken = ephemeral_pool::take();
        ephemeral_pool::refill(EPHEMERAL_POOL_SIZE);
        match taken {
            Some(key) => KeyHandle::WebCrypto(key),
            None => KeyHandle::generate(provider, false).await?,
        }
    } else {
        KeyHandle::generate(provider, false).await?
    };
    setup_sender_with_ephemeral(&ephemeral, suite, pk_r, info, psk, sk_s).await
}

/// How many ephemeral keys the pool keeps ready once HPKE senders are used.
pub const EPHEMERAL_POOL_SIZE: usize = 16;
/// The most keys [`prepare_ephemeral_keys`] will hold.
pub const EPHEMERAL_POOL_MAX: usize = 256;

/// Generates up to `count` single-use HPKE ephemeral keys ahead of time
/// (non-extractable WebCrypto keys; none without WebCrypto), so that later
/// seals cost one ECDH instead of a key generation plus an ECDH. Call it in
/// idle time before a burst of sealing; [`setup_sender`] also refills the
/// pool in the background after each use. Resolves to the number ready.
///
/// # Errors
/// Platform failures of WebCrypto key generation.
pub async fn prepare_ephemeral_keys(count: usize) -> Result<usize> {
    if webcrypto::subtle().is_none() {
        return Ok(0);
    }
    ephemeral_pool::fill(count.min(EPHEMERAL_POOL_MAX)).await?;
    Ok(ephemeral_pool::len())
}

/// Single-use ephemeral key pairs for HPKE senders, generated ahead of time
/// in WebCrypto: non-extractable (no script can read them), held only here,
/// and each one taken out exactly once (`take` removes it), so an ephemeral
/// key is never reused. Per wasm instance (each worker has its own).
mod ephemeral_pool {
    use core::cell::{Cell, RefCell};

    use super::WebCryptoKey;

    thread_local! {
        static POOL: RefCell<Vec<WebCryptoKey>> = const { RefCell::new(Vec::new()) };
        static REFILLING: Cell<bool> = const { Cell::new(false) };
    }

    pub(super) fn take() -> Option<WebCryptoKey> {
        POOL.with(|p| p.borrow_mut().pop())
    }

    pub(super) fn len() -> usize {
        POOL.with(|p| p.borrow().len())
    }

    /// Generates keys until the pool holds `target`.
    pub(super) async fn fill(target: usize) -> crate::error::Result<()> {
        while len() < target {
            let key = WebCryptoKey::generate(false).await?;
            POOL.with(|p| p.borrow_mut().push(key));
        }
        Ok(())
    }

    /// Starts one background task (if none runs) that tops the pool up to `target`.
    pub(super) fn refill(target: usize) {
        if REFILLING.with(Cell::get) || len() >= target {
            return;
        }
        REFILLING.with(|r| r.set(true));
        wasm_bindgen_futures::spawn_local(async move {
            // On failure a later seal generates inline and reports the error.
            let _ = fill(target).await;
            REFILLING.with(|r| r.set(false));
        });
    }
}

/// HPKE sender setup with a given ephemeral key (deterministic; used to run
/// the vectors through WebCrypto).
///
/// # Errors
/// As [`crate::hpke::setup_sender`].
pub async fn setup_sender_with_ephemeral(
    ephemeral: &KeyHandle,
    suite: Suite,
    pk_r: &PublicKey,
    info: &[u8],
    psk: Option<Psk<'_>>,
    sk_s: Option<&KeyHandle>,
) -> Result<(Vec<u8>, SenderContext)> {
    let enc = ephemeral.public_key().to_sec1(false);
    let mut dh = ephemeral.diffie_hellman(pk_r).await?;
    if let Some(sk_s) = sk_s {
        dh.extend_from_slice(&sk_s.diffie_hellman(pk_r).await?);
    }
    let ctx = hpke::setup_sender_from_dh(suite, &enc, pk_r, sk_s.map(KeyHandle::public_key), &dh, info, psk)?;
    Ok((enc, ctx))
}

/// HPKE recipient setup; `enc` is validated in Rust before any DH.
///
/// # Errors
/// As [`crate::hpke::setup_recipient`].
pub async fn setup_recipient(
    suite: Suite,
    enc: &[u8],
    sk_r: &KeyHandle,
    info: &[u8],
    psk: Option<Psk<'_>>,
    pk_s: Option<&PublicKey>,
) -> Result<RecipientContext> {
    let pk_e = hpke::parse_enc(enc)?;
    let mut dh = sk_r.diffie_hellman(&pk_e).await?;
    if let Some(pk_s) = pk_s {
        dh.extend_from_slice(&sk_r.diffie_hellman(pk_s).await?);
    }
    hpke::setup_recipient_from_dh(suite, enc, sk_r.public_key(), pk_s, &dh, info, psk)
}

/// Runs key-wrapping jobs (field and index-key formats) with `provider`,
/// concurrently (WebCrypto works off the main thread, so independent jobs
/// overlap).
///
/// # Errors
/// As [`setup_sender`].
pub async fn run_wrap_jobs(provider: Provider, jobs: &[crate::field::WrapJob]) -> Result<Vec<crate::field::Wrapped>> {
    let runs = jobs.iter().map(|job| async move {
        let (enc, mut ctx) = setup_sender(provider, Suite::PHISEAL, &job.recipient, &job.info, None, None).await?;
        let ct = ctx.seal(&job.aad, &job.secret)?;
        Ok(crate::field::Wrapped { enc, ct })
    });
    join_all(runs).await.into_iter().collect()
}

/// Runs key-unwrapping jobs with the recipient's key, wherever it lives,
/// concurrently.
///
/// # Errors
/// [`ErrorCode::DecryptFailed`] if a wrapped key does not open.
pub async fn run_unwrap_jobs(key: &KeyHandle, jobs: &[crate::field::UnwrapJob]) -> Result<Vec<Zeroizing<Vec<u8>>>> {
    let runs = jobs.iter().map(|job| async move {
        let mut ctx = setup_recipient(Suite::PHISEAL, &job.enc, key, &job.info, None, None).await?;
        Ok(Zeroizing::new(ctx.open(&job.aad, &job.ct)?))
    });
    join_all(runs).await.into_iter().collect()
}

/// Runs futures concurrently and returns their outputs in order: a minimal
/// `join_all` (each wake polls the ones not yet finished; the job lists here
/// are one per recipient and group, so a handful).
async fn join_all<F: Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut futures: Vec<core::pin::Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    core::future::poll_fn(move |cx| {
        let mut pending = false;
        for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    core::task::Poll::Ready(v) => *output = Some(v),
                    core::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            core::task::Poll::Pending
        } else {
            core::task::Poll::Ready(outputs.iter_mut().filter_map(Option::take).collect())
        }
    })
    .await
}

/// An ECDSA P-384 author key held either by WebCrypto (non-extractable by
/// default: no script can take it) or in wasm memory (where WebCrypto is missing).
#[derive(Debug)]
pub enum SignerHandle {
    /// A RustCrypto key in wasm memory (zeroized on drop).
    Wasm(SigningKey),
    /// A WebCrypto `CryptoKey` with `sign` usage.
    WebCrypto(WebCryptoSigningKey),
}

impl SignerHandle {
    /// Generates a signing key with the chosen provider.
    ///
    /// # Errors
    /// RNG or platform failures.
    pub async fn generate(provider: Provider, extractable: bool) -> Result<Self> {
        if provider.use_webcrypto()? {
            WebCryptoSigningKey::generate(extractable).await.map(Self::WebCrypto)
        } else {
            SigningKey::generate().map(Self::Wasm)
        }
    }

    /// Takes custody of an imported key: with WebCrypto, it moves into a
    /// `CryptoKey` (non-extractable unless asked).
    ///
    /// # Errors
    /// Platform failures.
    ///
    /// As [`KeyHandle::adopt`]: for WebCrypto only a zeroizing PKCS#8 buffer
    /// goes into the future, never the key.
    pub fn adopt(
        key: SigningKey,
        provider: Provider,
        extractable: bool,
    ) -> impl core::future::Future<Output = Result<Self>> {
        let custody = provider.use_webcrypto().and_then(|webcrypto| {
            if webcrypto {
                let der = PrivateKey::from_scalar_bytes(&key.to_scalar_bytes()[..])?.to_pkcs8_der();
                Ok(Err((der, key.verifying_key())))
            } else {
                Ok(Ok(key))
            }
        });
        async move {
            match custody? {
                Ok(key) => Ok(Self::Wasm(key)),
                Err((der, public)) => {
                    WebCryptoSigningKey::import_pkcs8(&der, public, extractable).await.map(Self::WebCrypto)
                }
            }
        }
    }

    /// The public key that verifies this key's signatures.
    #[must_use]
    pub fn public_key(&self) -> PublicKey {
        match self {
            Self::Wasm(k) => k.verifying_key(),
            Self::WebCrypto(k) => *k.public_key(),
        }
    }

    /// `"wasm"` or `"webcrypto"`.
    #[must_use]
    pub const fn provider_name(&self) -> &'static str {
        match self {
            Self::Wasm(_) => "wasm",
            Self::WebCrypto(_) => "webcrypto",
        }
    }

    /// Whether the private key can be exported.
    #[must_use]
    pub fn extractable(&self) -> bool {
        match self {
            Self::Wasm(_) => true,
            Self::WebCrypto(k) => k.extractable(),
        }
    }

    /// ECDSA P-384 / SHA-384, P1363.
    ///
    /// # Errors
    /// Platform failures.
    pub async fn sign(&self, message: &[u8]) -> Result<[u8; SIGNATURE_LEN]> {
        match self {
            Self::Wasm(k) => k.sign(message),
            Self::WebCrypto(k) => k.sign(message).await,
        }
    }
}

/// Checks a signature job: WebCrypto where it exists (several times faster
/// than wasm), RustCrypto otherwise; the key was parsed and validated by
/// phiseal either way.
///
/// # Errors
/// [`ErrorCode::InvalidSignature`] if it does not verify.
pub async fn verify(job: &VerifyJob) -> Result<Verified> {
    if webcrypto::subtle().is_none() {
        return job.run();
    }
    if webcrypto::ecdsa_verify(&job.key, &job.message, &job.signature).await? {
        Ok(job.verified())
    } else {
        Err(Error::new(ErrorCode::InvalidSignature, "signature verification failed"))
    }
}
