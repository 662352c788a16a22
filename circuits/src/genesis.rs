//! Genesis: the file that fixes the authorities' keys, the initial accounts and balances, and
//! the rules' parameters. JSON:
//!
//! ```json
//! {
//!   "time": 1767225600,
//!   "authorities": { "grid_operator": "<hex key>", "transit_authority": "<hex key>",
//!                    "registrar": "<hex key>", "council": "<hex key>", "market": "<hex key>" },
//!   "accounts": [ { "name": "resident-0", "public_key": "<hex key>", "balance": 10000, "energy": 0 } ],
//!   "params": { "transfer_window": 7200, "max_transfers": 2, "transfer_discount_cap": 290,
//!               "cap_period": 604800, "fare_cap": 3400, "max_tap_delay": 900 }
//! }
//! ```
//!
//! The authorities become accounts `0..5` in the order of [`crate::constants`]
//! (`GRID_OPERATOR`, ...), with no balance; the listed accounts follow from index 5.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::constants::AUTHORITY_COUNT;
use crate::keys::{PublicKey, SecretKey};
use crate::records::{Account, Owner};
use crate::state::{Params, State};

/// The authorities' public keys.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Authorities {
    /// Registers meters.
    pub grid_operator: PublicKey,
    /// Registers transit operators, fare tables and concessions.
    pub transit_authority: PublicKey,
    /// Registers voters.
    pub registrar: PublicKey,
    /// Opens proposals.
    pub council: PublicKey,
    /// Signs the matcher's fills.
    pub market: PublicKey,
}

/// An account opened at genesis.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisAccount {
    /// A label for people (not part of the state).
    #[serde(default)]
    pub name: String,
    /// The account's key.
    pub public_key: PublicKey,
    /// City credits, cents.
    #[serde(default)]
    pub balance: u64,
    /// Energy credits, Wh.
    #[serde(default)]
    pub energy: u64,
}

/// The genesis file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Genesis {
    /// Unix time of genesis: the first batch's time must not be before it.
    pub time: u64,
    /// Authority keys.
    pub authorities: Authorities,
    /// Initial accounts (after the authorities).
    pub accounts: Vec<GenesisAccount>,
    /// The rules' parameters.
    pub params: Params,
}

/// Why a genesis file is unusable.
#[derive(Debug, thiserror::Error)]
pub enum GenesisError {
    /// It could not be read.
    #[error("cannot read genesis file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What went wrong.
        source: std::io::Error,
    },
    /// It is not valid genesis JSON.
    #[error("invalid genesis JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// Too many accounts for the accounts tree.
    #[error("genesis lists {0} accounts, more than the accounts tree holds")]
    TooManyAccounts(usize),
    /// A rule parameter outside what the circuits can prove.
    #[error(transparent)]
    Params(#[from] crate::state::ParamsError),
}

impl Genesis {
    /// Parses genesis JSON.
    pub fn from_json(text: &str) -> Result<Self, GenesisError> {
        let genesis: Genesis = serde_json::from_str(text)?;
        let max = (1usize << crate::constants::ACCOUNTS_DEPTH) - AUTHORITY_COUNT as usize;
        if genesis.accounts.len() > max {
            return Err(GenesisError::TooManyAccounts(genesis.accounts.len()));
        }
        genesis.params.check()?;
        Ok(genesis)
    }

    /// Reads a genesis file.
    pub fn load(path: &Path) -> Result<Self, GenesisError> {
        let text = std::fs::read_to_string(path).map_err(|source| GenesisError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_json(&text)
    }

    /// Pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("genesis always serializes")
    }

    /// The deployment's identity: `hash_bytes` of the genesis' compact JSON. Every signed
    /// message includes it, so a signature made for one city's rollup (or a test deployment
    /// sharing keys) is worthless in another.
    pub fn chain(&self) -> crate::Fp {
        let json = serde_json::to_vec(self).expect("genesis always serializes");
        crate::hash::hash_bytes(&json)
    }

