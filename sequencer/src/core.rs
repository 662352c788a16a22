//! What the sequencer knows in memory: the state and the ledger of the log (batches, the
//! open batch, where each transaction is), rebuilt at start by replaying the durable log
//! from genesis. Only the writer changes it, and only with what is already durable.

use std::collections::{HashMap, VecDeque};
use std::time::Instant;

use circuits::constants::TALLY_SLOT_BITS;
use circuits::hash::to_hex;
use circuits::records::VoterLeaf;
use circuits::rules::VerifiedSignature;
use circuits::state::{Plan, Write};
use circuits::{Event, Fp, Genesis, State};
use ff::PrimeField;

use crate::snapshot::{Checkpoint, Snapshots};
use crate::store::{BatchRecord, Store, StoreError};

/// A transaction's key in the in-memory index.
pub type Key = [u8; 32];

/// The index key of a field element.
pub fn key_of(value: &Fp) -> Key {
    value.to_repr()
}

/// The batch receiving transactions now.
#[derive(Clone, Debug)]
pub struct OpenBatch {
    /// Its number.
    pub number: u64,
    /// Its time, fixed by its first transaction.
    pub time: u64,
    /// Its first log position.
    pub first: u64,
    /// Durable transactions in it.
    pub count: u64,
    /// The state root before it.
    pub root_old: Fp,
    /// When its first transaction was accepted (for sealing by age).
    pub opened: Instant,
}

/// The state and the ledger.
#[derive(Debug)]
pub struct Core {
    /// The current state: every durable transaction applied.
    pub state: State,
    /// Transactions in the durable log (the next position).
    pub log_len: u64,
    /// Sealed batches, `sealed[i]` is batch `i + 1`.
    pub sealed: Vec<BatchRecord>,
    /// The open batch, if any transaction is in it.
    pub open: Option<OpenBatch>,
    /// Transaction id -> its latest log position.
    pub index: HashMap<Key, u64>,
    /// Proposal -> voters registered when it opened (its voter set).
    pub snapshots: HashMap<u64, u64>,
    /// The genesis time.
    pub genesis_time: u64,
}

/// A transaction replayed at recovery, handed to the caller (the prover's starting state).
pub struct Recovered {
    /// The core as the log leaves it.
    pub core: Core,
    /// The state after the last batch proven with every batch before it, and its number;
    /// `None` when the checkpoint loaded is newer ([`Core::proven_state`] rebuilds it).
    pub proven_state: Option<(u64, State)>,
    /// The batch that was open at the crash and had to be sealed, if any.
    pub sealed_at_recovery: Option<u64>,
    /// The batch of the checkpoint the replay started from (`None`: genesis).
    pub from_checkpoint: Option<u64>,
}

impl Core {
    /// The time of the latest batch (sealed or open), or genesis time.
    pub fn last_time(&self) -> u64 {
        match (&self.open, self.sealed.last()) {
            (Some(open), _) => open.time,
            (None, Some(last)) => last.time,
            (None, None) => self.genesis_time,
        }
    }

    /// The number the next batch opened gets.
    pub fn next_batch(&self) -> u64 {
        self.sealed.len() as u64 + 1
    }

    /// Records what an applied, durable transaction adds to the indexes.
    pub fn note(&mut self, position: u64, id: Fp, event: &Event) {
        self.index.insert(key_of(&id), position);
        if let Event::ProposalCreated { proposal } = event {
            self.snapshots
                .insert(*proposal, self.state.counters().voters);
        }
    }

    /// Where a log position is: `(batch number, open?)`.
    pub fn batch_of(&self, position: u64) -> Option<(u64, bool)> {
        if position >= self.log_len {
            return None;
        }
        if let Some(open) = &self.open {
            if position >= open.first {
                return Some((open.number, true));
            }
        }
        let i = self.sealed.partition_point(|b| b.end <= position);
        self.sealed.get(i).map(|b| (b.number, false))
    }

