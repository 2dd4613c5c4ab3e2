//! The custodia protocol: everything two parties must agree on byte for byte.
//!
//! Identifiers, transactions, blocks and genesis with their bounded binary codec; Ed25519
//! signatures under namespaces; HPKE sealing bound to chain, object and party; salted field
//! commitments; the supervisor's record check and delivery bundle; the requester's delivery
//! verification. Pure: no I/O, no clocks, no async. Randomness only where a secret is made
//! (keys, salts, nonces, HPKE encapsulation).

pub mod block;
pub mod commitment;
pub mod delivery;
pub mod encoding;
pub mod epochs;
pub mod genesis;
pub mod governance;
pub mod hash;
pub mod history;
pub mod ids;
pub mod keys;
pub mod limits;
pub mod params;
pub mod record;
pub mod rotation;
pub mod seal;
pub mod testing;
pub mod tx;

pub use block::{Block, BlockCfg};
pub use commitment::{FieldValue, OpenedField};
pub use genesis::{Genesis, GenesisOrg, Role};
pub use governance::{Change, GovernedParam};
pub use hash::Digest;
pub use ids::{IdError, OrgId, ProposalId, RecordId, RequestId};
pub use keys::{EncryptionKey, EncryptionSecret, OrgKeys, OrgPublic};
pub use params::Params;
pub use tx::{Body, Tx, TxCfg};

/// An organisation's identity key: signs transactions and consensus votes, authenticates p2p.
pub type IdentityKey = commonware_cryptography::ed25519::PublicKey;
/// The secret half of an [`IdentityKey`].
pub type IdentitySecret = commonware_cryptography::ed25519::PrivateKey;
/// An Ed25519 signature.
pub type Signature = commonware_cryptography::ed25519::Signature;

/// Namespace of transaction signatures.
pub const TX_NAMESPACE: &[u8] = b"_CUSTODIA_TX";
/// Namespace of consensus votes.
pub const CONSENSUS_NAMESPACE: &[u8] = b"_CUSTODIA_CONSENSUS";
/// Namespace of p2p handshakes.
pub const P2P_NAMESPACE: &[u8] = b"_CUSTODIA_P2P";
/// Namespace of a new identity key's proof of possession ([`rotation`]).
pub const POP_NAMESPACE: &[u8] = b"_CUSTODIA_POP";
