//! A proposal's voter set, synced without saying who asks.
//!
//! To prove a ballot, a voter needs the Merkle path of its identity commitment in the voter
//! tree as the proposal snapshot it (the first `N` commitments registered: the tree only
//! grows by appends). Asking the sequencer for that path, or for the position of a
//! commitment, would tell the operator which voter is about to vote, seconds before an
//! anonymous ballot arrives. So the client asks only for what every voter of the proposal
//! asks for, and works out the rest here:
//!
//! 1. `GET /v1/genesis`: which city this is (its hash names the cache file, so two cities
//!    never mix);
//! 2. `GET /v1/proposals/{id}`: the proposal's voter root and the size `N` of its voter set;
//! 3. `GET /v1/voters?from=F&limit=L`: pages of commitments in position order, only for the
//!    positions the cache does not hold yet, in pages of [`PAGE_LIMIT`].
//!
//! Then it builds the tree bottom-up over the `N` commitments ([`PrefixTree`]), checks that
//! its root is the proposal's voter root, and only then looks for its own commitment and
//! takes its path. No request of the sync depends on the voter's secret: two voters with the
//! same cache make the same requests. (The vote then asks for the sequence number of its own
//! nullifier, which the ballot carries in the open anyway: [`crate::ballot`].)
//!
//! Nothing the sequencer says is trusted beyond what is checked. The commitments (cached or
//! fetched) and the size `N` are checked by the root: a doctored page, a wrong `N` or a stale
//! cache give another root, and the vote stops with [`VoterSetError::RootMismatch`] before
//! anything is proved or submitted. The voter root itself is the proposal's as the
//! sequencer serves it; a ballot proved against another root is refused by the rules.
//!
//! The cache ([`sync`]'s `cache_dir`) holds, per deployment, the commitments of the longest
//! voter set that has passed a root check, in a small binary file with a digest. A file that
//! does not read back exactly (truncated, edited, another format) is discarded and the set
//! synced again; a well-formed file whose commitments do not match (another deployment
//! started from the same genesis) is discarded when the root check fails, and the set is
//! synced again from position 0 once before the mismatch is reported.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use circuits::constants::VOTERS_DEPTH;
use circuits::hash::to_hex;
use circuits::merkle::{MerklePath, PrefixTree};
use circuits::records::{Leaf, VoterLeaf};
use circuits::Fp;
use ff::PrimeField;
use serde::{Deserialize, Serialize};

use crate::api::{Api, ApiError};

/// Commitments asked for per page: the most the sequencer serves in one page of
/// `GET /v1/voters`. Every client pages the same way, so a page request says nothing about
/// who asks beyond how far its cache reached.
pub const PAGE_LIMIT: u64 = 4096;

/// Positions in the voter tree: no voter set is larger.
pub const CAPACITY: u64 = 1 << VOTERS_DEPTH;

/// Why a voter set could not be synced or used. Every case stops the vote before proving.
#[derive(Debug, thiserror::Error)]
pub enum VoterSetError {
    /// The sequencer refused or could not be reached, or its genesis or proposal answer is
    /// not what the API answers.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// The commitments served as the voter set hash to another root than the proposal's
    /// voter root: a doctored page, a wrong voter-set size or a wrong root.
    #[error(
        "proposal {proposal}: the {voters} commitments served as its voter set hash to {computed}, \
         not to its voter root {expected}; the sequencer's voter set is not the proposal's, \
         so nothing was proved or submitted"
    )]
    RootMismatch {
        /// The proposal.
        proposal: u64,
        /// The voter-set size the sequencer stated.
        voters: u64,
        /// The proposal's voter root (hex).
        expected: String,
        /// The root of the commitments served (hex).
        computed: String,
    },
    /// This voter's commitment is not in the proposal's (checked) voter set.
    #[error(
        "this voter's commitment is not among the {voters} voters of proposal {proposal} \
         (registered after it opened, or never registered): it cannot vote on it"
    )]
    NotInSnapshot {
        /// The proposal.
        proposal: u64,
        /// The size of its voter set.
        voters: u64,
    },
    /// A page inside the voter set holds fewer commitments than asked for.
    #[error(
        "a page of the voter set is short: asked for {expected} commitments from position \
         {from}, got {got} (the sequencer lists {total} registered)"
    )]
    ShortPage {
        /// The page's first position.
        from: u64,
        /// Commitments asked for.
        expected: u64,
        /// Commitments served.
        got: u64,
        /// Registered commitments, as the page states.
        total: u64,
    },
    /// A page is not what `GET /v1/voters` answers (not JSON, a bad commitment, another
    /// start, more than asked for).
    #[error("the page of the voter set from position {from} is malformed: {message}")]
    MalformedPage {
        /// The page's first position (as asked).
        from: u64,
        /// What is wrong.
        message: String,
    },
    /// The voter-set size stated for the proposal does not fit in the voter tree.
    #[error(
        "proposal {proposal} is said to have {voters} voters, more than the voter tree's \
         {capacity} positions"
    )]
    TooManyVoters {
        /// The proposal.
        proposal: u64,
        /// The size stated.
        voters: u64,
        /// [`CAPACITY`].
        capacity: u64,
    },
}

