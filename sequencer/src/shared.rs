//! What the HTTP handlers, the writer, the prover and the checkpoint thread share: the
//! state and ledger behind one lock, the store, metrics, proving progress, recent
//! refusals, the signers' keys checked before the writer, the ballot keys, and the
//! shutdown and wake-up signals. Only [`crate::server::start`] builds it.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock, RwLock};
use std::time::Duration;

use circuits::ballot::BallotKeys;
use circuits::keys::PublicKey;
use circuits::tx::Signer;
use circuits::{Fp, Genesis, Transaction};

use crate::core::{Core, Rejections};
use crate::metrics::Metrics;
use crate::proving::ProofBook;
use crate::store::Store;

/// What the handlers, the writer and the prover share.
pub struct Shared {
    /// The genesis.
    pub genesis: Genesis,
    /// The genesis state root.
    pub genesis_root: Fp,
    /// The chain (the genesis hash), which every signed message includes: hashed once
    /// here, since hashing the genesis file is costly.
    pub chain: Fp,
    /// The state and ledger (the writer alone takes the write lock).
    pub core: RwLock<Core>,
    /// The durable store.
    pub store: Store,
    /// Metrics.
    pub metrics: Metrics,
    /// Proving progress.
    pub proofs: Mutex<ProofBook>,
    /// Recent refusals.
    pub rejections: Mutex<Rejections>,
    /// Signers' keys, for checking signatures before the writer.
    pub signer_keys: SignerKeys,
    /// Ballot keys, made once (in the background at start).
    pub ballot_keys: Arc<OnceLock<Result<BallotKeys, String>>>,
    /// The parameter cache.
    pub params_dir: PathBuf,
    /// Verifying keys for artifacts uploaded by prover workers (made at the first upload).
    pub upload_keys: Mutex<Option<verifier::Keys>>,
    pub(crate) shutting_down: AtomicBool,
    pub(crate) work: (Mutex<bool>, Condvar),
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Shared { .. }")
    }
}

impl Shared {
    /// Tells the prover a batch was sealed.
    pub fn wake_prover(&self) {
        let (lock, cvar) = &self.work;
        *lock.lock().expect("no panics") = true;
        cvar.notify_all();
    }

    /// Waits until woken or `timeout`.
    pub fn wait_for_work(&self, timeout: Duration) {
        let (lock, cvar) = &self.work;
        let guard = lock.lock().expect("no panics");
        let (mut guard, _) = cvar
            .wait_timeout_while(guard, timeout, |woken| !*woken)
            .expect("no panics");
        *guard = false;
    }

    /// Sleeps `duration` unless shutdown comes first.
    pub fn sleep_unless_shutdown(&self, duration: Duration) {
        let (lock, cvar) = &self.work;
        let guard = lock.lock().expect("no panics");
        let _ = cvar
            .wait_timeout_while(guard, duration, |_| !self.is_shutting_down())
            .expect("no panics");
    }

    /// Begins shutdown: the threads finish what they do and stop.
    pub fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
    }

    /// Whether shutdown began.
    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::SeqCst)
    }

    /// The ballot keys, made now if the background start has not finished.
    pub fn ballot_keys(&self) -> Result<&BallotKeys, String> {
        ballot_keys(&self.ballot_keys)
    }
}

/// The ballot keys in `cell`, made now if not yet.
pub(crate) fn ballot_keys(
    cell: &OnceLock<Result<BallotKeys, String>>,
) -> Result<&BallotKeys, String> {
    cell.get_or_init(|| BallotKeys::setup(circuits::ballot::params()).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(Clone::clone)
}

/// The keys of signers the writer has seen, for checking signatures before the writer
/// (keys never change once a leaf holds one, so a key here is the state's). Filled by the
/// writer as it plans transactions; a signer not yet here is checked by the writer.
#[derive(Debug, Default)]
pub struct SignerKeys(RwLock<HashMap<Signer, PublicKey>>);

impl SignerKeys {
    /// The key of `signer`, if known.
    pub fn get(&self, signer: Signer) -> Option<PublicKey> {
        self.0.read().expect("no panics").get(&signer).copied()
    }

    /// Remembers the key `state` holds for `tx`'s signer.
    pub(crate) fn learn(&self, state: &circuits::State, tx: &Transaction) {
        let signer = tx.signer();
        if signer == Signer::Anonymous || self.get(signer).is_some() {
            return;
        }
        if let Some(key) = state.signer_key(tx) {
            self.0.write().expect("no panics").insert(signer, key);
        }
    }
}
