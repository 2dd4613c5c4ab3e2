//! `custodia status`: the node's chain, organisation, head, peers and mempool.

use super::{
    client_args::{GlobalArgs, block_on, explain},
    output::{key_values, print_json, print_stdout},
};
use anyhow::Result;

/// Arguments of `custodia status`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `custodia status`.
pub fn run(_args: Args, global: &GlobalArgs) -> Result<()> {
    let client = global.client()?;
    let status = block_on(async { client.status().await.map_err(explain) })?;
    if global.json {
        return print_json(&status);
    }
    print_stdout(&key_values(&[
        ("node", client.base_url().to_string()),
        ("chain", format!("{} ({})", status.chain_id, status.chain)),
        ("org", format!("{} ({})", status.org, status.role)),
        ("height", status.height.to_string()),
        ("state commitment", status.state_commitment),
        (
            "certified",
            match status.certified_height {
                0 => "no block yet".to_string(),
                height => format!("up to block {height} (custodia audit certificate)"),
            },
        ),
        ("peers", status.peers.to_string()),
        (
            "epoch",
            format!(
                "{} ({}), validators: {}",
                status.epoch,
                if status.validator {
                    "this node validates"
                } else {
                    "this node follows"
                },
                status.validators.join(", ")
            ),
        ),
        (
            "mempool",
            format!("{} txs, {} bytes", status.mempool.txs, status.mempool.bytes),
        ),
    ]))
}
