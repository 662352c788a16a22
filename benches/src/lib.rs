//! The rollup's benchmarks live in `benches/` (criterion, `harness = false`); CI builds them
//! and runs none. Run one with `cargo bench -p benches --bench native`.
