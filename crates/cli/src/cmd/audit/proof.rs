//! `custodia audit proof (SEQ | --tx TX_ID) [--at HEIGHT]`: fetches an inclusion proof from the
//! node and checks it here (DESIGN §5.7): the entry is rebuilt as its leaf, the proof checked
//! against the history's root, the state commitment recomputed from the block and that root.

use super::super::{
    client_args::{GlobalArgs, block_on, explain},
    output::{print_json, print_stdout},
};
use anyhow::{Result, bail};
use custodia_client::{Proven, verify_event_answer, verify_receipt_answer};
use custodia_protocol::{Digest, hash::to_hex};

/// Arguments of `custodia audit proof`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The audit entry (its SEQ in `custodia audit`).
    #[arg(
        value_name = "SEQ",
        required_unless_present = "tx",
        conflicts_with = "tx"
    )]
    pub seq: Option<u64>,
    /// Prove this tx's receipt instead (its tx id, 64 hex digits).
    #[arg(long, value_name = "TX_ID", value_parser = tx_id)]
    pub tx: Option<Digest>,
    /// Prove against the commitment of this block (at or after the entry's; the head's when
    /// absent).
    #[arg(long, value_name = "HEIGHT")]
    pub at: Option<u64>,
}

/// Runs `custodia audit proof`.
pub fn run(args: Args, global: &GlobalArgs) -> Result<()> {
    let client = global.client()?;
    let (what, checked, answer) = match (&args.seq, &args.tx) {
        (Some(seq), _) => {
            let proof =
                block_on(async { client.event_proof(*seq, args.at).await.map_err(explain) })?;
            let what = format!(
                "audit entry {seq} ({} at block {})",
                proof.event.kind, proof.event.height
            );
            let checked = verify_event_answer(&proof, *seq, args.at);
            (what, checked, serde_json::to_value(&proof)?)
        }
        (None, Some(tx)) => {
            let proof = block_on(async {
                client
                    .receipt_proof(&to_hex(tx), args.at)
                    .await
                    .map_err(explain)
            })?;
            let what = format!(
                "the receipt of tx {} ({} {} at block {})",
                proof.receipt.tx_id, proof.receipt.body, proof.receipt.code, proof.receipt.height
            );
            let checked = verify_receipt_answer(&proof, &to_hex(tx), args.at);
            (what, checked, serde_json::to_value(&proof)?)
        }
        (None, None) => bail!("name an audit entry (SEQ) or a tx (--tx TX_ID) to prove"),
    };
    let proven = match checked {
        Ok(proven) => proven,
        Err(error) => bail!("{what}: {error}; the node served a proof that does not hold"),
    };
    if global.json {
        return print_json(&serde_json::json!({ "verified": true, "proof": answer }));
    }
    print_stdout(&account(&what, &proven))
}

/// What a verified proof shows, for people.
fn account(what: &str, proven: &Proven) -> String {
    format!(
        "verified: {what} is leaf {} of the history committed at block {}\n  \
         state commitment {}\n  \
         (the same as another organisation's node shows in GET /v1/blocks/{}?)\n",
        proven.location,
        proven.height,
        to_hex(&proven.state_commitment),
        proven.height
    )
}

/// A tx id: 64 hex digits.
fn tx_id(text: &str) -> Result<Digest, String> {
    custodia_protocol::hash::from_hex(text)
        .ok_or_else(|| format!("{text:?} is not a tx id: write its 64 hex digits"))
}
