//! The mempool: signed txs waiting for a block (DESIGN §7.2).
//!
//! Admission dedups by tx id, runs the stateless checks (decoding is the caller's; chain,
//! window, sizes and signature here), enforces the count and byte bounds with a clear "mempool
//! full" error — for the whole pool and for each signer's share of it, so one organisation
//! flooding its node (or its peers) cannot crowd the others out — and last runs a precheck
//! against the current state. Txs leave once applied or once
//! past their `valid_until`. Every operation is logarithmic in the pool size or linear in the
//! txs it touches: nothing scans the whole pool per tx.

use commonware_codec::EncodeSize;
use custodia_protocol::{Digest, Genesis, IdentityKey, Params, Tx, hash::to_hex, tx::TxError};
use custodia_state::Rejection;
use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    sync::Arc,
};

/// Bounds of a mempool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MempoolLimits {
    /// Most txs held.
    pub max_txs: usize,
    /// Most encoded bytes held.
    pub max_bytes: usize,
}

impl Default for MempoolLimits {
    fn default() -> Self {
        Self {
            max_txs: 200_000,
            max_bytes: 512 << 20,
        }
    }
}

/// Why a tx was not admitted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdmitError {
    /// The tx fails a stateless check.
    #[error("{0}")]
    Invalid(#[from] TxError),
    /// The tx would fail against the current state.
    #[error("the transaction would fail: {0}")]
    Rejected(Rejection),
    /// The tx is already in the mempool.
    #[error("transaction {0} is already in the mempool")]
    Duplicate(String),
    /// The mempool is at its bounds.
    #[error(
        "mempool full ({txs} txs, {bytes} bytes held; limits {max_txs} txs, {max_bytes} bytes): \
         retry once blocks have drained it"
    )]
    Full {
        /// Txs held.
        txs: usize,
        /// Bytes held.
        bytes: usize,
        /// Tx limit.
        max_txs: usize,
        /// Byte limit.
        max_bytes: usize,
    },
    /// The signer's share of the mempool is at its bounds (the rest may have room).
    #[error(
        "mempool full for {signer}: its share is {txs} txs, {bytes} bytes held of at most \
         {max_txs} txs, {max_bytes} bytes (each of the chain's {signers} organisations may hold \
         1/{signers} of the mempool): retry once blocks have drained its txs"
    )]
    ShareFull {
        /// The signer: its organisation's name, or its key (hex) if it is none.
        signer: String,
        /// Its txs held.
        txs: usize,
        /// Its bytes held.
        bytes: usize,
        /// Its tx limit.
        max_txs: usize,
        /// Its byte limit.
        max_bytes: usize,
        /// How many organisations share the mempool.
        signers: usize,
    },
    /// The node cannot check the tx right now (its state database failed).
    #[error("the node cannot check transactions right now: {0}")]
    Unavailable(String),
}

impl AdmitError {
    /// A stable machine-readable code for the API.
    pub fn code(&self) -> &'static str {
        match self {
            AdmitError::Invalid(e) => e.code(),
            AdmitError::Rejected(r) => r.code.as_str(),
            AdmitError::Duplicate(_) => "duplicate_tx",
            AdmitError::Full { .. } | AdmitError::ShareFull { .. } => "mempool_full",
            AdmitError::Unavailable(_) => "unavailable",
        }
    }

    /// Whether no honest peer gossips a tx refused so: it fails a check that depends on the tx
    /// and the genesis alone (decoding, chain, signature, sizes), which an honest node's own
    /// admission ran before it gossiped the tx. A tx outside its window, a duplicate, a full
    /// mempool or a rule's refusal depend on the state and the timing, so they are no peer's
    /// fault (DESIGN §7.3).
    pub fn is_peer_fault(&self) -> bool {
        matches!(
            self,
            AdmitError::Invalid(
                TxError::Malformed(_)
                    | TxError::WrongChain { .. }
                    | TxError::BadSignature { .. }
                    | TxError::OverLimit { .. }
                    | TxError::TooLarge { .. }
            )
        )
    }
}

