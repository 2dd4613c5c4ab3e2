//! Read-only queries for the API, the CLI, the role workers and auditors.

use crate::{
    orgs::{Org, OrgKey, corrupt, load_org_keys, load_orgs},
    receipt::Receipt,
    sql::{
        digest_from_blob, key_from_blob, org_from_sql, org_to_sql, record_id_from_blob,
        request_id_from_blob, strings_from_json,
    },
    status::{RecordStatus, RequestStatus},
};
use custodia_protocol::{Digest, IdentityKey, OrgId, RecordId, RequestId, record::RecordHeader};
use rusqlite::{Connection, OptionalExtension, Row, ToSql};
use serde::Serialize;

mod audit;
mod proofs;
mod world;

pub use audit::{AuditEntry, AuditFilter};
pub use proofs::HistoryProof;

/// A record's metadata (never its fields).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordRow {
    /// Id.
    pub record_id: RecordId,
    /// The provider's organisation.
    #[serde(serialize_with = "crate::event::ser_org")]
    pub provider: OrgId,
    /// The identity key that signed its `SubmitRecord` (hex in JSON): what the provider's
    /// signature on the commitment is checked against, whatever keys rotate later.
    #[serde(serialize_with = "crate::receipt::ser_key")]
    pub provider_key: IdentityKey,
    /// Kind.
    pub kind: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Field names.
    pub fields: Vec<String>,
    /// Provider's commitment (hex in JSON).
    #[serde(serialize_with = "crate::receipt::ser_digest")]
    pub commitment: Digest,
    /// Size of the sealed payload.
    pub sealed_bytes: u64,
    /// Status.
    pub status: RecordStatus,
    /// The supervisor's reason.
    pub reason: Option<String>,
    /// Height of the `SubmitRecord`.
    pub submitted_height: u64,
    /// Height of the `AttestRecord`.
    pub attested_height: Option<u64>,
}

impl RecordRow {
    /// What a delivery is verified against.
    pub fn header(&self) -> RecordHeader {
        RecordHeader {
            record_id: self.record_id,
            provider: self.provider_key.clone(),
            kind: self.kind.clone(),
            fields: self.fields.clone(),
            commitment: self.commitment,
        }
    }
}

/// A request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestRow {
    /// Id.
    pub request_id: RequestId,
    /// The requester's organisation.
    #[serde(serialize_with = "crate::event::ser_org")]
    pub requester: OrgId,
    /// The identity key that signed its `RequestShare` (hex in JSON): what a delivery is bound
    /// to, whatever keys rotate later.
    #[serde(serialize_with = "crate::receipt::ser_key")]
    pub requester_key: IdentityKey,
    /// Records asked for, in order.
    pub record_ids: Vec<RecordId>,
    /// Fields asked for (empty = all).
    pub fields: Vec<String>,
    /// Purpose.
    pub purpose: String,
    /// Ttl in blocks.
    pub ttl: u64,
    /// Height of the `RequestShare`.
    pub created_height: u64,
    /// Height at whose end a still-pending request expires.
    pub expires_height: u64,
    /// Status.
    pub status: RequestStatus,
    /// Height of the last status change.
    pub status_height: u64,
    /// The rejection reason.
    pub reason: Option<String>,
}

/// One required approver of a request and its decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DecisionRow {
    /// The approver's organisation.
    #[serde(serialize_with = "crate::event::ser_org")]
    pub org: OrgId,
    /// `None` while undecided; `Some(true)` approved; `Some(false)` rejected.
    pub approved: Option<bool>,
    /// The reason given.
    pub reason: Option<String>,
    /// Height of the decision.
    pub height: Option<u64>,
}

/// A delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRow {
    /// The request delivered.
    pub request_id: RequestId,
    /// The sealed bundle.
    pub sealed: Vec<u8>,
    /// Height of the `Deliver`.
    pub height: u64,
    /// The `Deliver` tx id.
    pub tx_id: Digest,
}

/// A finalized block as the state recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockRow {
    /// Height.
    pub height: u64,
    /// Digest.
    pub digest: Digest,
    /// Parent digest.
    pub parent: Digest,
    /// Proposer's timestamp.
    pub timestamp_ms: u64,
    /// Number of txs.
    pub tx_count: u64,
    /// State commitment after the block.
    pub state_commitment: Digest,
    /// The history's leaf count after the block (DESIGN §5.7).
    pub history_leaves: u64,
    /// The history's root after the block.
    pub history_root: Digest,
}

