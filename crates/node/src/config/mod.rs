//! `config.toml`: how one organisation runs its node (DESIGN §7.12). Relative paths are relative
//! to the directory of the config file, so an organisation directory can be moved whole.

mod atomic;
mod marker;

pub use atomic::{IfExists, write_atomically};
pub use marker::{NEW_VALIDATOR_FILE, is_new_validator, mark_new_validator};

use crate::{api::ApiLimits, mempool::MempoolLimits};
use serde::{Deserialize, Serialize};
use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

/// Name of the config file inside an organisation directory.
pub const CONFIG_FILE: &str = "config.toml";
/// Name of the API token file inside an organisation directory.
pub const TOKEN_FILE: &str = "api.token";

/// How a node decides requests awaiting its organisation's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalPolicy {
    /// Decide through the API or CLI.
    #[default]
    Manual,
    /// Approve automatically.
    Auto,
}

/// Mempool bounds in the config file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MempoolConfig {
    /// Most txs held.
    pub max_txs: usize,
    /// Most encoded bytes held.
    pub max_bytes: usize,
}

impl Default for MempoolConfig {
    fn default() -> Self {
        let limits = MempoolLimits::default();
        Self {
            max_txs: limits.max_txs,
            max_bytes: limits.max_bytes,
        }
    }
}

/// A node's configuration file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// The organisation's name (must match its genesis entry).
    pub org: String,
    /// The chain's genesis file.
    pub genesis: PathBuf,
    /// The organisation's secret keys.
    pub key: PathBuf,
    /// Where the node keeps its state and consensus storage.
    pub data_dir: PathBuf,
    /// The file holding the API bearer token.
    pub api_token_file: PathBuf,
    /// Address the p2p listener binds (the genesis address is what peers dial).
    pub p2p_listen: SocketAddr,
    /// Address the REST API binds (127.0.0.1 by default: for the organisation's own users).
    pub api_listen: SocketAddr,
    /// Whether peers on private IP ranges (10/8, 192.168/16, 127/8…) are allowed: a
    /// consortium's nodes usually are.
    #[serde(default = "yes")]
    pub allow_private_ips: bool,
    /// The API's TLS certificate chain (PEM). With [`Self::api_tls_key`], the API speaks
    /// HTTPS; required when `api_listen` is not a loopback address (DESIGN §7.12).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_tls_cert: Option<PathBuf>,
    /// The private key (PEM) of [`Self::api_tls_cert`]: a secret file, mode 0600.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_tls_key: Option<PathBuf>,
    /// Serve the API without TLS on a non-loopback address: only behind a TLS-terminating
    /// proxy or on a network nobody else can reach. The token then crosses it in clear.
    #[serde(default, skip_serializing_if = "is_false")]
    pub api_insecure_plaintext: bool,
    /// Approval policy for requests awaiting this organisation's decision.
    #[serde(default)]
    pub approval: ApprovalPolicy,
    /// Mempool bounds.
    #[serde(default)]
    pub mempool: MempoolConfig,
    /// The API's bounds (written only when they differ from the defaults).
    #[serde(default, skip_serializing_if = "ApiConfig::is_default")]
    pub api: ApiConfig,
    /// Nodes to dial while this node's own state knows no validator it can reach: a node of an
    /// organisation admitted after the genesis, started with the genesis file alone, syncs
    /// through them (`[[bootstrap_peers]]`; DESIGN §3.3).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bootstrap_peers: Vec<BootstrapPeerConfig>,
}

/// One `[[bootstrap_peers]]` entry: a peer's identity key (hex, as in its `org.pub.toml`) and
/// the address it listens on for p2p.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BootstrapPeerConfig {
    /// The peer's identity key, hex.
    pub identity_key: String,
    /// Its p2p address, `IP:PORT`.
    pub p2p: SocketAddr,
}

