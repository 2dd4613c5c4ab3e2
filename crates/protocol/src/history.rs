//! The history commitment (DESIGN §5.7): every receipt and every event of the chain, in order,
//! as the leaves of one Merkle mountain range (commonware-storage's MMR over SHA-256), and the
//! state commitment `C_h` over the block digest and the history's root after block h.
//!
//! A leaf is the canonical encoding of one receipt or one event ([`ReceiptLeaf`],
//! [`EventLeaf`]); block h appends its receipts in block order, then its events in order. An
//! inclusion proof of one leaf against the root of any later size is a [`Proof`] of about 25
//! digests; [`verify_leaf`] checks it with nothing but the leaf, its location and the root.

use crate::{Digest, IdentityKey, OrgId, ProposalId, RecordId, RequestId, hash::sha256};
use commonware_codec::{Decode as _, Encode as _};
use commonware_cryptography::Sha256;
use commonware_storage::merkle::{Bagging, ElementPlan, Family as _, RangePlan};
use commonware_storage::mmr::{self, Family, Location, Position, StandardHasher};

const RECEIPT_LEAF: &[u8] = b"custodia/leaf/receipt/v1";
const EVENT_LEAF: &[u8] = b"custodia/leaf/event/v1";
const STATE_DOMAIN: &[u8] = b"custodia/state/v2";

/// The MMR's hasher: SHA-256, peaks folded forward into the root.
pub type Hasher = StandardHasher<Sha256>;
/// An inclusion proof of history leaves.
pub type Proof = mmr::Proof<Digest>;
/// The history as a node keeps it in memory: its peaks only (the nodes live in the state
/// database).
pub type Mmr = mmr::mem::Mmr<Digest>;

/// The history's hasher.
pub fn hasher() -> Hasher {
    StandardHasher::new(Bagging::ForwardFold)
}

/// The most digests a proof of one leaf may carry when decoded.
pub const MAX_PROOF_DIGESTS: usize = mmr::MAX_PROOF_DIGESTS_PER_ELEMENT;

/// What `C_h` is computed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Commitment {
    /// The block's height.
    pub height: u64,
    /// The block's digest (which chains every earlier block and every tx byte).
    pub block: Digest,
    /// The history's root after the block (which commits to its leaf count).
    pub history_root: Digest,
}

impl Commitment {
    /// `C_h = SHA-256("custodia/state/v2" ‖ h (u64 BE) ‖ block digest_h ‖ history root_h)`.
    pub fn digest(&self) -> Digest {
        sha256(&[
            STATE_DOMAIN,
            &self.height.to_be_bytes(),
            self.block.as_ref(),
            self.history_root.as_ref(),
        ])
    }
}

/// One receipt as a history leaf.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceiptLeaf<'a> {
    /// Height of the block holding the tx.
    pub height: u64,
    /// The tx's position in the block.
    pub index: u32,
    /// The tx id.
    pub tx_id: &'a Digest,
    /// The key that signed the tx.
    pub signer: &'a IdentityKey,
    /// The body's name.
    pub body: &'a str,
    /// `ok` or the failure code.
    pub code: &'a str,
    /// What went wrong (empty on success).
    pub message: &'a str,
}

impl ReceiptLeaf<'_> {
    /// `"custodia/leaf/receipt/v1" ‖ height ‖ index ‖ tx id ‖ signer ‖ body ‖ code ‖ message`
    /// (integers big-endian, texts as u32 BE length ‖ UTF-8).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(128 + self.message.len());
        out.extend_from_slice(RECEIPT_LEAF);
        out.extend_from_slice(&self.height.to_be_bytes());
        out.extend_from_slice(&self.index.to_be_bytes());
        out.extend_from_slice(self.tx_id.as_ref());
        out.extend_from_slice(self.signer.as_ref());
        for text in [self.body, self.code, self.message] {
            put_text(&mut out, text);
        }
        out
    }
}

/// One event as a history leaf; organisations by their stable id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventLeaf<'a> {
    /// Height of the block.
    pub height: u64,
    /// The tx's position in the block (none for end-of-block effects).
    pub tx_index: Option<u32>,
    /// The tx that caused it.
    pub tx_id: Option<&'a Digest>,
    /// The kind's snake_case name.
    pub kind: &'a str,
    /// Who acted.
    pub actor: Option<OrgId>,
    /// Whom it concerns.
    pub subject: Option<OrgId>,
    /// The record concerned.
    pub record_id: Option<&'a RecordId>,
    /// The request concerned.
    pub request_id: Option<&'a RequestId>,
    /// A reason or a short description.
    pub detail: &'a str,
    /// The proposal concerned.
    pub proposal_id: Option<&'a ProposalId>,
}