    /// Rebuilds the state and ledger: from the newest good checkpoint in `snapshots` (if
    /// given and any), else from genesis, replaying the durable log after it. Checks that
    /// the log has no gap, that every entry's batch and time follow on, that every
    /// transaction is still accepted by the rules and that every sealed batch's record
    /// matches the replay. A batch left open by a crash is sealed here (durably), so that
    /// new transactions go to a batch with a fresh time. `proven_through` is the last batch
    /// proven with every batch before it; the state it leaves is kept for the prover when
    /// the replay passes it (when a newer checkpoint was loaded, [`Core::proven_state`]
    /// rebuilds it).
    pub fn recover(
        genesis: &Genesis,
        store: &Store,
        snapshots: Option<&Snapshots>,
        proven_through: u64,
    ) -> Result<Recovered, StoreError> {
        let records = sealed_records(store)?;
        let checkpoint = snapshots.and_then(|s| s.newest(genesis, &records, records.len() as u64));
        let from_checkpoint = checkpoint.as_ref().map(|c| c.batch);
        let mut core = Core::start(genesis, &records, checkpoint);
        let mut proven_state = (proven_through == core.sealed.len() as u64)
            .then(|| (proven_through, core.state.clone()));
        core.replay(store, &records, None, |core, done| {
            if done == proven_through && done > 0 {
                proven_state = Some((done, core.state.clone()));
            }
        })?;
        let mut sealed_at_recovery = None;
        if let Some(open) = core.open.take() {
            let record = match records.get(open.number as usize - 1) {
                Some(_) => check_record(&records, &open, core.log_len, &core.state)?,
                None => {
                    let record = BatchRecord {
                        number: open.number,
                        time: open.time,
                        first: open.first,
                        end: core.log_len,
                        root_old: open.root_old,
                        root_new: core.state.root(),
                    };
                    store.seal(&record)?;
                    sealed_at_recovery = Some(open.number);
                    record
                }
            };
            core.sealed.push(record);
            if open.number == proven_through {
                proven_state = Some((proven_through, core.state.clone()));
            }
        }
        if records.len() > core.sealed.len() {
            return Err(StoreError::Corrupt(format!(
                "batch {} is recorded as sealed but the log ends in batch {}",
                records.len(),
                core.sealed.len()
            )));
        }
        if proven_through > core.sealed.len() as u64 {
            return Err(StoreError::Corrupt(format!(
                "batch {proven_through} has an artifact but only {} batches are sealed",
                core.sealed.len()
            )));
        }
        Ok(Recovered {
            core,
            proven_state,
            sealed_at_recovery,
            from_checkpoint,
        })
    }

    /// The state batch `proven_through` leaves (genesis for 0): the newest good checkpoint
    /// at or before it, or genesis, and the log replayed up to that batch's end. `None` if
    /// `cancelled` says so before the replay is done (it is asked every few hundred
    /// transactions).
    pub fn proven_state(
        genesis: &Genesis,
        store: &Store,
        snapshots: Option<&Snapshots>,
        proven_through: u64,
        cancelled: &dyn Fn() -> bool,
    ) -> Result<Option<State>, StoreError> {
        let records = sealed_records(store)?;
        if proven_through > records.len() as u64 {
            return Err(StoreError::Corrupt(format!(
                "batch {proven_through} has an artifact but only {} batches are sealed",
                records.len()
            )));
        }
        let checkpoint = snapshots.and_then(|s| s.newest(genesis, &records, proven_through));
        let mut core = Core::start(genesis, &records, checkpoint);
        let end = match proven_through {
            0 => 0,
            n => records[n as usize - 1].end,
        };
        while core.log_len < end {
            if cancelled() {
                return Ok(None);
            }
            let step = end.min(core.log_len + REPLAY_STEP);
            core.replay(store, &records, Some(step), |_, _| {})?;
        }
        Ok(Some(core.state))
    }

    /// The core a checkpoint holds (its batches sealed, none open), or genesis's.
    fn start(genesis: &Genesis, records: &[BatchRecord], checkpoint: Option<Checkpoint>) -> Core {
        match checkpoint {
            Some(c) => Core {
                state: c.state,
                log_len: c.log_len,
                sealed: records[..c.batch as usize].to_vec(),
                open: None,
                index: c.index,
                snapshots: c.voter_counts,
                genesis_time: genesis.time,
            },
            None => Core {
                state: genesis.state(),
                log_len: 0,
                sealed: Vec::with_capacity(records.len()),
                open: None,
                index: HashMap::new(),
                snapshots: HashMap::new(),
                genesis_time: genesis.time,
            },
        }
    }

