//! What every client command shares: the global flags that say which node to talk to and how
//! to print (`--org-dir`, `--node`, `--token`, `--json`, accepted before or after the
//! subcommand), the flags of a write (`--no-wait`, `--timeout`), and turning the client's
//! errors into messages that say what to do.

use anyhow::{Result, anyhow, bail};
use custodia_client::{Client, Receipt, TxStatus, Wait};
use std::{
    path::PathBuf,
    time::{Duration, Instant},
};

/// Environment variable naming the node's API URL.
pub const NODE_ENV: &str = "CUSTODIA_NODE";
/// Environment variable holding the node's API token.
pub const TOKEN_ENV: &str = "CUSTODIA_TOKEN";
/// Environment variable naming the certificate (PEM) to trust for an `https://` node.
pub const CA_CERT_ENV: &str = "CUSTODIA_CA_CERT";
/// The API's longest wait, in seconds.
const MAX_TIMEOUT_SECONDS: u64 = 600;

/// Global flags of the client commands.
#[derive(Clone, Default, PartialEq, Eq, clap::Args)]
pub struct GlobalArgs {
    /// The organisation directory (from `custodia init` or `custodia devnet`): the node's
    /// address from DIR/config.toml, its token from DIR/api.token.
    #[arg(long, global = true, value_name = "DIR", conflicts_with_all = ["node", "token", "ca_cert"])]
    pub org_dir: Option<PathBuf>,
    /// The node's API URL, e.g. http://127.0.0.1:8001 [env: CUSTODIA_NODE]
    #[arg(long, global = true, value_name = "URL")]
    pub node: Option<String>,
    /// The node's API token (its api.token file) [env: CUSTODIA_TOKEN]
    #[arg(long, global = true, value_name = "TOKEN")]
    pub token: Option<String>,
    /// The certificate (PEM) to trust for an https:// --node: the node's own, or its CA's
    /// [env: CUSTODIA_CA_CERT]
    #[arg(long, global = true, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    /// Print machine-readable JSON on stdout instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
}

/// Never shows the token.
impl std::fmt::Debug for GlobalArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GlobalArgs")
            .field("org_dir", &self.org_dir)
            .field("node", &self.node)
            .field("token", &self.token.as_ref().map(|_| Redacted))
            .field("ca_cert", &self.ca_cert)
            .field("json", &self.json)
            .finish()
    }
}

/// Where the client commands find their node.
#[derive(Clone, PartialEq, Eq)]
pub enum Target {
    /// An organisation directory.
    OrgDir(PathBuf),
    /// A URL and a token.
    Node {
        /// The API URL.
        url: String,
        /// The bearer token.
        token: String,
    },
}

/// Never shows the token.
impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::OrgDir(dir) => f.debug_tuple("OrgDir").field(dir).finish(),
            Target::Node { url, token: _ } => f
                .debug_struct("Node")
                .field("url", url)
                .field("token", &Redacted)
                .finish(),
        }
    }
}

/// What a `Debug` shows in place of a secret.
struct Redacted;

impl std::fmt::Debug for Redacted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl GlobalArgs {
    /// The warning printed when the token is given with `--token`: the command line is visible
    /// to every user of the machine (`ps`, `/proc`) and is kept in the shell's history.
    pub fn token_warning(&self) -> Option<String> {
        self.token
            .as_ref()
            .filter(|token| !token.trim().is_empty())?;
        Some(format!(
            "warning: --token puts the API token on the command line, where other users of this \
             machine can see it (ps, /proc) and your shell history keeps it: set {TOKEN_ENV} \
             instead, or use --org-dir DIR to read it from DIR/api.token"
        ))
    }

