//! The residents' and devices' client. It runs on the resident's own machine: keys and voter
//! secrets are made and kept here, transactions are signed here, and ballots are proved
//! here, so no secret ever leaves it. A ballot carries no account, key or signature: only
//! the proposal, the voter root, the nullifier, the vote and the proof.
//!
//! Exit status: 0 done; 1 the sequencer refused (its error code is printed), or the voter is
//! not in the proposal's voter set; 2 bad usage; 3 it could not run (unreadable key or file,
//! the sequencer unreachable); 4 the sequencer's voter set does not check out against the
//! proposal's voter root (a doctored, short or malformed answer): nothing was submitted.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use circuits::ballot;
use circuits::constants::{COUNCIL, FARE_CLASSES, GRID_OPERATOR, REGISTRAR, TRANSIT_AUTHORITY};
use circuits::keys::{PublicKey, SecretKey, Signature};
use circuits::merkle::MerklePath;
use circuits::records::{FleetKind, Side};
use circuits::tx::*;
use circuits::voter::{Vote, VoterSecret};
use circuits::{Fp, Transaction};
use clap::{Args, Parser, Subcommand, ValueEnum};
use client::api::{Api, ApiError};
use client::voters::{VoterSet, VoterSetError};

/// The city rollup's client for residents and devices.
///
/// Makes keys and voter secrets, signs transactions and submits them to the sequencer (the
/// signer's nonce is fetched from it), and proves ballots locally. Authorities' commands
/// sign as the authority's fixed account (grid operator 0, transit authority 1, registrar
/// 2, council 3).
///
/// Voting never tells the sequencer who votes: `vote` syncs the proposal's whole voter set
/// (cached, so only new commitments are fetched), checks it against the proposal's voter
/// root and finds the voter's Merkle path locally.
///
/// Exit status: 0 done; 1 the sequencer refused (its error code is printed), or the voter is
/// not in the proposal's voter set; 2 bad usage; 3 it could not run (unreadable key or file,
/// the sequencer unreachable); 4 the sequencer's voter set does not check out against the
/// proposal's voter root (a doctored, short or malformed answer): nothing was submitted.
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where to submit and with which key.
#[derive(Args)]
struct Signing {
    /// The signer's key file (from `keygen`).
    #[arg(long)]
    key: PathBuf,
    /// The sequencer's URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    server: String,
    /// The deployment to sign for: its genesis hash (64 hex digits, as `sequencer genesis`
    /// prints it). Every signature includes it, so it is worthless in any other city's
    /// rollup. Without it the sequencer's own genesis is used (and the chain is printed):
    /// pin it to be sure a sequencer cannot make you sign for another deployment.
    #[arg(long)]
    chain: Option<String>,
}

/// A signing key and the deployment it signs for.
struct SigningKey {
    key: SecretKey,
    chain: Fp,
}

impl Signing {
    /// Reads the key and settles the deployment: `--chain`, or the sequencer's genesis.
    fn key(&self, api: &Api) -> Result<SigningKey, Failure> {
        let key = client::keyfile::read(&self.key)?;
        let chain = match &self.chain {
            Some(hex) => parse_field(hex, "--chain")?,
            None => {
                let chain = api.chain()?;
                eprintln!(
                    "signing for chain {} (the sequencer's genesis; pass --chain to pin it)",
                    circuits::hash::to_hex(&chain)
                );
                chain
            }
        };
        Ok(SigningKey { key, chain })
    }
}

/// Where a voter set is synced from and cached.
#[derive(Args)]
struct VoterSync {
    /// The sequencer's URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    server: String,
    /// The voter-set cache: one file per city (named by its genesis), holding commitments
    /// already checked, so a later vote fetches only new ones [default:
    /// $XDG_CACHE_HOME/city-rollup/voters or ~/.cache/city-rollup/voters].
    #[arg(long, value_name = "DIR")]
    cache: Option<PathBuf>,
}

