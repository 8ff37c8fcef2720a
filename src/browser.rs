//! Browser-only code (`cfg(target_arch = "wasm32")`): platform providers
//! reached through `web-sys`. No format or key-schedule decisions are made
//! here; this module only supplies Diffie-Hellman results and key custody.
//!
//! * [`webcrypto`]: P-384 ECDH in WebCrypto, so a private key can be a
//!   non-extractable `CryptoKey` whose bytes no script can read.
//! * [`provider`]: a key handle that is either such a `CryptoKey` or a
//!   RustCrypto key held in wasm memory, and the HPKE setups over either.
//! * [`scrub`]: overwrites the stack frames secret work leaves in linear memory.

pub mod provider;
pub mod scrub;
pub mod webcrypto;
