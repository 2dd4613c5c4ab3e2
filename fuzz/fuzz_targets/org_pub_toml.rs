//! An organisation's `org.pub.toml`, as `custodia genesis` reads it (`cmd/genesis.rs`:
//! `toml::from_str::<OrgPublic>`, then `GenesisOrg::validate` inside `Genesis::validate`). An
//! entry that parses must parse again, equal and equally valid, from the text `custodia init`
//! writes for it (`toml::to_string`).

#![no_main]

use custodia_protocol::OrgPublic;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(text) = custodia_fuzz::text(data) else {
        return;
    };
    let Ok(org) = toml::from_str::<OrgPublic>(text) else {
        return;
    };
    let valid = org.validate("");
    let written = toml::to_string(&org)
        .unwrap_or_else(|err| panic!("an org.pub.toml entry does not serialize: {err}"));
    let again = toml::from_str::<OrgPublic>(&written).unwrap_or_else(|err| {
        panic!("an org.pub.toml does not parse from its own TOML: {err}\n{written}")
    });
    assert_eq!(
        again, org,
        "an org.pub.toml changes through its own TOML\n{written}"
    );
    assert_eq!(again.validate(""), valid);
});
