//! `custodia node`: runs one organisation's node on the tokio runtime — the authenticated
//! `lookup` p2p network, the [`crate::engine`], and the REST API — until SIGINT or SIGTERM.

mod prepare;
mod session;

pub use prepare::{Prepared, prepare};

use crate::{
    Keyring,
    api::{self, ApiContext},
    config::{NEW_VALIDATOR_FILE, is_new_validator, mark_new_validator},
    identity,
    ledger::Ledger,
    workers,
};
use anyhow::{Context as _, Result, anyhow};
use commonware_runtime::{
    Metrics as _, Runner as _, Spawner as _, Supervisor as _, telemetry::metrics::GaugeExt as _,
    tokio,
};
use session::Session;
use std::{sync::Arc, time::Duration};
use tracing::{error, info};

/// Runs the node until SIGINT or SIGTERM. With `reindex`, first drops the state database so
/// the executor rebuilds it from the block archive.
pub fn run(prepared: Prepared, reindex: bool) -> Result<()> {
    let Prepared {
        config,
        bootstrap,
        genesis,
        mut keys,
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
    prepare::check_organisation(&ledger, &config, &keys)?;
    let api_listener = std::net::TcpListener::bind(config.api_listen).with_context(|| {
        format!(
            "cannot bind the API address {}: is another node running?",
            config.api_listen
        )
    })?;
    api_listener.set_nonblocking(true)?;
    crate::ports::check_listen(config.p2p_listen, "p2p")?;

    let initial_key = {
        let keyring = Keyring::new(keys.clone(), config.key.clone());
        let key = identity::session_key(&ledger, &config.org, &keyring)
            .with_context(|| format!("cannot write the key file {}", config.key.display()))?;
        keys = (*keyring.current()).clone();
        key
    };
    let new_validator_file = config.data_dir.join(NEW_VALIDATOR_FILE);
    if !is_new_validator(&config.data_dir, &initial_key.key()) && new_validator_file.exists() {
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
        let keys = Arc::new(Keyring::new(keys, config.key.clone()));
        let workers = workers::start(
            context.child("workers"),
            ledger.clone(),
            keys.clone(),
            config.approval,
        );

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

        let api = async move {
            api.await
                .unwrap_or_else(|err| format!("the API stopped: {err}"))
        };
        let others: [std::pin::Pin<Box<dyn std::future::Future<Output = String> + Send>>; 2] = [
            Box::pin(api),
            Box::pin(async move { stopped("the role workers", workers.await) }),
        ];
        let others = futures::future::select_all(others);
        futures::pin_mut!(others);
        let shutdown = shutdown_signal();
        futures::pin_mut!(shutdown);
        let mut key = initial_key;
        let mut n = 0;
        let failure = loop {
            if key.promoted
                && let Err(err) = mark_new_validator(&config.data_dir, &key.key())
            {
                break Some(format!("cannot write the new-validator file: {err}"));
            }
            let new_validator = is_new_validator(&config.data_dir, &key.key());
            if new_validator {
                forget_new_validator(&ledger, key.key(), config.data_dir.join(NEW_VALIDATOR_FILE));
            }
            let mut session = Session::start(
                &context,
                n,
                &config,
                &ledger,
                &bootstrap,
                key.secret.clone(),
                new_validator,
            );
            let session_key = key.key();
            let rekey = identity::rekey_due(&ledger, &config.org, &keys, &session_key);
            ::tokio::select! {
                _ = &mut shutdown => {
                    info!("stopping on signal");
                    break None;
                }
                (why, _, _) = &mut others => break Some(why),
                why = session.stopped() => break Some(why),
                next = rekey => match next {
                    Ok(next) => {
                        info!(
                            from = %session_key,
                            to = %next.key(),
                            "the chain rotated this organisation's identity key: the node \
                             restarts its p2p network and consensus under the new key"
                        );
                        session.stop(&config).await;
                        key = next;
                        n += 1;
                    }
                    Err(err) => break Some(format!("cannot write the key file: {err}")),
                },
            }
        };
        if let Some(why) = &failure {
            error!(reason = %why, "a node component stopped: the node stops");
        }
        let code = i32::from(failure.is_some());
        let _ = context.stop(code, Some(Duration::from_secs(5))).await;
        match failure {
            None => Ok(()),
            Some(why) => Err(anyhow!("the node stopped: {why}")),
        }
    })
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
                // A later session's key may have replaced the marker: remove only this key's.
                let Some(dir) = file.parent() else { return };
                if !is_new_validator(dir, &key) {
                    return;
                }
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
    use super::connected_peers;

    #[test]
    fn connected_peers_counts_the_tracker_samples() {
        let metrics = "# HELP p2p_tracker_directory_connected x\n\
            p2p_tracker_directory_connected{peer=\"aa\"} 1795529622950\n\
            p2p_tracker_directory_connected{peer=\"bb\"} 0\n\
            p2p_tracker_directory_connected{peer=\"cc\"} 1795529625840\n\
            p2p_tracker_directory_reserved 3\n";
        assert_eq!(connected_peers(metrics), 2);
    }
}