    /// Replays the log from `self.log_len` to `end` (or its end), sealing each batch that a
    /// later entry closes (checked against its record) and calling `sealed` after each. The
    /// last batch replayed stays open.
    fn replay(
        &mut self,
        store: &Store,
        records: &[BatchRecord],
        end: Option<u64>,
        mut sealed: impl FnMut(&Core, u64),
    ) -> Result<(), StoreError> {
        if end.is_some_and(|end| self.log_len >= end) {
            return Ok(());
        }
        let chain = self.state.chain();
        let mut log = store
            .log_from(self.log_len)
            .take_while(|item| !matches!((item, end), (Ok((p, _)), Some(end)) if *p >= end));
        loop {
            let chunk = log
                .by_ref()
                .take(REPLAY_STEP as usize)
                .collect::<Result<Vec<_>, _>>()?;
            if chunk.is_empty() {
                break;
            }
            // Ids and signatures (against the keys the state holds before the chunk) on
            // every core; the rules, in order, below.
            let prepared = prepare(&self.state, chain, &chunk);
            for ((position, entry), (id, verified)) in chunk.into_iter().zip(prepared) {
                self.replay_one(records, position, entry, id, verified.as_ref(), &mut sealed)?;
            }
        }
        if let Some(end) = end {
            if self.log_len != end {
                return Err(StoreError::Corrupt(format!(
                    "the log ends at entry {}, before entry {end}",
                    self.log_len
                )));
            }
        }
        Ok(())
    }

    /// Replays one log entry (see [`Core::replay`]).
    fn replay_one(
        &mut self,
        records: &[BatchRecord],
        position: u64,
        entry: crate::store::LogEntry,
        id: Fp,
        verified: Option<&VerifiedSignature>,
        sealed: &mut impl FnMut(&Core, u64),
    ) -> Result<(), StoreError> {
        if position != self.log_len {
            return Err(StoreError::Corrupt(format!(
                "log entry {position} found where entry {} was expected",
                self.log_len
            )));
        }
        let starts_batch = self.open.as_ref().is_none_or(|o| o.number != entry.batch);
        if starts_batch {
            if let Some(open) = self.open.take() {
                let record = check_record(records, &open, position, &self.state)?;
                self.sealed.push(record);
                sealed(self, open.number);
            }
            if entry.batch != self.next_batch() || entry.time < self.last_time() {
                return Err(StoreError::Corrupt(format!(
                    "log entry {position} opens batch {} at time {}; expected batch {} at time {} or later",
                    entry.batch,
                    entry.time,
                    self.next_batch(),
                    self.last_time()
                )));
            }
            self.open = Some(OpenBatch {
                number: entry.batch,
                time: entry.time,
                first: position,
                count: 0,
                root_old: self.state.root(),
                opened: Instant::now(),
            });
        }
        let open = self.open.as_mut().expect("opened above");
        if entry.time != open.time {
            return Err(StoreError::Corrupt(format!(
                "log entry {position} has time {}, its batch {} has time {}",
                entry.time, open.number, open.time
            )));
        }
        open.count += 1;
        let plan = self
            .state
            .plan_verified(&entry.tx, entry.time, verified)
            .map_err(|e| {
                StoreError::Corrupt(format!(
                    "log entry {position} ({}) is refused on replay: {e}",
                    entry.tx.kind_name()
                ))
            })?;
        let event = self.state.commit(plan);
        self.log_len += 1;
        self.note(position, id, &event);
        Ok(())
    }

    /// What a checkpoint of this core holds; `None` while a batch is open (checkpoints are
    /// taken at sealed batch boundaries).
    pub fn checkpoint(&self) -> Option<Checkpoint> {
        if self.open.is_some() {
            return None;
        }
        let last = self.sealed.last()?;
        Some(Checkpoint {
            batch: last.number,
            log_len: self.log_len,
            state: self.state.clone(),
            index: self.index.clone(),
            voter_counts: self.snapshots.clone(),
        })
    }
}

