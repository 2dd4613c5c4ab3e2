//! `custodia request create|list|show|approve|reject|cancel|fetch`: a requester asks for
//! records (DESIGN §1 step 3), the supervisor and the providers decide (step 4), and the
//! requester fetches the delivered fields, opened and verified by its node (steps 5–6).

use super::{
    client_args::{GlobalArgs, WaitArgs, block_on, explain, finalized, remaining},
    output::{Spinner, Table, cut, key_values, or_dash, print_json, print_stdout},
};
use crate::files;
use anyhow::{Result, anyhow, bail};
use custodia_client::{
    Client, Fetched, NewRequest, RecordId, RequestDetail, RequestFilter, RequestId, RequestStatus,
    RequestTx, RequestView, Wait,
};
use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

/// Requests asked for per page when listing.
const PAGE: u64 = 1000;

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
                print_stdout(&table(&requests))
            }
        }
        Command::Show(args) => {
            let request = block_on(async { client.request(&args.id).await.map_err(explain) })?;
            if json {
                print_json(&request)
            } else {
                print_stdout(&details(&request))
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
        Command::Fetch(args) => block_on(fetch(&client, &args)),
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

async fn fetch(client: &Client, args: &FetchArgs) -> Result<()> {
    if let Some(out) = &args.out
        && out.exists()
    {
        bail!(
            "{} exists: choose another --out (fetched data is never written over a file)",
            out.display()
        );
    }
    let spinner = Spinner::start(format!("waiting for the delivery of {}", args.id));
    let wait = Wait::Finalized(Duration::from_secs(args.timeout));
    let fetched = client.fetch(&args.id, wait).await.map_err(explain)?;
    drop(spinner);
    if let Some(record) = fetched.records.iter().find(|record| !record.verified) {
        bail!(
            "record {} of request {} does not match its provider's commitment: the delivery \
             cannot be trusted; report it to the supervisor",
            record.record_id,
            args.id
        );
    }
    let text = serde_json::to_string_pretty(&fetched)? + "\n";
    match &args.out {
        None => print_stdout(&text),
        Some(out) => {
            write_private(out, &text)?;
            eprintln!("{}", summary(&fetched, out));
            Ok(())
        }
    }
}

/// Writes fetched data to a new file only its owner can read.
fn write_private(path: &Path, text: &str) -> Result<()> {
    files::create_private(path, text).map_err(|err| {
        if files::already_exists(&err) {
            anyhow!(
                "{} exists: choose another --out (fetched data is never written over a file)",
                path.display()
            )
        } else {
            anyhow!("{}: cannot write the fetched data: {err}", path.display())
        }
    })
}

/// The line `request fetch --out` prints on stderr.
fn summary(fetched: &Fetched, out: &Path) -> String {
    let fields: usize = fetched.records.iter().map(|r| r.fields.len()).sum();
    format!(
        "wrote {} record(s), {fields} field(s), all verified against their providers' \
         commitments, to {} (mode 0600)",
        fetched.records.len(),
        out.display()
    )
}

/// Every request `filter` selects, page after page.
async fn list(client: &Client, mut filter: RequestFilter) -> Result<Vec<RequestView>> {
    let mut requests = Vec::new();
    filter.limit = Some(PAGE);
    loop {
        filter.offset = Some(requests.len() as u64);
        let page = client.requests(&filter).await.map_err(explain)?;
        let full = page.requests.len() as u64 >= PAGE;
        requests.extend(page.requests);
        if !full {
            return Ok(requests);
        }
    }
}

fn fields_text(fields: &[String]) -> String {
    if fields.is_empty() {
        "all".into()
    } else {
        fields.join(",")
    }
}

fn table(requests: &[RequestView]) -> String {
    let mut table = Table::new(&[
        "REQUEST",
        "REQUESTER",
        "STATUS",
        "RECORDS",
        "FIELDS",
        "EXPIRES",
        "PURPOSE",
    ]);
    for request in requests {
        table.row(vec![
            request.request_id.to_string(),
            request.requester.clone(),
            request.status.to_string(),
            request.record_ids.len().to_string(),
            cut(&fields_text(&request.fields)),
            request.expires_height.to_string(),
            cut(&request.purpose),
        ]);
    }
    table.render()
}

fn details(detail: &RequestDetail) -> String {
    let request = &detail.request;
    let status = match &request.reason {
        Some(reason) => format!(
            "{} at block {} ({reason})",
            request.status, request.status_height
        ),
        None => format!("{} at block {}", request.status, request.status_height),
    };
    let records: Vec<String> = request.record_ids.iter().map(ToString::to_string).collect();
    let delivery = detail.delivery.as_ref().map_or("-".to_string(), |d| {
        format!(
            "block {} (tx {}, {} sealed bytes)",
            d.height, d.tx_id, d.sealed_bytes
        )
    });
    let mut text = key_values(&[
        ("request", request.request_id.to_string()),
        ("requester", request.requester.clone()),
        ("records", records.join(", ")),
        ("fields", fields_text(&request.fields)),
        ("purpose", request.purpose.clone()),
        ("status", status),
        (
            "open",
            format!(
                "blocks {}..={} (ttl {})",
                request.created_height, request.expires_height, request.ttl
            ),
        ),
        ("delivery", delivery),
    ]);
    let mut decisions = Table::new(&["APPROVER", "DECISION", "BLOCK", "REASON"]);
    for decision in &detail.decisions {
        decisions.row(vec![
            decision.org.clone(),
            decision.decision.to_string(),
            or_dash(decision.height),
            cut(decision.reason.as_deref().unwrap_or("")),
        ]);
    }
    text.push('\n');
    text.push_str(&decisions.render());
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser as _;
    use custodia_client::{Decision as Decided, DecisionState, DeliveryView, FetchedRecord};

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

    fn request() -> RequestDetail {
        RequestDetail {
            request: RequestView {
                request_id: REQ.parse().unwrap(),
                requester: "member-b".into(),
                record_ids: vec![REC_A.parse().unwrap()],
                fields: vec![],
                purpose: "fraud check".into(),
                ttl: 100,
                created_height: 7,
                expires_height: 107,
                status: RequestStatus::Delivered,
                status_height: 9,
                reason: None,
            },
            decisions: vec![
                Decided {
                    org: "supervisor".into(),
                    decision: DecisionState::Approved,
                    reason: None,
                    height: Some(8),
                },
                Decided {
                    org: "member-a".into(),
                    decision: DecisionState::Approved,
                    reason: Some("fine".into()),
                    height: Some(8),
                },
            ],
            delivery: Some(DeliveryView {
                height: 9,
                tx_id: "ab".into(),
                sealed_bytes: 99,
            }),
        }
    }

    #[test]
    fn requests_print_as_tables() {
        let detail = request();
        assert_eq!(
            table(std::slice::from_ref(&detail.request)),
            "REQUEST                               REQUESTER  STATUS     RECORDS  FIELDS  EXPIRES  PURPOSE\n\
             req_000102030405060708090a0b0c0d0e0f  member-b   delivered  1        all     107      fraud check\n"
        );
        let text = details(&detail);
        assert!(text.contains("status:    delivered at block 9\n"), "{text}");
        assert!(
            text.contains("delivery:  block 9 (tx ab, 99 sealed bytes)\n"),
            "{text}"
        );
        assert!(
            text.ends_with(
                "APPROVER    DECISION  BLOCK  REASON\n\
                 supervisor  approved  8\n\
                 member-a    approved  8      fine\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn fetched_data_goes_to_a_new_private_file() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("fetched.json");
        write_private(&out, "{}\n").unwrap();
        let mode = std::fs::metadata(&out).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let err = write_private(&out, "{}\n").unwrap_err().to_string();
        assert!(err.contains("exists"), "{err}");
        let fetched = Fetched {
            request_id: REQ.parse().unwrap(),
            records: vec![FetchedRecord {
                record_id: REC_A.parse().unwrap(),
                provider: "member-a".into(),
                kind: "claim".into(),
                fields: [("amount".to_string(), serde_json::json!(1))].into(),
                verified: true,
            }],
        };
        assert!(summary(&fetched, &out).starts_with("wrote 1 record(s), 1 field(s), all verified"));
    }
}
