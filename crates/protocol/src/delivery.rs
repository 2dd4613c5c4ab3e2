//! Delivery bundles: the supervisor discloses the approved fields to the requester (step 5), and
//! the requester verifies every disclosed field against the provider's commitment (step 6).

use crate::{
    Digest, EncryptionKey, EncryptionSecret, IdentityKey, RecordId, RequestId,
    commitment::{FieldValue, OpenedField, record_commitment},
    hash::{from_hex, to_hex},
    keys::DeliverySeedKey,
    record::RecordHeader,
    seal::{DELIVERY_INFO, SealError, delivery_aad, open, seal, seal_seeded},
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

pub mod size;
pub use size::{check_deliverable, max_entry_bytes};

/// The plaintext inside `Deliver.sealed` (JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryBundle {
    /// The request delivered.
    pub request_id: RequestId,
    /// One entry per requested record, in the request's order.
    pub records: Vec<DeliveredRecord>,
}

/// One record of a delivery bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveredRecord {
    /// The record's id.
    pub record_id: RecordId,
    /// The provider's identity key (hex).
    pub provider: String,
    /// The record's kind.
    pub kind: String,
    /// The provider's commitment (hex).
    pub commitment: String,
    /// The disclosed fields with their salts.
    pub disclosed: Vec<OpenedField>,
    /// Leaf digests (hex) of the fields not disclosed.
    pub undisclosed: Vec<String>,
}

/// A record of a delivery, opened and verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifiedRecord {
    /// The record's id.
    pub record_id: RecordId,
    /// The provider's identity key (hex).
    pub provider: String,
    /// The record's kind.
    pub kind: String,
    /// The disclosed fields: name → value.
    pub fields: BTreeMap<String, FieldValue>,
}

/// Why a delivery cannot be built or does not verify. Each names what failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    /// The sealed bundle cannot be opened with the requester's key for this chain and request.
    #[error("cannot open the delivery: {0}")]
    Seal(#[from] SealError),
    /// The opened bundle is not a delivery bundle.
    #[error("the delivery bundle is malformed: {0}")]
    Malformed(String),
    /// The bundle is for another request.
    #[error("the delivery bundle is for request {found}, not {expected}")]
    WrongRequest {
        /// The request being opened.
        expected: RequestId,
        /// The request the bundle names.
        found: RequestId,
    },
    /// The bundle carries a record the request did not ask for.
    #[error("the delivery carries record {0}, which the request did not ask for")]
    UnexpectedRecord(RecordId),
    /// The bundle lacks a requested record.
    #[error("the delivery lacks requested record {0}")]
    MissingRecord(RecordId),
    /// The bundle carries a record twice.
    #[error("the delivery carries record {0} more than once")]
    DuplicateRecord(RecordId),
    /// Provider, kind or commitment differ from the chain.
    #[error("record {record_id}: the delivery's {what} differs from the chain's")]
    HeaderMismatch {
        /// The record.
        record_id: RecordId,
        /// `provider`, `kind` or `commitment`.
        what: &'static str,
    },
    /// The disclosed fields are not the approved ones.
    #[error(
        "record {record_id}: disclosed fields {disclosed:?}, but the request approved {approved:?}"
    )]
    FieldsMismatch {
        /// The record.
        record_id: RecordId,
        /// Fields the bundle disclosed.
        disclosed: Vec<String>,
        /// Fields that should be disclosed.
        approved: Vec<String>,
    },
    /// Recomputing the commitment from the disclosed fields and the undisclosed leaves does not
    /// give the provider's commitment: a value, salt or leaf was altered or substituted.
    #[error(
        "record {0}: the disclosed fields do not match the provider's commitment \
         (a value was altered or substituted)"
    )]
    CommitmentMismatch(RecordId),
    /// The supervisor's copy of a record lacks a field the chain names.
    #[error("record {0}: the opened record does not carry every field named on the chain")]
    IncompleteRecord(RecordId),
    /// A delivery of the record could take more than the request's size check allows it
    /// ([`size::check_deliverable`]).
    #[error(
        "a delivery of the record could take {entry} bytes, over the {allowance} its sealed size \
         allows: its values are written shorter than the supervisor writes them (a number such \
         as 1e15 becomes 1000000000000000.0)"
    )]
    Undeliverable {
        /// The most bytes its entry in a bundle can take.
        entry: usize,
        /// What its sealed size allows.
        allowance: usize,
    },
}

