//! Batches end to end at small k (chunks of one slot, k = 12): native apply, prove, verify a
//! chain of two batches; then every tampered artifact is refused with the named fault, and
//! corrupt or truncated files give errors, never panics.

use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use circuits::demo::{demo_voter, City};
use circuits::voter::Vote;
use circuits::{Fp, State, Transaction};
use prover::{Options, Prover, Split};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use verifier::{ArtifactError, BatchArtifact, Keys, VerifyError};

const T1: u64 = 1_767_230_000;
const T2: u64 = 1_767_230_100;
const SLOTS: usize = 1;

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("city-params")
}

fn prover() -> &'static Prover {
    static PROVER: OnceLock<Prover> = OnceLock::new();
    PROVER.get_or_init(|| Prover::setup(&data_dir(), SLOTS, false).expect("prover setup"))
}

fn keys() -> std::sync::MutexGuard<'static, Keys> {
    static KEYS: OnceLock<Mutex<Keys>> = OnceLock::new();
    KEYS.get_or_init(|| Mutex::new(Keys::new(&data_dir())))
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

struct Chain {
    genesis: State,
    batches: Vec<BatchArtifact>,
    /// The state the native rules reach, without the prover.
    native: State,
}

/// Two batches of two transfers each, proved from the demo genesis; the native rules apply
/// the same transactions on their own for comparison.
fn chain() -> &'static Chain {
    static CHAIN: OnceLock<Chain> = OnceLock::new();
    CHAIN.get_or_init(|| {
        let mut city = City::new(4);
        let genesis = city.state.clone();
        let (a, b, c) = (city.resident(0), city.resident(1), city.resident(2));
        let batch = |city: &mut City, pairs: &[(u64, u64, u64)], now| {
            let mut txs = Vec::new();
            for &(from, to, amount) in pairs {
                let tx = city.transfer(from, to, amount);
                city.apply(&tx, now).expect("the rules accept the transfer");
                txs.push(tx);
            }
            txs
        };
        let txs1 = batch(&mut city, &[(a, b, 5), (b, c, 7)], T1);
        let txs2 = batch(&mut city, &[(c, a, 3), (a, b, 1)], T2);
        let mut state = genesis.clone();
        let options = Options {
            threads: 2,
            split: Split::ChunksInParallel,
            progress: false,
        };
        let b1 = prover()
            .prove_batch(&mut state, 1, T1, &txs1, options)
            .expect("batch 1 proves");
        let options = Options {
            split: Split::ChunksInSequence,
            ..options
        };
        let b2 = prover()
            .prove_batch(&mut state, 2, T2, &txs2, options)
            .expect("batch 2 proves");
        assert_eq!(state.root(), city.state.root());
        Chain {
            genesis,
            batches: vec![b1, b2],
            native: city.state,
        }
    })
}

fn verify(batches: &[BatchArtifact]) -> Result<verifier::ChainReport, VerifyError> {
    let named = batches
        .iter()
        .enumerate()
        .map(|(i, b)| (format!("file{i}.json"), b.clone()))
        .collect();
    keys().verify_chain(chain().genesis.clone(), named, &mut |_| {})
}

/// The lightweight check (`verifier chain` without `--replay`): proofs and data alone,
/// the artifacts written as files and streamed back from the directory.
fn verify_from_proofs(
    batches: &[BatchArtifact],
) -> Result<verifier::check::ProofsReport, VerifyError> {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "batch-light-{}",
        N.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for (i, b) in batches.iter().enumerate() {
        b.save(&dir.join(format!("file{i}.json"))).unwrap();
    }
    let genesis = &chain().genesis;
    let mut keys = keys();
    keys.set_genesis(genesis.chain(), genesis.params().clone());
    let stream = verifier::source::Source::Dir(dir)
        .stream(1)
        .map_err(unwrap_source)?;
    keys.verify_chain_proofs(
        verifier::check::Checkpoint::genesis(genesis),
        stream,
        3,
        &mut |_| {},
    )
    .map_err(unwrap_source)
}

