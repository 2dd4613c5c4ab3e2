//! `custodia request create|list|show|approve|reject|cancel|fetch`: a requester asks for
//! records (DESIGN §1.1 step 3), the supervisor and the providers decide (step 4), and the
//! requester fetches the delivered fields, opened and verified by its node (steps 5–6).

mod fetch;
mod view;

use super::{
    client_args::{GlobalArgs, WaitArgs, all_pages, block_on, explain, finalized, remaining},
    output::{Spinner, print_json, print_stdout},
};
use anyhow::Result;
use custodia_client::{
    Client, NewRequest, RecordId, RequestFilter, RequestId, RequestStatus, RequestTx, RequestView,
    Wait,
};
use std::{path::PathBuf, time::Instant};

/// Arguments of `custodia request`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

/// `custodia request` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Ask for other members' records; prints the request's id.
    Create(CreateArgs),
    /// List requests.
    List(ListArgs),
    /// Show a request with its decisions and delivery.
    Show(ShowArgs),
    /// Approve a request awaiting this organisation's decision.
    Approve(ApproveArgs),
    /// Reject a request awaiting this organisation's decision, saying why.
    Reject(RejectArgs),
    /// Withdraw this organisation's own pending or approved request.
    Cancel(CancelArgs),
    /// Wait for the delivery of an approved request and print its fields, opened and verified
    /// against the providers' commitments, as JSON.
    Fetch(FetchArgs),
}

/// Arguments of `custodia request create`.
#[derive(Debug, clap::Args)]
pub struct CreateArgs {
    /// The records asked for (repeatable, or several after one --record).
    #[arg(long = "record", value_name = "RECORD_ID", required = true, num_args = 1..)]
    pub records: Vec<RecordId>,
    /// A field asked for (repeatable; none = every field).
    #[arg(long = "field", value_name = "NAME")]
    pub fields: Vec<String>,
    /// Why the data is needed (shown to the approvers and kept in the audit trail).
    #[arg(long, value_name = "TEXT")]
    pub purpose: String,
    /// Blocks the request stays open for decisions (default: the chain's maximum).
    #[arg(long, value_name = "BLOCKS")]
    pub ttl: Option<u64>,
    #[command(flatten)]
    pub wait: WaitArgs,
}

/// Arguments of `custodia request list`.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Only requests in this status.
    #[arg(
        long,
        value_name = "pending|approved|rejected|delivered|expired|cancelled"
    )]
    pub status: Option<RequestStatus>,
}

/// Arguments of `custodia request show`.
#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// The request.
    #[arg(value_name = "REQUEST_ID")]
    pub id: RequestId,
}

/// Arguments of `custodia request approve`.
#[derive(Debug, clap::Args)]
pub struct ApproveArgs {
    /// The request.
    #[arg(value_name = "REQUEST_ID")]
    pub id: RequestId,
    /// Why (kept in the audit trail).
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
    #[command(flatten)]
    pub wait: WaitArgs,
}

/// Arguments of `custodia request reject`.
#[derive(Debug, clap::Args)]
pub struct RejectArgs {
    /// The request.
    #[arg(value_name = "REQUEST_ID")]
    pub id: RequestId,
    /// Why (shown to the requester and kept in the audit trail).
    #[arg(long, value_name = "TEXT")]
    pub reason: String,
    #[command(flatten)]
    pub wait: WaitArgs,
}

/// Arguments of `custodia request cancel`.
#[derive(Debug, clap::Args)]
pub struct CancelArgs {
    /// The request.
    #[arg(value_name = "REQUEST_ID")]
    pub id: RequestId,
    #[command(flatten)]
    pub wait: WaitArgs,
}

/// Arguments of `custodia request fetch`.
#[derive(Debug, clap::Args)]
pub struct FetchArgs {
    /// The request.
    #[arg(value_name = "REQUEST_ID")]
    pub id: RequestId,
    /// Write the JSON to FILE (created with mode 0600, never over an existing file) instead
    /// of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Seconds to wait for the supervisor's delivery of an approved request.
    #[arg(long, value_name = "SECONDS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=600))]
    pub timeout: u64,
}

