//! Conversions between protocol types and SQLite columns.

use crate::orgs::corrupt;
use custodia_protocol::{
    Digest, IdentityKey, OrgId, RecordId, RequestId, keys::identity_key_from_bytes,
};

/// An identity key from a BLOB column.
pub(crate) fn key_from_blob(bytes: &[u8], column: &str) -> rusqlite::Result<IdentityKey> {
    identity_key_from_bytes(bytes).ok_or_else(|| corrupt(column))
}

/// An organisation's stable id from an INTEGER column.
pub(crate) fn org_from_sql(value: i64, column: &str) -> rusqlite::Result<OrgId> {
    u32::try_from(value).map(OrgId).map_err(|_| corrupt(column))
}

/// An organisation's stable id as an INTEGER column.
pub(crate) fn org_to_sql(org: OrgId) -> i64 {
    i64::from(org.0)
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
