//! The consortium's organisations and what the supervisor and each organisation do to them:
//! `GET /v1/orgs`, suspension and reinstatement, encryption-key rotation.

use crate::{
    chain::Receipt,
    text::{Membership, Role},
};
use serde::{Deserialize, Serialize};

/// One organisation of the consortium, as the state knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Org {
    /// Its stable id (its position in the genesis; DESIGN §4.4).
    pub id: u32,
    /// Its name.
    pub name: String,
    /// Its role.
    pub role: Role,
    /// Ed25519 identity key (hex).
    pub identity_key: String,
    /// Current X25519 encryption key (hex).
    pub encryption_key: String,
    /// p2p address `host:port`.
    pub p2p: String,
    /// REST API address `host:port`.
    pub api: String,
    /// False while the supervisor has it suspended.
    pub active: bool,
    /// Where it stands in the consortium.
    pub membership: Membership,
    /// The height its membership took effect, or (admitted, leaving) takes effect.
    pub membership_height: u64,
    /// Height of its last suspension or reinstatement (0 before any).
    pub status_height: u64,
    /// The reason given then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    /// Every key it has had, oldest first, each with the height it took effect.
    pub keys: Vec<OrgKey>,
    /// The first epoch it validates (DESIGN §3.2); absent for an organisation never seated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validator_from: Option<u64>,
    /// Its last epoch as a validator, once a set without it is scheduled (it is leaving or
    /// was removed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validator_until: Option<u64>,
}

/// One key of an organisation's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrgKey {
    /// `identity` or `encryption`.
    #[cfg_attr(feature = "openapi", schema(example = "encryption"))]
    pub kind: String,
    /// The key (hex).
    pub key: String,
    /// The height from which it is the organisation's key (0: the genesis).
    pub from_height: u64,
}

/// `GET /v1/orgs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Orgs {
    /// Every organisation, by id.
    pub orgs: Vec<Org>,
}

/// The path of the endpoints about one organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Path))]
pub struct OrgPath {
    /// The organisation's name.
    #[cfg_attr(feature = "openapi", param(schema_with = crate::schema::org_name))]
    pub name: String,
}

/// Body of `POST /v1/orgs/{name}/suspend`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Suspension {
    /// Why: 1 to 1,024 characters, not blank. It goes on the chain and into the audit trail.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::required_reason))]
    pub reason: String,
}

/// Body of `POST /v1/orgs/{name}/reinstate`, which may also be omitted.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Reinstatement {
    /// Why (optional, at most 1,024 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::reason_or_null))]
    pub reason: Option<String>,
}

/// The answer of a suspension or reinstatement: 202 once admitted, 200 with the receipt once
/// applied (`wait=true`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrgTx {
    /// The organisation.
    pub org: String,
    /// The tx that carries the change (hex).
    pub tx_id: String,
    /// Present when the write waited for finalization.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<Receipt>,
}

/// Body of `POST /v1/keys/rotate`: which key to rotate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct KeyRotation {
    /// Must be true: the encryption key (the identity key rotates with `POST
    /// /v1/keys/identity`).
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::always_true))]
    pub encryption: bool,
}

/// The answer of `POST /v1/keys/rotate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeyRotationTx {
    /// The new encryption key (hex), already in the node's keyring.
    pub encryption_key: String,
    /// The `RotateKeys` tx (hex).
    pub tx_id: String,
    /// Present when the write waited for finalization.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<Receipt>,
}

/// Body of `POST /v1/keys/identity`: nothing (an empty body or `{}`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct IdentityRotation {}

/// The answer of `POST /v1/keys/identity`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IdentityRotationTx {
    /// The new identity key (hex), already in the node's keyring. It signs this
    /// organisation's txs and votes from the first block of the epoch after next; `GET
    /// /v1/orgs` shows from which height.
    pub identity_key: String,
    /// The `RotateIdentity` tx (hex), signed by the current identity key.
    pub tx_id: String,
    /// Present when the write waited for finalization.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<Receipt>,
}
