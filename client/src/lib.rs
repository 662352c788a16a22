//! The residents' and devices' client library: key files, a small blocking client of the
//! sequencer's HTTP API (nonces, submission with readable errors), a proposal's voter set
//! synced without naming the voter and checked against its root ([`voters`]), and ballots
//! proved locally ([`ballot`]). It pulls in neither the server (axum, sled) nor the
//! prover: it runs on residents' machines and on devices.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod api;
pub mod ballot;
pub mod keyfile;
pub mod voters;
