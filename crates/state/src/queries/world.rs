//! The world digest: what two states must agree on, history aside.

use super::Queries;
use custodia_protocol::{Digest, hash::sha256};

impl Queries<'_> {
    /// A digest of the world state proper (orgs, parameters, proposals and votes, keys,
    /// validator sets, records, requests, approvals, deliveries), not of the history (blocks,
    /// receipts, events, applied tx ids). Two states with equal world digests hold the same data.
    pub fn world_digest(&self) -> rusqlite::Result<Digest> {
        let tables = [
            "SELECT identity_key, position, name, role, encryption_key, active, status_height,
                    status_reason, membership, membership_height FROM orgs ORDER BY position",
            "SELECT value FROM meta WHERE key = 'params'",
            "SELECT proposal_id, proposer, kind, change, target, ttl, created_height,
                    expires_height, status, status_height, effective_height
             FROM proposals ORDER BY proposal_id",
            "SELECT proposal_id, org, approve, reason, height FROM proposal_votes
             ORDER BY proposal_id, org",
            "SELECT org, kind, seq, key, from_height FROM org_keys ORDER BY org, kind, seq",
            "SELECT from_epoch, seat, org, identity_key, height FROM validator_sets
             ORDER BY from_epoch, seat",
            "SELECT record_id, provider, kind, tags, fields, commitment, sealed, status, reason,
                    submitted_height, attested_height FROM records ORDER BY record_id",
            "SELECT request_id, requester, fields, purpose, ttl, created_height, expires_height,
                    status, status_height, reason FROM requests ORDER BY request_id",
            "SELECT request_id, position, record_id FROM request_records ORDER BY request_id, position",
            "SELECT request_id, org, decision, reason, height FROM approvals ORDER BY request_id, org",
            "SELECT request_id, sealed, height FROM deliveries ORDER BY request_id",
        ];
        let mut buf = Vec::new();
        for sql in tables {
            buf.extend_from_slice(sql.as_bytes());
            let mut stmt = self.conn.prepare(sql)?;
            let columns = stmt.column_count();
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                for i in 0..columns {
                    let value = row.get_ref(i)?;
                    let bytes: Vec<u8> = match value {
                        rusqlite::types::ValueRef::Null => b"N".to_vec(),
                        rusqlite::types::ValueRef::Integer(v) => v.to_be_bytes().to_vec(),
                        rusqlite::types::ValueRef::Real(v) => v.to_be_bytes().to_vec(),
                        rusqlite::types::ValueRef::Text(t) | rusqlite::types::ValueRef::Blob(t) => {
                            t.to_vec()
                        }
                    };
                    buf.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
                    buf.extend_from_slice(&bytes);
                }
            }
        }
        Ok(sha256(&[b"custodia/world/v1", &buf]))
    }
}