/// What shows that a peer gossiping a batch is faulty (DESIGN §7.3): none of the batch is
/// admitted, and the peer is blocked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeerFault {
    /// A tx fails a check no honest node's gossip fails ([`AdmitError::is_peer_fault`]).
    #[error("{0}")]
    Tx(AdmitError),
    /// The batch's signatures do not all verify (found in one batch verification: which tx
    /// fails is not looked for, since the whole batch is refused).
    #[error("the signatures of the batch's {unverified} new txs do not all verify")]
    BadSignatures {
        /// The txs verified (those not in the mempool already).
        unverified: usize,
    },
}

impl PeerFault {
    /// The code the fault is counted by: the refused tx's, or `bad_signature`.
    pub fn code(&self) -> &'static str {
        match self {
            PeerFault::Tx(err) => err.code(),
            PeerFault::BadSignatures { .. } => "bad_signature",
        }
    }
}

/// What the caller knows of a tx's signature when it asks for admission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signature {
    /// Not checked yet: the mempool checks it.
    Unchecked,
    /// Checked (in a batch, outside the locks) and it verifies.
    Verified,
    /// Checked and it fails: refused `bad_signature` after the cheaper checks, not checked again.
    Failed,
}

/// No tx encodes to fewer bytes (chain, signer, window, nonce, body tag and id, signature).
const SMALLEST_TX_BYTES: usize = 32 + 32 + 8 + 8 + 1 + 16 + 64;

struct Entry {
    tx: Arc<Tx>,
    bytes: usize,
    seq: u64,
}

/// What one signer holds.
#[derive(Debug, Clone, Copy, Default)]
struct Held {
    txs: usize,
    bytes: usize,
}

/// How the pool is shared: each organisation of the chain (not removed) may hold `1/n` of each
/// bound; `n` follows the organisations as they are admitted and removed.
struct Shares {
    names: HashMap<IdentityKey, String>,
    max_txs: usize,
    max_bytes: usize,
    held: HashMap<IdentityKey, Held>,
}

impl Shares {
    fn new(limits: MempoolLimits, genesis: Option<&Genesis>) -> Self {
        let names: HashMap<IdentityKey, String> = genesis
            .map(|genesis| {
                genesis
                    .orgs
                    .iter()
                    .map(|org| (org.identity_key.clone(), org.name.clone()))
                    .collect()
            })
            .unwrap_or_default();
        let mut shares = Self {
            max_txs: 0,
            max_bytes: 0,
            names: HashMap::new(),
            held: HashMap::new(),
        };
        shares.share_among(limits, names);
        shares
    }

    /// Shares the bounds among `names` (what is held stays; a share now smaller than what
    /// its signer holds takes nothing more until blocks drain it).
    fn share_among(&mut self, limits: MempoolLimits, names: HashMap<IdentityKey, String>) {
        let n = names.len().max(1);
        self.max_txs = limits.max_txs.div_ceil(n);
        self.max_bytes = limits.max_bytes.div_ceil(n);
        self.names = names;
    }

    fn signers(&self) -> usize {
        self.names.len().max(1)
    }

    fn check(&self, signer: &IdentityKey, bytes: usize) -> Result<(), AdmitError> {
        let held = self.held.get(signer).copied().unwrap_or_default();
        if held.txs + 1 > self.max_txs || held.bytes.saturating_add(bytes) > self.max_bytes {
            return Err(AdmitError::ShareFull {
                signer: self
                    .names
                    .get(signer)
                    .cloned()
                    .unwrap_or_else(|| signer.to_string()),
                txs: held.txs,
                bytes: held.bytes,
                max_txs: self.max_txs,
                max_bytes: self.max_bytes,
                signers: self.signers(),
            });
        }
        Ok(())
    }

