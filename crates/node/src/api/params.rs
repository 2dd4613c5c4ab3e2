//! What clients name in paths and query strings — record and request ids, organisations by
//! name, statuses, pages — read into the protocol's types with the contract's error codes.
//! [`Directory`] maps identity keys to organisation names for every answer.

use super::ApiError;
use custodia_api::limits::{DEFAULT_LIMIT, MAX_LIMIT};
use custodia_protocol::{
    IdentityKey, OrgId, RecordId, RequestId, genesis::valid_org_name, record::valid_kind,
};
use std::collections::BTreeMap;

/// A record id from its text form, or a 400 `invalid_record_id`.
pub(crate) fn record_id(text: &str) -> Result<RecordId, ApiError> {
    text.parse().map_err(|err| {
        ApiError::bad_request(
            "invalid_record_id",
            format!("{err}: use a record id as GET /v1/records lists them"),
        )
    })
}

/// A request id from its text form, or a 400 `invalid_request_id`.
pub(crate) fn request_id(text: &str) -> Result<RequestId, ApiError> {
    text.parse().map_err(|err| {
        ApiError::bad_request(
            "invalid_request_id",
            format!("{err}: use a request id as GET /v1/requests lists them"),
        )
    })
}

/// A kind filter: a valid record kind, or a 400 `invalid_query`.
pub(crate) fn kind(kind: Option<String>) -> Result<Option<String>, ApiError> {
    match kind {
        Some(kind) if !valid_kind(&kind) => Err(ApiError::bad_request(
            "invalid_query",
            format!("kind={kind:?} is not a record kind: 1 to 64 of [A-Za-z0-9_.-]"),
        )),
        kind => Ok(kind),
    }
}

/// `(offset, limit)` of a page: limit 100 by default, at most 1000 (else 400 `invalid_query`).
pub(crate) fn page(offset: Option<u64>, limit: Option<u64>) -> Result<(u64, u64), ApiError> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!(
                "limit={limit} is out of range: ask for 1 to {MAX_LIMIT} items a page and page \
                 on with offset"
            ),
        ));
    }
    Ok((integer("offset", offset)?.unwrap_or(0), limit))
}

/// A query's count or height: at most 2^63 - 1 (the document's `int64`), else a 400
/// `invalid_query`.
pub(crate) fn integer(name: &str, value: Option<u64>) -> Result<Option<u64>, ApiError> {
    match value {
        Some(value) if i64::try_from(value).is_err() => Err(ApiError::bad_request(
            "invalid_query",
            format!("{name}={value} is out of range: at most {}", i64::MAX),
        )),
        value => Ok(value),
    }
}

/// The organisations of the chain by id, by key and by name (a name never changes; an id never
/// changes; a key may rotate).
pub(crate) struct Directory {
    orgs: BTreeMap<OrgId, (IdentityKey, String)>,
    by_key: BTreeMap<IdentityKey, OrgId>,
}

impl Directory {
    /// The directory of the organisations the state holds now.
    pub(crate) async fn read(ledger: &std::sync::Arc<crate::Ledger>) -> Result<Self, ApiError> {
        let orgs = super::read::query(ledger, |queries| Ok(queries.orgs()?)).await?;
        Ok(Self::of_orgs(&orgs))
    }

    /// The directory of `orgs`.
    pub(crate) fn of_orgs(orgs: &[custodia_state::Org]) -> Self {
        Self::of_entries(
            orgs.iter()
                .map(|org| (org.id, org.identity_key.clone(), org.name.clone())),
        )
    }

    /// The directory of `genesis` (tests).
    #[cfg(test)]
    pub(crate) fn of(genesis: &custodia_protocol::Genesis) -> Self {
        Self::of_entries(genesis.orgs.iter().enumerate().map(|(position, org)| {
            (
                OrgId(position as u32),
                org.identity_key.clone(),
                org.name.clone(),
            )
        }))
    }

    fn of_entries(entries: impl Iterator<Item = (OrgId, IdentityKey, String)>) -> Self {
        let mut directory = Self {
            orgs: BTreeMap::new(),
            by_key: BTreeMap::new(),
        };
        for (id, key, name) in entries {
            directory.by_key.insert(key.clone(), id);
            directory.orgs.insert(id, (key, name));
        }
        directory
    }

    /// The name of the organisation with `key` (its hex when no organisation has it).
    pub(crate) fn name(&self, key: &IdentityKey) -> String {
        self.id_of(key)
            .map_or_else(|| hex::encode(key.as_ref()), |id| self.name_of_org(id))
    }

    /// The name of organisation `id` (`#id` when the directory does not know it).
    pub(crate) fn name_of_org(&self, id: OrgId) -> String {
        self.orgs
            .get(&id)
            .map_or_else(|| format!("#{id}"), |(_, name)| name.clone())
    }

    /// The name of an optional organisation.
    pub(crate) fn name_of(&self, id: Option<OrgId>) -> Option<String> {
        id.map(|id| self.name_of_org(id))
    }

    /// Whether the directory knows organisation `id`.
    pub(crate) fn knows(&self, id: OrgId) -> bool {
        self.orgs.contains_key(&id)
    }

    /// The organisation whose identity key is `key` now.
    pub(crate) fn id_of(&self, key: &IdentityKey) -> Option<OrgId> {
        self.by_key.get(key).copied()
    }

    /// The id of the organisation named `name`: a 400 `invalid_query` when it cannot be a
    /// name, a 404 `unknown_org` listing the names when no organisation has it.
    pub(crate) fn id(&self, name: &str) -> Result<OrgId, ApiError> {
        if !valid_org_name(name) {
            return Err(ApiError::bad_request(
                "invalid_query",
                format!(
                    "{name:?} is not an organisation name: 1 to 64 of [a-z0-9._-], starting with \
                     a letter or a digit"
                ),
            ));
        }
        self.orgs
            .iter()
            .find(|(_, (_, known))| known.as_str() == name)
            .map(|(id, _)| *id)
            .ok_or_else(|| {
                let mut known: Vec<&str> = self.orgs.values().map(|(_, n)| n.as_str()).collect();
                known.sort_unstable();
                ApiError::not_found(
                    "unknown_org",
                    format!(
                        "no organisation is named {name:?}: use one of {} (GET /v1/orgs)",
                        known.join(", ")
                    ),
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_default_to_100_and_stop_at_1000() {
        assert_eq!(page(None, None).ok(), Some((0, 100)));
        assert_eq!(page(Some(5), Some(1000)).ok(), Some((5, 1000)));
        assert!(page(None, Some(1001)).is_err());
        assert!(page(None, Some(0)).is_err());
    }

    #[test]
    fn malformed_ids_name_their_kind() {
        assert_eq!(
            record_id("req_00").map_err(|e| e.code).err().as_deref(),
            Some("invalid_record_id")
        );
        assert_eq!(
            request_id("rec_00").map_err(|e| e.code).err().as_deref(),
            Some("invalid_request_id")
        );
    }
}
