//! The statement of the city rollup.
//!
//! The native side is the single source of truth for the rules: the sequencer executes it,
//! the prover builds its witnesses from it and the verifier replays with it. It is pure: no
//! database, no network, no clock (time comes in with each batch).
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod ballot;
pub mod constants;
pub mod hash;
pub mod keys;
pub mod merkle;
pub mod voter;

pub use hash::Fp;