/// Transactions replayed between two looks at whether a rebuild is still wanted, and
/// whose ids and signatures are prepared at once.
const REPLAY_STEP: u64 = 256;

/// Each entry's id, and its signature verified against the key `state` holds for its
/// signer (none for a signer `state` does not know yet: the rules verify it), on every
/// core.
fn prepare(
    state: &State,
    chain: Fp,
    entries: &[(u64, crate::store::LogEntry)],
) -> Vec<(Fp, Option<VerifiedSignature>)> {
    let one = |(_, entry): &(u64, crate::store::LogEntry)| {
        let verified = state
            .signer_key(&entry.tx)
            .and_then(|key| VerifiedSignature::check(&entry.tx, key, chain).ok());
        (entry.tx.id(), verified)
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if threads < 2 || entries.len() < 16 {
        return entries.iter().map(one).collect();
    }
    let share = entries.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let parts: Vec<_> = entries
            .chunks(share)
            .map(|part| scope.spawn(move || part.iter().map(one).collect::<Vec<_>>()))
            .collect();
        parts
            .into_iter()
            .flat_map(|p| p.join().expect("no panics"))
            .collect()
    })
}

/// The store's sealed batch records, checked to be numbered 1, 2, … in order.
fn sealed_records(store: &Store) -> Result<Vec<BatchRecord>, StoreError> {
    let records = store.batches()?;
    for (i, r) in records.iter().enumerate() {
        if r.number != i as u64 + 1 || r.first > r.end {
            return Err(StoreError::Corrupt(format!(
                "batch record {} found where batch {} was expected",
                r.number,
                i + 1
            )));
        }
    }
    Ok(records)
}

/// Checks a replayed batch against its durable record (if sealed), or makes the record of a
/// batch that ends where the replay says.
fn check_record(
    records: &[BatchRecord],
    open: &OpenBatch,
    end: u64,
    state: &State,
) -> Result<BatchRecord, StoreError> {
    let replayed = BatchRecord {
        number: open.number,
        time: open.time,
        first: open.first,
        end,
        root_old: open.root_old,
        root_new: state.root(),
    };
    match records.get(open.number as usize - 1) {
        Some(record) if *record == replayed => Ok(replayed),
        Some(record) => Err(StoreError::Corrupt(format!(
            "batch {} is recorded as positions {}..{} at time {} with root {}, the log replays to {}..{} at time {} with root {}",
            record.number,
            record.first,
            record.end,
            record.time,
            to_hex(&record.root_new),
            replayed.first,
            replayed.end,
            replayed.time,
            to_hex(&replayed.root_new)
        ))),
        None => Err(StoreError::Corrupt(format!(
            "batch {} is followed by batch {} but was never sealed",
            open.number,
            open.number + 1
        ))),
    }
}

/// What undoes one applied plan: the records its writes replaced and the counters before.
pub struct Undo(Plan);

/// The plan that puts back what `plan` is about to overwrite in `state`.
pub fn undo_of(state: &State, plan: &Plan) -> Undo {
    let mask = (1u64 << TALLY_SLOT_BITS) - 1;
    let writes = plan
        .writes
        .iter()
        .map(|w| match w {
            Write::Account(i, _) => Write::Account(*i, state.account(*i).unwrap_or_default()),
            Write::Meter(i, _) => Write::Meter(*i, state.meter(*i).unwrap_or_default()),
            Write::Order(i, _) => Write::Order(*i, state.order(*i).unwrap_or_default()),
            Write::Fleet(i, _) => Write::Fleet(*i, state.fleet_entry(*i).unwrap_or_default()),
            Write::Voter(i, _) => {
                Write::Voter(*i, state.voter(*i).map(VoterLeaf).unwrap_or_default())
            }
            Write::Proposal(i, _) => Write::Proposal(*i, state.proposal(*i).unwrap_or_default()),
            // The rules write a ballot slot only if it is empty or holds the same nullifier.
            Write::Ballot(i, r) => Write::Ballot(*i, state.ballot(r.nullifier).unwrap_or_default()),
            Write::Tally(k, _) => Write::Tally(*k, state.tally(k >> TALLY_SLOT_BITS, k & mask)),
        })
        .collect();
    Undo(Plan {
        writes,
        counters: state.counters().clone(),
        event: plan.event.clone(),
    })
}

