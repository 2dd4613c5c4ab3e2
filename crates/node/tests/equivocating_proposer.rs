//! A leader that proposes two conflicting custodia blocks in one view (DESIGN §9.3): member-c
//! runs the real engine with an application (`engine::start_with`) that proposes the honest
//! block A and also makes B — the same parent, height and txs, a timestamp 1 ms later, hence
//! another digest. Its vote sender is wrapped: its notarize of A goes to two honest validators,
//! and to the third goes B's block (on the broadcast channel) and a notarize of B, signed with
//! its real key. The honest validators must never finalize two blocks at one height, must agree
//! on every block and state commitment, and must keep finalizing the honest txs (within 30 s of
//! simulated time of the last submission); a victim did verify a twin. 10 seeds; `CUSTODIA_SOAK_SEEDS=N` runs N more.

mod common;

use common::*;
use commonware_actor::{Feedback, Unreliable};
use commonware_codec::{DecodeExt as _, Encode as _};
use commonware_consensus::{
    Application as ConsensusApplication,
    marshal::ancestry::Ancestry,
    simplex::types::{Context, Notarize, Proposal, Vote},
};
use commonware_cryptography::{Digested, Digestible, Signer as _, ed25519::PublicKey};
use commonware_p2p::{CheckedSender, LimitedSender, Recipients};
use commonware_runtime::{Clock, IoBufs, Runner as _, Supervisor as _, deterministic};
use custodia_node::{
    ChainBlock, GatedScheme, Ledger, VoteGate,
    application::Application,
    engine::{self, Channels, Timing, channel},
};
use custodia_protocol::Digest;
use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex},
    time::{Duration, SystemTime},
};

/// The equivocating leader (member-c).
const BYZANTINE: usize = 3;
/// How long the honest load lasts.
const LOAD: Duration = Duration::from_secs(10);
/// Every honest tx is finalized within this of the last one's submission.
const BOUND: Duration = Duration::from_secs(30);

/// What the application and the vote sender share: for each block A proposed, its twin B.
struct Fork<S> {
    scheme: GatedScheme,
    twins: Mutex<HashMap<Digest, ChainBlock>>,
    /// The broadcast channel's sender (B's block goes to its victim there).
    broadcast: Mutex<Option<S>>,
    /// The honest validators, in order; a view's victim is one of them.
    honest: Vec<PublicKey>,
    /// Views in which a conflicting notarize was sent.
    forked: Mutex<Vec<u64>>,
}

/// The Byzantine application: proposes A, remembers B.
struct TwoFaced<S> {
    honest: Application,
    fork: Arc<Fork<S>>,
}

impl<S> Clone for TwoFaced<S> {
    fn clone(&self) -> Self {
        Self {
            honest: self.honest.clone(),
            fork: self.fork.clone(),
        }
    }
}

impl<E: Clock + Send + Sync + 'static, S: Send + Sync + 'static> ConsensusApplication<E>
    for TwoFaced<S>
{
    type SigningScheme = GatedScheme;
    type Context = Context<Digest, PublicKey>;
    type Block = ChainBlock;
    type Input = ();

    async fn propose(
        &mut self,
        context: (E, Self::Context),
        ancestry: impl Ancestry<ChainBlock>,
        input: (),
    ) -> Option<Digested<ChainBlock>> {
        let a = self.honest.propose(context, ancestry, input).await?;
        let mut block = a.inner().block().clone();
        block.timestamp_ms += 1;
        let b = ChainBlock::new(block);
        self.fork.twins.lock().unwrap().insert(a.digest(), b);
        Some(a)
    }

    async fn verify(
        &mut self,
        context: (E, Self::Context),
        ancestry: impl Ancestry<ChainBlock>,
    ) -> bool {
        self.honest.verify(context, ancestry).await
    }
}

/// An honest validator's application that notes the blocks it verified.
#[derive(Clone)]
struct Watching {
    honest: Application,
    verified: Arc<Mutex<HashSet<Digest>>>,
}

