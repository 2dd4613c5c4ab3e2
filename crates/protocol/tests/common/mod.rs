//! A small test consortium shared by the integration tests: keys from fixed seeds, a valid
//! genesis and its chain digest. Each test binary uses a different part of it.
#![allow(dead_code)]

use custodia_protocol::{Digest, Genesis, GenesisOrg, OrgKeys, Params, Role};

/// Seed of the supervisor's keys.
pub const SUPERVISOR_SEED: u64 = 0;
/// Seed of the first member's keys (the provider in most tests).
pub const PROVIDER_SEED: u64 = 1;
/// Seed of the second member's keys (the requester in most tests).
pub const REQUESTER_SEED: u64 = 2;
/// Seed of a third member's keys (an eavesdropper or another requester).
pub const OTHER_SEED: u64 = 3;

/// The genesis entry of the org whose keys come from `seed`, at position `index`.
pub fn org(index: usize, seed: u64, role: Role) -> GenesisOrg {
    let keys = OrgKeys::from_seed(seed);
    GenesisOrg {
        name: format!("org-{index}"),
        role,
        identity_key: keys.identity_key(),
        encryption_key: keys.encryption_key(),
        p2p: format!("127.0.0.1:{}", 7000 + index),
        api: format!("127.0.0.1:{}", 8000 + index),
    }
}

/// A valid genesis: the first seed is the supervisor, the others are members.
pub fn genesis(chain_id: &str, seeds: &[u64]) -> Genesis {
    let orgs = seeds
        .iter()
        .enumerate()
        .map(|(i, &seed)| {
            let role = if i == 0 {
                Role::Supervisor
            } else {
                Role::Member
            };
            org(i, seed, role)
        })
        .collect();
    Genesis {
        chain_id: chain_id.to_string(),
        params: Params::default(),
        orgs,
    }
}

/// The four organisations of a devnet and the chain they share.
pub struct Consortium {
    pub supervisor: OrgKeys,
    pub provider: OrgKeys,
    pub requester: OrgKeys,
    pub other: OrgKeys,
    pub genesis: Genesis,
    pub chain: Digest,
}

impl Consortium {
    /// The consortium of chain `custodia-test`.
    pub fn new() -> Self {
        Self::for_chain("custodia-test")
    }

    /// The same four organisations on the chain named `chain_id`.
    pub fn for_chain(chain_id: &str) -> Self {
        let genesis = genesis(
            chain_id,
            &[SUPERVISOR_SEED, PROVIDER_SEED, REQUESTER_SEED, OTHER_SEED],
        );
        assert_eq!(genesis.validate(), Ok(()));
        Self {
            supervisor: OrgKeys::from_seed(SUPERVISOR_SEED),
            provider: OrgKeys::from_seed(PROVIDER_SEED),
            requester: OrgKeys::from_seed(REQUESTER_SEED),
            other: OrgKeys::from_seed(OTHER_SEED),
            chain: genesis.digest(),
            genesis,
        }
    }
}

/// A digest with the given bytes (for parents, commitments and foreign chains).
pub fn digest(bytes: [u8; 32]) -> Digest {
    commonware_cryptography::sha256::Digest(bytes)
}
