//! The organisations of the chain, cached in memory: every tx looks its signer up.

use custodia_protocol::{EncryptionKey, Genesis, IdentityKey, Role, keys::identity_key_from_bytes};
use rusqlite::{Connection, params};
use std::collections::BTreeMap;

/// What the state knows of one organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Org {
    /// Identity key.
    pub identity_key: IdentityKey,
    /// Name from genesis.
    pub name: String,
    /// Role from genesis.
    pub role: Role,
    /// Encryption key from genesis.
    pub encryption_key: EncryptionKey,
    /// p2p address from genesis.
    pub p2p: String,
    /// API address from genesis.
    pub api: String,
    /// False once the supervisor suspended it.
    pub active: bool,
}

/// The organisations by identity key.
#[derive(Debug, Clone, Default)]
pub(crate) struct Orgs(BTreeMap<IdentityKey, Org>);

impl Orgs {
    pub fn get(&self, key: &IdentityKey) -> Option<&Org> {
        self.0.get(key)
    }

    pub fn set_active(&mut self, key: &IdentityKey, active: bool) {
        if let Some(org) = self.0.get_mut(key) {
            org.active = active;
        }
    }

    /// Writes the genesis organisations into a fresh database.
    pub fn init(conn: &Connection, genesis: &Genesis) -> rusqlite::Result<()> {
        let mut insert = conn.prepare(
            "INSERT INTO orgs (identity_key, position, name, role, encryption_key, p2p, api, active)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 1)",
        )?;
        for (position, org) in genesis.orgs.iter().enumerate() {
            insert.execute(params![
                org.identity_key.as_ref(),
                position as i64,
                org.name,
                org.role.as_str(),
                &org.encryption_key.0[..],
                org.p2p,
                org.api,
            ])?;
        }
        Ok(())
    }

    /// Loads every organisation.
    pub fn load(conn: &Connection) -> rusqlite::Result<Self> {
        Ok(Self(
            load_orgs(conn)?
                .into_iter()
                .map(|org| (org.identity_key.clone(), org))
                .collect(),
        ))
    }
}

/// Every organisation in genesis order.
pub(crate) fn load_orgs(conn: &Connection) -> rusqlite::Result<Vec<Org>> {
    let mut stmt = conn.prepare_cached(
        "SELECT identity_key, name, role, encryption_key, p2p, api, active FROM orgs ORDER BY position",
    )?;
    let rows = stmt.query_map([], |row| {
        let key: Vec<u8> = row.get(0)?;
        let role: String = row.get(2)?;
        let enc: Vec<u8> = row.get(3)?;
        Ok(Org {
            identity_key: identity_key_from_bytes(&key)
                .ok_or_else(|| corrupt("orgs.identity_key"))?,
            name: row.get(1)?,
            role: role.parse().map_err(|_| corrupt("orgs.role"))?,
            encryption_key: EncryptionKey(
                enc.try_into().map_err(|_| corrupt("orgs.encryption_key"))?,
            ),
            p2p: row.get(4)?,
            api: row.get(5)?,
            active: row.get(6)?,
        })
    })?;
    rows.collect()
}

/// A column holds a value this version did not write.
pub(crate) fn corrupt(column: &str) -> rusqlite::Error {
    rusqlite::Error::InvalidColumnType(0, column.to_string(), rusqlite::types::Type::Blob)
}
