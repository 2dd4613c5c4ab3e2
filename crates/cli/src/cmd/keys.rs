//! `custodia keys rotate --encryption`: the node makes a new encryption key, writes it into its
//! keyring (the old secrets stay, so what was sealed to them still opens) and announces it with
//! `RotateKeys`; the command waits until the chain has it and prints the new key (DESIGN §6.6).
//! `custodia keys rotate --identity`: the same for the identity key, announced with
//! `RotateIdentity`; it signs from the first block of the epoch after next (DESIGN §4.10).

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
    /// Rotate the encryption key (in effect at once).
    #[arg(long, conflicts_with = "identity")]
    pub encryption: bool,
    /// Rotate the identity key, which signs txs, votes and p2p handshakes (in effect from the
    /// epoch after next; the node switches to it by itself).
    #[arg(long)]
    pub identity: bool,
    #[command(flatten)]
    pub wait: WaitArgs,
}

/// Runs `custodia keys`.
pub fn run(args: Args, global: &GlobalArgs) -> Result<()> {
    let Command::Rotate(args) = args.command;
    if args.identity {
        return rotate_identity(&args, global);
    }
    if !args.encryption {
        bail!(
            "say which key to rotate: `custodia keys rotate --encryption` or `custodia keys \
             rotate --identity`"
        );
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
    let done = sent.receipt.as_ref().map(|receipt| {
        format!(
            "encryption key rotated in block {}: back up the key file now (OPERATIONS.md)",
            receipt.height
        )
    });
    let sent_only = format!(
        "new encryption key in the keyring; RotateKeys sent (tx {}), not waiting: back up the \
         key file now (OPERATIONS.md)",
        sent.tx_id
    );
    report(global, &sent, &sent.encryption_key, done, sent_only)
}

fn rotate_identity(args: &RotateArgs, global: &GlobalArgs) -> Result<()> {
    let client = global.client()?;
    let spinner = Spinner::start("rotating the identity key");
    let sent = block_on(async {
        client
            .rotate_identity_key(args.wait.wait())
            .await
            .map_err(explain)
    })?;
    drop(spinner);
    let done = sent.receipt.as_ref().map(|receipt| {
        format!(
            "identity key rotation in block {}: the new key signs from the first block of the \
             epoch after next (`custodia org list` shows it from that height); the node \
             switches to it by itself. Back up the key file now (OPERATIONS.md)",
            receipt.height
        )
    });
    let sent_only = format!(
        "next identity key in the keyring; RotateIdentity sent (tx {}), not waiting: back up \
         the key file now (OPERATIONS.md)",
        sent.tx_id
    );
    report(global, &sent, &sent.identity_key, done, sent_only)
}

/// Prints a rotation's answer (JSON, or the new key alone) and, on stderr, what happened:
/// `done` once applied, else `sent_only`.
fn report<T: serde::Serialize>(
    global: &GlobalArgs,
    sent: &T,
    key: &str,
    done: Option<String>,
    sent_only: String,
) -> Result<()> {
    if global.json {
        print_json(sent)?;
    } else {
        print_stdout(&format!("{key}\n"))?;
    }
    eprintln!("{}", done.unwrap_or(sent_only));
    Ok(())
}
