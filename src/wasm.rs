//! `wasm-bindgen` bindings: conversion of types and errors only, no logic.
//! One file per domain; every export has a camelCase `js_name`. The
//! idiomatic API (options objects, `Uint8Array`, Promises, `PhisealError`)
//! is the TypeScript layer in `js/`.
//!
//! Every fallible export rejects or throws a `PhisealError` whose codes are
//! documented once, in docs/FORMAT.md §4 and the TypeScript declarations,
//! rather than in an `# Errors` section per binding.
#![allow(clippy::missing_errors_doc)]

pub mod args;
#[cfg(feature = "audit")]
pub mod audit;
pub mod author;
pub mod error;
pub mod field;
pub mod hpke;
pub mod keys;
#[cfg(feature = "media")]
pub mod media;
#[cfg(feature = "media")]
pub mod stream;
pub mod trust;