impl NodeConfig {
    /// The bootstrap peers, or which entry is wrong.
    pub fn bootstrap(&self) -> Result<Vec<crate::epoch::peers::BootstrapPeer>, String> {
        self.bootstrap_peers
            .iter()
            .enumerate()
            .map(|(i, peer)| {
                let key = custodia_protocol::keys::identity_key_from_hex(&peer.identity_key)
                    .ok_or_else(|| {
                        format!(
                            "bootstrap_peers[{i}].identity_key is not an identity key (64 hex \
                             digits): copy identity_key from the peer's org.pub.toml"
                        )
                    })?;
                Ok(crate::epoch::peers::BootstrapPeer {
                    key,
                    addr: peer.p2p,
                })
            })
            .collect()
    }
}

/// The API's bounds in the config file (`[api]`; DESIGN §7.10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiConfig {
    /// Requests served at once; more are answered 503 with `Retry-After`.
    pub max_concurrent_requests: usize,
    /// Longest a request that does not wait on the chain may take, in seconds.
    pub request_timeout_secs: u64,
    /// Event streams (`GET /v1/events`) open at once; more are answered 503.
    pub max_event_streams: usize,
}

impl Default for ApiConfig {
    fn default() -> Self {
        let limits = ApiLimits::default();
        Self {
            max_concurrent_requests: limits.max_concurrent_requests,
            request_timeout_secs: limits.request_timeout.as_secs(),
            max_event_streams: limits.max_event_streams,
        }
    }
}

/// Largest `[api]` value accepted: the bounds protect the node, so a bound that is not one
/// (or that overflows a timer) is a mistake in the file.
const MAX_API_BOUND: u64 = 1_000_000;

impl ApiConfig {
    fn is_default(&self) -> bool {
        *self == Self::default()
    }

    /// The limits, or what is wrong with them.
    pub fn limits(&self) -> Result<ApiLimits, String> {
        let check = |name: &str, value: u64| {
            if (1..=MAX_API_BOUND).contains(&value) {
                Ok(())
            } else {
                Err(format!(
                    "[api] {name} = {value} is out of range: give 1 to {MAX_API_BOUND}"
                ))
            }
        };
        check(
            "max_concurrent_requests",
            self.max_concurrent_requests as u64,
        )?;
        check("request_timeout_secs", self.request_timeout_secs)?;
        check("max_event_streams", self.max_event_streams as u64)?;
        Ok(ApiLimits {
            max_concurrent_requests: self.max_concurrent_requests,
            request_timeout: Duration::from_secs(self.request_timeout_secs),
            max_event_streams: self.max_event_streams,
        })
    }
}

/// How a node serves its API ([`NodeConfig::api_transport`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiTransport<'a> {
    /// HTTPS with this certificate chain and key.
    Tls {
        /// The certificate chain (PEM).
        cert: &'a Path,
        /// Its private key (PEM).
        key: &'a Path,
    },
    /// Plain HTTP on a loopback address: only this machine reaches it.
    Loopback,
    /// Plain HTTP beyond loopback, as the config explicitly asks.
    InsecurePlaintext,
}

fn is_false(value: &bool) -> bool {
    !*value
}

fn yes() -> bool {
    true
}

/// Why a config file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a valid config.
    #[error("{path} is not a valid node config: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
}