    /// The initial state (at genesis time).
    pub fn state(&self) -> State {
        let mut state = State::empty(self.params.clone(), self.chain(), self.time);
        let a = &self.authorities;
        let authorities = [
            a.grid_operator,
            a.transit_authority,
            a.registrar,
            a.council,
            a.market,
        ];
        let accounts = authorities.iter().map(|pk| (*pk, 0, 0)).chain(
            self.accounts
                .iter()
                .map(|acc| (acc.public_key, acc.balance, acc.energy)),
        );
        for (index, (pk, balance, energy)) in accounts.enumerate() {
            state.accounts_mut_for_genesis(
                index as u64,
                Account {
                    owner: Owner {
                        public_key: Some(pk),
                        ..Owner::default()
                    },
                    balance,
                    energy,
                    ..Account::default()
                },
            );
        }
        state
    }

    /// The index of the genesis account named `name`.
    pub fn account_index(&self, name: &str) -> Option<u64> {
        self.accounts
            .iter()
            .position(|a| a.name == name)
            .map(|i| i as u64 + AUTHORITY_COUNT)
    }
}

impl State {
    /// Opens an account at genesis (the next free index).
    fn accounts_mut_for_genesis(&mut self, index: u64, account: Account) {
        debug_assert_eq!(index, self.counters.accounts);
        self.commit(crate::state::Plan {
            writes: vec![crate::state::Write::Account(index, account)],
            counters: crate::state::Counters {
                accounts: index + 1,
                ..self.counters.clone()
            },
            event: crate::state::Event::AccountOpened { account: index },
        });
    }
}

/// The demo city's deterministic keys: derived from names, so every run and every machine
/// has the same city. Never use for real value.
pub fn demo_key(name: &str) -> SecretKey {
    SecretKey::from_seed(format!("city-rollup demo key: {name}").as_bytes())
}

/// Names of the demo city's authorities, in account order.
pub const DEMO_AUTHORITIES: [&str; 5] = [
    "grid-operator",
    "transit-authority",
    "registrar",
    "council",
    "market",
];

/// The demo city: the authorities, `residents` residents with $100 each, three transit
/// operators' accounts, and the default parameters. Genesis time is 2026-01-01T00:00:00Z.
pub fn demo(residents: usize) -> Genesis {
    let key = |name: &str| demo_key(name).public_key();
    let mut accounts: Vec<GenesisAccount> = ["metro", "bus", "tram"]
        .iter()
        .map(|name| GenesisAccount {
            name: format!("operator-{name}"),
            public_key: key(&format!("operator-{name}")),
            balance: 0,
            energy: 0,
        })
        .collect();
    accounts.extend((0..residents).map(|i| {
        let name = format!("resident-{i}");
        GenesisAccount {
            public_key: key(&name),
            name,
            balance: 10_000,
            energy: 0,
        }
    }));
    Genesis {
        time: 1_767_225_600,
        authorities: Authorities {
            grid_operator: key(DEMO_AUTHORITIES[0]),
            transit_authority: key(DEMO_AUTHORITIES[1]),
            registrar: key(DEMO_AUTHORITIES[2]),
            council: key(DEMO_AUTHORITIES[3]),
            market: key(DEMO_AUTHORITIES[4]),
        },
        accounts,
        params: Params::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::constants::*;

    #[test]
    fn genesis_round_trips_through_json_and_places_authorities_first() {
        let g = demo(4);
        let parsed = Genesis::from_json(&g.to_json()).unwrap();
        assert_eq!(parsed, g);
        let state = g.state();
        assert_eq!(state.counters().accounts, AUTHORITY_COUNT + 3 + 4);
        let council = state.account(COUNCIL).unwrap();
        assert_eq!(council.owner.public_key, Some(g.authorities.council));
        let r0 = g.account_index("resident-0").unwrap();
        assert_eq!(state.account(r0).unwrap().balance, 10_000);
        assert_eq!(
            state.root(),
            Genesis::from_json(&g.to_json()).unwrap().state().root()
        );
    }

    #[test]
    fn bad_genesis_files_give_clear_errors() {
        let err = Genesis::from_json("{}").unwrap_err();
        assert!(err.to_string().contains("missing field"), "{err}");
        let mut json: serde_json::Value = serde_json::from_str(&demo(1).to_json()).unwrap();
        json["surprise"] = 1.into();
        let err = Genesis::from_json(&json.to_string()).unwrap_err();
        assert!(err.to_string().contains("unknown field"), "{err}");
        let err = Genesis::load(Path::new("/nonexistent/genesis.json")).unwrap_err();
        assert!(
            err.to_string().contains("/nonexistent/genesis.json"),
            "{err}"
        );
    }
}
