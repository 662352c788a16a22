//! The statement of the city rollup.
//!
//! The native side is the single source of truth for the rules: the sequencer executes it,
//! the prover builds its witnesses from it and the verifier replays with it. It is pure: no
//! database, no network, no clock (time comes in with each batch).
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod ballot;
pub mod chunk;
pub mod constants;
pub mod demo;
pub mod error;
pub mod facts;
pub mod genesis;
pub mod hash;
pub mod keys;
pub mod matcher;
pub mod merkle;
pub mod params;
pub(crate) mod poseidon;
pub mod records;
pub mod rules;
pub mod schnorr;
pub(crate) mod selector;
pub mod signatures;
pub mod state;
pub mod tally;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod tx;
pub mod verifying;
pub mod voter;

pub use error::TxError;
pub use genesis::Genesis;
pub use hash::Fp;
pub use state::{Event, Params, State};
pub use tx::Transaction;