/// Puts back what `undos` (in the order their plans were applied) replaced.
pub fn apply_undo(state: &mut State, undos: Vec<Undo>) {
    for Undo(plan) in undos.into_iter().rev() {
        state.commit(plan);
    }
}

/// Recent refusals, so that a client can ask why its transaction was refused. Bounded: the
/// oldest are forgotten first.
#[derive(Debug, Default)]
pub struct Rejections {
    order: VecDeque<Key>,
    reasons: HashMap<Key, crate::error::ErrorBody>,
}

impl Rejections {
    /// How many refusals are remembered.
    pub const CAPACITY: usize = 10_000;

    /// Remembers why the transaction with id `key` was refused.
    pub fn insert(&mut self, key: Key, reason: crate::error::ErrorBody) {
        if self.reasons.insert(key, reason).is_none() {
            self.order.push_back(key);
        }
        while self.order.len() > Self::CAPACITY {
            if let Some(old) = self.order.pop_front() {
                self.reasons.remove(&old);
            }
        }
    }

    /// Why it was refused, if remembered.
    pub fn get(&self, key: &Key) -> Option<&crate::error::ErrorBody> {
        self.reasons.get(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use circuits::demo::{demo_voter, City};
    use circuits::records::Side;
    use circuits::voter::Vote;

    const T: u64 = 1_767_230_000;

    #[test]
    fn undo_restores_the_root_for_every_kind_of_write() {
        let mut city = City::new(6);
        let metro = city.id("operator-metro");
        let (a, b) = (city.resident(0), city.resident(1));
        let setup = [
            city.register_operator(metro, [100, 200, 300, 400]),
            city.register_voter(demo_voter(0).commitment()),
        ];
        for tx in setup {
            city.apply(&tx, T).unwrap();
        }
        let tx = city.register_delegate(b);
        city.apply(&tx, T).unwrap();
        let tx = city.proposal("Q?", &["x", "y"], T, T + 1000);
        city.apply(&tx, T).unwrap();
        let (tx, key) = city.register_meter(a, "m");
        city.apply(&tx, T).unwrap();
        city.add_meter_key(0, key);
        let tx = city.reading(0, 5000);
        city.apply(&tx, T).unwrap();
        let before = city.state.root();
        let txs = [
            city.transfer(a, b, 10),
            city.tap(b, metro, 1, T),
            city.order(city.resident(2), Side::Buy, 1000, 10, T + 50),
            city.ballot(&demo_voter(0), 0, Vote::Delegate(0)),
            city.register_voter(demo_voter(1).commitment()),
            city.fleet_record(metro, 3, circuits::records::FleetKind::Insurance, b"doc"),
        ];
        let mut undos = Vec::new();
        for tx in txs {
            let plan = city.state.plan(&tx, T).unwrap();
            undos.push(undo_of(&city.state, &plan));
            city.state.commit(plan);
        }
        assert_ne!(city.state.root(), before);
        apply_undo(&mut city.state, undos);
        assert_eq!(city.state.root(), before);
    }

    #[test]
    fn rejections_forget_the_oldest_beyond_capacity() {
        let mut r = Rejections::default();
        let body = |c: &str| crate::error::ErrorBody {
            code: c.into(),
            message: String::new(),
        };
        for i in 0..(Rejections::CAPACITY as u64 + 5) {
            let mut key = [0u8; 32];
            key[..8].copy_from_slice(&i.to_le_bytes());
            r.insert(key, body("x"));
        }
        assert!(r.get(&[0u8; 32]).is_none());
        let mut last = [0u8; 32];
        last[..8].copy_from_slice(&(Rejections::CAPACITY as u64 + 4).to_le_bytes());
        assert_eq!(r.get(&last).unwrap().code, "x");
    }
}