impl<E: Clock + Send + Sync + 'static> ConsensusApplication<E> for Watching {
    type SigningScheme = GatedScheme;
    type Context = Context<Digest, PublicKey>;
    type Block = ChainBlock;
    type Input = ();

    async fn propose(
        &mut self,
        context: (E, Self::Context),
        ancestry: impl Ancestry<ChainBlock>,
        input: (),
    ) -> Option<Digested<ChainBlock>> {
        self.honest.propose(context, ancestry, input).await
    }

    async fn verify(
        &mut self,
        context: (E, Self::Context),
        ancestry: impl Ancestry<ChainBlock>,
    ) -> bool {
        let tip = ancestry.peek().map(|block| block.digest());
        let ok = self.honest.verify(context, ancestry).await;
        if let (true, Some(tip)) = (ok, tip) {
            self.verified.lock().unwrap().insert(tip);
        }
        ok
    }
}

/// A channel sender that, on the vote channel, splits the leader's notarize of a block with a
/// twin: A to all but the view's victim, B (block and notarize) to the victim.
#[derive(Clone)]
struct Forking<S> {
    inner: S,
    fork: Option<Arc<Fork<S>>>,
}

struct ForkingChecked<'a, S> {
    sender: &'a mut Forking<S>,
    recipients: Recipients<PublicKey>,
    retained: Vec<PublicKey>,
}

impl<S: LimitedSender<PublicKey = PublicKey>> LimitedSender for Forking<S> {
    type PublicKey = PublicKey;
    type Checked<'a>
        = ForkingChecked<'a, S>
    where
        Self: 'a;

    fn check(
        &mut self,
        recipients: Recipients<PublicKey>,
    ) -> Result<Self::Checked<'_>, SystemTime> {
        let retained = self.inner.check(recipients.clone())?.recipients();
        Ok(ForkingChecked {
            sender: self,
            recipients,
            retained,
        })
    }
}

impl<S: LimitedSender<PublicKey = PublicKey>> CheckedSender for ForkingChecked<'_, S> {
    type PublicKey = PublicKey;

    fn recipients(&self) -> Vec<PublicKey> {
        self.retained.clone()
    }

    fn send(self, message: impl Into<IoBufs> + Send, priority: bool) -> Unreliable<Feedback> {
        let message: IoBufs = message.into();
        let ForkingChecked {
            sender, recipients, ..
        } = self;
        let twin = sender.fork.as_ref().and_then(|fork| {
            // Votes travel on their epoch's subchannel (DESIGN §3.2).
            let (epoch, bytes) =
                commonware_p2p::utils::mux::parse(message.clone().coalesce()).ok()?;
            let Ok(Vote::Notarize(notarize)) = Vote::<GatedScheme, Digest>::decode(bytes) else {
                return None;
            };
            let b = fork
                .twins
                .lock()
                .unwrap()
                .get(&notarize.proposal.payload)
                .cloned()?;
            let proposal = Proposal::new(
                notarize.proposal.round,
                notarize.proposal.parent,
                b.digest(),
            );
            let vote = Vote::Notarize(Notarize::sign(&fork.scheme, proposal)?);
            let mut vote_bytes = commonware_codec::varint::UInt(epoch).encode().to_vec();
            vote_bytes.extend_from_slice(&vote.encode());
            let view = notarize.proposal.round.view().get();
            let victim = fork.honest[(view % fork.honest.len() as u64) as usize].clone();
            fork.forked.lock().unwrap().push(view);
            Some((fork.clone(), b, vote_bytes, victim))
        });
        let Some((fork, b, vote, victim)) = twin else {
            return match sender.inner.check(recipients) {
                Ok(checked) => checked.send(message, priority),
                Err(_) => Unreliable::Rejected,
            };
        };
        if let Some(broadcast) = fork.broadcast.lock().unwrap().as_mut()
            && let Ok(checked) = broadcast.check(Recipients::One(victim.clone()))
        {
            let _ = checked.send(b.encode(), true);
        }
        if let Ok(checked) = sender.inner.check(Recipients::One(victim.clone())) {
            let _ = checked.send(vote, priority);
        }
        let others: Vec<PublicKey> = fork
            .honest
            .iter()
            .filter(|peer| **peer != victim)
            .cloned()
            .collect();
        match sender.inner.check(Recipients::Some(others)) {
            Ok(checked) => checked.send(message, priority),
            Err(_) => Unreliable::Rejected,
        }
    }
}

