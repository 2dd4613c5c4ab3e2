//! The limits that decoding enforces on a tx's body (DESIGN §4.1, §4.4), checked on a body
//! before it is signed or admitted: a tx this node admits is one every peer can decode.

use crate::{
    params::{
        MAX_FIELD_NAME_BYTES, MAX_FIELDS, MAX_KIND_BYTES, MAX_PURPOSE_CHARS, MAX_REASON_CHARS,
        MAX_REQUEST_RECORDS, MAX_TAG_CHARS, MAX_TAGS,
    },
    tx::{Body, TxError},
};

impl Body {
    /// Checks every count and length that [`Body`]'s decoder bounds (the sealed payloads'
    /// sizes, which depend on the chain's parameters, are checked by `Tx::check_envelope`).
    pub fn check_limits(&self) -> Result<(), TxError> {
        match self {
            Body::SubmitRecord {
                kind, tags, fields, ..
            } => {
                bytes("record kind", kind, MAX_KIND_BYTES)?;
                items("tags", tags.len(), MAX_TAGS)?;
                for tag in tags {
                    chars("a tag", tag, MAX_TAG_CHARS)?;
                }
                field_names(fields)
            }
            Body::AttestRecord { reason, .. }
            | Body::Decide { reason, .. }
            | Body::SetOrgStatus { reason, .. }
            | Body::Vote { reason, .. } => chars("the reason", reason, MAX_REASON_CHARS),
            Body::RequestShare {
                record_ids,
                fields,
                purpose,
                ..
            } => {
                items(
                    "the requested records",
                    record_ids.len(),
                    MAX_REQUEST_RECORDS,
                )?;
                field_names(fields)?;
                chars("the purpose", purpose, MAX_PURPOSE_CHARS)
            }
            Body::Propose { change, .. } => match change {
                crate::Change::AddMember(org) => {
                    bytes(
                        "the member's name",
                        &org.name,
                        crate::params::MAX_ORG_NAME_BYTES,
                    )?;
                    bytes(
                        "the p2p address",
                        &org.p2p,
                        crate::params::MAX_ADDRESS_BYTES,
                    )?;
                    bytes(
                        "the api address",
                        &org.api,
                        crate::params::MAX_ADDRESS_BYTES,
                    )
                }
                crate::Change::RemoveMember { .. } => Ok(()),
                crate::Change::ChangeParams(changes) => items(
                    "the parameter changes",
                    changes.len(),
                    crate::governance::MAX_PARAM_CHANGES,
                ),
            },
            Body::Deliver { .. }
            | Body::Cancel { .. }
            | Body::RotateKeys { .. }
            | Body::RotateIdentity { .. } => Ok(()),
        }
    }
}

fn field_names(fields: &[String]) -> Result<(), TxError> {
    items("field names", fields.len(), MAX_FIELDS)?;
    for field in fields {
        bytes("a field name", field, MAX_FIELD_NAME_BYTES)?;
    }
    Ok(())
}

fn over(what: &'static str, found: usize, max: usize, unit: &'static str) -> Result<(), TxError> {
    if found > max {
        return Err(TxError::OverLimit {
            what,
            found,
            max,
            unit,
        });
    }
    Ok(())
}

fn items(what: &'static str, found: usize, max: usize) -> Result<(), TxError> {
    over(what, found, max, "items")
}

fn bytes(what: &'static str, text: &str, max: usize) -> Result<(), TxError> {
    over(what, text.len(), max, "bytes")
}

fn chars(what: &'static str, text: &str, max: usize) -> Result<(), TxError> {
    // A text of at most `max` bytes has at most `max` characters: count only when it matters.
    if text.len() <= max {
        return Ok(());
    }
    over(what, text.chars().count(), max, "characters")
}
