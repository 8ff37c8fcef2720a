//! Wiping what secret work leaves on the wasm stack. The shadow stack lives
//! in linear memory, which any script of the page can read through the
//! module's exported `memory`; RustCrypto's scalar arithmetic and key
//! schedules leave copies of scalars and Diffie-Hellman secrets in stack
//! frames that have returned. Heap secrets are `Zeroizing`; these frames
//! are overwritten by [`scrub_stack`] at the end of each operation that
//! handled a secret (every promise the bindings return goes through
//! [`future_to_promise`]).

use core::future::Future;

use js_sys::Promise;
use wasm_bindgen::JsValue;
use zeroize::Zeroize as _;

/// How much of the stack below the caller is overwritten: more than the
/// deepest secret-handling call chain uses (P-384 arithmetic and HPKE
/// key schedules take a few KiB).
pub const SCRUB_BYTES: usize = 64 * 1024;

/// Overwrites [`SCRUB_BYTES`] of stack below the caller's frame with zeros.
#[inline(never)]
pub fn scrub_stack() {
    let mut frame = [0u64; SCRUB_BYTES / 8];
    frame.zeroize();
    core::hint::black_box(&mut frame);
}

/// Runs `f` in a frame of its own, then scrubs the stack it used: for a
/// binding whose synchronous part parses a private key (its locals, and the
/// copies a move leaves, are in frames below the caller's).
pub fn scrubbed<T>(f: impl FnOnce() -> T) -> T {
    let result = run(f);
    scrub_stack();
    result
}

#[inline(never)]
fn run<T>(f: impl FnOnce() -> T) -> T {
    f()
}

/// `wasm_bindgen_futures::future_to_promise`, with the stack scrubbed once
/// the future completes (in the poll that completes it, below which every
/// earlier poll ran too).
pub fn future_to_promise<F>(future: F) -> Promise
where
    F: Future<Output = Result<JsValue, JsValue>> + 'static,
{
    wasm_bindgen_futures::future_to_promise(async move {
        let result = future.await;
        scrub_stack();
        result
    })
}
