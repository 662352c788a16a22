//! Transactions: their JSON form (serde) and their one canonical field encoding.
//!
//! Every transaction encodes to exactly [`TX_FIELDS`] field elements, zero-padded:
//! `[kind, signer, nonce, a, b, c, d, e]` for signed kinds and
//! `[BALLOT, proposal, nullifier, vote slot, voter root, sequence, 0, 0]` for a ballot.
//! The message `Poseidon(TX_MESSAGE, chain, encoding)` (with `chain` the deployment's genesis
//! hash, [`crate::Genesis::chain`]) is what is signed and what the chunk's data hash binds;
//! the encoding is what the circuit decodes. All but `Ballot` are signed and carry the signer's
//! nonce; a ballot is anonymous and carries a zero-knowledge proof instead.

use ff::Field;
use serde::{Deserialize, Serialize};

use crate::constants::{domain, FARE_CLASSES, TX_FIELDS};
use crate::hash::{hash_bytes, poseidon, tag, Fp};
use crate::keys::{PublicKey, SecretKey, Signature};
use crate::records::{FleetKind, Side};
use crate::voter::Vote;

/// An account's position in the accounts tree.
pub type AccountId = u64;
/// A meter's position in the meters tree.
pub type MeterId = u64;
/// An order's position in the orders tree.
pub type OrderId = u64;
/// A proposal's position in the proposals tree.
pub type ProposalId = u64;

/// Kind codes: the first field of the encoding.
pub mod kind {
    /// [`super::Transfer`]
    pub const TRANSFER: u64 = 1;
    /// [`super::OpenAccount`]
    pub const OPEN_ACCOUNT: u64 = 2;
    /// [`super::RegisterMeter`]
    pub const REGISTER_METER: u64 = 3;
    /// [`super::MeterReading`]
    pub const METER_READING: u64 = 4;
    /// [`super::PlaceOrder`]
    pub const PLACE_ORDER: u64 = 5;
    /// [`super::CancelOrder`]
    pub const CANCEL_ORDER: u64 = 6;
    /// [`super::Fill`]
    pub const FILL: u64 = 7;
    /// [`super::RegisterOperator`]
    pub const REGISTER_OPERATOR: u64 = 8;
    /// [`super::SetConcession`]
    pub const SET_CONCESSION: u64 = 9;
    /// [`super::Tap`]
    pub const TAP: u64 = 10;
    /// [`super::FleetRecord`]
    pub const FLEET_RECORD: u64 = 11;
    /// [`super::RegisterVoter`]
    pub const REGISTER_VOTER: u64 = 12;
    /// [`super::RegisterDelegate`]
    pub const REGISTER_DELEGATE: u64 = 13;
    /// [`super::CreateProposal`]
    pub const CREATE_PROPOSAL: u64 = 14;
    /// [`super::Ballot`]
    pub const BALLOT: u64 = 15;
    /// [`super::DelegateVote`]
    pub const DELEGATE_VOTE: u64 = 16;
}

/// Moves city credits between two accounts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transfer {
    /// Payer and signer.
    pub from: AccountId,
    /// Payee.
    pub to: AccountId,
    /// Cents.
    pub amount: u64,
    /// The payer's nonce.
    pub nonce: u64,
    /// By the payer's key.
    #[serde(default)]
    pub signature: Signature,
}

/// Opens a new account for a key, at the next free position, with nothing in it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenAccount {
    /// The existing account that opens it (any resident may invite another).
    pub from: AccountId,
    /// The new account's key.
    pub public_key: PublicKey,
    /// The opener's nonce.
    pub nonce: u64,
    /// By the opener's key.
    #[serde(default)]
    pub signature: Signature,
}

/// The grid operator registers a smart meter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterMeter {
    /// Must be the grid operator.
    pub from: AccountId,
    /// The meter's key.
    pub meter_key: PublicKey,
    /// The account credited with the meter's exports.
    pub owner: AccountId,
    /// The grid operator's nonce.
    pub nonce: u64,
    /// By the grid operator's key.
    #[serde(default)]
    pub signature: Signature,
}

