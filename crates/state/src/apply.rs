//! Applying a finalized block: every tx's rules, the expiry sweep, the replay window, receipts,
//! events, the history and the state commitment, in one SQLite transaction.

use crate::{
    State, StateError,
    event::{Event, EventKind},
    receipt::{Code, Receipt, Rejection},
    rules::{self, Ctx, Fail},
    sql::{digest_from_blob, org_to_sql},
};
use commonware_codec::Encode as _;
use custodia_protocol::{
    Block, Digest, Tx, block::tx_root_of, hash::to_hex, history::Commitment, tx::TxError,
};
use rusqlite::{Connection, OptionalExtension, params};

/// The outcome of applying one block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// The block's height.
    pub height: u64,
    /// The block's digest.
    pub digest: Digest,
    /// One receipt per tx, in block order.
    pub receipts: Vec<Receipt>,
    /// What changed, in order.
    pub events: Vec<Event>,
    /// The state commitment after the block.
    pub state_commitment: Digest,
}

impl Applied {
    /// Whether the block enacted a membership change and so scheduled a new validator set
    /// (`validator_set_scheduled`; the set is `Queries::validators` of its epoch).
    pub fn schedules_validator_set(&self) -> bool {
        self.events
            .iter()
            .any(|e| e.kind == EventKind::ValidatorSetScheduled)
    }
}

fn envelope_rejection(error: TxError) -> Rejection {
    let code = match error {
        TxError::WrongChain { .. } => Code::WrongChain,
        TxError::OutsideWindow { .. } => Code::OutsideWindow,
        TxError::TooLarge { .. } | TxError::OverLimit { .. } => Code::TooLarge,
        // Decoding and signatures are checked before a block is voted for.
        TxError::Malformed(_) | TxError::BadSignature { .. } => Code::InvalidTx,
    };
    Rejection::new(code, error.to_string())
}

impl State {
    /// Applies the finalized block that follows the last applied one and commits.
    ///
    /// Blocks must have passed [`Block::check_stateless`] (signatures are not verified again
    /// here). A block at or below the last applied height is skipped (`Ok(None)`): finalized
    /// blocks arrive at least once.
    pub fn apply(&mut self, block: &Block) -> Result<Option<Applied>, StateError> {
        self.apply_inner(block, &block.tx_ids(), true)
    }

    /// [`State::apply`] for a block whose tx ids the caller already computed (`ids[i]` is
    /// `block.txs[i].id()`), as the node's blocks carry them.
    pub fn apply_identified(
        &mut self,
        block: &Block,
        ids: &[Digest],
    ) -> Result<Option<Applied>, StateError> {
        debug_assert_eq!(ids.len(), block.txs.len());
        self.apply_inner(block, ids, true)
    }

    /// Applies a block but abandons the SQLite transaction instead of committing: what a crash
    /// just before the commit leaves behind. For recovery tests.
    #[doc(hidden)]
    pub fn apply_and_abandon(&mut self, block: &Block) -> Result<(), StateError> {
        self.apply_inner(block, &block.tx_ids(), false).map(|_| ())
    }

