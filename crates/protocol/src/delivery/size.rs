//! How large a record's part of a delivery bundle can get (DESIGN §6.5), so the supervisor can
//! refuse, when it attests a record, one that no delivery could carry.
//!
//! A request's size check counts the records' sealed sizes (`max_delivery_bytes`), and a
//! `Deliver` may carry `max_deliver_sealed_bytes` = that plus [`DELIVERY_RECORD_OVERHEAD_BYTES`]
//! per record of [`MAX_REQUEST_RECORDS`]. The bundle re-serialises the provider's values the
//! way serde_json writes them, which can be longer than the provider wrote them (`1e15` becomes
//! `1000000000000000.0`). So a record is deliverable only if its entry, however its fields are
//! split into disclosed and undisclosed, takes at most its sealed size plus the allowance less
//! [`RESERVED_PER_RECORD`]. Then every bundle of every request fits: the bundle's envelope and
//! seal (146 bytes) and the commas between entries fit in what the records leave over.
//!
//! [`MAX_REQUEST_RECORDS`]: crate::params::MAX_REQUEST_RECORDS

use super::{DeliveredRecord, DeliveryError};
use crate::{
    commitment::OpenedField, hash::to_hex, params::DELIVERY_RECORD_OVERHEAD_BYTES,
    record::RecordHeader,
};

/// Bytes of its allowance each record leaves to the bundle: a comma after its entry and one
/// byte towards the envelope (`{"request_id":"req_…","records":[…]}`, 66 bytes) and the seal
/// (80 bytes) — enough once 146 records or more share them, and any request of fewer records
/// has more than 20 KiB of unused allowance.
pub const RESERVED_PER_RECORD: usize = 2;

/// The most bytes the record's entry in a bundle can take, whichever of its fields are
/// disclosed: the entry with every field disclosed, plus, for each field whose leaf digest
/// (66 bytes and a comma in JSON) is longer than its disclosure, the difference.
pub fn max_entry_bytes(
    header: &RecordHeader,
    fields: &[OpenedField],
) -> Result<usize, DeliveryError> {
    let entry = DeliveredRecord {
        record_id: header.record_id,
        provider: hex::encode(header.provider.as_ref()),
        kind: header.kind.clone(),
        commitment: to_hex(&header.commitment),
        disclosed: fields.to_vec(),
        undisclosed: Vec::new(),
    };
    let mut bytes = json_len(&entry)?;
    // An undisclosed leaf: `"<64 hex>"` and its comma.
    let leaf: usize = 64 + 2 + 1;
    for field in fields {
        let disclosed = json_len(field)? + 1;
        bytes += leaf.saturating_sub(disclosed);
    }
    // The brackets of a list that was empty, and a comma either list may gain or lose.
    Ok(bytes + 2)
}

/// Checks that every delivery of the record fits its allowance (module doc): its largest entry
/// takes at most `sealed_bytes + DELIVERY_RECORD_OVERHEAD_BYTES - RESERVED_PER_RECORD`.
pub fn check_deliverable(
    header: &RecordHeader,
    fields: &[OpenedField],
    sealed_bytes: usize,
) -> Result<(), DeliveryError> {
    let entry = max_entry_bytes(header, fields)?;
    let allowance =
        (sealed_bytes + DELIVERY_RECORD_OVERHEAD_BYTES).saturating_sub(RESERVED_PER_RECORD);
    if entry > allowance {
        return Err(DeliveryError::Undeliverable { entry, allowance });
    }
    Ok(())
}

fn json_len(value: &impl serde::Serialize) -> Result<usize, DeliveryError> {
    serde_json::to_vec(value)
        .map(|bytes| bytes.len())
        .map_err(|e| DeliveryError::Malformed(e.to_string()))
}