/// A proposal's voter root and voter-set size, as the sequencer states them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProposalVoters {
    /// The voter tree's root when the proposal opened.
    pub voter_root: Fp,
    /// How many commitments were registered then (a hint: a wrong one fails the root check).
    pub voters: u64,
}

/// One page of `GET /v1/voters?from=F&limit=L`: registered commitments in position order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    /// The position of the first commitment.
    pub from: u64,
    /// Commitments registered in all (the next position).
    pub total: u64,
    /// The commitments at `from`, `from + 1`, … (at most the limit asked for).
    pub commitments: Vec<Fp>,
}

/// Where a voter set is synced from: the sequencer ([`Api`]), or anything that answers the
/// same three questions (the tests' in-memory sources).
pub trait VoterSource {
    /// The deployment's identity: the same for every client of one city, different between
    /// cities. It names the cache file.
    fn deployment(&self) -> Result<String, VoterSetError>;
    /// The proposal's voter root and voter-set size.
    fn proposal_voters(&self, proposal: u64) -> Result<ProposalVoters, VoterSetError>;
    /// At most `limit` commitments from position `from`.
    fn page(&self, from: u64, limit: u64) -> Result<Page, VoterSetError>;
}

/// What a sync did.
#[derive(Clone, Debug, Default)]
pub struct SyncReport {
    /// Commitments taken from the cache (checked by the root with the others).
    pub cached: u64,
    /// Commitments fetched now.
    pub fetched: u64,
    /// Pages asked for.
    pub pages: u64,
    /// Why the cache was discarded, if it was (unreadable, corrupt, or not matching the
    /// proposal's root).
    pub discarded: Option<String>,
    /// Why the synced set could not be saved, if it could not (the vote goes on without it).
    pub not_saved: Option<String>,
    /// Time taken: requests, cache, building the tree and the root check.
    pub took: Duration,
}

/// A proposal's voter set whose root is the proposal's voter root.
#[derive(Clone, Debug)]
pub struct VoterSet {
    proposal: u64,
    tree: PrefixTree,
    report: SyncReport,
}

impl VoterSet {
    /// Builds the voter tree over `commitments` (positions `0..N`) and checks its root
    /// against `voter_root`.
    pub fn check(
        proposal: u64,
        commitments: Vec<Fp>,
        voter_root: Fp,
    ) -> Result<Self, VoterSetError> {
        let voters = commitments.len() as u64;
        let too_many = VoterSetError::TooManyVoters {
            proposal,
            voters,
            capacity: CAPACITY,
        };
        if voters > CAPACITY {
            return Err(too_many);
        }
        let tree = PrefixTree::build(VOTERS_DEPTH, VoterLeaf::default().leaf(), commitments)
            .map_err(|_| too_many)?;
        if tree.root() != voter_root {
            return Err(VoterSetError::RootMismatch {
                proposal,
                voters,
                expected: to_hex(&voter_root),
                computed: to_hex(&tree.root()),
            });
        }
        Ok(VoterSet {
            proposal,
            tree,
            report: SyncReport::default(),
        })
    }

    /// The proposal.
    pub fn proposal(&self) -> u64 {
        self.proposal
    }

    /// The voter set's size `N`.
    pub fn len(&self) -> u64 {
        self.tree.len()
    }

    /// `true` for a proposal opened before any voter was registered.
    pub fn is_empty(&self) -> bool {
        self.tree.is_empty()
    }

