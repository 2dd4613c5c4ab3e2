//! `custodia org propose add|remove|params`, `org vote` and `org proposals` (DESIGN §4.10, §8.5):
//! any active organisation proposes a change of the consortium and votes on others'.

use super::super::{
    client_args::{GlobalArgs, WaitArgs, block_on, explain, finalized, remaining},
    genesis::read_org,
    output::{Spinner, Table, cut, or_dash, print_json, print_stdout},
};
use anyhow::{Result, bail};
use custodia_client::{
    Client, NewMember, NewProposal, ParamValues, ProposalFilter, ProposalId, ProposalStatus,
    ProposalView, ProposedChange, Wait,
};
use std::{path::PathBuf, time::Instant};

/// `custodia org propose` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum ProposeCommand {
    /// Propose to admit the organisation of an org.pub.toml as a member; prints the proposal id.
    Add(AddArgs),
    /// Propose to remove a member; prints the proposal id.
    Remove(RemoveArgs),
    /// Propose new values of max_request_ttl, max_proposal_ttl or governance_percent.
    Params(ParamsArgs),
}

/// Flags every proposal takes.
#[derive(Debug, Clone, clap::Args)]
pub struct ProposalArgs {
    /// Blocks the proposal stays open for votes (default: the chain's max_proposal_ttl).
    #[arg(long, value_name = "BLOCKS")]
    pub ttl: Option<u64>,
    #[command(flatten)]
    pub wait: WaitArgs,
}

/// Arguments of `custodia org propose add`.
#[derive(Debug, clap::Args)]
pub struct AddArgs {
    /// The new member's org.pub.toml (made by `custodia init`).
    #[arg(long = "pub", value_name = "FILE")]
    pub public: PathBuf,
    #[command(flatten)]
    pub proposal: ProposalArgs,
}

/// Arguments of `custodia org propose remove`.
#[derive(Debug, clap::Args)]
pub struct RemoveArgs {
    /// The member's name.
    #[arg(value_name = "NAME")]
    pub name: String,
    #[command(flatten)]
    pub proposal: ProposalArgs,
}

/// Arguments of `custodia org propose params`.
#[derive(Debug, clap::Args)]
pub struct ParamsArgs {
    /// The parameters to set, `KEY=VALUE` each.
    #[arg(value_name = "KEY=VALUE", required = true, value_parser = parse_param)]
    pub values: Vec<(String, u64)>,
    #[command(flatten)]
    pub proposal: ProposalArgs,
}

/// Arguments of `custodia org vote`.
#[derive(Debug, clap::Args)]
pub struct VoteArgs {
    /// The proposal.
    #[arg(value_name = "PROPOSAL_ID")]
    pub id: ProposalId,
    /// For or against.
    #[arg(value_name = "approve|reject")]
    pub decision: Decision,
    /// Why (required with reject; kept in the audit trail).
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
    #[command(flatten)]
    pub wait: WaitArgs,
}

/// A vote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Decision {
    /// For.
    Approve,
    /// Against.
    Reject,
}

/// Arguments of `custodia org proposals`.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Only proposals in this status.
    #[arg(long, value_name = "open|enacted|rejected|expired")]
    pub status: Option<ProposalStatus>,
}

fn parse_param(text: &str) -> Result<(String, u64), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not KEY=VALUE (e.g. max_request_ttl=5000)"))?;
    let value = value
        .parse()
        .map_err(|_| format!("{key}={value}: the value is not a whole number of 0 or more"))?;
    Ok((key.to_string(), value))
}

