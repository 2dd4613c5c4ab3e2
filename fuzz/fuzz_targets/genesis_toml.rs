//! `genesis.toml`, as a node reads it at start (`run.rs`: `Genesis::from_toml`, which parses
//! and validates). A genesis that loads must load again, equal and with the same chain digest,
//! from the text `custodia genesis` writes for it (`Genesis::to_toml`), and its binary encoding
//! (what the digest hashes) must decode back to it.

#![no_main]

use commonware_codec::{Decode, Encode};
use custodia_protocol::Genesis;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(text) = custodia_fuzz::text(data) else {
        return;
    };
    let Ok(genesis) = Genesis::from_toml(text) else {
        return;
    };
    let written = genesis.to_toml();
    let again = Genesis::from_toml(&written).unwrap_or_else(|err| {
        panic!("a genesis does not load from its own TOML: {err}\n{written}")
    });
    assert_eq!(
        again, genesis,
        "a genesis changes through its own TOML\n{written}"
    );
    assert_eq!(again.digest(), genesis.digest());
    let decoded = Genesis::decode_cfg(genesis.encode(), &());
    assert_eq!(
        decoded.ok(),
        Some(genesis),
        "a valid genesis does not decode from its encoding"
    );
});