/// The fields a request discloses of a record: the requested ones it has, or all when the
/// request names none.
pub fn disclosed_names(record_fields: &[String], requested: &[String]) -> Vec<String> {
    let mut names: Vec<String> = if requested.is_empty() {
        record_fields.to_vec()
    } else {
        let requested: BTreeSet<&String> = requested.iter().collect();
        record_fields
            .iter()
            .filter(|f| requested.contains(f))
            .cloned()
            .collect()
    };
    names.sort();
    names
}

/// The supervisor's step 5: builds the bundle of an approved request from the opened records
/// (as [`crate::record::open_record`] returned them), keeping only the approved fields.
pub fn build_bundle(
    request_id: RequestId,
    requested_fields: &[String],
    records: &[(RecordHeader, Vec<OpenedField>)],
) -> Result<DeliveryBundle, DeliveryError> {
    let mut delivered = Vec::with_capacity(records.len());
    for (header, fields) in records {
        let disclose: BTreeSet<String> = disclosed_names(&header.fields, requested_fields)
            .into_iter()
            .collect();
        let by_name: BTreeMap<&str, &OpenedField> =
            fields.iter().map(|f| (f.name.as_str(), f)).collect();
        let mut disclosed = Vec::new();
        let mut undisclosed = Vec::new();
        for name in &header.fields {
            let field = by_name
                .get(name.as_str())
                .ok_or(DeliveryError::IncompleteRecord(header.record_id))?;
            if disclose.contains(name) {
                disclosed.push((*field).clone());
            } else {
                undisclosed.push(to_hex(&field.leaf()));
            }
        }
        delivered.push(DeliveredRecord {
            record_id: header.record_id,
            provider: hex::encode(header.provider.as_ref()),
            kind: header.kind.clone(),
            commitment: to_hex(&header.commitment),
            disclosed,
            undisclosed,
        });
    }
    Ok(DeliveryBundle {
        request_id,
        records: delivered,
    })
}

/// Seals a bundle to the requester, bound to chain, request and requester identity.
pub fn seal_bundle(
    chain: &Digest,
    requester: &IdentityKey,
    requester_encryption: &EncryptionKey,
    bundle: &DeliveryBundle,
) -> Result<Vec<u8>, DeliveryError> {
    let plaintext = bundle_json(bundle)?;
    Ok(seal(
        requester_encryption,
        DELIVERY_INFO,
        &delivery_aad(chain, &bundle.request_id, requester),
        &plaintext,
    )?)
}

/// HKDF `info` prefix of a delivery seed (DESIGN §7.6).
pub const DELIVERY_SEED_INFO: &[u8] = b"custodia/v1/delivery-seed";

/// The seed of the supervisor's delivery of `request_id` to `recipient` whose tx is valid
/// until `valid_until` on `chain` (DESIGN §7.6): `HKDF-SHA256(salt = none, ikm = the
/// [`DeliverySeedKey`] (32), info = "custodia/v1/delivery-seed" ‖ chain (32) ‖ request_id (16)
/// ‖ recipient's encryption key (32) ‖ valid_until (u64 BE), 32 bytes)`. The same duty in the
/// same window gives the same seed; any other chain, request, recipient or window another.
pub fn delivery_seed(
    key: &DeliverySeedKey,
    chain: &Digest,
    request_id: &RequestId,
    recipient: &EncryptionKey,
    valid_until: u64,
) -> [u8; 32] {
    let mut seed = [0u8; 32];
    hkdf::Hkdf::<sha2::Sha256>::new(None, key.expose())
        .expand_multi_info(
            &[
                DELIVERY_SEED_INFO,
                chain.as_ref(),
                request_id.as_bytes(),
                &recipient.0,
                &valid_until.to_be_bytes(),
            ],
            &mut seed,
        )
        .expect("32 bytes is a valid HKDF-SHA256 output length");
    seed
}

/// [`seal_bundle`] with the ephemeral key drawn ([`seal_seeded`]) from the
/// [`delivery_seed`] of this chain, request, recipient and `valid_until`: sealing the same
/// bundle in the same window gives the same bytes, so a re-sent `Deliver` is the same tx.
pub fn seal_bundle_seeded(
    chain: &Digest,
    requester: &IdentityKey,
    requester_encryption: &EncryptionKey,
    bundle: &DeliveryBundle,
    seed_key: &DeliverySeedKey,
    valid_until: u64,
) -> Result<Vec<u8>, DeliveryError> {
    let plaintext = bundle_json(bundle)?;
    let seed = delivery_seed(
        seed_key,
        chain,
        &bundle.request_id,
        requester_encryption,
        valid_until,
    );
    Ok(seal_seeded(
        requester_encryption,
        DELIVERY_INFO,
        &delivery_aad(chain, &bundle.request_id, requester),
        &plaintext,
        seed,
    )?)
}