/// Runs `custodia org propose …`.
pub fn propose(command: ProposeCommand, global: &GlobalArgs) -> Result<()> {
    let (change, args) = match command {
        ProposeCommand::Add(args) => {
            let org = read_org(&args.public)?;
            if org.role != custodia_protocol::Role::Member {
                bail!(
                    "{} describes a {}: only members are added (the consortium has one supervisor)",
                    args.public.display(),
                    org.role.as_str()
                );
            }
            let member = NewMember {
                name: org.name,
                identity_key: hex::encode(org.identity_key.as_ref()),
                encryption_key: hex::encode(org.encryption_key.0),
                p2p: org.p2p,
                api: org.api,
            };
            (ProposedChange::AddMember(member), args.proposal)
        }
        ProposeCommand::Remove(args) => (
            ProposedChange::RemoveMember { org: args.name },
            args.proposal,
        ),
        ProposeCommand::Params(args) => {
            let mut values = ParamValues::default();
            for (key, value) in args.values {
                let slot = match key.parse::<custodia_protocol::GovernedParam>() {
                    Ok(custodia_protocol::GovernedParam::MaxRequestTtl) => {
                        &mut values.max_request_ttl
                    }
                    Ok(custodia_protocol::GovernedParam::MaxProposalTtl) => {
                        &mut values.max_proposal_ttl
                    }
                    Ok(custodia_protocol::GovernedParam::GovernancePercent) => {
                        &mut values.governance_percent
                    }
                    Err(err) => bail!("{err}"),
                };
                if slot.replace(value).is_some() {
                    bail!("{key} is given twice: set each parameter once");
                }
            }
            (ProposedChange::ChangeParams(values), args.proposal)
        }
    };
    let client = global.client()?;
    let proposal = NewProposal {
        change,
        ttl: args.ttl,
    };
    block_on(send(&client, &proposal, &args.wait, global.json))
}

async fn send(client: &Client, proposal: &NewProposal, wait: &WaitArgs, json: bool) -> Result<()> {
    let deadline = Instant::now() + wait.timeout();
    let spinner = Spinner::start("submitting the proposal");
    // Sent without the API's wait, so the id is printed as soon as it exists.
    let mut sent = client.propose(proposal, Wait::No).await.map_err(explain)?;
    let id = sent.proposal_id;
    if !json {
        spinner.suspend(|| print_stdout(&format!("{id}\n")))?;
    }
    if !wait.no_wait {
        spinner.say(format!("waiting for proposal {id} to be finalized"));
        sent.receipt = Some(finalized(client, &sent.tx_id, remaining(deadline)).await?);
    }
    drop(spinner);
    if json {
        print_json(&sent)?;
    }
    match &sent.receipt {
        Some(receipt) => eprintln!("proposal {id} made in block {}", receipt.height),
        None => eprintln!("proposal {id} submitted (tx {}); not waiting", sent.tx_id),
    }
    Ok(())
}

/// Runs `custodia org vote`.
pub fn vote(args: VoteArgs, global: &GlobalArgs) -> Result<()> {
    let approve = args.decision == Decision::Approve;
    if !approve && args.reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
        bail!("a vote against needs a reason: add --reason TEXT");
    }
    let client = global.client()?;
    let spinner = Spinner::start(format!("voting on {}", args.id));
    let sent = block_on(async {
        client
            .vote(&args.id, approve, args.reason.as_deref(), args.wait.wait())
            .await
            .map_err(explain)
    })?;
    drop(spinner);
    if global.json {
        print_json(&sent)?;
    } else {
        print_stdout(&format!("{}\n", sent.tx_id))?;
    }
    let how = if approve { "for" } else { "against" };
    match &sent.receipt {
        Some(receipt) => eprintln!("voted {how} {} in block {}", args.id, receipt.height),
        None => eprintln!(
            "sent: a vote {how} {} (tx {}); not waiting",
            args.id, sent.tx_id
        ),
    }
    Ok(())
}

/// Runs `custodia org proposals`.
pub fn list(args: ListArgs, global: &GlobalArgs) -> Result<()> {
    let client = global.client()?;
    let filter = ProposalFilter {
        status: args.status,
    };
    let proposals = block_on(async { client.proposals(&filter).await.map_err(explain) })?;
    if global.json {
        return print_json(&serde_json::json!({ "proposals": proposals }));
    }
    print_stdout(&table(&proposals))
}

/// The proposals as a table, one line each.
pub fn table(proposals: &[ProposalView]) -> String {
    let mut table = Table::new(&[
        "PROPOSAL", "BY", "STATUS", "BLOCK", "EXPIRES", "EFFECT", "FOR", "AGAINST", "CHANGE",
    ]);
    for p in proposals {
        let count = |approve: bool| p.votes.iter().filter(|v| v.approve == approve).count();
        table.row(vec![
            p.proposal_id.to_string(),
            p.proposer.clone(),
            p.status.to_string(),
            p.created_height.to_string(),
            p.expires_height.to_string(),
            or_dash(p.effective_height),
            count(true).to_string(),
            count(false).to_string(),
            cut(&p.description),
        ]);
    }
    table.render()
}
