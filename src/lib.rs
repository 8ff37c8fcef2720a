#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod aead;
pub mod audit;
pub mod error;
pub mod field;
pub mod hpke;
pub mod json;
pub mod kdf;
pub mod keys;
pub mod media;
#[cfg(feature = "recovery")]
pub mod recovery;
pub mod sign;
pub mod trust;

#[cfg(feature = "conformance")]
pub mod conformance;

pub use error::{Error, ErrorCode, Result};

#[cfg(target_arch = "wasm32")]
pub mod browser;
#[cfg(target_arch = "wasm32")]
pub mod wasm;
