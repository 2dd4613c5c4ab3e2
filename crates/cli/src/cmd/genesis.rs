//! `custodia genesis`: assembles the consortium's `org.pub.toml` files into a `genesis.toml`
//! and prints the chain digest. The rules are [`Genesis::validate`]'s; this module only reads
//! the files and says which file (and which field in it) breaks a rule.

use crate::cmd::init::PUB_FILE;
use crate::files;
use anyhow::{Context, Result, anyhow, bail};
use custodia_protocol::{
    Genesis, OrgPublic, Params, Role, genesis::GenesisError, hash, params::MAX_ORGS,
};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Largest `org.pub.toml` accepted, in bytes (a real one is about 400).
const MAX_PUB_FILE_BYTES: u64 = 64 * 1024;

/// Arguments of `custodia genesis`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Human chain id, e.g. custodia-devnet (1 to 64 bytes).
    #[arg(long)]
    pub chain_id: String,
    /// An organisation's org.pub.toml (made by `custodia init`); repeat once per organisation.
    #[arg(long = "org", value_name = "DIR/org.pub.toml", required = true)]
    pub orgs: Vec<PathBuf>,
    /// Where to write the genesis (replaced if it exists).
    #[arg(long, value_name = "genesis.toml")]
    pub out: PathBuf,
    /// Blocks per consensus epoch, fixed forever (64 to 10000000): the validator set changes
    /// only between epochs.
    #[arg(long, value_name = "BLOCKS", default_value_t = Params::default().epoch_length)]
    pub epoch_length: u64,
    /// Most validators an epoch may have, fixed forever (1 to 100): at least the number of
    /// --org files, with room for the organisations the consortium will admit.
    #[arg(long, value_name = "N", default_value_t = Params::default().max_validators)]
    pub max_validators: u64,
}

/// Runs `custodia genesis`.
pub fn run(args: Args) -> Result<()> {
    if args.orgs.len() > MAX_ORGS {
        bail!(
            "{} --org files given: a genesis holds at most {MAX_ORGS} organisations",
            args.orgs.len()
        );
    }
    if let Some(clash) = args.orgs.iter().find(|org| same_file(org, &args.out)) {
        bail!(
            "--out {} is also an --org file: write the genesis somewhere else",
            clash.display()
        );
    }
    let orgs = args
        .orgs
        .iter()
        .map(|path| read_org(path))
        .collect::<Result<Vec<_>>>()?;
    let genesis = Genesis {
        chain_id: args.chain_id,
        params: Params {
            epoch_length: args.epoch_length,
            max_validators: args.max_validators,
            ..Params::default()
        },
        orgs,
    };
    genesis
        .validate()
        .map_err(|err| explain(err, &genesis.orgs, &args.orgs))?;

    files::replace_public(&args.out, &genesis.to_toml())
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    let digest = hash::to_hex(&genesis.digest());
    eprintln!(
        "wrote {}: chain '{}', {} organisations (supervisor: {})",
        args.out.display(),
        genesis.chain_id,
        genesis.orgs.len(),
        genesis.supervisor().map_or("?", |o| o.name.as_str()),
    );
    writeln!(std::io::stdout(), "{digest}").context("cannot print the chain digest")?;
    Ok(())
}

/// Reads one `org.pub.toml`; a malformed file is reported with its path, the field (or line) and
/// the TOML error.
pub(crate) fn read_org(path: &Path) -> Result<OrgPublic> {
    if path.is_dir() {
        bail!(
            "{} is a directory: pass the file, e.g. --org {}",
            path.display(),
            path.join(PUB_FILE).display()
        );
    }
    let text = files::read_text(path, MAX_PUB_FILE_BYTES, "an org.pub.toml")?;
    toml::from_str::<OrgPublic>(&text).map_err(|err| {
        anyhow!(
            "{}: not a valid org.pub.toml: {}; fix the file or regenerate it with `custodia init`",
            path.display(),
            describe_toml_error(&err, &text)
        )
    })
}

