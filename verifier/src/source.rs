//! Where batch artifacts come from: a directory of `*.json` files, or a sequencer's HTTP API
//! (`http://host:port`), so that `verifier chain http://…` checks what the service publishes
//! exactly as it checks files.
//!
//! Over HTTP the verifier lists the batches (`GET /v1/batches`), takes every proven batch
//! from the first one up to the first that is not proven yet, and fetches each artifact
//! (`GET /v1/batches/{n}`). Later batches are reported, not checked: they have no proof yet.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::artifact::BatchArtifact;
use crate::check::{json_files, read_dir, VerifyError};

/// Where to read batch artifacts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// Every `*.json` file in a directory.
    Dir(PathBuf),
    /// A sequencer's API at this base URL (no trailing slash).
    Http(String),
}

/// Why artifacts cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// Reading files or an artifact's content failed.
    #[error(transparent)]
    Verify(#[from] VerifyError),
    /// The service cannot be reached or answers with an error.
    #[error("{url}: {message}")]
    Http {
        /// The URL asked.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// A batch asked for is not there (or not proven yet).
    #[error("batch {number} is not published (or not proven yet)")]
    Missing {
        /// The batch.
        number: u64,
    },
    /// The service sent something that is not a state proof where one was asked for.
    #[error("{url}: not a state proof: {message}")]
    BadFact {
        /// The URL asked.
        url: String,
        /// What is wrong with it.
        message: String,
    },
    /// Facts by inclusion proof come from a service; a directory has none.
    #[error("{dir}: a directory of artifacts holds no state proofs")]
    NoFacts {
        /// The directory.
        dir: String,
    },
    /// The service has no proven batch yet.
    #[error("{url}: no proven batch yet ({sealed} sealed, waiting for their proofs)")]
    NoProvenBatch {
        /// The service.
        url: String,
        /// Batches it lists.
        sealed: u64,
    },
}

impl SourceError {
    /// Whether the published data is at fault (exit 1), rather than the verifier's
    /// environment or the network (exit 3).
    pub fn is_data_fault(&self) -> bool {
        match self {
            SourceError::Verify(e) => e.is_data_fault(),
            SourceError::BadFact { .. } => true,
            SourceError::NoFacts { .. } => false,
            SourceError::Http { .. }
            | SourceError::NoProvenBatch { .. }
            | SourceError::Missing { .. } => false,
        }
    }
}

/// The artifacts read, and what was left out.
#[derive(Debug)]
pub struct Fetched {
    /// Each artifact, named by its file or URL.
    pub artifacts: Vec<(String, BatchArtifact)>,
    /// Batches listed by the service after the proven ones (not checked: no proof yet).
    pub unproven: Vec<u64>,
}

/// Artifacts read one at a time, in batch order: what a long chain is checked from in
/// bounded memory ([`Source::stream`]).
pub struct Stream {
    /// How many batches it yields.
    pub count: usize,
    /// Batches listed by the service after the proven ones (not checked: no proof yet).
    pub unproven: Vec<u64>,
    items: Box<dyn Iterator<Item = Result<(String, BatchArtifact), SourceError>>>,
}

impl Iterator for Stream {
    type Item = Result<(String, BatchArtifact), SourceError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.items.next()
    }
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Stream {{ count: {}, .. }}", self.count)
    }
}

#[derive(Deserialize)]
struct BatchList {
    batches: Vec<ListedBatch>,
    latest: u64,
}

#[derive(Deserialize)]
struct ListedBatch {
    number: u64,
    status: String,
}

impl Source {
    /// A URL (`http://…`, `https://…`) or a directory.
    pub fn parse(text: &str) -> Self {
        if text.starts_with("http://") || text.starts_with("https://") {
            Source::Http(text.trim_end_matches('/').to_string())
        } else {
            Source::Dir(Path::new(text).to_path_buf())
        }
    }

    /// The artifacts of batches `from` on, read one at a time when the stream is advanced:
    /// a directory's files are listed (and two files of one batch refused) first, a
    /// service's proven batches are listed first.
    pub fn stream(&self, from: u64) -> Result<Stream, SourceError> {
        match self {
            Source::Dir(dir) => {
                let mut numbered = Vec::new();
                for path in json_files(dir)? {
                    let number = BatchArtifact::load(&path)
                        .map_err(VerifyError::from)?
                        .number;
                    numbered.push((number, path));
                }
                numbered.sort();
                for pair in numbered.windows(2) {
                    if pair[0].0 == pair[1].0 {
                        return Err(VerifyError::Duplicate {
                            number: pair[0].0,
                            first: pair[0].1.display().to_string(),
                            second: pair[1].1.display().to_string(),
                        }
                        .into());
                    }
                }
                numbered.retain(|(n, _)| *n >= from);
                Ok(Stream {
                    count: numbered.len(),
                    unproven: Vec::new(),
                    items: Box::new(numbered.into_iter().map(|(_, path)| {
                        let artifact = BatchArtifact::load(&path).map_err(VerifyError::from)?;
                        Ok((path.display().to_string(), artifact))
                    })),
                })
            }
            Source::Http(base) => {
                let client = http_client(base)?;
                let (proven, unproven) = list_http(&client, base)?;
                let base = base.clone();
                let wanted: Vec<u64> = proven.into_iter().filter(|n| *n >= from).collect();
                Ok(Stream {
                    count: wanted.len(),
                    unproven,
                    items: Box::new(wanted.into_iter().map(move |n| {
                        let url = format!("{base}/v1/batches/{n}");
                        let text = get(&client, &url)?;
                        let artifact =
                            BatchArtifact::from_json(&text, &url).map_err(VerifyError::from)?;
                        Ok((url, artifact))
                    })),
                })
            }
        }
    }

