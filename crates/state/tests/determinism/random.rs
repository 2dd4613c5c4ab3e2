//! Random histories for the determinism proptest: ops drawn by proptest, turned into txs that
//! mostly name the records and requests the state holds, so that histories go somewhere.

use crate::common::*;
use custodia_protocol::{Body, Digest, RecordId, RequestId, Tx};
use custodia_state::{RecordFilter, RecordStatus, RequestFilter, RequestRow, RequestStatus};
use proptest::prelude::*;

/// Organisations a random op may sign as: the four of genesis and an outsider. A signer index
/// of `SIGNERS` or more means "the one who should": the supervisor to attest and deliver, an
/// undecided approver to decide, the requester to cancel.
const SIGNERS: usize = 5;
const FIELD_NAMES: [&str; 4] = ["a", "b", "c", "d"];

#[derive(Debug, Clone)]
pub enum Op {
    Submit {
        signer: usize,
        fields: u8,
        bytes: u16,
        reuse: bool,
    },
    Attest {
        signer: usize,
        pick: usize,
        accept: bool,
        reason: bool,
    },
    Request {
        signer: usize,
        picks: Vec<usize>,
        fields: u8,
        ttl: u64,
    },
    Decide {
        signer: usize,
        pick: usize,
        approve: bool,
        reason: bool,
    },
    Deliver {
        signer: usize,
        pick: usize,
    },
    Cancel {
        signer: usize,
        pick: usize,
    },
    SetStatus {
        org: usize,
        active: bool,
    },
    Propose {
        signer: usize,
        change: u8,
        value: u64,
        ttl: u64,
    },
    Vote {
        signer: usize,
        pick: usize,
        approve: bool,
    },
    Replay {
        tx: usize,
    },
    EndBlock,
    /// The second node restarts.
    Restart,
    /// The second node crashes before committing the next block, restarts and applies it.
    Crash,
}

pub fn op() -> impl Strategy<Value = Op> {
    let anyone = 0..SIGNERS;
    let a_member =
        prop_oneof![10 => MEMBER_A..=MEMBER_C, 1 => Just(SUPERVISOR), 1 => Just(SIGNERS - 1)];
    let mostly_right = 0..SIGNERS * 3;
    let ttl = prop_oneof![6 => 1u64..=8, 1 => 0u64..12];
    // 0 names an unknown id, k > 0 the k-th latest candidate.
    let pick = prop_oneof![1 => Just(0usize), 10 => 1usize..8];
    let fields = prop_oneof![2 => Just(0u8), 3 => 0u8..16];
    let picks =
        prop_oneof![1 => Just(Vec::new()), 8 => proptest::collection::vec(pick.clone(), 1..4)];
    prop_oneof![
        4 => (a_member.clone(), 0u8..16, 0u16..700, prop::bool::weighted(0.05))
            .prop_map(|(signer, fields, bytes, reuse)| Op::Submit { signer, fields, bytes, reuse }),
        3 => (mostly_right.clone(), pick.clone(), prop::bool::weighted(0.85), prop::bool::weighted(0.8))
            .prop_map(|(signer, pick, accept, reason)| Op::Attest { signer, pick, accept, reason }),
        3 => (a_member, picks, fields, ttl.clone())
            .prop_map(|(signer, picks, fields, ttl)| Op::Request { signer, picks, fields, ttl }),
        6 => (mostly_right.clone(), pick.clone(), prop::bool::weighted(0.85), prop::bool::weighted(0.8))
            .prop_map(|(signer, pick, approve, reason)| Op::Decide { signer, pick, approve, reason }),
        2 => (mostly_right.clone(), pick.clone()).prop_map(|(signer, pick)| Op::Deliver { signer, pick }),
        1 => (mostly_right, pick.clone()).prop_map(|(signer, pick)| Op::Cancel { signer, pick }),
        1 => (anyone.clone(), prop::bool::weighted(0.7)).prop_map(|(org, active)| Op::SetStatus { org, active }),
        1 => (anyone.clone(), 0u8..3, 0u64..30, ttl)
            .prop_map(|(signer, change, value, ttl)| Op::Propose { signer, change, value, ttl }),
        2 => (anyone, pick, prop::bool::weighted(0.7))
            .prop_map(|(signer, pick, approve)| Op::Vote { signer, pick, approve }),
        1 => (0usize..64).prop_map(|tx| Op::Replay { tx }),
        6 => Just(Op::EndBlock),
        1 => Just(Op::Restart),
        1 => Just(Op::Crash),
    ]
}

/// The `k`-th latest of `ids` (wrapping), or `None` for `k == 0` or no ids.
fn pick<T: Clone>(ids: &[T], k: usize) -> Option<T> {
    (k > 0 && !ids.is_empty()).then(|| ids[ids.len() - 1 - (k - 1) % ids.len()].clone())
}

fn field_names(mask: u8) -> Vec<&'static str> {
    FIELD_NAMES
        .iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << i) != 0)
        .map(|(_, f)| *f)
        .collect()
}

