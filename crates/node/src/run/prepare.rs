//! What `custodia node` reads and checks before anything starts (DESIGN §7.12): the config,
//! genesis, keys, token and TLS files, and, once the state is open, the organisation.

use crate::{
    api,
    config::{ApiTransport, NodeConfig},
    epoch::peers::BootstrapPeer,
    ledger::Ledger,
};
use anyhow::{Context as _, Result, anyhow, bail};
use axum_server::tls_rustls::RustlsConfig;
use custodia_protocol::{Genesis, OrgKeys};
use std::path::Path;
use tracing::info;

/// Everything a node needs, read and checked before anything starts.
pub struct Prepared {
    pub(super) config: NodeConfig,
    pub(super) bootstrap: Vec<BootstrapPeer>,
    pub(super) genesis: Genesis,
    pub(super) keys: OrgKeys,
    pub(super) token: String,
    pub(super) api_limits: api::ApiLimits,
    pub(super) tls: Option<RustlsConfig>,
}

/// Never shows the token (the keys show only their public halves).
impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared")
            .field("config", &self.config)
            .field("genesis", &self.genesis.chain_id)
            .field("keys", &self.keys)
            .field("token", &format_args!("<redacted>"))
            .field("api_limits", &self.api_limits)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

/// Reads and checks the config, genesis, keys and token of a node.
pub fn prepare(config_path: &Path) -> Result<Prepared> {
    let config = NodeConfig::load(config_path)?;
    let genesis_text = read(&config.genesis, "genesis")?;
    let genesis = Genesis::from_toml(&genesis_text)
        .map_err(|err| anyhow!("{}: {err}", config.genesis.display()))?;
    genesis
        .validate()
        .map_err(|err| anyhow!("{}: {err}", config.genesis.display()))?;
    check_private(&config.key, "key")?;
    let keys = OrgKeys::from_toml(&read(&config.key, "key")?)
        .map_err(|err| anyhow!("{}: {err}", config.key.display()))?;
    // A key the genesis names must be under the config's name; a key it does not name may be
    // an organisation admitted later, which the state tells once the node opens it (`run`).
    if let Some(org) = genesis.org(&keys.identity_key())
        && org.name != config.org
    {
        bail!(
            "{} says org = \"{}\", but its key belongs to \"{}\" in the genesis: fix `org` in the config",
            config_path.display(),
            config.org,
            org.name
        );
    }
    let bootstrap = config
        .bootstrap()
        .map_err(|err| anyhow!("{}: {err}", config_path.display()))?;
    check_private(&config.api_token_file, "API token")?;
    let token = read(&config.api_token_file, "API token")?
        .trim()
        .to_string();
    if token.len() < 16 {
        bail!(
            "{} holds no usable token (at least 16 characters): write a long random token to it",
            config.api_token_file.display()
        );
    }
    let api_limits = config
        .api
        .limits()
        .map_err(|err| anyhow!("{}: {err}", config_path.display()))?;
    let tls = api_tls(&config, config_path)?;
    Ok(Prepared {
        config,
        bootstrap,
        genesis,
        keys,
        token,
        api_limits,
        tls,
    })
}

/// The API's TLS configuration, if it is served over TLS ([`NodeConfig::api_transport`]).
fn api_tls(config: &NodeConfig, config_path: &Path) -> Result<Option<RustlsConfig>> {
    let file = config_path.display();
    match config
        .api_transport()
        .map_err(|err| anyhow!("{file}: {err}"))?
    {
        ApiTransport::Tls { cert, key } => {
            check_private(key, "API TLS key")?;
            let tls = api::tls::server_config(cert, key).map_err(|err| anyhow!("{file}: {err}"))?;
            Ok(Some(tls))
        }
        ApiTransport::Loopback => Ok(None),
        ApiTransport::InsecurePlaintext => {
            tracing::warn!(
                api = %config.api_listen,
                "the API serves plaintext HTTP beyond loopback (api_insecure_plaintext = true): \
                 its bearer token crosses the network in clear"
            );
            Ok(None)
        }
    }
}

/// Refuses a secret file that users other than its owner may read or write, as ssh does with a
/// private key, saying how to fix it.
fn check_private(path: &Path, what: &str) -> Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    let metadata = std::fs::metadata(path)
        .with_context(|| format!("cannot read the {what} file {}", path.display()))?;
    let mode = metadata.permissions().mode() & 0o7777;
    if mode & 0o077 == 0 {
        return Ok(());
    }
    let how = match (mode & 0o044 != 0, mode & 0o022 != 0) {
        (true, true) => "readable and writable by other users",
        (true, false) => "readable by other users",
        (false, true) => "writable by other users",
        (false, false) => "accessible by other users",
    };
    bail!(
        "{} is {how} (mode {mode:04o}): run chmod 600 {}",
        path.display(),
        path.display()
    )
}

