//! Writes the seed corpus, `corpus/<target>/seed-*`, from the real encoders: txs of every body
//! signed by the test consortium, batches and blocks of them, the fixture's sealed records and
//! deliveries (sealed and as plaintext, in the framing of their targets), and the files a node
//! reads (genesis.toml, config.toml, org.pub.toml, org.key) as `custodia init` and
//! `custodia genesis` write them. Deterministic: fixed keys, ids, salts, nonces and seal seeds.
//!
//! `cargo fuzz build` builds it with the targets; `.ci/fuzz seeds` runs it from fuzz/ (after
//! deleting the old `seed-*`), as `target/x86_64-unknown-linux-gnu/debug/seeds corpus`. It only
//! writes files named `seed-*`, so the `regression-*` inputs beside them stay.

mod api;
mod check;
mod files;
mod sealed;

use commonware_codec::Encode;
use custodia_fuzz::{Fixture, REQUEST_ID, fixture, requested_fields};
use custodia_node::ChainBlock;
use custodia_protocol::{
    Block, Body, Change, GenesisOrg, GovernedParam, OrgId, ProposalId, Role, Tx,
};

/// The proposal every governance seed names.
const PROPOSAL_ID: ProposalId = ProposalId([0x70; 16]);
use libfuzzer_sys as _; // the instrumented build links libFuzzer's coverage callbacks
use sealed::{bundle_json, deliveries, sealed_records};
use std::{fs, path::Path};

fn main() {
    let out = std::env::args().nth(1).unwrap_or_else(|| "corpus".into());
    let out = Path::new(&out);
    let fx = fixture();
    let txs = txs(fx);
    let mut count = 0;
    let mut put = |target: &str, name: &str, bytes: &[u8]| {
        let dir = out.join(target);
        fs::create_dir_all(&dir).expect("cannot create the corpus directory");
        fs::write(dir.join(format!("seed-{name}")), bytes).expect("cannot write a seed");
        count += 1;
    };
    for (name, tx) in &txs {
        put("tx", name, &tx.encode());
    }
    let all: Vec<Tx> = txs.iter().map(|(_, tx)| tx.clone()).collect();
    put("tx_batch", "empty", &Vec::<Tx>::new().encode());
    put("tx_batch", "one", &all[..1].to_vec().encode());
    put("tx_batch", "every-body", &all.encode());
    put(
        "tx_batch",
        "same-twice",
        &vec![all[9].clone(), all[9].clone()].encode(),
    );

    let genesis_block = Block::genesis(fx.chain);
    put(
        "block",
        "height-0",
        &ChainBlock::new(genesis_block.clone()).encode(),
    );
    let block = |height, txs: &[Tx]| Block {
        parent: genesis_block.digest(),
        height,
        timestamp_ms: 1_764_000_000_000 + height,
        txs: txs.to_vec(),
    };
    put(
        "block",
        "every-body",
        &ChainBlock::new(block(1, &all)).encode(),
    );
    put(
        "block",
        "one-tx",
        &ChainBlock::new(block(2, &all[4..5])).encode(),
    );
    put("block", "empty", &ChainBlock::new(block(3, &[])).encode());

    for (name, bytes) in sealed_records(fx) {
        put("sealed_record", &name, &bytes);
    }
    for (name, bytes) in deliveries(fx) {
        put("delivery", &name, &bytes);
    }
    for (name, bytes) in api::bodies(fx) {
        put("api_json_body", &name, &bytes);
    }
    for (name, bytes) in api::queries(fx) {
        put("api_query", &name, &bytes);
    }
    for (name, text) in files::files(fx) {
        let target = name.split('/').next().unwrap();
        put(target, name.split('/').nth(1).unwrap(), text.as_bytes());
    }
    check::check(out, fx);
    eprintln!("wrote {count} seeds under {}", out.display());
}