/// A meter's signed reading of its cumulative exported energy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeterReading {
    /// The meter.
    pub meter: MeterId,
    /// Cumulative export since installation, Wh.
    pub cumulative: u64,
    /// The meter's nonce.
    pub nonce: u64,
    /// By the meter's key.
    #[serde(default)]
    pub signature: Signature,
}

/// A limit order: sell `amount` Wh at no less than `price`, or buy at no more.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlaceOrder {
    /// The trader.
    pub from: AccountId,
    /// Buy or sell.
    pub side: Side,
    /// Wh.
    pub amount: u64,
    /// Limit price, cents per kWh.
    pub price: u64,
    /// The order can be filled while the batch time is below this.
    pub expiry: u64,
    /// The trader's nonce.
    pub nonce: u64,
    /// By the trader's key.
    #[serde(default)]
    pub signature: Signature,
}

/// Cancels an open order and releases what it still locks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CancelOrder {
    /// The order's owner.
    pub from: AccountId,
    /// The order.
    pub order: OrderId,
    /// The owner's nonce.
    pub nonce: u64,
    /// By the owner's key.
    #[serde(default)]
    pub signature: Signature,
}

/// A match of two orders, made by the matcher and signed by the market operator.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fill {
    /// Must be the market operator.
    pub from: AccountId,
    /// The resting (older) order: the trade is at its price.
    pub maker: OrderId,
    /// The incoming (newer) order.
    pub taker: OrderId,
    /// Wh traded.
    pub quantity: u64,
    /// The market operator's nonce.
    pub nonce: u64,
    /// By the market operator's key.
    #[serde(default)]
    pub signature: Signature,
}

/// The transit authority registers an operator, or replaces its fare table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterOperator {
    /// Must be the transit authority.
    pub from: AccountId,
    /// The operator's account (fares are paid to it).
    pub operator: AccountId,
    /// Fare per fare class, cents.
    pub fares: [u64; FARE_CLASSES],
    /// The authority's nonce.
    pub nonce: u64,
    /// By the authority's key.
    #[serde(default)]
    pub signature: Signature,
}

/// The transit authority sets a rider's concession.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetConcession {
    /// Must be the transit authority.
    pub from: AccountId,
    /// The rider's account.
    pub rider: AccountId,
    /// Whole percent off, `0..=100`.
    pub percent: u64,
    /// The authority's nonce.
    pub nonce: u64,
    /// By the authority's key.
    #[serde(default)]
    pub signature: Signature,
}

/// A rider's tap on an operator's vehicle or gate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tap {
    /// The rider.
    pub from: AccountId,
    /// The operator of the ride.
    pub operator: AccountId,
    /// Index into the operator's fare table.
    pub fare_class: u64,
    /// When the rider tapped (unix seconds).
    pub time: u64,
    /// The rider's nonce.
    pub nonce: u64,
    /// By the rider's key.
    #[serde(default)]
    pub signature: Signature,
}

/// An operator files a fleet record in the append-only log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FleetRecord {
    /// The operator.
    pub from: AccountId,
    /// The operator's vehicle number.
    pub vehicle: u64,
    /// What the record is.
    pub kind: FleetKind,
    /// Hash of the record's document ([`crate::hash::hash_bytes`]).
    pub record_hash: Fp,
    /// The operator's nonce.
    pub nonce: u64,
    /// By the operator's key.
    #[serde(default)]
    pub signature: Signature,
}

/// The registrar registers a voter's identity commitment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterVoter {
    /// Must be the registrar.
    pub from: AccountId,
    /// `Poseidon(VOTER_COMMITMENT, nullifier_key, trapdoor)`.
    pub commitment: Fp,
    /// The registrar's nonce.
    pub nonce: u64,
    /// By the registrar's key.
    #[serde(default)]
    pub signature: Signature,
}

