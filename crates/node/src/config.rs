//! `config.toml`: how one organisation runs its node (DESIGN §7.12). Relative paths are relative
//! to the directory of the config file, so an organisation directory can be moved whole.

use crate::mempool::MempoolLimits;
use serde::{Deserialize, Serialize};
use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
};

/// Name of the config file inside an organisation directory.
pub const CONFIG_FILE: &str = "config.toml";
/// Name of the API token file inside an organisation directory.
pub const TOKEN_FILE: &str = "api.token";
/// Name of the file, inside a node's data directory, that says its node has never voted
/// (DESIGN §3.6). `custodia init` writes it; the node removes it once it applied a block.
pub const NEW_VALIDATOR_FILE: &str = "new-validator";

const NEW_VALIDATOR_TEXT: &str = "\
This data directory was made by `custodia init` and its node has not voted yet.
The node removes this file once it has applied a block. Never create it by hand: a node
that lost its consensus journal (consensus/custodia-simplex) and finds no such file waits
until the chain is past every view it may have voted in before, and only then votes again.
";

/// Writes the [`NEW_VALIDATOR_FILE`] of a data directory that `custodia init` just made.
pub fn mark_new_validator(data_dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(data_dir)?;
    std::fs::write(data_dir.join(NEW_VALIDATOR_FILE), NEW_VALIDATOR_TEXT)
}

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
    /// Approval policy for requests awaiting this organisation's decision.
    #[serde(default)]
    pub approval: ApprovalPolicy,
    /// Mempool bounds.
    #[serde(default)]
    pub mempool: MempoolConfig,
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
        ] {
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
            approval: ApprovalPolicy::Manual,
            mempool: MempoolConfig::default(),
        };
        let path = dir.path().join(CONFIG_FILE);
        std::fs::write(&path, config.to_toml()).unwrap();
        let loaded = NodeConfig::load(&path).unwrap();
        assert_eq!(loaded.genesis, dir.path().join("genesis.toml"));
        assert_eq!(loaded.state_path(), dir.path().join("data/state.sqlite"));
        assert_eq!(loaded.org, "member-a");
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
