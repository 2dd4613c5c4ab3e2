//! Inclusion proofs of the history (DESIGN §5.7): where a receipt or an event sits among the
//! history's leaves, and its proof against the state commitment of a later block.

use super::{BlockRow, Queries};
use crate::{
    Event, EventKind, Receipt, StateError,
    history::{self, leaves_at},
    orgs::corrupt,
    sql::{digest_from_blob, org_from_sql, record_id_from_blob, request_id_from_blob},
};
use custodia_protocol::{Digest, ProposalId, history::Proof};
use rusqlite::OptionalExtension;

/// A leaf's proof against the commitment of block `at.height`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryProof {
    /// The leaf's location (0-based, chain order).
    pub location: u64,
    /// The proof against `at.history_root`.
    pub proof: Proof,
    /// The block whose commitment the proof is checked against.
    pub at: BlockRow,
}

impl Queries<'_> {
    /// The event at `seq` of the audit trail and its leaf's location.
    pub fn event_leaf(&self, seq: u64) -> Result<Option<(Event, u64)>, StateError> {
        let row = self
            .conn
            .prepare_cached(
                "SELECT height, tx_index, tx_id, kind, actor, subject, record_id, request_id,
                        detail, proposal_id, leaf
                 FROM events WHERE seq = ?1",
            )?
            .query_row([seq as i64], |r| {
                let kind: String = r.get(3)?;
                let event = Event {
                    height: r.get::<_, i64>(0)? as u64,
                    tx_index: r.get::<_, Option<i64>>(1)?.map(|i| i as u32),
                    tx_id: r
                        .get::<_, Option<Vec<u8>>>(2)?
                        .map(|b| digest_from_blob(&b, "events.tx_id"))
                        .transpose()?,
                    kind: EventKind::parse(&kind).ok_or_else(|| corrupt("events.kind"))?,
                    actor: r
                        .get::<_, Option<i64>>(4)?
                        .map(|o| org_from_sql(o, "events.actor"))
                        .transpose()?,
                    subject: r
                        .get::<_, Option<i64>>(5)?
                        .map(|o| org_from_sql(o, "events.subject"))
                        .transpose()?,
                    record_id: r
                        .get::<_, Option<Vec<u8>>>(6)?
                        .map(|b| record_id_from_blob(&b, "events.record_id"))
                        .transpose()?,
                    request_id: r
                        .get::<_, Option<Vec<u8>>>(7)?
                        .map(|b| request_id_from_blob(&b, "events.request_id"))
                        .transpose()?,
                    detail: r.get(8)?,
                    proposal_id: r
                        .get::<_, Option<Vec<u8>>>(9)?
                        .map(|b| {
                            ProposalId::from_slice(&b).ok_or_else(|| corrupt("events.proposal_id"))
                        })
                        .transpose()?,
                };
                Ok((event, r.get::<_, i64>(10)? as u64))
            })
            .optional()?;
        Ok(row)
    }

    /// The receipt of a tx (its first inclusion) and its leaf's location.
    pub fn receipt_leaf(&self, tx_id: &Digest) -> Result<Option<(Receipt, u64)>, StateError> {
        let Some(receipt) = self.receipt(tx_id)? else {
            return Ok(None);
        };
        let previous = receipt
            .height
            .checked_sub(1)
            .ok_or_else(|| corrupt("receipts.height"))?;
        let before = leaves_at(self.conn, Some(previous))?
            .ok_or_else(|| corrupt("blocks.history_leaves"))?;
        let location = before + u64::from(receipt.index);
        Ok(Some((receipt, location)))
    }

    /// The proof of leaf `location` against the commitment of block `at` (the last applied
    /// block when `None`); `None` when no block `at` was applied or the leaf was appended after
    /// it.
    pub fn history_proof(
        &self,
        location: u64,
        at: Option<u64>,
    ) -> Result<Option<HistoryProof>, StateError> {
        let at = match at {
            Some(at) => at,
            None => self.head()?.0,
        };
        let Some(block) = self.block(at)? else {
            return Ok(None);
        };
        if location >= block.history_leaves {
            return Ok(None);
        }
        let proof = history::proof(self.conn, block.history_leaves, location)?;
        Ok(Some(HistoryProof {
            location,
            proof,
            at: block,
        }))
    }
}
