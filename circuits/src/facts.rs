//! Facts about a state, proven by inclusion against its root.
//!
//! A light client that has verified a chain of chunk proofs knows one thing for sure: the
//! state root the last proven batch ends at. A [`StateProof`] carries records (accounts,
//! meters, orders, proposals, tally slots…) with their Merkle paths and the root's preimage
//! (every tree root and the counters); [`StateProof::verify`] checks each record against
//! that root and gives the [`ProvenFacts`] the client may believe. Whoever sent the proof is
//! never trusted: a changed record, a path of another position or another state's header is
//! refused by name, and a fact the proof does not cover is an error, never a default.
//!
//! Existence follows the counters under the root: account `i` exists when
//! `i < counters.accounts`, as [`State::account`] says, so an absent record is proven too.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::hash::{to_hex, Fp};
use crate::merkle::MerklePath;
use crate::records::{Account, Meter, Order, Proposal, Tally};
use crate::state::{tally_key, Counters, InclusionError, State, StateHeader, TreeId, Write};
use crate::tally::TallyResult;
use crate::tx::{AccountId, MeterId, OrderId, ProposalId};
use crate::voter::Vote;

/// A record with the path of its leaf.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordProof {
    /// The record, as a write of its leaf (it names its tree and position).
    pub record: Write,
    /// The leaf's path in its tree.
    pub path: MerklePath,
}

/// Records of one state with their paths, under that state's header.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateProof {
    /// The state root's preimage.
    pub header: StateHeader,
    /// The records.
    pub records: Vec<RecordProof>,
}

/// A state proof of the state a proven batch leaves, as a sequencer serves it
/// (`GET /v1/proven/…`). Only `proof` is evidence: the client checks it against the root it
/// verified batch `batch` to end at, never against `root` as sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvenFact {
    /// The batch whose resulting state the proof is of (0: genesis).
    pub batch: u64,
    /// That state's root, as the sender claims it.
    pub root: Fp,
    /// The records and their paths.
    pub proof: StateProof,
}

/// Why a state proof does not prove what it claims.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FactError {
    /// The header or a record's path does not lead to the root.
    #[error(transparent)]
    Inclusion(#[from] InclusionError),
    /// A record came with the path of another position.
    #[error("the {tree} record at {index} came with the path of position {path}")]
    WrongPosition {
        /// The record's tree.
        tree: &'static str,
        /// The record's position.
        index: u64,
        /// The position the path is of.
        path: u64,
    },
    /// A record the fact needs is not in the proof.
    #[error("the proof has no {tree} record at {index}, which this fact needs")]
    Missing {
        /// The tree.
        tree: &'static str,
        /// The position.
        index: u64,
    },
}

/// What a verified [`StateProof`] proves: records of the state with a known root.
#[derive(Clone, Debug)]
pub struct ProvenFacts {
    header: StateHeader,
    records: HashMap<(TreeId, u64), Write>,
}

impl State {
    /// The proof of the records at `targets` (empty leaves too) in this state.
    pub fn prove_records(&self, targets: impl IntoIterator<Item = (TreeId, u64)>) -> StateProof {
        StateProof {
            header: self.header(),
            records: targets
                .into_iter()
                .map(|(tree, index)| RecordProof {
                    record: self.record(tree, index),
                    path: self.path(tree, index),
                })
                .collect(),
        }
    }

    /// The proof of what a proposal's result is resolved from: its record and, if it
    /// exists, its option slots and every registered delegate's slot
    /// ([`ProvenFacts::tally_result`]).
    pub fn prove_tally(&self, proposal: ProposalId) -> StateProof {
        let mut targets = vec![(TreeId::Proposals, proposal)];
        if let Some(p) = self.proposal(proposal) {
            targets.extend(
                tally_slots(p.options, self.counters().delegates)
                    .map(|slot| (TreeId::Tallies, tally_key(proposal, slot))),
            );
        }
        self.prove_records(targets)
    }
}

/// The tally slots a result is resolved from: `options` option slots, then the slot of
/// each of `delegates` delegates (those beyond every slot have none).
fn tally_slots(options: u64, delegates: u64) -> impl Iterator<Item = u64> {
    (0..options).chain((0..delegates).filter_map(|d| Vote::Delegate(d).slot()))
}

