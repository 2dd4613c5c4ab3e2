//! `custodia audit`: who submitted, requested, approved, rejected and received what, when
//! (DESIGN §1.1 step 7), from the chain; `custodia audit proof`: an entry's or a receipt's
//! inclusion proof, checked here; `custodia audit certificate`: a block's certified state
//! commitment, checked here.

mod certificate;
mod proof;

pub use certificate::check_certificate;

use super::{
    client_args::{GlobalArgs, block_on, explain},
    output::{Table, cut, or_dash, print_json, print_stdout, utc},
};
use anyhow::Result;
use custodia_client::{AuditEntry, AuditFilter, RecordId, RequestId};

/// Arguments of `custodia audit`: the trail, or a subcommand.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// What to do (the trail when none is given).
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Which entries of the trail.
    #[command(flatten)]
    pub trail: TrailArgs,
}

/// The subcommands of `custodia audit`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Fetch an audit entry's (or a tx receipt's) inclusion proof and check it here against
    /// the state commitment of a block.
    Proof(proof::Args),
    /// Fetch the certificate of a block's state commitment (the latest certified block's by
    /// default) and check its validators' signatures here.
    Certificate(certificate::Args),
}

/// Which entries of the trail `custodia audit` lists.
#[derive(Debug, clap::Args)]
pub struct TrailArgs {
    /// Only what concerns this record.
    #[arg(long, value_name = "RECORD_ID")]
    pub record: Option<RecordId>,
    /// Only what concerns this request.
    #[arg(long, value_name = "REQUEST_ID")]
    pub request: Option<RequestId>,
    /// Only what this organisation did or what concerns it.
    #[arg(long, value_name = "NAME")]
    pub org: Option<String>,
    /// Only blocks at or above this height.
    #[arg(long, value_name = "HEIGHT")]
    pub from: Option<u64>,
    /// Only blocks at or below this height.
    #[arg(long, value_name = "HEIGHT")]
    pub to: Option<u64>,
}

/// Runs `custodia audit`.
pub fn run(args: Args, global: &GlobalArgs) -> Result<()> {
    match args.command {
        // (clap's `args_conflicts_with_subcommands` would refuse the global flags too.)
        Some(_) if args.trail.is_set() => anyhow::bail!(
            "--record, --request, --org, --from and --to select the trail: leave them out of \
             `custodia audit proof` or `custodia audit certificate`"
        ),
        Some(Command::Proof(proof)) => proof::run(proof, global),
        Some(Command::Certificate(certificate)) => certificate::run(certificate, global),
        None => trail(args.trail, global),
    }
}

impl TrailArgs {
    fn is_set(&self) -> bool {
        self.record.is_some()
            || self.request.is_some()
            || self.org.is_some()
            || self.from.is_some()
            || self.to.is_some()
    }
}

fn trail(args: TrailArgs, global: &GlobalArgs) -> Result<()> {
    let client = global.client()?;
    let filter = AuditFilter {
        record: args.record,
        request: args.request,
        org: args.org,
        from_height: args.from,
        to_height: args.to,
        ..AuditFilter::default()
    };
    let entries = block_on(async { client.audit_all(&filter).await.map_err(explain) })?;
    if global.json {
        return print_json(&serde_json::json!({ "entries": entries }));
    }
    print_stdout(&table(&entries))
}

/// The audit trail as a table, oldest first.
fn table(entries: &[AuditEntry]) -> String {
    let mut table = Table::new(&[
        "SEQ", "HEIGHT", "TIME", "EVENT", "ACTOR", "SUBJECT", "OBJECT", "DETAIL",
    ]);
    for entry in entries {
        let object = match (&entry.request_id, &entry.record_id) {
            (Some(request), _) => request.to_string(),
            (None, Some(record)) => record.to_string(),
            (None, None) => "-".into(),
        };
        table.row(vec![
            entry.seq.to_string(),
            entry.height.to_string(),
            utc(entry.timestamp_ms),
            entry.kind.clone(),
            or_dash(entry.actor.as_ref()),
            or_dash(entry.subject.as_ref()),
            object,
            cut(&entry.detail),
        ]);
    }
    table.render()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trail_prints_one_aligned_line_per_entry() {
        let record: RecordId = "rec_000102030405060708090a0b0c0d0e0f".parse().unwrap();
        let trail = vec![AuditEntry {
            seq: 1,
            height: 3,
            timestamp_ms: 0,
            tx_index: Some(0),
            tx_id: Some("ab".into()),
            kind: "record_accepted".into(),
            actor: Some("supervisor".into()),
            subject: Some("member-a".into()),
            record_id: Some(record),
            request_id: None,
            detail: String::new(),
            proposal_id: None,
        }];
        let text = table(&trail);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with("SEQ  HEIGHT  TIME"), "{text}");
        assert!(
            lines[1].starts_with(
                "1    3       1970-01-01 00:00:00Z  record_accepted  supervisor  member-a  rec_0001"
            ),
            "{text}"
        );
    }
}
