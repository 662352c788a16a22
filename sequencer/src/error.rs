//! The API's errors: one enum, each variant with a stable snake_case `code`, a human
//! message and the HTTP status that fits it. Every error answer is JSON:
//! `{"code": "nonce_mismatch", "message": "wrong nonce: expected 3, got 2"}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use circuits::TxError;
use serde::{Deserialize, Serialize};

/// The JSON body of every error answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorBody {
    /// Stable, machine-readable: clients match on it.
    pub code: String,
    /// For people; may change between versions.
    pub message: String,
}

/// Why a request fails.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body is not JSON, or is cut short.
    #[error("the body is not valid JSON: {0}")]
    MalformedJson(String),
    /// The JSON has a field the transaction kind does not have.
    #[error("{0}")]
    UnknownField(String),
    /// The JSON is well formed but is not a transaction (missing field, wrong type, unknown
    /// kind).
    #[error("not a valid transaction: {0}")]
    InvalidTransaction(String),
    /// A path or query parameter is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// The body is not declared as JSON.
    #[error("the body must be sent with Content-Type: application/json")]
    UnsupportedMediaType,
    /// The body exceeds the limit.
    #[error("the body is larger than the limit of {limit} bytes")]
    PayloadTooLarge {
        /// The limit, bytes.
        limit: usize,
    },
    /// The rules refuse the transaction.
    #[error("{0}")]
    Rejected(#[from] TxError),
    /// A ballot's proof does not verify against its public inputs.
    #[error("the ballot proof does not verify: {0}")]
    BadBallotProof(String),
    /// The same transaction was already accepted.
    #[error("transaction {hash} was already accepted at position {position}")]
    Duplicate {
        /// Its hash.
        hash: String,
        /// Its position in the log.
        position: u64,
    },
    /// Something asked for does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The batch exists but has no proof yet.
    #[error("{0}")]
    NotProven(String),
    /// An uploaded batch artifact is not a valid proof of the sealed batch.
    #[error("the artifact is refused: {0}")]
    BadArtifact(String),
    /// An uploaded artifact does not fit now: this sequencer proves its own batches, the
    /// batch is proven already, or an earlier one is not.
    #[error("{0}")]
    ArtifactConflict(String),
    /// The ingest queue is full: try again shortly.
    #[error("the sequencer is overloaded ({depth} transactions queued): retry shortly")]
    Overloaded {
        /// Queue depth when refused.
        depth: usize,
    },
    /// The store could not make the transaction durable; nothing was applied.
    #[error("storage failure, the transaction was not applied: {0}")]
    Storage(String),
    /// The service is shutting down.
    #[error("the sequencer is shutting down")]
    ShuttingDown,
    /// Not expected to happen: a bug.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<crate::writer::WriteError> for ApiError {
    fn from(e: crate::writer::WriteError) -> Self {
        use crate::writer::WriteError;
        match e {
            WriteError::Rejected(e) => ApiError::Rejected(e),
            WriteError::Duplicate { hash, position } => ApiError::Duplicate { hash, position },
            WriteError::Storage(why) => ApiError::Storage(why),
        }
    }
}

impl From<crate::proving::ProvingError> for ApiError {
    fn from(e: crate::proving::ProvingError) -> Self {
        use crate::proving::ProvingError;
        match e {
            ProvingError::NoBatch(_) | ProvingError::StillOpen(_) => {
                ApiError::NotFound(e.to_string())
            }
            ProvingError::ProvesItself
            | ProvingError::AlreadyProven(_)
            | ProvingError::OutOfOrder { .. } => ApiError::ArtifactConflict(e.to_string()),
            ProvingError::BadArtifact(why) => ApiError::BadArtifact(why),
            ProvingError::ReadLog { .. } => ApiError::Internal(e.to_string()),
            ProvingError::Storage(why) => ApiError::Storage(why),
            ProvingError::Internal(why) => ApiError::Internal(why),
        }
    }
}