    /// Where to connect: `--org-dir`, else `--node`/`--token` with `CUSTODIA_NODE` /
    /// `CUSTODIA_TOKEN` filling in what the flags leave out (flags win over the environment).
    pub fn target(&self, env_node: Option<String>, env_token: Option<String>) -> Result<Target> {
        if let Some(dir) = &self.org_dir {
            return Ok(Target::OrgDir(dir.clone()));
        }
        let given = |value: Option<String>| value.filter(|v| !v.trim().is_empty());
        let Some(url) = given(self.node.clone()).or(given(env_node)) else {
            bail!(
                "no node to talk to: pass --org-dir DIR (the organisation's directory), or \
                 --node URL --token TOKEN, or set {NODE_ENV} and {TOKEN_ENV}"
            );
        };
        let Some(token) = given(self.token.clone()).or(given(env_token)) else {
            bail!(
                "no API token for {url}: pass --token TOKEN (the node's api.token file) or set \
                 {TOKEN_ENV}, or use --org-dir DIR"
            );
        };
        Ok(Target::Node { url, token })
    }

    /// A client of the node these flags (and the environment) name.
    pub fn client(&self) -> Result<Client> {
        if let Some(warning) = self.token_warning() {
            eprintln!("{warning}");
        }
        let env = |name| std::env::var(name).ok();
        let client = match self.target(env(NODE_ENV), env(TOKEN_ENV))? {
            Target::OrgDir(dir) => Client::from_org_dir(&dir),
            Target::Node { url, token } => {
                let ca_cert = self.ca_cert.clone().or_else(|| {
                    env(CA_CERT_ENV)
                        .filter(|v| !v.trim().is_empty())
                        .map(PathBuf::from)
                });
                let certificate = match &ca_cert {
                    Some(path) => Some(std::fs::read(path).map_err(|err| {
                        anyhow!(
                            "cannot read the certificate {} (--ca-cert): {err}",
                            path.display()
                        )
                    })?),
                    None => None,
                };
                Client::with_certificate(&url, token, certificate.as_deref())
            }
        };
        client.map_err(explain)
    }
}

/// Flags of a command that writes a tx.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct WaitArgs {
    /// Return once the node's mempool took the tx, without waiting for a block.
    #[arg(long)]
    pub no_wait: bool,
    /// Seconds to wait for the tx to be finalized (and for whatever else the command awaits).
    #[arg(long, value_name = "SECONDS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=MAX_TIMEOUT_SECONDS))]
    pub timeout: u64,
}

impl WaitArgs {
    /// The timeout.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout)
    }

    /// The client's wait option.
    pub fn wait(&self) -> Wait {
        if self.no_wait {
            Wait::No
        } else {
            Wait::Finalized(self.timeout())
        }
    }
}

/// Runs a client command's future on a runtime of its own.
pub fn block_on<T>(future: impl Future<Output = Result<T>>) -> Result<T> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| anyhow!("cannot start the async runtime: {err}"))?;
    runtime.block_on(future)
}

/// Waits up to `timeout` for `tx_id` to be finalized (for a write sent without waiting); its
/// receipt, or an error saying why the tx failed.
pub async fn finalized(client: &Client, tx_id: &str, timeout: Duration) -> Result<Receipt> {
    match client.wait_receipt(tx_id, timeout).await.map_err(explain)? {
        TxStatus::Applied(receipt) if receipt.is_ok() => Ok(receipt),
        TxStatus::Applied(receipt) => bail!(
            "tx {tx_id} failed in block {}: {} ({})",
            receipt.height,
            receipt.message,
            receipt.code
        ),
        TxStatus::Pending { .. } => bail!("tx {tx_id} is still pending"),
    }
}

/// The time left until `deadline` (at least a second, so a last look is still taken).
pub fn remaining(deadline: Instant) -> Duration {
    deadline
        .saturating_duration_since(Instant::now())
        .max(Duration::from_secs(1))
}

/// Rows asked for per page when a list command reads every page.
const PAGE: u64 = 1000;

