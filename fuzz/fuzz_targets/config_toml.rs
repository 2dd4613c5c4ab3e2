//! A node's `config.toml`, parsed as `NodeConfig::load` parses it (`config.rs`:
//! `toml::from_str::<NodeConfig>`; `load` then only joins relative paths to the file's
//! directory). A config that parses must parse again, equal, from the text `custodia init`
//! writes for it (`NodeConfig::to_toml`); its mempool and `[api]` bounds check without a panic.

#![no_main]

use custodia_node::config::NodeConfig;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(text) = custodia_fuzz::text(data) else {
        return;
    };
    let Ok(config) = toml::from_str::<NodeConfig>(text) else {
        return;
    };
    let written = config.to_toml();
    let again = toml::from_str::<NodeConfig>(&written).unwrap_or_else(|err| {
        panic!("a config does not parse from its own TOML: {err}\n{written}")
    });
    assert_eq!(
        again, config,
        "a config changes through its own TOML\n{written}"
    );
    let _ = config.mempool_limits();
    let _ = config.api.limits();
});
