//! `custodia init`: creates an organisation's keys (DESIGN §6.6) in a directory: `org.key` with
//! both secrets (mode 0600, never overwritten) and `org.pub.toml`, the public half and the
//! addresses, to hand to whoever assembles the genesis; plus the node's `config.toml` and a
//! random `api.token` (mode 0600), so `custodia node --config DIR/config.toml` runs once the
//! chain's `genesis.toml` is copied into the directory.

use crate::files;
use anyhow::{Context, Result, anyhow};
use clap::builder::{PossibleValuesParser, TypedValueParser};
use custodia_node::config::{
    ApprovalPolicy, CONFIG_FILE, MempoolConfig, NodeConfig, TOKEN_FILE, mark_new_validator,
};
use custodia_protocol::{OrgKeys, OrgPublic, Role, genesis::GenesisError};
use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
};

/// Name of the secret key file inside the org directory.
pub const KEY_FILE: &str = "org.key";
/// Name of the public file inside the org directory.
pub const PUB_FILE: &str = "org.pub.toml";

const PUB_HEADER: &str = "# custodia organisation: public keys and addresses.\n\
# Hand this file to whoever runs `custodia genesis`; the secrets stay in org.key.\n";

/// Arguments of `custodia init`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Organisation name: lowercase letters, digits, '.', '_' or '-' (e.g. member-a).
    #[arg(long)]
    pub name: String,
    /// The organisation's role in the consortium.
    #[arg(long, value_parser = role_parser())]
    pub role: Role,
    /// p2p address IP:PORT that the other nodes connect to.
    #[arg(long, default_value = "127.0.0.1:7000")]
    pub p2p: String,
    /// REST API address IP:PORT for the organisation's own users.
    #[arg(long, default_value = "127.0.0.1:8000")]
    pub api: String,
    /// Directory to write org.key and org.pub.toml to (created if missing).
    #[arg(long)]
    pub dir: PathBuf,
    #[command(flatten)]
    pub api_transport: ApiTransportArgs,
}

/// How the node serves its API (DESIGN §7.12): an `--api` beyond loopback needs TLS files,
/// or `--api-insecure-plaintext`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ApiTransportArgs {
    /// The API's TLS certificate chain (PEM file); with --api-tls-key the API speaks HTTPS.
    #[arg(long, value_name = "FILE", requires = "api_tls_key")]
    pub api_tls_cert: Option<PathBuf>,
    /// The private key (PEM file, mode 0600) of --api-tls-cert.
    #[arg(long, value_name = "FILE", requires = "api_tls_cert")]
    pub api_tls_key: Option<PathBuf>,
    /// Serve plain HTTP on an --api beyond loopback (only behind a TLS-terminating proxy).
    #[arg(long, conflicts_with = "api_tls_cert")]
    pub api_insecure_plaintext: bool,
}

fn role_parser() -> impl TypedValueParser<Value = Role> {
    PossibleValuesParser::new([Role::Supervisor.as_str(), Role::Member.as_str()])
        .try_map(|text| text.parse::<Role>())
}

/// Runs `custodia init`.
pub fn run(args: Args) -> Result<()> {
    let public = create_org(
        &args.name,
        args.role,
        &args.p2p,
        &args.api,
        &args.dir,
        Path::new(GENESIS_FILE),
        &args.api_transport,
    )?;
    let dir = &args.dir;
    eprintln!(
        "wrote {} (secret keys, mode 0600: keep it private)",
        dir.join(KEY_FILE).display()
    );
    eprintln!(
        "wrote {} ({} '{}': hand it to whoever runs `custodia genesis`)",
        dir.join(PUB_FILE).display(),
        public.role.as_str(),
        public.name
    );
    eprintln!(
        "wrote {} and {} (mode 0600); put the chain's genesis.toml in {} and run \
         `custodia node --config {}`",
        dir.join(CONFIG_FILE).display(),
        dir.join(TOKEN_FILE).display(),
        dir.display(),
        dir.join(CONFIG_FILE).display()
    );
    Ok(())
}