    /// The voter root (the proposal's: checked).
    pub fn root(&self) -> Fp {
        self.tree.root()
    }

    /// The commitments, in position order.
    pub fn commitments(&self) -> &[Fp] {
        self.tree.leaves()
    }

    /// The first position holding `commitment`, if any.
    pub fn position_of(&self, commitment: &Fp) -> Option<u64> {
        self.commitments()
            .iter()
            .position(|c| c == commitment)
            .map(|i| i as u64)
    }

    /// The Merkle path of `commitment` in this voter set, found here.
    pub fn path_of(&self, commitment: &Fp) -> Result<MerklePath, VoterSetError> {
        let not_in = || VoterSetError::NotInSnapshot {
            proposal: self.proposal,
            voters: self.len(),
        };
        let position = self.position_of(commitment).ok_or_else(not_in)?;
        // A position below N <= CAPACITY always has a path.
        self.tree.path(position).map_err(|_| not_in())
    }

    /// What the sync that made this set did.
    pub fn report(&self) -> &SyncReport {
        &self.report
    }
}

/// Syncs `proposal`'s voter set from `source` through the cache in `cache_dir` (made if
/// missing), and checks it against the proposal's voter root. See the module's
/// documentation for what is asked and what is checked.
pub fn sync(
    source: &dyn VoterSource,
    proposal: u64,
    cache_dir: &Path,
) -> Result<VoterSet, VoterSetError> {
    let started = Instant::now();
    let cache = Cache::new(cache_dir, &source.deployment()?);
    let stated = source.proposal_voters(proposal)?;
    if stated.voters > CAPACITY {
        return Err(VoterSetError::TooManyVoters {
            proposal,
            voters: stated.voters,
            capacity: CAPACITY,
        });
    }
    let (known, discarded) = cache.load();
    let mut saved = known.len() as u64;
    let mut report = SyncReport {
        discarded,
        ..SyncReport::default()
    };
    let mut set = match assemble(source, proposal, stated, known, &mut report) {
        Err(VoterSetError::RootMismatch { .. }) if report.cached > 0 => {
            // The cache may be another deployment's with the same genesis (a city started
            // again from scratch): its commitments are trusted only through the root, so
            // start over without them, once.
            cache.discard();
            saved = 0;
            report = SyncReport {
                discarded: Some(format!(
                    "its commitments did not hash to proposal {proposal}'s voter root"
                )),
                ..SyncReport::default()
            };
            assemble(source, proposal, stated, Vec::new(), &mut report)?
        }
        other => other?,
    };
    if set.len() > saved {
        if let Err(e) = cache.store(set.commitments()) {
            report.not_saved = Some(format!("{}: {e}", cache.file.display()));
        }
    }
    report.took = started.elapsed();
    set.report = report;
    Ok(set)
}

/// The first `stated.voters` commitments: those of `known` (the cache), then pages for the
/// rest; checked against the stated root.
fn assemble(
    source: &dyn VoterSource,
    proposal: u64,
    stated: ProposalVoters,
    mut known: Vec<Fp>,
    report: &mut SyncReport,
) -> Result<VoterSet, VoterSetError> {
    let voters = stated.voters;
    // voters <= CAPACITY = 2^24: it fits a usize.
    known.truncate(usize::try_from(voters).unwrap_or(usize::MAX));
    report.cached = known.len() as u64;
    let mut commitments = known;
    commitments.reserve(
        usize::try_from(voters)
            .unwrap_or(0)
            .saturating_sub(commitments.len()),
    );
    loop {
        let from = commitments.len() as u64;
        let Some(left) = voters.checked_sub(from).filter(|left| *left > 0) else {
            break;
        };
        let limit = left.min(PAGE_LIMIT);
        let page = source.page(from, limit)?;
        check_page(&page, from, limit)?;
        report.pages += 1;
        report.fetched += limit;
        commitments.extend(page.commitments);
    }
    VoterSet::check(proposal, commitments, stated.voter_root)
}

