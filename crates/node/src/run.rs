//! `custodia node`: runs one organisation's node on the tokio runtime — the authenticated
//! `lookup` p2p network with the peers of the genesis, the [`crate::engine`], and the REST API —
//! until SIGINT or SIGTERM.

use crate::{
    Keyring,
    api::{self, ApiContext},
    config::{ApiTransport, NEW_VALIDATOR_FILE, NodeConfig, is_new_validator},
    engine::{self, Channels, Timing, channel},
    epoch::peers::BootstrapPeer,
    ledger::Ledger,
    p2p,
    vote_gate::VoteGate,
    workers,
};
use anyhow::{Context as _, Result, anyhow, bail};
use axum_server::tls_rustls::RustlsConfig;
use commonware_p2p::authenticated::lookup;
use commonware_runtime::{
    Metrics as _, Runner as _, Spawner as _, Supervisor as _, telemetry::metrics::GaugeExt as _,
    tokio,
};
use custodia_protocol::{Genesis, OrgKeys};
use std::{path::Path, sync::Arc, time::Duration};
use tracing::{error, info};

/// Everything a node needs, read and checked before anything starts.
pub struct Prepared {
    config: NodeConfig,
    bootstrap: Vec<BootstrapPeer>,
    genesis: Genesis,
    keys: OrgKeys,
    token: String,
    api_limits: api::ApiLimits,
    tls: Option<RustlsConfig>,
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

/// Runs the node until SIGINT or SIGTERM. With `reindex`, first drops the state database so
/// the executor rebuilds it from the block archive.
pub fn run(prepared: Prepared, reindex: bool) -> Result<()> {
    let Prepared {
        config,
        bootstrap,
        genesis,
        keys,
        token,
        api_limits,
        tls,
    } = prepared;
    std::fs::create_dir_all(config.consensus_dir())
        .with_context(|| format!("cannot create {}", config.data_dir.display()))?;
    let state_path = config.state_path();
    if reindex {
        for suffix in ["", "-wal", "-shm"] {
            let mut file = state_path.clone().into_os_string();
            file.push(suffix);
            let file = std::path::PathBuf::from(file);
            match std::fs::remove_file(&file) {
                Ok(()) => {}
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                Err(err) => {
                    return Err(err).with_context(|| format!("cannot remove {}", file.display()));
                }
            }
        }
        info!("reindex: state dropped; it is rebuilt from the block archive");
    }
    let ledger = Ledger::open(
        genesis.clone(),
        Some(state_path.clone()),
        config.mempool_limits(),
    )
    .with_context(|| format!("cannot open the state {}", state_path.display()))?;
    check_organisation(&ledger, &config, &keys)?;
    let api_listener = std::net::TcpListener::bind(config.api_listen).with_context(|| {
        format!(
            "cannot bind the API address {}: is another node running?",
            config.api_listen
        )
    })?;
    api_listener.set_nonblocking(true)?;
    crate::ports::check_listen(config.p2p_listen, "p2p")?;

    let new_validator_file = config.data_dir.join(NEW_VALIDATOR_FILE);
    let new_validator = is_new_validator(&config.data_dir, &keys.identity_key());
    if !new_validator && new_validator_file.exists() {
        tracing::warn!(
            file = %new_validator_file.display(),
            "the new-validator file names another identity key than this node's: it is ignored"
        );
    }

    let runtime = tokio::Runner::new(
        tokio::Config::new()
            .with_storage_directory(config.consensus_dir())
            .with_worker_threads(2)
            .with_catch_panics(false),
    );
    runtime.start(|context| async move {
        let signer = keys.identity.clone();
        let identity_key = keys.identity_key();
        let keys = Arc::new(Keyring::new(keys, config.key.clone()));
        let network_config = p2p::config(
            signer.clone(),
            config.p2p_listen,
            &ledger,
            config.allow_private_ips,
            bootstrap.len(),
        );
        let (mut network, oracle) = lookup::Network::new(context.child("p2p"), network_config);
        let channels = Channels {
            votes: network.register(channel::VOTES, p2p::quota(channel::VOTES)),
            certificates: network
                .register(channel::CERTIFICATES, p2p::quota(channel::CERTIFICATES)),
            resolver: network.register(channel::RESOLVER, p2p::quota(channel::RESOLVER)),
            broadcast: network.register(channel::BROADCAST, p2p::quota(channel::BROADCAST)),
            backfill: network.register(channel::BACKFILL, p2p::quota(channel::BACKFILL)),
            mempool: network.register(channel::MEMPOOL, p2p::quota(channel::MEMPOOL)),
        };
        let network = network.start();

        let engine = engine::start(
            context.child("node"),
            engine::Config {
                signer,
                ledger: ledger.clone(),
                blocker: oracle.clone(),
                peer_manager: oracle,
                bootstrap,
                partition_prefix: "custodia".into(),
                timing: Timing::default(),
                new_validator,
                vote_gate: VoteGate::open(),
            },
            channels,
        );

        let workers = workers::start(
            context.child("workers"),
            ledger.clone(),
            keys.clone(),
            config.approval,
        );

        if new_validator {
            forget_new_validator(&ledger, identity_key, new_validator_file);
        }

        let metrics_context = context.child("metrics");
        let peers: Arc<dyn Fn() -> usize + Send + Sync> =
            Arc::new(move || connected_peers(&metrics_context.encode()));
        let scrape_peers = peers.clone();
        let scrape_context = context.child("metrics");
        let scrape_ledger = ledger.clone();
        let metrics: Arc<dyn Fn() -> String + Send + Sync> = Arc::new(move || {
            // The peer count is read off p2p's own metrics: refresh it before the scrape.
            if let Some(metrics) = scrape_ledger.metrics() {
                let _ = metrics.peers_connected.try_set(scrape_peers());
            }
            scrape_context.encode()
        });
        let api_context = ApiContext {
            ledger: ledger.clone(),
            org: config.org.clone(),
            keys: keys.clone(),
            token,
            peers,
            metrics,
        };
        let api = context.child("api").spawn(move |_| async move {
            let served = match tls {
                Some(tls) => api::serve_tls(api_listener, api_context, api_limits, tls).await,
                None => match ::tokio::net::TcpListener::from_std(api_listener) {
                    Ok(listener) => api::serve(listener, api_context, api_limits).await,
                    Err(err) => Err(err),
                },
            };
            match served {
                Ok(()) => "the API server stopped".to_string(),
                Err(err) => format!("the API server stopped: {err}"),
            }
        });
        info!(
            org = %config.org,
            p2p = %config.p2p_listen,
            api = %config.api_listen,
            height = ledger.head().height,
            approval = ?config.approval,
            "custodia node running"
        );

        let engine = async move {
            match engine.await {
                Ok(Err(err)) => err.to_string(),
                Ok(Ok(())) => "the engine stopped".to_string(),
                Err(err) => format!("the engine stopped: {err}"),
            }
        };
        let api = async move {
            api.await
                .unwrap_or_else(|err| format!("the API stopped: {err}"))
        };
        let parts: [std::pin::Pin<Box<dyn std::future::Future<Output = String> + Send>>; 4] = [
            Box::pin(engine),
            Box::pin(async move { stopped("the p2p network", network.await) }),
            Box::pin(api),
            Box::pin(async move { stopped("the role workers", workers.await) }),
        ];
        let stopped = futures::future::select_all(parts);
        futures::pin_mut!(stopped);
        let failure = ::tokio::select! {
            _ = shutdown_signal() => {
                info!("stopping on signal");
                None
            }
            (why, _, _) = &mut stopped => {
                error!(reason = %why, "a node component stopped: the node stops");
                Some(why)
            }
        };
        let code = i32::from(failure.is_some());
        let _ = context.stop(code, Some(Duration::from_secs(5))).await;
        match failure {
            None => Ok(()),
            Some(why) => Err(anyhow!("the node stopped: {why}")),
        }
    })
}

/// Checks the config's organisation against the state: the keyring's key must be the one the
/// chain knows the organisation by. A key the state does not know is an organisation still to
/// be admitted (or admitted in blocks this node has not applied yet): the node follows the chain.
fn check_organisation(ledger: &Ledger, config: &NodeConfig, keys: &OrgKeys) -> Result<()> {
    let orgs = ledger
        .query(|queries| Ok(queries.orgs()?))
        .context("cannot read the organisations of the state")?;
    let key = keys.identity_key();
    if let Some(org) = orgs.iter().find(|org| org.identity_key == key) {
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

/// What a part of the node that ended says (none ends while the node runs).
fn stopped(name: &str, ended: Result<(), commonware_runtime::Error>) -> String {
    match ended {
        Ok(()) => format!("{name} stopped"),
        Err(err) => format!("{name} stopped: {err}"),
    }
}

/// Removes the data directory's [`NEW_VALIDATOR_FILE`] once this run applied a block of an
/// epoch in which `key` is a validator: by then the node runs that epoch's engine with its key
/// and keeps a consensus journal, and a later loss of it must close the vote gate. A node that
/// follows the chain before its organisation validates keeps the file meanwhile.
fn forget_new_validator(
    ledger: &Arc<Ledger>,
    key: commonware_cryptography::ed25519::PublicKey,
    file: std::path::PathBuf,
) {
    let mut head = ledger.watch_head();
    let started = head.borrow().height;
    let ledger = ledger.clone();
    ::tokio::spawn(async move {
        while head.changed().await.is_ok() {
            let height = head.borrow().height;
            let epoch = ledger.epochs().of(height);
            let validates = ledger
                .validator_sets()
                .set(epoch)
                .is_some_and(|set| set.position(&key).is_some());
            if height > started && validates {
                if let Err(err) = std::fs::remove_file(&file) {
                    error!(%err, file = %file.display(), "cannot remove the new-validator file");
                }
                return;
            }
        }
    });
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    use ::tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut interrupt), Ok(mut terminate)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        futures::future::pending::<()>().await;
        return;
    };
    ::tokio::select! {
        _ = interrupt.recv() => {},
        _ = terminate.recv() => {},
    }
}

/// Counts the peers the p2p tracker reports connected (its `connected` gauge family has one
/// sample per connected peer).
fn connected_peers(metrics: &str) -> usize {
    metrics
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter(|line| line.contains("_tracker_directory_connected{"))
        .filter(|line| line.rsplit(' ').next().is_some_and(|v| v != "0"))
        .count()
}

#[cfg(test)]
mod tests {
    use super::{connected_peers, prepare};
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

    #[test]
    fn connected_peers_counts_the_tracker_samples() {
        let metrics = "# HELP p2p_tracker_directory_connected x\n\
            p2p_tracker_directory_connected{peer=\"aa\"} 1795529622950\n\
            p2p_tracker_directory_connected{peer=\"bb\"} 0\n\
            p2p_tracker_directory_connected{peer=\"cc\"} 1795529625840\n\
            p2p_tracker_directory_reserved 3\n";
        assert_eq!(connected_peers(metrics), 2);
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
