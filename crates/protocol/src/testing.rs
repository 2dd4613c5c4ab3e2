//! Fixtures for tests and benchmarks: a consortium of a supervisor and members with keys from
//! fixed seeds. Not for production use (the keys are predictable).

use crate::{
    Body, Digest, Genesis, GenesisOrg, OrgKeys, Params, RecordId, Role, Tx, commitment::FieldValue,
    record::seal_record,
};
use std::collections::BTreeMap;

/// Names of the organisations of [`consortium`], supervisor first.
pub const ORG_NAMES: [&str; 4] = ["supervisor", "member-a", "member-b", "member-c"];

/// Keys of `n` organisations (the first is the supervisor), from seeds `1..=n`.
pub fn consortium_keys(n: usize) -> Vec<OrgKeys> {
    (0..n as u64).map(|i| OrgKeys::from_seed(i + 1)).collect()
}

/// The genesis of a consortium with `keys` (the first is the supervisor) on 127.0.0.1, with
/// p2p ports from 7000 and API ports from 8000.
pub fn genesis_of(keys: &[OrgKeys], params: Params) -> Genesis {
    Genesis {
        chain_id: "custodia-test".into(),
        params,
        orgs: keys
            .iter()
            .enumerate()
            .map(|(i, k)| GenesisOrg {
                name: ORG_NAMES
                    .get(i)
                    .map(|n| n.to_string())
                    .unwrap_or_else(|| format!("member-{i}")),
                role: if i == 0 {
                    Role::Supervisor
                } else {
                    Role::Member
                },
                identity_key: k.identity_key(),
                encryption_key: k.encryption_key(),
                p2p: format!("127.0.0.1:{}", 7000 + i),
                api: format!("127.0.0.1:{}", 8000 + i),
            })
            .collect(),
    }
}

/// A signed `SubmitRecord` of a claim with `fields` by `provider`, sealed to `supervisor`,
/// valid until `valid_until`.
pub fn submit_record(
    chain: &Digest,
    provider: &OrgKeys,
    supervisor: &OrgKeys,
    fields: &[(&str, FieldValue)],
    valid_until: u64,
) -> (RecordId, Tx) {
    let record_id = RecordId::random();
    let fields: BTreeMap<String, FieldValue> = fields
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    let sealed = seal_record(
        chain,
        &record_id,
        "claim",
        &provider.identity_key(),
        &supervisor.encryption_key(),
        fields,
    )
    .expect("fixture fields are valid");
    let body: Body = sealed.into_body(record_id, "claim".into(), vec!["test".into()]);
    (
        record_id,
        Tx::sign(&provider.identity, *chain, valid_until, body),
    )
}
