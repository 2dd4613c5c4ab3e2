//! Records: the provider seals its fields to the supervisor with a commitment; the supervisor
//! opens a submitted record and checks it against that commitment (DESIGN §1.1 steps 1–2, §6.4).

use crate::{
    Body, Digest, EncryptionKey, EncryptionSecret, IdentityKey, RecordId,
    commitment::{FieldValue, OpenedField, record_commitment},
    params::{MAX_FIELD_NAME_BYTES, MAX_FIELDS, MAX_KIND_BYTES, MAX_TAG_CHARS, MAX_TAGS},
    seal::{RECORD_INFO, SealError, open, record_aad, seal},
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What the chain says about a record: everything but the sealed values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordHeader {
    /// The record's id.
    pub record_id: RecordId,
    /// The provider's identity key.
    pub provider: IdentityKey,
    /// The record's kind.
    pub kind: String,
    /// The field names.
    pub fields: Vec<String>,
    /// The provider's commitment.
    pub commitment: Digest,
}

/// The plaintext inside `SubmitRecord.sealed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordPayload {
    /// Every field with its salt, sorted by name.
    pub fields: Vec<OpenedField>,
}

/// A record sealed by its provider, ready to be put in a `SubmitRecord`.
#[derive(Debug, Clone)]
pub struct SealedRecord {
    /// Field names, sorted.
    pub fields: Vec<String>,
    /// The commitment.
    pub commitment: Digest,
    /// The sealed payload.
    pub sealed: Vec<u8>,
}

/// Why a record cannot be sealed, or why the supervisor refuses it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// The record has no fields.
    #[error("a record needs at least one field")]
    NoFields,
    /// The record has more than [`MAX_FIELDS`] fields.
    #[error("a record has at most {MAX_FIELDS} fields, found {0}")]
    TooManyFields(usize),
    /// A field name is not valid.
    #[error(
        "invalid field name {0:?}: use 1 to {MAX_FIELD_NAME_BYTES} letters, digits, '_', '.' or '-'"
    )]
    InvalidFieldName(String),
    /// A field name appears twice.
    #[error("field {0:?} appears more than once")]
    DuplicateField(String),
    /// The kind is empty or too long.
    #[error(
        "invalid record kind {0:?}: use 1 to {MAX_KIND_BYTES} letters, digits, '_', '.' or '-'"
    )]
    InvalidKind(String),
    /// A tag is empty, too long, or there are too many.
    #[error("invalid tags: at most {MAX_TAGS} tags of 1 to {MAX_TAG_CHARS} characters each")]
    InvalidTags,
    /// The sealed payload cannot be opened.
    #[error("cannot open the record: {0}")]
    Seal(#[from] SealError),
    /// The opened payload is not a record payload.
    #[error("the sealed record is malformed: {0}")]
    Malformed(String),
    /// The sealed field names differ from the names on the chain.
    #[error("the sealed fields {sealed:?} differ from the fields named on the chain {on_chain:?}")]
    FieldNamesMismatch {
        /// Names on the chain.
        on_chain: Vec<String>,
        /// Names inside the sealed payload.
        sealed: Vec<String>,
    },
    /// The sealed fields do not match the provider's commitment.
    #[error("the sealed fields do not match the provider's commitment")]
    CommitmentMismatch,
}

impl RecordError {
    /// A stable code (the supervisor's rejection reasons start with it).
    pub fn code(&self) -> &'static str {
        match self {
            RecordError::NoFields => "no_fields",
            RecordError::TooManyFields(_) => "too_many_fields",
            RecordError::InvalidFieldName(_) => "invalid_field_name",
            RecordError::DuplicateField(_) => "duplicate_field",
            RecordError::InvalidKind(_) => "invalid_kind",
            RecordError::InvalidTags => "invalid_tags",
            RecordError::Seal(_) => "unreadable",
            RecordError::Malformed(_) => "malformed",
            RecordError::FieldNamesMismatch { .. } => "field_names_mismatch",
            RecordError::CommitmentMismatch => "commitment_mismatch",
        }
    }
}

fn valid_token(text: &str, max: usize) -> bool {
    !text.is_empty()
        && text.len() <= max
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
}

/// Whether `name` is a valid field name: 1..=64 bytes of `[A-Za-z0-9_.-]`.
pub fn valid_field_name(name: &str) -> bool {
    valid_token(name, MAX_FIELD_NAME_BYTES)
}