/// Runs `custodia request`.
pub fn run(args: Args, global: &GlobalArgs) -> Result<()> {
    let client = global.client()?;
    let json = global.json;
    match args.command {
        Command::Create(args) => {
            let request = NewRequest {
                record_ids: args.records,
                fields: args.fields,
                purpose: args.purpose,
                ttl: args.ttl,
            };
            block_on(create(&client, &request, &args.wait, json))
        }
        Command::List(args) => {
            let filter = RequestFilter {
                status: args.status,
                ..RequestFilter::default()
            };
            let requests = block_on(list(&client, filter))?;
            if json {
                print_json(&serde_json::json!({ "requests": requests }))
            } else {
                print_stdout(&view::table(&requests))
            }
        }
        Command::Show(args) => {
            let request = block_on(async { client.request(&args.id).await.map_err(explain) })?;
            if json {
                print_json(&request)
            } else {
                print_stdout(&view::details(&request))
            }
        }
        Command::Approve(args) => block_on(decide(
            &client,
            Decision::Approve(args.reason.as_deref()),
            &args.id,
            &args.wait,
            json,
        )),
        Command::Reject(args) => block_on(decide(
            &client,
            Decision::Reject(&args.reason),
            &args.id,
            &args.wait,
            json,
        )),
        Command::Cancel(args) => block_on(decide(
            &client,
            Decision::Cancel,
            &args.id,
            &args.wait,
            json,
        )),
        Command::Fetch(args) => block_on(fetch::fetch(&client, &args)),
    }
}

async fn create(client: &Client, request: &NewRequest, wait: &WaitArgs, json: bool) -> Result<()> {
    let deadline = Instant::now() + wait.timeout();
    let spinner = Spinner::start("submitting the request");
    // Sent without the API's wait, so the id is printed as soon as it exists.
    let mut sent = client
        .create_request(request, Wait::No)
        .await
        .map_err(explain)?;
    let id = sent.request_id;
    if !json {
        spinner.suspend(|| print_stdout(&format!("{id}\n")))?;
    }
    if !wait.no_wait {
        spinner.say(format!("waiting for request {id} to be finalized"));
        sent.receipt = Some(finalized(client, &sent.tx_id, remaining(deadline)).await?);
    }
    drop(spinner);
    if json {
        print_json(&sent)?;
    }
    match &sent.receipt {
        Some(receipt) => eprintln!("request {id} created in block {}", receipt.height),
        None => eprintln!("request {id} submitted (tx {}); not waiting", sent.tx_id),
    }
    Ok(())
}

/// A decision on a request, or its cancellation.
#[derive(Debug, Clone, Copy)]
enum Decision<'a> {
    Approve(Option<&'a str>),
    Reject(&'a str),
    Cancel,
}

impl Decision<'_> {
    fn past(&self) -> &'static str {
        match self {
            Decision::Approve(_) => "approved",
            Decision::Reject(_) => "rejected",
            Decision::Cancel => "cancelled",
        }
    }
}