impl StateProof {
    /// Checks every record against `root`: the header hashes to it, and each record's leaf
    /// with its path (of the record's own position) hashes to its tree's root in the header.
    pub fn verify(&self, root: Fp) -> Result<ProvenFacts, FactError> {
        let computed = self.header.root();
        if computed != root {
            return Err(InclusionError::HeaderMismatch {
                expected: to_hex(&root),
                computed: to_hex(&computed),
            }
            .into());
        }
        let mut records = HashMap::with_capacity(self.records.len());
        for RecordProof { record, path } in &self.records {
            let (tree, index) = record.target();
            if path.index != index {
                return Err(FactError::WrongPosition {
                    tree: tree.name(),
                    index,
                    path: path.index,
                });
            }
            path.verify(tree.depth(), record.leaf(), self.header.tree_root(tree))
                .map_err(|source| InclusionError::Path {
                    tree: tree.name(),
                    source,
                })?;
            records.insert((tree, index), record.clone());
        }
        Ok(ProvenFacts {
            header: self.header.clone(),
            records,
        })
    }
}

impl ProvenFacts {
    /// The state root the facts are proven against.
    pub fn root(&self) -> Fp {
        self.header.root()
    }

    /// The counters under the root.
    pub fn counters(&self) -> &Counters {
        &self.header.counters
    }

    fn record(&self, tree: TreeId, index: u64) -> Result<&Write, FactError> {
        self.records.get(&(tree, index)).ok_or(FactError::Missing {
            tree: tree.name(),
            index,
        })
    }

    /// An account, if it exists.
    pub fn account(&self, id: AccountId) -> Result<Option<Account>, FactError> {
        let Write::Account(_, record) = self.record(TreeId::Accounts, id)? else {
            unreachable!("records are keyed by their own tree");
        };
        Ok((id < self.counters().accounts).then(|| record.clone()))
    }

    /// A meter, if registered.
    pub fn meter(&self, id: MeterId) -> Result<Option<Meter>, FactError> {
        let Write::Meter(_, record) = self.record(TreeId::Meters, id)? else {
            unreachable!("records are keyed by their own tree");
        };
        Ok((id < self.counters().meters).then(|| record.clone()))
    }

    /// An order, if placed.
    pub fn order(&self, id: OrderId) -> Result<Option<Order>, FactError> {
        let Write::Order(_, record) = self.record(TreeId::Orders, id)? else {
            unreachable!("records are keyed by their own tree");
        };
        Ok((id < self.counters().orders).then(|| record.clone()))
    }

    /// A proposal, if opened.
    pub fn proposal(&self, id: ProposalId) -> Result<Option<Proposal>, FactError> {
        let Write::Proposal(_, record) = self.record(TreeId::Proposals, id)? else {
            unreachable!("records are keyed by their own tree");
        };
        Ok((id < self.counters().proposals).then(|| record.clone()))
    }

    /// A proposal's tally slot.
    pub fn tally(&self, proposal: ProposalId, slot: u64) -> Result<Tally, FactError> {
        let Write::Tally(_, record) = self.record(TreeId::Tallies, tally_key(proposal, slot))?
        else {
            unreachable!("records are keyed by their own tree");
        };
        Ok(record.clone())
    }