/// `field 'F': what` when the error is about one field, else `line N: what`.
fn describe_toml_error(err: &toml::de::Error, text: &str) -> String {
    let message = err.message().trim_end();
    // serde's wording for an absent field: missing field `NAME`.
    if let Some(name) = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.strip_suffix('`'))
    {
        return format!("field '{name}': missing");
    }
    let Some(span) = err.span() else {
        return message.to_string();
    };
    let start = span.start.min(text.len());
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_number = text[..start].matches('\n').count() + 1;
    // A bad value's span starts after `KEY =` on its line; name that key.
    match text[line_start..start].split_once('=') {
        Some((key, _)) if !key.trim().is_empty() => {
            format!("line {line_number}, field '{}': {message}", key.trim())
        }
        _ => format!("line {line_number}: {message}"),
    }
}

/// Turns a genesis rule violation into a message naming the `--org` file(s) and the field.
fn explain(err: GenesisError, orgs: &[OrgPublic], paths: &[PathBuf]) -> anyhow::Error {
    let GenesisError::Invalid { field, message } = err;
    if field == "chain_id" {
        return anyhow!("--chain-id: {message}");
    }
    if let Some(flag) = ["epoch_length", "max_validators"]
        .into_iter()
        .find(|name| field == format!("params.{name}"))
    {
        return anyhow!("--{}: {message}", flag.replace('_', "-"));
    }
    if field == "orgs" && message.contains("max_validators") {
        return anyhow!("{} --org files: {message} (--max-validators)", orgs.len());
    }
    if field == "orgs" {
        return explain_supervisors(&message, orgs, paths)
            .unwrap_or_else(|| anyhow!("{field}: {message}"));
    }
    // Entry errors name their field `orgs[I] (NAME).FIELD`; FIELD has no '.'.
    let Some(index) = org_index(&field).filter(|&i| i < orgs.len()) else {
        return anyhow!("{field}: {message}");
    };
    let sub = field.rsplit('.').next().unwrap_or(&field);
    let org = &orgs[index];
    let earlier = orgs[..index].iter().position(|other| match sub {
        "name" => other.name == org.name,
        "identity_key" => other.identity_key == org.identity_key,
        "encryption_key" => other.encryption_key == org.encryption_key,
        "p2p" => other.p2p == org.p2p,
        _ => false,
    });
    let path = paths[index].display();
    match earlier {
        Some(j) if same_file(&paths[j], &paths[index]) => {
            anyhow!("{path}: field '{sub}': {message}: the file is given twice; drop one --org")
        }
        Some(j) => {
            let hint = match sub {
                "name" => "every organisation needs its own name",
                "p2p" => "every organisation needs its own p2p address",
                _ => "every organisation needs its own keys: run `custodia init` with a new --dir",
            };
            anyhow!(
                "{path}: field '{sub}': {message} (also in {}): {hint}",
                paths[j].display()
            )
        }
        None => anyhow!("{path}: field '{sub}': {message}; fix the file or rerun `custodia init`"),
    }
}

/// The supervisor-count rule, with the files involved; `None` if that rule holds.
fn explain_supervisors(
    message: &str,
    orgs: &[OrgPublic],
    paths: &[PathBuf],
) -> Option<anyhow::Error> {
    let supervisors: Vec<String> = orgs
        .iter()
        .zip(paths)
        .filter(|(org, _)| org.role == Role::Supervisor)
        .map(|(_, path)| path.display().to_string())
        .collect();
    match supervisors.len() {
        0 => {
            let all: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
            Some(anyhow!(
                "{}: field 'role': {message}; add the supervisor's org.pub.toml (made by \
                 `custodia init --role supervisor`)",
                all.join(", ")
            ))
        }
        1 => None,
        _ => Some(anyhow!(
            "{}: field 'role': {message}; keep one supervisor's --org file",
            supervisors.join(", ")
        )),
    }
}

/// `I` of a field named `orgs[I]...`.
fn org_index(field: &str) -> Option<usize> {
    let rest = field.strip_prefix("orgs[")?;
    rest[..rest.find(']')?].parse().ok()
}

/// Whether two paths name the same file (as far as the file system can tell).
fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn org_index_reads_the_entry_number() {
        assert_eq!(org_index("orgs[3] (member-c).name"), Some(3));
        assert_eq!(org_index("orgs[12] (a.b).p2p"), Some(12));
        assert_eq!(org_index("orgs"), None);
        assert_eq!(org_index("chain_id"), None);
    }
}
