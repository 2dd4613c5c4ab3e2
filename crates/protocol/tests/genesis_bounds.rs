//! The bounds of the genesis parameters (DESIGN §5.4): a genesis whose parameters could make
//! height arithmetic overflow, or the codecs and p2p messages absurdly large, is refused with an
//! error naming the parameter, its value and the bound.

mod common;

use bytes::Bytes;
use commonware_codec::EncodeSize;
use custodia_protocol::{
    Body, Genesis, Params, RecordId, Tx, TxCfg,
    genesis::{
        GenesisError, MAX_BLOCK_BYTES_BOUND, MAX_BLOCK_TXS_BOUND, MAX_EPOCH_LENGTH,
        MAX_REQUEST_TTL_BOUND, MAX_TX_TTL_BOUND, MAX_VALIDATORS_BOUND, MIN_BLOCK_BYTES,
        MIN_EPOCH_LENGTH, MIN_PAYLOAD_BYTES, SUBMIT_RECORD_OVERHEAD_BYTES,
    },
    params::{MAX_FIELD_NAME_BYTES, MAX_FIELDS, MAX_KIND_BYTES, MAX_TAG_CHARS, MAX_TAGS},
};

fn with_params(params: Params) -> Genesis {
    let mut genesis = common::genesis("custodia-test", &[0, 1, 2]);
    genesis.params = params;
    genesis
}

/// The error of a genesis with these parameters (panics if it is accepted).
fn refusal(params: Params) -> (String, String) {
    match with_params(params).validate() {
        Ok(()) => panic!("accepted: {params:?}"),
        Err(GenesisError::Invalid { field, message }) => (field, message),
    }
}

/// Asserts that `params` is refused for `name`, and the message names its value and `bound`.
fn refused_for(params: Params, name: &str, value: u64, bound: u64) {
    let (field, message) = refusal(params);
    assert_eq!(field, format!("params.{name}"), "{message}");
    assert!(message.contains(&value.to_string()), "{field}: {message}");
    assert!(message.contains(&bound.to_string()), "{field}: {message}");
    // The whole error reads as one line naming all three.
    let text = GenesisError::Invalid { field, message }.to_string();
    assert!(text.starts_with(&format!("params.{name}: ")), "{text}");
}

#[test]
fn the_default_parameters_and_the_bounds_themselves_are_accepted() {
    assert_eq!(with_params(Params::default()).validate(), Ok(()));
    let largest = Params {
        max_tx_ttl: MAX_TX_TTL_BOUND,
        max_request_ttl: MAX_REQUEST_TTL_BOUND,
        max_block_txs: MAX_BLOCK_TXS_BOUND,
        max_block_bytes: MAX_BLOCK_BYTES_BOUND,
        max_record_bytes: MAX_BLOCK_BYTES_BOUND - SUBMIT_RECORD_OVERHEAD_BYTES,
        max_delivery_bytes: 8 << 20,
        max_proposal_ttl: MAX_REQUEST_TTL_BOUND,
        governance_percent: 99,
        epoch_length: MAX_EPOCH_LENGTH,
        max_validators: MAX_VALIDATORS_BOUND,
    };
    assert_eq!(with_params(largest).validate(), Ok(()));
    let smallest = Params {
        max_tx_ttl: 1,
        max_request_ttl: 1,
        max_block_txs: 1,
        max_record_bytes: MIN_PAYLOAD_BYTES,
        max_delivery_bytes: MIN_PAYLOAD_BYTES,
        max_proposal_ttl: 1,
        governance_percent: 0,
        epoch_length: MIN_EPOCH_LENGTH,
        max_validators: 3,
        ..Params::default()
    };
    assert_eq!(with_params(smallest).validate(), Ok(()));
}

#[test]
fn governed_parameters_out_of_their_range_are_refused() {
    let params = Params {
        governance_percent: 100,
        ..Params::default()
    };
    refused_for(params, "governance_percent", 100, 99);
    let params = Params {
        max_proposal_ttl: 0,
        ..Params::default()
    };
    refused_for(params, "max_proposal_ttl", 0, MAX_REQUEST_TTL_BOUND);
}

