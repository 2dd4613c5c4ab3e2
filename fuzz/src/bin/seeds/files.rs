//! The seeds of the files a node and the CLI read: genesis.toml, config.toml, org.pub.toml and
//! org.key, written as `custodia genesis` and `custodia init` write them.

use custodia_fuzz::{Fixture, REQUESTER, SUPERVISOR};
use custodia_node::config::{ApprovalPolicy, NodeConfig};
use custodia_protocol::{Genesis, OrgPublic, Params, Role, testing};

const PUB_HEADER: &str = "# custodia organisation: public keys and addresses.\n\
# Hand this file to whoever runs `custodia genesis`; the secrets stay in org.key.\n";

/// The files of an organisation, as `custodia init` and `custodia genesis` write them.
pub(crate) fn files(fx: &Fixture) -> Vec<(String, String)> {
    let mut seeds = Vec::new();
    let mut devnet = fx.genesis.clone();
    devnet.chain_id = "custodia-devnet".into();
    seeds.push(("genesis_toml/devnet".into(), devnet.to_toml()));
    let mut custom = testing::genesis_of(
        &fx.keys[..2],
        Params {
            max_tx_ttl: 50,
            max_block_txs: 500,
            ..Params::default()
        },
    );
    custom.orgs[1].p2p = "[2001:db8::7]:7000".into();
    custom.orgs[1].api = "[::1]:8080".into();
    seeds.push(("genesis_toml/params-ipv6".into(), custom.to_toml()));
    let alone = Genesis {
        orgs: fx.genesis.orgs[..1].to_vec(),
        ..fx.genesis.clone()
    };
    let text = alone.to_toml();
    // The same genesis without its [params] table: every parameter takes its default.
    let mut in_params = false;
    let no_params: String = text
        .lines()
        .filter(|l| {
            if l.starts_with('[') {
                in_params = *l == "[params]";
            }
            !in_params
        })
        .map(|l| format!("{l}\n"))
        .collect();
    seeds.push(("genesis_toml/supervisor-only".into(), text));
    seeds.push(("genesis_toml/default-params".into(), no_params));

    for (i, org) in fx.genesis.orgs.iter().enumerate() {
        let text = toml::to_string(org).unwrap();
        seeds.push((
            format!("org_pub_toml/{}", org.name),
            format!("{PUB_HEADER}{text}"),
        ));
        seeds.push((format!("org_key_toml/{}", org.name), fx.keys[i].to_toml()));
    }
    // A keyring after two rotations: the retired secrets stay (DESIGN §6.6).
    let mut rotated = fx.keys[SUPERVISOR].clone();
    for seed in [80, 81] {
        rotated.rotate_encryption(custodia_protocol::OrgKeys::from_seed(seed).encryption);
    }
    seeds.push(("org_key_toml/rotated".into(), rotated.to_toml()));
    let ipv6 = OrgPublic {
        role: Role::Member,
        p2p: "[fe80::1%2]:7000".into(),
        ..fx.genesis.orgs[SUPERVISOR].clone()
    };
    seeds.push(("org_pub_toml/ipv6".into(), toml::to_string(&ipv6).unwrap()));

    let base = |org: &str, p2p: &str, api: &str| {
        let text = format!(
            "org = \"{org}\"\ngenesis = \"genesis.toml\"\nkey = \"org.key\"\ndata_dir = \"data\"\n\
             api_token_file = \"api.token\"\np2p_listen = \"{p2p}\"\napi_listen = \"{api}\"\n"
        );
        toml::from_str::<NodeConfig>(&text).expect("the base config parses")
    };
    let init = base("member-a", "127.0.0.1:7001", "127.0.0.1:8001");
    seeds.push(("config_toml/init".into(), init.to_toml()));
    let mut devnet = base(
        &fx.genesis.orgs[REQUESTER].name,
        "0.0.0.0:7002",
        "[::1]:8002",
    );
    devnet.genesis = "../genesis.toml".into();
    devnet.approval = ApprovalPolicy::Auto;
    devnet.allow_private_ips = false;
    devnet.mempool.max_txs = 1000;
    seeds.push(("config_toml/devnet-auto".into(), devnet.to_toml()));
    seeds.push((
        "config_toml/minimal".into(),
        "org = \"supervisor\"\ngenesis = \"/etc/custodia/genesis.toml\"\nkey = \"org.key\"\n\
         data_dir = \"/var/lib/custodia\"\napi_token_file = \"api.token\"\n\
         p2p_listen = \"10.0.0.1:7000\"\napi_listen = \"127.0.0.1:8080\"\n\
         [mempool]\nmax_txs = 20000\nmax_bytes = 67108864\n"
            .into(),
    ));
    // The API over TLS with its own bounds, as `custodia init` writes it.
    let mut tls = base("member-c", "10.0.0.3:7000", "0.0.0.0:8443");
    tls.api_tls_cert = Some("tls/cert.pem".into());
    tls.api_tls_key = Some("tls/key.pem".into());
    tls.api.max_concurrent_requests = 64;
    seeds.push(("config_toml/api-tls".into(), tls.to_toml()));
    // Hand-written: plaintext behind a proxy, every [api] bound given.
    seeds.push((
        "config_toml/api-plaintext".into(),
        "org = \"member-b\"\ngenesis = \"genesis.toml\"\nkey = \"org.key\"\n\
         data_dir = \"data\"\napi_token_file = \"api.token\"\n\
         p2p_listen = \"10.0.0.2:7000\"\napi_listen = \"10.0.0.2:8080\"\n\
         api_insecure_plaintext = true\n\
         [api]\nmax_concurrent_requests = 256\nrequest_timeout_secs = 30\nmax_event_streams = 8\n"
            .into(),
    ));
    seeds
}