impl EventLeaf<'_> {
    /// `"custodia/leaf/event/v1" ‖ height ‖ tx index? ‖ tx id? ‖ kind ‖ actor? ‖ subject? ‖
    /// record id? ‖ request id? ‖ detail ‖ proposal id?`, where `x?` is `0x00` when absent and
    /// `0x01 ‖ x` when present.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(160 + self.detail.len());
        out.extend_from_slice(EVENT_LEAF);
        out.extend_from_slice(&self.height.to_be_bytes());
        put_option(&mut out, self.tx_index.map(u32::to_be_bytes).as_ref());
        put_option(&mut out, self.tx_id);
        put_text(&mut out, self.kind);
        put_option(&mut out, self.actor.map(|o| o.0.to_be_bytes()).as_ref());
        put_option(&mut out, self.subject.map(|o| o.0.to_be_bytes()).as_ref());
        put_option(&mut out, self.record_id.map(|id| id.0).as_ref());
        put_option(&mut out, self.request_id.map(|id| id.0).as_ref());
        put_text(&mut out, self.detail);
        put_option(&mut out, self.proposal_id.map(|id| id.0).as_ref());
        out
    }
}

fn put_text(out: &mut Vec<u8>, text: &str) {
    out.extend_from_slice(&(text.len() as u32).to_be_bytes());
    out.extend_from_slice(text.as_bytes());
}

fn put_option(out: &mut Vec<u8>, value: Option<&impl AsRef<[u8]>>) {
    match value {
        None => out.push(0),
        Some(bytes) => {
            out.push(1);
            out.extend_from_slice(bytes.as_ref());
        }
    }
}

/// The node positions the proof of leaf `location` reads when the history has `leaves` leaves,
/// in increasing order; `None` when `location` is not below `leaves`.
pub fn proof_positions(leaves: u64, location: u64) -> Option<Vec<u64>> {
    let plan = ElementPlan::new(Location::new(leaves), Location::new(location)).ok()?;
    Some(plan.positions().into_iter().map(|p| *p).collect())
}

/// Builds the proof of leaf `location` among `leaves` from the nodes at
/// [`proof_positions`], read through `node`; `None` if a node is missing.
pub fn build_proof(
    leaves: u64,
    location: u64,
    node: impl Fn(u64) -> Option<Digest>,
) -> Option<Proof> {
    let plan = ElementPlan::new(Location::new(leaves), Location::new(location)).ok()?;
    RangePlan::from(plan)
        .build(&hasher(), 0, |pos: Position| node(*pos))
        .ok()
}

/// Whether `proof` shows that `leaf` is the history's leaf at `location` under `root`.
pub fn verify_leaf(leaf: &[u8], location: u64, proof: &Proof, root: &Digest) -> bool {
    location < *proof.leaves
        && proof.inactive_peaks == 0
        && proof.verify_element_inclusion(&hasher(), leaf, Location::new(location), root)
}

/// A proof's bytes (the codec's: leaf count, inactive peaks, digests).
pub fn proof_to_bytes(proof: &Proof) -> Vec<u8> {
    proof.encode().to_vec()
}

/// A proof from its bytes; `None` if they are not one proof of at most [`MAX_PROOF_DIGESTS`].
pub fn proof_from_bytes(bytes: &[u8]) -> Option<Proof> {
    Proof::decode_cfg(bytes::Bytes::copy_from_slice(bytes), &MAX_PROOF_DIGESTS).ok()
}

/// The positions of the nodes a history of `leaves` leaves needs to append to (its peaks),
/// oldest first: what a node reads back from its database at open.
pub fn peak_positions(leaves: u64) -> Vec<u64> {
    Family::nodes_to_pin(Location::new(leaves))
        .map(|p| *p)
        .collect()
}

/// The history of `leaves` leaves kept as its peaks (`peaks` in [`peak_positions`] order).
pub fn mmr_from_peaks(leaves: u64, peaks: Vec<Digest>) -> Option<Mmr> {
    Mmr::from_components(Vec::new(), Location::new(leaves), peaks).ok()
}
