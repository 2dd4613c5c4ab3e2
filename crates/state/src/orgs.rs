//! The organisations of the chain, cached in memory: every tx looks its signer up.

use custodia_protocol::{
    EncryptionKey, Genesis, IdentityKey, OrgId, Role, keys::identity_key_from_bytes,
};
use rusqlite::{Connection, params};
use std::collections::BTreeMap;

/// What the state knows of one organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Org {
    /// Stable id (DESIGN §4.4).
    pub id: OrgId,
    /// Identity key.
    pub identity_key: IdentityKey,
    /// Name from genesis.
    pub name: String,
    /// Role from genesis.
    pub role: Role,
    /// Current encryption key (the genesis one until a `RotateKeys`).
    pub encryption_key: EncryptionKey,
    /// p2p address from genesis.
    pub p2p: String,
    /// API address from genesis.
    pub api: String,
    /// False once the supervisor suspended it.
    pub active: bool,
    /// Height of the last suspension or reinstatement (0 before any).
    pub status_height: u64,
    /// The reason given then, if any.
    pub status_reason: Option<String>,
    /// Where it stands in the consortium.
    pub membership: Membership,
    /// The height its membership took effect (0 for the genesis) or, while admitted or
    /// leaving, takes effect.
    pub membership_height: u64,
}

/// Where an organisation stands in the consortium (DESIGN §4.10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Membership {
    /// A member (every organisation of the genesis, and an admitted one once in effect).
    Member,
    /// An enacted addition, not yet in effect.
    Admitted,
    /// An enacted removal, not yet in effect: still acts as a member.
    Leaving,
    /// Removed: history only; every tx it signs is refused.
    Removed,
}

impl Membership {
    /// The snake_case name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Membership::Member => "member",
            Membership::Admitted => "admitted",
            Membership::Leaving => "leaving",
            Membership::Removed => "removed",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        [
            Membership::Member,
            Membership::Admitted,
            Membership::Leaving,
            Membership::Removed,
        ]
        .into_iter()
        .find(|m| m.as_str() == text)
    }
}

impl Org {
    /// Whether it counts in a vote and may act: a member or leaving, and not suspended.
    pub fn acts(&self) -> bool {
        self.active && matches!(self.membership, Membership::Member | Membership::Leaving)
    }
}

/// One key of an organisation's history (`org_keys`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgKey {
    /// The organisation.
    pub org: OrgId,
    /// `identity` or `encryption`.
    pub kind: String,
    /// The key's 32 bytes.
    pub key: [u8; 32],
    /// The height it took effect (0: the genesis).
    pub from_height: u64,
}

/// The organisations by stable id, with an index by identity key (the signer of a tx) and the
/// supervisor's id.
#[derive(Debug, Clone, Default)]
pub(crate) struct Orgs {
    by_id: BTreeMap<OrgId, Org>,
    by_key: BTreeMap<IdentityKey, OrgId>,
    supervisor: Option<OrgId>,
}

impl Orgs {
    /// The organisation whose identity key is `key`.
    pub fn get(&self, key: &IdentityKey) -> Option<&Org> {
        self.by_key.get(key).and_then(|id| self.by_id.get(id))
    }

    /// The organisation with stable id `id`.
    pub fn by_id(&self, id: OrgId) -> Option<&Org> {
        self.by_id.get(&id)
    }

    /// The supervisor (every chain has exactly one, `Genesis::validate`).
    pub fn supervisor(&self) -> Option<&Org> {
        self.supervisor.and_then(|id| self.by_id.get(&id))
    }

    /// The organisation with stable id `id`, to change its cached row (never its keys).
    pub fn by_id_mut(&mut self, id: OrgId) -> Option<&mut Org> {
        self.by_id.get_mut(&id)
    }

    /// Every organisation, by id.
    pub fn iter(&self) -> impl Iterator<Item = &Org> {
        self.by_id.values()
    }

    /// Adds an organisation (from the database, or an enacted `AddMember`).
    pub fn insert(&mut self, org: Org) {
        if org.role == Role::Supervisor {
            self.supervisor = Some(org.id);
        }
        self.by_key.insert(org.identity_key.clone(), org.id);
        self.by_id.insert(org.id, org);
    }