    fn add(&mut self, signer: &IdentityKey, bytes: usize) {
        let held = self.held.entry(signer.clone()).or_default();
        held.txs += 1;
        held.bytes += bytes;
    }

    fn remove(&mut self, signer: &IdentityKey, bytes: usize) {
        if let Some(held) = self.held.get_mut(signer) {
            held.txs -= 1;
            held.bytes -= bytes;
            if held.txs == 0 {
                self.held.remove(signer);
            }
        }
    }
}

/// Txs waiting for a block, in arrival order.
pub struct Mempool {
    limits: MempoolLimits,
    by_id: HashMap<Digest, Entry>,
    /// Arrival order: what proposers take first.
    by_seq: BTreeMap<u64, Digest>,
    /// Expiry order: what `evict_expired` drops first.
    by_expiry: BTreeSet<(u64, Digest)>,
    bytes: usize,
    next_seq: u64,
    shares: Shares,
}

impl Mempool {
    /// An empty mempool with these bounds, all for one signer (tests).
    pub fn new(limits: MempoolLimits) -> Self {
        Self::shared(limits, None)
    }

    /// An empty mempool with these bounds, shared by the organisations of `genesis`: each
    /// signer may hold `1/n` of the txs and of the bytes (rounded up).
    pub fn for_chain(limits: MempoolLimits, genesis: &Genesis) -> Self {
        Self::shared(limits, Some(genesis))
    }

    /// Shares the pool among the organisations `names` (by identity key) from now on.
    pub fn share_among(&mut self, names: HashMap<IdentityKey, String>) {
        self.shares.share_among(self.limits, names);
    }

    fn shared(limits: MempoolLimits, genesis: Option<&Genesis>) -> Self {
        Self {
            shares: Shares::new(limits, genesis),
            limits,
            by_id: HashMap::new(),
            by_seq: BTreeMap::new(),
            by_expiry: BTreeSet::new(),
            bytes: 0,
            next_seq: 0,
        }
    }

    /// The bounds.
    pub fn limits(&self) -> MempoolLimits {
        self.limits
    }

    /// Number of txs held.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether the pool is empty.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// Encoded bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Whether the tx with this id is held.
    pub fn contains(&self, id: &Digest) -> bool {
        self.by_id.contains_key(id)
    }

    /// Whether any tx held satisfies `test` (a scan of the whole pool: for rare questions).
    pub fn holds_any(&self, test: impl Fn(&Tx) -> bool) -> bool {
        self.by_id.values().any(|entry| test(&entry.tx))
    }

    /// Admits `tx` for inclusion at `height` or later: stateless checks (signature included),
    /// dedup and bounds, then `precheck` against the current state. Returns the tx id.
    pub fn admit(
        &mut self,
        tx: impl Into<Arc<Tx>>,
        chain: &Digest,
        params: &Params,
        height: u64,
        precheck: impl FnOnce(&Tx) -> Result<(), Rejection>,
    ) -> Result<Digest, AdmitError> {
        let tx = tx.into();
        let id = tx.id();
        self.admit_identified(
            tx,
            id,
            Signature::Unchecked,
            chain,
            params,
            height,
            precheck,
        )
        .map(|()| id)
    }