    fn apply_inner(
        &mut self,
        block: &Block,
        ids: &[Digest],
        commit: bool,
    ) -> Result<Option<Applied>, StateError> {
        let digest = block.digest_with_root(&tx_root_of(ids));
        if block.height <= self.height {
            return self
                .check_already_applied(block.height, &digest)
                .map(|_| None);
        }
        if block.height != self.height + 1 {
            return Err(StateError::HeightGap {
                last: self.height,
                found: block.height,
            });
        }
        if block.parent != self.last_digest {
            return Err(StateError::WrongParent {
                height: block.height,
                expected: to_hex(&self.last_digest),
                found: to_hex(&block.parent),
            });
        }

        let mut orgs = self.orgs.clone();
        let mut params = self.params;
        let db = self.conn.unchecked_transaction()?;
        let mut receipts = Vec::with_capacity(block.txs.len());
        let mut events = Vec::new();
        for (index, (tx, tx_id)) in block.txs.iter().zip(ids).enumerate() {
            let mut ctx = Ctx {
                conn: &db,
                params: &mut params,
                orgs: &mut orgs,
                height: block.height,
                tx_id: *tx_id,
                tx_index: index as u32,
                signer: &tx.signer,
                events: &mut events,
            };
            let outcome = apply_tx(&mut ctx, &self.chain, tx);
            let (code, message) = match outcome {
                Ok(()) => (Code::Ok, String::new()),
                Err(Fail::Rule(rejection)) => (rejection.code, rejection.message),
                Err(Fail::Db(e)) => return Err(e.into()),
            };
            receipts.push(Receipt {
                tx_id: *tx_id,
                height: block.height,
                index: index as u32,
                signer: tx.signer.clone(),
                body: tx.body.name().to_string(),
                code: code.as_str().to_string(),
                message,
            });
        }
        rules::end_of_block(&db, block.height, &params, &mut orgs, &mut events)?;
        // A tx with valid_until <= h can never be valid again: forget its id.
        db.prepare_cached("DELETE FROM applied_txs WHERE valid_until <= ?1")?
            .execute([block.height as i64])?;

        // The history: this block's receipts, then its events (DESIGN §5.7).
        let first_event_leaf = *self.history.leaves() + receipts.len() as u64;
        let leaves: Vec<Vec<u8>> = receipts
            .iter()
            .map(|r| r.leaf().encode())
            .chain(events.iter().map(|e| e.leaf().encode()))
            .collect();
        let (history, history_root) = crate::history::append(&db, &self.history, &leaves)?;
        let commitment = Commitment {
            height: block.height,
            block: digest,
            history_root,
        }
        .digest();
        write_receipts(&db, &receipts)?;
        write_events(&db, &events, first_event_leaf)?;
        db.prepare_cached(
            "INSERT INTO blocks (height, digest, parent, timestamp_ms, tx_count, state_commitment,
                 history_leaves, history_root)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?
        .execute(params![
            block.height as i64,
            digest.as_ref(),
            block.parent.as_ref(),
            block.timestamp_ms as i64,
            block.txs.len() as i64,
            commitment.as_ref(),
            *history.leaves() as i64,
            history_root.as_ref(),
        ])?;
        let mut put = db.prepare_cached("UPDATE meta SET value = ?2 WHERE key = ?1")?;
        put.execute(params!["last_height", block.height.to_be_bytes()])?;
        put.execute(params!["last_block", digest.as_ref()])?;
        put.execute(params![
            "last_timestamp_ms",
            block.timestamp_ms.to_be_bytes()
        ])?;
        put.execute(params!["state_commitment", commitment.as_ref()])?;
        if params != self.params {
            put.execute(params!["params", params.encode().to_vec()])?;
        }
        drop(put);
        if !commit {
            // Dropping the transaction rolls it back, as a crash before the commit would.
            return Ok(None);
        }
        db.commit()?;

        self.orgs = orgs;
        self.params = params;
        self.height = block.height;
        self.last_digest = digest;
        self.last_timestamp_ms = block.timestamp_ms;
        self.commitment = commitment;
        self.history = history;
        Ok(Some(Applied {
            height: block.height,
            digest,
            receipts,
            events,
            state_commitment: commitment,
        }))
    }

    /// A re-delivered block must be the one applied at that height: anything else means this
    /// node's state and the finalized chain disagree.
    fn check_already_applied(&self, height: u64, digest: &Digest) -> Result<(), StateError> {
        if height == 0 {
            return Ok(());
        }
        let stored: Option<Vec<u8>> = self
            .conn
            .query_row(
                "SELECT digest FROM blocks WHERE height = ?1",
                [height as i64],
                |r| r.get(0),
            )
            .optional()?;
        match stored {
            Some(bytes) if digest_from_blob(&bytes, "blocks.digest")? == *digest => Ok(()),
            Some(bytes) => Err(StateError::Corrupt(format!(
                "block {height} was applied with digest {}, but {} was delivered again",
                hex::encode(bytes),
                to_hex(digest)
            ))),
            None => Err(StateError::Corrupt(format!("block {height} is missing"))),
        }
    }
}

pub(crate) fn apply_tx(ctx: &mut Ctx<'_>, chain: &Digest, tx: &Tx) -> Result<(), Fail> {
    tx.check_envelope(chain, ctx.params, ctx.height)
        .map_err(envelope_rejection)?;
    let fresh = ctx
        .conn
        .prepare_cached("INSERT OR IGNORE INTO applied_txs (valid_until, tx_id) VALUES (?1, ?2)")?
        .execute(params![tx.valid_until as i64, ctx.tx_id.as_ref()])?;
    if fresh == 0 {
        return rules::reject(
            Code::DuplicateTx,
            format!("tx {} was already applied", to_hex(&ctx.tx_id)),
        );
    }
    rules::execute(ctx, chain, &tx.body)
}

fn write_receipts(conn: &Connection, receipts: &[Receipt]) -> rusqlite::Result<()> {
    let mut insert = conn.prepare_cached(
        "INSERT INTO receipts (height, tx_index, tx_id, signer, body, code, message)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for r in receipts {
        insert.execute(params![
            r.height as i64,
            r.index as i64,
            r.tx_id.as_ref(),
            r.signer.as_ref(),
            r.body,
            r.code,
            r.message,
        ])?;
    }
    Ok(())
}

fn write_events(conn: &Connection, events: &[Event], first_leaf: u64) -> rusqlite::Result<()> {
    let mut insert = conn.prepare_cached(
        "INSERT INTO events (height, tx_index, tx_id, kind, actor, subject, record_id, request_id,
             detail, proposal_id, leaf)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?;
    for (leaf, e) in (first_leaf..).zip(events) {
        insert.execute(params![
            e.height as i64,
            e.tx_index.map(i64::from),
            e.tx_id.as_ref().map(|d| d.as_ref().to_vec()),
            e.kind.as_str(),
            e.actor.map(org_to_sql),
            e.subject.map(org_to_sql),
            e.record_id.map(|id| id.0.to_vec()),
            e.request_id.map(|id| id.0.to_vec()),
            e.detail,
            e.proposal_id.map(|id| id.0.to_vec()),
            leaf as i64,
        ])?;
    }
    Ok(())
}
