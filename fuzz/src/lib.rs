//! What the fuzz targets and the seed generator share: the chain they decode for (the test
//! consortium of `custodia_protocol::testing` with the default parameters, so the codec bounds
//! are the chain's defaults), a fixed record, request and delivery, and the framing of the two
//! sealed targets.
//!
//! Everything here is deterministic: the same seeds come out of every run of `seeds`, and a
//! crashing input replays the same way.

use custodia_protocol::{
    Digest, Genesis, OrgKeys, Params, RecordId, RequestId,
    commitment::{FieldValue, OpenedField, record_commitment},
    record::{RecordHeader, RecordPayload},
    seal::{self, SealError},
    testing,
};
use std::sync::LazyLock;

/// The chain every target decodes for.
pub struct Fixture {
    /// supervisor, member-a, member-b, member-c (keys from seeds 1..=4).
    pub keys: Vec<OrgKeys>,
    /// Their genesis, with the default parameters.
    pub genesis: Genesis,
    /// Its digest.
    pub chain: Digest,
    /// member-a's and member-c's records, on chain.
    pub records: Vec<RecordHeader>,
    /// The records' fields, with their salts, as the supervisor opens them.
    pub opened: Vec<Vec<OpenedField>>,
}

/// Index of the supervisor in [`Fixture::keys`].
pub const SUPERVISOR: usize = 0;
/// Index of the requester of [`REQUEST_ID`] (member-b).
pub const REQUESTER: usize = 2;
/// The request the delivery target opens: member-b asks for member-a's and member-c's records.
pub const REQUEST_ID: RequestId = RequestId([0x22; 16]);
/// Seed of the ephemeral keys of everything the fuzz crate seals.
pub const SEAL_SEED: [u8; 32] = [7; 32];

/// The fixture, made once per process.
pub fn fixture() -> &'static Fixture {
    static FIXTURE: LazyLock<Fixture> = LazyLock::new(make_fixture);
    &FIXTURE
}

/// The chain's parameters (the defaults): every codec bound of the targets comes from them.
pub fn params() -> &'static Params {
    &fixture().genesis.params
}

fn make_fixture() -> Fixture {
    let keys = testing::consortium_keys(4);
    let genesis = testing::genesis_of(&keys, Params::default());
    let chain = genesis.digest();
    let claim = [
        ("amount", serde_json::json!(18250.5)),
        ("claim_no", serde_json::json!("CLM-1")),
        ("insured_name", serde_json::json!("Jane Roe")),
    ];
    let exam = [
        (
            "diagnosis",
            serde_json::json!({"code": "S42.0", "notes": ["fracture", null]}),
        ),
        ("amount", serde_json::json!(-1.25e-7)),
    ];
    let mut records = Vec::new();
    let mut opened = Vec::new();
    for (n, (provider, fields)) in [(1usize, &claim[..]), (3, &exam[..])]
        .into_iter()
        .enumerate()
    {
        let record_id = RecordId([0x11 + n as u8; 16]);
        let (header, fields) = record(record_id, &keys[provider], fields);
        records.push(header);
        opened.push(fields);
    }
    Fixture {
        keys,
        genesis,
        chain,
        records,
        opened,
    }
}

/// A record with fixed salts (`[i + 1; 16]` for the i-th field) and its header.
fn record(
    record_id: RecordId,
    provider: &OrgKeys,
    fields: &[(&str, FieldValue)],
) -> (RecordHeader, Vec<OpenedField>) {
    let mut opened: Vec<OpenedField> = fields
        .iter()
        .enumerate()
        .map(|(i, (name, value))| OpenedField {
            name: name.to_string(),
            salt: [i as u8 + 1; 16],
            value: value.clone(),
        })
        .collect();
    opened.sort_by(|a, b| a.name.cmp(&b.name));
    let leaves: Vec<Digest> = opened.iter().map(OpenedField::leaf).collect();
    let header = RecordHeader {
        record_id,
        provider: provider.identity_key(),
        kind: "claim".into(),
        // On-chain order is the submitted order; the payload is sorted by name.
        fields: fields.iter().map(|(name, _)| name.to_string()).collect(),
        commitment: record_commitment(&record_id, "claim", &leaves),
    };
    (header, opened)
}

impl Fixture {
    /// The JSON plaintext of record `n`, as `record::seal_record` writes it.
    pub fn record_plaintext(&self, n: usize) -> Vec<u8> {
        let payload = RecordPayload {
            fields: self.opened[n].clone(),
        };
        serde_json::to_vec(&payload).expect("a record payload serializes")
    }

    /// `plaintext` sealed to the supervisor as record `n`'s `SubmitRecord.sealed`.
    pub fn seal_record(&self, n: usize, plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
        let header = &self.records[n];
        let aad = seal::record_aad(&self.chain, &header.record_id, &header.provider);
        let key = self.keys[SUPERVISOR].encryption_key();
        seal::seal_seeded(&key, seal::RECORD_INFO, &aad, plaintext, SEAL_SEED)
    }

    /// `plaintext` sealed to the requester as the `Deliver.sealed` of [`REQUEST_ID`].
    pub fn seal_delivery(&self, plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
        let requester = &self.keys[REQUESTER];
        let aad = seal::delivery_aad(&self.chain, &REQUEST_ID, &requester.identity_key());
        let key = requester.encryption_key();
        seal::seal_seeded(&key, seal::DELIVERY_INFO, &aad, plaintext, SEAL_SEED)
    }
}

/// The fields [`REQUEST_ID`] asks for, chosen by a mode byte of the delivery target: all of
/// them (an empty list), or `amount` alone.
pub fn requested_fields(all: bool) -> Vec<String> {
    if all {
        Vec::new()
    } else {
        vec!["amount".to_string()]
    }
}

/// How the two sealed targets read their input: a first byte, then the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// The rest is the sealed bytes as they come from the chain.
    Sealed,
    /// The rest is a plaintext, sealed by the target before it is opened, so the fuzzer
    /// reaches the JSON decoding and the checks behind the HPKE tag.
    Plaintext,
}

/// Splits `data` into its framing (bit 0 of the first byte), the first byte and the rest.
pub fn framing(data: &[u8]) -> Option<(Framing, u8, &[u8])> {
    let (&first, rest) = data.split_first()?;
    let framing = if first & 1 == 0 {
        Framing::Sealed
    } else {
        Framing::Plaintext
    };
    Some((framing, first, rest))
}

/// `value` read back from serde_json's own output: what a JSON value becomes after one trip
/// through a sealed payload. The commitments need it to be the same value.
pub fn json_round_trip<T>(value: &T) -> T
where
    T: serde::Serialize + serde::de::DeserializeOwned,
{
    let text = serde_json::to_vec(value).expect("a decoded value serializes");
    serde_json::from_slice(&text).unwrap_or_else(|err| {
        panic!(
            "serde_json cannot read its own output back: {err}\n{}",
            String::from_utf8_lossy(&text)
        )
    })
}

/// The fuzzer's input as UTF-8 text (a node reads its files with `read_to_string`).
pub fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}