    /// [`Mempool::admit`] for a tx whose id the caller computed, and whose signature it may
    /// already have checked (in a batch, outside the locks): then that verdict is used, and the
    /// signature is not checked again.
    ///
    /// The checks run cheapest first: dedup, stateless, bounds, and the state precheck last,
    /// so a tx that passed its precheck is always held (a batch precheck relies on it).
    #[allow(clippy::too_many_arguments)]
    pub fn admit_identified(
        &mut self,
        tx: Arc<Tx>,
        id: Digest,
        signature: Signature,
        chain: &Digest,
        params: &Params,
        height: u64,
        precheck: impl FnOnce(&Tx) -> Result<(), Rejection>,
    ) -> Result<(), AdmitError> {
        if self.by_id.contains_key(&id) {
            return Err(AdmitError::Duplicate(to_hex(&id)));
        }
        match signature {
            Signature::Unchecked => tx.check_stateless(chain, params, height)?,
            Signature::Verified => tx.check_stateless_with(chain, params, height, true)?,
            Signature::Failed => tx.check_stateless_with(chain, params, height, false)?,
        }
        let bytes = tx.encode_size();
        self.check_room(bytes)?;
        self.shares.check(&tx.signer, bytes)?;
        precheck(&tx).map_err(AdmitError::Rejected)?;
        let seq = self.next_seq;
        self.next_seq += 1;
        self.by_seq.insert(seq, id);
        self.by_expiry.insert((tx.valid_until, id));
        self.bytes += bytes;
        self.shares.add(&tx.signer, bytes);
        self.by_id.insert(id, Entry { tx, bytes, seq });
        Ok(())
    }

    /// `Full` unless one more tx of `bytes` fits.
    fn check_room(&self, bytes: usize) -> Result<(), AdmitError> {
        if self.by_id.len() + 1 > self.limits.max_txs
            || self.bytes.saturating_add(bytes) > self.limits.max_bytes
        {
            return Err(AdmitError::Full {
                txs: self.by_id.len(),
                bytes: self.bytes,
                max_txs: self.limits.max_txs,
                max_bytes: self.limits.max_bytes,
            });
        }
        Ok(())
    }

    /// Drops the txs of an applied block (whether they succeeded or failed: either way they
    /// are consumed).
    pub fn remove_applied<'a>(&mut self, ids: impl IntoIterator<Item = &'a Digest>) {
        for id in ids {
            self.remove(id);
        }
    }

    /// Drops every tx that can no longer be included at `height` or later
    /// (`valid_until < height`). Returns how many were dropped.
    pub fn evict_expired(&mut self, height: u64) -> usize {
        let expired: Vec<Digest> = self
            .by_expiry
            .iter()
            .take_while(|(valid_until, _)| *valid_until < height)
            .map(|(_, id)| *id)
            .collect();
        for id in &expired {
            self.remove(id);
        }
        expired.len()
    }

    fn remove(&mut self, id: &Digest) {
        if let Some(entry) = self.by_id.remove(id) {
            self.by_seq.remove(&entry.seq);
            self.by_expiry.remove(&(entry.tx.valid_until, *id));
            self.bytes -= entry.bytes;
            self.shares.remove(&entry.tx.signer, entry.bytes);
        }
    }

    /// The txs a proposer puts in a block at `height`, oldest first: those whose window admits
    /// `height`, not in `exclude` (txs of not-yet-finalized ancestors), up to `max_txs` txs and
    /// `max_bytes` encoded bytes. The pool is unchanged.
    pub fn select(
        &self,
        height: u64,
        max_txs: usize,
        max_bytes: usize,
        max_tx_ttl: u64,
        exclude: impl Fn(&Digest) -> bool,
    ) -> Vec<Arc<Tx>> {
        let mut chosen = Vec::new();
        let mut bytes = 0usize;
        for id in self.by_seq.values() {
            if chosen.len() >= max_txs {
                break;
            }
            let Some(entry) = self.by_id.get(id) else {
                continue;
            };
            let valid_until = entry.tx.valid_until;
            if valid_until < height
                || valid_until > height.saturating_add(max_tx_ttl)
                || exclude(id)
            {
                continue;
            }
            if bytes + entry.bytes > max_bytes {
                if max_bytes - bytes < SMALLEST_TX_BYTES {
                    break;
                }
                // A smaller tx further on may still fit.
                continue;
            }
            bytes += entry.bytes;
            chosen.push(entry.tx.clone());
        }
        chosen
    }
}

#[cfg(test)]
mod tests;
