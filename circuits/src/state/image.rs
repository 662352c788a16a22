//! A state's contents as a checkpoint stores them: the counters, every non-empty record and
//! every stored tree node. Loading an image rehashes nothing, so a sequencer restarts from
//! a checkpoint in the time it takes to read it, not in the time it took to build the
//! trees; what vouches for the nodes is the checkpoint's digest and the sealed root the
//! loaded state must reach (the sequencer's `snapshot` module).

use super::{Counters, Params, State, Table, TreeId, Write};
use crate::hash::Fp;
use crate::merkle::{MerkleError, MerkleTree};
use crate::records::Leaf;

/// Everything a [`State`] holds besides its parameters and chain (which the genesis
/// gives).
#[derive(Clone, Debug, PartialEq)]
pub struct StateImage {
    /// The counters.
    pub counters: Counters,
    /// Every non-empty record, as the write that sets it.
    pub records: Vec<Write>,
    /// Every stored node of each tree, `(height, position, value)`, in [`TreeId::ALL`]
    /// order.
    pub nodes: Vec<Vec<(u8, u64, Fp)>>,
}

/// Why an image is not a state.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ImageError {
    /// Not one node list per tree.
    #[error("the image has node lists for {0} trees; the state has 8")]
    Trees(usize),
    /// A tree's nodes do not fit it.
    #[error("the {tree} tree: {source}")]
    Tree {
        /// Which tree.
        tree: &'static str,
        /// What is wrong.
        source: MerkleError,
    },
    /// A record listed twice, an empty one, or one outside its tree.
    #[error("the record at position {index} of the {tree} tree is listed twice, empty or outside the tree")]
    Record {
        /// Which tree.
        tree: &'static str,
        /// Its position.
        index: u64,
    },
}

impl<R: Leaf> Table<R> {
    /// Puts a record without touching the tree; `false` if the position is taken, the
    /// record empty or outside the tree.
    fn load(&mut self, index: u64, record: R) -> bool {
        let depth = self.tree.depth();
        let fits = depth == 64 || index >> depth == 0;
        fits && record != R::default() && self.records.insert(index, record).is_none()
    }
}

impl State {
    /// The state's image (a copy of every record and node).
    pub fn image(&self) -> StateImage {
        let mut records = Vec::new();
        for tree in TreeId::ALL {
            let mut indices: Vec<u64> = match tree {
                TreeId::Accounts => self.accounts.records.keys().copied().collect(),
                TreeId::Meters => self.meters.records.keys().copied().collect(),
                TreeId::Orders => self.orders.records.keys().copied().collect(),
                TreeId::Fleet => self.fleet.records.keys().copied().collect(),
                TreeId::Voters => self.voters.records.keys().copied().collect(),
                TreeId::Proposals => self.proposals.records.keys().copied().collect(),
                TreeId::Ballots => self.ballots.records.keys().copied().collect(),
                TreeId::Tallies => self.tallies.records.keys().copied().collect(),
            };
            indices.sort_unstable();
            records.extend(indices.into_iter().map(|i| self.record(tree, i)));
        }
        StateImage {
            counters: self.counters.clone(),
            records,
            nodes: TreeId::ALL.iter().map(|t| self.tree(*t).nodes()).collect(),
        }
    }

