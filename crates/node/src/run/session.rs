//! One session of a node: the authenticated `lookup` p2p network and the [`crate::engine`] under
//! one identity key (DESIGN §3.3). The ledger, the API and the role workers outlive sessions;
//! when the chain rotates the organisation's identity key, the node stops its session and
//! starts one under the new key (the lookup network has one fixed signer).

use crate::{
    config::NodeConfig,
    engine::{self, Channels, Timing, channel},
    epoch::peers::BootstrapPeer,
    ledger::Ledger,
    p2p,
    vote_gate::VoteGate,
};
use commonware_p2p::authenticated::lookup;
use commonware_runtime::{Handle, Supervisor as _, tokio};
use custodia_protocol::IdentitySecret;
use std::{sync::Arc, time::Duration};

/// How long a new session waits at most for the last one's p2p listener to close.
const PORT_RELEASE: Duration = Duration::from_secs(10);

/// A running session: the network's and the engine's tasks (aborting one aborts its parts).
pub(super) struct Session {
    network: Handle<()>,
    engine: Handle<Result<(), engine::EngineError>>,
}

impl Session {
    /// Starts the network and the engine under `signer` (session number `n`: the metrics of a
    /// session after the first carry `session="n"`, so two never share a metric).
    pub(super) fn start(
        context: &tokio::Context,
        n: u64,
        config: &NodeConfig,
        ledger: &Arc<Ledger>,
        bootstrap: &[BootstrapPeer],
        signer: IdentitySecret,
        new_validator: bool,
    ) -> Self {
        let child = |label| {
            let child = context.child(label);
            if n == 0 {
                child
            } else {
                child.with_attribute("session", n)
            }
        };
        let network_config = p2p::config(
            signer.clone(),
            config.p2p_listen,
            ledger,
            config.allow_private_ips,
            bootstrap.len(),
        );
        let (mut network, oracle) = lookup::Network::new(child("p2p"), network_config);
        let mut register = |ch| network.register(ch, p2p::quota(ch));
        let channels = Channels {
            votes: register(channel::VOTES),
            certificates: register(channel::CERTIFICATES),
            resolver: register(channel::RESOLVER),
            broadcast: register(channel::BROADCAST),
            backfill: register(channel::BACKFILL),
            mempool: register(channel::MEMPOOL),
            commitments: register(channel::COMMITMENTS),
        };
        let network = network.start();
        let engine = engine::start(
            child("node"),
            engine::Config {
                signer,
                ledger: ledger.clone(),
                blocker: oracle.clone(),
                peer_manager: oracle,
                bootstrap: bootstrap.to_vec(),
                partition_prefix: "custodia".into(),
                timing: Timing::default(),
                new_validator,
                vote_gate: VoteGate::open(),
            },
            channels,
        );
        Self { network, engine }
    }

    /// Resolves with why the session ended (it does not while the node runs).
    pub(super) async fn stopped(&mut self) -> String {
        let engine = async {
            match (&mut self.engine).await {
                Ok(Err(err)) => err.to_string(),
                Ok(Ok(())) => "the engine stopped".to_string(),
                Err(err) => format!("the engine stopped: {err}"),
            }
        };
        let network = async { super::stopped("the p2p network", (&mut self.network).await) };
        futures::pin_mut!(engine, network);
        match futures::future::select(engine, network).await {
            futures::future::Either::Left((why, _)) | futures::future::Either::Right((why, _)) => {
                why
            }
        }
    }

    /// Stops the session and waits until its p2p address is free again, for the next session.
    pub(super) async fn stop(self, config: &NodeConfig) {
        self.engine.abort();
        self.network.abort();
        let _ = self.engine.await;
        let _ = self.network.await;
        let deadline = ::tokio::time::Instant::now() + PORT_RELEASE;
        while crate::ports::check_listen(config.p2p_listen, "p2p").is_err()
            && ::tokio::time::Instant::now() < deadline
        {
            ::tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // The engine's tasks are aborted with the session; give them a moment to drop their
        // storage before the next session opens it.
        ::tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
