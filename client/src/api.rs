//! A blocking client of the sequencer's API.

use std::time::Duration;

use circuits::{Fp, Transaction};
use serde_json::Value;

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The server cannot be reached (or the URL is not one).
    #[error("cannot reach the sequencer at {url}: {message}")]
    Unreachable {
        /// The URL.
        url: String,
        /// Why.
        message: String,
    },
    /// The server answered with an error.
    #[error("refused (HTTP {status}, {code}): {message}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The stable error code.
        code: String,
        /// The server's message.
        message: String,
    },
    /// The answer is not what the API answers.
    #[error("unexpected answer from {url}: {message}")]
    Unexpected {
        /// The URL.
        url: String,
        /// What is wrong.
        message: String,
    },
}

/// The sequencer at a base URL.
pub struct Api {
    base: String,
    http: reqwest::blocking::Client,
}

impl Api {
    /// A client of the sequencer at `base` (`http://host:port`).
    pub fn new(base: &str) -> Result<Self, ApiError> {
        let base = base.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(ApiError::Unreachable {
                url: base,
                message: "the server URL must start with http:// or https://".into(),
            });
        }
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| ApiError::Unreachable {
                url: base.clone(),
                message: e.to_string(),
            })?;
        Ok(Api { base, http })
    }

    fn answer(&self, url: &str, response: reqwest::blocking::Response) -> Result<Value, ApiError> {
        let status = response.status().as_u16();
        let text = response.text().map_err(|e| ApiError::Unreachable {
            url: url.to_string(),
            message: e.to_string(),
        })?;
        let json: Value = serde_json::from_str(&text).map_err(|e| ApiError::Unexpected {
            url: url.to_string(),
            message: format!("HTTP {status}, not JSON ({e}): {text}"),
        })?;
        if (200..300).contains(&status) {
            return Ok(json);
        }
        Err(ApiError::Refused {
            status,
            code: json["code"].as_str().unwrap_or("unknown").to_string(),
            message: json["message"].as_str().unwrap_or(&text).to_string(),
        })
    }

    /// The full URL of a path of the API.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `GET` a path of the API (`/v1/state`).
    pub fn get(&self, path: &str) -> Result<Value, ApiError> {
        let url = self.url(path);
        let response = self
            .http
            .get(&url)
            .send()
            .map_err(|e| ApiError::Unreachable {
                url: url.clone(),
                message: e.to_string(),
            })?;
        self.answer(&url, response)
    }

    /// Submits a transaction; the receipt on acceptance.
    pub fn submit(&self, tx: &Transaction) -> Result<Value, ApiError> {
        let url = format!("{}/v1/transactions", self.base);
        let response = self
            .http
            .post(&url)
            .json(tx)
            .send()
            .map_err(|e| ApiError::Unreachable {
                url: url.clone(),
                message: e.to_string(),
            })?;
        self.answer(&url, response)
    }

    fn nonce_of(&self, path: &str) -> Result<u64, ApiError> {
        let json = self.get(path)?;
        json["record"]["nonce"]
            .as_u64()
            .ok_or_else(|| ApiError::Unexpected {
                url: format!("{}{path}", self.base),
                message: format!("no nonce in {json}"),
            })
    }

    /// An account's current nonce.
    pub fn account_nonce(&self, account: u64) -> Result<u64, ApiError> {
        self.nonce_of(&format!("/v1/accounts/{account}"))
    }

    /// The deployment the sequencer serves: its genesis hash, which every signed message
    /// includes. Taken from the sequencer's genesis; a caller who knows the deployment pins
    /// it instead (the CLI's `--chain`), so a sequencer cannot make it sign for another.
    pub fn chain(&self) -> Result<Fp, ApiError> {
        let path = "/v1/genesis";
        let json = self.get(path)?;
        let genesis: circuits::Genesis =
            serde_json::from_value(json).map_err(|e| ApiError::Unexpected {
                url: format!("{}{path}", self.base),
                message: format!("not a genesis: {e}"),
            })?;
        Ok(genesis.chain())
    }

    /// The sequence number a new ballot of `nullifier` must carry to count: one past its
    /// current ballot's, or 0 if it has none.
    pub fn next_ballot_seq(&self, nullifier: &Fp) -> Result<u64, ApiError> {
        let path = format!("/v1/ballots/{}", circuits::hash::to_hex(nullifier));
        let json = self.get(&path)?;
        json["next_seq"]
            .as_u64()
            .ok_or_else(|| ApiError::Unexpected {
                url: format!("{}{path}", self.base),
                message: format!("no next_seq in {json}"),
            })
    }

    /// A meter's current nonce.
    pub fn meter_nonce(&self, meter: u64) -> Result<u64, ApiError> {
        self.nonce_of(&format!("/v1/meters/{meter}"))
    }
}
