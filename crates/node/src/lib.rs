//! custodia-node: a running node (DESIGN §2, §3, §7).
//!
//! - [`engine`] wires p2p, marshal, buffered broadcast, the [`executor`], the mempool [`gossip`]
//!   and the [`epoch`] orchestrator, which runs one simplex engine per epoch; [`application`]
//!   proposes and verifies blocks.
//! - [`ledger`] is what the parts share: the world state, the [`mempool`], the applied head and
//!   the feed of executed blocks.
//! - [`workers`] act for the organisation: the supervisor attests and delivers; an `auto`
//!   approval policy decides.
//! - [`vote_gate`] keeps a node that lost its consensus journal from voting in a round it may
//!   have voted in before.

pub mod api;
pub mod application;
pub mod block;
pub mod certify;
pub mod config;
pub mod engine;
pub mod epoch;
pub mod executor;
pub mod gossip;
pub mod identity;
pub mod keyring;
pub mod ledger;
pub mod mempool;
pub mod metrics;
pub mod p2p;
pub mod ports;
pub mod run;
pub mod vote_gate;
pub mod workers;

pub use block::{ChainBlock, ChainBlockCfg};
pub use keyring::Keyring;
pub use ledger::{Executed, Head, Ledger};
pub use mempool::{AdmitError, Mempool, MempoolLimits, PeerFault, Signature};
pub use vote_gate::{GatedScheme, VoteGate};
