//! The audit trail (DESIGN §5.6): who did what, when, filtered and paged.

use super::{Queries, sql_int};
use crate::{
    orgs::corrupt,
    sql::{org_to_sql, record_id_from_blob, request_id_from_blob},
};
use custodia_protocol::{OrgId, ProposalId, RecordId, RequestId};
use rusqlite::ToSql;
use serde::Serialize;

/// One line of the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    /// Its position in the whole trail (increasing in chain order; a page's cursor).
    pub seq: u64,
    /// Height of the block.
    pub height: u64,
    /// The block's timestamp.
    pub timestamp_ms: u64,
    /// The tx's position, if a tx caused it.
    pub tx_index: Option<u32>,
    /// The tx id (hex), if a tx caused it.
    pub tx_id: Option<String>,
    /// What happened (an [`crate::EventKind`] name).
    pub kind: String,
    /// Who acted (org name).
    pub actor: Option<String>,
    /// Who it concerns (org name).
    pub subject: Option<String>,
    /// Record concerned.
    pub record_id: Option<RecordId>,
    /// Request concerned.
    pub request_id: Option<RequestId>,
    /// Reason or description.
    pub detail: String,
    /// Proposal concerned.
    pub proposal_id: Option<ProposalId>,
}

/// Filters of [`Queries::audit`]: entries matching any given filter (all when none).
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Entries about this record, including the requests for it.
    pub record: Option<RecordId>,
    /// Entries about this request.
    pub request: Option<RequestId>,
    /// Entries where this org acted or is concerned.
    pub org: Option<OrgId>,
    /// Entries of blocks at or above this height.
    pub from_height: Option<u64>,
    /// Entries of blocks at or below this height.
    pub to_height: Option<u64>,
    /// Entries after this `seq` (the previous page's last).
    pub after: Option<u64>,
    /// At most this many entries (0: no bound; the API always sets one).
    pub limit: u64,
}

impl Queries<'_> {
    /// A page of the audit trail: the entries matching every criterion of the filter, in
    /// chain order, after `filter.after`, at most `filter.limit`.
    pub fn audit(&self, filter: &AuditFilter) -> rusqlite::Result<Vec<AuditEntry>> {
        let mut clauses = vec!["e.seq > ?"];
        let mut args: Vec<Box<dyn ToSql>> = vec![Box::new(filter.after.map_or(-1, sql_int))];
        if let Some(record) = &filter.record {
            clauses.push(
                "(e.record_id = ? OR e.request_id IN \
                 (SELECT request_id FROM request_records WHERE record_id = ?))",
            );
            args.push(Box::new(record.0.to_vec()));
            args.push(Box::new(record.0.to_vec()));
        }
        if let Some(request) = &filter.request {
            clauses.push("e.request_id = ?");
            args.push(Box::new(request.0.to_vec()));
        }
        if let Some(org) = filter.org {
            clauses.push("(e.actor = ? OR e.subject = ?)");
            args.push(Box::new(org_to_sql(org)));
            args.push(Box::new(org_to_sql(org)));
        }
        if let Some(from) = filter.from_height {
            clauses.push("e.height >= ?");
            args.push(Box::new(sql_int(from)));
        }
        if let Some(to) = filter.to_height {
            clauses.push("e.height <= ?");
            args.push(Box::new(sql_int(to)));
        }
        args.push(Box::new(match filter.limit {
            0 => -1,
            limit => sql_int(limit),
        }));
        let sql = format!(
            "SELECT e.height, b.timestamp_ms, e.tx_index, e.tx_id, e.kind, a.name, s.name,
                    e.record_id, e.request_id, e.detail, e.seq, e.proposal_id
             FROM events e
             JOIN blocks b ON b.height = e.height
             LEFT JOIN orgs a ON a.position = e.actor
             LEFT JOIN orgs s ON s.position = e.subject
             WHERE {}
             ORDER BY e.seq
             LIMIT ?",
            clauses.join(" AND ")
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(args.iter()), |r| {
            let record: Option<Vec<u8>> = r.get(7)?;
            let request: Option<Vec<u8>> = r.get(8)?;
            Ok(AuditEntry {
                seq: r.get::<_, i64>(10)? as u64,
                height: r.get::<_, i64>(0)? as u64,
                timestamp_ms: r.get::<_, i64>(1)? as u64,
                tx_index: r.get::<_, Option<i64>>(2)?.map(|i| i as u32),
                tx_id: r.get::<_, Option<Vec<u8>>>(3)?.map(hex::encode),
                kind: r.get(4)?,
                actor: r.get(5)?,
                subject: r.get(6)?,
                record_id: record
                    .map(|b| record_id_from_blob(&b, "events.record_id"))
                    .transpose()?,
                request_id: request
                    .map(|b| request_id_from_blob(&b, "events.request_id"))
                    .transpose()?,
                detail: r.get(9)?,
                proposal_id: r
                    .get::<_, Option<Vec<u8>>>(11)?
                    .map(|b| {
                        ProposalId::from_slice(&b).ok_or_else(|| corrupt("events.proposal_id"))
                    })
                    .transpose()?,
            })
        })?;
        rows.collect()
    }
}