    /// Batch `number`'s artifact alone (a checkpoint's batch).
    pub fn artifact(&self, number: u64) -> Result<BatchArtifact, SourceError> {
        let mut stream = self.stream(number)?;
        match stream.next() {
            Some(Ok((_, a))) if a.number == number => Ok(a),
            Some(Err(e)) => Err(e),
            _ => Err(SourceError::Missing { number }),
        }
    }

    /// A state proof of the state the service's last proven batch leaves: `what` is the
    /// route under `/v1/proven/` (`accounts/3`, `proposals/0/tally`). Only a service serves
    /// them. The answer is evidence to check ([`circuits::facts::StateProof::verify`]),
    /// never to believe.
    pub fn proven_fact(&self, what: &str) -> Result<circuits::facts::ProvenFact, SourceError> {
        match self {
            Source::Dir(dir) => Err(SourceError::NoFacts {
                dir: dir.display().to_string(),
            }),
            Source::Http(base) => {
                let url = format!("{base}/v1/proven/{what}");
                let text = get(&http_client(base)?, &url)?;
                serde_json::from_str(&text).map_err(|e| SourceError::BadFact {
                    url,
                    message: e.to_string(),
                })
            }
        }
    }

    /// Reads the artifacts.
    pub fn fetch(&self) -> Result<Fetched, SourceError> {
        match self {
            Source::Dir(dir) => Ok(Fetched {
                artifacts: read_dir(dir)?,
                unproven: Vec::new(),
            }),
            Source::Http(base) => fetch_http(base),
        }
    }
}

fn get(client: &reqwest::blocking::Client, url: &str) -> Result<String, SourceError> {
    let http = |message: String| SourceError::Http {
        url: url.to_string(),
        message,
    };
    let response = client.get(url).send().map_err(|e| http(e.to_string()))?;
    let status = response.status();
    let body = response.text().map_err(|e| http(e.to_string()))?;
    if !status.is_success() {
        return Err(http(format!("HTTP {status}: {body}")));
    }
    Ok(body)
}

fn http_client(base: &str) -> Result<reqwest::blocking::Client, SourceError> {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .map_err(|e| SourceError::Http {
            url: base.to_string(),
            message: e.to_string(),
        })
}

/// The service's proven batches (every one from the first up to the first not proven) and
/// the numbers listed after them.
fn list_http(
    client: &reqwest::blocking::Client,
    base: &str,
) -> Result<(Vec<u64>, Vec<u64>), SourceError> {
    let mut listed = Vec::new();
    let mut from = crate::FIRST_BATCH;
    loop {
        let url = format!("{base}/v1/batches?from={from}&limit=1000");
        let text = get(client, &url)?;
        let page: BatchList = serde_json::from_str(&text).map_err(|e| SourceError::Http {
            url: url.clone(),
            message: format!("not a batch list: {e}"),
        })?;
        let last = page.batches.last().map(|b| b.number);
        listed.extend(page.batches);
        match last {
            Some(n) if n < page.latest => from = n + 1,
            _ => break,
        }
    }
    let proven = listed
        .iter()
        .enumerate()
        .take_while(|(i, b)| b.status == "proven" && b.number == crate::FIRST_BATCH + *i as u64)
        .count();
    if proven == 0 {
        return Err(SourceError::NoProvenBatch {
            url: base.to_string(),
            sealed: listed.len() as u64,
        });
    }
    Ok((
        listed[..proven].iter().map(|b| b.number).collect(),
        listed[proven..].iter().map(|b| b.number).collect(),
    ))
}

fn fetch_http(base: &str) -> Result<Fetched, SourceError> {
    let client = http_client(base)?;
    let (proven, unproven) = list_http(&client, base)?;
    let mut artifacts = Vec::with_capacity(proven.len());
    for n in proven {
        let url = format!("{base}/v1/batches/{n}");
        let text = get(&client, &url)?;
        let artifact = BatchArtifact::from_json(&text, &url).map_err(VerifyError::from)?;
        artifacts.push((url, artifact));
    }
    Ok(Fetched {
        artifacts,
        unproven,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_directories_are_told_apart() {
        assert_eq!(
            Source::parse("http://127.0.0.1:8080/"),
            Source::Http("http://127.0.0.1:8080".into())
        );
        assert_eq!(Source::parse("batches"), Source::Dir("batches".into()));
    }

    #[test]
    fn an_unreachable_service_is_not_a_data_fault() {
        // Port 9 on loopback (discard): nothing listens in a test environment.
        let e = Source::parse("http://127.0.0.1:9").fetch().unwrap_err();
        assert!(!e.is_data_fault(), "{e}");
        assert!(e.to_string().contains("127.0.0.1:9"), "{e}");
    }
}
