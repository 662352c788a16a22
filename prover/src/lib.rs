//! The batch prover: splits a sealed batch into fixed-size chunks and proves them in
//! parallel. Its work arrives with the chunk circuit; today it holds nothing, so that the
//! workspace has its final shape and nothing here pretends to prove.
#![deny(missing_docs)]
#![forbid(unsafe_code)]
