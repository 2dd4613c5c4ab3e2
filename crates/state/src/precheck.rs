//! The mempool's precheck (DESIGN §7.2): whether txs would apply against the current state.
//!
//! A [`Precheck`] runs every rule of each tx inside one SQLite savepoint that is rolled back
//! when it is dropped, so nothing it writes is ever committed. The txs that pass stay applied
//! inside the savepoint: a tx is checked as if those before it in the same precheck were
//! applied first (two submits of one record: the second is refused). One savepoint for a whole
//! batch matters under load: rolling a savepoint back makes SQLite walk its page cache, and one
//! rollback per tx was a tenth of a node's CPU (docs/BENCHMARKS.md).

use crate::{
    State, StateError,
    apply::apply_tx,
    event::Event,
    orgs::Orgs,
    receipt::Rejection,
    rules::{Ctx, Fail},
};
use custodia_protocol::{Digest, Params, Tx};
use rusqlite::Savepoint;

/// Prechecks of txs at one height, in one savepoint (see the module docs).
pub struct Precheck<'a> {
    savepoint: Savepoint<'a>,
    params: Params,
    chain: Digest,
    orgs: Orgs,
    height: u64,
    events: Vec<Event>,
}

impl State {
    /// Starts prechecking txs for inclusion at `height` (the next block's).
    pub fn precheck(&mut self, height: u64) -> Result<Precheck<'_>, StateError> {
        Ok(Precheck {
            savepoint: self.conn.savepoint()?,
            params: self.params,
            chain: self.chain,
            orgs: self.orgs.clone(),
            height,
            events: Vec::new(),
        })
    }

    /// Whether `tx` alone would apply at `height` against the current state. Signatures are
    /// not checked.
    pub fn check(&mut self, tx: &Tx, height: u64) -> Result<Result<(), Rejection>, StateError> {
        self.precheck(height)?.check(tx, &tx.id())
    }
}

impl Precheck<'_> {
    /// The height the txs are checked for.
    pub fn height(&self) -> u64 {
        self.height
    }

    /// Whether `tx` (whose id is `id`) would apply after the txs that passed before it. If it
    /// passes, its effects stay for the next checks; if not, it changed nothing. Signatures are
    /// not checked.
    pub fn check(&mut self, tx: &Tx, id: &Digest) -> Result<Result<(), Rejection>, StateError> {
        self.events.clear();
        let mut ctx = Ctx {
            conn: &self.savepoint,
            params: &mut self.params,
            orgs: &mut self.orgs,
            height: self.height,
            tx_id: *id,
            tx_index: 0,
            signer: &tx.signer,
            events: &mut self.events,
        };
        match apply_tx(&mut ctx, &self.chain, tx) {
            Ok(()) => Ok(Ok(())),
            Err(Fail::Rule(rejection)) => Ok(Err(rejection)),
            Err(Fail::Db(e)) => Err(e.into()),
        }
    }
}