/// A page answers the request: it starts at `from` and holds exactly `limit` commitments
/// (every page asked for lies inside the voter set).
fn check_page(page: &Page, from: u64, limit: u64) -> Result<(), VoterSetError> {
    let got = page.commitments.len() as u64;
    if page.from != from {
        return Err(VoterSetError::MalformedPage {
            from,
            message: format!("it starts at position {}", page.from),
        });
    }
    if got > limit {
        return Err(VoterSetError::MalformedPage {
            from,
            message: format!("asked for {limit} commitments, got {got}"),
        });
    }
    if got < limit {
        return Err(VoterSetError::ShortPage {
            from,
            expected: limit,
            got,
            total: page.total,
        });
    }
    Ok(())
}

/// The identity of a deployment from its genesis (the JSON of `GET /v1/genesis`): the
/// BLAKE2b-256 of its compact JSON with keys sorted, in hex. Two cities never share it;
/// spacing or key order do not change it.
pub fn deployment_key(genesis: &serde_json::Value) -> String {
    // serde_json's maps are sorted by key (no `preserve_order`), so this is canonical.
    let bytes = serde_json::to_vec(genesis).unwrap_or_default();
    hex::encode(digest(&bytes))
}

/// The voter cache when none is chosen: `$XDG_CACHE_HOME/city-rollup/voters`, else
/// `~/.cache/city-rollup/voters`, else `city-rollup-voters` in the temporary directory.
pub fn default_cache_dir() -> PathBuf {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(cache) = var("XDG_CACHE_HOME") {
        PathBuf::from(cache).join("city-rollup").join("voters")
    } else if let Some(home) = var("HOME") {
        PathBuf::from(home)
            .join(".cache")
            .join("city-rollup")
            .join("voters")
    } else {
        std::env::temp_dir().join("city-rollup-voters")
    }
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    let hash = blake2b_simd::Params::new().hash_length(32).hash(bytes);
    let mut out = [0u8; 32];
    out.copy_from_slice(hash.as_bytes());
    out
}

/// The cache file of one deployment:
///
/// ```text
/// | "CRVOTER1" | count: u64 LE | count × 32-byte commitment (canonical LE) | BLAKE2b-256 of all before |
/// ```
struct Cache {
    file: PathBuf,
}

const MAGIC: &[u8; 8] = b"CRVOTER1";

impl Cache {
    fn new(dir: &Path, deployment: &str) -> Self {
        Cache {
            file: dir.join(format!("{deployment}.voters")),
        }
    }

    /// The cached commitments, or none and why the file was discarded.
    fn load(&self) -> (Vec<Fp>, Option<String>) {
        let bytes = match std::fs::read(&self.file) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return (Vec::new(), None),
            Err(e) => return (Vec::new(), Some(format!("unreadable: {e}"))),
        };
        match decode(&bytes) {
            Ok(commitments) => (commitments, None),
            Err(why) => {
                self.discard();
                (Vec::new(), Some(why))
            }
        }
    }

    /// Replaces the file with `commitments` (written aside, then renamed: a reader sees the
    /// old file or the new one).
    fn store(&self, commitments: &[Fp]) -> std::io::Result<()> {
        if let Some(dir) = self.file.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let aside = self
            .file
            .with_extension(format!("tmp-{}-{nanos:08x}", std::process::id()));
        std::fs::write(&aside, encode(commitments))?;
        std::fs::rename(&aside, &self.file).inspect_err(|_| {
            let _ = std::fs::remove_file(&aside);
        })
    }

    fn discard(&self) {
        let _ = std::fs::remove_file(&self.file);
    }
}

fn encode(commitments: &[Fp]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(8 + 8 + 32 * commitments.len() + 32);
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&(commitments.len() as u64).to_le_bytes());
    for c in commitments {
        bytes.extend_from_slice(&c.to_repr());
    }
    let sum = digest(&bytes);
    bytes.extend_from_slice(&sum);
    bytes
}