fn unwrap_source(e: verifier::source::SourceError) -> VerifyError {
    match e {
        verifier::source::SourceError::Verify(e) => e,
        other => panic!("not a verification error: {other}"),
    }
}

/// The fault the full replay names; the lightweight check must refuse the same chain, with
/// the same fault, except that where the replay names a root it computed or a transaction
/// the rules refuse, the proof of that chunk is what fails without it.
#[track_caller]
fn refused(batches: &[BatchArtifact]) -> VerifyError {
    let e = match verify(batches) {
        Ok(_) => panic!("a tampered chain verified"),
        Err(e) => {
            assert!(e.is_data_fault(), "{e}");
            e
        }
    };
    let light = match verify_from_proofs(batches) {
        Ok(_) => panic!("a tampered chain verified from its proofs alone ({e})"),
        Err(l) => l,
    };
    match &e {
        VerifyError::ReplayRoot { batch, chunk, .. } => assert!(
            matches!(light, VerifyError::ChunkProof { batch: b, ref chunks, .. } if b == *batch && chunks.contains(chunk)),
            "replay: {e}; from proofs: {light}"
        ),
        // A transaction the rules refuse (a bad signature): its chunk's proof cannot exist.
        VerifyError::Refused { batch, .. } => assert!(
            matches!(light, VerifyError::ChunkProof { batch: b, .. } if b == *batch),
            "replay: {e}; from proofs: {light}"
        ),
        _ => assert_eq!(
            std::mem::discriminant(&light),
            std::mem::discriminant(&e),
            "replay: {e}; from proofs: {light}"
        ),
    }
    e
}

#[test]
fn a_chain_of_two_batches_proves_and_verifies_and_reaches_the_native_root() {
    let chain = chain();
    let [b1, b2] = &chain.batches[..] else {
        panic!()
    };
    assert_eq!((b1.number, b2.number), (1, 2));
    assert_eq!((b1.chunks.len(), b2.chunks.len()), (2, 2));
    assert_eq!(b1.root_old, chain.genesis.root());
    assert_eq!(b1.root_new, b2.root_old);
    let report = verify(&chain.batches).expect("the honest chain verifies");
    assert_eq!(report.batches.len(), 2);
    // From proofs and data alone it holds too, and ends at the same root.
    let light = verify_from_proofs(&chain.batches).expect("the honest chain verifies");
    assert_eq!(light.batches.len(), 2);
    assert_eq!(light.end.root, report.state.root());
    assert_eq!((light.end.number, light.end.time), (2, T2));
    assert!(light.batches.iter().all(|b| !b.replayed));
    assert_eq!(report.state.root(), chain.native.root());
    assert_eq!(report.state.root(), b2.root_new);
    // An account's leaf is included in the verified root.
    let who = City::new(4).resident(0);
    report
        .state
        .inclusion(circuits::state::TreeId::Accounts, who)
        .verify(b2.root_new)
        .unwrap();
    // Files round-trip.
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("batch-roundtrip.json");
    b1.save(&path).unwrap();
    assert_eq!(&BatchArtifact::load(&path).unwrap(), b1);
}

#[test]
fn a_flipped_proof_byte_is_named_by_proof_and_chunks() {
    // Each batch's two one-slot chunks are proven in one proof.
    for b in &chain().batches {
        assert_eq!(b.chunks.len(), 2);
        assert_eq!(b.chunk_proofs.len(), 1);
        assert_eq!(b.chunk_proofs[0].chunks, [0, 1]);
    }
    let mut batches = chain().batches.clone();
    batches[1].chunk_proofs[0].proof[100] ^= 1;
    let e = refused(&batches);
    assert!(
        matches!(e, VerifyError::ChunkProof { batch: 2, proof: 0, ref chunks } if chunks == &[0, 1]),
        "{e}"
    );
    // A truncated proof too.
    let mut batches = chain().batches.clone();
    batches[0].chunk_proofs[0].proof.truncate(50);
    let e = refused(&batches);
    assert!(
        matches!(
            e,
            VerifyError::ChunkProof {
                batch: 1,
                proof: 0,
                ..
            }
        ),
        "{e}"
    );
}

