//! `custodia record submit|list|show`: a provider puts a record on the chain and waits for
//! the supervisor's verdict (DESIGN §1.1, steps 1 and 2); anyone lists and shows records'
//! metadata (never their values).

use super::{
    client_args::{GlobalArgs, WaitArgs, all_pages, block_on, explain, finalized, remaining},
    output::{Spinner, Table, cut, key_values, or_dash, print_json, print_stdout},
};
use crate::files;
use anyhow::{Result, anyhow, bail};
use custodia_client::{
    Client, NewRecord, Receipt, RecordFilter, RecordId, RecordStatus, RecordView, Wait,
};
use serde::Serialize;
use serde_json::Value;
use std::{collections::BTreeMap, path::PathBuf, time::Instant};

/// Largest `--file` read (the chain's records are at most 1 MiB sealed by default).
const MAX_FIELDS_FILE_BYTES: u64 = 16 << 20;

/// Arguments of `custodia record`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

/// `custodia record` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Submit a record (sealed so only the supervisor can read it); prints its id and waits
    /// for the supervisor's verdict: exit 0 when accepted, 1 when rejected.
    Submit(SubmitArgs),
    /// List records' metadata.
    List(ListArgs),
    /// Show one record's metadata (never its values).
    Show(ShowArgs),
}

/// Arguments of `custodia record submit`.
#[derive(Debug, clap::Args)]
pub struct SubmitArgs {
    /// The record's kind, e.g. claim.
    #[arg(long)]
    pub kind: String,
    /// A tag (repeatable).
    #[arg(long = "tag", value_name = "T")]
    pub tags: Vec<String>,
    /// A field (repeatable): VALUE is taken as JSON when it parses (1200, true, {"a":1}),
    /// else as a string.
    #[arg(long = "field", value_name = "NAME=VALUE", value_parser = parse_field,
          required_unless_present = "file", conflicts_with = "file")]
    pub fields: Vec<(String, Value)>,
    /// A JSON object of the fields, {NAME: VALUE, ...}.
    #[arg(long, value_name = "FIELDS.json")]
    pub file: Option<PathBuf>,
    #[command(flatten)]
    pub wait: WaitArgs,
}

/// Arguments of `custodia record list`.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Only records of this provider.
    #[arg(long, value_name = "ORG")]
    pub provider: Option<String>,
    /// Only records of this kind.
    #[arg(long)]
    pub kind: Option<String>,
    /// Only records in this status.
    #[arg(long, value_name = "submitted|accepted|rejected")]
    pub status: Option<RecordStatus>,
}

/// Arguments of `custodia record show`.
#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// The record.
    #[arg(value_name = "RECORD_ID")]
    pub id: RecordId,
}

/// Runs `custodia record`.
pub fn run(args: Args, global: &GlobalArgs) -> Result<()> {
    let client = global.client()?;
    match args.command {
        Command::Submit(args) => {
            let record = new_record(args.kind, args.tags, args.fields, args.file.as_deref())?;
            block_on(submit(&client, &record, &args.wait, global.json))
        }
        Command::List(args) => {
            let filter = RecordFilter {
                provider: args.provider,
                kind: args.kind,
                status: args.status,
                ..RecordFilter::default()
            };
            let records = block_on(list(&client, filter))?;
            if global.json {
                print_json(&serde_json::json!({ "records": records }))
            } else {
                print_stdout(&table(&records))
            }
        }
        Command::Show(args) => {
            let record = block_on(async { client.record(&args.id).await.map_err(explain) })?;
            if global.json {
                print_json(&record)
            } else {
                print_stdout(&details(&record))
            }
        }
    }
}

/// `NAME=VALUE`: VALUE as JSON when it parses, else as a string.
pub fn parse_field(text: &str) -> Result<(String, Value), String> {
    let Some((name, value)) = text.split_once('=') else {
        return Err(format!("{text:?} is not NAME=VALUE"));
    };
    if name.trim().is_empty() {
        return Err(format!("{text:?} has no field name before '='"));
    }
    let value = serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_string()));
    Ok((name.to_string(), value))
}

/// The record to submit, from `--field`s or a `--file`.
fn new_record(
    kind: String,
    tags: Vec<String>,
    fields: Vec<(String, Value)>,
    file: Option<&std::path::Path>,
) -> Result<NewRecord> {
    let fields = match file {
        Some(path) => {
            let text = files::read_text(path, MAX_FIELDS_FILE_BYTES, "a JSON object of fields")?;
            serde_json::from_str::<BTreeMap<String, Value>>(&text).map_err(|err| {
                anyhow!(
                    "{}: not a JSON object of fields ({err}): write {{\"NAME\": VALUE, ...}}",
                    path.display()
                )
            })?
        }
        None => {
            let mut map = BTreeMap::new();
            for (name, value) in fields {
                if map.insert(name.clone(), value).is_some() {
                    bail!("--field {name} is given twice: give each field once");
                }
            }
            map
        }
    };
    if fields.is_empty() {
        bail!("a record needs at least one field: add --field NAME=VALUE");
    }
    Ok(NewRecord {
        kind,
        tags,
        fields: fields.into(),
    })
}

