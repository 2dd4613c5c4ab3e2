//! Genesis: the consortium, its keys and addresses, and the chain parameters. Its digest is the
//! chain id that every tx and the first block commit to.

use crate::{
    Digest, EncryptionKey, IdentityKey, Params,
    encoding::{read_str, str_size, write_str},
    hash::sha256,
    params::{
        DELIVERY_RECORD_OVERHEAD_BYTES, MAX_ADDRESS_BYTES, MAX_CHAIN_ID_BYTES, MAX_ORG_NAME_BYTES,
        MAX_ORGS, MAX_REQUEST_RECORDS,
    },
};
use bytes::BufMut;
use commonware_codec::{
    Buf, Encode, EncodeSize, Error as CodecError, FixedSize, RangeCfg, Read, ReadExt, Write,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

const GENESIS_DOMAIN: &[u8] = b"custodia/genesis/v1";

/// Largest `max_tx_ttl`, in blocks (DESIGN §5.4). Heights, `valid_until` and the ids kept for
/// replay protection are stored as SQLite integers (i64): every height plus a bounded ttl stays
/// far below `i64::MAX`.
pub const MAX_TX_TTL_BOUND: u64 = 1_000_000;
/// Largest `max_request_ttl`, in blocks (`expires_height = inclusion + ttl`).
pub const MAX_REQUEST_TTL_BOUND: u64 = 10_000_000;
/// Largest `max_block_txs`: a block is decoded into one vector of txs.
pub const MAX_BLOCK_TXS_BOUND: u64 = 1_000_000;
/// Largest `max_block_bytes` (256 MiB): the largest p2p message is a block with its certificate,
/// and a node holds several blocks in memory.
pub const MAX_BLOCK_BYTES_BOUND: u64 = 256 << 20;
/// Smallest `epoch_length`: far above what marshal fetches ahead of the applied height
/// (16 repairs + 16 pending acks), so a node never meets a height two epochs ahead of its state.
pub const MIN_EPOCH_LENGTH: u64 = 64;
/// Largest `epoch_length`, in blocks (as `max_request_ttl`: heights stay far below `i64::MAX`).
pub const MAX_EPOCH_LENGTH: u64 = 10_000_000;
/// Largest `max_validators`: p2p sizes its peer sets, queues and consensus messages by it.
pub const MAX_VALIDATORS_BOUND: u64 = 100;
/// Smallest `max_record_bytes` and `max_delivery_bytes`: room for a sealed record of one short
/// field (about 130 bytes).
pub const MIN_PAYLOAD_BYTES: u64 = 256;
/// Allowance of a block for everything of a `SubmitRecord` but its sealed payload: the envelope,
/// the largest kind, tags and field names the codec accepts, and the block's header.
pub const SUBMIT_RECORD_OVERHEAD_BYTES: u64 = 24 * 1024;
/// The part of `max_deliver_sealed_bytes` beyond `max_delivery_bytes`: per record of a request,
/// its metadata and undisclosed leaves.
const DELIVERY_OVERHEAD_BYTES: u64 = (MAX_REQUEST_RECORDS * DELIVERY_RECORD_OVERHEAD_BYTES) as u64;
/// Smallest `max_block_bytes`: room for the smallest delivery.
pub const MIN_BLOCK_BYTES: u64 = DELIVERY_OVERHEAD_BYTES + MIN_PAYLOAD_BYTES;

/// An organisation's role in the consortium.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The regulator: reads records, attests, approves every request, delivers.
    Supervisor,
    /// A consortium member: provides and requests data.
    Member,
}

impl Role {
    /// `supervisor` or `member`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Supervisor => "supervisor",
            Role::Member => "member",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "supervisor" => Ok(Role::Supervisor),
            "member" => Ok(Role::Member),
            other => Err(format!(
                "unknown role {other:?}: expected 'supervisor' or 'member'"
            )),
        }
    }
}

/// One organisation of the consortium (also the content of its `org.pub.toml`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisOrg {
    /// Unique human name (`supervisor`, `member-a`, `acme-insurance`…).
    pub name: String,
    /// Supervisor or member.
    pub role: Role,
    /// Ed25519 identity key.
    #[serde(with = "crate::keys::identity_hex")]
    pub identity_key: IdentityKey,
    /// X25519 encryption key.
    pub encryption_key: EncryptionKey,
    /// p2p address `host:port`.
    pub p2p: String,
    /// REST API address `host:port`.
    pub api: String,
}

