//! `custodia keys rotate --encryption`: the node makes a new encryption key, writes it into its
//! keyring (the old secrets stay, so what was sealed to them still opens) and announces it with
//! `RotateKeys`; the command waits until the chain has it and prints the new key (DESIGN §6.6).

use super::{
    client_args::{GlobalArgs, WaitArgs, block_on, explain},
    output::{Spinner, print_json, print_stdout},
};
use anyhow::{Result, bail};

/// Arguments of `custodia keys`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

/// `custodia keys` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Replace this organisation's key: a new secret into the node's keyring, then RotateKeys.
    Rotate(RotateArgs),
}

/// Arguments of `custodia keys rotate`.
#[derive(Debug, clap::Args)]
pub struct RotateArgs {
    /// Rotate the encryption key (the only key rotated this way; the identity key is also the
    /// consensus and p2p key).
    #[arg(long)]
    pub encryption: bool,
    #[command(flatten)]
    pub wait: WaitArgs,
}

/// Runs `custodia keys`.
pub fn run(args: Args, global: &GlobalArgs) -> Result<()> {
    let Command::Rotate(args) = args.command;
    if !args.encryption {
        bail!("say which key to rotate: `custodia keys rotate --encryption`");
    }
    let client = global.client()?;
    let spinner = Spinner::start("rotating the encryption key");
    let sent = block_on(async {
        client
            .rotate_encryption_key(args.wait.wait())
            .await
            .map_err(explain)
    })?;
    drop(spinner);
    if global.json {
        print_json(&sent)?;
    } else {
        print_stdout(&format!("{}\n", sent.encryption_key))?;
    }
    match &sent.receipt {
        Some(receipt) => eprintln!(
            "encryption key rotated in block {}: back up the key file now (OPERATIONS.md)",
            receipt.height
        ),
        None => eprintln!(
            "new encryption key in the keyring; RotateKeys sent (tx {}), not waiting: back up the \
             key file now (OPERATIONS.md)",
            sent.tx_id
        ),
    }
    Ok(())
}