fn decode(bytes: &[u8]) -> Result<Vec<Fp>, String> {
    let (head, rest) = bytes
        .split_at_checked(16)
        .ok_or("shorter than its header")?;
    if &head[..8] != MAGIC {
        return Err("not a voter cache file".into());
    }
    let count = u64::from_le_bytes(head[8..].try_into().map_err(|_| "bad header")?);
    if count > CAPACITY {
        return Err(format!("it claims {count} commitments"));
    }
    let expected = count
        .checked_mul(32)
        .and_then(|n| n.checked_add(32))
        .ok_or("its length overflows")?;
    if rest.len() as u64 != expected {
        return Err(format!(
            "{} bytes after the header where {count} commitments take {expected}",
            rest.len()
        ));
    }
    let (body, sum) = bytes.split_at(bytes.len() - 32);
    if digest(body) != sum {
        return Err("its digest does not match (truncated or edited)".into());
    }
    rest[..rest.len() - 32]
        .chunks_exact(32)
        .enumerate()
        .map(|(i, chunk)| {
            let mut repr = [0u8; 32];
            repr.copy_from_slice(chunk);
            Option::from(Fp::from_repr(repr))
                .ok_or_else(|| format!("position {i} is not a field element"))
        })
        .collect()
}

impl VoterSource for Api {
    fn deployment(&self) -> Result<String, VoterSetError> {
        Ok(deployment_key(&self.get("/v1/genesis")?))
    }

    fn proposal_voters(&self, proposal: u64) -> Result<ProposalVoters, VoterSetError> {
        let path = format!("/v1/proposals/{proposal}");
        let json = self.get(&path)?;
        let unexpected = |message: String| ApiError::Unexpected {
            url: self.url(&path),
            message,
        };
        let voter_root: Fp = serde_json::from_value(json["record"]["voter_root"].clone())
            .map_err(|e| unexpected(format!("no voter root in the proposal ({e}): {json}")))?;
        let voters = json["voters"]
            .as_u64()
            .ok_or_else(|| unexpected(format!("no voter-set size in the proposal: {json}")))?;
        Ok(ProposalVoters { voter_root, voters })
    }

    fn page(&self, from: u64, limit: u64) -> Result<Page, VoterSetError> {
        let path = format!("/v1/voters?from={from}&limit={limit}");
        let json = self.get(&path).map_err(|e| match e {
            ApiError::Unexpected { url, message } => VoterSetError::MalformedPage {
                from,
                message: format!("{url}: {message}"),
            },
            other => VoterSetError::Api(other),
        })?;
        serde_json::from_value(json).map_err(|e| VoterSetError::MalformedPage {
            from,
            message: e.to_string(),
        })
    }
}