impl ApiError {
    /// The stable code.
    pub fn code(&self) -> String {
        let code = match self {
            ApiError::MalformedJson(_) => "malformed_json",
            ApiError::UnknownField(_) => "unknown_field",
            ApiError::InvalidTransaction(_) => "invalid_transaction",
            ApiError::BadRequest(_) => "bad_request",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::Rejected(e) => return tx_error_code(e),
            ApiError::BadBallotProof(_) => "bad_ballot_proof",
            ApiError::Duplicate { .. } => "duplicate",
            ApiError::NotFound(_) => "not_found",
            ApiError::NotProven(_) => "not_proven",
            ApiError::BadArtifact(_) => "bad_artifact",
            ApiError::ArtifactConflict(_) => "artifact_conflict",
            ApiError::Overloaded { .. } => "overloaded",
            ApiError::Storage(_) => "storage_unavailable",
            ApiError::ShuttingDown => "shutting_down",
            ApiError::Internal(_) => "internal",
        };
        code.to_string()
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::MalformedJson(_)
            | ApiError::UnknownField(_)
            | ApiError::InvalidTransaction(_)
            | ApiError::BadRequest(_)
            | ApiError::BadBallotProof(_)
            | ApiError::BadArtifact(_) => StatusCode::BAD_REQUEST,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Rejected(e) => tx_error_status(e),
            ApiError::Duplicate { .. } | ApiError::ArtifactConflict(_) => StatusCode::CONFLICT,
            ApiError::NotFound(_) | ApiError::NotProven(_) => StatusCode::NOT_FOUND,
            ApiError::Overloaded { .. } | ApiError::Storage(_) | ApiError::ShuttingDown => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The JSON body.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            code: self.code(),
            message: self.to_string(),
        }
    }

    /// Classifies a JSON error of a request body.
    pub fn from_json(e: &serde_json::Error) -> Self {
        use serde_json::error::Category;
        match e.classify() {
            Category::Syntax | Category::Eof | Category::Io => {
                ApiError::MalformedJson(e.to_string())
            }
            Category::Data if e.to_string().starts_with("unknown field") => {
                ApiError::UnknownField(e.to_string())
            }
            Category::Data => ApiError::InvalidTransaction(e.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status(), axum::Json(self.body())).into_response()
    }
}

/// The stable code of a rule's refusal: the variant's name in snake_case
/// (`NonceMismatch` -> `nonce_mismatch`), so every rule, present and future, has its own.
pub fn tx_error_code(e: &TxError) -> String {
    let debug = format!("{e:?}");
    let name = debug
        .split(|c: char| !c.is_ascii_alphanumeric())
        .next()
        .unwrap_or_default();
    let mut code = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                code.push('_');
            }
            code.push(c.to_ascii_lowercase());
        } else {
            code.push(c);
        }
    }
    code
}