#[test]
fn a_max_tx_ttl_over_its_bound_is_refused() {
    for value in [MAX_TX_TTL_BOUND + 1, u64::MAX / 2, u64::MAX] {
        let params = Params {
            max_tx_ttl: value,
            ..Params::default()
        };
        refused_for(params, "max_tx_ttl", value, MAX_TX_TTL_BOUND);
    }
}

#[test]
fn a_max_request_ttl_over_its_bound_is_refused() {
    for value in [MAX_REQUEST_TTL_BOUND + 1, i64::MAX as u64, u64::MAX] {
        let params = Params {
            max_request_ttl: value,
            ..Params::default()
        };
        refused_for(params, "max_request_ttl", value, MAX_REQUEST_TTL_BOUND);
    }
}

#[test]
fn a_max_block_txs_over_its_bound_is_refused() {
    let value = MAX_BLOCK_TXS_BOUND + 1;
    let params = Params {
        max_block_txs: value,
        ..Params::default()
    };
    refused_for(params, "max_block_txs", value, MAX_BLOCK_TXS_BOUND);
}

#[test]
fn a_max_block_bytes_over_its_bound_is_refused() {
    for value in [MAX_BLOCK_BYTES_BOUND + 1, u32::MAX as u64, u64::MAX] {
        let params = Params {
            max_block_bytes: value,
            ..Params::default()
        };
        refused_for(params, "max_block_bytes", value, MAX_BLOCK_BYTES_BOUND);
    }
}

#[test]
fn payload_limits_under_their_lower_bound_are_refused() {
    let value = MIN_PAYLOAD_BYTES - 1;
    let params = Params {
        max_record_bytes: value,
        ..Params::default()
    };
    refused_for(params, "max_record_bytes", value, MIN_PAYLOAD_BYTES);
    let params = Params {
        max_delivery_bytes: value,
        ..Params::default()
    };
    refused_for(params, "max_delivery_bytes", value, MIN_PAYLOAD_BYTES);
}

#[test]
fn a_max_record_bytes_whose_record_would_not_fit_a_block_is_refused() {
    let block = Params::default().max_block_bytes;
    let bound = block - SUBMIT_RECORD_OVERHEAD_BYTES;
    let fits = Params {
        max_record_bytes: bound,
        ..Params::default()
    };
    assert_eq!(with_params(fits).validate(), Ok(()));
    let params = Params {
        max_record_bytes: bound + 1,
        ..Params::default()
    };
    refused_for(params, "max_record_bytes", bound + 1, bound);
    // Far over: still refused for the record, not for an overflow.
    let params = Params {
        max_record_bytes: u64::MAX,
        ..Params::default()
    };
    refused_for(params, "max_record_bytes", u64::MAX, bound);
}

#[test]
fn a_max_delivery_bytes_whose_delivery_would_not_fit_a_block_is_refused() {
    let block = Params::default().max_block_bytes;
    let overhead =
        Params::default().max_deliver_sealed_bytes() - Params::default().max_delivery_bytes;
    let bound = block - overhead;
    let fits = Params {
        max_delivery_bytes: bound,
        ..Params::default()
    };
    assert_eq!(with_params(fits).validate(), Ok(()));
    for value in [bound + 1, u64::MAX] {
        let params = Params {
            max_delivery_bytes: value,
            ..Params::default()
        };
        refused_for(params, "max_delivery_bytes", value, bound);
    }
}

#[test]
fn a_max_block_bytes_too_small_for_a_delivery_is_refused() {
    let value = MIN_BLOCK_BYTES - 1;
    let params = Params {
        max_block_bytes: value,
        max_delivery_bytes: MIN_PAYLOAD_BYTES,
        max_record_bytes: MIN_PAYLOAD_BYTES,
        ..Params::default()
    };
    refused_for(params, "max_block_bytes", value, MIN_BLOCK_BYTES);
}