/// Filters of [`Queries::records`]; `None` matches all.
#[derive(Debug, Clone, Default)]
pub struct RecordFilter {
    /// Only this provider's.
    pub provider: Option<OrgId>,
    /// Only this kind.
    pub kind: Option<String>,
    /// Only this status.
    pub status: Option<RecordStatus>,
    /// Skip this many.
    pub offset: u64,
    /// At most this many (0 = no limit).
    pub limit: u64,
}

/// Filters of [`Queries::requests`]; `None` matches all.
#[derive(Debug, Clone, Default)]
pub struct RequestFilter {
    /// Only this status.
    pub status: Option<RequestStatus>,
    /// Only requests where this org is the requester or a required approver.
    pub party: Option<OrgId>,
    /// Skip this many.
    pub offset: u64,
    /// At most this many (0 = no limit).
    pub limit: u64,
}

/// Read-only queries over a state connection.
pub struct Queries<'a> {
    pub(crate) conn: &'a Connection,
}

const RECORD_COLUMNS: &str = "record_id, provider, kind, tags, fields, commitment, sealed_bytes, \
     status, reason, submitted_height, attested_height, \
     (SELECT signer FROM receipts WHERE tx_id = records.submit_tx ORDER BY height LIMIT 1)";
const RECEIPT_COLUMNS: &str = "height, tx_index, tx_id, signer, body, code, message";
const REQUEST_COLUMNS: &str = "request_id, requester, fields, purpose, ttl, created_height, \
     expires_height, status, status_height, reason, \
     (SELECT signer FROM receipts WHERE tx_id = requests.create_tx ORDER BY height LIMIT 1)";

