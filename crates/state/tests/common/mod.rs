//! A consortium on a fresh state database: a supervisor and three members, and helpers that
//! sign txs and apply them in blocks the way the node will (stateless checks, then `apply`).

#![allow(dead_code)]

use custodia_protocol::{
    Block, Body, Change, Digest, Genesis, GenesisOrg, OrgId, OrgKeys, Params, ProposalId, RecordId,
    RequestId, Role, Tx,
    commitment::FieldValue,
    genesis::MIN_EPOCH_LENGTH,
    record::{RecordHeader, open_record, seal_record},
};
use custodia_state::{Applied, Receipt, State};
use std::collections::BTreeMap;

/// Index of each organisation in [`Consortium::keys`].
pub const SUPERVISOR: usize = 0;
pub const MEMBER_A: usize = 1;
pub const MEMBER_B: usize = 2;
pub const MEMBER_C: usize = 3;

/// Keys of an organisation that is not in genesis.
pub fn outsider() -> OrgKeys {
    OrgKeys::from_seed(99)
}

pub struct Consortium {
    pub keys: Vec<OrgKeys>,
    pub genesis: Genesis,
    pub chain: Digest,
    pub state: State,
    pub dir: tempfile::TempDir,
    timestamp_ms: u64,
}

pub fn genesis_of(keys: &[OrgKeys], params: Params) -> Genesis {
    custodia_protocol::testing::genesis_of(keys, params)
}

/// The default parameters with the shortest epochs, so that a membership change takes effect
/// within 127 blocks of its enactment.
pub fn short_epochs() -> Params {
    Params {
        epoch_length: MIN_EPOCH_LENGTH,
        ..Params::default()
    }
}

impl Consortium {
    pub fn new() -> Self {
        Self::with_params(short_epochs())
    }

    pub fn with_params(params: Params) -> Self {
        Self::of(4, params)
    }

    /// A supervisor and `orgs − 1` members (genesis index = id; seeds 1, 2, …).
    pub fn of(orgs: u64, params: Params) -> Self {
        let keys: Vec<OrgKeys> = (0..orgs).map(|i| OrgKeys::from_seed(i + 1)).collect();
        let genesis = genesis_of(&keys, params);
        genesis.validate().expect("test genesis is valid");
        let dir = tempfile::tempdir().expect("temp dir");
        let state = State::open(&dir.path().join("state.sqlite"), &genesis).expect("open state");
        Self {
            chain: genesis.digest(),
            keys,
            genesis,
            state,
            dir,
            timestamp_ms: 1_700_000_000_000,
        }
    }

    pub fn db_path(&self) -> std::path::PathBuf {
        self.dir.path().join("state.sqlite")
    }

    /// Signs `body` as organisation `who`, valid for the next 100 blocks.
    pub fn sign(&self, who: &OrgKeys, body: Body) -> Tx {
        Tx::sign(&who.identity, self.chain, self.state.height() + 100, body)
    }

    pub fn sign_as(&self, org: usize, body: Body) -> Tx {
        self.sign(&self.keys[org], body)
    }

    /// The next block holding `txs`.
    pub fn next_block(&mut self, txs: Vec<Tx>) -> Block {
        self.timestamp_ms += 1_000;
        Block {
            parent: self.state.last_block_digest(),
            height: self.state.height() + 1,
            timestamp_ms: self.timestamp_ms,
            txs,
        }
    }

    /// Checks `txs` in a block as a validator would, applies it and returns what it did.
    pub fn apply(&mut self, txs: Vec<Tx>) -> Applied {
        let block = self.next_block(txs);
        block
            .check_txs(&self.chain, &self.genesis.params)
            .expect("block passes stateless checks");
        self.state
            .apply(&block)
            .expect("apply")
            .expect("a new block")
    }

    /// Applies one tx alone in a block and returns its receipt.
    pub fn apply_one(&mut self, tx: Tx) -> Receipt {
        self.apply(vec![tx]).receipts.remove(0)
    }

    /// Applies one tx and asserts it succeeded.
    pub fn ok(&mut self, tx: Tx) -> Receipt {
        let receipt = self.apply_one(tx);
        assert!(receipt.is_ok(), "expected ok, got {receipt:?}");
        receipt
    }