impl VoterSync {
    fn cache_dir(&self) -> PathBuf {
        self.cache
            .clone()
            .unwrap_or_else(client::voters::default_cache_dir)
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum SideArg {
    Buy,
    Sell,
}

#[derive(Clone, Copy, ValueEnum)]
enum FleetKindArg {
    Maintenance,
    Insurance,
    DriverShift,
}

#[derive(Subcommand)]
enum Command {
    /// Makes a fresh key pair, writes it to FILE (keep it private; never overwritten) and
    /// prints the public key.
    Keygen {
        /// Where to write the key.
        #[arg(long)]
        out: PathBuf,
    },
    /// Pays city credits (cents) to another account.
    Transfer {
        #[command(flatten)]
        signing: Signing,
        /// The payer's account (the key's).
        #[arg(long)]
        from: u64,
        /// The payee's account.
        #[arg(long)]
        to: u64,
        /// Cents.
        #[arg(long)]
        amount: u64,
    },
    /// Opens a new, empty account for a public key (any account may invite another).
    OpenAccount {
        #[command(flatten)]
        signing: Signing,
        /// The opener's account (the key's).
        #[arg(long)]
        from: u64,
        /// The new account's key file (its public key is used), or give --public-key.
        #[arg(
            long,
            conflicts_with = "public_key",
            required_unless_present = "public_key"
        )]
        new_key: Option<PathBuf>,
        /// The new account's public key (hex).
        #[arg(long)]
        public_key: Option<String>,
    },
    /// The grid operator registers a smart meter for an owner's account.
    RegisterMeter {
        #[command(flatten)]
        signing: Signing,
        /// The meter's key file (its public key is registered).
        #[arg(long)]
        meter_key: PathBuf,
        /// The account credited with the meter's exports.
        #[arg(long)]
        owner: u64,
    },
    /// A meter reports its cumulative exported energy (signed with the meter's key).
    Reading {
        #[command(flatten)]
        signing: Signing,
        /// The meter.
        #[arg(long)]
        meter: u64,
        /// Cumulative export since installation, Wh.
        #[arg(long)]
        cumulative: u64,
    },
    /// Places a limit order on the energy market (sell locks the Wh, buy locks the cents).
    Order {
        #[command(flatten)]
        signing: Signing,
        /// The trader's account.
        #[arg(long)]
        from: u64,
        /// Buy or sell.
        #[arg(long, value_enum)]
        side: SideArg,
        /// Wh.
        #[arg(long)]
        amount: u64,
        /// Limit price, cents per kWh.
        #[arg(long)]
        price: u64,
        /// Seconds from now until the order expires.
        #[arg(long, default_value_t = 86_400)]
        expires_in: u64,
    },
    /// Cancels an open order and releases what it still locks.
    Cancel {
        #[command(flatten)]
        signing: Signing,
        /// The owner's account.
        #[arg(long)]
        from: u64,
        /// The order.
        #[arg(long)]
        order: u64,
    },
    /// The transit authority registers an operator's fare table (cents per fare class).
    RegisterOperator {
        #[command(flatten)]
        signing: Signing,
        /// The operator's account.
        #[arg(long)]
        operator: u64,
        /// Fares per class, comma-separated (four classes).
        #[arg(long, value_delimiter = ',', required = true)]
        fares: Vec<u64>,
    },
    /// The transit authority sets a rider's concession (percent off).
    Concession {
        #[command(flatten)]
        signing: Signing,
        /// The rider's account.
        #[arg(long)]
        rider: u64,
        /// Percent off, 0 to 100.
        #[arg(long)]
        percent: u64,
    },
    /// A rider taps in on an operator's vehicle or gate.
    Tap {
        #[command(flatten)]
        signing: Signing,
        /// The rider's account.
        #[arg(long)]
        from: u64,
        /// The operator's account.
        #[arg(long)]
        operator: u64,
        /// The fare class.
        #[arg(long)]
        class: u64,
        /// When the rider tapped (unix seconds; default now).
        #[arg(long)]
        time: Option<u64>,
    },
    /// An operator files a fleet record (the hash of a document) in the append-only log.
    Fleet {
        #[command(flatten)]
        signing: Signing,
        /// The operator's account.
        #[arg(long)]
        from: u64,
        /// The vehicle number.
        #[arg(long)]
        vehicle: u64,
        /// What the record is.
        #[arg(long, value_enum)]
        kind: FleetKindArg,
        /// The document (its hash is filed; the document stays with the operator).
        #[arg(long)]
        document: PathBuf,
    },
    /// The registrar registers a voter's identity commitment (from `voter-secret`).
    RegisterVoter {
        #[command(flatten)]
        signing: Signing,
        /// The commitment (hex).
        #[arg(long)]
        commitment: String,
    },
    /// An account opts in as a public delegate.
    RegisterDelegate {
        #[command(flatten)]
        signing: Signing,
        /// The account.
        #[arg(long)]
        from: u64,
    },
    /// The council opens a proposal; the voters registered now are its voter set.
    Proposal {
        #[command(flatten)]
        signing: Signing,
        /// The question.
        #[arg(long)]
        title: String,
        /// An option (repeat for each).
        #[arg(long = "option", required = true)]
        options: Vec<String>,
        /// Voting opens (unix seconds; default now).
        #[arg(long)]
        start: Option<u64>,
        /// Voting closes (unix seconds, exclusive; default a week after the start).
        #[arg(long)]
        end: Option<u64>,
    },
    /// A delegate's public vote on a proposal (may be changed until the window closes).
    DelegateVote {
        #[command(flatten)]
        signing: Signing,
        /// The delegate's account.
        #[arg(long)]
        from: u64,
        /// The proposal.
        #[arg(long)]
        proposal: u64,
        /// The option chosen.
        #[arg(long)]
        option: u64,
    },
    /// Votes anonymously: syncs the proposal's voter set (every commitment of it, not only
    /// this voter's: the requests are the same whoever votes), checks it against the
    /// proposal's voter root, computes this voter's Merkle path here, proves the ballot on
    /// this machine and submits only the ballot. Casting again replaces the earlier ballot.
    Vote {
        /// The voter secrets file (from `voter-secret`).
        #[arg(long)]
        secret: PathBuf,
        /// The proposal.
        #[arg(long)]
        proposal: u64,
        /// `option:N` for a direct vote, or `delegate:D` to follow delegate D.
        #[arg(long)]
        vote: String,
        #[command(flatten)]
        sync: VoterSync,
    },
    /// Syncs the proposal's voter set as `vote` does and writes this voter's Merkle path in
    /// it (JSON), for `ballot` to prove offline.
    VoterPath {
        /// The voter secrets file (from `voter-secret`).
        #[arg(long)]
        secret: PathBuf,
        /// The proposal.
        #[arg(long)]
        proposal: u64,
        /// Where to write the path.
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        sync: VoterSync,
    },
    /// Shows an account's record (and its nonce).
    Account {
        /// The account.
        id: u64,
        /// The sequencer's URL.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        server: String,
    },
    /// Shows what became of a transaction (pending, sealed, proven, rejected and why).
    Status {
        /// The transaction's hash, as the receipt printed it.
        hash: String,
        /// The sequencer's URL.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        server: String,
    },
    /// Makes fresh voter secrets, writes them to FILE (keep it private) and prints the
    /// identity commitment to give the registrar.
    VoterSecret {
        /// Where to write the secrets (refuses to overwrite).
        #[arg(long)]
        out: PathBuf,
    },
    /// Proves a ballot on this machine from a path file and writes the ballot transaction
    /// (JSON) to submit later (`vote` does all of it against a sequencer).
    Ballot {
        /// The voter secrets file (from `voter-secret`).
        #[arg(long)]
        secret: PathBuf,
        /// The voter's Merkle path in the proposal's voter tree (JSON `{"index", "siblings"}`,
        /// as `voter-path` writes it).
        #[arg(long)]
        path: PathBuf,
        /// The proposal id.
        #[arg(long)]
        proposal: u64,
        /// `option:N` for a direct vote, or `delegate:D` to follow delegate D.
        #[arg(long)]
        vote: String,
        /// The ballot's sequence number: 0 for a first ballot, above the current ballot's
        /// to replace it (`GET /v1/ballots/{nullifier}` serves `next_seq`).
        #[arg(long, default_value_t = 0)]
        seq: u64,
        /// Where to write the ballot.
        #[arg(long)]
        out: PathBuf,
    },
}

