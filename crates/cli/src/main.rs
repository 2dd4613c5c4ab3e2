//! The `custodia` binary: parses the command line (DESIGN §8) and dispatches to one module per
//! command under [`cmd`]. No protocol logic lives here; it belongs in `custodia-protocol`.

mod cmd;
mod files;
mod logging;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// custodia: a permissioned blockchain for supervised data sharing.
#[derive(Debug, Parser)]
#[command(name = "custodia", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// The client commands' global flags (accepted before or after the subcommand).
    #[command(flatten)]
    global: cmd::client_args::GlobalArgs,
}

/// Every `custodia` subcommand.
#[derive(Debug, Subcommand)]
enum Command {
    /// Create an organisation's keys: DIR/org.key (secret) and DIR/org.pub.toml (public).
    Init(cmd::init::Args),
    /// Assemble the consortium's org.pub.toml files into a genesis.toml; prints the chain digest.
    Genesis(cmd::genesis::Args),
    /// Run this organisation's node from its config.toml until Ctrl-C or SIGTERM.
    Node(cmd::node::Args),
    /// Run a local consortium: 1 supervisor + N members, one node process each, on 127.0.0.1.
    Devnet(cmd::devnet::Args),
    /// Run the whole flow, narrated, on an ephemeral local network; exit 0 if every step verified.
    Demo(cmd::demo::Args),
    /// Measure throughput and latency on a local network, next to the machine's limit.
    Bench(cmd::bench::Args),
    /// Show the node's chain, organisation, head, peers and mempool.
    Status(cmd::status::Args),
    /// Submit, list and show data records.
    Record(cmd::record::Args),
    /// Create, list, show, decide, cancel and fetch share requests.
    Request(cmd::request::Args),
    /// Show the audit trail: who submitted, requested, approved and received what, when.
    Audit(cmd::audit::Args),
    /// List the organisations; the supervisor suspends and reinstates members.
    Org(cmd::org::Args),
    /// Rotate this organisation's encryption key.
    Keys(cmd::keys::Args),
    /// Where each devnet organisation's web console is, and the token to sign in with.
    Console(cmd::console::Args),
}

fn main() -> ExitCode {
    // Usage mistakes are reported by clap itself (`error: ...`, exit code 2).
    let cli = Cli::parse();
    custodia_client::install_tls_provider();
    let result = match cli.command {
        Command::Init(args) => cmd::init::run(args),
        Command::Genesis(args) => cmd::genesis::run(args),
        Command::Node(args) => cmd::node::run(args),
        Command::Devnet(args) => cmd::devnet::run(args),
        Command::Demo(args) => cmd::demo::run(args),
        Command::Bench(args) => cmd::bench::run(args, &cli.global),
        Command::Status(args) => cmd::status::run(args, &cli.global),
        Command::Record(args) => cmd::record::run(args, &cli.global),
        Command::Request(args) => cmd::request::run(args, &cli.global),
        Command::Audit(args) => cmd::audit::run(args, &cli.global),
        Command::Org(args) => cmd::org::run(args, &cli.global),
        Command::Keys(args) => cmd::keys::run(args, &cli.global),
        Command::Console(args) => cmd::console::run(args, &cli.global),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // `{:#}` joins the context chain on one line, without a backtrace.
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