    /// A proposal's resolved result, or `None` if it does not exist: the same resolution
    /// as [`State::tally_result`], from proven slots only.
    pub fn tally_result(&self, proposal: ProposalId) -> Result<Option<TallyResult>, FactError> {
        let Some(p) = self.proposal(proposal)? else {
            return Ok(None);
        };
        TallyResult::resolve(proposal, p.options, self.counters().delegates, |slot| {
            self.tally(proposal, slot)
        })
        .map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::City;
    use crate::merkle::MerkleError;

    /// A city with accounts, a transfer, a delegate and a proposal.
    fn city() -> City {
        let mut city = City::new(3);
        let (a, b) = (city.resident(0), city.resident(1));
        let tx = city.transfer(a, b, 25);
        city.apply(&tx, city.genesis.time + 1).unwrap();
        let tx = city.register_delegate(city.resident(2));
        city.apply(&tx, city.genesis.time + 2).unwrap();
        let now = city.genesis.time + 3;
        let tx = city.proposal("Trams?", &["yes", "no", "later"], now, now + 100);
        city.apply(&tx, now).unwrap();
        city
    }

    #[test]
    fn honest_facts_are_the_states_own() {
        let city = city();
        let state = &city.state;
        let a = city.resident(0);
        let missing = state.counters().accounts + 5;
        let facts = state
            .prove_records([(TreeId::Accounts, a), (TreeId::Accounts, missing)])
            .verify(state.root())
            .unwrap();
        assert_eq!(facts.account(a).unwrap(), state.account(a));
        assert!(facts.account(a).unwrap().is_some());
        assert_eq!(facts.account(missing).unwrap(), None);
        assert_eq!(facts.root(), state.root());
        let tally = state.prove_tally(0).verify(state.root()).unwrap();
        assert_eq!(tally.tally_result(0).unwrap(), state.tally_result(0));
        assert_eq!(tally.tally_result(0).unwrap().unwrap().direct.len(), 3);
        // A proposal that does not exist is proven absent.
        let none = state.prove_tally(7).verify(state.root()).unwrap();
        assert_eq!(none.tally_result(7).unwrap(), None);
    }

    #[test]
    fn a_changed_record_is_refused_by_its_path() {
        let city = city();
        let a = city.resident(0);
        let mut proof = city.state.prove_records([(TreeId::Accounts, a)]);
        let Write::Account(_, account) = &mut proof.records[0].record else {
            panic!("an account");
        };
        account.balance += 1;
        let e = proof.verify(city.state.root()).unwrap_err();
        assert!(
            matches!(
                e,
                FactError::Inclusion(InclusionError::Path {
                    tree: "accounts",
                    source: MerkleError::RootMismatch { .. }
                })
            ),
            "{e}"
        );
    }

    #[test]
    fn a_changed_sibling_is_refused() {
        let city = city();
        let mut proof = city.state.prove_tally(0);
        proof.records[2].path.siblings[3][2] += Fp::one();
        let e = proof.verify(city.state.root()).unwrap_err();
        assert!(
            matches!(
                e,
                FactError::Inclusion(InclusionError::Path {
                    tree: "tallies",
                    ..
                })
            ),
            "{e}"
        );
    }

    #[test]
    fn another_positions_path_is_refused() {
        let city = city();
        let (a, b) = (city.resident(0), city.resident(1));
        let mut proof = city
            .state
            .prove_records([(TreeId::Accounts, a), (TreeId::Accounts, b)]);
        // b's record sent with a's path: both hash to the root, so it is the position that
        // tells them apart.
        proof.records[1].path = proof.records[0].path.clone();
        let e = proof.verify(city.state.root()).unwrap_err();
        assert_eq!(
            e,
            FactError::WrongPosition {
                tree: "accounts",
                index: b,
                path: a
            }
        );
    }

    #[test]
    fn another_states_header_is_refused() {
        let city = city();
        let a = city.resident(0);
        let before = city.genesis.state();
        // An honest proof of an older state, checked against the newer root.
        let proof = before.prove_records([(TreeId::Accounts, a)]);
        let e = proof.verify(city.state.root()).unwrap_err();
        assert!(
            matches!(
                e,
                FactError::Inclusion(InclusionError::HeaderMismatch { .. })
            ),
            "{e}"
        );
        // Its header's counters raised to claim more accounts: the header no longer hashes.
        let mut proof = city.state.prove_records([(TreeId::Accounts, a)]);
        proof.header.counters.accounts += 1;
        assert!(matches!(
            proof.verify(city.state.root()).unwrap_err(),
            FactError::Inclusion(InclusionError::HeaderMismatch { .. })
        ));
    }

    #[test]
    fn a_tally_without_a_delegates_slot_is_refused() {
        let city = city();
        let mut proof = city.state.prove_tally(0);
        // Options 0..3, then delegate 0's slot: the last record.
        let dropped = proof.records.pop().unwrap();
        assert_eq!(
            dropped.record.target(),
            (
                TreeId::Tallies,
                tally_key(0, Vote::Delegate(0).slot().unwrap())
            )
        );
        let facts = proof.verify(city.state.root()).unwrap();
        assert!(matches!(
            facts.tally_result(0).unwrap_err(),
            FactError::Missing {
                tree: "tallies",
                ..
            }
        ));
    }
}