/// Turns ops into txs, choosing ids among the records and requests of the state at the start
/// of the block, so that most histories go somewhere. Ids and nonces come from a counter: a
/// failing case replays exactly.
pub struct Builder {
    keys: Vec<custodia_protocol::OrgKeys>,
    chain: Digest,
    sent: Vec<Tx>,
    counter: u64,
}

/// `ops` after a populated start: every member submits records and the supervisor accepts them,
/// and a last block closes the history.
pub fn with_prelude(mut ops: Vec<Op>) -> Vec<Op> {
    let submits = (0..6).map(|i| Op::Submit {
        signer: MEMBER_A + i % 3,
        fields: 0b1111,
        bytes: 100,
        reuse: false,
    });
    let attests = (1..=6).map(|pick| Op::Attest {
        signer: SIGNERS,
        pick,
        accept: true,
        reason: true,
    });
    let prelude = submits
        .chain([Op::EndBlock])
        .chain(attests)
        .chain([Op::EndBlock]);
    ops.splice(0..0, prelude);
    ops.push(Op::EndBlock);
    ops
}

impl Builder {
    /// A builder for txs on `c`'s chain.
    pub fn new(c: &Consortium) -> Self {
        Self {
            keys: c.keys.clone(),
            chain: c.chain,
            sent: Vec::new(),
            counter: 0,
        }
    }

    fn fresh(&mut self) -> [u8; 16] {
        self.counter += 1;
        let mut id = [0u8; 16];
        id[8..].copy_from_slice(&self.counter.to_be_bytes());
        id
    }

    fn key(&self, signer: usize) -> custodia_protocol::OrgKeys {
        self.keys.get(signer).cloned().unwrap_or_else(outsider)
    }

    /// The position in `keys` of organisation `org`'s identity key.
    fn position_of(&self, c: &Consortium, org: custodia_protocol::OrgId) -> Option<usize> {
        let orgs = c.state.queries().orgs().unwrap();
        let key = orgs.into_iter().find(|o| o.id == org)?.identity_key;
        self.keys.iter().position(|k| k.identity_key() == key)
    }

    fn records(c: &Consortium, status: Option<RecordStatus>) -> Vec<RecordId> {
        let filter = RecordFilter {
            status,
            ..RecordFilter::default()
        };
        c.state
            .queries()
            .records(&filter)
            .unwrap()
            .into_iter()
            .map(|r| r.record_id)
            .collect()
    }

    fn requests(c: &Consortium, statuses: &[RequestStatus]) -> Vec<RequestRow> {
        let all = c
            .state
            .queries()
            .requests(&RequestFilter::default())
            .unwrap();
        all.into_iter()
            .filter(|r| statuses.contains(&r.status))
            .collect()
    }

    fn record_or_unknown(&mut self, candidates: &[RecordId], k: usize) -> RecordId {
        pick(candidates, k).unwrap_or_else(|| RecordId(self.fresh()))
    }