/// Whether `kind` is a valid record kind: 1..=64 bytes of `[A-Za-z0-9_.-]`.
pub fn valid_kind(kind: &str) -> bool {
    valid_token(kind, MAX_KIND_BYTES)
}

/// Checks a list of field names: 1..=256, each valid, no duplicates.
pub fn check_field_names(names: &[String]) -> Result<(), RecordError> {
    if names.is_empty() {
        return Err(RecordError::NoFields);
    }
    if names.len() > MAX_FIELDS {
        return Err(RecordError::TooManyFields(names.len()));
    }
    let mut seen = std::collections::BTreeSet::new();
    for name in names {
        if !valid_field_name(name) {
            return Err(RecordError::InvalidFieldName(name.clone()));
        }
        if !seen.insert(name.as_str()) {
            return Err(RecordError::DuplicateField(name.clone()));
        }
    }
    Ok(())
}

/// Checks a record's kind and tags.
pub fn check_kind_and_tags(kind: &str, tags: &[String]) -> Result<(), RecordError> {
    if !valid_kind(kind) {
        return Err(RecordError::InvalidKind(kind.to_string()));
    }
    if tags.len() > MAX_TAGS
        || tags
            .iter()
            .any(|t| t.is_empty() || t.chars().count() > MAX_TAG_CHARS)
    {
        return Err(RecordError::InvalidTags);
    }
    Ok(())
}

/// The provider's step 1: salts every field, commits to them and seals them to the supervisor.
pub fn seal_record(
    chain: &Digest,
    record_id: &RecordId,
    kind: &str,
    provider: &IdentityKey,
    supervisor: &EncryptionKey,
    fields: BTreeMap<String, FieldValue>,
) -> Result<SealedRecord, RecordError> {
    let names: Vec<String> = fields.keys().cloned().collect();
    check_field_names(&names)?;
    if !valid_kind(kind) {
        return Err(RecordError::InvalidKind(kind.to_string()));
    }
    let opened: Vec<OpenedField> = fields
        .into_iter()
        .map(|(name, value)| OpenedField::new(name, value))
        .collect();
    let leaves: Vec<Digest> = opened.iter().map(OpenedField::leaf).collect();
    let commitment = record_commitment(record_id, kind, &leaves);
    let payload = serde_json::to_vec(&RecordPayload { fields: opened })
        .map_err(|e| RecordError::Malformed(e.to_string()))?;
    let sealed = seal(
        supervisor,
        RECORD_INFO,
        &record_aad(chain, record_id, provider),
        &payload,
    )?;
    Ok(SealedRecord {
        fields: names,
        commitment,
        sealed,
    })
}

impl SealedRecord {
    /// The `SubmitRecord` body for this sealed record.
    pub fn into_body(self, record_id: RecordId, kind: String, tags: Vec<String>) -> Body {
        Body::SubmitRecord {
            record_id,
            kind,
            tags,
            fields: self.fields,
            commitment: self.commitment,
            sealed: self.sealed.into(),
        }
    }
}

/// The supervisor's step 2: opens a submitted record and checks it against the chain (names
/// and commitment) and the consortium's rules. Returns the fields sorted by name.
pub fn open_record(
    chain: &Digest,
    supervisor: &EncryptionSecret,
    header: &RecordHeader,
    sealed: &[u8],
) -> Result<Vec<OpenedField>, RecordError> {
    check_field_names(&header.fields)?;
    let plaintext = open(
        supervisor,
        RECORD_INFO,
        &record_aad(chain, &header.record_id, &header.provider),
        sealed,
    )?;
    let payload: RecordPayload =
        serde_json::from_slice(&plaintext).map_err(|e| RecordError::Malformed(e.to_string()))?;
    let mut fields = payload.fields;
    fields.sort_by(|a, b| a.name.cmp(&b.name));
    let mut sealed_names: Vec<String> = fields.iter().map(|f| f.name.clone()).collect();
    let mut on_chain = header.fields.clone();
    on_chain.sort();
    sealed_names.dedup();
    if sealed_names != on_chain || sealed_names.len() != fields.len() {
        return Err(RecordError::FieldNamesMismatch {
            on_chain,
            sealed: fields.iter().map(|f| f.name.clone()).collect(),
        });
    }
    let leaves: Vec<Digest> = fields.iter().map(OpenedField::leaf).collect();
    if record_commitment(&header.record_id, &header.kind, &leaves) != header.commitment {
        return Err(RecordError::CommitmentMismatch);
    }
    Ok(fields)
}
