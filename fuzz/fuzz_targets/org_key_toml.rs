//! An organisation's secret `org.key`, as a node reads it at start (`run.rs`:
//! `OrgKeys::from_toml`). Keys that load must load again from the text `custodia init` writes
//! for them (`OrgKeys::to_toml`), with the same public keys, and that text must be a fixed point.

#![no_main]

use custodia_protocol::OrgKeys;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(text) = custodia_fuzz::text(data) else {
        return;
    };
    let Ok(keys) = OrgKeys::from_toml(text) else {
        return;
    };
    let written = keys.to_toml();
    let again = OrgKeys::from_toml(&written)
        .unwrap_or_else(|err| panic!("an org.key does not load from its own TOML: {err}"));
    assert_eq!(
        again.identity_key(),
        keys.identity_key(),
        "the identity key changes"
    );
    assert_eq!(
        again.encryption_key(),
        keys.encryption_key(),
        "the encryption key changes"
    );
    assert_eq!(
        again.to_toml(),
        written,
        "org.key's text is not a fixed point"
    );
});
