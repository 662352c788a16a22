//! What the benchmarks and the `report` command share: honest workloads of every transaction
//! kind ([`workload`]), chunk-proof verification outside the verifier's full check
//! ([`verify`]), the sequencer's ingest load generator ([`ingest`]) and restart timing
//! ([`restart`]) and the measuring tools
//! (medians, thread pools, peak memory, load average: [`measure`]), and Zcash's Orchard circuit
//! proved in the same run for comparison ([`orchard`]).
//!
//! The criterion benches live in `benches/` (`harness = false`); CI builds them and runs none.
//! Run one with `cargo bench -p benches --bench chunk`; the report with
//! `cargo run --release -p benches --bin report -- --help`.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod ingest;
pub mod measure;
pub mod orchard;
pub mod restart;
pub mod verify;
pub mod workload;
