//! What a proposal changes (DESIGN §4.10): a member added or removed, or the parameters no node
//! sizes anything from at start. Carried by `Body::Propose`, decided by `Body::Vote`.

use crate::{GenesisOrg, OrgId, Params};
use bytes::BufMut;
use commonware_codec::{Buf, EncodeSize, Error as CodecError, FixedSize, Read, ReadExt, Write};

/// The most parameters one `ChangeParams` sets.
pub const MAX_PARAM_CHANGES: usize = GovernedParam::ALL.len();

/// A parameter a proposal may change: one that no node sizes its buffers, codecs or p2p
/// messages from at start, and that no check makes before a block's parent is applied (so
/// `max_tx_ttl`, which block verification checks, stays fixed, as do every size limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GovernedParam {
    /// `max_request_ttl`.
    MaxRequestTtl,
    /// `max_proposal_ttl`.
    MaxProposalTtl,
    /// `governance_percent`.
    GovernancePercent,
}

impl GovernedParam {
    /// Every governed parameter.
    pub const ALL: [GovernedParam; 3] = [
        GovernedParam::MaxRequestTtl,
        GovernedParam::MaxProposalTtl,
        GovernedParam::GovernancePercent,
    ];

    /// Its name in `genesis.toml` and on the command line.
    pub fn as_str(&self) -> &'static str {
        match self {
            GovernedParam::MaxRequestTtl => "max_request_ttl",
            GovernedParam::MaxProposalTtl => "max_proposal_ttl",
            GovernedParam::GovernancePercent => "governance_percent",
        }
    }

    fn tag(&self) -> u8 {
        match self {
            GovernedParam::MaxRequestTtl => 0,
            GovernedParam::MaxProposalTtl => 1,
            GovernedParam::GovernancePercent => 2,
        }
    }

    /// The values it may take, in the genesis and in a proposal.
    pub fn range(&self) -> std::ops::RangeInclusive<u64> {
        match self {
            GovernedParam::MaxRequestTtl | GovernedParam::MaxProposalTtl => {
                1..=crate::genesis::MAX_REQUEST_TTL_BOUND
            }
            GovernedParam::GovernancePercent => 0..=99,
        }
    }

    /// What a value counts.
    pub fn unit(&self) -> &'static str {
        match self {
            GovernedParam::MaxRequestTtl | GovernedParam::MaxProposalTtl => "blocks",
            GovernedParam::GovernancePercent => "percent",
        }
    }

    /// Its value in `params`.
    pub fn get(&self, params: &Params) -> u64 {
        match self {
            GovernedParam::MaxRequestTtl => params.max_request_ttl,
            GovernedParam::MaxProposalTtl => params.max_proposal_ttl,
            GovernedParam::GovernancePercent => params.governance_percent,
        }
    }

    /// `params` with this parameter set to `value`.
    pub fn set(&self, params: &mut Params, value: u64) {
        match self {
            GovernedParam::MaxRequestTtl => params.max_request_ttl = value,
            GovernedParam::MaxProposalTtl => params.max_proposal_ttl = value,
            GovernedParam::GovernancePercent => params.governance_percent = value,
        }
    }
}

impl std::fmt::Display for GovernedParam {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for GovernedParam {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        GovernedParam::ALL
            .into_iter()
            .find(|p| p.as_str() == text)
            .ok_or_else(|| {
                let names: Vec<_> = GovernedParam::ALL.iter().map(|p| p.as_str()).collect();
                format!(
                    "{text:?} is not a parameter a proposal may change: use one of {} (size \
                     limits and max_tx_ttl stay as the genesis set them)",
                    names.join(", ")
                )
            })
    }
}

/// What a proposal changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Admit a new member (its `role` must be `member`).
    AddMember(Box<GenesisOrg>),
    /// Remove a member.
    RemoveMember {
        /// The member's id.
        org: OrgId,
    },
    /// Set parameters, each once.
    ChangeParams(Vec<(GovernedParam, u64)>),
}

impl Change {
    /// Its name in the audit trail and the API.
    pub fn name(&self) -> &'static str {
        match self {
            Change::AddMember(_) => "add_member",
            Change::RemoveMember { .. } => "remove_member",
            Change::ChangeParams(_) => "change_params",
        }
    }

    /// Whether it changes who is a member (at most one such change is pending at a time).
    pub fn is_membership(&self) -> bool {
        !matches!(self, Change::ChangeParams(_))
    }

    fn tag(&self) -> u8 {
        match self {
            Change::AddMember(_) => 0,
            Change::RemoveMember { .. } => 1,
            Change::ChangeParams(_) => 2,
        }
    }
}

impl Change {
    /// Decodes a change from all of `bytes` (as the state stores it).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CodecError> {
        use commonware_codec::DecodeExt as _;
        Self::decode(bytes::Bytes::copy_from_slice(bytes))
    }
}

impl Write for Change {
    fn write(&self, buf: &mut impl BufMut) {
        self.tag().write(buf);
        match self {
            Change::AddMember(org) => org.write(buf),
            Change::RemoveMember { org } => org.write(buf),
            Change::ChangeParams(changes) => {
                commonware_codec::varint::UInt(changes.len() as u32).write(buf);
                for (param, value) in changes {
                    param.tag().write(buf);
                    value.write(buf);
                }
            }
        }
    }
}

impl EncodeSize for Change {
    fn encode_size(&self) -> usize {
        1 + match self {
            Change::AddMember(org) => org.encode_size(),
            Change::RemoveMember { .. } => OrgId::SIZE,
            Change::ChangeParams(changes) => {
                commonware_codec::varint::UInt(changes.len() as u32).encode_size()
                    + changes.len() * (1 + u64::SIZE)
            }
        }
    }
}

impl Read for Change {
    type Cfg = ();

    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(match u8::read(buf)? {
            0 => Change::AddMember(Box::new(GenesisOrg::read(buf)?)),
            1 => Change::RemoveMember {
                org: OrgId::read(buf)?,
            },
            2 => {
                let count: usize = commonware_codec::varint::UInt::<u32>::read(buf)?.0 as usize;
                if count > MAX_PARAM_CHANGES {
                    return Err(CodecError::InvalidLength(count));
                }
                let mut changes = Vec::with_capacity(count);
                for _ in 0..count {
                    let tag = u8::read(buf)?;
                    let param = GovernedParam::ALL
                        .into_iter()
                        .find(|p| p.tag() == tag)
                        .ok_or(CodecError::InvalidEnum(tag))?;
                    changes.push((param, u64::read(buf)?));
                }
                Change::ChangeParams(changes)
            }
            other => return Err(CodecError::InvalidEnum(other)),
        })
    }
}

/// How the audit trail and the API describe `change` (`names` gives an organisation's name).
pub fn describe(change: &Change, names: impl Fn(OrgId) -> String) -> String {
    match change {
        Change::AddMember(org) => format!(
            "add member {} (identity key {}, p2p {}, api {})",
            org.name,
            hex::encode(org.identity_key.as_ref()),
            org.p2p,
            org.api
        ),
        Change::RemoveMember { org } => format!("remove member {}", names(*org)),
        Change::ChangeParams(changes) => {
            let set: Vec<String> = changes
                .iter()
                .map(|(param, value)| format!("{param} = {value}"))
                .collect();
            format!("set {}", set.join(", "))
        }
    }
}