    /// Gives organisation `id` the identity key `key` (a rotation in effect): the old key no
    /// longer names it.
    pub fn rekey(&mut self, id: OrgId, key: IdentityKey) {
        let Some(org) = self.by_id.get_mut(&id) else {
            return;
        };
        self.by_key.remove(&org.identity_key);
        self.by_key.insert(key.clone(), id);
        org.identity_key = key;
    }

    /// The id the next admitted organisation gets: one past the largest.
    pub fn next_id(&self) -> OrgId {
        OrgId(self.by_id.keys().next_back().map_or(0, |id| id.0 + 1))
    }

    /// Writes the genesis organisations and their keys (from height 0) into a fresh database.
    pub fn init(conn: &Connection, genesis: &Genesis) -> rusqlite::Result<()> {
        let mut insert = conn.prepare(
            "INSERT INTO orgs (identity_key, position, name, role, encryption_key, p2p, api, active,
                 status_height, status_reason, membership, membership_height)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 1, 0, NULL, 'member', 0)",
        )?;
        let mut key = conn.prepare(
            "INSERT INTO org_keys (org, kind, seq, key, from_height, tx_id)
             VALUES (?1, ?2, 0, ?3, 0, NULL)",
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
            key.execute(params![
                position as i64,
                "identity",
                org.identity_key.as_ref()
            ])?;
            key.execute(params![
                position as i64,
                "encryption",
                &org.encryption_key.0[..]
            ])?;
        }
        Ok(())
    }

    /// Loads every organisation.
    pub fn load(conn: &Connection) -> rusqlite::Result<Self> {
        let mut orgs = Self::default();
        for org in load_orgs(conn)? {
            orgs.insert(org);
        }
        Ok(orgs)
    }
}

/// Every organisation in genesis order.
pub(crate) fn load_orgs(conn: &Connection) -> rusqlite::Result<Vec<Org>> {
    let mut stmt = conn.prepare_cached(
        "SELECT identity_key, name, role, encryption_key, p2p, api, active, position,
             status_height, status_reason, membership, membership_height
         FROM orgs ORDER BY position",
    )?;
    let rows = stmt.query_map([], |row| {
        let key: Vec<u8> = row.get(0)?;
        let role: String = row.get(2)?;
        let enc: Vec<u8> = row.get(3)?;
        let position: i64 = row.get(7)?;
        let status_height: i64 = row.get(8)?;
        Ok(Org {
            id: OrgId(u32::try_from(position).map_err(|_| corrupt("orgs.position"))?),
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
            status_height: status_height.max(0) as u64,
            status_reason: row.get(9)?,
            membership: Membership::parse(&row.get::<_, String>(10)?)
                .ok_or_else(|| corrupt("orgs.membership"))?,
            membership_height: row.get::<_, i64>(11)?.max(0) as u64,
        })
    })?;
    rows.collect()
}

/// Every key of every organisation, by organisation, kind and height.
pub(crate) fn load_org_keys(conn: &Connection) -> rusqlite::Result<Vec<OrgKey>> {
    let mut stmt = conn.prepare_cached(
        "SELECT org, kind, key, from_height FROM org_keys ORDER BY org, kind, seq",
    )?;
    let rows = stmt.query_map([], |row| {
        let org: i64 = row.get(0)?;
        let key: Vec<u8> = row.get(2)?;
        let from_height: i64 = row.get(3)?;
        Ok(OrgKey {
            org: OrgId(u32::try_from(org).map_err(|_| corrupt("org_keys.org"))?),
            kind: row.get(1)?,
            key: key.try_into().map_err(|_| corrupt("org_keys.key"))?,
            from_height: from_height.max(0) as u64,
        })
    })?;
    rows.collect()
}

/// A column holds a value this version did not write.
pub(crate) fn corrupt(column: &str) -> rusqlite::Error {
    rusqlite::Error::InvalidColumnType(0, column.to_string(), rusqlite::types::Type::Blob)
}