/// A failure and its exit code.
struct Failure(u8, String);

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Self {
        let code = match e {
            ApiError::Refused { .. } => 1,
            _ => 3,
        };
        Failure(code, e.to_string())
    }
}

impl From<VoterSetError> for Failure {
    fn from(e: VoterSetError) -> Self {
        match e {
            VoterSetError::Api(e) => e.into(),
            VoterSetError::NotInSnapshot { .. } => Failure(1, e.to_string()),
            VoterSetError::RootMismatch { .. }
            | VoterSetError::ShortPage { .. }
            | VoterSetError::MalformedPage { .. }
            | VoterSetError::TooManyVoters { .. } => Failure(4, e.to_string()),
        }
    }
}

impl From<client::keyfile::KeyFileError> for Failure {
    fn from(e: client::keyfile::KeyFileError) -> Self {
        Failure(3, e.to_string())
    }
}

fn usage(message: impl Into<String>) -> Failure {
    Failure(2, message.into())
}

fn main() -> ExitCode {
    match run(Cli::parse().command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure(code, message)) => {
            eprintln!("error: {message}");
            ExitCode::from(code)
        }
    }
}

fn parse_vote(text: &str) -> Result<Vote, Failure> {
    let bad = || {
        usage(format!(
            "a vote is `option:N` or `delegate:D`, not `{text}`"
        ))
    };
    let (kind, number) = text.split_once(':').ok_or_else(bad)?;
    let number: u64 = number.parse().map_err(|_| bad())?;
    match kind {
        "option" => Ok(Vote::Option(number)),
        "delegate" => Ok(Vote::Delegate(number)),
        _ => Err(bad()),
    }
}

