//! commonware's Byzantine consensus actors as the faulty validator among 4 (DESIGN §9.3): member-c
//! runs no engine, only one of simplex's `mocks` on the vote (and certificate) channels, signing
//! with its real key:
//!
//! - `Equivocator`: as leader, notarizes different proposals to different validators (digests
//!   through the mocks' own relay, which custodia never reads: the honest nodes cannot fetch
//!   those blocks, so its views are nullified); conflicting *custodia* blocks are
//!   `tests/byzantine.rs`'s proposer, wired through `engine::start_with`;
//! - `Conflicter`: for every proposal it sees, notarize and finalize votes for another payload;
//! - `Nuller`: a nullify vote and a finalize vote for every proposal (votes that contradict);
//! - `NullifyOnly`: only nullify votes;
//! - `Impersonator`: votes signed as another validator (invalid signatures);
//! - `Outdated`: votes for views long past.
//!
//! The actor speaks on epoch 0's subchannel of each channel (consensus traffic is multiplexed by
//! epoch, DESIGN §3.2), as the engine of epoch 0 would.
//!
//! The three honest validators take 3 records every 500 ms for 6 s; every honest tx is
//! finalized on every honest node within 30 s of simulated time of the last submission, the
//! nodes agree on every block and state commitment, and no honest node stops. 10 seeds per actor
//! (`CUSTODIA_SOAK_SEEDS=N` runs N more, `CUSTODIA_SEED` replays one).

mod common;

use common::*;
use commonware_consensus::{
    simplex::{
        elector::RoundRobin,
        mocks::{
            conflicter, equivocator, impersonator, nuller, nullify_only, outdated, relay::Relay,
        },
    },
    types::{Epoch, ViewDelta},
};
use commonware_cryptography::{Sha256, Signer as _, ed25519::PublicKey};
use commonware_p2p::{
    Receiver, Sender,
    utils::mux::{MuxHandle, Muxer},
};
use commonware_runtime::{Runner as _, Supervisor as _, deterministic};
use custodia_node::{GatedScheme, VoteGate, engine};
use std::{sync::Arc, time::Duration};

/// The faulty validator (member-c).
const FAULTY: usize = 3;
/// How long the honest load lasts.
const LOAD: Duration = Duration::from_secs(6);
/// Every honest tx is finalized within this of the last one's submission.
const BOUND: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy)]
enum Actor {
    Equivocator,
    Conflicter,
    Nuller,
    NullifyOnly,
    Impersonator,
    Outdated,
}

fn run(seed: u64, actor: Actor) {
    runner(seed, Duration::from_secs(300)).start(|context| async move {
        let consortium = Consortium::new();
        let keys = consortium.public_keys();
        let oracle = network(&context, keys.clone(), RELIABLE).await;
        let mut nodes = Vec::new();
        for i in 0..FAULTY {
            nodes.push(start_node(&context, &oracle, &consortium, i).await);
        }

        // The faulty validator: its real key, simplex's scheme, one of the mocks.
        let participants = commonware_utils::ordered::Set::from_iter_dedup(keys.iter().cloned());
        let scheme = GatedScheme::signer(
            engine::CONSENSUS_NAMESPACE,
            participants,
            consortium.keys[FAULTY].identity.clone(),
            VoteGate::open(),
            commonware_consensus::types::Epoch::zero(),
        )
        .expect("member-c is a validator");
        assert_eq!(consortium.keys[FAULTY].identity.public_key(), keys[FAULTY]);
        let control = oracle.control(keys[FAULTY].clone());
        let votes = control
            .register(engine::channel::VOTES, custodia_node::p2p::QUOTA_CONSENSUS)
            .await
            .expect("votes channel");
        let votes = epoch_zero(&context, "votes_mux", votes).await;
        let certificates = control
            .register(
                engine::channel::CERTIFICATES,
                custodia_node::p2p::QUOTA_CONSENSUS,
            )
            .await
            .expect("certificates channel");
        let certificates = epoch_zero(&context, "certificates_mux", certificates).await;
        let context_of = |name: &'static str| context.child(name);
        let _faulty = match actor {
            Actor::Equivocator => equivocator::Equivocator::<_, _, _, Sha256>::new(
                context_of("equivocator"),
                equivocator::Config {
                    scheme,
                    elector: RoundRobin::<Sha256>::default(),
                    epoch: Epoch::zero(),
                    relay: Arc::new(Relay::new()),
                },
            )
            .start(votes, certificates),
            Actor::Conflicter => conflicter::Conflicter::<_, _, Sha256>::new(
                context_of("conflicter"),
                conflicter::Config { scheme },
            )
            .start(votes),
            Actor::Nuller => {
                nuller::Nuller::<_, _, Sha256>::new(context_of("nuller"), nuller::Config { scheme })
                    .start(votes)
            }
            Actor::NullifyOnly => nullify_only::NullifyOnly::<_, _, Sha256>::new(
                context_of("nullify_only"),
                nullify_only::Config { scheme },
            )
            .start(votes),
            Actor::Impersonator => impersonator::Impersonator::<_, _, Sha256>::new(
                context_of("impersonator"),
                impersonator::Config { scheme },
            )
            .start(votes),
            Actor::Outdated => outdated::Outdated::<_, _, Sha256>::new(
                context_of("outdated"),
                outdated::Config {
                    scheme,
                    view_delta: ViewDelta::new(5),
                },
            )
            .start(votes),
        };

        let honest = honest_load(&context, &consortium, &nodes, LOAD).await;
        assert_honest_finalized(&context, &nodes, &honest, BOUND).await;
        assert_running_and_stop(nodes, &format!("{actor:?}, seed {seed}")).await;
    });
}

/// Epoch 0's subchannel of a consensus channel.
async fn epoch_zero<S, R>(
    context: &deterministic::Context,
    name: &'static str,
    (sender, receiver): (S, R),
) -> (
    commonware_p2p::utils::mux::SubSender<S>,
    commonware_p2p::utils::mux::SubReceiver<PublicKey>,
)
where
    S: Sender<PublicKey = PublicKey>,
    R: Receiver<PublicKey = PublicKey>,
{
    let (muxer, mut handle): (_, MuxHandle<S>) = Muxer::new(context.child(name), sender, receiver);
    muxer.start();
    handle.register(0).await.expect("epoch 0's subchannel")
}

fn seeds() -> Vec<u64> {
    soak_seeds(&(0..10).collect::<Vec<_>>())
}

#[test]
fn an_equivocating_leader_stalls_nothing() {
    for_seeds(&seeds(), |seed| run(seed, Actor::Equivocator));
}

#[test]
fn a_conflicting_voter_stalls_nothing() {
    for_seeds(&seeds(), |seed| run(seed, Actor::Conflicter));
}

#[test]
fn a_nuller_stalls_nothing() {
    for_seeds(&seeds(), |seed| run(seed, Actor::Nuller));
}

#[test]
fn a_validator_that_only_nullifies_stalls_nothing() {
    for_seeds(&seeds(), |seed| run(seed, Actor::NullifyOnly));
}

#[test]
fn an_impersonator_stalls_nothing() {
    for_seeds(&seeds(), |seed| run(seed, Actor::Impersonator));
}

#[test]
fn an_outdated_voter_stalls_nothing() {
    for_seeds(&seeds(), |seed| run(seed, Actor::Outdated));
}
