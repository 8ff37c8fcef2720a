//! wasm-bindgen tests in a browser: the cases of tests/web/cases.rs, run by
//! `wasm-pack test --headless --chrome -- --features conformance` (or
//! `--firefox`), and by `make test` in Chromium and Firefox. Node runs the same
//! cases as tests/web_node.rs (`wasm-pack test --node -- --features conformance`).
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

#[path = "web/cases.rs"]
mod cases;
