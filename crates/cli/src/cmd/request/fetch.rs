//! `custodia request fetch`: the delivered fields, opened and verified by the requester's node,
//! printed as JSON or written to a new file only its owner can read.

use super::{
    super::{
        client_args::explain,
        output::{Spinner, print_stdout},
    },
    FetchArgs,
};
use crate::files;
use anyhow::{Result, anyhow, bail};
use custodia_client::{Client, Fetched, Wait};
use std::{path::Path, time::Duration};

pub(super) async fn fetch(client: &Client, args: &FetchArgs) -> Result<()> {
    if let Some(out) = &args.out
        && out.exists()
    {
        return Err(out_exists(out));
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

/// The error of an `--out` file that exists already.
fn out_exists(path: &Path) -> anyhow::Error {
    anyhow!(
        "{} exists: choose another --out (fetched data is never written over a file)",
        path.display()
    )
}

/// Writes fetched data to a new file only its owner can read.
fn write_private(path: &Path, text: &str) -> Result<()> {
    files::create_private(path, text).map_err(|err| {
        if files::already_exists(&err) {
            out_exists(path)
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

#[cfg(test)]
mod tests {
    use super::*;
    use custodia_client::FetchedRecord;

    const REC_A: &str = "rec_000102030405060708090a0b0c0d0e0f";
    const REQ: &str = "req_000102030405060708090a0b0c0d0e0f";

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