impl Api {
    /// Syncs `proposal`'s voter set through the cache in `cache_dir` and checks it against
    /// the proposal's voter root ([`sync`]).
    pub fn voter_set(&self, proposal: u64, cache_dir: &Path) -> Result<VoterSet, VoterSetError> {
        sync(self, proposal, cache_dir)
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::collections::HashMap;

    use circuits::merkle::MerkleTree;

    use super::*;

    /// An in-memory sequencer: registered commitments, proposals' snapshot sizes, every page
    /// request recorded, and a hook to doctor pages.
    struct Source {
        commitments: Vec<Fp>,
        /// Proposal -> its voter set's size and root (the sequencer's tree, built once).
        proposals: HashMap<u64, ProposalVoters>,
        asked: RefCell<Vec<(u64, u64)>>,
        doctor: Box<dyn Fn(&mut Page)>,
        stated: Box<dyn Fn(ProposalVoters) -> ProposalVoters>,
    }

    fn commitment(i: u64) -> Fp {
        circuits::hash::poseidon([Fp::from(7), Fp::from(i)])
    }

    impl Source {
        fn new(n: u64) -> Self {
            Source {
                commitments: (0..n).map(commitment).collect(),
                proposals: HashMap::new(),
                asked: RefCell::new(Vec::new()),
                doctor: Box::new(|_| {}),
                stated: Box::new(|p| p),
            }
        }

        /// Opens proposal `id` over the commitments registered now.
        fn open(mut self, id: u64) -> Self {
            let leaves = self.commitments.clone();
            let voter_root = PrefixTree::build(VOTERS_DEPTH, Fp::zero(), leaves)
                .unwrap()
                .root();
            let voters = self.commitments.len() as u64;
            self.proposals
                .insert(id, ProposalVoters { voter_root, voters });
            self
        }

        fn register(mut self, more: u64) -> Self {
            let n = self.commitments.len() as u64;
            self.commitments.extend((n..n + more).map(commitment));
            self
        }

        fn asked(&self) -> Vec<(u64, u64)> {
            self.asked.borrow_mut().drain(..).collect()
        }
    }

    impl VoterSource for Source {
        fn deployment(&self) -> Result<String, VoterSetError> {
            Ok("test-city".into())
        }

        fn proposal_voters(&self, proposal: u64) -> Result<ProposalVoters, VoterSetError> {
            Ok((self.stated)(self.proposals[&proposal]))
        }

        fn page(&self, from: u64, limit: u64) -> Result<Page, VoterSetError> {
            self.asked.borrow_mut().push((from, limit));
            let end = from
                .saturating_add(limit)
                .min(self.commitments.len() as u64);
            let mut page = Page {
                from,
                total: self.commitments.len() as u64,
                commitments: self.commitments[from.min(end) as usize..end as usize].to_vec(),
            };
            (self.doctor)(&mut page);
            Ok(page)
        }
    }

    fn cache_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("client-voters-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn cache_file(dir: &Path) -> PathBuf {
        dir.join("test-city.voters")
    }

    #[test]
    fn the_snapshot_is_synced_in_pages_and_its_paths_prove_against_the_sequencers_tree() {
        let n = PAGE_LIMIT + 5;
        let source = Source::new(n).open(0).register(3);
        let dir = cache_dir("pages");
        let set = sync(&source, 0, &dir).unwrap();
        assert_eq!(source.asked(), vec![(0, PAGE_LIMIT), (PAGE_LIMIT, 5)]);
        assert_eq!(set.len(), n);
        assert_eq!((set.report().cached, set.report().fetched), (0, n));
        // The sequencer's tree, leaf by leaf, as the state keeps it.
        let mut tree = MerkleTree::new(VOTERS_DEPTH, Fp::zero());
        for (i, c) in source.commitments[..n as usize].iter().enumerate() {
            tree.set(i as u64, *c);
        }
        assert_eq!(set.root(), tree.root());
        for i in [0, 1, PAGE_LIMIT - 1, PAGE_LIMIT, n - 1] {
            let path = set.path_of(&commitment(i)).unwrap();
            assert_eq!(path, tree.path(i));
        }
        // Registered after the proposal opened: not in its voter set.
        assert!(matches!(
            set.path_of(&commitment(n)),
            Err(VoterSetError::NotInSnapshot { proposal: 0, voters }) if voters == n
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_later_sync_fetches_only_what_the_cache_lacks() {
        let dir = cache_dir("incremental");
        let source = Source::new(10).open(0).register(6).open(1);
        sync(&source, 0, &dir).unwrap();
        assert_eq!(source.asked(), vec![(0, 10)]);
        let set = sync(&source, 1, &dir).unwrap();
        assert_eq!(source.asked(), vec![(10, 6)]);
        assert_eq!((set.report().cached, set.report().fetched), (10, 6));
        // An older, smaller set: all from the cache.
        let set = sync(&source, 0, &dir).unwrap();
        assert_eq!(source.asked(), vec![]);
        assert_eq!((set.len(), set.report().cached), (10, 10));
        set.path_of(&commitment(9)).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_corrupt_cache_is_discarded_and_synced_again() {
        let source = Source::new(20).open(0);
        let dir = cache_dir("corrupt");
        sync(&source, 0, &dir).unwrap();
        source.asked();
        let file = cache_file(&dir);
        let good = std::fs::read(&file).unwrap();
        let mut flipped = good.clone();
        flipped[16 + 32 * 3] ^= 1;
        let corruptions: Vec<(&str, Vec<u8>)> = vec![
            ("a flipped bit", flipped),
            ("truncated", good[..good.len() - 40].to_vec()),
            ("empty", Vec::new()),
            ("another format", b"[\"00\"]".to_vec()),
            ("a huge count", {
                let mut b = good.clone();
                b[8..16].copy_from_slice(&u64::MAX.to_le_bytes());
                b
            }),
        ];
        for (what, bytes) in corruptions {
            std::fs::write(&file, bytes).unwrap();
            let set = sync(&source, 0, &dir).unwrap();
            assert!(set.report().discarded.is_some(), "{what}");
            assert_eq!(source.asked(), vec![(0, 20)], "{what}");
            assert_eq!(std::fs::read(&file).unwrap(), good, "{what}: saved again");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_well_formed_cache_of_another_deployment_is_dropped_when_the_root_disagrees() {
        let dir = cache_dir("stale");
        // Another city with the same genesis (the same cache key) registered other voters.
        let other: Vec<Fp> = (100..130).map(commitment).collect();
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(cache_file(&dir), encode(&other)).unwrap();
        let source = Source::new(20).open(0);
        let set = sync(&source, 0, &dir).unwrap();
        assert_eq!(source.asked(), vec![(0, 20)]);
        assert_eq!(set.report().cached, 0);
        assert!(set.report().discarded.is_some());
        assert_eq!(
            decode(&std::fs::read(cache_file(&dir)).unwrap()).unwrap(),
            source.commitments
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn doctored_short_or_malformed_pages_and_wrong_sizes_are_refused_and_never_cached() {
        type Doctor = Box<dyn Fn(&mut Page)>;
        type Stated = Box<dyn Fn(ProposalVoters) -> ProposalVoters>;
        let keep: fn() -> Stated = || Box::new(|p| p);
        let cases: Vec<(&str, Doctor, Stated)> = vec![
            (
                "a commitment changed",
                Box::new(|p: &mut Page| p.commitments[3] += Fp::one()),
                keep(),
            ),
            (
                "two commitments swapped",
                Box::new(|p: &mut Page| p.commitments.swap(1, 2)),
                keep(),
            ),
            (
                "one too few",
                Box::new(|p: &mut Page| {
                    p.commitments.pop();
                }),
                keep(),
            ),
            (
                "one too many",
                Box::new(|p: &mut Page| p.commitments.push(Fp::one())),
                keep(),
            ),
            (
                "another start",
                Box::new(|p: &mut Page| p.from += 1),
                keep(),
            ),
            (
                "a size one short",
                Box::new(|_: &mut Page| {}),
                Box::new(|p| ProposalVoters {
                    voters: p.voters - 1,
                    ..p
                }),
            ),
            (
                "a size one long",
                Box::new(|_: &mut Page| {}),
                Box::new(|p| ProposalVoters {
                    voters: p.voters + 1,
                    ..p
                }),
            ),
            (
                "another root",
                Box::new(|_: &mut Page| {}),
                Box::new(|p| ProposalVoters {
                    voter_root: p.voter_root + Fp::one(),
                    ..p
                }),
            ),
            (
                "a size beyond the tree",
                Box::new(|_: &mut Page| {}),
                Box::new(|p| ProposalVoters {
                    voters: CAPACITY + 1,
                    ..p
                }),
            ),
        ];
        for (what, doctor, stated) in cases {
            let dir = cache_dir("doctored");
            // Two more registered after the proposal, so a size one long still pages.
            let mut source = Source::new(8).open(0).register(2);
            source.doctor = doctor;
            source.stated = stated;
            let err = sync(&source, 0, &dir).unwrap_err();
            let expected = match what {
                "one too few" => matches!(
                    err,
                    VoterSetError::ShortPage {
                        from: 0,
                        expected: 8,
                        got: 7,
                        total: 10
                    }
                ),
                "one too many" | "another start" => {
                    matches!(err, VoterSetError::MalformedPage { from: 0, .. })
                }
                "a size beyond the tree" => matches!(err, VoterSetError::TooManyVoters { .. }),
                _ => matches!(err, VoterSetError::RootMismatch { proposal: 0, .. }),
            };
            assert!(expected, "{what}: {err}");
            assert!(!cache_file(&dir).exists(), "{what}: cached");
            let _ = std::fs::remove_dir_all(&dir);
        }
    }

    #[test]
    fn a_cache_round_trips_and_names_the_deployment_by_its_genesis() {
        let commitments: Vec<Fp> = (0..5).map(commitment).collect();
        assert_eq!(decode(&encode(&commitments)).unwrap(), commitments);
        assert_eq!(decode(&encode(&[])).unwrap(), Vec::<Fp>::new());
        let a = serde_json::json!({"time": 1, "params": {"x": 2, "y": 3}});
        let spaced: serde_json::Value =
            serde_json::from_str("{ \"params\": {\"y\": 3, \"x\": 2},\n \"time\": 1 }").unwrap();
        let b = serde_json::json!({"time": 2, "params": {"x": 2, "y": 3}});
        assert_eq!(deployment_key(&a), deployment_key(&spaced));
        assert_ne!(deployment_key(&a), deployment_key(&b));
        assert_eq!(deployment_key(&a).len(), 64);
    }
}
