//! wasm-bindgen tests in Node: the cases of tests/web/cases.rs, run by
//! `wasm-pack test --node -- --features conformance` and by `make test`.
//! Browsers run the same cases as tests/web.rs.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

#[path = "web/cases.rs"]
mod cases;
