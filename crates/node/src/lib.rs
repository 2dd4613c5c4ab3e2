//! custodia-node: a running node (DESIGN §2, §7).
//!
//! Today it holds the [`mempool`]; the consensus and p2p wiring, the executor, the role workers
//! and the REST API arrive with the node issue.

pub mod mempool;

pub use mempool::{AdmitError, Mempool, MempoolLimits};