/// A proof of two chunks claimed as each chunk's proof alone fails at its first use; a
/// chunk no proof proves, one proven twice, a proof of no chunk, a proof listing its
/// chunks out of order, naming a chunk the batch lacks, or of two circuits: each refused
/// by name before any proof is checked.
#[test]
fn chunk_proofs_must_prove_each_chunk_once_in_order() {
    let split = |batches: &mut Vec<BatchArtifact>| {
        let whole = batches[0].chunk_proofs[0].clone();
        batches[0].chunk_proofs = vec![
            verifier::ChunkProofArtifact {
                chunks: vec![0],
                proof: whole.proof.clone(),
            },
            verifier::ChunkProofArtifact {
                chunks: vec![1],
                proof: whole.proof,
            },
        ];
    };
    let mut batches = chain().batches.clone();
    split(&mut batches);
    let e = refused(&batches);
    assert!(
        matches!(e, VerifyError::ChunkProof { batch: 1, proof: 0, ref chunks } if chunks == &[0]),
        "{e}"
    );
    let shape = |change: &dyn Fn(&mut BatchArtifact)| {
        let mut batches = chain().batches.clone();
        change(&mut batches[1]);
        refused(&batches)
    };
    let e = shape(&|b| b.chunk_proofs[0].chunks = vec![0]);
    assert!(
        matches!(e, VerifyError::ChunkUnproven { batch: 2, chunk: 1 }),
        "{e}"
    );
    let e = shape(&|b| {
        let again = b.chunk_proofs[0].clone();
        b.chunk_proofs.push(again);
    });
    assert!(
        matches!(e, VerifyError::ChunkProofs { batch: 2, proof: 1, ref problem } if problem.contains("chunk 0, which chunk proof 0 proves too")),
        "{e}"
    );
    let e = shape(&|b| b.chunk_proofs[0].chunks.clear());
    assert!(
        matches!(e, VerifyError::ChunkProofs { batch: 2, proof: 0, ref problem } if problem == "proves no chunk"),
        "{e}"
    );
    let e = shape(&|b| b.chunk_proofs[0].chunks = vec![1, 0]);
    assert!(
        matches!(e, VerifyError::ChunkProofs { batch: 2, proof: 0, ref problem } if problem.contains("out of ascending order")),
        "{e}"
    );
    let e = shape(&|b| b.chunk_proofs[0].chunks = vec![0, 1, 2]);
    assert!(
        matches!(e, VerifyError::ChunkProofs { batch: 2, proof: 0, ref problem } if problem.contains("names chunk 2, the batch has 2")),
        "{e}"
    );
    let e = shape(&|b| b.chunks[1].slots = 2);
    assert!(
        matches!(e, VerifyError::ChunkProofs { batch: 2, proof: 0, ref problem } if problem.contains("one proof is of one circuit")),
        "{e}"
    );
}

#[test]
fn each_batch_has_one_signature_proof_and_a_tampered_one_is_named() {
    let chain = chain();
    for b in &chain.batches {
        assert_eq!(b.signatures.len(), 1);
        assert_eq!((b.signatures[0].k, b.signatures[0].signatures), (11, 2));
        assert!(b
            .chunks
            .iter()
            .all(|c| c.signers.iter().all(Option::is_some)));
    }
    // A flipped byte of a signature proof.
    let mut batches = chain.batches.clone();
    batches[1].signatures[0].proof[100] ^= 1;
    let e = refused(&batches);
    assert!(
        matches!(
            e,
            VerifyError::SignatureProof {
                batch: 2,
                proof: 0,
                first: 0,
                end: 2
            }
        ),
        "{e}"
    );
    // Batch 1's signature proof in batch 2: it proves other keys' signatures, on other
    // messages.
    let mut batches = chain.batches.clone();
    batches[1].signatures = batches[0].signatures.clone();
    let e = refused(&batches);
    assert!(
        matches!(e, VerifyError::SignatureProof { batch: 2, .. }),
        "{e}"
    );
    // No signature proof, or one claiming fewer signatures than the batch has.
    let mut batches = chain.batches.clone();
    batches[0].signatures.clear();
    let e = refused(&batches);
    assert!(
        matches!(
            e,
            VerifyError::SignatureCount {
                batch: 1,
                signed: 2,
                covered: 0
            }
        ),
        "{e}"
    );
    let mut batches = chain.batches.clone();
    batches[0].signatures[0].signatures = 1;
    let e = refused(&batches);
    assert!(
        matches!(e, VerifyError::SignatureCount { batch: 1, .. }),
        "{e}"
    );
    // A size the verifier makes no keys for, or more signatures than the size holds.
    let over = circuits::signatures::capacity_for(11) + 1;
    for (k, signatures) in [(10, 2), (16, 2), (11, over)] {
        let mut batches = chain.batches.clone();
        batches[0].signatures[0].k = k;
        batches[0].signatures[0].signatures = signatures;
        let e = refused(&batches);
        assert!(
            matches!(
                e,
                VerifyError::SignatureShape {
                    batch: 1,
                    proof: 0,
                    ..
                }
            ),
            "{e}"
        );
    }
}

