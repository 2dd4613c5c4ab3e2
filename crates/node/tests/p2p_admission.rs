//! The real p2p network (authenticated `lookup` over TCP on 127.0.0.1) admits the keys of the
//! peer set a node tracks for its epoch (here the genesis organisations of epoch 0) and refuses
//! any other: a handshake from a key outside the set fails, the same handshake from an
//! organisation's key succeeds.

use commonware_cryptography::{Signer as _, ed25519::PrivateKey};
use commonware_p2p::{AddressableManager as _, authenticated::lookup};
use commonware_runtime::{Clock as _, Network as _, Runner as _, Supervisor as _, tokio};
use commonware_stream::Upgrader as _;
use custodia_node::{Ledger, MempoolLimits, engine, epoch::peers, p2p};
use custodia_protocol::{
    Params,
    testing::{consortium_keys, genesis_of},
};
use std::{net::SocketAddr, time::Duration};

fn free_port() -> u16 {
    custodia_node::ports::unused_port().expect("a free port")
}

#[test]
fn a_handshake_from_a_key_outside_the_genesis_is_refused() {
    let keys = consortium_keys(4);
    let mut genesis = genesis_of(&keys, Params::default());
    for org in genesis.orgs.iter_mut() {
        org.p2p = format!("127.0.0.1:{}", free_port());
    }
    let listen: SocketAddr = genesis.orgs[0].p2p.parse().unwrap();
    let ledger = Ledger::open(genesis, None, MempoolLimits::default()).unwrap();
    let storage = tempfile::tempdir().unwrap();
    let runner = tokio::Runner::new(tokio::Config::new().with_storage_directory(storage.path()));
    runner.start(|context| async move {
        let supervisor = keys[0].identity.clone();
        let config = p2p::config(supervisor.clone(), listen, &ledger, true, 0);
        let max_message = config.max_message_size;
        let (mut network, mut oracle) = lookup::Network::new(context.child("p2p"), config);
        let set = peers::peer_set(&ledger, 0, &supervisor.public_key(), &[]).expect("epoch 0");
        assert_eq!(set.primary.len(), 4);
        assert!(set.secondary.is_empty());
        oracle.track(0, set);
        let _channel = network.register(engine::channel::MEMPOOL, p2p::QUOTA_MEMPOOL);
        let _network = network.start();
        context.sleep(Duration::from_millis(500)).await;

        let handshake = |signer: PrivateKey| {
            let context = context.child("dialer");
            let supervisor = supervisor.public_key();
            async move {
                let (sink, stream) = context.dial(listen).await.expect("tcp connect");
                p2p::handshake(signer)
                    .dial(
                        context.child("handshake"),
                        // The lookup network suffixes its namespace for the stream handshake.
                        &commonware_utils::union(p2p::P2P_NAMESPACE, b"_STREAM"),
                        max_message + 1024,
                        supervisor,
                        stream,
                        sink,
                    )
                    .await
                    .map(|_| ())
            }
        };

        // The listener also refuses a member while it is dialling that member itself, or within
        // the reconnection cooldown: a member gets in within a few attempts.
        let mut member = Err(String::new());
        for _ in 0..30 {
            member = handshake(keys[1].identity.clone())
                .await
                .map_err(|err| err.to_string());
            if member.is_ok() {
                break;
            }
            context.sleep(Duration::from_millis(500)).await;
        }
        assert!(member.is_ok(), "a genesis member is admitted: {member:?}");

        // An outsider never does.
        for _ in 0..5 {
            let outsider = handshake(PrivateKey::from_seed(999)).await;
            assert!(
                outsider.is_err(),
                "a key outside the genesis must be refused"
            );
            context.sleep(Duration::from_millis(500)).await;
        }
    });
}
