//! What the client's integration tests share: a real sequencer on loopback.

use std::path::Path;
use std::time::Duration;

/// A sequencer for `genesis` with its data under `data`, on a free loopback port, sealing
/// batches every 200 ms and proving none (the client's tests need its API, not its proofs).
pub fn sequencer_without_proving(data: &Path, genesis: circuits::Genesis) -> sequencer::Running {
    let mut config =
        sequencer::Config::new(data.to_path_buf(), genesis, "127.0.0.1:0".parse().unwrap());
    config.prove = false;
    config.batch_age = Duration::from_millis(200);
    sequencer::spawn(config).unwrap()
}