    /// A member seals `fields` to the supervisor; returns the id and the `SubmitRecord` tx.
    pub fn submit_tx(
        &self,
        provider: usize,
        kind: &str,
        fields: &[(&str, FieldValue)],
    ) -> (RecordId, Tx) {
        let record_id = RecordId::random();
        let fields: BTreeMap<String, FieldValue> = fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        let sealed = seal_record(
            &self.chain,
            &record_id,
            kind,
            &self.keys[provider].identity_key(),
            &self.keys[SUPERVISOR].encryption_key(),
            fields,
        )
        .expect("seal record");
        let body = sealed.into_body(record_id, kind.into(), vec!["test".into()]);
        (record_id, self.sign_as(provider, body))
    }

    /// Submits a record and has the supervisor open, check and accept it.
    pub fn accepted_record(&mut self, provider: usize, fields: &[(&str, FieldValue)]) -> RecordId {
        let (record_id, tx) = self.submit_tx(provider, "claim", fields);
        self.ok(tx);
        let verdict = self.supervisor_checks(&record_id);
        assert!(verdict.is_ok(), "{verdict:?}");
        self.ok(self.sign_as(
            SUPERVISOR,
            Body::AttestRecord {
                record_id,
                accepted: true,
                reason: "checked".into(),
            },
        ));
        record_id
    }

    /// The supervisor's node: opens the record from the state and checks it.
    pub fn supervisor_checks(
        &self,
        record_id: &RecordId,
    ) -> Result<Vec<custodia_protocol::OpenedField>, custodia_protocol::record::RecordError> {
        let queries = self.state.queries();
        let row = queries.record(record_id).unwrap().expect("record exists");
        let sealed = queries.record_sealed(record_id).unwrap().expect("sealed");
        open_record(
            &self.chain,
            &self.keys[SUPERVISOR].encryption,
            &row.header(),
            &sealed,
        )
    }

    pub fn header(&self, record_id: &RecordId) -> RecordHeader {
        self.state
            .queries()
            .record(record_id)
            .unwrap()
            .unwrap()
            .header()
    }

    /// A `RequestShare` body for `records` and `fields`.
    pub fn request_body(records: &[RecordId], fields: &[&str]) -> (RequestId, Body) {
        let request_id = RequestId::random();
        (
            request_id,
            Body::RequestShare {
                request_id,
                record_ids: records.to_vec(),
                fields: fields.iter().map(|f| f.to_string()).collect(),
                purpose: "fraud check".into(),
                ttl: 50,
            },
        )
    }

    pub fn decide(&self, org: usize, request_id: RequestId, approve: bool) -> Tx {
        self.sign_as(
            org,
            Body::Decide {
                request_id,
                approve,
                reason: if approve { String::new() } else { "no".into() },
            },
        )
    }
}

/// A `SubmitRecord` body built by hand, without sealing: the state never opens the payload, so
/// rule tests can use any field names and any payload size.
pub fn raw_submit(record_id: RecordId, fields: &[&str], sealed_bytes: usize) -> Body {
    Body::SubmitRecord {
        record_id,
        kind: "claim".into(),
        tags: vec!["test".into()],
        fields: fields.iter().map(|f| f.to_string()).collect(),
        commitment: custodia_protocol::hash::sha256(&[&record_id.0]),
        sealed: sealed_to(SUPERVISOR, sealed_bytes).into(),
    }
}

/// `bytes` filler bytes (at least 32) that name the current encryption key of the genesis
/// organisation `org` as their recipient, as a seal does: what the state checks of a seal.
pub fn sealed_to(org: usize, bytes: usize) -> Vec<u8> {
    let mut sealed = vec![0xA5; bytes.max(32)];
    sealed[..32].copy_from_slice(&OrgKeys::from_seed(org as u64 + 1).encryption_key().0);
    sealed
}

