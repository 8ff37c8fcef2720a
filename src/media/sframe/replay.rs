//! Replay and reorder window for SFrame counters (RFC 9605 §7.5 leaves
//! replay protection to the application; this is phiseal's).
//!
//! A 128-bit sliding bitmap anchored at the highest accepted counter, as in
//! the anti-replay windows of IPsec (RFC 4303 §3.4.3) and SRTP
//! (RFC 3711 §3.3.2): fixed memory whatever the traffic.

use super::header::Counter;
use super::{REPLAYED_FRAME, STALE_FRAME};
use crate::error::Result;

/// Counters tracked behind the highest accepted one (the bitmap width).
pub const REPLAY_WINDOW: u64 = 128;

/// A sliding replay window over the counters of one key.
///
/// Bit `i` of `seen` records whether `highest - i` was accepted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplayWindow {
    highest: Option<Counter>,
    seen: u128,
}

impl ReplayWindow {
    /// An empty window: every counter is new.
    #[must_use]
    pub const fn new() -> Self {
        Self { highest: None, seen: 0 }
    }

    /// The highest counter accepted so far.
    #[must_use]
    pub const fn highest(&self) -> Option<Counter> {
        self.highest
    }

    /// Whether `ctr` would be accepted, without recording it.
    ///
    /// # Errors
    /// [`REPLAYED_FRAME`] if `ctr` was already accepted; [`STALE_FRAME`] if it
    /// is [`REPLAY_WINDOW`] or more behind the highest accepted counter.
    pub fn check(&self, ctr: Counter) -> Result<()> {
        let Some(highest) = self.highest else { return Ok(()) };
        let Some(behind) = highest.checked_sub(ctr) else { return Ok(()) };
        if behind >= REPLAY_WINDOW {
            return Err(STALE_FRAME);
        }
        if self.seen >> behind & 1 == 1 {
            return Err(REPLAYED_FRAME);
        }
        Ok(())
    }

    /// Checks `ctr` and records it. Call only once the frame authenticated,
    /// so forged frames cannot move the window.
    ///
    /// # Errors
    /// As [`ReplayWindow::check`]; nothing is recorded then.
    pub fn accept(&mut self, ctr: Counter) -> Result<()> {
        self.check(ctr)?;
        match self.highest {
            Some(highest) if ctr <= highest => {
                // `check` guarantees highest - ctr < REPLAY_WINDOW (= 128).
                self.seen |= 1u128 << (highest - ctr);
            }
            Some(highest) => {
                let ahead = ctr - highest;
                self.seen = if ahead >= REPLAY_WINDOW { 1 } else { self.seen << ahead | 1 };
                self.highest = Some(ctr);
            }
            None => {
                self.seen = 1;
                self.highest = Some(ctr);
            }
        }
        Ok(())
    }
}
