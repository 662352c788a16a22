//! Key files, as `client keygen` writes them: JSON with the secret key and, for reference,
//! the public key, both hex. `{"secret_key": "…64 hex…", "public_key": "…64 hex…"}`.

use std::path::Path;

use circuits::keys::SecretKey;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    secret_key: String,
    public_key: Option<String>,
}

/// Reads a key file; the error says what is wrong with it.
pub fn read(path: &Path) -> Result<SecretKey, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Parses key-file JSON.
pub fn parse(text: &str) -> Result<SecretKey, String> {
    let file: KeyFile = serde_json::from_str(text).map_err(|e| format!("not a key file: {e}"))?;
    let bytes: [u8; 32] = hex::decode(file.secret_key.trim())
        .map_err(|e| format!("secret_key is not hex: {e}"))?
        .try_into()
        .map_err(|_| "secret_key must be 32 bytes (64 hex digits)".to_string())?;
    let key = SecretKey::from_bytes(bytes)
        .ok_or_else(|| "secret_key is not a valid Pallas scalar".to_string())?;
    if let Some(public) = file.public_key {
        let derived = hex::encode(key.public_key().to_bytes());
        if !public.trim().eq_ignore_ascii_case(&derived) {
            return Err("public_key does not match secret_key".into());
        }
    }
    Ok(key)
}

/// Key-file JSON for `key`.
pub fn to_json(key: &SecretKey) -> String {
    serde_json::to_string_pretty(&serde_json::json!({
        "secret_key": hex::encode(key.to_bytes()),
        "public_key": hex::encode(key.public_key().to_bytes()),
    }))
    .expect("strings always serialize")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_files_round_trip_and_bad_ones_say_why() {
        let key = circuits::genesis::demo_key("market");
        let parsed = parse(&to_json(&key)).unwrap();
        assert_eq!(parsed.public_key(), key.public_key());
        assert!(parse("{}").unwrap_err().contains("missing field"));
        assert!(parse(r#"{"secret_key":"zz"}"#)
            .unwrap_err()
            .contains("not hex"));
        assert!(parse(r#"{"secret_key":"00"}"#)
            .unwrap_err()
            .contains("32 bytes"));
        let other = circuits::genesis::demo_key("council");
        let mismatched = serde_json::json!({
            "secret_key": hex::encode(key.to_bytes()),
            "public_key": hex::encode(other.public_key().to_bytes()),
        });
        assert!(parse(&mismatched.to_string())
            .unwrap_err()
            .contains("does not match"));
    }
}
