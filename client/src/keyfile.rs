//! Key files: JSON with the secret key and, as a check and for reference, the public key,
//! both hex: `{"secret_key": "…64 hex…", "public_key": "…64 hex…"}` (the sequencer reads
//! the market key in the same format).

use std::path::Path;

use circuits::keys::SecretKey;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    secret_key: String,
    #[serde(default)]
    public_key: Option<String>,
}

/// Why a key file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// It cannot be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// It exists already (keys are never overwritten).
    #[error("{0} exists: not overwriting a key file")]
    Exists(String),
    /// Its content is not a key.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
}

/// Key-file JSON for `key`.
pub fn to_json(key: &SecretKey) -> String {
    serde_json::to_string_pretty(&KeyFile {
        secret_key: hex::encode(key.to_bytes()),
        public_key: Some(hex::encode(key.public_key().to_bytes())),
    })
    .expect("strings always serialize")
}

/// Parses key-file JSON; the error says what is wrong.
pub fn parse(text: &str) -> Result<SecretKey, String> {
    let file: KeyFile = serde_json::from_str(text).map_err(|e| format!("not a key file: {e}"))?;
    let bytes: [u8; 32] = hex::decode(file.secret_key.trim())
        .map_err(|e| format!("secret_key is not hex: {e}"))?
        .try_into()
        .map_err(|_| "secret_key must be 32 bytes (64 hex digits)".to_string())?;
    let key = SecretKey::from_bytes(bytes)
        .ok_or_else(|| "secret_key is not a valid Pallas scalar".to_string())?;
    if let Some(public) = file.public_key {
        if !public
            .trim()
            .eq_ignore_ascii_case(&hex::encode(key.public_key().to_bytes()))
        {
            return Err("public_key does not match secret_key".into());
        }
    }
    Ok(key)
}

/// Reads a key file.
pub fn read(path: &Path) -> Result<SecretKey, KeyFileError> {
    let text = std::fs::read_to_string(path).map_err(|source| KeyFileError::Io {
        path: path.display().to_string(),
        source,
    })?;
    parse(&text).map_err(|message| KeyFileError::Invalid {
        path: path.display().to_string(),
        message,
    })
}

/// Writes a fresh key file; refuses to overwrite one.
pub fn create(path: &Path, key: &SecretKey) -> Result<(), KeyFileError> {
    use std::io::Write;
    let io = |source| KeyFileError::Io {
        path: path.display().to_string(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => KeyFileError::Exists(path.display().to_string()),
            _ => io(e),
        })?;
    file.write_all(to_json(key).as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_files_round_trip_and_bad_ones_say_why() {
        let key = circuits::genesis::demo_key("resident-0");
        assert_eq!(
            parse(&to_json(&key)).unwrap().public_key(),
            key.public_key()
        );
        assert!(parse("[]").unwrap_err().contains("not a key file"));
        assert!(parse(r#"{"secret_key":"xyz"}"#)
            .unwrap_err()
            .contains("not hex"));
        assert!(parse(r#"{"secret_key":"abcd"}"#)
            .unwrap_err()
            .contains("32 bytes"));
        let other = circuits::genesis::demo_key("resident-1");
        let wrong = format!(
            r#"{{"secret_key":"{}","public_key":"{}"}}"#,
            hex::encode(key.to_bytes()),
            hex::encode(other.public_key().to_bytes())
        );
        assert!(parse(&wrong).unwrap_err().contains("does not match"));
    }
}
