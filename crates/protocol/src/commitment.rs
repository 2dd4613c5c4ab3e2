//! Salted field commitments (selective disclosure, like SD-JWT digests; DESIGN §6.3).
//!
//! `leaf = SHA-256("custodia/field/v1" ‖ salt ‖ len‖name ‖ len‖canonical JSON value)`;
//! `commitment = SHA-256("custodia/record/v1" ‖ record_id ‖ len‖kind ‖ sorted leaves)`.
//! Lengths are 4-byte big-endian.

use crate::{Digest, RecordId, hash::sha256};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

const FIELD_DOMAIN: &[u8] = b"custodia/field/v1";
const RECORD_DOMAIN: &[u8] = b"custodia/record/v1";

/// A field's value: any JSON value, committed to in canonical form.
pub type FieldValue = serde_json::Value;

/// A 16-byte random salt that hides a field's value inside its leaf.
pub type Salt = [u8; 16];

/// A field with its salt: what the provider seals and the supervisor discloses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenedField {
    /// Field name.
    pub name: String,
    /// Salt, hex in JSON.
    #[serde(with = "crate::encoding::hex_bytes")]
    pub salt: Salt,
    /// Value.
    pub value: FieldValue,
}

impl OpenedField {
    /// A field with a fresh random salt.
    pub fn new(name: impl Into<String>, value: FieldValue) -> Self {
        Self {
            name: name.into(),
            salt: rand::random(),
            value,
        }
    }

    /// This field's leaf digest.
    pub fn leaf(&self) -> Digest {
        field_leaf(&self.salt, &self.name, &self.value)
    }
}

/// Canonical JSON of a value: object keys sorted by their UTF-8 bytes, no insignificant
/// whitespace, strings and numbers as serde_json writes them.
pub fn canonical_json(value: &FieldValue) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &FieldValue, out: &mut String) {
    match value {
        FieldValue::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let _ = write!(out, "{}", FieldValue::String(key.clone()));
                out.push(':');
                write_canonical(item, out);
            }
            out.push('}');
        }
        FieldValue::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => {
            let _ = write!(out, "{scalar}");
        }
    }
}

/// The leaf digest of one field.
pub fn field_leaf(salt: &Salt, name: &str, value: &FieldValue) -> Digest {
    let value = canonical_json(value);
    sha256(&[
        FIELD_DOMAIN,
        salt,
        &(name.len() as u32).to_be_bytes(),
        name.as_bytes(),
        &(value.len() as u32).to_be_bytes(),
        value.as_bytes(),
    ])
}

/// The record commitment over its leaves (in any order: they are sorted here).
pub fn record_commitment(record_id: &RecordId, kind: &str, leaves: &[Digest]) -> Digest {
    let mut sorted = leaves.to_vec();
    sorted.sort();
    let kind_len = (kind.len() as u32).to_be_bytes();
    let mut parts: Vec<&[u8]> = Vec::with_capacity(sorted.len() + 4);
    parts.extend([
        RECORD_DOMAIN,
        record_id.as_bytes(),
        &kind_len,
        kind.as_bytes(),
    ]);
    parts.extend(sorted.iter().map(|leaf| leaf.as_ref()));
    sha256(&parts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_json_sorts_keys_and_drops_whitespace() {
        let value: FieldValue =
            serde_json::from_str(r#"{ "b": 1, "a": [ true, null, "x" ] }"#).unwrap();
        assert_eq!(canonical_json(&value), r#"{"a":[true,null,"x"],"b":1}"#);
        assert_eq!(canonical_json(&json!("é\"")), "\"é\\\"\"");
    }

    #[test]
    fn commitment_ignores_leaf_order_but_not_content() {
        let id = RecordId([7; 16]);
        let a = OpenedField::new("a", json!(1));
        let b = OpenedField::new("b", json!("two"));
        let c1 = record_commitment(&id, "claim", &[a.leaf(), b.leaf()]);
        let c2 = record_commitment(&id, "claim", &[b.leaf(), a.leaf()]);
        assert_eq!(c1, c2);
        assert_ne!(c1, record_commitment(&id, "claims", &[a.leaf(), b.leaf()]));
        assert_ne!(
            c1,
            record_commitment(&RecordId([8; 16]), "claim", &[a.leaf(), b.leaf()])
        );
        let mut changed = b.clone();
        changed.value = json!("three");
        assert_ne!(
            c1,
            record_commitment(&id, "claim", &[a.leaf(), changed.leaf()])
        );
    }
}