/// The genesis of a chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Genesis {
    /// Human chain id (e.g. `custodia-devnet`); the chain digest is [`Genesis::digest`].
    pub chain_id: String,
    /// Chain parameters.
    #[serde(default)]
    pub params: Params,
    /// The consortium, supervisor included.
    pub orgs: Vec<GenesisOrg>,
}

/// Why a genesis (or an org entry) is not acceptable. Each names the offending field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GenesisError {
    /// A field is invalid.
    #[error("{field}: {message}")]
    Invalid {
        /// The field (e.g. `orgs[2].name`).
        field: String,
        /// What is wrong.
        message: String,
    },
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> GenesisError {
    GenesisError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

/// Whether `name` is a valid organisation name: 1..=64 bytes of `[a-z0-9._-]`, starting with a
/// letter or digit (used as a directory name by the CLI).
pub fn valid_org_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_ORG_NAME_BYTES
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
        && name.as_bytes()[0].is_ascii_alphanumeric()
}

impl GenesisOrg {
    /// Checks one org entry on its own; `field` prefixes the names in errors.
    pub fn validate(&self, field: &str) -> Result<(), GenesisError> {
        if !valid_org_name(&self.name) {
            return Err(invalid(
                format!("{field}name"),
                format!(
                    "{:?} is not a valid organisation name: use 1 to {MAX_ORG_NAME_BYTES} lowercase \
                     letters, digits, '.', '_' or '-', starting with a letter or digit",
                    self.name
                ),
            ));
        }
        for (what, addr) in [("p2p", &self.p2p), ("api", &self.api)] {
            let parsed = (addr.len() <= MAX_ADDRESS_BYTES)
                .then(|| addr.parse::<std::net::SocketAddr>().ok())
                .flatten();
            let Some(parsed) = parsed else {
                return Err(invalid(
                    format!("{field}{what}"),
                    format!("{addr:?} is not an address of the form IP:PORT (e.g. 127.0.0.1:7000)"),
                ));
            };
            // Peers dial the p2p address: it must name one host and one port.
            if what == "p2p" && (parsed.ip().is_unspecified() || parsed.port() == 0) {
                return Err(invalid(
                    format!("{field}{what}"),
                    format!(
                        "{addr:?} cannot be dialled: give the host's own IP and a non-zero port"
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// The bounds of the parameters (DESIGN §5.4), so that no height arithmetic can overflow and
/// the codecs' and p2p messages' sizes stay sane; the error names the parameter, its value and
/// the bound. The relations checked here (a largest record and a largest delivery fit a block)
/// imply [`Params::validate`]'s.
fn check_param_bounds(params: &Params) -> Result<(), GenesisError> {
    let within = |name: &str, value: u64, min: u64, max: u64, unit: &str, why: String| {
        if (min..=max).contains(&value) {
            return Ok(());
        }
        Err(invalid(
            format!("params.{name}"),
            format!("must be {min} to {max} {unit}{why}, found {value}"),
        ))
    };
    within(
        "max_tx_ttl",
        params.max_tx_ttl,
        1,
        MAX_TX_TTL_BOUND,
        "blocks",
        String::new(),
    )?;
    for param in crate::GovernedParam::ALL {
        let range = param.range();
        within(
            param.as_str(),
            param.get(params),
            *range.start(),
            *range.end(),
            param.unit(),
            String::new(),
        )?;
    }
    within(
        "epoch_length",
        params.epoch_length,
        MIN_EPOCH_LENGTH,
        MAX_EPOCH_LENGTH,
        "blocks",
        String::new(),
    )?;
    within(
        "max_validators",
        params.max_validators,
        1,
        MAX_VALIDATORS_BOUND,
        "validators",
        String::new(),
    )?;
    within(
        "max_block_txs",
        params.max_block_txs,
        1,
        MAX_BLOCK_TXS_BOUND,
        "txs",
        String::new(),
    )?;
    within(
        "max_block_bytes",
        params.max_block_bytes,
        MIN_BLOCK_BYTES,
        MAX_BLOCK_BYTES_BOUND,
        "bytes",
        format!(
            " (a block must hold a delivery: {DELIVERY_OVERHEAD_BYTES} bytes of per-record metadata and at least {MIN_PAYLOAD_BYTES} of fields)"
        ),
    )?;
    let block = params.max_block_bytes;
    within(
        "max_record_bytes",
        params.max_record_bytes,
        MIN_PAYLOAD_BYTES,
        block - SUBMIT_RECORD_OVERHEAD_BYTES,
        "bytes",
        format!(
            " (a largest record, with {SUBMIT_RECORD_OVERHEAD_BYTES} bytes of tx and block overhead, must fit in max_block_bytes = {block})"
        ),
    )?;
    within(
        "max_delivery_bytes",
        params.max_delivery_bytes,
        MIN_PAYLOAD_BYTES,
        block - DELIVERY_OVERHEAD_BYTES,
        "bytes",
        format!(
            " (a largest delivery, with {DELIVERY_OVERHEAD_BYTES} bytes of per-record metadata, must fit in max_block_bytes = {block})"
        ),
    )
}

impl Genesis {
    /// Checks every rule of a genesis; the error names the offending field.
    pub fn validate(&self) -> Result<(), GenesisError> {
        if self.chain_id.is_empty() || self.chain_id.len() > MAX_CHAIN_ID_BYTES {
            return Err(invalid(
                "chain_id",
                format!("must be 1 to {MAX_CHAIN_ID_BYTES} bytes"),
            ));
        }
        check_param_bounds(&self.params)?;
        self.params
            .validate()
            .map_err(|message| invalid("params", message))?;
        if self.orgs.len() > MAX_ORGS {
            return Err(invalid("orgs", format!("at most {MAX_ORGS} organisations")));
        }
        // Every genesis organisation validates epoch 0.
        if self.orgs.len() as u64 > self.params.max_validators {
            return Err(invalid(
                "orgs",
                format!(
                    "{} organisations, but params.max_validators is {}: every organisation is a \
                     validator; raise max_validators (at most {MAX_VALIDATORS_BOUND})",
                    self.orgs.len(),
                    self.params.max_validators
                ),
            ));
        }
        let mut names = BTreeSet::new();
        let mut identities = BTreeSet::new();
        let mut encryptions = BTreeSet::new();
        let mut p2p: BTreeSet<std::net::SocketAddr> = BTreeSet::new();
        for (i, org) in self.orgs.iter().enumerate() {
            let field = format!("orgs[{i}] ({}).", org.name);
            org.validate(&field)?;
            if !names.insert(org.name.as_str()) {
                return Err(invalid(
                    format!("{field}name"),
                    format!("duplicate name {:?}", org.name),
                ));
            }
            if !identities.insert(org.identity_key.clone()) {
                return Err(invalid(
                    format!("{field}identity_key"),
                    "duplicate identity key",
                ));
            }
            if !encryptions.insert(org.encryption_key) {
                return Err(invalid(
                    format!("{field}encryption_key"),
                    "duplicate encryption key",
                ));
            }
            // Validated above: the address parses. Compare parsed, so `[::1]` equals `[0::1]`.
            if org.p2p.parse().is_ok_and(|addr| !p2p.insert(addr)) {
                return Err(invalid(
                    format!("{field}p2p"),
                    format!("duplicate p2p address {}", org.p2p),
                ));
            }
        }
        match self
            .orgs
            .iter()
            .filter(|o| o.role == Role::Supervisor)
            .count()
        {
            1 => Ok(()),
            0 => Err(invalid(
                "orgs",
                "no organisation has role 'supervisor': exactly one must",
            )),
            n => Err(invalid(
                "orgs",
                format!("{n} organisations have role 'supervisor': exactly one must"),
            )),
        }
    }

    /// The chain digest: SHA-256 of the domain and the genesis encoding.
    pub fn digest(&self) -> Digest {
        sha256(&[GENESIS_DOMAIN, &self.encode()])
    }

    /// The supervisor's entry (a validated genesis has exactly one).
    pub fn supervisor(&self) -> Option<&GenesisOrg> {
        self.orgs.iter().find(|o| o.role == Role::Supervisor)
    }

    /// The org with this identity key.
    pub fn org(&self, key: &IdentityKey) -> Option<&GenesisOrg> {
        self.orgs.iter().find(|o| &o.identity_key == key)
    }

    /// The org with this name.
    pub fn org_by_name(&self, name: &str) -> Option<&GenesisOrg> {
        self.orgs.iter().find(|o| o.name == name)
    }

    /// The `genesis.toml` text.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_default()
    }

    /// Reads and validates a `genesis.toml` text.
    pub fn from_toml(text: &str) -> Result<Self, GenesisError> {
        let genesis: Genesis =
            toml::from_str(text).map_err(|e| invalid("genesis", e.to_string()))?;
        genesis.validate()?;
        Ok(genesis)
    }
}

impl Write for Role {
    fn write(&self, buf: &mut impl BufMut) {
        let tag: u8 = match self {
            Role::Supervisor => 0,
            Role::Member => 1,
        };
        tag.write(buf);
    }
}

impl FixedSize for Role {
    const SIZE: usize = 1;
}

impl Read for Role {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        match u8::read(buf)? {
            0 => Ok(Role::Supervisor),
            1 => Ok(Role::Member),
            other => Err(CodecError::InvalidEnum(other)),
        }
    }
}

impl Write for GenesisOrg {
    fn write(&self, buf: &mut impl BufMut) {
        write_str(&self.name, buf);
        self.role.write(buf);
        self.identity_key.write(buf);
        self.encryption_key.0.write(buf);
        write_str(&self.p2p, buf);
        write_str(&self.api, buf);
    }
}

impl EncodeSize for GenesisOrg {
    fn encode_size(&self) -> usize {
        str_size(&self.name)
            + Role::SIZE
            + IdentityKey::SIZE
            + 32
            + str_size(&self.p2p)
            + str_size(&self.api)
    }
}

impl Read for GenesisOrg {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self {
            name: read_str(buf, MAX_ORG_NAME_BYTES, "org name")?,
            role: Role::read(buf)?,
            identity_key: IdentityKey::read(buf)?,
            encryption_key: EncryptionKey(<[u8; 32]>::read(buf)?),
            p2p: read_str(buf, MAX_ADDRESS_BYTES, "p2p address")?,
            api: read_str(buf, MAX_ADDRESS_BYTES, "api address")?,
        })
    }
}

impl Write for Params {
    fn write(&self, buf: &mut impl BufMut) {
        self.max_tx_ttl.write(buf);
        self.max_record_bytes.write(buf);
        self.max_delivery_bytes.write(buf);
        self.max_request_ttl.write(buf);
        self.max_block_txs.write(buf);
        self.max_block_bytes.write(buf);
        self.max_proposal_ttl.write(buf);
        self.governance_percent.write(buf);
        self.epoch_length.write(buf);
        self.max_validators.write(buf);
    }
}

impl FixedSize for Params {
    const SIZE: usize = 10 * u64::SIZE;
}

impl Read for Params {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self {
            max_tx_ttl: u64::read(buf)?,
            max_record_bytes: u64::read(buf)?,
            max_delivery_bytes: u64::read(buf)?,
            max_request_ttl: u64::read(buf)?,
            max_block_txs: u64::read(buf)?,
            max_block_bytes: u64::read(buf)?,
            max_proposal_ttl: u64::read(buf)?,
            governance_percent: u64::read(buf)?,
            epoch_length: u64::read(buf)?,
            max_validators: u64::read(buf)?,
        })
    }
}

impl Write for Genesis {
    fn write(&self, buf: &mut impl BufMut) {
        write_str(&self.chain_id, buf);
        self.params.write(buf);
        self.orgs.write(buf);
    }
}

impl EncodeSize for Genesis {
    fn encode_size(&self) -> usize {
        str_size(&self.chain_id) + Params::SIZE + self.orgs.encode_size()
    }
}

impl Read for Genesis {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self {
            chain_id: read_str(buf, MAX_CHAIN_ID_BYTES, "chain id")?,
            params: Params::read(buf)?,
            orgs: Vec::<GenesisOrg>::read_cfg(buf, &(RangeCfg::from(0..=MAX_ORGS), ()))?,
        })
    }
}