fn bundle_json(bundle: &DeliveryBundle) -> Result<Vec<u8>, DeliveryError> {
    serde_json::to_vec(bundle).map_err(|e| DeliveryError::Malformed(e.to_string()))
}

/// The requester's step 6: opens a delivery and verifies every record against the chain:
/// exactly the requested records, each with the chain's provider, kind and commitment, exactly
/// the approved fields disclosed, and the commitment recomputed from the disclosed fields and
/// the undisclosed leaves equal to the provider's.
pub fn open_delivery(
    chain: &Digest,
    request_id: &RequestId,
    requester: &IdentityKey,
    secret: &EncryptionSecret,
    sealed: &[u8],
    requested_fields: &[String],
    on_chain: &[RecordHeader],
) -> Result<Vec<VerifiedRecord>, DeliveryError> {
    let plaintext = open(
        secret,
        DELIVERY_INFO,
        &delivery_aad(chain, request_id, requester),
        sealed,
    )?;
    let bundle: DeliveryBundle =
        serde_json::from_slice(&plaintext).map_err(|e| DeliveryError::Malformed(e.to_string()))?;
    verify_bundle(request_id, &bundle, requested_fields, on_chain)
}

/// Verifies an opened bundle (see [`open_delivery`]).
pub fn verify_bundle(
    request_id: &RequestId,
    bundle: &DeliveryBundle,
    requested_fields: &[String],
    on_chain: &[RecordHeader],
) -> Result<Vec<VerifiedRecord>, DeliveryError> {
    if &bundle.request_id != request_id {
        return Err(DeliveryError::WrongRequest {
            expected: *request_id,
            found: bundle.request_id,
        });
    }
    let expected: BTreeMap<RecordId, &RecordHeader> =
        on_chain.iter().map(|h| (h.record_id, h)).collect();
    let mut seen = BTreeSet::new();
    let mut verified = Vec::with_capacity(bundle.records.len());
    for record in &bundle.records {
        let header = expected
            .get(&record.record_id)
            .ok_or(DeliveryError::UnexpectedRecord(record.record_id))?;
        if !seen.insert(record.record_id) {
            return Err(DeliveryError::DuplicateRecord(record.record_id));
        }
        verified.push(verify_record(header, record, requested_fields)?);
    }
    if let Some(missing) = expected.keys().find(|id| !seen.contains(id)) {
        return Err(DeliveryError::MissingRecord(*missing));
    }
    Ok(verified)
}

fn verify_record(
    header: &RecordHeader,
    record: &DeliveredRecord,
    requested_fields: &[String],
) -> Result<VerifiedRecord, DeliveryError> {
    let record_id = header.record_id;
    let mismatch = |what| DeliveryError::HeaderMismatch { record_id, what };
    if record.provider != hex::encode(header.provider.as_ref()) {
        return Err(mismatch("provider"));
    }
    if record.kind != header.kind {
        return Err(mismatch("kind"));
    }
    if from_hex(&record.commitment) != Some(header.commitment) {
        return Err(mismatch("commitment"));
    }
    let approved = disclosed_names(&header.fields, requested_fields);
    let mut disclosed: Vec<String> = record.disclosed.iter().map(|f| f.name.clone()).collect();
    disclosed.sort();
    if disclosed != approved || record.undisclosed.len() + disclosed.len() != header.fields.len() {
        return Err(DeliveryError::FieldsMismatch {
            record_id,
            disclosed,
            approved,
        });
    }
    let mut leaves: Vec<Digest> = record.disclosed.iter().map(OpenedField::leaf).collect();
    for leaf in &record.undisclosed {
        leaves.push(from_hex(leaf).ok_or(DeliveryError::CommitmentMismatch(record_id))?);
    }
    if record_commitment(&record_id, &header.kind, &leaves) != header.commitment {
        return Err(DeliveryError::CommitmentMismatch(record_id));
    }
    Ok(VerifiedRecord {
        record_id,
        provider: record.provider.clone(),
        kind: record.kind.clone(),
        fields: record
            .disclosed
            .iter()
            .map(|f| (f.name.clone(), f.value.clone()))
            .collect(),
    })
}
