//! `custodia console`: where each devnet organisation's web console is (DESIGN §8.5), and
//! where the token to sign in with is; with `--org-dir`, the console of that organisation.

use super::{
    client_args::{GlobalArgs, block_on},
    devnet::{MANIFEST_FILE, Manifest},
    output::print_stdout,
};
use anyhow::{Context, Result, bail};
use custodia_client::Client;
use std::path::{Path, PathBuf};

/// Arguments of `custodia console`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The devnet's directory (from `custodia devnet`).
    #[arg(long, default_value = "./devnet")]
    pub dir: PathBuf,
    /// Only this organisation's console (default: every organisation of the devnet).
    #[arg(long, value_name = "NAME")]
    pub org: Option<String>,
}

/// Runs `custodia console`.
pub fn run(args: Args, global: &GlobalArgs) -> Result<()> {
    let orgs: Vec<(String, PathBuf)> = match &global.org_dir {
        Some(dir) => vec![(dir.display().to_string(), dir.clone())],
        None => devnet_orgs(&args.dir, args.org.as_deref())?,
    };
    let mut lines = Vec::new();
    for (name, dir) in orgs {
        let (url, token_file) = Client::console_of_org_dir(&dir)?;
        let answers = Client::from_org_dir(&dir).ok().is_some_and(|client| {
            block_on(async { Ok(client.healthz().await.is_ok()) }).unwrap_or(false)
        });
        lines.push(format!("{name}: open {url}"));
        lines.push(format!(
            "  sign in with the API token in {} (cat it and paste it)",
            token_file.display()
        ));
        if !answers {
            lines.push(format!(
                "  its node does not answer yet: start it (custodia devnet --dir {}, or custodia node --config {}/config.toml)",
                args.dir.display(),
                dir.display()
            ));
        }
    }
    print_stdout(&(lines.join("\n") + "\n"))
}

/// The organisations of the devnet in `dir` (only `only`, if given), with their directories.
fn devnet_orgs(dir: &Path, only: Option<&str>) -> Result<Vec<(String, PathBuf)>> {
    let path = dir.join(MANIFEST_FILE);
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "cannot read {} : start a devnet first (custodia devnet --dir {}), or pass --org-dir DIR for a node of your own",
            path.display(),
            dir.display()
        )
    })?;
    let manifest: Manifest = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a devnet manifest", path.display()))?;
    let orgs: Vec<(String, PathBuf)> = manifest
        .orgs
        .into_iter()
        .filter(|org| only.is_none_or(|name| org.name == name))
        .map(|org| (format!("{} ({})", org.name, org.role), org.dir))
        .collect();
    if orgs.is_empty() {
        bail!(
            "the devnet in {} has no organisation named {:?}: see its devnet.json",
            dir.display(),
            only.unwrap_or_default()
        );
    }
    Ok(orgs)
}
