//! Typed async client of a custodia node's REST API (DESIGN §7.7–7.10).
//!
//! ```no_run
//! # async fn demo() -> custodia_client::Result<()> {
//! use custodia_client::{Client, NewRecord, Wait};
//! let client = Client::from_org_dir("devnet/member-a")?;
//! let record = NewRecord {
//!     kind: "claim".into(),
//!     fields: custodia_client::Fields(vec![("amount".to_string(), 1200.into())]),
//!     ..NewRecord::default()
//! };
//! let submitted = client.submit_record(&record, Wait::DEFAULT).await?;
//! let verdict = client
//!     .wait_verdict(&submitted.record_id, std::time::Duration::from_secs(30))
//!     .await?;
//! println!("{} is {}", verdict.record_id, verdict.status);
//! # Ok(())
//! # }
//! ```
//!
//! - [`client`]: [`Client`], one method per endpoint, and [`Wait`] for writes.
//! - the request bodies and answers of the API contract are custodia-api's types, re-exported
//!   here: the server builds against the same ones.
//! - [`events`]: the server-sent event stream.
//! - checking the history's inclusion proofs a node serves: [`verify_event`], [`verify_receipt`].
//! - [`error`]: [`Error`], each variant saying what to do.

pub mod client;
pub mod error;
pub mod events;

pub use client::{BATCH_CONTENT_TYPE, Client, TX_CONTENT_TYPE, Wait};
pub use custodia_api::*;
pub use error::{Error, Result};

/// Makes rustls's aws-lc-rs provider the process's default, once. reqwest is built with TLS
/// but without a provider of its own (the node and commonware already build aws-lc-rs), so a
/// `reqwest` client made without [`Client`]'s TLS settings needs this first, or it panics.
pub fn install_tls_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Err means a provider is installed already: that one serves.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    });
}
pub use events::EventStream;
