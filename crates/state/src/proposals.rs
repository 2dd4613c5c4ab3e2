//! Queries of governance proposals and their votes (DESIGN §4.10).

use crate::{Queries, orgs::corrupt};
use custodia_protocol::{Change, OrgId, ProposalId};
use rusqlite::{OptionalExtension, Row};

/// A proposal as the state holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProposalRow {
    /// Its id.
    pub proposal_id: ProposalId,
    /// Who proposed it.
    pub proposer: OrgId,
    /// What it changes.
    pub change: Change,
    /// The change in words, as the audit trail has it.
    pub description: String,
    /// The organisation a removal names, or an enacted addition created.
    pub target: Option<OrgId>,
    /// Its ttl, in blocks.
    pub ttl: u64,
    /// Height of the `Propose`.
    pub created_height: u64,
    /// It expires at the end of this block unless decided.
    pub expires_height: u64,
    /// `open`, `enacted`, `rejected` or `expired`.
    pub status: String,
    /// Height of the last status change.
    pub status_height: u64,
    /// Once enacted: the height its change is (or was) in effect from.
    pub effective_height: Option<u64>,
}

/// One organisation's vote on a proposal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoteRow {
    /// The voter.
    pub org: OrgId,
    /// For or against.
    pub approve: bool,
    /// Why.
    pub reason: String,
    /// Height of the vote.
    pub height: u64,
}

const COLUMNS: &str = "proposal_id, proposer, change, description, target, ttl, created_height, \
     expires_height, status, status_height, effective_height";

fn height(value: i64) -> u64 {
    value.max(0) as u64
}

fn org_id(value: i64, column: &str) -> rusqlite::Result<OrgId> {
    u32::try_from(value).map(OrgId).map_err(|_| corrupt(column))
}

fn proposal_row(r: &Row<'_>) -> rusqlite::Result<ProposalRow> {
    let id: Vec<u8> = r.get(0)?;
    let change: Vec<u8> = r.get(2)?;
    Ok(ProposalRow {
        proposal_id: ProposalId::from_slice(&id).ok_or_else(|| corrupt("proposals.proposal_id"))?,
        proposer: org_id(r.get(1)?, "proposals.proposer")?,
        change: Change::from_bytes(&change).map_err(|_| corrupt("proposals.change"))?,
        description: r.get(3)?,
        target: r
            .get::<_, Option<i64>>(4)?
            .map(|t| org_id(t, "proposals.target"))
            .transpose()?,
        ttl: height(r.get(5)?),
        created_height: height(r.get(6)?),
        expires_height: height(r.get(7)?),
        status: r.get(8)?,
        status_height: height(r.get(9)?),
        effective_height: r.get::<_, Option<i64>>(10)?.map(height),
    })
}

impl Queries<'_> {
    /// The proposal `id`.
    pub fn proposal(&self, id: &ProposalId) -> rusqlite::Result<Option<ProposalRow>> {
        self.conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM proposals WHERE proposal_id = ?1"
            ))?
            .query_row([&id.0[..]], proposal_row)
            .optional()
    }

    /// Every proposal, or those in `status`, oldest first.
    pub fn proposals(&self, status: Option<&str>) -> rusqlite::Result<Vec<ProposalRow>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM proposals WHERE ?1 IS NULL OR status = ?1
             ORDER BY created_height, proposal_id"
        ))?;
        stmt.query_map([status], proposal_row)?.collect()
    }

    /// The votes on proposal `id`, by voter.
    pub fn votes(&self, id: &ProposalId) -> rusqlite::Result<Vec<VoteRow>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT org, approve, reason, height FROM proposal_votes WHERE proposal_id = ?1
             ORDER BY org",
        )?;
        stmt.query_map([&id.0[..]], |r| {
            Ok(VoteRow {
                org: org_id(r.get(0)?, "proposal_votes.org")?,
                approve: r.get(1)?,
                reason: r.get(2)?,
                height: height(r.get(3)?),
            })
        })?
        .collect()
    }
}
