//! Part of `tests/codec_props.rs`: the proptest strategies of every tx body, tx, block and
//! genesis.

use bytes::Bytes;
use custodia_protocol::{
    Block, Body, Digest, Genesis, OrgId, OrgKeys, Params, RecordId, RequestId, Tx,
    params::{MAX_KIND_BYTES, MAX_TAGS},
};
use proptest::{collection::vec, prelude::*, sample::Index};

/// Any text of at most `max_chars` characters (control characters and newlines included); at
/// most 4 bytes a character, so `max_chars = limit / 4` stays within a byte limit.
pub fn text(max_chars: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("(?s).{{0,{max_chars}}}")).expect("valid regex")
}

pub fn any_digest() -> impl Strategy<Value = Digest> {
    any::<[u8; 32]>().prop_map(super::common::digest)
}

pub fn record_id() -> impl Strategy<Value = RecordId> {
    any::<[u8; 16]>().prop_map(RecordId)
}

pub fn request_id() -> impl Strategy<Value = RequestId> {
    any::<[u8; 16]>().prop_map(RequestId)
}

pub fn payload(max_bytes: usize) -> impl Strategy<Value = Bytes> {
    vec(any::<u8>(), 0..=max_bytes).prop_map(Bytes::from)
}

pub fn submit_record() -> impl Strategy<Value = Body> {
    (
        record_id(),
        text(MAX_KIND_BYTES / 4),
        vec(text(16), 0..=MAX_TAGS),
        vec(text(16), 0..12),
        any_digest(),
        payload(2048),
    )
        .prop_map(
            |(record_id, kind, tags, fields, commitment, sealed)| Body::SubmitRecord {
                record_id,
                kind,
                tags,
                fields,
                commitment,
                sealed,
            },
        )
}

pub fn attest_record() -> impl Strategy<Value = Body> {
    (record_id(), any::<bool>(), text(64)).prop_map(|(record_id, accepted, reason)| {
        Body::AttestRecord {
            record_id,
            accepted,
            reason,
        }
    })
}

pub fn request_share() -> impl Strategy<Value = Body> {
    (
        request_id(),
        vec(record_id(), 0..8),
        vec(text(16), 0..8),
        text(64),
        any::<u64>(),
    )
        .prop_map(
            |(request_id, record_ids, fields, purpose, ttl)| Body::RequestShare {
                request_id,
                record_ids,
                fields,
                purpose,
                ttl,
            },
        )
}

pub fn decide() -> impl Strategy<Value = Body> {
    (request_id(), any::<bool>(), text(64)).prop_map(|(request_id, approve, reason)| Body::Decide {
        request_id,
        approve,
        reason,
    })
}

pub fn deliver() -> impl Strategy<Value = Body> {
    (request_id(), payload(4096))
        .prop_map(|(request_id, sealed)| Body::Deliver { request_id, sealed })
}

pub fn cancel() -> impl Strategy<Value = Body> {
    request_id().prop_map(|request_id| Body::Cancel { request_id })
}

pub fn set_org_status() -> impl Strategy<Value = Body> {
    (any::<u32>(), any::<bool>(), text(64)).prop_map(|(org, active, reason)| Body::SetOrgStatus {
        org: OrgId(org),
        active,
        reason,
    })
}

pub fn rotate_keys() -> impl Strategy<Value = Body> {
    any::<[u8; 32]>().prop_map(|key| Body::RotateKeys {
        encryption_key: custodia_protocol::EncryptionKey(key),
    })
}

pub fn rotate_identity() -> impl Strategy<Value = Body> {
    (0u64..64, 0u64..64, any::<[u8; 32]>()).prop_map(|(current, new, chain)| {
        let new = OrgKeys::from_seed(new).identity;
        let current = OrgKeys::from_seed(current).identity_key();
        Body::RotateIdentity {
            identity_key: commonware_cryptography::Signer::public_key(&new),
            proof: custodia_protocol::rotation::prove_possession(
                &new,
                &custodia_protocol::hash::sha256(&[&chain]),
                &current,
            ),
        }
    })
}