impl NodeConfig {
    /// Reads a config file and resolves its relative paths against the file's directory.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let mut config: NodeConfig = toml::from_str(&text).map_err(|err| ConfigError::Invalid {
            path: path.display().to_string(),
            message: err.to_string(),
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        for file in [
            &mut config.genesis,
            &mut config.key,
            &mut config.data_dir,
            &mut config.api_token_file,
        ]
        .into_iter()
        .chain(config.api_tls_cert.as_mut())
        .chain(config.api_tls_key.as_mut())
        {
            if file.is_relative() {
                *file = base.join(&*file);
            }
        }
        Ok(config)
    }

    /// The config file's text, with a header comment.
    pub fn to_toml(&self) -> String {
        format!(
            "# custodia node configuration (see `custodia node --help`).\n\
             # Relative paths are relative to this file's directory.\n{}",
            toml::to_string(self).unwrap_or_default()
        )
    }

    /// How the API is served (DESIGN §7.12), or why the config cannot serve it: the TLS
    /// files come together, and an `api_listen` beyond loopback needs them unless
    /// `api_insecure_plaintext = true`.
    pub fn api_transport(&self) -> Result<ApiTransport<'_>, String> {
        match (&self.api_tls_cert, &self.api_tls_key) {
            (Some(cert), Some(key)) => Ok(ApiTransport::Tls { cert, key }),
            (Some(_), None) | (None, Some(_)) => Err(
                "only one of api_tls_cert and api_tls_key is set: give both (the certificate \
                 chain and its private key, PEM files), or neither"
                    .into(),
            ),
            (None, None) if self.api_listen.ip().is_loopback() => Ok(ApiTransport::Loopback),
            (None, None) if self.api_insecure_plaintext => Ok(ApiTransport::InsecurePlaintext),
            (None, None) => Err(format!(
                "api_listen = \"{}\" is reachable from other machines, and the API's bearer \
                 token must not cross a network in clear: set api_tls_cert and api_tls_key \
                 (PEM files), or listen on 127.0.0.1, or (only behind a TLS-terminating proxy) \
                 set api_insecure_plaintext = true",
                self.api_listen
            )),
        }
    }

    /// The mempool bounds.
    pub fn mempool_limits(&self) -> MempoolLimits {
        MempoolLimits {
            max_txs: self.mempool.max_txs,
            max_bytes: self.mempool.max_bytes,
        }
    }

    /// The state database.
    pub fn state_path(&self) -> PathBuf {
        self.data_dir.join("state.sqlite")
    }

    /// The consensus storage (block archive, simplex journal).
    pub fn consensus_dir(&self) -> PathBuf {
        self.data_dir.join("consensus")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_resolve_against_the_config_directory() {
        let dir = tempfile::tempdir().unwrap();
        let config = NodeConfig {
            org: "member-a".into(),
            genesis: "genesis.toml".into(),
            key: "org.key".into(),
            data_dir: "data".into(),
            api_token_file: "api.token".into(),
            p2p_listen: "127.0.0.1:7001".parse().unwrap(),
            api_listen: "127.0.0.1:8001".parse().unwrap(),
            allow_private_ips: true,
            api_tls_cert: Some("tls/cert.pem".into()),
            api_tls_key: None,
            api_insecure_plaintext: false,
            approval: ApprovalPolicy::Manual,
            mempool: MempoolConfig::default(),
            api: ApiConfig::default(),
            bootstrap_peers: Vec::new(),
        };
        let path = dir.path().join(CONFIG_FILE);
        std::fs::write(&path, config.to_toml()).unwrap();
        let loaded = NodeConfig::load(&path).unwrap();
        assert_eq!(loaded.genesis, dir.path().join("genesis.toml"));
        assert_eq!(loaded.state_path(), dir.path().join("data/state.sqlite"));
        assert_eq!(loaded.org, "member-a");
        assert_eq!(loaded.api_tls_cert, Some(dir.path().join("tls/cert.pem")));
        assert_eq!(loaded.api_tls_key, None);
        assert_eq!(loaded.api.limits().unwrap(), ApiLimits::default());
    }

    #[test]
    fn api_bounds_that_bound_nothing_are_refused_with_the_key_to_fix() {
        for (bounds, key) in [
            (
                ApiConfig {
                    max_concurrent_requests: 0,
                    ..ApiConfig::default()
                },
                "max_concurrent_requests",
            ),
            (
                ApiConfig {
                    request_timeout_secs: u64::MAX,
                    ..ApiConfig::default()
                },
                "request_timeout_secs",
            ),
            (
                ApiConfig {
                    max_event_streams: 0,
                    ..ApiConfig::default()
                },
                "max_event_streams",
            ),
        ] {
            let err = bounds.limits().unwrap_err();
            assert!(err.contains(key), "{err}");
        }
    }

    #[test]
    fn unknown_fields_are_refused_with_the_file_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(CONFIG_FILE);
        std::fs::write(&path, "org = \"a\"\ncolour = \"blue\"\n").unwrap();
        let err = NodeConfig::load(&path).unwrap_err().to_string();
        assert!(err.contains("config.toml"), "{err}");
        assert!(err.contains("colour"), "{err}");
    }
}