fn read(path: &Path, what: &str) -> Result<String> {
    std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the {what} file {}", path.display()))
}

/// Checks the config's organisation against the state: the keyring's key must be the one the
/// chain knows the organisation by. A key the state does not know is an organisation still to
/// be admitted (or admitted in blocks this node has not applied yet): the node follows the chain.
pub(super) fn check_organisation(
    ledger: &Ledger,
    config: &NodeConfig,
    keys: &OrgKeys,
) -> Result<()> {
    let orgs = ledger
        .query(|queries| Ok(queries.orgs()?))
        .context("cannot read the organisations of the state")?;
    // The current key, or one the keyring rotated to or from: the state may be ahead of the
    // key file (a crash before the keyring promoted the next key) or behind it (a reindex).
    if let Some(org) = orgs
        .iter()
        .find(|org| keys.identity_secret_for(&org.identity_key).is_some())
    {
        if org.name != config.org {
            bail!(
                "the config says org = \"{}\", but its key belongs to \"{}\" on the chain: fix `org` in the config",
                config.org,
                org.name
            );
        }
        return Ok(());
    }
    if let Some(org) = orgs.iter().find(|org| org.name == config.org) {
        bail!(
            "the chain knows \"{}\" by another identity key than the one in {}: check that this \
             directory's org.key is the one whose org.pub.toml went into the genesis or the \
             proposal that admitted the organisation",
            org.name,
            config.key.display()
        );
    }
    info!(
        org = %config.org,
        "this organisation is not on the chain yet, as far as this node has applied it: the node \
         follows the chain, and validates from the first epoch after its admission takes effect"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::prepare;
    use crate::config::{ApprovalPolicy, MempoolConfig, NodeConfig};
    use custodia_protocol::{Genesis, GenesisOrg, OrgKeys, Params, Role};
    use std::{os::unix::fs::PermissionsExt as _, path::Path};

    const TOKEN: &str = "0123456789abcdef0123456789abcdef";

    /// An organisation directory that `prepare` accepts: its config file.
    fn org_dir(dir: &Path) -> std::path::PathBuf {
        let keys = OrgKeys::from_seed(1);
        let genesis = Genesis {
            chain_id: "custodia-test".into(),
            params: Params::default(),
            orgs: vec![GenesisOrg {
                name: "supervisor".into(),
                role: Role::Supervisor,
                identity_key: keys.identity_key(),
                encryption_key: keys.encryption_key(),
                p2p: "127.0.0.1:7000".into(),
                api: "127.0.0.1:8000".into(),
            }],
        };
        let config = NodeConfig {
            org: "supervisor".into(),
            genesis: "genesis.toml".into(),
            key: "org.key".into(),
            data_dir: "data".into(),
            api_token_file: "api.token".into(),
            p2p_listen: "127.0.0.1:7000".parse().unwrap(),
            api_listen: "127.0.0.1:8000".parse().unwrap(),
            allow_private_ips: true,
            api_tls_cert: None,
            api_tls_key: None,
            api_insecure_plaintext: false,
            approval: ApprovalPolicy::Manual,
            mempool: MempoolConfig::default(),
            api: Default::default(),
            bootstrap_peers: Vec::new(),
        };
        let write = |name: &str, text: &str, mode: u32| {
            let path = dir.join(name);
            std::fs::write(&path, text).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        };
        write("genesis.toml", &genesis.to_toml(), 0o644);
        write("config.toml", &config.to_toml(), 0o644);
        write("org.key", &keys.to_toml(), 0o600);
        write("api.token", &format!("{TOKEN}\n"), 0o600);
        dir.join("config.toml")
    }

    fn chmod(path: &Path, mode: u32) {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn prepare_accepts_private_secrets_and_its_debug_shows_neither_token_nor_keys() {
        let dir = tempfile::tempdir().unwrap();
        let prepared = prepare(&org_dir(dir.path())).unwrap();
        let printed = format!("{prepared:?} {prepared:#?}");
        assert!(!printed.contains(TOKEN), "{printed}");
        assert!(!printed.contains(&TOKEN[..16]), "{printed}");
        let keys = OrgKeys::from_seed(1);
        let identity = hex::encode(commonware_codec::Encode::encode(&keys.identity));
        let encryption = hex::encode(keys.encryption.to_bytes());
        assert!(!printed.contains(&identity), "{printed}");
        assert!(!printed.contains(&encryption), "{printed}");
        assert!(printed.contains("token: <redacted>"), "{printed}");
    }

    #[test]
    fn prepare_refuses_a_key_file_other_users_can_read() {
        let dir = tempfile::tempdir().unwrap();
        let config = org_dir(dir.path());
        let key = dir.path().join("org.key");
        chmod(&key, 0o644);
        let err = prepare(&config).unwrap_err().to_string();
        let path = key.display();
        assert_eq!(
            err,
            format!("{path} is readable by other users (mode 0644): run chmod 600 {path}")
        );
        chmod(&key, 0o620);
        let err = prepare(&config).unwrap_err().to_string();
        assert!(
            err.contains("is writable by other users (mode 0620)"),
            "{err}"
        );
        chmod(&key, 0o400);
        prepare(&config).unwrap();
    }

    #[test]
    fn prepare_refuses_a_token_file_other_users_can_read() {
        let dir = tempfile::tempdir().unwrap();
        let config = org_dir(dir.path());
        let token = dir.path().join("api.token");
        chmod(&token, 0o640);
        let err = prepare(&config).unwrap_err().to_string();
        let path = token.display();
        assert_eq!(
            err,
            format!("{path} is readable by other users (mode 0640): run chmod 600 {path}")
        );
        chmod(&token, 0o666);
        let err = prepare(&config).unwrap_err().to_string();
        assert!(
            err.contains("is readable and writable by other users (mode 0666)"),
            "{err}"
        );
    }

    /// Appends `lines` to the top of the config file (before its tables).
    fn configure(config: &Path, lines: &str) {
        let text = std::fs::read_to_string(config).unwrap();
        let text = text.replacen("\napi_listen", &format!("\n{lines}\napi_listen"), 1);
        std::fs::write(config, text).unwrap();
    }

    #[test]
    fn prepare_refuses_tls_files_it_cannot_use_naming_them() {
        let dir = tempfile::tempdir().unwrap();
        let config = org_dir(dir.path());
        configure(
            &config,
            "api_tls_cert = \"cert.pem\"\napi_tls_key = \"key.pem\"",
        );
        let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        std::fs::write(&cert, "not a certificate").unwrap();
        std::fs::write(&key, "not a key").unwrap();
        chmod(&key, 0o644);
        let err = prepare(&config).unwrap_err().to_string();
        assert!(err.contains("readable by other users"), "{err}");
        assert!(
            err.contains(&format!("chmod 600 {}", key.display())),
            "{err}"
        );
        chmod(&key, 0o600);
        let err = prepare(&config).unwrap_err().to_string();
        assert!(
            err.contains(&format!(
                "{} holds no certificate in PEM form",
                cert.display()
            )),
            "{err}"
        );
    }

    #[test]
    fn prepare_refuses_an_api_beyond_loopback_without_tls_unless_plaintext_is_asked_for() {
        let dir = tempfile::tempdir().unwrap();
        let config = org_dir(dir.path());
        let text = std::fs::read_to_string(&config).unwrap();
        let open = text.replace(
            "api_listen = \"127.0.0.1:8000\"",
            "api_listen = \"0.0.0.0:8000\"",
        );
        std::fs::write(&config, &open).unwrap();
        let err = prepare(&config).unwrap_err().to_string();
        for part in [
            "0.0.0.0:8000",
            "api_tls_cert",
            "api_insecure_plaintext = true",
        ] {
            assert!(err.contains(part), "{err}");
        }
        configure(&config, "api_insecure_plaintext = true");
        prepare(&config).unwrap();
        std::fs::write(&config, &open).unwrap();
        configure(&config, "api_tls_key = \"key.pem\"");
        let err = prepare(&config).unwrap_err().to_string();
        assert!(
            err.contains("only one of api_tls_cert and api_tls_key"),
            "{err}"
        );
    }

    #[test]
    fn prepare_refuses_api_bounds_out_of_range() {
        let dir = tempfile::tempdir().unwrap();
        let config = org_dir(dir.path());
        let text = std::fs::read_to_string(&config).unwrap();
        std::fs::write(&config, format!("{text}\n[api]\nmax_event_streams = 0\n")).unwrap();
        let err = prepare(&config).unwrap_err().to_string();
        assert!(
            err.contains("[api] max_event_streams = 0 is out of range"),
            "{err}"
        );
    }
}
