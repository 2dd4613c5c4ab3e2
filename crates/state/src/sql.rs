//! Conversions between protocol types and SQLite columns.

use crate::orgs::corrupt;
use custodia_protocol::{Digest, IdentityKey, RecordId, RequestId, keys::identity_key_from_bytes};

/// An identity key from a BLOB column.
pub(crate) fn key_from_blob(bytes: &[u8], column: &str) -> rusqlite::Result<IdentityKey> {
    identity_key_from_bytes(bytes).ok_or_else(|| corrupt(column))
}

/// A digest from a BLOB column.
pub(crate) fn digest_from_blob(bytes: &[u8], column: &str) -> rusqlite::Result<Digest> {
    let array: [u8; 32] = bytes.try_into().map_err(|_| corrupt(column))?;
    Ok(commonware_cryptography::sha256::Digest(array))
}

/// A record id from a BLOB column.
pub(crate) fn record_id_from_blob(bytes: &[u8], column: &str) -> rusqlite::Result<RecordId> {
    RecordId::from_slice(bytes).ok_or_else(|| corrupt(column))
}

/// A request id from a BLOB column.
pub(crate) fn request_id_from_blob(bytes: &[u8], column: &str) -> rusqlite::Result<RequestId> {
    RequestId::from_slice(bytes).ok_or_else(|| corrupt(column))
}

/// A JSON array of strings from a TEXT column.
pub(crate) fn strings_from_json(text: &str, column: &str) -> rusqlite::Result<Vec<String>> {
    serde_json::from_str(text).map_err(|_| corrupt(column))
}