/// A count or height as SQLite's integer (heights and counts never reach 2^63).
fn sql_int(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn limit_clause(offset: u64, limit: u64) -> String {
    let limit = if limit == 0 { -1 } else { limit as i64 };
    format!(" LIMIT {limit} OFFSET {}", offset.min(i64::MAX as u64))
}

impl<'a> Queries<'a> {
    pub(crate) fn new(conn: &'a Connection) -> Self {
        Self { conn }
    }

    /// Every organisation, in genesis order.
    pub fn orgs(&self) -> rusqlite::Result<Vec<Org>> {
        load_orgs(self.conn)
    }

    /// The chain's parameters after the last committed block (DESIGN §4.10).
    pub fn params(&self) -> rusqlite::Result<custodia_protocol::Params> {
        let bytes: Vec<u8> =
            self.conn
                .query_row("SELECT value FROM meta WHERE key = 'params'", [], |r| {
                    r.get(0)
                })?;
        custodia_protocol::Params::from_bytes(&bytes).map_err(|_| corrupt("meta.params"))
    }

    /// Every key every organisation has had, by organisation, kind and height (DESIGN §5.6).
    pub fn org_keys(&self) -> rusqlite::Result<Vec<OrgKey>> {
        load_org_keys(self.conn)
    }

    /// The last applied height and the state commitment after it.
    pub fn head(&self) -> rusqlite::Result<(u64, Digest)> {
        let get = |key: &str| -> rusqlite::Result<Vec<u8>> {
            self.conn
                .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        };
        let height: [u8; 8] = get("last_height")?
            .try_into()
            .map_err(|_| corrupt("meta.last_height"))?;
        let commitment = digest_from_blob(&get("state_commitment")?, "meta.state_commitment")?;
        Ok((u64::from_be_bytes(height), commitment))
    }

    /// One record's metadata.
    pub fn record(&self, id: &RecordId) -> rusqlite::Result<Option<RecordRow>> {
        self.conn
            .prepare_cached(&format!(
                "SELECT {RECORD_COLUMNS} FROM records WHERE record_id = ?1"
            ))?
            .query_row([&id.0[..]], record_row)
            .optional()
    }

    /// One record's sealed payload (for the supervisor's node).
    pub fn record_sealed(&self, id: &RecordId) -> rusqlite::Result<Option<Vec<u8>>> {
        self.conn
            .prepare_cached("SELECT sealed FROM records WHERE record_id = ?1")?
            .query_row([&id.0[..]], |r| r.get(0))
            .optional()
    }

    /// Every record awaiting the supervisor's verdict, oldest first: its id and submission
    /// height (one pass over an index; what the supervisor's node scans for at start).
    pub fn records_awaiting_verdict(&self) -> rusqlite::Result<Vec<(RecordId, u64)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT record_id, submitted_height FROM records WHERE status = 'submitted' \
             ORDER BY submitted_height, record_id",
        )?;
        let rows = stmt.query_map([], |row| {
            let id = record_id_from_blob(&row.get::<_, Vec<u8>>(0)?, "records.record_id")?;
            Ok((id, row.get::<_, i64>(1)? as u64))
        })?;
        rows.collect()
    }

    /// Records matching `filter`, oldest first.
    pub fn records(&self, filter: &RecordFilter) -> rusqlite::Result<Vec<RecordRow>> {
        let mut clauses = Vec::new();
        let mut args: Vec<Box<dyn ToSql>> = Vec::new();
        if let Some(provider) = filter.provider {
            clauses.push("provider = ?");
            args.push(Box::new(org_to_sql(provider)));
        }
        if let Some(kind) = &filter.kind {
            clauses.push("kind = ?");
            args.push(Box::new(kind.clone()));
        }
        if let Some(status) = filter.status {
            clauses.push("status = ?");
            args.push(Box::new(status.as_str()));
        }
        let sql = format!(
            "SELECT {RECORD_COLUMNS} FROM records{} ORDER BY submitted_height, record_id{}",
            where_clause(&clauses),
            limit_clause(filter.offset, filter.limit)
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(args.iter()), record_row)?;
        rows.collect()
    }

    /// One request.
    pub fn request(&self, id: &RequestId) -> rusqlite::Result<Option<RequestRow>> {
        let row = self
            .conn
            .prepare_cached(&format!(
                "SELECT {REQUEST_COLUMNS} FROM requests WHERE request_id = ?1"
            ))?
            .query_row([&id.0[..]], request_row)
            .optional()?;
        row.map(|row| self.with_records(row)).transpose()
    }

    /// Requests matching `filter`, oldest first.
    pub fn requests(&self, filter: &RequestFilter) -> rusqlite::Result<Vec<RequestRow>> {
        let mut clauses = Vec::new();
        let mut args: Vec<Box<dyn ToSql>> = Vec::new();
        if let Some(status) = filter.status {
            clauses.push("status = ?");
            args.push(Box::new(status.as_str()));
        }
        if let Some(party) = filter.party {
            clauses.push(
                "(requester = ? OR request_id IN (SELECT request_id FROM approvals WHERE org = ?))",
            );
            args.push(Box::new(org_to_sql(party)));
            args.push(Box::new(org_to_sql(party)));
        }
        let sql = format!(
            "SELECT {REQUEST_COLUMNS} FROM requests{} ORDER BY created_height, request_id{}",
            where_clause(&clauses),
            limit_clause(filter.offset, filter.limit)
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows: Vec<RequestRow> = stmt
            .query_map(rusqlite::params_from_iter(args.iter()), request_row)?
            .collect::<rusqlite::Result<_>>()?;
        rows.into_iter().map(|row| self.with_records(row)).collect()
    }

    fn with_records(&self, mut row: RequestRow) -> rusqlite::Result<RequestRow> {
        row.record_ids = self
            .conn
            .prepare_cached(
                "SELECT record_id FROM request_records WHERE request_id = ?1 ORDER BY position",
            )?
            .query_map([&row.request_id.0[..]], |r| {
                record_id_from_blob(&r.get::<_, Vec<u8>>(0)?, "request_records.record_id")
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(row)
    }

    /// The required approvers of a request and their decisions, in id order.
    pub fn decisions(&self, id: &RequestId) -> rusqlite::Result<Vec<DecisionRow>> {
        self.conn
            .prepare_cached(
                "SELECT org, decision, reason, height FROM approvals WHERE request_id = ?1 ORDER BY org",
            )?
            .query_map([&id.0[..]], |r| {
                let decision: Option<String> = r.get(1)?;
                Ok(DecisionRow {
                    org: org_from_sql(r.get(0)?, "approvals.org")?,
                    approved: decision.map(|d| d == "approve"),
                    reason: r.get(2)?,
                    height: r.get::<_, Option<i64>>(3)?.map(|h| h as u64),
                })
            })?
            .collect()
    }

    /// A request's delivery.
    pub fn delivery(&self, id: &RequestId) -> rusqlite::Result<Option<DeliveryRow>> {
        self.conn
            .prepare_cached("SELECT sealed, height, tx_id FROM deliveries WHERE request_id = ?1")?
            .query_row([&id.0[..]], |r| {
                Ok(DeliveryRow {
                    request_id: *id,
                    sealed: r.get(0)?,
                    height: r.get::<_, i64>(1)? as u64,
                    tx_id: digest_from_blob(&r.get::<_, Vec<u8>>(2)?, "deliveries.tx_id")?,
                })
            })
            .optional()
    }

    /// The receipt of a tx (its first inclusion).
    pub fn receipt(&self, tx_id: &Digest) -> rusqlite::Result<Option<Receipt>> {
        self.conn
            .prepare_cached(&format!(
                "SELECT {RECEIPT_COLUMNS} FROM receipts WHERE tx_id = ?1 ORDER BY height, tx_index LIMIT 1"
            ))?
            .query_row([tx_id.as_ref()], receipt_row)
            .optional()
    }

    /// The receipts of the block at `height`, in block order (none for a height without a
    /// block).
    pub fn block_receipts(&self, height: u64) -> rusqlite::Result<Vec<Receipt>> {
        self.conn
            .prepare_cached(&format!(
                "SELECT {RECEIPT_COLUMNS} FROM receipts WHERE height = ?1 ORDER BY tx_index"
            ))?
            .query_map([height as i64], receipt_row)?
            .collect()
    }

    /// A finalized block's header and state commitment.
    pub fn block(&self, height: u64) -> rusqlite::Result<Option<BlockRow>> {
        self.conn
            .prepare_cached(
                "SELECT digest, parent, timestamp_ms, tx_count, state_commitment, history_leaves,
                        history_root
                 FROM blocks WHERE height = ?1",
            )?
            .query_row([height as i64], |r| {
                Ok(BlockRow {
                    height,
                    digest: digest_from_blob(&r.get::<_, Vec<u8>>(0)?, "blocks.digest")?,
                    parent: digest_from_blob(&r.get::<_, Vec<u8>>(1)?, "blocks.parent")?,
                    timestamp_ms: r.get::<_, i64>(2)? as u64,
                    tx_count: r.get::<_, i64>(3)? as u64,
                    state_commitment: digest_from_blob(
                        &r.get::<_, Vec<u8>>(4)?,
                        "blocks.state_commitment",
                    )?,
                    history_leaves: r.get::<_, i64>(5)? as u64,
                    history_root: digest_from_blob(
                        &r.get::<_, Vec<u8>>(6)?,
                        "blocks.history_root",
                    )?,
                })
            })
            .optional()
    }
}

fn where_clause(clauses: &[&str]) -> String {
    if clauses.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", clauses.join(" AND "))
    }
}

fn record_row(r: &Row<'_>) -> rusqlite::Result<RecordRow> {
    let status: String = r.get(7)?;
    Ok(RecordRow {
        record_id: record_id_from_blob(&r.get::<_, Vec<u8>>(0)?, "records.record_id")?,
        provider: org_from_sql(r.get(1)?, "records.provider")?,
        provider_key: signer_of(r, 11, "records.submit_tx")?,
        kind: r.get(2)?,
        tags: strings_from_json(&r.get::<_, String>(3)?, "records.tags")?,
        fields: strings_from_json(&r.get::<_, String>(4)?, "records.fields")?,
        commitment: digest_from_blob(&r.get::<_, Vec<u8>>(5)?, "records.commitment")?,
        sealed_bytes: r.get::<_, i64>(6)? as u64,
        status: status.parse().map_err(|_| corrupt("records.status"))?,
        reason: r.get(8)?,
        submitted_height: r.get::<_, i64>(9)? as u64,
        attested_height: r.get::<_, Option<i64>>(10)?.map(|h| h as u64),
    })
}

/// The signer of the tx whose receipt column `index` looked up (`tx` names the column).
fn signer_of(r: &Row<'_>, index: usize, tx: &str) -> rusqlite::Result<IdentityKey> {
    let signer: Option<Vec<u8>> = r.get(index)?;
    key_from_blob(
        &signer.unwrap_or_default(),
        &format!("receipts.signer of {tx}"),
    )
}

fn receipt_row(r: &Row<'_>) -> rusqlite::Result<Receipt> {
    Ok(Receipt {
        height: r.get::<_, i64>(0)? as u64,
        index: r.get::<_, i64>(1)? as u32,
        tx_id: digest_from_blob(&r.get::<_, Vec<u8>>(2)?, "receipts.tx_id")?,
        signer: key_from_blob(&r.get::<_, Vec<u8>>(3)?, "receipts.signer")?,
        body: r.get(4)?,
        code: r.get(5)?,
        message: r.get(6)?,
    })
}

fn request_row(r: &Row<'_>) -> rusqlite::Result<RequestRow> {
    let status: String = r.get(7)?;
    Ok(RequestRow {
        request_id: request_id_from_blob(&r.get::<_, Vec<u8>>(0)?, "requests.request_id")?,
        requester: org_from_sql(r.get(1)?, "requests.requester")?,
        requester_key: signer_of(r, 10, "requests.create_tx")?,
        record_ids: Vec::new(),
        fields: strings_from_json(&r.get::<_, String>(2)?, "requests.fields")?,
        purpose: r.get(3)?,
        ttl: r.get::<_, i64>(4)? as u64,
        created_height: r.get::<_, i64>(5)? as u64,
        expires_height: r.get::<_, i64>(6)? as u64,
        status: status.parse().map_err(|_| corrupt("requests.status"))?,
        status_height: r.get::<_, i64>(8)? as u64,
        reason: r.get(9)?,
    })
}