/// A `RequestShare` body with an explicit id, purpose and ttl.
pub fn request_share(
    request_id: RequestId,
    records: &[RecordId],
    fields: &[&str],
    purpose: &str,
    ttl: u64,
) -> Body {
    Body::RequestShare {
        request_id,
        record_ids: records.to_vec(),
        fields: fields.iter().map(|f| f.to_string()).collect(),
        purpose: purpose.into(),
        ttl,
    }
}

impl Consortium {
    /// The digest of the world state proper (no receipts, events or applied tx ids).
    pub fn world(&self) -> Digest {
        self.state.queries().world_digest().expect("world digest")
    }

    /// The supervisor suspends (`active = false`, with a reason) or reinstates organisation
    /// `org` (its genesis index is its id).
    pub fn set_status(&self, org: usize, active: bool) -> Tx {
        self.sign_as(SUPERVISOR, set_status_body(org, active))
    }

    /// Applies `txs` in the next block without the stateless checks a validator makes first
    /// (for txs a validator would refuse: wrong chain, outside the window). Returns the block too.
    pub fn apply_unchecked(&mut self, txs: Vec<Tx>) -> (Block, Applied) {
        let block = self.next_block(txs);
        let applied = self
            .state
            .apply(&block)
            .expect("apply")
            .expect("a new block");
        (block, applied)
    }

    /// Closes the state database and opens it again from the file, as a restarted node does.
    pub fn reopen(&mut self) {
        let placeholder = State::open_in_memory(&self.genesis).expect("in-memory state");
        drop(std::mem::replace(&mut self.state, placeholder));
        self.state = State::open(&self.db_path(), &self.genesis).expect("reopen state");
    }
}

/// `SetOrgStatus` for the organisation of genesis index `org`, with a reason when suspending.
pub fn set_status_body(org: usize, active: bool) -> Body {
    Body::SetOrgStatus {
        org: custodia_protocol::OrgId(org as u32),
        active,
        reason: if active {
            String::new()
        } else {
            "audit finding".into()
        },
    }
}

/// `tx` (made from the consortium as it is) fails alone in its block with `code`, says why and
/// leaves the world digest as it was; the mempool's precheck says the same.
pub fn refused(c: &mut Consortium, tx: impl FnOnce(&Consortium) -> Tx, code: &str) {
    let tx = tx(c);
    let before = c.world();
    let precheck = c.state.check(&tx, c.state.height() + 1).expect("check");
    assert_eq!(
        precheck.as_ref().err().map(|r| r.code.as_str()),
        Some(code),
        "precheck: {precheck:?}"
    );
    let receipt = c.apply_one(tx);
    assert_eq!(receipt.code, code, "{receipt:?}");
    assert!(!receipt.message.is_empty());
    assert_eq!(c.world(), before, "a refused {code} changed the world");
}

/// A `Propose` of `change` with `ttl`.
pub fn propose(id: ProposalId, change: Change, ttl: u64) -> Body {
    Body::Propose {
        proposal_id: id,
        change,
        ttl,
    }
}

/// A `Vote` on proposal `id`.
pub fn vote(id: ProposalId, approve: bool, reason: &str) -> Body {
    Body::Vote {
        proposal_id: id,
        approve,
        reason: reason.into(),
    }
}

/// The removal of the organisation of genesis index `org`.
pub fn remove(org: usize) -> Change {
    Change::RemoveMember {
        org: OrgId(org as u32),
    }
}

/// A new member's keys (from `seed`) and the `AddMember` of its entry, named `name`.
pub fn newcomer(seed: u64, name: &str) -> (OrgKeys, Change) {
    let keys = OrgKeys::from_seed(seed);
    let org = GenesisOrg {
        name: name.into(),
        role: Role::Member,
        identity_key: keys.identity_key(),
        encryption_key: keys.encryption_key(),
        p2p: format!("127.0.0.1:{}", 7000 + seed),
        api: format!("127.0.0.1:{}", 8000 + seed),
    };
    (keys, Change::AddMember(Box::new(org)))
}

/// Proposal `id`'s status.
pub fn status(c: &Consortium, id: &ProposalId) -> String {
    c.state
        .queries()
        .proposal(id)
        .unwrap()
        .expect("proposal")
        .status
}
