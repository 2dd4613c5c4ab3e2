//! Chain parameters fixed in genesis, and the protocol's fixed limits.

use serde::{Deserialize, Serialize};

/// Most distinct field names a record may carry.
pub const MAX_FIELDS: usize = 256;
/// Most records one request may name.
pub const MAX_REQUEST_RECORDS: usize = 256;
/// Longest field name, in bytes.
pub const MAX_FIELD_NAME_BYTES: usize = 64;
/// Longest record kind, in bytes.
pub const MAX_KIND_BYTES: usize = 64;
/// Most tags on a record.
pub const MAX_TAGS: usize = 16;
/// Longest tag, in characters (Unicode scalar values, as JSON Schema counts a string's length).
pub const MAX_TAG_CHARS: usize = 64;
/// Longest request purpose, in characters.
pub const MAX_PURPOSE_CHARS: usize = 1024;
/// Longest verdict or decision reason, in characters.
pub const MAX_REASON_CHARS: usize = 1024;
/// Most UTF-8 bytes of one character: a text of `n` characters is decoded from at most
/// `n * MAX_UTF8_BYTES` bytes.
pub const MAX_UTF8_BYTES: usize = 4;
/// Longest organisation name, in bytes.
pub const MAX_ORG_NAME_BYTES: usize = 64;
/// Longest chain id, in bytes.
pub const MAX_CHAIN_ID_BYTES: usize = 64;
/// Longest network address text (`host:port`), in bytes.
pub const MAX_ADDRESS_BYTES: usize = 256;
/// Most organisations in a genesis.
pub const MAX_ORGS: usize = 1024;
/// Allowance per record in a delivery bundle for its metadata and up to [`MAX_FIELDS`] leaf
/// digests in hex.
pub const DELIVERY_RECORD_OVERHEAD_BYTES: usize = 20 * 1024;
/// Overhead of a sealed payload: the recipient's 32-byte encryption key, HPKE's 32-byte
/// encapsulated key and the 16-byte tag.
pub const SEAL_OVERHEAD_BYTES: usize = 80;

/// Parameters of one chain, fixed in its genesis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Params {
    /// A tx is valid at height h only if `h <= valid_until <= h + max_tx_ttl`.
    pub max_tx_ttl: u64,
    /// Largest sealed payload of a `SubmitRecord`, in bytes.
    pub max_record_bytes: u64,
    /// Largest sum of the sealed sizes of the records of one request, in bytes.
    pub max_delivery_bytes: u64,
    /// Longest a request may stay open, in blocks.
    pub max_request_ttl: u64,
    /// Most txs in one block.
    pub max_block_txs: u64,
    /// Largest encoded block, in bytes.
    pub max_block_bytes: u64,
    /// Longest a governance proposal may stay open, in blocks (changeable by a proposal).
    pub max_proposal_ttl: u64,
    /// A proposal is enacted once the supervisor and more than this percentage of the counted
    /// members approve (DESIGN §4.10; 0..=99, default 50: more than half; changeable).
    pub governance_percent: u64,
    /// Blocks per consensus epoch (DESIGN §3.2; fixed forever). Epoch `e` is the heights
    /// `e·L ..= (e+1)·L − 1`; the validator set may change only between epochs.
    pub epoch_length: u64,
    /// Most validators an epoch may have (DESIGN §3.2; fixed forever): sizes the p2p peer
    /// sets, messages and queues, and bounds the organisations of the genesis and of every
    /// validator set a change would make.
    pub max_validators: u64,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            max_tx_ttl: 600,
            max_record_bytes: 1 << 20,
            max_delivery_bytes: 8 << 20,
            max_request_ttl: 100_000,
            max_block_txs: 20_000,
            max_block_bytes: 16 << 20,
            max_proposal_ttl: 100_000,
            governance_percent: 50,
            epoch_length: 1_000,
            max_validators: 10,
        }
    }
}

impl Params {
    /// Decodes parameters from all of `bytes` (as the state stores them).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, commonware_codec::Error> {
        use commonware_codec::DecodeExt as _;
        Self::decode(bytes::Bytes::copy_from_slice(bytes))
    }

    /// Largest sealed payload of a `Deliver`. The bundle carries at most the fields and salts
    /// the records' sealed payloads carry (bounded by `max_delivery_bytes`), plus per record its
    /// metadata and the leaf digests of the undisclosed fields.
    pub fn max_deliver_sealed_bytes(&self) -> u64 {
        self.max_delivery_bytes
            .saturating_add((MAX_REQUEST_RECORDS * DELIVERY_RECORD_OVERHEAD_BYTES) as u64)
    }

    /// Checks that the parameters make sense together; the error names the parameter.
    pub fn validate(&self) -> Result<(), String> {
        let positive = [
            ("max_tx_ttl", self.max_tx_ttl),
            ("max_record_bytes", self.max_record_bytes),
            ("max_delivery_bytes", self.max_delivery_bytes),
            ("max_request_ttl", self.max_request_ttl),
            ("max_block_txs", self.max_block_txs),
            ("max_block_bytes", self.max_block_bytes),
            ("max_proposal_ttl", self.max_proposal_ttl),
            ("epoch_length", self.epoch_length),
            ("max_validators", self.max_validators),
        ];
        for (name, value) in positive {
            if value == 0 {
                return Err(format!("params.{name} must be greater than 0"));
            }
        }
        // Every length in the codec is a u32.
        let max_len = u32::MAX as u64 / 4;
        for (name, value) in [
            ("max_record_bytes", self.max_record_bytes),
            ("max_delivery_bytes", self.max_delivery_bytes),
            ("max_block_bytes", self.max_block_bytes),
            ("max_block_txs", self.max_block_txs),
        ] {
            if value > max_len {
                return Err(format!("params.{name} must be at most {max_len}"));
            }
        }
        if self.max_deliver_sealed_bytes() > self.max_block_bytes {
            return Err(format!(
                "params.max_block_bytes ({}) must hold a delivery of params.max_delivery_bytes \
                 (needs at least {})",
                self.max_block_bytes,
                self.max_deliver_sealed_bytes()
            ));
        }
        Ok(())
    }
}