#[test]
fn a_signer_key_other_than_the_proven_one_or_missing_is_refused() {
    // Another resident's key as the first transfer's signer: the verifier would check that
    // key's signature, but the chunk proof exposes the payer's.
    let mut batches = chain().batches.clone();
    let thief = City::new(4).key(City::new(4).resident(3)).public_key();
    batches[0].chunks[0].signers[0] = Some(thief);
    let e = refused(&batches);
    assert!(
        matches!(
            e,
            VerifyError::ChunkProof {
                batch: 1,
                proof: 0,
                ..
            }
        ),
        "{e}"
    );
    // A signed transfer with no signer key: no signature would be checked for it.
    let mut batches = chain().batches.clone();
    batches[1].chunks[1].signers[0] = None;
    let e = refused(&batches);
    assert!(
        matches!(e, VerifyError::Signers { batch: 2, chunk: 1, ref problem } if problem.contains("transaction 1 (transfer) has no signer key")),
        "{e}"
    );
    // One signer entry too many.
    let mut batches = chain().batches.clone();
    batches[0].chunks[0].signers.push(None);
    let e = refused(&batches);
    assert!(
        matches!(
            e,
            VerifyError::Signers {
                batch: 1,
                chunk: 0,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn a_backdated_batch_is_refused_by_name() {
    // Batch 2 claims a time before batch 1's: the verifier names it before anything else
    // (its chunk proofs, whose public `now` it changes, would fail too).
    let mut batches = chain().batches.clone();
    batches[1].time = batches[0].time - 1;
    let e = refused(&batches);
    assert!(
        matches!(e, VerifyError::BatchTime { batch: 2, previous, time } if previous == T1 && time == T1 - 1),
        "{e}"
    );
    // Batch 1 claims a time before genesis.
    let mut batches = chain().batches.clone();
    batches[0].time = chain().genesis.time() - 1;
    let e = refused(&batches);
    assert!(matches!(e, VerifyError::BatchTime { batch: 1, .. }), "{e}");
    // A later time than proven (not backdated): the state root commits to the batch time,
    // so the replayed root differs from the proven one (and `now` is a public input).
    let mut batches = chain().batches.clone();
    batches[1].time += 1;
    let e = refused(&batches);
    assert!(
        matches!(
            e,
            VerifyError::ReplayRoot { batch: 2, .. } | VerifyError::ChunkProof { batch: 2, .. }
        ),
        "{e}"
    );
}

#[test]
fn a_changed_transaction_is_refused() {
    let mut batches = chain().batches.clone();
    let Transaction::Transfer(t) = &mut batches[0].transactions[1] else {
        panic!()
    };
    t.amount += 1;
    let e = refused(&batches);
    assert!(
        matches!(
            e,
            VerifyError::DataHash {
                batch: 1,
                chunk: 1,
                ..
            }
        ),
        "{e}"
    );
    // With the data hash recomputed to match, the signature no longer holds on replay.
    let txs = batches[0].transactions[1..2].to_vec();
    batches[0].chunks[1].data_hash =
        circuits::chunk::data_hash(chain().genesis.chain(), &txs, SLOTS);
    let e = refused(&batches);
    assert!(
        matches!(
            e,
            VerifyError::Refused {
                batch: 1,
                tx: 1,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn swapped_chunks_are_refused() {
    let mut batches = chain().batches.clone();
    batches[0].chunks.swap(0, 1);
    let e = refused(&batches);
    assert!(
        matches!(
            e,
            VerifyError::DataHash {
                batch: 1,
                chunk: 0,
                ..
            }
        ),
        "{e}"
    );
    // Swapping the transactions with them: the chunks no longer chain.
    batches[0].transactions.swap(0, 1);
    let e = refused(&batches);
    assert!(
        matches!(
            e,
            VerifyError::ChunkChain {
                batch: 1,
                chunk: 0,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn wrong_roots_are_refused() {
    let bogus = Fp::from(12345);
    // The batch claims another final root.
    let mut batches = chain().batches.clone();
    batches[1].root_new = bogus;
    let e = refused(&batches);
    assert!(
        matches!(e, VerifyError::BatchRootNew { batch: 2, .. }),
        "{e}"
    );
    // A chunk claims another root, and the next chunk chains from it: the replay differs.
    let mut batches = chain().batches.clone();
    batches[0].chunks[0].root_new = bogus;
    batches[0].chunks[1].root_old = bogus;
    let e = refused(&batches);
    assert!(
        matches!(
            e,
            VerifyError::ReplayRoot {
                batch: 1,
                chunk: 0,
                ..
            }
        ),
        "{e}"
    );
    // The first batch does not start at genesis.
    let mut batches = chain().batches.clone();
    batches[0].root_old = bogus;
    let e = refused(&batches);
    assert!(matches!(e, VerifyError::RootOld { batch: 1, .. }), "{e}");
}

#[test]
fn replayed_or_skipped_batches_are_refused() {
    let [b1, b2] = &chain().batches[..] else {
        panic!()
    };
    // The same batch published twice.
    let e = refused(&[b1.clone(), b1.clone(), b2.clone()]);
    assert!(matches!(e, VerifyError::Duplicate { number: 1, .. }), "{e}");
    // Batch 1 replayed as batch 3: its time is before batch 2's (and its root_old is not
    // where batch 2 ended); dated after batch 2, its root_old still gives it away.
    let mut again = b1.clone();
    again.number = 3;
    let e = refused(&[b1.clone(), b2.clone(), again.clone()]);
    assert!(matches!(e, VerifyError::BatchTime { batch: 3, .. }), "{e}");
    again.time = T2;
    let e = refused(&[b1.clone(), b2.clone(), again]);
    assert!(matches!(e, VerifyError::RootOld { batch: 3, .. }), "{e}");
    // Batch 1 missing.
    let e = refused(std::slice::from_ref(b2));
    assert!(
        matches!(
            e,
            VerifyError::Number {
                expected: 1,
                found: 2
            }
        ),
        "{e}"
    );
    // A gap: batch 2 renumbered 3.
    let mut later = b2.clone();
    later.number = 3;
    let e = refused(&[b1.clone(), later]);
    assert!(
        matches!(
            e,
            VerifyError::Number {
                expected: 2,
                found: 3
            }
        ),
        "{e}"
    );
}

#[test]
fn corrupt_truncated_or_foreign_files_give_errors_not_panics() {
    let text = chain().batches[0].to_json();
    let read = |t: &str| BatchArtifact::from_json(t, "test.json");
    assert!(read(&text).is_ok());
    for cut in [0, 1, 10, text.len() / 3, text.len() / 2, text.len() - 2] {
        let e = read(&text[..cut]).unwrap_err();
        assert!(matches!(e, ArtifactError::Json { .. }), "{e}");
    }
    // A root that is not hex, or not a field element.
    let root = circuits::hash::to_hex(&chain().batches[0].root_old);
    let e = read(&text.replacen(&root, &"zz".repeat(32), 1)).unwrap_err();
    assert!(e.to_string().contains("test.json"), "{e}");
    let e = read(&text.replacen(&root, &"ff".repeat(32), 1)).unwrap_err();
    assert!(matches!(e, ArtifactError::Json { .. }), "{e}");
    // An odd-length proof.
    let proof = hex::encode(&chain().batches[0].chunk_proofs[0].proof);
    let e = read(&text.replacen(&proof, &proof[1..], 1)).unwrap_err();
    assert!(matches!(e, ArtifactError::Json { .. }), "{e}");
    // Another version, no version, not an artifact at all.
    let current = format!("\"version\": {}", verifier::artifact::VERSION);
    assert!(text.contains(&current), "the artifact names its version");
    let e = read(&text.replacen(&current, "\"version\": 3", 1)).unwrap_err();
    assert!(matches!(e, ArtifactError::Version { found: 3, .. }), "{e}");
    assert!(e.to_string().contains("version 3"), "{e}");
    let e = read("{\"number\": 1}").unwrap_err();
    assert!(matches!(e, ArtifactError::NoVersion { .. }), "{e}");
    let e = read("[1, 2, 3]").unwrap_err();
    assert!(matches!(e, ArtifactError::NoVersion { .. }), "{e}");
    // Chunks too large to check, or of no slots: refused before any parameters are made.
    for slots in [0, 1 << 40] {
        let mut huge = chain().batches.clone();
        huge[0].chunks[0].slots = slots;
        let e = refused(&huge);
        assert!(matches!(e, VerifyError::Slots { batch: 1, .. }), "{e}");
    }
    let e = read(&text.replacen("\"number\"", "\"numbr\"", 1)).unwrap_err();
    assert!(matches!(e, ArtifactError::Json { .. }), "{e}");
    // Bytes that are not text.
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("not-utf8.json");
    std::fs::write(&path, [0xff, 0xfe, 0x00, 0x01]).unwrap();
    let e = BatchArtifact::load(&path).unwrap_err();
    assert!(matches!(e, ArtifactError::Io { .. }), "{e}");
    let e = BatchArtifact::load(&path.with_extension("absent")).unwrap_err();
    assert!(matches!(e, ArtifactError::Io { .. }), "{e}");
}

fn ballot_keys() -> &'static circuits::ballot::BallotKeys {
    static KEYS: OnceLock<circuits::ballot::BallotKeys> = OnceLock::new();
    KEYS.get_or_init(|| {
        circuits::ballot::BallotKeys::setup(circuits::ballot::params()).expect("ballot keys")
    })
}

/// A city of two registered voters and two open proposals (0 and 1), for ballot tests.
fn two_voters_two_proposals() -> City {
    let mut city = City::new(2);
    for v in 0..2 {
        let tx = city.register_voter(demo_voter(v).commitment());
        city.apply(&tx, T1).unwrap();
    }
    for _ in 0..2 {
        let tx = city.proposal("Q?", &["a", "b"], T1, T1 + 1_000);
        city.apply(&tx, T1).unwrap();
    }
    city
}

/// `voter`'s ballot for option 1 of proposal 0, with its proof.
fn ballot(city: &City, voter: u64, seed: u64) -> Transaction {
    let proof = circuits::ballot::prove(
        ballot_keys(),
        &demo_voter(voter),
        &city.state.voter_path(voter),
        0,
        Vote::Option(1),
        0,
        ChaCha20Rng::seed_from_u64(seed),
    )
    .unwrap();
    Transaction::Ballot(proof.into_transaction())
}

/// The same ballot claiming proposal 1: its proof no longer holds.
fn moved(tx: &Transaction) -> Transaction {
    let Transaction::Ballot(mut b) = tx.clone() else {
        panic!("a ballot")
    };
    b.proposal = 1;
    Transaction::Ballot(b)
}

/// Batch `number` assembled by hand: one governance chunk holding `tx`, from `before`'s
/// root to `root_new` at `time`, its data hash true and its proof not a proof.
fn hand_made(
    number: u64,
    before: &State,
    root_new: Fp,
    time: u64,
    tx: Transaction,
) -> BatchArtifact {
    BatchArtifact {
        version: verifier::VERSION,
        number,
        time,
        root_old: before.root(),
        root_new,
        chunks: vec![verifier::ChunkArtifact {
            family: circuits::chunk::Family::Governance,
            slots: 1,
            transactions: 1,
            root_old: before.root(),
            root_new,
            data_hash: circuits::chunk::data_hash(before.chain(), std::slice::from_ref(&tx), 1),
            signers: vec![None],
        }],
        chunk_proofs: vec![verifier::ChunkProofArtifact {
            chunks: vec![0],
            proof: vec![0; 64],
        }],
        signatures: Vec::new(),
        transactions: vec![tx],
    }
}

/// This artifact is assembled by hand: its
/// data hashes and roots are true, its chunk proof is not. The honest one then fails only at
/// the chunk proofs (every earlier check, the ballot proof included, passed); the one whose
/// ballot was moved to another proposal fails at its ballot proof.
#[test]
fn a_ballot_moved_to_another_proposal_is_refused() {
    let mut city = two_voters_two_proposals();
    let tx = ballot(&city, 1, 7);
    let before = city.state.clone();
    city.apply(&tx, T2).unwrap();
    let check = |tx: Transaction| {
        let mut state = before.clone();
        keys().verify_batch(
            &hand_made(1, &before, city.state.root(), T2, tx),
            Some(&mut state),
            before.root(),
            Some(1),
            Some(before.time()),
            &mut |_| {},
        )
    };
    let e = check(tx.clone()).unwrap_err();
    assert!(
        matches!(
            e,
            VerifyError::ChunkProof {
                batch: 1,
                proof: 0,
                ..
            }
        ),
        "{e}"
    );
    let e = check(moved(&tx)).unwrap_err();
    assert!(
        matches!(
            e,
            VerifyError::BallotProof {
                batch: 1,
                tx: 0,
                proposal: 1
            }
        ),
        "{e}"
    );
}

/// The chain check from proofs alone takes ballot proofs over its window of batches, and
/// still names the bad one by batch and position: two hand-made batches (true data hashes
/// and roots, chunk proofs that are not), a ballot in each; the second's moved to another
/// proposal is named before any chunk proof, and without it the chain fails only at the
/// first chunk proof.
#[test]
fn the_chain_check_names_a_moved_ballot_in_a_later_batch_of_its_window() {
    let mut city = two_voters_two_proposals();
    let start = city.state.clone();
    let mut batches = Vec::new();
    for (number, voter) in [(1u64, 0u64), (2, 1)] {
        let tx = ballot(&city, voter, number);
        let before = city.state.clone();
        let time = T2 + number;
        city.apply(&tx, time).unwrap();
        batches.push((number, before, city.state.root(), time, tx));
    }
    let check = |second: Transaction| {
        let mut keys = keys();
        keys.set_genesis(start.chain(), start.params().clone());
        let chain = batches.iter().map(|(number, before, root_new, time, tx)| {
            let tx = if *number == 2 {
                second.clone()
            } else {
                tx.clone()
            };
            let artifact = hand_made(*number, before, *root_new, *time, tx);
            Ok::<_, VerifyError>((format!("batch {number}"), artifact))
        });
        keys.verify_chain_proofs(
            verifier::check::Checkpoint::genesis(&start),
            chain,
            256,
            &mut |_| {},
        )
        .map(|_| ())
        .unwrap_err()
    };
    let e = check(batches[1].4.clone());
    assert!(
        matches!(
            e,
            VerifyError::ChunkProof {
                batch: 1,
                proof: 0,
                ..
            }
        ),
        "{e}"
    );
    let e = check(moved(&batches[1].4));
    assert!(
        matches!(
            e,
            VerifyError::BallotProof {
                batch: 2,
                tx: 0,
                proposal: 1
            }
        ),
        "{e}"
    );
}

/// Applies `tx` to the city at `now` and adds it to the batch.
fn push(city: &mut City, txs: &mut Vec<Transaction>, now: u64, tx: Transaction) {
    city.apply(&tx, now)
        .unwrap_or_else(|e| panic!("{}: {e}", tx.kind_name()));
    txs.push(tx);
}

#[test]
fn a_batch_of_every_kind_proves_and_verifies() {
    let mut city = City::new(6);
    let genesis = city.state.clone();
    let mut txs = Vec::new();
    let t = &mut txs;
    let (r0, r1, r2, r3) = (
        city.resident(0),
        city.resident(1),
        city.resident(2),
        city.resident(3),
    );
    let metro = city.id("operator-metro");
    // Accounts.
    let tx = city.register_operator(metro, [290, 400, 350, 600]);
    push(&mut city, t, T1, tx);
    let tx = city.concession(r1, 50);
    push(&mut city, t, T1, tx);
    let tx = city.tap(r1, metro, 1, T1 - 600);
    push(&mut city, t, T1, tx);
    let tx = city.transfer(r0, r1, 125);
    push(&mut city, t, T1, tx);
    let tx = city.open_account(r2, &circuits::keys::SecretKey::from_seed(b"newcomer"));
    push(&mut city, t, T1, tx);
    let tx = city.register_delegate(r3);
    push(&mut city, t, T1, tx);
    // Registry: a meter and its reading, orders, a fleet record, voters, a proposal.
    let (tx, key) = city.register_meter(r0, "every kind");
    push(&mut city, t, T1, tx);
    city.add_meter_key(0, key);
    let tx = city.reading(0, 5_000);
    push(&mut city, t, T1, tx);
    let tx = city.order(r0, circuits::records::Side::Sell, 2_000, 20, T1 + 3_600);
    push(&mut city, t, T1, tx);
    let tx = city.order(r2, circuits::records::Side::Buy, 800, 25, T1 + 3_600);
    let applied = city.place_and_match(&tx, T1).unwrap();
    assert_eq!(applied.len(), 2, "the buy and its fill");
    t.extend(applied.into_iter().map(|(tx, _)| tx));
    let tx = city.cancel(r0, 0);
    push(&mut city, t, T1, tx);
    let tx = city.fleet_record(metro, 7, circuits::records::FleetKind::Insurance, b"policy");
    push(&mut city, t, T1, tx);
    for v in 0..2 {
        let tx = city.register_voter(demo_voter(v).commitment());
        push(&mut city, t, T1, tx);
    }
    let tx = city.proposal("Night trams?", &["yes", "no"], T1 - 10, T1 + 1_000);
    push(&mut city, t, T1, tx);
    // Governance: a ballot with its proof, a delegate's vote.
    let proof = circuits::ballot::prove(
        ballot_keys(),
        &demo_voter(1),
        &city.state.voter_path(1),
        0,
        Vote::Delegate(0),
        0,
        ChaCha20Rng::seed_from_u64(11),
    )
    .unwrap();
    push(
        &mut city,
        t,
        T1,
        Transaction::Ballot(proof.into_transaction()),
    );
    let tx = city.delegate_vote(r3, 0, 1);
    push(&mut city, t, T1, tx);
    let kinds: std::collections::BTreeSet<&str> = txs.iter().map(|t| t.kind_name()).collect();
    assert_eq!(kinds.len(), 16, "{kinds:?}");

    let mut state = genesis.clone();
    let artifact = prover()
        .prove_batch(&mut state, 1, T1, &txs, Options::default())
        .expect("every kind proves");
    assert_eq!(state.root(), city.state.root());
    let families: std::collections::BTreeSet<_> =
        artifact.chunks.iter().map(|c| c.family).collect();
    assert_eq!(families.len(), 4, "every family's circuit");
    {
        // From its proofs and data alone, every family's chunks and the ballot hold.
        let mut keys = keys();
        keys.set_genesis(genesis.chain(), genesis.params().clone());
        let light = keys
            .verify_chain_proofs::<VerifyError>(
                verifier::check::Checkpoint::genesis(&genesis),
                vec![Ok(("every-kind.json".into(), artifact.clone()))],
                256,
                &mut |_| {},
            )
            .expect("the batch verifies from its proofs");
        assert_eq!(light.end.root, city.state.root());
        assert_eq!(light.batches[0].ballots, 1);
    }
    let report = keys()
        .verify_chain(
            genesis,
            vec![("every-kind.json".into(), artifact)],
            &mut |_| {},
        )
        .expect("the batch verifies");
    assert_eq!(report.state.root(), city.state.root());
}