/// `path` as an absolute path (the config's relative paths are relative to its directory, and
/// a flag's to the working directory).
fn absolute(path: Option<&Path>) -> Result<Option<PathBuf>> {
    path.map(|path| {
        std::path::absolute(path).with_context(|| format!("cannot resolve {}", path.display()))
    })
    .transpose()
}

/// Where `custodia init`'s config expects the chain's genesis: beside it.
pub const GENESIS_FILE: &str = "genesis.toml";

/// Creates an organisation directory: `org.key` (0600, never overwritten), `org.pub.toml`, a
/// node `config.toml` reading the genesis at `genesis` (relative to the directory), and a
/// random `api.token` (0600), each written atomically ([`files`]).
pub fn create_org(
    name: &str,
    role: Role,
    p2p: &str,
    api: &str,
    dir: &Path,
    genesis: &Path,
    api_transport: &ApiTransportArgs,
) -> Result<OrgPublic> {
    let keys = OrgKeys::generate();
    let public = OrgPublic {
        name: name.to_string(),
        role,
        identity_key: keys.identity_key(),
        encryption_key: keys.encryption_key(),
        p2p: p2p.to_string(),
        api: api.to_string(),
    };
    // Check everything before touching the disk.
    public.validate("").map_err(flag_error)?;
    let p2p_listen: SocketAddr = p2p
        .parse()
        .map_err(|_| anyhow!("--p2p {p2p}: expected IP:PORT, e.g. 10.0.0.5:7000"))?;
    let api_listen: SocketAddr = api
        .parse()
        .map_err(|_| anyhow!("--api {api}: expected IP:PORT, e.g. 127.0.0.1:8000"))?;
    let public_text = format!(
        "{PUB_HEADER}{}",
        toml::to_string(&public).context("cannot serialize org.pub.toml")?
    );
    let config = NodeConfig {
        org: name.to_string(),
        genesis: genesis.to_path_buf(),
        key: KEY_FILE.into(),
        data_dir: "data".into(),
        api_token_file: TOKEN_FILE.into(),
        p2p_listen,
        api_listen,
        allow_private_ips: true,
        api_tls_cert: absolute(api_transport.api_tls_cert.as_deref())?,
        api_tls_key: absolute(api_transport.api_tls_key.as_deref())?,
        api_insecure_plaintext: api_transport.api_insecure_plaintext,
        approval: ApprovalPolicy::Manual,
        mempool: MempoolConfig::default(),
        api: Default::default(),
        bootstrap_peers: Vec::new(),
    };
    config
        .api_transport()
        .map_err(|err| anyhow!("--api {api}: {err} (here: --api-tls-cert and --api-tls-key, or --api-insecure-plaintext)"))?;

    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create directory {}", dir.display()))?;
    let key_path = dir.join(KEY_FILE);
    files::create_private(&key_path, &keys.to_toml()).map_err(|err| {
        if files::already_exists(&err) {
            anyhow!(
                "{} already exists: refusing to overwrite an organisation's secret keys; \
                 choose another --dir, or move the old org.key away if you really mean to \
                 replace it",
                key_path.display()
            )
        } else {
            anyhow!(err).context(format!("cannot create {}", key_path.display()))
        }
    })?;
    let token = hex::encode(rand::random::<[u8; 32]>());
    let written = files::replace_public(&dir.join(PUB_FILE), &public_text)
        .and_then(|()| files::replace_public(&dir.join(CONFIG_FILE), &config.to_toml()))
        .and_then(|()| files::replace_private(&dir.join(TOKEN_FILE), &format!("{token}\n")))
        .and_then(|()| mark_new_validator(&dir.join(&config.data_dir), &keys.identity_key()));
    if let Err(err) = written {
        // Without its other files the new key is useless and would block a retry: remove it.
        let _ = std::fs::remove_file(&key_path);
        return Err(anyhow!(err).context(format!(
            "cannot write the files of {} (org.key was not kept)",
            dir.display()
        )));
    }
    Ok(public)
}

/// Names the command-line flag an org-entry error is about.
fn flag_error(err: GenesisError) -> anyhow::Error {
    let GenesisError::Invalid { field, message } = err;
    anyhow!("--{field}: {message}")
}