    /// The state an image holds, under the genesis's `params` and `chain`. Checks the
    /// image's shape (one node list per tree, positions inside their trees, no record or
    /// node twice); whether its nodes hash to its records is what the caller's digest and
    /// expected root vouch for.
    pub fn from_image(params: Params, chain: Fp, image: StateImage) -> Result<Self, ImageError> {
        let mut state = State::empty(params, chain, image.counters.time);
        if image.nodes.len() != TreeId::ALL.len() {
            return Err(ImageError::Trees(image.nodes.len()));
        }
        for (tree, nodes) in TreeId::ALL.into_iter().zip(image.nodes) {
            let empty_leaf = state.tree(tree).empty_leaf();
            let loaded =
                MerkleTree::from_nodes(tree.depth(), empty_leaf, nodes).map_err(|source| {
                    ImageError::Tree {
                        tree: tree.name(),
                        source,
                    }
                })?;
            match tree {
                TreeId::Accounts => state.accounts.tree = loaded,
                TreeId::Meters => state.meters.tree = loaded,
                TreeId::Orders => state.orders.tree = loaded,
                TreeId::Fleet => state.fleet.tree = loaded,
                TreeId::Voters => state.voters.tree = loaded,
                TreeId::Proposals => state.proposals.tree = loaded,
                TreeId::Ballots => state.ballots.tree = loaded,
                TreeId::Tallies => state.tallies.tree = loaded,
            }
        }
        for write in image.records {
            let (tree, index) = write.target();
            let loaded = match write {
                Write::Account(i, r) => state.accounts.load(i, r),
                Write::Meter(i, r) => state.meters.load(i, r),
                Write::Order(i, r) => state.orders.load(i, r),
                Write::Fleet(i, r) => state.fleet.load(i, r),
                Write::Voter(i, r) => state.voters.load(i, r),
                Write::Proposal(i, r) => state.proposals.load(i, r),
                Write::Ballot(i, r) => state.ballots.load(i, r),
                Write::Tally(i, r) => state.tallies.load(i, r),
            };
            if !loaded {
                return Err(ImageError::Record {
                    tree: tree.name(),
                    index,
                });
            }
        }
        state.counters = image.counters;
        Ok(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::City;

    /// A state with records in most trees: a demo city's genesis, then an operator, a
    /// meter and its reading, voters, a delegate, a proposal and transfers.
    fn busy_state() -> (City, u64) {
        let mut c = City::new(12);
        let now = c.genesis.time + 100;
        let apply = |c: &mut City, tx: crate::Transaction| {
            c.apply(&tx, now)
                .unwrap_or_else(|e| panic!("{}: {e}", tx.kind_name()))
        };
        let tx = c.register_operator(c.id("operator-bus"), [275, 275, 200, 500]);
        apply(&mut c, tx);
        let (tx, key) = c.register_meter(c.resident(0), "image");
        apply(&mut c, tx);
        c.add_meter_key(0, key);
        let tx = c.reading(0, 5_000);
        apply(&mut c, tx);
        for v in 0..3 {
            let tx = c.register_voter(crate::demo::demo_voter(v).commitment());
            apply(&mut c, tx);
        }
        let tx = c.register_delegate(c.resident(3));
        apply(&mut c, tx);
        let tx = c.proposal("Image?", &["yes", "no"], now - 10, now + 86_400);
        apply(&mut c, tx);
        for i in 0..5 {
            let tx = c.transfer(c.resident(i), c.resident(i + 1), 10 + i as u64);
            apply(&mut c, tx);
        }
        (c, now)
    }

    #[test]
    fn an_image_gives_back_the_same_state() {
        let (mut city, now) = busy_state();
        let state = city.state.clone();
        let image = state.image();
        assert!(image.records.len() > 12 + 5, "records of several trees");
        let loaded = State::from_image(state.params().clone(), state.chain(), image.clone())
            .expect("an image of a state loads");
        assert_eq!(loaded.root(), state.root());
        assert_eq!(loaded.image().records, image.records);
        for tree in TreeId::ALL {
            for index in [0u64, 1, 2, 5, 13] {
                assert_eq!(loaded.path(tree, index), state.path(tree, index));
                assert_eq!(loaded.record(tree, index), state.record(tree, index));
            }
        }
        // The loaded state goes on exactly as the original.
        let mut loaded = loaded;
        for i in 0..4 {
            let tx = city.transfer(city.resident(i + 2), city.resident(i), 7);
            assert!(loaded.apply(&tx, now + 5).is_ok());
            city.apply(&tx, now + 5).unwrap();
        }
        assert_eq!(loaded.root(), city.state.root());
    }

    #[test]
    fn a_malformed_image_is_refused_by_name() {
        let state = busy_state().0.state.clone();
        let load = |image: StateImage| {
            State::from_image(state.params().clone(), state.chain(), image).unwrap_err()
        };
        let mut image = state.image();
        image.nodes.pop();
        assert_eq!(load(image), ImageError::Trees(7));

        let mut image = state.image();
        let first = image.nodes[0][0];
        image.nodes[0].push(first);
        assert!(matches!(
            load(image),
            ImageError::Tree {
                tree: "accounts",
                source: MerkleError::BadNode { .. }
            }
        ));

        let mut image = state.image();
        image.nodes[1].push((0, 1 << 40, Fp::one()));
        assert!(matches!(
            load(image),
            ImageError::Tree {
                tree: "meters",
                source: MerkleError::IndexOutOfRange { .. }
            }
        ));

        let mut image = state.image();
        let twice = image.records[0].clone();
        image.records.push(twice);
        assert!(matches!(
            load(image),
            ImageError::Record {
                tree: "accounts",
                ..
            }
        ));
    }
}
