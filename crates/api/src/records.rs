//! Records (DESIGN §1.1 steps 1–2): the body of a submission, its answer, and what listing
//! shows of a record (metadata, never values).

use crate::{Receipt, RecordId, text::RecordStatus};
use serde::{
    Deserialize, Deserializer, Serialize, Serializer,
    de::{MapAccess, Visitor},
    ser::SerializeMap,
};
use serde_json::Value;
use std::{collections::BTreeMap, fmt};

/// Body of `POST /v1/records`: the node commits to the fields, seals them to the supervisor
/// and signs the `SubmitRecord`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewRecord {
    /// The record's kind: 1 to 64 of `[A-Za-z0-9_.-]` (e.g. `claim`).
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::name, example = "claim"))]
    pub kind: String,
    /// Free tags: at most 16, each 1 to 64 characters.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::tags))]
    pub tags: Vec<String>,
    /// The fields: 1 to 256 names (1 to 64 of `[A-Za-z0-9_.-]`), each to any JSON value.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::record_fields))]
    pub fields: Fields,
}

/// The fields of a new record, in the order given. Duplicate names are kept as sent, so the
/// server can refuse them (`duplicate_field`) rather than keep one silently.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Fields(pub Vec<(String, Value)>);

impl Fields {
    /// The value of the first field named `name`.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }
}

impl From<BTreeMap<String, Value>> for Fields {
    fn from(fields: BTreeMap<String, Value>) -> Self {
        Self(fields.into_iter().collect())
    }
}

impl Serialize for Fields {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, value) in &self.0 {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Fields {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FieldsVisitor;
        impl<'de> Visitor<'de> for FieldsVisitor {
            type Value = Fields;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of field names to JSON values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields, A::Error> {
                let mut fields = Vec::new();
                while let Some(entry) = map.next_entry::<String, Value>()? {
                    fields.push(entry);
                }
                Ok(Fields(fields))
            }
        }
        deserializer.deserialize_map(FieldsVisitor)
    }
}

/// The answer of `POST /v1/records`: the record's id and tx, and with `wait=true` the receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecordTx {
    /// The record.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::record_id))]
    pub record_id: RecordId,
    /// The tx that carries the write (hex).
    pub tx_id: String,
    /// Present when the write waited for finalization.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<Receipt>,
}

/// A record's metadata: what the chain says about it, never its values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecordView {
    /// Its id.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::record_id))]
    pub record_id: RecordId,
    /// The organisation that submitted it.
    pub provider: String,
    /// Its kind.
    pub kind: String,
    /// Its tags.
    pub tags: Vec<String>,
    /// Its field names (what a requester may ask for).
    pub fields: Vec<String>,
    /// The provider's commitment to the fields (hex).
    pub commitment: String,
    /// Size of the sealed payload, in bytes.
    pub sealed_bytes: u64,
    /// Where it stands.
    pub status: RecordStatus,
    /// The supervisor's reason, once it gave its verdict.
    pub reason: Option<String>,
    /// Height of the block that holds the submission.
    pub submitted_height: u64,
    /// Height of the supervisor's verdict.
    pub attested_height: Option<u64>,
}

/// `GET /v1/records`: one page of records, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecordPage {
    /// The records.
    pub records: Vec<RecordView>,
    /// Position of the first.
    pub offset: u64,
    /// Most records per page.
    pub limit: u64,
}

/// The query of `GET /v1/records`: which records (unset = any) and which page.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct RecordFilter {
    /// Only this provider's records (organisation name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(schema_with = crate::schema::org_name))]
    pub provider: Option<String>,
    /// Only records of this kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(schema_with = crate::schema::name))]
    pub kind: Option<String>,
    /// Only records in this status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<RecordStatus>,
    /// Skip this many (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    /// At most this many (default 100, at most 1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(schema_with = crate::schema::limit))]
    pub limit: Option<u64>,
}

/// The path of `GET /v1/records/{record_id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Path))]
pub struct RecordPath {
    /// The record (`rec_` and 32 hex digits).
    #[cfg_attr(feature = "openapi", param(schema_with = crate::schema::record_id))]
    pub record_id: String,
}