async fn decide(
    client: &Client,
    decision: Decision<'_>,
    id: &RequestId,
    wait: &WaitArgs,
    json: bool,
) -> Result<()> {
    let spinner = Spinner::start(match wait.no_wait {
        true => format!("sending the decision on {id}"),
        false => format!("waiting for the decision on {id} to be finalized"),
    });
    let wait = wait.wait();
    let sent: RequestTx = match decision {
        Decision::Approve(reason) => client.approve(id, reason, wait).await,
        Decision::Reject(reason) => client.reject(id, reason, wait).await,
        Decision::Cancel => client.cancel(id, wait).await,
    }
    .map_err(explain)?;
    drop(spinner);
    if json {
        print_json(&sent)?;
    }
    let past = decision.past();
    match &sent.receipt {
        Some(receipt) => eprintln!("{past} request {id} in block {}", receipt.height),
        None => eprintln!("sent: {past} request {id} (tx {}); not waiting", sent.tx_id),
    }
    Ok(())
}
/// Every request `filter` selects, page after page.
async fn list(client: &Client, filter: RequestFilter) -> Result<Vec<RequestView>> {
    all_pages(|offset, limit| {
        let filter = RequestFilter {
            offset: Some(offset),
            limit: Some(limit),
            ..filter.clone()
        };
        async move { Ok(client.requests(&filter).await?.requests) }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser as _;

    const REC_A: &str = "rec_000102030405060708090a0b0c0d0e0f";
    const REC_B: &str = "rec_0f0e0d0c0b0a09080706050403020100";
    const REQ: &str = "req_000102030405060708090a0b0c0d0e0f";

    fn command(args: &[&str]) -> Command {
        match crate::Cli::try_parse_from(args).expect("parses").command {
            crate::Command::Request(Args { command }) => command,
            other => panic!("not a request command: {other:?}"),
        }
    }

    #[test]
    fn create_takes_records_either_way_fields_purpose_and_ttl() {
        for args in [
            &[
                "custodia",
                "request",
                "create",
                "--record",
                REC_A,
                REC_B,
                "--purpose",
                "fraud check",
            ][..],
            &[
                "custodia",
                "request",
                "create",
                "--record",
                REC_A,
                "--purpose",
                "fraud check",
                "--record",
                REC_B,
            ],
        ] {
            let Command::Create(create) = command(args) else {
                panic!("not create");
            };
            assert_eq!(create.records.len(), 2, "{args:?}");
            assert_eq!(create.purpose, "fraud check");
            assert!(create.fields.is_empty() && create.ttl.is_none());
        }
        let Command::Create(create) = command(&[
            "custodia",
            "request",
            "create",
            "--record",
            REC_A,
            "--field",
            "amount",
            "--field",
            "insured",
            "--purpose",
            "p",
            "--ttl",
            "50",
            "--no-wait",
        ]) else {
            panic!("not create");
        };
        assert_eq!(create.fields, ["amount", "insured"]);
        assert_eq!(create.ttl, Some(50));
        assert!(create.wait.no_wait);
        for missing in [
            &["custodia", "request", "create", "--purpose", "p"][..],
            &["custodia", "request", "create", "--record", REC_A],
            &[
                "custodia",
                "request",
                "create",
                "--record",
                "rec_bad",
                "--purpose",
                "p",
            ],
        ] {
            assert!(crate::Cli::try_parse_from(missing).is_err(), "{missing:?}");
        }
    }

    #[test]
    fn decisions_take_an_id_and_reject_needs_a_reason() {
        let Command::Approve(approve) = command(&["custodia", "request", "approve", REQ]) else {
            panic!("not approve");
        };
        assert_eq!(approve.reason, None);
        assert_eq!(approve.wait.timeout, 30);
        let Command::Approve(approve) = command(&[
            "custodia",
            "request",
            "approve",
            REQ,
            "--reason",
            "ok",
            "--timeout",
            "5",
        ]) else {
            panic!("not approve");
        };
        assert_eq!(approve.reason.as_deref(), Some("ok"));
        assert_eq!(approve.wait.timeout, 5);
        assert!(crate::Cli::try_parse_from(["custodia", "request", "reject", REQ]).is_err());
        let Command::Reject(reject) =
            command(&["custodia", "request", "reject", REQ, "--reason", "no basis"])
        else {
            panic!("not reject");
        };
        assert_eq!(reject.reason, "no basis");
        assert!(matches!(
            command(&["custodia", "request", "cancel", REQ]),
            Command::Cancel(_)
        ));
        assert!(matches!(
            command(&["custodia", "request", "list", "--status", "delivered"]),
            Command::List(ListArgs {
                status: Some(RequestStatus::Delivered)
            })
        ));
        let Command::Fetch(fetch) = command(&[
            "custodia",
            "request",
            "fetch",
            REQ,
            "--out",
            "x.json",
            "--timeout",
            "9",
        ]) else {
            panic!("not fetch");
        };
        assert_eq!(
            (fetch.out, fetch.timeout),
            (Some(PathBuf::from("x.json")), 9)
        );
    }
}