/// Every row of a paged listing: `page(offset, limit)` reads one page, until a short one.
pub async fn all_pages<T, Page>(mut page: impl FnMut(u64, u64) -> Page) -> Result<Vec<T>>
where
    Page: Future<Output = custodia_client::Result<Vec<T>>>,
{
    let mut rows = Vec::new();
    loop {
        let next = page(rows.len() as u64, PAGE).await.map_err(explain)?;
        let full = next.len() as u64 >= PAGE;
        rows.extend(next);
        if !full {
            return Ok(rows);
        }
    }
}

/// The client's error, with a hint where the flags are the likely cause.
pub fn explain(err: custodia_client::Error) -> anyhow::Error {
    match err.code() {
        Some("unauthorized") => anyhow!(
            "{err}; check --token / {TOKEN_ENV}, or use --org-dir DIR to read the token from \
             the organisation's api.token"
        ),
        _ => anyhow!(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Cli;
    use clap::Parser;

    fn global(args: &[&str]) -> GlobalArgs {
        Cli::try_parse_from(args).expect("parses").global
    }

    #[test]
    fn global_flags_work_before_and_after_the_subcommand() {
        let expected = GlobalArgs {
            org_dir: None,
            node: Some("http://127.0.0.1:8001".into()),
            token: Some("t".into()),
            ca_cert: None,
            json: true,
        };
        for args in [
            &[
                "custodia",
                "--node",
                "http://127.0.0.1:8001",
                "--token",
                "t",
                "--json",
                "status",
            ][..],
            &[
                "custodia",
                "status",
                "--node",
                "http://127.0.0.1:8001",
                "--token",
                "t",
                "--json",
            ],
            &[
                "custodia",
                "--json",
                "record",
                "--node",
                "http://127.0.0.1:8001",
                "list",
                "--token",
                "t",
            ],
        ] {
            assert_eq!(global(args), expected, "{args:?}");
        }
        let dir = global(&[
            "custodia",
            "request",
            "list",
            "--org-dir",
            "devnet/member-a",
        ]);
        assert_eq!(dir.org_dir, Some(PathBuf::from("devnet/member-a")));
    }

    #[test]
    fn org_dir_conflicts_with_node_and_token() {
        for args in [
            &[
                "custodia",
                "--org-dir",
                "d",
                "--node",
                "http://a:1",
                "status",
            ][..],
            &["custodia", "status", "--org-dir", "d", "--token", "t"],
        ] {
            let err = Cli::try_parse_from(args).unwrap_err();
            assert_eq!(
                err.kind(),
                clap::error::ErrorKind::ArgumentConflict,
                "{args:?}"
            );
        }
    }

    #[test]
    fn flags_win_over_the_environment_which_fills_in_the_rest() {
        let env = |v: &str| Some(v.to_string());
        let flags = global(&["custodia", "status", "--node", "http://flag:1"]);
        assert_eq!(
            flags.target(env("http://env:1"), env("env-token")).unwrap(),
            Target::Node {
                url: "http://flag:1".into(),
                token: "env-token".into()
            }
        );
        let none = global(&["custodia", "status"]);
        assert_eq!(
            none.target(env("http://env:1"), env("env-token")).unwrap(),
            Target::Node {
                url: "http://env:1".into(),
                token: "env-token".into()
            }
        );
        // --org-dir is a flag too: it wins over the environment.
        let dir = global(&["custodia", "status", "--org-dir", "d"]);
        assert_eq!(
            dir.target(env("http://env:1"), env("t")).unwrap(),
            Target::OrgDir("d".into())
        );
    }

    #[test]
    fn a_missing_node_or_token_says_how_to_give_one() {
        let none = global(&["custodia", "status"]);
        let err = none.target(None, Some("t".into())).unwrap_err().to_string();
        assert!(err.contains("--org-dir") && err.contains(NODE_ENV), "{err}");
        let err = none
            .target(Some("http://a:1".into()), Some("  ".into()))
            .unwrap_err()
            .to_string();
        assert!(err.contains("--token") && err.contains(TOKEN_ENV), "{err}");
    }

    #[test]
    fn debug_never_shows_the_token() {
        let token = "8f3a9c0d1e2b4f5a6c7d8e9f0a1b2c3d";
        let args = global(&[
            "custodia",
            "status",
            "--node",
            "http://127.0.0.1:8001",
            "--token",
            token,
        ]);
        let printed = format!("{args:?} {args:#?}");
        assert!(!printed.contains(token), "{printed}");
        assert!(!printed.contains(&token[..8]), "{printed}");
        assert!(printed.contains("<redacted>"), "{printed}");
        let cli = Cli::try_parse_from(["custodia", "status", "--token", token]).unwrap();
        let printed = format!("{cli:?}");
        assert!(!printed.contains(token), "{printed}");
        // No token given: nothing to hide, and it says so.
        assert!(format!("{:?}", global(&["custodia", "status"])).contains("token: None"));
    }

    #[test]
    fn a_target_debug_never_shows_the_token() {
        let token = "8f3a9c0d1e2b4f5a6c7d8e9f0a1b2c3d";
        let target = Target::Node {
            url: "http://127.0.0.1:8001".into(),
            token: token.into(),
        };
        let printed = format!("{target:?} {target:#?}");
        assert!(!printed.contains(token), "{printed}");
        assert!(!printed.contains(&token[..8]), "{printed}");
        assert!(printed.contains("http://127.0.0.1:8001"), "{printed}");
    }

    #[test]
    fn a_token_on_the_command_line_is_warned_about_and_the_alternatives_named() {
        let flag = global(&["custodia", "status", "--node", "http://a:1", "--token", "t"]);
        let warning = flag.token_warning().expect("a warning");
        assert!(warning.starts_with("warning: --token"), "{warning}");
        assert!(warning.contains("other users"), "{warning}");
        assert!(warning.contains(TOKEN_ENV), "{warning}");
        assert!(warning.contains("--org-dir"), "{warning}");
        // The environment or an organisation directory: no warning.
        assert_eq!(global(&["custodia", "status"]).token_warning(), None);
        let dir = global(&["custodia", "status", "--org-dir", "d"]);
        assert_eq!(dir.token_warning(), None);
    }

    #[test]
    fn audit_proof_takes_the_global_flags_on_either_side() {
        for args in [
            &["custodia", "audit", "--org-dir", "d", "proof", "7"][..],
            &["custodia", "audit", "proof", "7", "--org-dir", "d"],
            &[
                "custodia",
                "--org-dir",
                "d",
                "audit",
                "proof",
                "--tx",
                &"ab".repeat(32),
            ],
        ] {
            assert_eq!(global(args).org_dir, Some("d".into()), "{args:?}");
        }
        // A seq or a tx, not both, not neither.
        assert!(Cli::try_parse_from(["custodia", "audit", "proof"]).is_err());
        let both = ["custodia", "audit", "proof", "7", "--tx", &"ab".repeat(32)];
        assert!(Cli::try_parse_from(both).is_err());
    }

    #[test]
    fn timeouts_are_bounded_and_no_wait_skips_the_wait() {
        assert!(
            Cli::try_parse_from([
                "custodia",
                "request",
                "cancel",
                "req_000102030405060708090a0b0c0d0e0f",
                "--timeout",
                "0"
            ])
            .is_err()
        );
        assert!(
            Cli::try_parse_from([
                "custodia",
                "request",
                "cancel",
                "req_000102030405060708090a0b0c0d0e0f",
                "--timeout",
                "601"
            ])
            .is_err()
        );
        let args = WaitArgs {
            no_wait: true,
            timeout: 5,
        };
        assert_eq!(args.wait(), Wait::No);
        let args = WaitArgs {
            no_wait: false,
            timeout: 5,
        };
        assert_eq!(args.wait(), Wait::Finalized(Duration::from_secs(5)));
    }
}