async fn start_equivocator(
    context: &deterministic::Context,
    oracle: &commonware_p2p::simulated::Oracle<PublicKey, deterministic::Context>,
    consortium: &Consortium,
) -> (
    SimNode,
    Arc<Fork<impl LimitedSender<PublicKey = PublicKey>>>,
) {
    let keys = &consortium.keys[BYZANTINE];
    let ledger = Ledger::open(
        consortium.genesis.clone(),
        Some(consortium.dir.path().join("byzantine.sqlite")),
        custodia_node::MempoolLimits::default(),
    )
    .expect("open ledger");
    let control = oracle.control(keys.identity.public_key());
    let mut registered = Vec::new();
    for ch in channel::ALL {
        registered.push(
            control
                .register(ch, custodia_node::p2p::quota(ch))
                .await
                .expect("register channel"),
        );
    }
    let participants = commonware_utils::ordered::Set::from_iter_dedup(consortium.public_keys());
    let fork = Arc::new(Fork {
        scheme: GatedScheme::signer(
            engine::CONSENSUS_NAMESPACE,
            participants,
            keys.identity.clone(),
            VoteGate::open(),
            commonware_consensus::types::Epoch::zero(),
        )
        .expect("a validator"),
        twins: Mutex::new(HashMap::new()),
        broadcast: Mutex::new(Some(registered[3].0.clone())),
        honest: consortium.public_keys()[..BYZANTINE].to_vec(),
        forked: Mutex::new(Vec::new()),
    });
    let mut registered = registered.into_iter();
    let mut next = |forking: bool| {
        let (sender, receiver) = registered.next().expect("a channel of each");
        let fork = forking.then(|| fork.clone());
        (
            Forking {
                inner: sender,
                fork,
            },
            receiver,
        )
    };
    let channels = Channels {
        votes: next(true),
        certificates: next(false),
        resolver: next(false),
        broadcast: next(false),
        backfill: next(false),
        mempool: next(false),
        commitments: next(false),
    };
    let vote_gate = VoteGate::open();
    let handle = engine::start_with(
        context.child("byzantine"),
        engine::Config {
            signer: keys.identity.clone(),
            ledger: ledger.clone(),
            blocker: control,
            peer_manager: oracle.socket_manager(),
            bootstrap: Vec::new(),
            partition_prefix: "byzantine".to_string(),
            timing: Timing::default(),
            new_validator: true,
            vote_gate: vote_gate.clone(),
        },
        channels,
        TwoFaced {
            honest: Application::new(ledger.clone()),
            fork: fork.clone(),
        },
    );
    let node = SimNode {
        keys: Arc::new(custodia_node::Keyring::in_memory(
            consortium.keys[BYZANTINE].clone(),
        )),
        ledger,
        handle,
        vote_gate,
        workers: None,
    };
    (node, fork)
}

fn run(seed: u64) {
    runner(seed, Duration::from_secs(300)).start(|context| async move {
        let consortium = Consortium::new();
        let oracle = network(&context, consortium.public_keys(), RELIABLE).await;
        let verified = Arc::new(Mutex::new(HashSet::new()));
        let mut nodes = Vec::new();
        for i in 0..BYZANTINE {
            let watching = |ledger| Watching {
                honest: Application::new(ledger),
                verified: verified.clone(),
            };
            nodes.push(start_node_with(&context, &oracle, &consortium, i, watching).await);
        }
        let (byzantine, fork) = start_equivocator(&context, &oracle, &consortium).await;

        let honest = honest_load(&context, &consortium, &nodes, LOAD).await;
        assert_honest_finalized(&context, &nodes, &honest, BOUND).await;
        let forked = fork.forked.lock().unwrap().len();
        assert!(forked >= 2, "the leader equivocated in {forked} views");
        // The twins reached the honest validators' consensus: one verified and voted for B.
        let twins: HashSet<Digest> = fork
            .twins
            .lock()
            .unwrap()
            .values()
            .map(|b| b.digest())
            .collect();
        let voted = verified.lock().unwrap().intersection(&twins).count();
        assert!(
            voted > 0,
            "no honest validator verified a twin block ({forked} forks)"
        );
        assert_running_and_stop(nodes, &format!("seed {seed}")).await;
        byzantine.crash().await;
    });
}

#[test]
fn a_leader_proposing_two_custodia_blocks_in_one_view_splits_nothing() {
    for_seeds(&soak_seeds(&(0..10).collect::<Vec<_>>()), run);
}
