//! Checking an inclusion proof of the history (DESIGN §5.7) without trusting the node that
//! served it: the leaf is rebuilt from the entry's fields, the proof is checked against the
//! history's root, and the state commitment is recomputed from the block and that root. What it
//! proves is that the entry is in the history committed by `C_h`; that `C_h` is the chain's is
//! shown by comparing it with other nodes' (and, once certified, by its quorum certificate).

use crate::{EventProof, HistoryProof, ProvenEvent, ReceiptProof};
use custodia_protocol::{
    Digest, OrgId,
    hash::{from_hex, to_hex},
    history::{self, Commitment, EventLeaf, ReceiptLeaf},
    keys::identity_key_from_hex,
};

/// Why a proof does not verify: the first part that does not check out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofError(pub String);

impl std::fmt::Display for ProofError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the proof does not verify: {}", self.0)
    }
}

impl std::error::Error for ProofError {}

/// A verified proof: the commitment the entry is proven against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Proven {
    /// The leaf's location in the history.
    pub location: u64,
    /// The block whose commitment it is.
    pub height: u64,
    /// That commitment, recomputed.
    pub state_commitment: Digest,
}

/// Checks an event's proof.
pub fn verify_event(proof: &EventProof) -> Result<Proven, ProofError> {
    let e: &ProvenEvent = &proof.event;
    let tx_id = e
        .tx_id
        .as_deref()
        .map(|t| digest("the event's tx_id", t))
        .transpose()?;
    let leaf = EventLeaf {
        height: e.height,
        tx_index: e.tx_index,
        tx_id: tx_id.as_ref(),
        kind: &e.kind,
        actor: e.actor.map(OrgId),
        subject: e.subject.map(OrgId),
        record_id: e.record_id.as_ref(),
        request_id: e.request_id.as_ref(),
        detail: &e.detail,
        proposal_id: e.proposal_id.as_ref(),
    };
    verify(&leaf.encode(), e.height, &proof.proof)
}

/// Checks a receipt's proof.
pub fn verify_receipt(proof: &ReceiptProof) -> Result<Proven, ProofError> {
    let r = &proof.receipt;
    let tx_id = digest("the receipt's tx_id", &r.tx_id)?;
    let signer = identity_key_from_hex(&r.signer)
        .ok_or_else(|| ProofError("the receipt's signer is not an identity key".into()))?;
    let leaf = ReceiptLeaf {
        height: r.height,
        index: r.index,
        tx_id: &tx_id,
        signer: &signer,
        body: &r.body,
        code: &r.code,
        message: &r.message,
    };
    verify(&leaf.encode(), r.height, &proof.proof)
}

/// Checks that `proof` answers the question asked (audit entry `seq`, against block `at` when
/// given), then [`verify_event`]. A node could otherwise answer with a valid proof of something
/// else. (`seq` is the node's numbering of its trail; the leaf's location is what is proven.)
pub fn verify_event_answer(
    proof: &EventProof,
    seq: u64,
    at: Option<u64>,
) -> Result<Proven, ProofError> {
    if proof.event.seq != seq {
        return Err(ProofError(format!(
            "it is of audit entry {}, not of entry {seq} asked for",
            proof.event.seq
        )));
    }
    answers_at(&proof.proof, at)?;
    verify_event(proof)
}

/// Checks that `proof` is of the receipt of `tx_id` (against block `at` when given), then
/// [`verify_receipt`].
pub fn verify_receipt_answer(
    proof: &ReceiptProof,
    tx_id: &str,
    at: Option<u64>,
) -> Result<Proven, ProofError> {
    if !proof.receipt.tx_id.eq_ignore_ascii_case(tx_id) {
        return Err(ProofError(format!(
            "it is of the receipt of tx {}, not of tx {tx_id} asked for",
            proof.receipt.tx_id
        )));
    }
    answers_at(&proof.proof, at)?;
    verify_receipt(proof)
}

fn answers_at(proof: &HistoryProof, at: Option<u64>) -> Result<(), ProofError> {
    match at {
        Some(at) if proof.height != at => Err(ProofError(format!(
            "it is against block {}, not block {at} asked for",
            proof.height
        ))),
        _ => Ok(()),
    }
}

fn verify(leaf: &[u8], leaf_height: u64, p: &HistoryProof) -> Result<Proven, ProofError> {
    if p.height < leaf_height {
        return Err(ProofError(format!(
            "it is against block {}, before the entry's block {leaf_height}",
            p.height
        )));
    }
    let bytes = hex::decode(&p.proof).map_err(|_| ProofError("the proof is not hex".into()))?;
    let mmr_proof = history::proof_from_bytes(&bytes)
        .ok_or_else(|| ProofError("the proof's bytes are not an MMR proof".into()))?;
    let root = digest("history_root", &p.history_root)?;
    if !history::verify_leaf(leaf, p.location, &mmr_proof, &root) {
        return Err(ProofError(format!(
            "the entry is not leaf {} under history root {}",
            p.location, p.history_root
        )));
    }
    let commitment = Commitment {
        height: p.height,
        block: digest("block", &p.block)?,
        history_root: root,
    }
    .digest();
    if to_hex(&commitment) != p.state_commitment.to_ascii_lowercase() {
        return Err(ProofError(format!(
            "block {}'s digest and history root make the commitment {}, not {}",
            p.height,
            to_hex(&commitment),
            p.state_commitment
        )));
    }
    Ok(Proven {
        location: p.location,
        height: p.height,
        state_commitment: commitment,
    })
}

fn digest(what: &str, text: &str) -> Result<Digest, ProofError> {
    from_hex(text).ok_or_else(|| ProofError(format!("{what} is not a 64-digit hex digest")))
}
