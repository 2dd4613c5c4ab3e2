//! The supervisor's duties (DESIGN §7.6; §1.1 steps 2, 5): the verdict on a submitted record, and
//! the delivery of an approved request. Both open sealed records in memory only; the reasons
//! written on the chain name what failed, never a value.

use custodia_protocol::{
    Body, Digest, OrgKeys, Params, RecordId, RequestId,
    delivery::{DeliveryError, build_bundle, check_deliverable, seal_bundle_seeded},
    record::{RecordError, check_kind_and_tags, open_record},
    seal::SealError,
};
use custodia_state::{Queries, RecordRow, RecordStatus, RequestStatus, StateError};
use tracing::error;

/// Why a delivery could not be built (the request stays approved; the operator must look).
#[derive(Debug, thiserror::Error)]
pub enum DeliverError {
    /// The state could not be read.
    #[error("cannot read the state: {0}")]
    State(#[from] StateError),
    /// A record of the request is gone or its sealed payload is missing.
    #[error("record {0} of the request is not in the state")]
    MissingRecord(RecordId),
    /// The requester is not an organisation of the chain.
    #[error("the requester is not an organisation of the chain")]
    UnknownRequester,
    /// A record of the request no longer opens or verifies.
    #[error("record {record_id} cannot be opened: {code}")]
    Unreadable {
        /// The record.
        record_id: RecordId,
        /// What failed ([`RecordError::code`]).
        code: &'static str,
    },
    /// The bundle could not be built or sealed.
    #[error("cannot build the delivery: {0}")]
    Bundle(#[from] DeliveryError),
}

/// A submitted record awaiting the supervisor's verdict, read from the state.
pub struct Submitted {
    row: RecordRow,
    sealed: Vec<u8>,
}

/// Reads `record_id` if it awaits the supervisor's verdict (`None` otherwise). The verdict
/// itself ([`attestation`]) needs no state, so many can be made in parallel.
pub fn submitted(
    queries: &Queries<'_>,
    record_id: &RecordId,
) -> Result<Option<Submitted>, StateError> {
    let Some(row) = queries.record(record_id)? else {
        return Ok(None);
    };
    if row.status != RecordStatus::Submitted {
        return Ok(None);
    }
    let Some(sealed) = queries.record_sealed(record_id)? else {
        return Ok(None);
    };
    Ok(Some(Submitted { row, sealed }))
}

/// The supervisor's verdict on a submitted record: opens it and checks it. `None` when the
/// keyring holds no secret of the key the record is sealed to: the state only takes records
/// sealed to the supervisor's current key, so the keyring lost a secret and the record is not
/// at fault (logged; the verdict waits for the operator to restore the key file, DESIGN §6.6).
pub fn attestation(
    chain: &Digest,
    keys: &OrgKeys,
    params: &Params,
    record: &Submitted,
) -> Option<Body> {
    let Submitted { row, sealed } = record;
    if let Err(err @ SealError::UnknownKey(_)) = keys.opener(sealed) {
        error!(record_id = %row.record_id, %err, "cannot judge the record");
        return None;
    }
    let verdict = if sealed.len() as u64 > params.max_record_bytes {
        Err(format!(
            "the sealed record has {} bytes, over the limit of {}",
            sealed.len(),
            params.max_record_bytes
        ))
    } else if let Err(err) = check_kind_and_tags(&row.kind, &row.tags) {
        Err(reason_of(&err))
    } else {
        let header = row.header();
        keys.opener(sealed)
            .map_err(RecordError::Seal)
            .and_then(|secret| open_record(chain, secret, &header, sealed))
            .map_err(|err| reason_of(&err))
            .and_then(|fields| {
                // Refused now rather than approved and never deliverable (DESIGN §6.5).
                check_deliverable(&header, &fields, sealed.len())
                    .map(|()| fields.len())
                    .map_err(|err| format!("{err} (delivery_too_large)"))
            })
    };
    let (accepted, reason) = match verdict {
        Ok(count) => (
            true,
            format!("opened; its {count} fields match the provider's commitment"),
        ),
        Err(reason) => (false, reason),
    };
    Some(Body::AttestRecord {
        record_id: row.record_id,
        accepted,
        reason,
    })
}

/// A rejection reason for the chain: what failed, without any content of the record.
fn reason_of(err: &RecordError) -> String {
    let what = match err {
        RecordError::NoFields => "the record has no fields",
        RecordError::TooManyFields(_) => "the record has too many fields",
        RecordError::InvalidFieldName(_) => "a field name is not valid",
        RecordError::DuplicateField(_) => "a field appears more than once",
        RecordError::InvalidKind(_) => "the record's kind is not valid",
        RecordError::InvalidTags => "the record's tags are not valid",
        RecordError::Seal(_) => {
            "the sealed payload does not open with the supervisor's key for this record"
        }
        RecordError::Malformed(_) => "the opened payload is not a record",
        RecordError::FieldNamesMismatch { .. } => {
            "the sealed fields differ from the field names on the chain"
        }
        RecordError::CommitmentMismatch => {
            "the sealed fields do not match the provider's commitment"
        }
    };
    format!("{what} ({})", err.code())
}

/// The supervisor's delivery of `request_id`, or `None` when it is not awaiting one. The
/// bundle is sealed with a seed derived (HKDF, DESIGN §7.6) from the supervisor's delivery-seed
/// key, the chain, the request, the requester's encryption key and `valid_until`, so the same
/// window gives the same bytes.
pub fn delivery(
    chain: &Digest,
    keys: &OrgKeys,
    queries: &Queries<'_>,
    request_id: &RequestId,
    valid_until: u64,
) -> Result<Option<Body>, DeliverError> {
    let Some(request) = read(queries.request(request_id))? else {
        return Ok(None);
    };
    if request.status != RequestStatus::Approved {
        return Ok(None);
    }
    let mut records = Vec::with_capacity(request.record_ids.len());
    for record_id in &request.record_ids {
        let (Some(row), Some(sealed)) = (
            read(queries.record(record_id))?,
            read(queries.record_sealed(record_id))?,
        ) else {
            return Err(DeliverError::MissingRecord(*record_id));
        };
        let header = row.header();
        let fields = keys
            .opener(&sealed)
            .map_err(RecordError::Seal)
            .and_then(|secret| open_record(chain, secret, &header, &sealed))
            .map_err(|err| DeliverError::Unreadable {
                record_id: *record_id,
                code: err.code(),
            })?;
        records.push((header, fields));
    }
    let requester = read(queries.orgs())?
        .into_iter()
        .find(|org| org.id == request.requester)
        .ok_or(DeliverError::UnknownRequester)?;
    let bundle = build_bundle(*request_id, &request.fields, &records)?;
    let sealed = seal_bundle_seeded(
        chain,
        &request.requester_key,
        &requester.encryption_key,
        &bundle,
        &keys.delivery_seed_key(),
        valid_until,
    )?;
    Ok(Some(Body::Deliver {
        request_id: *request_id,
        sealed: sealed.into(),
    }))
}

/// A query's result with its error as the delivery's.
fn read<T, E: Into<StateError>>(result: Result<T, E>) -> Result<T, DeliverError> {
    result.map_err(|err| DeliverError::State(err.into()))
}
