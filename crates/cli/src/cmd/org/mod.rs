//! `custodia org list|suspend|reinstate|propose|vote|proposals`: the consortium's organisations
//! with their status and key history, the supervisor's suspension (with a reason) and
//! reinstatement of a member (DESIGN §4.5, §8.5), and governance ([`proposals`], §4.10).

mod proposals;

use super::{
    client_args::{GlobalArgs, WaitArgs, block_on, explain},
    output::{Spinner, Table, or_dash, print_json, print_stdout},
};
use anyhow::Result;
use custodia_client::{Client, Org, OrgTx};

/// Arguments of `custodia org`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

/// `custodia org` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// List the organisations: name, role, status, and every key with the height it took effect.
    List,
    /// Suspend a member (supervisor only): it can no longer submit, request, decide or receive.
    Suspend(SuspendArgs),
    /// Reinstate a suspended member (supervisor only); its waiting deliveries are then made.
    Reinstate(ReinstateArgs),
    /// Propose to add or remove a member or to change parameters; prints the proposal id.
    #[command(subcommand)]
    Propose(proposals::ProposeCommand),
    /// Vote for or against an open proposal.
    Vote(proposals::VoteArgs),
    /// List the proposals with their votes.
    Proposals(proposals::ListArgs),
}

/// Arguments of `custodia org suspend`.
#[derive(Debug, clap::Args)]
pub struct SuspendArgs {
    /// The organisation's name.
    #[arg(value_name = "NAME")]
    pub name: String,
    /// Why (required; on the chain and in the audit trail).
    #[arg(long, value_name = "TEXT")]
    pub reason: String,
    #[command(flatten)]
    pub wait: WaitArgs,
}

/// Arguments of `custodia org reinstate`.
#[derive(Debug, clap::Args)]
pub struct ReinstateArgs {
    /// The organisation's name.
    #[arg(value_name = "NAME")]
    pub name: String,
    /// Why (optional; in the audit trail).
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
    #[command(flatten)]
    pub wait: WaitArgs,
}

/// Runs `custodia org`.
pub fn run(args: Args, global: &GlobalArgs) -> Result<()> {
    let json = global.json;
    match args.command {
        Command::List => {
            let client = global.client()?;
            let orgs = block_on(async { client.orgs().await.map_err(explain) })?;
            if json {
                print_json(&serde_json::json!({ "orgs": orgs }))
            } else {
                print_stdout(&table(&orgs))
            }
        }
        Command::Suspend(args) => block_on(set_status(
            &global.client()?,
            &args.name,
            Change::Suspend(&args.reason),
            &args.wait,
            json,
        )),
        Command::Reinstate(args) => block_on(set_status(
            &global.client()?,
            &args.name,
            Change::Reinstate(args.reason.as_deref()),
            &args.wait,
            json,
        )),
        Command::Propose(command) => proposals::propose(command, global),
        Command::Vote(args) => proposals::vote(args, global),
        Command::Proposals(args) => proposals::list(args, global),
    }
}

enum Change<'a> {
    Suspend(&'a str),
    Reinstate(Option<&'a str>),
}

async fn set_status(
    client: &Client,
    name: &str,
    change: Change<'_>,
    wait: &WaitArgs,
    json: bool,
) -> Result<()> {
    let (doing, done) = match change {
        Change::Suspend(_) => ("suspending", "suspended"),
        Change::Reinstate(_) => ("reinstating", "reinstated"),
    };
    let spinner = Spinner::start(format!("{doing} {name}"));
    let sent: OrgTx = match change {
        Change::Suspend(reason) => client.suspend(name, reason, wait.wait()).await,
        Change::Reinstate(reason) => client.reinstate(name, reason, wait.wait()).await,
    }
    .map_err(explain)?;
    drop(spinner);
    if json {
        print_json(&sent)?;
    } else {
        print_stdout(&format!("{}\n", sent.tx_id))?;
    }
    match &sent.receipt {
        Some(receipt) => eprintln!("{done} {name} in block {}", receipt.height),
        None => eprintln!("sent: {done} {name} (tx {}); not waiting", sent.tx_id),
    }
    Ok(())
}

/// The epochs an organisation validates: `from epoch 3`, `epochs 0–5`, or `-` if never seated.
fn validates(org: &Org) -> String {
    match (org.validator_from, org.validator_until) {
        (Some(from), None) => format!("from epoch {from}"),
        (Some(from), Some(until)) => format!("epochs {from}–{until}"),
        (None, _) => "-".to_string(),
    }
}

/// The organisations as a table: one line per organisation, its keys as `KEY… (from HEIGHT)`.
pub fn table(orgs: &[Org]) -> String {
    let mut table = Table::new(&[
        "ID",
        "NAME",
        "ROLE",
        "STATUS",
        "MEMBERSHIP",
        "VALIDATES",
        "SINCE",
        "REASON",
        "IDENTITY KEY",
        "ENCRYPTION KEYS",
    ]);
    for org in orgs {
        let keys = |kind: &str| {
            org.keys
                .iter()
                .filter(|key| key.kind == kind)
                .map(|key| {
                    format!(
                        "{}… (from {})",
                        &key.key[..16.min(key.key.len())],
                        key.from_height
                    )
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        table.row(vec![
            org.id.to_string(),
            org.name.clone(),
            org.role.to_string(),
            if org.active { "active" } else { "suspended" }.to_string(),
            format!("{} (from {})", org.membership, org.membership_height),
            validates(org),
            org.status_height.to_string(),
            or_dash(org.status_reason.as_deref().map(super::output::cut)),
            keys("identity"),
            keys("encryption"),
        ]);
    }
    table.render()
}
