//! From the state's rows to the API's answers (custodia-api's types): organisations by name,
//! hashes and keys as lowercase hex, statuses as the API spells them. Record views carry field
//! names, never field values.

use super::params::Directory;
use custodia_api as api;
use custodia_protocol::hash::to_hex;
use custodia_state::{
    AuditEntry, DecisionRow, DeliveryRow, Org, Receipt, RecordRow, RecordStatus, RequestRow,
    RequestStatus,
};

/// The name of the organisation whose identity key is the validator key `key` (the key itself
/// if no organisation of the state has it now).
pub(crate) fn validator_name(orgs: &[Org], key: &custodia_protocol::IdentityKey) -> String {
    orgs.iter()
        .find(|org| &org.identity_key == key)
        .map_or_else(|| key.to_string(), |org| org.name.clone())
}

/// The API's spelling of a record status.
pub(crate) fn record_status(status: RecordStatus) -> api::RecordStatus {
    match status {
        RecordStatus::Submitted => api::RecordStatus::Submitted,
        RecordStatus::Accepted => api::RecordStatus::Accepted,
        RecordStatus::Rejected => api::RecordStatus::Rejected,
    }
}

/// The state's record status of an API filter.
pub(crate) fn record_status_filter(status: api::RecordStatus) -> RecordStatus {
    match status {
        api::RecordStatus::Submitted => RecordStatus::Submitted,
        api::RecordStatus::Accepted => RecordStatus::Accepted,
        api::RecordStatus::Rejected => RecordStatus::Rejected,
    }
}

/// The API's spelling of a request status.
pub(crate) fn request_status(status: RequestStatus) -> api::RequestStatus {
    match status {
        RequestStatus::Pending => api::RequestStatus::Pending,
        RequestStatus::Approved => api::RequestStatus::Approved,
        RequestStatus::Rejected => api::RequestStatus::Rejected,
        RequestStatus::Delivered => api::RequestStatus::Delivered,
        RequestStatus::Expired => api::RequestStatus::Expired,
        RequestStatus::Cancelled => api::RequestStatus::Cancelled,
    }
}

/// The state's request status of an API filter.
pub(crate) fn request_status_filter(status: api::RequestStatus) -> RequestStatus {
    match status {
        api::RequestStatus::Pending => RequestStatus::Pending,
        api::RequestStatus::Approved => RequestStatus::Approved,
        api::RequestStatus::Rejected => RequestStatus::Rejected,
        api::RequestStatus::Delivered => RequestStatus::Delivered,
        api::RequestStatus::Expired => RequestStatus::Expired,
        api::RequestStatus::Cancelled => RequestStatus::Cancelled,
    }
}

/// A record's metadata.
pub(crate) fn record(row: RecordRow, names: &Directory) -> api::RecordView {
    api::RecordView {
        record_id: row.record_id,
        provider: names.name_of_org(row.provider),
        kind: row.kind,
        tags: row.tags,
        fields: row.fields,
        commitment: to_hex(&row.commitment),
        sealed_bytes: row.sealed_bytes,
        status: record_status(row.status),
        reason: row.reason,
        submitted_height: row.submitted_height,
        attested_height: row.attested_height,
    }
}

/// A share request.
pub(crate) fn request(row: RequestRow, names: &Directory) -> api::RequestView {
    api::RequestView {
        request_id: row.request_id,
        requester: names.name_of_org(row.requester),
        record_ids: row.record_ids,
        fields: row.fields,
        purpose: row.purpose,
        ttl: row.ttl,
        created_height: row.created_height,
        expires_height: row.expires_height,
        status: request_status(row.status),
        status_height: row.status_height,
        reason: row.reason,
    }
}

/// A required approver's decision.
pub(crate) fn decision(row: DecisionRow, names: &Directory) -> api::Decision {
    api::Decision {
        org: names.name_of_org(row.org),
        decision: match row.approved {
            None => api::DecisionState::Pending,
            Some(true) => api::DecisionState::Approved,
            Some(false) => api::DecisionState::Rejected,
        },
        reason: row.reason,
        height: row.height,
    }
}

/// A request's delivery (sealed to the requester: only its node can open it).
pub(crate) fn delivery(row: &DeliveryRow) -> api::DeliveryView {
    api::DeliveryView {
        height: row.height,
        tx_id: to_hex(&row.tx_id),
        sealed_bytes: row.sealed.len() as u64,
    }
}

/// The outcome of a tx in a finalized block.
pub(crate) fn receipt(receipt: Receipt) -> api::Receipt {
    api::Receipt {
        tx_id: to_hex(&receipt.tx_id),
        height: receipt.height,
        index: receipt.index,
        signer: hex::encode(receipt.signer.as_ref()),
        body: receipt.body,
        code: receipt.code,
        message: receipt.message,
    }
}

/// An event as its history leaf holds it.
pub(crate) fn proven_event(seq: u64, event: custodia_state::Event) -> api::ProvenEvent {
    api::ProvenEvent {
        seq,
        height: event.height,
        tx_index: event.tx_index,
        tx_id: event.tx_id.as_ref().map(to_hex),
        kind: event.kind.as_str().to_string(),
        actor: event.actor.map(|org| org.0),
        subject: event.subject.map(|org| org.0),
        record_id: event.record_id,
        request_id: event.request_id,
        detail: event.detail,
        proposal_id: event.proposal_id,
    }
}

/// One line of the audit trail.
pub(crate) fn audit_entry(entry: AuditEntry) -> api::AuditEntry {
    api::AuditEntry {
        seq: entry.seq,
        height: entry.height,
        timestamp_ms: entry.timestamp_ms,
        tx_index: entry.tx_index,
        tx_id: entry.tx_id,
        kind: entry.kind,
        actor: entry.actor,
        subject: entry.subject,
        record_id: entry.record_id,
        request_id: entry.request_id,
        detail: entry.detail,
        proposal_id: entry.proposal_id,
    }
}
