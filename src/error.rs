//! One error type for the whole crate, with stable codes.
//!
//! Codes are part of the public API: JavaScript switches on
//! `PhisealError.code`, so a code once published never changes meaning.
//! Messages name what was wrong with the *input shape* only; they never
//! contain key bytes, plaintext, shared secrets or which internal check of an
//! authenticated decryption failed (every such failure is the one opaque
//! [`ErrorCode::DecryptFailed`]).

use core::fmt;

/// Stable, machine-readable error codes (the `code` seen from JavaScript).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// A key could not be parsed or is not a valid P-384 key.
    InvalidKey,
    /// Authenticated decryption failed (wrong key, wrong AAD/info, tampered
    /// or truncated ciphertext). Deliberately says nothing more.
    DecryptFailed,
    /// The algorithm, mode or format version is not supported.
    Unsupported,
    /// Input bytes or text are structurally malformed (bad base64url, bad
    /// length, bad DER/PEM/JSON).
    MalformedInput,
    /// An argument is out of range or inconsistent (e.g. a PSK without a PSK id).
    InvalidArgument,
    /// The API was used in a way that would be unsafe, e.g. a sequence
    /// number exhausted or a key used for the wrong purpose.
    Misuse,
    /// A signature did not verify (wrong key, altered message, malformed
    /// or non-canonical signature encoding).
    InvalidSignature,
    /// The key is not among the recipients of the sealed data.
    NotRecipient,
    /// The data was signed by a key the caller does not trust (or names
    /// no author the caller passed).
    UntrustedAuthor,
    /// The data is authentic but was made for another record id, encryption
    /// context or schema than the caller expects (moved or replayed).
    ContextMismatch,
    /// The data is authentic but older than the caller accepts (a rollback),
    /// or another version with the same number was seen (a fork).
    StaleVersion,
    /// `UNTRUSTED_KEY`: a key that is not certified by a trusted root (no chain to a pinned root).
    UntrustedKey,
    /// `KEY_EXPIRED`: a certificate (or revocation list) outside its validity period, or a JS
    /// session key, grant or break-glass key used after it expired.
    KeyExpired,
    /// `KEY_REVOKED`: a certificate named by the root's current revocation list.
    KeyRevoked,
    /// `WRONG_PURPOSE`: a certified key used for a purpose its certificate does not list.
    WrongPurpose,
    /// `ACCESS_DENIED`: a key certified for other groups (or an issuer certifying groups it may
    /// not), or in JS a grant's conditions that do not hold.
    AccessDenied,
    /// The platform random number generator failed.
    RngFailed,
    /// A browser platform call (WebCrypto) failed for a reason other than
    /// the input (e.g. the operation is not available in this context).
    Platform,
}

impl ErrorCode {
    /// The code as the stable SCREAMING_CASE string used in JavaScript.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InvalidKey => "INVALID_KEY",
            Self::DecryptFailed => "DECRYPT_FAILED",
            Self::Unsupported => "UNSUPPORTED",
            Self::MalformedInput => "MALFORMED_INPUT",
            Self::InvalidArgument => "INVALID_ARGUMENT",
            Self::Misuse => "MISUSE",
            Self::InvalidSignature => "INVALID_SIGNATURE",
            Self::NotRecipient => "NOT_RECIPIENT",
            Self::UntrustedAuthor => "UNTRUSTED_AUTHOR",
            Self::ContextMismatch => "CONTEXT_MISMATCH",
            Self::StaleVersion => "STALE_VERSION",
            Self::UntrustedKey => "UNTRUSTED_KEY",
            Self::KeyExpired => "KEY_EXPIRED",
            Self::KeyRevoked => "KEY_REVOKED",
            Self::WrongPurpose => "WRONG_PURPOSE",
            Self::AccessDenied => "ACCESS_DENIED",
            Self::RngFailed => "RNG_FAILED",
            Self::Platform => "PLATFORM",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The crate's error: a stable [`ErrorCode`] plus a static, secret-free message.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Error {
    code: ErrorCode,
    message: &'static str,
}

impl Error {
    /// Builds an error. Messages must be static text: they can therefore never
    /// carry key or plaintext bytes.
    #[must_use]
    pub const fn new(code: ErrorCode, message: &'static str) -> Self {
        Self { code, message }
    }

    /// The opaque authenticated-decryption failure.
    pub const DECRYPT_FAILED: Self = Self::new(ErrorCode::DecryptFailed, "decryption failed");

    /// The stable code.
    #[must_use]
    pub const fn code(&self) -> ErrorCode {
        self.code
    }

    /// The human-readable message (static, secret-free).
    #[must_use]
    pub const fn message(&self) -> &'static str {
        self.message
    }

    pub(crate) const fn invalid_key(message: &'static str) -> Self {
        Self::new(ErrorCode::InvalidKey, message)
    }
    pub(crate) const fn malformed(message: &'static str) -> Self {
        Self::new(ErrorCode::MalformedInput, message)
    }
    pub(crate) const fn unsupported(message: &'static str) -> Self {
        Self::new(ErrorCode::Unsupported, message)
    }
    pub(crate) const fn invalid_argument(message: &'static str) -> Self {
        Self::new(ErrorCode::InvalidArgument, message)
    }
    pub(crate) const fn misuse(message: &'static str) -> Self {
        Self::new(ErrorCode::Misuse, message)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Error({}: {})", self.code, self.message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for Error {}

/// Crate-wide result alias.
pub type Result<T, E = Error> = core::result::Result<T, E>;
