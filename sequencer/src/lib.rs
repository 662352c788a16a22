//! The city operator's sequencer service.
//!
//! Residents, devices and authorities submit signed transactions over HTTP ([`api`]); one
//! writer thread checks each against the current state with the rules, appends it to a
//! durable log in sled and flushes before answering, then applies it ([`writer`]); batches
//! are sealed by size or age; a prover thread proves sealed batches in order in the
//! background and stores their artifacts, which auditors read over the same API
//! ([`proving`]), or, with `--postgres`, enqueues their chunks for a fleet of prover workers
//! and publishes what they prove ([`pipeline`]). A restart, after a clean stop or a
//! `kill -9`, loads the newest good checkpoint ([`snapshot`]; the writer hands one to a
//! background thread every 16 sealed batches) and replays only the log after it
//! ([`core::Core::recover`]), or the whole log from genesis without one, and resumes
//! exactly.
//!
//! [`server::start`] (async) and [`server::spawn`] (its own runtime) start the whole
//! service in-process; the `sequencer` binary wraps them, and the `demo` crate starts the
//! service this way to run the demo city against it. [`explorer`] is the web page at `/` over
//! the same API.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod api;
pub mod core;
pub mod error;
pub mod explorer;
pub mod keyfile;
pub mod metrics;
pub mod pipeline;
pub mod proving;
pub mod server;
pub mod shared;
pub mod snapshot;
pub mod store;
pub mod writer;

pub use error::{ApiError, ErrorBody};
pub use server::{spawn, start, Config, Handle, Running, StartError};
pub use writer::Receipt;