pub fn change() -> impl Strategy<Value = custodia_protocol::Change> {
    use custodia_protocol::{Change, GenesisOrg, GovernedParam, Role};
    prop_oneof![
        (0u64..64, "[a-z][a-z0-9-]{0,20}", any::<[u8; 32]>()).prop_map(|(seed, name, enc)| {
            Change::AddMember(Box::new(GenesisOrg {
                name,
                role: Role::Member,
                identity_key: OrgKeys::from_seed(seed).identity_key(),
                encryption_key: custodia_protocol::EncryptionKey(enc),
                p2p: "10.0.0.1:7000".into(),
                api: "10.0.0.1:8000".into(),
            }))
        }),
        any::<u32>().prop_map(|org| Change::RemoveMember { org: OrgId(org) }),
        vec((0usize..3, any::<u64>()), 0..=3).prop_map(|changes| {
            Change::ChangeParams(
                changes
                    .into_iter()
                    .map(|(i, v)| (GovernedParam::ALL[i], v))
                    .collect(),
            )
        }),
    ]
}

pub fn propose() -> impl Strategy<Value = Body> {
    (any::<[u8; 16]>(), change(), any::<u64>()).prop_map(|(id, change, ttl)| Body::Propose {
        proposal_id: custodia_protocol::ProposalId(id),
        change,
        ttl,
    })
}

pub fn vote() -> impl Strategy<Value = Body> {
    (any::<[u8; 16]>(), any::<bool>(), text(64)).prop_map(|(id, approve, reason)| Body::Vote {
        proposal_id: custodia_protocol::ProposalId(id),
        approve,
        reason,
    })
}

pub fn body() -> impl Strategy<Value = Body> {
    prop_oneof![
        submit_record(),
        attest_record(),
        request_share(),
        decide(),
        deliver(),
        cancel(),
        set_org_status(),
        rotate_keys(),
        rotate_identity(),
        propose(),
        vote(),
    ]
}

/// A tx signed by one of a few seeded organisations, so its signature verifies.
pub fn tx() -> impl Strategy<Value = Tx> {
    (0u64..8, any_digest(), any::<u64>(), any::<u64>(), body()).prop_map(
        |(seed, chain, valid_until, nonce, body)| {
            let keys = OrgKeys::from_seed(seed);
            Tx::sign_with_nonce(&keys.identity, chain, valid_until, nonce, body)
        },
    )
}

pub fn block() -> impl Strategy<Value = Block> {
    (any_digest(), any::<u64>(), any::<u64>(), vec(tx(), 0..4)).prop_map(
        |(parent, height, timestamp_ms, txs)| Block {
            parent,
            height,
            timestamp_ms,
            txs,
        },
    )
}

/// Parameters within the genesis bounds (DESIGN §5.4).
pub fn params() -> impl Strategy<Value = Params> {
    use custodia_protocol::genesis::{MAX_TX_TTL_BOUND, MIN_PAYLOAD_BYTES};
    (
        1u64..=MAX_TX_TTL_BOUND,
        MIN_PAYLOAD_BYTES..=1 << 20,
        MIN_PAYLOAD_BYTES..=8 << 20,
        1u64..=1_000_000,
        1u64..=100_000,
        0u64..=1 << 20,
    )
        .prop_map(|(ttl, record, delivery, request_ttl, txs, spare)| {
            let mut params = Params {
                max_tx_ttl: ttl,
                max_record_bytes: record,
                max_delivery_bytes: delivery,
                max_request_ttl: request_ttl,
                max_block_txs: txs,
                max_block_bytes: 0,
                ..Params::default()
            };
            params.max_block_bytes = params.max_deliver_sealed_bytes() + spare;
            params
        })
}

/// A valid genesis: 1 to 6 organisations with keys from distinct seeds, one of them (at a
/// random position) the supervisor.
pub fn genesis() -> impl Strategy<Value = Genesis> {
    (
        "[a-z0-9][a-z0-9.-]{0,63}",
        params(),
        proptest::collection::btree_set(0u64..1_000, 1..=6),
        any::<Index>(),
    )
        .prop_map(|(chain_id, params, seeds, supervisor)| {
            let supervisor = supervisor.index(seeds.len());
            let orgs = seeds
                .iter()
                .enumerate()
                .map(|(i, &seed)| {
                    let role = if i == supervisor {
                        custodia_protocol::Role::Supervisor
                    } else {
                        custodia_protocol::Role::Member
                    };
                    super::common::org(i, seed, role)
                })
                .collect();
            Genesis {
                chain_id,
                params,
                orgs,
            }
        })
}