    /// The tx for `op` on top of `c`'s state, or `None` for the ops that are not txs.
    pub fn tx(&mut self, op: &Op, c: &Consortium) -> Option<Tx> {
        let right = |signer: usize| signer >= SIGNERS;
        let (signer, body) = match op.clone() {
            Op::Submit {
                signer,
                fields,
                bytes,
                reuse,
            } => {
                let known = Self::records(c, None);
                let record_id = if reuse {
                    self.record_or_unknown(&known, 1)
                } else {
                    RecordId(self.fresh())
                };
                (
                    self.key(signer),
                    raw_submit(record_id, &field_names(fields), bytes as usize),
                )
            }
            Op::Attest {
                signer,
                pick: k,
                accept,
                reason,
            } => {
                let mut candidates = Self::records(c, Some(RecordStatus::Submitted));
                if candidates.is_empty() {
                    candidates = Self::records(c, None);
                }
                let record_id = self.record_or_unknown(&candidates, k);
                let signer = if right(signer) { SUPERVISOR } else { signer };
                let reason = if reason { "checked" } else { "" };
                let body = Body::AttestRecord {
                    record_id,
                    accepted: accept,
                    reason: reason.into(),
                };
                (self.key(signer), body)
            }
            Op::Request {
                signer,
                picks,
                fields,
                ttl,
            } => {
                // Mostly other members' records; all of them for the last pick (own_record).
                let requester = self.key(signer).identity_key();
                let orgs = c.state.queries().orgs().unwrap();
                let requester = orgs
                    .iter()
                    .find(|o| o.identity_key == requester)
                    .map(|o| o.id);
                let accepted = Self::records(c, Some(RecordStatus::Accepted));
                let others: Vec<RecordId> = accepted
                    .iter()
                    .filter(|id| {
                        c.state
                            .queries()
                            .record(id)
                            .unwrap()
                            .is_some_and(|r| Some(r.provider) != requester)
                    })
                    .copied()
                    .collect();
                let mut records: Vec<RecordId> = Vec::new();
                for k in picks {
                    let candidates = if k == 7 { &accepted } else { &others };
                    let record_id = self.record_or_unknown(candidates, k);
                    // Mostly distinct records; a repeat now and then (invalid_request).
                    if !records.contains(&record_id) || k == 7 {
                        records.push(record_id);
                    }
                }
                let request_id = RequestId(self.fresh());
                (
                    self.key(signer),
                    request_share(request_id, &records, &field_names(fields), "random", ttl),
                )
            }
            Op::Decide {
                signer,
                pick: k,
                approve,
                reason,
            } => {
                let request = pick(&Self::requests(c, &[RequestStatus::Pending]), k);
                let request_id = request
                    .as_ref()
                    .map_or_else(|| RequestId(self.fresh()), |r| r.request_id);
                let keys = match (&request, right(signer)) {
                    (Some(request), true) => {
                        let decisions = c.state.queries().decisions(&request.request_id).unwrap();
                        let undecided: Vec<_> = decisions
                            .into_iter()
                            .filter(|d| d.approved.is_none())
                            .collect();
                        let approver = pick(&undecided, signer - SIGNERS + 1).map(|d| d.org);
                        let position = approver.and_then(|org| self.position_of(c, org));
                        self.key(position.unwrap_or(SUPERVISOR))
                    }
                    (None, true) => self.key(SUPERVISOR),
                    (_, false) => self.key(signer),
                };
                let reason = if reason { "because" } else { "" };
                (
                    keys,
                    Body::Decide {
                        request_id,
                        approve,
                        reason: reason.into(),
                    },
                )
            }
            Op::Deliver { signer, pick: k } => {
                let request = pick(&Self::requests(c, &[RequestStatus::Approved]), k);
                let request_id = request
                    .as_ref()
                    .map_or_else(|| RequestId(self.fresh()), |r| r.request_id);
                let signer = if right(signer) { SUPERVISOR } else { signer };
                // Named to the requester's current key, as the state checks (§4.5).
                let mut sealed = vec![1u8; 64];
                if let Some(requester) = request.as_ref().and_then(|r| {
                    let orgs = c.state.queries().orgs().unwrap();
                    orgs.into_iter().find(|o| o.id == r.requester)
                }) {
                    sealed[..32].copy_from_slice(&requester.encryption_key.0);
                }
                (
                    self.key(signer),
                    Body::Deliver {
                        request_id,
                        sealed: sealed.into(),
                    },
                )
            }
            Op::Cancel { signer, pick: k } => {
                let open = [RequestStatus::Pending, RequestStatus::Approved];
                let request = pick(&Self::requests(c, &open), k);
                let keys = match (&request, right(signer)) {
                    (Some(request), true) => {
                        let position = self.position_of(c, request.requester);
                        self.key(position.unwrap_or(SUPERVISOR))
                    }
                    (None, true) => self.key(MEMBER_A),
                    (_, false) => self.key(signer),
                };
                let request_id = request.map_or_else(|| RequestId(self.fresh()), |r| r.request_id);
                (keys, Body::Cancel { request_id })
            }
            Op::SetStatus { org, active } => (
                self.key(SUPERVISOR),
                crate::common::set_status_body(org, active),
            ),
            Op::Propose {
                signer,
                change,
                value,
                ttl,
            } => {
                use custodia_protocol::{Change, GenesisOrg, GovernedParam, OrgId, Role};
                let change = match change {
                    0 => Change::ChangeParams(vec![(GovernedParam::MaxRequestTtl, value % 20)]),
                    1 => Change::RemoveMember {
                        org: OrgId((value % 5) as u32),
                    },
                    _ => {
                        let keys = custodia_protocol::OrgKeys::from_seed(200 + value % 3);
                        Change::AddMember(Box::new(GenesisOrg {
                            name: format!("member-{}", value % 3 + 4),
                            role: Role::Member,
                            identity_key: keys.identity_key(),
                            encryption_key: keys.encryption_key(),
                            p2p: "127.0.0.1:7200".into(),
                            api: "127.0.0.1:8200".into(),
                        }))
                    }
                };
                let body = Body::Propose {
                    proposal_id: custodia_protocol::ProposalId(self.fresh()),
                    change,
                    ttl,
                };
                (self.key(signer), body)
            }
            Op::Vote {
                signer,
                pick: k,
                approve,
            } => {
                let open: Vec<_> = c
                    .state
                    .queries()
                    .proposals(Some("open"))
                    .unwrap()
                    .into_iter()
                    .map(|p| p.proposal_id)
                    .collect();
                let proposal_id =
                    pick(&open, k).unwrap_or_else(|| custodia_protocol::ProposalId(self.fresh()));
                let reason = if approve { "" } else { "no" };
                let body = Body::Vote {
                    proposal_id,
                    approve,
                    reason: reason.into(),
                };
                (self.key(signer), body)
            }
            Op::Replay { tx } => return pick(&self.sent, tx + 1),
            Op::EndBlock | Op::Restart | Op::Crash => return None,
        };
        self.counter += 1;
        let height = c.state.height() + 1;
        let tx = Tx::sign_with_nonce(&signer.identity, self.chain, height + 5, self.counter, body);
        self.sent.push(tx.clone());
        Some(tx)
    }
}