/// What `record submit --json` prints.
#[derive(Serialize)]
struct Submitted {
    record_id: RecordId,
    tx_id: String,
    receipt: Option<Receipt>,
    record: Option<RecordView>,
}

async fn submit(client: &Client, record: &NewRecord, wait: &WaitArgs, json: bool) -> Result<()> {
    let deadline = Instant::now() + wait.timeout();
    let spinner = Spinner::start("submitting the record");
    // Sent without the API's wait, so the id is printed as soon as it exists, even if the
    // wait below times out.
    let sent = client
        .submit_record(record, Wait::No)
        .await
        .map_err(explain)?;
    let id = sent.record_id;
    if !json {
        spinner.suspend(|| print_stdout(&format!("{id}\n")))?;
    }
    let mut answer = Submitted {
        record_id: id,
        tx_id: sent.tx_id,
        receipt: None,
        record: None,
    };
    if !wait.no_wait {
        spinner.say(format!("waiting for record {id} to be finalized"));
        answer.receipt = Some(finalized(client, &answer.tx_id, remaining(deadline)).await?);
        spinner.say(format!("waiting for the supervisor's verdict on {id}"));
        let verdict = client
            .wait_verdict(&id, remaining(deadline))
            .await
            .map_err(explain)?;
        answer.record = Some(verdict);
    }
    drop(spinner);
    if json {
        print_json(&answer)?;
    }
    match &answer.record {
        None => eprintln!("record {id} submitted (tx {}); not waiting", answer.tx_id),
        Some(record) if record.status == RecordStatus::Rejected => bail!(
            "record {id} was rejected by the supervisor: {}",
            record.reason.as_deref().unwrap_or("no reason given")
        ),
        Some(record) => eprintln!(
            "record {id} {} by the supervisor (block {})",
            record.status,
            or_dash(record.attested_height)
        ),
    }
    Ok(())
}

/// Every record `filter` selects, page after page.
async fn list(client: &Client, filter: RecordFilter) -> Result<Vec<RecordView>> {
    all_pages(|offset, limit| {
        let filter = RecordFilter {
            offset: Some(offset),
            limit: Some(limit),
            ..filter.clone()
        };
        async move { Ok(client.records(&filter).await?.records) }
    })
    .await
}

fn table(records: &[RecordView]) -> String {
    let mut table = Table::new(&["RECORD", "PROVIDER", "KIND", "STATUS", "BLOCK", "FIELDS"]);
    for record in records {
        table.row(vec![
            record.record_id.to_string(),
            record.provider.clone(),
            record.kind.clone(),
            record.status.to_string(),
            record.submitted_height.to_string(),
            cut(&record.fields.join(",")),
        ]);
    }
    table.render()
}

fn details(record: &RecordView) -> String {
    let status = match &record.reason {
        Some(reason) => format!("{} ({reason})", record.status),
        None => record.status.to_string(),
    };
    key_values(&[
        ("record", record.record_id.to_string()),
        ("provider", record.provider.clone()),
        ("kind", record.kind.clone()),
        ("tags", record.tags.join(", ")),
        ("fields", record.fields.join(", ")),
        ("status", status),
        ("commitment", record.commitment.clone()),
        ("sealed bytes", record.sealed_bytes.to_string()),
        ("submitted at", format!("block {}", record.submitted_height)),
        (
            "attested at",
            record
                .attested_height
                .map_or("-".into(), |h| format!("block {h}")),
        ),
    ])
}