/// An account opts in as a public delegate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterDelegate {
    /// The account.
    pub from: AccountId,
    /// Its nonce.
    pub nonce: u64,
    /// By its key.
    #[serde(default)]
    pub signature: Signature,
}

/// The council opens a proposal; its voter set is the voter tree's root at that moment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateProposal {
    /// Must be the council.
    pub from: AccountId,
    /// The question.
    pub title: String,
    /// Option labels, `1..=MAX_OPTIONS` of them.
    pub options: Vec<String>,
    /// Voting opens (inclusive).
    pub start: u64,
    /// Voting closes (exclusive).
    pub end: u64,
    /// The council's nonce.
    pub nonce: u64,
    /// By the council's key.
    #[serde(default)]
    pub signature: Signature,
}

impl CreateProposal {
    /// The hash of the wording and labels that the proposal leaf commits to.
    pub fn text_hash(&self) -> Fp {
        let text =
            serde_json::to_vec(&(&self.title, &self.options)).expect("strings always serialize");
        hash_bytes(&text)
    }
}

/// An anonymous ballot: the vote, its nullifier and the zero-knowledge proof that a
/// registered voter cast it. No account, key or signature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ballot {
    /// The proposal.
    pub proposal: ProposalId,
    /// The proposal's voter root the proof is against.
    pub voter_root: Fp,
    /// `Poseidon(NULLIFIER, nullifier_key, proposal)`.
    pub nullifier: Fp,
    /// An option, or follow a delegate.
    pub vote: Vote,
    /// The ballot's sequence number, bound by the proof: a ballot replaces an earlier one of
    /// its nullifier only with a higher number, so a copy of an earlier ballot replayed by
    /// anyone is refused, while the voter can always cast a newer one.
    pub seq: u64,
    /// The ballot proof (hex in JSON).
    #[serde(with = "hex::serde")]
    pub proof: Vec<u8>,
}

/// A delegate's public, signed vote on a proposal; it may be changed until the window closes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DelegateVote {
    /// The delegate's account.
    pub from: AccountId,
    /// The proposal.
    pub proposal: ProposalId,
    /// The option chosen.
    pub option: u64,
    /// The delegate's nonce.
    pub nonce: u64,
    /// By the delegate's key.
    #[serde(default)]
    pub signature: Signature,
}

/// Any transaction. JSON: an object with `"type"` naming the kind, then its fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum Transaction {
    Transfer(Transfer),
    OpenAccount(OpenAccount),
    RegisterMeter(RegisterMeter),
    MeterReading(MeterReading),
    PlaceOrder(PlaceOrder),
    CancelOrder(CancelOrder),
    Fill(Fill),
    RegisterOperator(RegisterOperator),
    SetConcession(SetConcession),
    Tap(Tap),
    FleetRecord(FleetRecord),
    RegisterVoter(RegisterVoter),
    RegisterDelegate(RegisterDelegate),
    CreateProposal(CreateProposal),
    Ballot(Ballot),
    DelegateVote(DelegateVote),
}

/// Who must have signed a transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Signer {
    /// An account's key.
    Account(AccountId),
    /// A meter's key.
    Meter(MeterId),
    /// Nobody: a ballot proves its right to vote instead.
    Anonymous,
}

fn u(value: u64) -> Fp {
    Fp::from(value)
}

fn key_fields(pk: &PublicKey) -> [Fp; 2] {
    let (x, y) = pk.coordinates();
    [x, y]
}

/// The message of a transaction encoded as `encoding` in the deployment `chain`:
/// `Poseidon(TX_MESSAGE, chain, encoding)` (a padding slot's is the all-zero encoding's).
pub fn message_of(chain: Fp, encoding: &[Fp; TX_FIELDS]) -> Fp {
    let e = encoding;
    poseidon([
        tag(domain::TX_MESSAGE),
        chain,
        e[0],
        e[1],
        e[2],
        e[3],
        e[4],
        e[5],
        e[6],
        e[7],
    ])
}

