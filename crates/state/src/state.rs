//! The world state: one SQLite database per node, opened for writing by the executor.

use crate::{
    StateError,
    orgs::Orgs,
    queries::Queries,
    schema::{self, SCHEMA_VERSION},
    sql::digest_from_blob,
};
use commonware_codec::Encode as _;
use custodia_protocol::{Block, Digest, Genesis, Params, hash::to_hex};
use rusqlite::{Connection, OptionalExtension, params};
use std::path::Path;

/// The state machine of one node: applies finalized blocks, answers queries.
pub struct State {
    pub(crate) conn: Connection,
    pub(crate) genesis: Genesis,
    pub(crate) chain: Digest,
    pub(crate) orgs: Orgs,
    pub(crate) params: Params,
    pub(crate) height: u64,
    pub(crate) last_digest: Digest,
    pub(crate) last_timestamp_ms: u64,
    pub(crate) commitment: Digest,
    /// The history after the last applied block, as its peaks (DESIGN §5.7).
    pub(crate) history: custodia_protocol::history::Mmr,
}

impl State {
    /// Opens (or creates) the state database at `path` for the chain of `genesis`.
    pub fn open(path: &Path, genesis: &Genesis) -> Result<Self, StateError> {
        Self::init(Connection::open(path)?, genesis)
    }

    /// A state held in memory only (tests and benchmarks).
    pub fn open_in_memory(genesis: &Genesis) -> Result<Self, StateError> {
        Self::init(Connection::open_in_memory()?, genesis)
    }

    fn init(conn: Connection, genesis: &Genesis) -> Result<Self, StateError> {
        schema::prepare(&conn)?;
        let chain = genesis.digest();
        let stored: Option<Vec<u8>> = conn
            .query_row("SELECT value FROM meta WHERE key = 'chain'", [], |r| {
                r.get(0)
            })
            .optional()?;
        match stored {
            Some(found) if found.as_slice() != chain.as_ref() => {
                return Err(StateError::WrongChain {
                    expected: to_hex(&chain),
                    found: hex::encode(found),
                });
            }
            Some(_) => check_schema_version(&conn)?,
            None => {
                let tx = conn.unchecked_transaction()?;
                Orgs::init(&tx, genesis)?;
                crate::validators::init(&tx, genesis)?;
                let mut put = tx.prepare("INSERT INTO meta (key, value) VALUES (?1, ?2)")?;
                put.execute(params!["chain", chain.as_ref()])?;
                put.execute(params!["chain_id", genesis.chain_id.as_bytes()])?;
                put.execute(params!["genesis", genesis.to_toml().as_bytes()])?;
                put.execute(params!["schema_version", SCHEMA_VERSION.to_be_bytes()])?;
                put.execute(params!["last_height", 0u64.to_be_bytes()])?;
                put.execute(params![
                    "last_block",
                    Block::genesis(chain).digest().as_ref()
                ])?;
                put.execute(params!["last_timestamp_ms", 0u64.to_be_bytes()])?;
                put.execute(params!["state_commitment", chain.as_ref()])?;
                put.execute(params!["params", genesis.params.encode().to_vec()])?;
                drop(put);
                tx.commit()?;
            }
        }
        let orgs = Orgs::load(&conn)?;
        let meta = |key: &str| -> Result<Vec<u8>, StateError> {
            conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
                .optional()?
                .ok_or_else(|| StateError::Corrupt(format!("meta.{key} is missing")))
        };
        let number = |key: &str| -> Result<u64, StateError> {
            let bytes: [u8; 8] = meta(key)?
                .try_into()
                .map_err(|_| StateError::Corrupt(format!("meta.{key} is not a number")))?;
            Ok(u64::from_be_bytes(bytes))
        };
        let height = number("last_height")?;
        let last_timestamp_ms = number("last_timestamp_ms")?;
        let last_digest = digest_from_blob(&meta("last_block")?, "meta.last_block")?;
        let commitment = digest_from_blob(&meta("state_commitment")?, "meta.state_commitment")?;
        let params = Params::from_bytes(&meta("params")?)
            .map_err(|e| StateError::Corrupt(format!("meta.params: {e}")))?;
        let history = crate::history::open(&conn)?;
        Ok(Self {
            conn,
            genesis: genesis.clone(),
            chain,
            orgs,
            params,
            height,
            last_digest,
            last_timestamp_ms,
            commitment,
            history,
        })
    }

    /// The last applied height (0 before the first block).
    pub fn height(&self) -> u64 {
        self.height
    }

    /// The state commitment after the last applied block (the chain digest before any block).
    pub fn state_commitment(&self) -> Digest {
        self.commitment
    }

    /// The digest of the last applied block ([`Block::genesis`]'s before any block).
    pub fn last_block_digest(&self) -> Digest {
        self.last_digest
    }

    /// The timestamp of the last applied block (0 before any block).
    pub fn last_timestamp_ms(&self) -> u64 {
        self.last_timestamp_ms
    }

    /// The chain digest.
    pub fn chain(&self) -> Digest {
        self.chain
    }

    /// The genesis.
    pub fn genesis(&self) -> &Genesis {
        &self.genesis
    }

    /// The chain's parameters after the last applied block: the genesis's, as enacted
    /// proposals changed them (DESIGN §4.10).
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// Read-only queries over this state.
    pub fn queries(&self) -> Queries<'_> {
        Queries::new(&self.conn)
    }
}

/// A database written by another version of the schema is refused: its rows would be read
/// wrongly.
fn check_schema_version(conn: &Connection) -> Result<(), StateError> {
    let stored: Option<Vec<u8>> = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'schema_version'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    let version = stored
        .and_then(|bytes| <[u8; 8]>::try_from(bytes).ok())
        .map(i64::from_be_bytes);
    if version == Some(SCHEMA_VERSION) {
        return Ok(());
    }
    Err(StateError::Corrupt(format!(
        "the state database has schema version {}, this node writes version {SCHEMA_VERSION}: \
         stop the node, remove the state database and start it again to rebuild it from the \
         archive (DESIGN §5.8)",
        version.map_or_else(|| "(none)".to_string(), |v| v.to_string())
    )))
}

/// A read-only view of a state database, for the API while the executor writes.
pub struct StateReader {
    conn: Connection,
}

impl StateReader {
    /// Opens the database at `path` read-only.
    pub fn open(path: &Path) -> Result<Self, StateError> {
        let conn = Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        Ok(Self { conn })
    }

    /// Queries over the latest committed block.
    pub fn queries(&self) -> Queries<'_> {
        Queries::new(&self.conn)
    }
}