/// The status of a rule's refusal: 404 when the transaction names something that does not
/// exist, 409 when it conflicts with the current state in a way that fresher data resolves
/// (a stale nonce, an order already closed, a slot already taken), 400 otherwise.
pub fn tx_error_status(e: &TxError) -> StatusCode {
    match e {
        TxError::UnknownAccount { .. }
        | TxError::UnknownMeter { .. }
        | TxError::UnknownOrder { .. }
        | TxError::UnknownProposal { .. }
        | TxError::UnknownDelegate { .. } => StatusCode::NOT_FOUND,
        TxError::NonceMismatch { .. }
        | TxError::OrderNotOpen { .. }
        | TxError::AlreadyDelegate { .. }
        | TxError::NullifierSlotTaken { .. } => StatusCode::CONFLICT,
        _ => StatusCode::BAD_REQUEST,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_errors_are_classified_by_their_cause() {
        let syntax = serde_json::from_str::<circuits::Transaction>("{\"type\": ").unwrap_err();
        assert_eq!(ApiError::from_json(&syntax).code(), "malformed_json");
        let unknown = serde_json::from_str::<circuits::Transaction>(
            r#"{"type":"register_delegate","from":1,"nonce":0,"memo":1}"#,
        )
        .unwrap_err();
        assert_eq!(ApiError::from_json(&unknown).code(), "unknown_field");
        let kind =
            serde_json::from_str::<circuits::Transaction>(r#"{"type":"steal"}"#).unwrap_err();
        assert_eq!(ApiError::from_json(&kind).code(), "invalid_transaction");
        let missing =
            serde_json::from_str::<circuits::Transaction>(r#"{"type":"transfer","from":1}"#)
                .unwrap_err();
        assert_eq!(ApiError::from_json(&missing).code(), "invalid_transaction");
    }

    #[test]
    fn rule_refusals_keep_their_status_and_code() {
        let e = ApiError::from(TxError::NonceMismatch {
            expected: 3,
            got: 2,
        });
        assert_eq!(
            (e.status(), e.code().as_str()),
            (StatusCode::CONFLICT, "nonce_mismatch")
        );
        assert_eq!(e.body().message, "wrong nonce: expected 3, got 2");
        let e = ApiError::from(TxError::UnknownAccount { account: 9 });
        assert_eq!(e.status(), StatusCode::NOT_FOUND);
        assert_eq!(e.code(), "unknown_account");
        assert_eq!(tx_error_code(&TxError::BadSignature), "bad_signature");
        assert_eq!(
            tx_error_code(&TxError::NotADelegate { account: 1 }),
            "not_a_delegate"
        );
        let e = ApiError::from(TxError::InsufficientFunds {
            account: 1,
            balance: 0,
            needed: 5,
        });
        assert_eq!(
            (e.status(), e.code().as_str()),
            (StatusCode::BAD_REQUEST, "insufficient_funds")
        );
    }

    #[test]
    fn proving_errors_keep_their_status_code_and_message() {
        use crate::proving::ProvingError;
        let cases = [
            (
                ProvingError::NoBatch(9),
                StatusCode::NOT_FOUND,
                "not_found",
                "batch 9 does not exist",
            ),
            (
                ProvingError::StillOpen(3),
                StatusCode::NOT_FOUND,
                "not_found",
                "batch 3 is still open: it has no sealed transactions yet",
            ),
            (
                ProvingError::ProvesItself,
                StatusCode::CONFLICT,
                "artifact_conflict",
                "this sequencer proves its batches itself; upload artifacts only to one started with --no-prove",
            ),
            (
                ProvingError::AlreadyProven(2),
                StatusCode::CONFLICT,
                "artifact_conflict",
                "batch 2 is proven already",
            ),
            (
                ProvingError::OutOfOrder { next: 4 },
                StatusCode::CONFLICT,
                "artifact_conflict",
                "batch 4 must be proven first (batches are proven in order)",
            ),
            (
                ProvingError::BadArtifact("batch 5: its transactions are not the sealed batch's".into()),
                StatusCode::BAD_REQUEST,
                "bad_artifact",
                "the artifact is refused: batch 5: its transactions are not the sealed batch's",
            ),
            (
                ProvingError::ReadLog {
                    number: 6,
                    error: "gone".into(),
                },
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "internal error: reading batch 6: gone",
            ),
            (
                ProvingError::Storage("disk full".into()),
                StatusCode::SERVICE_UNAVAILABLE,
                "storage_unavailable",
                "storage failure, the transaction was not applied: disk full",
            ),
            (
                ProvingError::Internal("the proven state is not known yet".into()),
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "internal error: the proven state is not known yet",
            ),
        ];
        for (error, status, code, message) in cases {
            let e = ApiError::from(error);
            assert_eq!(e.status(), status, "{e}");
            assert_eq!(
                e.body(),
                ErrorBody {
                    code: code.into(),
                    message: message.into()
                }
            );
        }
    }
}
