//! The auditors' verifier: checks batch proofs, ballot proofs and roots, and replays the
//! rules from genesis. Its commands arrive with the batch artifacts; today it holds nothing,
//! so that the workspace has its final shape and nothing here pretends to verify.
#![deny(missing_docs)]
#![forbid(unsafe_code)]