#[test]
fn zero_parameters_are_still_refused() {
    for (name, params) in [
        (
            "max_tx_ttl",
            Params {
                max_tx_ttl: 0,
                ..Params::default()
            },
        ),
        (
            "max_request_ttl",
            Params {
                max_request_ttl: 0,
                ..Params::default()
            },
        ),
        (
            "max_block_txs",
            Params {
                max_block_txs: 0,
                ..Params::default()
            },
        ),
    ] {
        let (field, message) = refusal(params);
        assert_eq!(field, format!("params.{name}"), "{message}");
    }
}

/// The allowance of a block for the parts of a `SubmitRecord` other than its sealed payload
/// covers the largest such tx the codec accepts, with the block's header.
#[test]
fn the_submit_record_overhead_covers_the_largest_envelope() {
    let keys = custodia_protocol::OrgKeys::from_seed(1);
    let name = |i: usize, len: usize| {
        let mut text = format!("{i:03}");
        text.push_str(&"x".repeat(len - text.len()));
        text
    };
    // A tag's limit is in characters: the longest in bytes is of 4-byte characters.
    let tag = |i: usize| {
        let mut text = format!("{i:03}");
        text.push_str(&"\u{1d11e}".repeat(MAX_TAG_CHARS - text.len()));
        text
    };
    let sealed_bytes = MAX_BLOCK_BYTES_BOUND as usize;
    let body = Body::SubmitRecord {
        record_id: RecordId([7; 16]),
        kind: "k".repeat(MAX_KIND_BYTES),
        tags: (0..MAX_TAGS).map(tag).collect(),
        fields: (0..MAX_FIELDS)
            .map(|i| name(i, MAX_FIELD_NAME_BYTES))
            .collect(),
        commitment: common::digest([1; 32]),
        sealed: Bytes::from(vec![0u8; sealed_bytes]),
    };
    let tx = Tx::sign_with_nonce(
        &keys.identity,
        common::digest([2; 32]),
        u64::MAX,
        u64::MAX,
        body,
    );
    // The codec accepts it: it is a largest envelope, not an invalid one.
    let cfg = TxCfg::from(&Params {
        max_record_bytes: MAX_BLOCK_BYTES_BOUND,
        ..Params::default()
    });
    let bytes = commonware_codec::Encode::encode(&tx);
    assert!(Tx::decode_bytes(bytes, &cfg).is_ok());
    // Block header: parent 32, height 8, timestamp 8, a tx count of at most 5 varint bytes.
    let header = 32 + 8 + 8 + 5;
    let overhead = (tx.encode_size() - sealed_bytes + header) as u64;
    assert!(
        overhead <= SUBMIT_RECORD_OVERHEAD_BYTES,
        "{overhead} > {SUBMIT_RECORD_OVERHEAD_BYTES}"
    );
}

#[test]
fn an_epoch_length_out_of_its_bounds_is_refused() {
    // commonware's FixedEpocher panics on a length of 1; a short epoch would let marshal fetch
    // heights two epochs ahead of the applied state.
    for value in [0, 1, MIN_EPOCH_LENGTH - 1] {
        let params = Params {
            epoch_length: value,
            ..Params::default()
        };
        refused_for(params, "epoch_length", value, MIN_EPOCH_LENGTH);
    }
    for value in [MAX_EPOCH_LENGTH + 1, u64::MAX] {
        let params = Params {
            epoch_length: value,
            ..Params::default()
        };
        refused_for(params, "epoch_length", value, MAX_EPOCH_LENGTH);
    }
}

#[test]
fn max_validators_out_of_its_bounds_or_below_the_genesis_orgs_is_refused() {
    for value in [0, MAX_VALIDATORS_BOUND + 1, u64::MAX] {
        let params = Params {
            max_validators: value,
            ..Params::default()
        };
        refused_for(params, "max_validators", value, MAX_VALIDATORS_BOUND);
    }
    // Three genesis orgs, and room for two validators.
    let params = Params {
        max_validators: 2,
        ..Params::default()
    };
    let (field, message) = refusal(params);
    assert_eq!(field, "orgs", "{message}");
    assert!(message.contains("max_validators is 2"), "{message}");
}
