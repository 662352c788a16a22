//! The residents' client. It runs on the resident's own machine: voter secrets are made and
//! kept here, and ballots are proved here, so the secret never leaves it. The ballot it
//! writes carries no account, key or signature: only the proposal, the voter root, the
//! nullifier, the vote and the proof.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use circuits::ballot::{self, BallotKeys};
use circuits::merkle::MerklePath;
use circuits::voter::{Vote, VoterSecret};
use circuits::Transaction;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(version, about = "The city rollup's client for residents and devices")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Makes fresh voter secrets, writes them to FILE (keep it private) and prints the
    /// identity commitment to give the registrar.
    VoterSecret {
        /// Where to write the secrets (refuses to overwrite).
        #[arg(long)]
        out: PathBuf,
    },
    /// Proves a ballot on this machine and writes the ballot transaction (JSON) to submit.
    Ballot {
        /// The voter secrets file (from `voter-secret`).
        #[arg(long)]
        secret: PathBuf,
        /// The voter's Merkle path in the proposal's voter tree (JSON `{"index", "siblings"}`,
        /// as the sequencer serves it).
        #[arg(long)]
        path: PathBuf,
        /// The proposal id.
        #[arg(long)]
        proposal: u64,
        /// `option:N` for a direct vote, or `delegate:D` to follow delegate D.
        #[arg(long)]
        vote: String,
        /// Where to write the ballot.
        #[arg(long)]
        out: PathBuf,
    },
}

fn parse_vote(text: &str) -> Result<Vote> {
    let (kind, number) = text
        .split_once(':')
        .context("a vote is `option:N` or `delegate:D`")?;
    let number: u64 = number
        .parse()
        .with_context(|| format!("`{number}` is not a number"))?;
    match kind {
        "option" => Ok(Vote::Option(number)),
        "delegate" => Ok(Vote::Delegate(number)),
        _ => bail!("a vote is `option:N` or `delegate:D`, not `{text}`"),
    }
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::VoterSecret { out } => {
            if out.exists() {
                bail!("{} exists: not overwriting voter secrets", out.display());
            }
            let secret = VoterSecret::random(&mut rand::rng());
            std::fs::write(&out, serde_json::to_string_pretty(&secret)?)
                .with_context(|| format!("writing {}", out.display()))?;
            println!("{}", circuits::hash::to_hex(&secret.commitment()));
            eprintln!(
                "secrets written to {}; give the commitment above to the registrar",
                out.display()
            );
        }
        Command::Ballot {
            secret,
            path,
            proposal,
            vote,
            out,
        } => {
            let secret: VoterSecret = serde_json::from_str(
                &std::fs::read_to_string(&secret)
                    .with_context(|| format!("reading {}", secret.display()))?,
            )
            .context("the secrets file is not valid voter secrets JSON")?;
            let path: MerklePath = serde_json::from_str(
                &std::fs::read_to_string(&path)
                    .with_context(|| format!("reading {}", path.display()))?,
            )
            .context("the path file is not a valid Merkle path JSON")?;
            let vote = parse_vote(&vote)?;
            eprintln!("making ballot keys (k = {})...", ballot::K);
            let keys = BallotKeys::setup(ballot::params())?;
            let started = Instant::now();
            let proof = ballot::prove(&keys, &secret, &path, proposal, vote, rand::rng())?;
            eprintln!("ballot proved in {:.2?}", started.elapsed());
            let tx = Transaction::Ballot(proof.into_transaction());
            std::fs::write(&out, serde_json::to_string_pretty(&tx)?)
                .with_context(|| format!("writing {}", out.display()))?;
            eprintln!("ballot written to {}", out.display());
        }
    }
    Ok(())
}
