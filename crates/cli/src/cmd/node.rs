//! `custodia node`: runs one organisation's node from its `config.toml` (DESIGN §8.2).

use anyhow::Result;
use std::path::PathBuf;

/// Arguments of `custodia node`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The node's config file (made by `custodia init` or `custodia devnet`).
    #[arg(long, value_name = "DIR/config.toml")]
    pub config: PathBuf,
    /// Rebuild the state database from the finalized block archive before starting.
    #[arg(long)]
    pub reindex: bool,
}

/// Runs `custodia node` until SIGINT or SIGTERM.
pub fn run(args: Args) -> Result<()> {
    crate::logging::init();
    let prepared = custodia_node::run::prepare(&args.config)?;
    custodia_node::run::run(prepared, args.reindex)
}