fn parse_field(text: &str, what: &str) -> Result<Fp, Failure> {
    serde_json::from_value(serde_json::Value::String(text.trim().to_string()))
        .map_err(|e| usage(format!("{what} `{text}` is not 64 hex digits: {e}")))
}

fn parse_public_key(text: &str) -> Result<PublicKey, Failure> {
    serde_json::from_value(serde_json::Value::String(text.trim().to_string()))
        .map_err(|e| usage(format!("`{text}` is not a public key: {e}")))
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn read_text(path: &Path) -> Result<String, Failure> {
    std::fs::read_to_string(path)
        .map_err(|e| Failure(3, format!("reading {}: {e}", path.display())))
}

/// Signs `tx` with the key, submits it and prints the receipt.
fn sign_and_submit(api: &Api, key: &SigningKey, tx: Transaction) -> Result<(), Failure> {
    let tx = tx.signed(&key.key, key.chain);
    submit(api, &tx)
}

fn submit(api: &Api, tx: &Transaction) -> Result<(), Failure> {
    let receipt = api.submit(tx)?;
    println!(
        "accepted: {} at position {} in batch {} (batch time {})",
        tx.kind_name(),
        receipt["position"],
        receipt["batch"],
        receipt["time"]
    );
    println!("hash: {}", receipt["hash"].as_str().unwrap_or_default());
    println!("event: {}", receipt["event"]);
    if let Some(fills) = receipt["fills"].as_array() {
        for fill in fills {
            println!("  matched: {}", fill["event"]);
        }
    }
    Ok(())
}

/// Reads the key and opens the API; with the signer's account nonce.
fn signer(signing: &Signing, account: u64) -> Result<(Api, SigningKey, u64), Failure> {
    let api = Api::new(&signing.server)?;
    let key = signing.key(&api)?;
    let nonce = api.account_nonce(account)?;
    Ok((api, key, nonce))
}

fn run(command: Command) -> Result<(), Failure> {
    let sig = Signature::default;
    match command {
        Command::Keygen { out } => {
            let key = SecretKey::random(&mut rand::rng());
            client::keyfile::create(&out, &key)?;
            println!("{}", hex::encode(key.public_key().to_bytes()));
            eprintln!("key written to {}; keep it private", out.display());
            Ok(())
        }
        Command::Transfer {
            signing,
            from,
            to,
            amount,
        } => {
            let (api, key, nonce) = signer(&signing, from)?;
            let tx = Transaction::Transfer(Transfer {
                from,
                to,
                amount,
                nonce,
                signature: sig(),
            });
            sign_and_submit(&api, &key, tx)
        }
        Command::OpenAccount {
            signing,
            from,
            new_key,
            public_key,
        } => {
            let public_key = match (new_key, public_key) {
                (Some(file), _) => client::keyfile::read(&file)?.public_key(),
                (None, Some(hex)) => parse_public_key(&hex)?,
                (None, None) => return Err(usage("give --new-key or --public-key")),
            };
            let (api, key, nonce) = signer(&signing, from)?;
            let tx = Transaction::OpenAccount(OpenAccount {
                from,
                public_key,
                nonce,
                signature: sig(),
            });
            sign_and_submit(&api, &key, tx)
        }
        Command::RegisterMeter {
            signing,
            meter_key,
            owner,
        } => {
            let meter_key = client::keyfile::read(&meter_key)?.public_key();
            let (api, key, nonce) = signer(&signing, GRID_OPERATOR)?;
            let tx = Transaction::RegisterMeter(RegisterMeter {
                from: GRID_OPERATOR,
                meter_key,
                owner,
                nonce,
                signature: sig(),
            });
            sign_and_submit(&api, &key, tx)
        }
        Command::Reading {
            signing,
            meter,
            cumulative,
        } => {
            let api = Api::new(&signing.server)?;
            let key = signing.key(&api)?;
            let nonce = api.meter_nonce(meter)?;
            let tx = Transaction::MeterReading(MeterReading {
                meter,
                cumulative,
                nonce,
                signature: sig(),
            });
            sign_and_submit(&api, &key, tx)
        }
        Command::Order {
            signing,
            from,
            side,
            amount,
            price,
            expires_in,
        } => {
            let (api, key, nonce) = signer(&signing, from)?;
            let tx = Transaction::PlaceOrder(PlaceOrder {
                from,
                side: match side {
                    SideArg::Buy => Side::Buy,
                    SideArg::Sell => Side::Sell,
                },
                amount,
                price,
                expiry: now() + expires_in,
                nonce,
                signature: sig(),
            });
            sign_and_submit(&api, &key, tx)
        }
        Command::Cancel {
            signing,
            from,
            order,
        } => {
            let (api, key, nonce) = signer(&signing, from)?;
            let tx = Transaction::CancelOrder(CancelOrder {
                from,
                order,
                nonce,
                signature: sig(),
            });
            sign_and_submit(&api, &key, tx)
        }
        Command::RegisterOperator {
            signing,
            operator,
            fares,
        } => {
            let fares: [u64; FARE_CLASSES] = fares
                .try_into()
                .map_err(|_| usage(format!("--fares takes {FARE_CLASSES} fares")))?;
            let (api, key, nonce) = signer(&signing, TRANSIT_AUTHORITY)?;
            let tx = Transaction::RegisterOperator(RegisterOperator {
                from: TRANSIT_AUTHORITY,
                operator,
                fares,
                nonce,
                signature: sig(),
            });
            sign_and_submit(&api, &key, tx)
        }
        Command::Concession {
            signing,
            rider,
            percent,
        } => {
            let (api, key, nonce) = signer(&signing, TRANSIT_AUTHORITY)?;
            let tx = Transaction::SetConcession(SetConcession {
                from: TRANSIT_AUTHORITY,
                rider,
                percent,
                nonce,
                signature: sig(),
            });
            sign_and_submit(&api, &key, tx)
        }
        Command::Tap {
            signing,
            from,
            operator,
            class,
            time,
        } => {
            let (api, key, nonce) = signer(&signing, from)?;
            let tx = Transaction::Tap(Tap {
                from,
                operator,
                fare_class: class,
                time: time.unwrap_or_else(now),
                nonce,
                signature: sig(),
            });
            sign_and_submit(&api, &key, tx)
        }
        Command::Fleet {
            signing,
            from,
            vehicle,
            kind,
            document,
        } => {
            let bytes = std::fs::read(&document)
                .map_err(|e| Failure(3, format!("{}: {e}", document.display())))?;
            let (api, key, nonce) = signer(&signing, from)?;
            let tx = Transaction::FleetRecord(FleetRecord {
                from,
                vehicle,
                kind: match kind {
                    FleetKindArg::Maintenance => FleetKind::Maintenance,
                    FleetKindArg::Insurance => FleetKind::Insurance,
                    FleetKindArg::DriverShift => FleetKind::DriverShift,
                },
                record_hash: circuits::hash::hash_bytes(&bytes),
                nonce,
                signature: sig(),
            });
            sign_and_submit(&api, &key, tx)
        }
        Command::RegisterVoter {
            signing,
            commitment,
        } => {
            let commitment = parse_field(&commitment, "the commitment")?;
            let (api, key, nonce) = signer(&signing, REGISTRAR)?;
            let tx = Transaction::RegisterVoter(RegisterVoter {
                from: REGISTRAR,
                commitment,
                nonce,
                signature: sig(),
            });
            sign_and_submit(&api, &key, tx)
        }
        Command::RegisterDelegate { signing, from } => {
            let (api, key, nonce) = signer(&signing, from)?;
            let tx = Transaction::RegisterDelegate(RegisterDelegate {
                from,
                nonce,
                signature: sig(),
            });
            sign_and_submit(&api, &key, tx)
        }
        Command::Proposal {
            signing,
            title,
            options,
            start,
            end,
        } => {
            let start = start.unwrap_or_else(now);
            let end = end.unwrap_or(start + 7 * 24 * 3600);
            let (api, key, nonce) = signer(&signing, COUNCIL)?;
            let tx = Transaction::CreateProposal(CreateProposal {
                from: COUNCIL,
                title,
                options,
                start,
                end,
                nonce,
                signature: sig(),
            });
            sign_and_submit(&api, &key, tx)
        }
        Command::DelegateVote {
            signing,
            from,
            proposal,
            option,
        } => {
            let (api, key, nonce) = signer(&signing, from)?;
            let tx = Transaction::DelegateVote(DelegateVote {
                from,
                proposal,
                option,
                nonce,
                signature: sig(),
            });
            sign_and_submit(&api, &key, tx)
        }
        Command::Vote {
            secret,
            proposal,
            vote,
            sync,
        } => {
            let vote = parse_vote(&vote)?;
            let secret = read_secret(&secret)?;
            let api = Api::new(&sync.server)?;
            let set = synced(&api, proposal, &sync)?;
            let path = set.path_of(&secret.commitment())?;
            let seq = api.next_ballot_seq(&secret.nullifier(proposal))?;
            let tx = prove_ballot(&secret, &path, proposal, vote, seq)?;
            submit(&api, &tx)
        }
        Command::VoterPath {
            secret,
            proposal,
            out,
            sync,
        } => {
            let secret = read_secret(&secret)?;
            let api = Api::new(&sync.server)?;
            let set = synced(&api, proposal, &sync)?;
            let path = set.path_of(&secret.commitment())?;
            write_json(&out, &path)?;
            eprintln!("path written to {}", out.display());
            Ok(())
        }
        Command::Account { id, server } => {
            let json = Api::new(&server)?.get(&format!("/v1/accounts/{id}"))?;
            println!(
                "{}",
                serde_json::to_string_pretty(&json["record"]).expect("JSON")
            );
            Ok(())
        }
        Command::Status { hash, server } => {
            let json = Api::new(&server)?.get(&format!("/v1/transactions/{}", hash.trim()))?;
            println!("{}", serde_json::to_string_pretty(&json).expect("JSON"));
            Ok(())
        }
        Command::VoterSecret { out } => {
            if out.exists() {
                return Err(Failure(
                    3,
                    format!("{} exists: not overwriting voter secrets", out.display()),
                ));
            }
            let secret = VoterSecret::random(&mut rand::rng());
            write_json(&out, &secret)?;
            println!("{}", circuits::hash::to_hex(&secret.commitment()));
            eprintln!(
                "secrets written to {}; give the commitment above to the registrar",
                out.display()
            );
            Ok(())
        }
        Command::Ballot {
            secret,
            path,
            proposal,
            vote,
            seq,
            out,
        } => {
            let secret = read_secret(&secret)?;
            let path: MerklePath = serde_json::from_str(&read_text(&path)?).map_err(|e| {
                Failure(
                    3,
                    format!("the path file is not a valid Merkle path JSON: {e}"),
                )
            })?;
            let vote = parse_vote(&vote)?;
            let tx = prove_ballot(&secret, &path, proposal, vote, seq)?;
            write_json(&out, &tx)?;
            eprintln!("ballot written to {}", out.display());
            Ok(())
        }
    }
}

/// Syncs and checks the proposal's voter set, saying on stderr what the sync did.
fn synced(api: &Api, proposal: u64, sync: &VoterSync) -> Result<VoterSet, Failure> {
    let set = api.voter_set(proposal, &sync.cache_dir())?;
    let report = set.report();
    if let Some(why) = &report.discarded {
        eprintln!("the voter cache was discarded and synced again: {why}");
    }
    if let Some(why) = &report.not_saved {
        eprintln!("warning: the voter cache could not be saved ({why}); the vote goes on");
    }
    eprintln!(
        "voter set of proposal {proposal}: {} commitments ({} cached, {} fetched in {} pages), root checked, in {:.2?}",
        set.len(),
        report.cached,
        report.fetched,
        report.pages,
        report.took
    );
    Ok(set)
}

/// Writes `value` as pretty JSON to `out`.
fn write_json(out: &Path, value: &impl serde::Serialize) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(value).expect("a value of ours serializes");
    std::fs::write(out, text).map_err(|e| Failure(3, format!("writing {}: {e}", out.display())))
}

fn read_secret(path: &Path) -> Result<VoterSecret, Failure> {
    serde_json::from_str(&read_text(path)?).map_err(|e| {
        Failure(
            3,
            format!("{}: not valid voter secrets JSON: {e}", path.display()),
        )
    })
}

fn prove_ballot(
    secret: &VoterSecret,
    path: &MerklePath,
    proposal: u64,
    vote: Vote,
    seq: u64,
) -> Result<Transaction, Failure> {
    eprintln!("making ballot keys (k = {})...", ballot::K);
    let keys = client::ballot::keys().map_err(|e| Failure(3, e.to_string()))?;
    let (tx, took) = client::ballot::prove(&keys, secret, path, proposal, vote, seq)
        .map_err(|e| usage(e.to_string()))?;
    eprintln!("ballot proved in {took:.2?}");
    Ok(tx)
}