/// Reads `--file` for tests without a record around it.
#[cfg(test)]
fn fields_of(args: &[&str]) -> Result<NewRecord> {
    use clap::Parser as _;
    let cli = crate::Cli::try_parse_from(args)?;
    let crate::Command::Record(Args {
        command: Command::Submit(submit),
    }) = cli.command
    else {
        bail!("not record submit");
    };
    new_record(
        submit.kind,
        submit.tags,
        submit.fields,
        submit.file.as_deref(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn field_values_are_json_when_they_parse_and_strings_otherwise() {
        let cases = [
            ("amount=1200", json!(1200)),
            ("ok=true", json!(true)),
            ("nested={\"a\":[1,2]}", json!({"a": [1, 2]})),
            ("name=Jane Doe", json!("Jane Doe")),
            ("quoted=\"7\"", json!("7")),
            ("zip=01234", json!("01234")),
            ("empty=", json!("")),
            ("eq=a=b", json!("a=b")),
        ];
        for (text, value) in cases {
            let (name, parsed) = parse_field(text).unwrap();
            assert_eq!(name, text.split('=').next().unwrap());
            assert_eq!(parsed, value, "{text}");
        }
        assert!(parse_field("novalue").is_err());
        assert!(parse_field("=1").is_err());
    }

    #[test]
    fn submit_takes_fields_tags_and_wait_flags() {
        let record = fields_of(&[
            "custodia",
            "record",
            "submit",
            "--kind",
            "claim",
            "--tag",
            "motor",
            "--tag",
            "2026",
            "--field",
            "amount=1200",
            "--field",
            "insured=Jane Doe",
        ])
        .unwrap();
        assert_eq!(record.kind, "claim");
        assert_eq!(record.tags, ["motor", "2026"]);
        assert_eq!(
            serde_json::to_value(&record.fields).unwrap(),
            json!({"amount": 1200, "insured": "Jane Doe"})
        );
        let twice = fields_of(&[
            "custodia", "record", "submit", "--kind", "c", "--field", "a=1", "--field", "a=2",
        ]);
        assert!(twice.unwrap_err().to_string().contains("twice"));
    }

    #[test]
    fn submit_needs_fields_or_a_file_but_not_both() {
        use clap::Parser as _;
        let parse = |args: &[&str]| {
            crate::Cli::try_parse_from(args)
                .map(|_| ())
                .map_err(|e| e.kind())
        };
        assert_eq!(
            parse(&["custodia", "record", "submit", "--kind", "c"]),
            Err(clap::error::ErrorKind::MissingRequiredArgument)
        );
        assert_eq!(
            parse(&[
                "custodia", "record", "submit", "--kind", "c", "--field", "a=1", "--file", "f.json"
            ]),
            Err(clap::error::ErrorKind::ArgumentConflict)
        );
        assert_eq!(
            parse(&[
                "custodia",
                "record",
                "submit",
                "--kind",
                "c",
                "--file",
                "f.json",
                "--no-wait"
            ]),
            Ok(())
        );
    }

    #[test]
    fn a_fields_file_is_a_json_object() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("fields.json");
        std::fs::write(&good, r#"{"amount": 1200, "insured": {"name": "Jane"}}"#).unwrap();
        let path = good.to_str().unwrap();
        let record = fields_of(&[
            "custodia", "record", "submit", "--kind", "c", "--file", path,
        ])
        .unwrap();
        assert_eq!(
            record.fields.get("insured").cloned().unwrap_or_default(),
            json!({"name": "Jane"})
        );
        let bad = dir.path().join("list.json");
        std::fs::write(&bad, "[1, 2]").unwrap();
        let path = bad.to_str().unwrap();
        let err = fields_of(&[
            "custodia", "record", "submit", "--kind", "c", "--file", path,
        ])
        .unwrap_err()
        .to_string();
        assert!(err.contains("not a JSON object of fields"), "{err}");
    }

    #[test]
    fn list_and_show_parse_their_filters_and_ids() {
        use clap::Parser as _;
        let cli = crate::Cli::try_parse_from([
            "custodia",
            "record",
            "list",
            "--provider",
            "member-a",
            "--status",
            "accepted",
        ])
        .unwrap();
        let crate::Command::Record(Args {
            command: Command::List(list),
        }) = cli.command
        else {
            panic!("not record list");
        };
        assert_eq!(list.status, Some(RecordStatus::Accepted));
        assert_eq!(list.provider.as_deref(), Some("member-a"));
        assert!(
            crate::Cli::try_parse_from(["custodia", "record", "list", "--status", "nope"]).is_err()
        );
        assert!(crate::Cli::try_parse_from(["custodia", "record", "show", "rec_nothex"]).is_err());
    }

    #[test]
    fn records_print_as_a_table_and_one_record_as_key_values() {
        let record = RecordView {
            record_id: "rec_000102030405060708090a0b0c0d0e0f".parse().unwrap(),
            provider: "member-a".into(),
            kind: "claim".into(),
            tags: vec!["motor".into()],
            fields: vec!["amount".into(), "insured".into()],
            commitment: "ab".repeat(32),
            sealed_bytes: 321,
            status: RecordStatus::Rejected,
            reason: Some("amount over limit".into()),
            submitted_height: 4,
            attested_height: Some(5),
        };
        assert_eq!(
            table(std::slice::from_ref(&record)),
            "RECORD                                PROVIDER  KIND   STATUS    BLOCK  FIELDS\n\
             rec_000102030405060708090a0b0c0d0e0f  member-a  claim  rejected  4      amount,insured\n"
        );
        let text = details(&record);
        assert!(
            text.contains("status:       rejected (amount over limit)\n"),
            "{text}"
        );
        assert!(text.contains("attested at:  block 5\n"), "{text}");
    }
}
