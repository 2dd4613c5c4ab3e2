//! `GET /v1/certificates/{height}` (DESIGN §5.9, §7.9) over a ledger without consensus: a
//! certificate signed by three of the four genesis validators is served with the epoch's set
//! and its signers by name, and checks out; a height without one is 404, a non-number 400.

#[path = "harness/api.rs"]
mod harness;

use axum::http::StatusCode;
use commonware_consensus::{
    aggregation::types::{Ack, Item},
    types::{Epoch, Height},
};
use commonware_parallel::Sequential;
use commonware_utils::{non_empty, ordered::Set};
use custodia_node::certify::{
    COMMITMENT_NAMESPACE, CommitmentCertificate, CommitmentScheme, certificate_bytes, verifier,
    verify_certificate,
};
use custodia_protocol::{Params, hash::to_hex};
use custodia_state::CertificateRow;
use harness::*;

#[tokio::test]
async fn a_stored_certificate_is_served_with_its_set_and_signers_and_checks_out() {
    let chain = Chain::new(Params::default());
    let node = chain.node(1);
    let set = chain
        .ledger
        .validator_sets()
        .set(0)
        .expect("the genesis set");
    let commitment = chain.ledger.head().state_commitment;
    let item = Item {
        height: Height::new(0),
        digest: commitment,
    };
    // Three of the four sign (2f + 1 of 4).
    let acks: Vec<_> = chain.keys[..3]
        .iter()
        .map(|keys| {
            let scheme = CommitmentScheme::signer(
                COMMITMENT_NAMESPACE,
                (*set).clone(),
                keys.identity.clone(),
            )
            .expect("a validator");
            Ack::sign(&scheme, Epoch::zero(), item.clone()).expect("signs")
        })
        .collect();
    let certificate = CommitmentCertificate::from_acks(
        &verifier((*set).clone()),
        non_empty![@acks.iter()],
        &Sequential,
    )
    .expect("a quorum");
    chain
        .ledger
        .certificates()
        .insert(&CertificateRow {
            height: 0,
            epoch: 0,
            commitment,
            certificate: certificate_bytes(&certificate),
        })
        .expect("stores");

    let answer = get(&node, "/v1/certificates/0").await;
    assert_eq!(answer.status, StatusCode::OK);
    let body = answer.json();
    assert_eq!(body["height"], 0);
    assert_eq!(body["epoch"], 0);
    assert_eq!(body["state_commitment"], to_hex(&commitment));
    let validators: Vec<String> = set.iter().map(|key| key.to_string()).collect();
    assert_eq!(body["validators"], serde_json::json!(validators));
    // The signers, by name, in seat order.
    let signer_keys: Vec<_> = chain.keys[..3]
        .iter()
        .map(|keys| keys.identity_key())
        .collect();
    let genesis = chain.ledger.genesis();
    let expected: Vec<&str> = set
        .iter()
        .filter(|key| signer_keys.contains(key))
        .map(|key| {
            genesis
                .orgs
                .iter()
                .find(|org| &org.identity_key == key)
                .expect("a genesis organisation")
                .name
                .as_str()
        })
        .collect();
    assert_eq!(body["signers"], serde_json::json!(expected));
    // What a client checks: the served bytes under the served set.
    let served = hex::decode(body["certificate"].as_str().unwrap()).unwrap();
    let keys = Set::from_iter_dedup(set.iter().cloned());
    let seats = verify_certificate(&keys, 0, &commitment, &served).expect("checks out");
    assert_eq!(seats.len(), 3);
    // It does not certify another height or commitment.
    assert!(verify_certificate(&keys, 1, &commitment, &served).is_err());
    let other = custodia_protocol::hash::sha256(&[b"another state"]);
    assert!(verify_certificate(&keys, 0, &other, &served).is_err());
    let mut flipped = served.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 1;
    assert!(verify_certificate(&keys, 0, &commitment, &flipped).is_err());
}

#[tokio::test]
async fn a_height_without_a_certificate_is_not_found_and_a_non_number_is_a_bad_request() {
    let chain = Chain::new(Params::default());
    let node = chain.node(1);
    let message = get(&node, "/v1/certificates/7")
        .await
        .error(StatusCode::NOT_FOUND, "certificate_not_found");
    assert!(message.contains("block 7"), "{message}");
    assert!(message.contains("certified_height"), "{message}");
    get(&node, "/v1/certificates/seven")
        .await
        .error(StatusCode::BAD_REQUEST, "invalid_height");
    let status = get(&node, "/v1/status").await.json();
    assert_eq!(status["certified_height"], 0, "{status}");
}
