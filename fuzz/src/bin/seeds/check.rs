//! The seeds that should reach each target's success path do: otherwise the fuzzer starts
//! from inputs refused at the first check, and never sees what lies behind it.

use custodia_fuzz::{Fixture, REQUEST_ID, REQUESTER, SUPERVISOR, requested_fields};
use custodia_node::{ChainBlock, ChainBlockCfg, config::NodeConfig};
use custodia_protocol::{
    Genesis, OrgKeys, OrgPublic, Tx, TxCfg, delivery::open_delivery, record::open_record,
};
use std::path::Path;

pub(crate) fn check(corpus: &Path, fx: &Fixture) {
    use commonware_codec::Decode;
    let read = |target: &str, name: &str| {
        std::fs::read(corpus.join(target).join(format!("seed-{name}"))).expect("a seed")
    };
    let text = |target: &str, name: &str| String::from_utf8(read(target, name)).unwrap();
    let tx_cfg = TxCfg::from(&fx.genesis.params);
    for name in [
        "submit-record",
        "deliver",
        "cancel",
        "suspend",
        "request-share",
    ] {
        let tx = Tx::decode_bytes(read("tx", name), &tx_cfg).expect("a tx seed decodes");
        assert!(tx.verify_signature(), "seed-{name} is signed");
    }
    let block = read("block", "every-body");
    ChainBlock::decode_cfg(
        bytes::Bytes::from(block),
        &ChainBlockCfg::from(&fx.genesis.params),
    )
    .expect("the block seed decodes");
    let supervisor = &fx.keys[SUPERVISOR].encryption;
    for n in 0..2 {
        let sealed = read("sealed_record", &format!("sealed-{n}"));
        open_record(&fx.chain, supervisor, &fx.records[n], &sealed[1..]).expect("record opens");
    }
    let requester = &fx.keys[REQUESTER];
    for (name, all) in [("sealed-amount", false), ("sealed-all", true)] {
        let sealed = read("delivery", name);
        let fields = requested_fields(all);
        open_delivery(
            &fx.chain,
            &REQUEST_ID,
            &requester.identity_key(),
            &requester.encryption,
            &sealed[1..],
            &fields,
            &fx.records,
        )
        .expect("the delivery seed verifies");
    }
    for name in ["devnet", "params-ipv6", "supervisor-only", "default-params"] {
        Genesis::from_toml(&text("genesis_toml", name)).expect("a genesis seed loads");
    }
    for name in ["init", "devnet-auto", "minimal", "api-tls", "api-plaintext"] {
        let config =
            toml::from_str::<NodeConfig>(&text("config_toml", name)).expect("a config seed parses");
        config
            .api
            .limits()
            .expect("a config seed's [api] bounds hold");
    }
    let tls = toml::from_str::<NodeConfig>(&text("config_toml", "api-tls")).unwrap();
    assert!(tls.api_tls_cert.is_some() && tls.api_tls_key.is_some());
    assert_eq!(tls.api.max_concurrent_requests, 64);
    let plain = toml::from_str::<NodeConfig>(&text("config_toml", "api-plaintext")).unwrap();
    assert!(plain.api_insecure_plaintext);
    assert_eq!(plain.api.max_event_streams, 8);
    for org in &fx.genesis.orgs {
        let public: OrgPublic = toml::from_str(&text("org_pub_toml", &org.name)).unwrap();
        public.validate("").expect("an org.pub.toml seed is valid");
        OrgKeys::from_toml(&text("org_key_toml", &org.name)).expect("an org.key seed loads");
    }
}