/// One signed tx of every body (both outcomes of the booleans), valid until height 120.
fn txs(fx: &Fixture) -> Vec<(String, Tx)> {
    let [supervisor, a, b, c] = [0, 1, 2, 3].map(|i| &fx.keys[i].identity);
    let record = |n: usize, tags: Vec<String>| {
        let header = &fx.records[n];
        Body::SubmitRecord {
            record_id: header.record_id,
            kind: header.kind.clone(),
            tags,
            fields: header.fields.clone(),
            commitment: header.commitment,
            sealed: fx.seal_record(n, &fx.record_plaintext(n)).unwrap().into(),
        }
    };
    let [r0, r1] = [0, 1].map(|n| fx.records[n].record_id);
    let reason = |text: &str| text.to_string();
    let bodies = [
        (
            "submit-record",
            a,
            record(0, vec!["motor".into(), "2026".into()]),
        ),
        ("submit-record-nested", c, record(1, vec![])),
        (
            "attest-accept",
            supervisor,
            Body::AttestRecord {
                record_id: r0,
                accepted: true,
                reason: reason("opened; its 3 fields match the provider's commitment"),
            },
        ),
        (
            "attest-reject",
            supervisor,
            Body::AttestRecord {
                record_id: r1,
                accepted: false,
                reason: reason(
                    "the sealed fields do not match the provider's commitment (commitment_mismatch)",
                ),
            },
        ),
        (
            "request-share",
            b,
            Body::RequestShare {
                request_id: REQUEST_ID,
                record_ids: vec![r0, r1],
                fields: requested_fields(false),
                purpose: "fraud check".into(),
                ttl: 100_000,
            },
        ),
        (
            "request-share-all",
            b,
            Body::RequestShare {
                request_id: REQUEST_ID,
                record_ids: vec![r0],
                fields: vec![],
                purpose: "audit".into(),
                ttl: 1,
            },
        ),
        (
            "decide-approve",
            a,
            Body::Decide {
                request_id: REQUEST_ID,
                approve: true,
                reason: String::new(),
            },
        ),
        (
            "decide-reject",
            supervisor,
            Body::Decide {
                request_id: REQUEST_ID,
                approve: false,
                reason: reason("not proportionate"),
            },
        ),
        (
            "deliver",
            supervisor,
            Body::Deliver {
                request_id: REQUEST_ID,
                sealed: fx.seal_delivery(&bundle_json(fx, false)).unwrap().into(),
            },
        ),
        (
            "cancel",
            b,
            Body::Cancel {
                request_id: REQUEST_ID,
            },
        ),
        (
            "suspend",
            supervisor,
            Body::SetOrgStatus {
                org: OrgId(3),
                active: false,
                reason: "quarterly report overdue".into(),
            },
        ),
        (
            "reinstate",
            supervisor,
            Body::SetOrgStatus {
                org: OrgId(3),
                active: true,
                reason: String::new(),
            },
        ),
        (
            "rotate-keys",
            b,
            Body::RotateKeys {
                encryption_key: custodia_protocol::OrgKeys::from_seed(90).encryption_key(),
            },
        ),
        (
            "propose-add-member",
            b,
            Body::Propose {
                proposal_id: PROPOSAL_ID,
                change: Change::AddMember(Box::new(GenesisOrg {
                    name: "member-d".into(),
                    role: Role::Member,
                    identity_key: custodia_protocol::OrgKeys::from_seed(91).identity_key(),
                    encryption_key: custodia_protocol::OrgKeys::from_seed(91).encryption_key(),
                    p2p: "127.0.0.1:7004".into(),
                    api: "127.0.0.1:8004".into(),
                })),
                ttl: 1_000,
            },
        ),
        (
            "propose-remove-member",
            b,
            Body::Propose {
                proposal_id: PROPOSAL_ID,
                change: Change::RemoveMember { org: OrgId(3) },
                ttl: 1_000,
            },
        ),
        (
            "propose-params",
            b,
            Body::Propose {
                proposal_id: PROPOSAL_ID,
                change: Change::ChangeParams(vec![
                    (GovernedParam::MaxRequestTtl, 5_000),
                    (GovernedParam::GovernancePercent, 66),
                ]),
                ttl: 1_000,
            },
        ),
        (
            "vote-approve",
            supervisor,
            Body::Vote {
                proposal_id: PROPOSAL_ID,
                approve: true,
                reason: String::new(),
            },
        ),
        (
            "vote-reject",
            supervisor,
            Body::Vote {
                proposal_id: PROPOSAL_ID,
                approve: false,
                reason: "not before the audit".into(),
            },
        ),
    ];
    bodies
        .into_iter()
        .enumerate()
        .map(|(i, (name, signer, body))| {
            (
                name.to_string(),
                Tx::sign_with_nonce(signer, fx.chain, 120, i as u64, body),
            )
        })
        .collect()
}