impl Transaction {
    /// The kind code ([`kind`]).
    pub fn kind(&self) -> u64 {
        use Transaction::*;
        match self {
            Transfer(_) => kind::TRANSFER,
            OpenAccount(_) => kind::OPEN_ACCOUNT,
            RegisterMeter(_) => kind::REGISTER_METER,
            MeterReading(_) => kind::METER_READING,
            PlaceOrder(_) => kind::PLACE_ORDER,
            CancelOrder(_) => kind::CANCEL_ORDER,
            Fill(_) => kind::FILL,
            RegisterOperator(_) => kind::REGISTER_OPERATOR,
            SetConcession(_) => kind::SET_CONCESSION,
            Tap(_) => kind::TAP,
            FleetRecord(_) => kind::FLEET_RECORD,
            RegisterVoter(_) => kind::REGISTER_VOTER,
            RegisterDelegate(_) => kind::REGISTER_DELEGATE,
            CreateProposal(_) => kind::CREATE_PROPOSAL,
            Ballot(_) => kind::BALLOT,
            DelegateVote(_) => kind::DELEGATE_VOTE,
        }
    }

    /// The kind's name as in JSON (`"transfer"`, `"tap"`, ...).
    pub fn kind_name(&self) -> &'static str {
        use Transaction::*;
        match self {
            Transfer(_) => "transfer",
            OpenAccount(_) => "open_account",
            RegisterMeter(_) => "register_meter",
            MeterReading(_) => "meter_reading",
            PlaceOrder(_) => "place_order",
            CancelOrder(_) => "cancel_order",
            Fill(_) => "fill",
            RegisterOperator(_) => "register_operator",
            SetConcession(_) => "set_concession",
            Tap(_) => "tap",
            FleetRecord(_) => "fleet_record",
            RegisterVoter(_) => "register_voter",
            RegisterDelegate(_) => "register_delegate",
            CreateProposal(_) => "create_proposal",
            Ballot(_) => "ballot",
            DelegateVote(_) => "delegate_vote",
        }
    }

    /// Who must have signed it.
    pub fn signer(&self) -> Signer {
        use Transaction::*;
        match self {
            Transfer(t) => Signer::Account(t.from),
            OpenAccount(t) => Signer::Account(t.from),
            RegisterMeter(t) => Signer::Account(t.from),
            MeterReading(t) => Signer::Meter(t.meter),
            PlaceOrder(t) => Signer::Account(t.from),
            CancelOrder(t) => Signer::Account(t.from),
            Fill(t) => Signer::Account(t.from),
            RegisterOperator(t) => Signer::Account(t.from),
            SetConcession(t) => Signer::Account(t.from),
            Tap(t) => Signer::Account(t.from),
            FleetRecord(t) => Signer::Account(t.from),
            RegisterVoter(t) => Signer::Account(t.from),
            RegisterDelegate(t) => Signer::Account(t.from),
            CreateProposal(t) => Signer::Account(t.from),
            Ballot(_) => Signer::Anonymous,
            DelegateVote(t) => Signer::Account(t.from),
        }
    }

    /// The signer's nonce the transaction claims (`None` for a ballot).
    pub fn nonce(&self) -> Option<u64> {
        self.signed_parts().map(|(nonce, _)| nonce)
    }

    /// The signature (`None` for a ballot).
    pub fn signature(&self) -> Option<&Signature> {
        self.signed_parts().map(|(_, sig)| sig)
    }

    fn signed_parts(&self) -> Option<(u64, &Signature)> {
        use Transaction::*;
        Some(match self {
            Transfer(t) => (t.nonce, &t.signature),
            OpenAccount(t) => (t.nonce, &t.signature),
            RegisterMeter(t) => (t.nonce, &t.signature),
            MeterReading(t) => (t.nonce, &t.signature),
            PlaceOrder(t) => (t.nonce, &t.signature),
            CancelOrder(t) => (t.nonce, &t.signature),
            Fill(t) => (t.nonce, &t.signature),
            RegisterOperator(t) => (t.nonce, &t.signature),
            SetConcession(t) => (t.nonce, &t.signature),
            Tap(t) => (t.nonce, &t.signature),
            FleetRecord(t) => (t.nonce, &t.signature),
            RegisterVoter(t) => (t.nonce, &t.signature),
            RegisterDelegate(t) => (t.nonce, &t.signature),
            CreateProposal(t) => (t.nonce, &t.signature),
            Ballot(_) => return None,
            DelegateVote(t) => (t.nonce, &t.signature),
        })
    }

    fn signature_mut(&mut self) -> Option<&mut Signature> {
        use Transaction::*;
        Some(match self {
            Transfer(t) => &mut t.signature,
            OpenAccount(t) => &mut t.signature,
            RegisterMeter(t) => &mut t.signature,
            MeterReading(t) => &mut t.signature,
            PlaceOrder(t) => &mut t.signature,
            CancelOrder(t) => &mut t.signature,
            Fill(t) => &mut t.signature,
            RegisterOperator(t) => &mut t.signature,
            SetConcession(t) => &mut t.signature,
            Tap(t) => &mut t.signature,
            FleetRecord(t) => &mut t.signature,
            RegisterVoter(t) => &mut t.signature,
            RegisterDelegate(t) => &mut t.signature,
            CreateProposal(t) => &mut t.signature,
            Ballot(_) => return None,
            DelegateVote(t) => &mut t.signature,
        })
    }

    /// The canonical encoding: [`TX_FIELDS`] field elements, zero-padded.
    pub fn encode(&self) -> [Fp; TX_FIELDS] {
        use Transaction::*;
        let k = u(self.kind());
        let fields: Vec<Fp> = match self {
            Transfer(t) => vec![k, u(t.from), u(t.nonce), u(t.to), u(t.amount)],
            OpenAccount(t) => {
                let [x, y] = key_fields(&t.public_key);
                vec![k, u(t.from), u(t.nonce), x, y]
            }
            RegisterMeter(t) => {
                let [x, y] = key_fields(&t.meter_key);
                vec![k, u(t.from), u(t.nonce), x, y, u(t.owner)]
            }
            MeterReading(t) => vec![k, u(t.meter), u(t.nonce), u(t.cumulative)],
            PlaceOrder(t) => vec![
                k,
                u(t.from),
                u(t.nonce),
                u(t.side.code()),
                u(t.amount),
                u(t.price),
                u(t.expiry),
            ],
            CancelOrder(t) => vec![k, u(t.from), u(t.nonce), u(t.order)],
            Fill(t) => vec![
                k,
                u(t.from),
                u(t.nonce),
                u(t.maker),
                u(t.taker),
                u(t.quantity),
            ],
            RegisterOperator(t) => {
                let mut v = vec![k, u(t.from), u(t.nonce), u(t.operator)];
                v.extend(t.fares.iter().map(|f| u(*f)));
                v
            }
            SetConcession(t) => vec![k, u(t.from), u(t.nonce), u(t.rider), u(t.percent)],
            Tap(t) => vec![
                k,
                u(t.from),
                u(t.nonce),
                u(t.operator),
                u(t.fare_class),
                u(t.time),
            ],
            FleetRecord(t) => vec![
                k,
                u(t.from),
                u(t.nonce),
                u(t.vehicle),
                u(t.kind.code()),
                t.record_hash,
            ],
            RegisterVoter(t) => vec![k, u(t.from), u(t.nonce), t.commitment],
            RegisterDelegate(t) => vec![k, u(t.from), u(t.nonce)],
            CreateProposal(t) => vec![
                k,
                u(t.from),
                u(t.nonce),
                u(t.options.len() as u64),
                u(t.start),
                u(t.end),
                t.text_hash(),
            ],
            Ballot(t) => vec![
                k,
                u(t.proposal),
                t.nullifier,
                t.vote.to_field(),
                t.voter_root,
                u(t.seq),
            ],
            DelegateVote(t) => vec![k, u(t.from), u(t.nonce), u(t.proposal), u(t.option)],
        };
        let mut out = [Fp::ZERO; TX_FIELDS];
        out[..fields.len()].copy_from_slice(&fields);
        out
    }

    /// What the signature signs and the chunk's data hash binds, in the deployment `chain`
    /// (its genesis hash): `Poseidon(TX_MESSAGE, chain, encoding)`.
    pub fn message(&self, chain: Fp) -> Fp {
        message_of(chain, &self.encode())
    }

    /// Signs the transaction with `key` for the deployment `chain` (a ballot is returned
    /// unchanged: it is not signed).
    pub fn signed(mut self, key: &SecretKey, chain: Fp) -> Self {
        let sig = key.sign(self.message(chain));
        if let Some(slot) = self.signature_mut() {
            *slot = sig;
        }
        self
    }

    /// The transaction's id: `Poseidon(TX_MESSAGE, encoding)`, the hash of its encoding
    /// alone (a hash of another length than any message, so never equal to one). For a
    /// ballot, nothing more: the nullifier and sequence number make it unique.
    pub fn id(&self) -> Fp {
        let e = self.encode();
        poseidon([
            tag(domain::TX_MESSAGE),
            e[0],
            e[1],
            e[2],
            e[3],
            e[4],
            e[5],
            e[6],
            e[7],
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The deployment the tests sign for.
    fn chain() -> Fp {
        Fp::from(7)
    }

    fn key() -> SecretKey {
        SecretKey::from_seed(b"alice")
    }

    #[test]
    fn json_round_trips_and_unknown_fields_are_refused() {
        let tx = Transaction::Transfer(Transfer {
            from: 5,
            to: 6,
            amount: 100,
            nonce: 0,
            signature: Signature::default(),
        })
        .signed(&key(), chain());
        let json = serde_json::to_string(&tx).unwrap();
        assert!(json.starts_with(r#"{"type":"transfer","from":5"#), "{json}");
        assert_eq!(serde_json::from_str::<Transaction>(&json).unwrap(), tx);
        let extra = json.replacen(r#""from":5"#, r#""from":5,"memo":"x""#, 1);
        let err = serde_json::from_str::<Transaction>(&extra).unwrap_err();
        assert!(err.to_string().contains("unknown field"), "{err}");
    }

    #[test]
    fn signing_binds_every_field() {
        let key = key();
        let tx = Transaction::Tap(Tap {
            from: 9,
            operator: 7,
            fare_class: 1,
            time: 1000,
            nonce: 3,
            signature: Signature::default(),
        })
        .signed(&key, chain());
        let pk = key.public_key();
        pk.verify(tx.message(chain()), tx.signature().unwrap())
            .unwrap();
        let Transaction::Tap(mut t) = tx.clone() else {
            unreachable!()
        };
        t.time += 1;
        let changed = Transaction::Tap(t);
        assert!(pk
            .verify(changed.message(chain()), changed.signature().unwrap())
            .is_err());
    }

    #[test]
    fn encodings_differ_by_kind_even_with_equal_fields() {
        let a = Transaction::RegisterDelegate(RegisterDelegate {
            from: 1,
            nonce: 2,
            signature: Signature::default(),
        });
        let b = Transaction::CancelOrder(CancelOrder {
            from: 1,
            order: 0,
            nonce: 2,
            signature: Signature::default(),
        });
        assert_ne!(a.message(chain()), b.message(chain()));
        assert_ne!(a.id(), b.id());
    }

    #[test]
    fn a_signature_for_one_deployment_is_worthless_in_another() {
        let key = key();
        let tx = Transaction::Transfer(Transfer {
            from: 5,
            to: 6,
            amount: 100,
            nonce: 0,
            signature: Signature::default(),
        })
        .signed(&key, chain());
        let pk = key.public_key();
        let signature = tx.signature().unwrap();
        pk.verify(tx.message(chain()), signature).unwrap();
        assert!(pk.verify(tx.message(Fp::from(8)), signature).is_err());
        assert_ne!(tx.id(), tx.message(chain()), "an id is never a message");
    }
}
