//! An organisation's keys: the Ed25519 identity and the X25519 encryption key (DESIGN §3.8, §6.6).
//!
//! `org.key` holds both secrets as TOML (the CLI writes it with mode 0600); the public half is a
//! [`crate::GenesisOrg`], written as `org.pub.toml` and handed to the consortium.

use crate::{IdentityKey, IdentitySecret};
use commonware_codec::{Buf, DecodeExt, Encode, Error as CodecError, Read};
use commonware_cryptography::Signer;
use commonware_math::algebra::Random;
use hpke::{Deserializable, Kem, Serializable, kem::X25519HkdfSha256};
use serde::{Deserialize, Serialize};
use std::{
    collections::HashMap,
    fmt,
    sync::{LazyLock, PoisonError, RwLock},
};

/// Public X25519 key that records and deliveries are sealed to.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct EncryptionKey(#[serde(with = "crate::encoding::hex_bytes")] pub [u8; 32]);

impl fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EncryptionKey({})", hex::encode(self.0))
    }
}

impl EncryptionKey {
    /// The key as the HPKE library's type.
    pub(crate) fn to_hpke(self) -> Result<<X25519HkdfSha256 as Kem>::PublicKey, hpke::HpkeError> {
        <X25519HkdfSha256 as Kem>::PublicKey::from_bytes(&self.0)
    }
}

/// Secret X25519 key that opens what was sealed to the matching [`EncryptionKey`].
#[derive(Clone)]
pub struct EncryptionSecret(pub(crate) <X25519HkdfSha256 as Kem>::PrivateKey);

impl EncryptionSecret {
    /// A fresh random secret.
    pub fn generate() -> Self {
        let mut ikm = [0u8; 32];
        rand::fill(&mut ikm);
        let (secret, _) = X25519HkdfSha256::derive_keypair(&ikm);
        Self(secret)
    }

    /// The public key.
    pub fn public(&self) -> EncryptionKey {
        let public = X25519HkdfSha256::sk_to_pk(&self.0);
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(&public.to_bytes());
        EncryptionKey(bytes)
    }

    /// The 32 secret bytes (to write to `org.key`).
    pub fn to_bytes(&self) -> [u8; 32] {
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(&self.0.to_bytes());
        bytes
    }

    /// Reads a secret from its 32 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        <X25519HkdfSha256 as Kem>::PrivateKey::from_bytes(bytes)
            .ok()
            .map(Self)
    }
}

impl fmt::Debug for EncryptionSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EncryptionSecret(<redacted>)")
    }
}

/// An organisation's keyring: its identity secret, its newest encryption secret and the
/// encryption secrets it rotated away from (DESIGN §6.6), which still open what was sealed to
/// them before the rotation.
#[derive(Clone)]
pub struct OrgKeys {
    /// Signs txs and votes, authenticates p2p connections.
    pub identity: IdentitySecret,
    /// The newest encryption secret: what [`OrgKeys::rotate_encryption`] last made (or the
    /// first one). The chain's key for the organisation is this one or, until a `RotateKeys`
    /// applies, one of `retired`.
    pub encryption: EncryptionSecret,
    /// Older encryption secrets, oldest first; kept so sealed payloads of before a rotation open.
    pub retired: Vec<EncryptionSecret>,
    /// The identity secret a `RotateIdentity` announced (or is about to), until the chain makes
    /// it the organisation's key: then [`OrgKeys::promote_identity`] makes it `identity`.
    pub next_identity: Option<IdentitySecret>,
    /// Identity secrets the organisation rotated away from, oldest first: kept for the record
    /// and for the delivery-seed key, which the first one derives (DESIGN §7.6).
    pub retired_identities: Vec<IdentitySecret>,
}

/// Shows the public keys, never the secrets.
impl fmt::Debug for OrgKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OrgKeys")
            .field("identity", &format_args!("<redacted>"))
            .field("encryption", &format_args!("<redacted>"))
            .field(
                "identity_key",
                &format_args!("{}", hex::encode(self.identity_key().as_ref())),
            )
            .field(
                "encryption_key",
                &format_args!("{}", hex::encode(self.encryption_key().0)),
            )
            .field("retired", &self.retired.len())
            .field(
                "next_identity_key",
                &self
                    .next_identity
                    .as_ref()
                    .map(|s| hex::encode(s.public_key().as_ref())),
            )
            .field("retired_identities", &self.retired_identities.len())
            .finish()
    }
}

/// HKDF `info` of the [`DeliverySeedKey`] (DESIGN §7.6).
pub const DELIVERY_SEED_KEY_INFO: &[u8] = b"custodia/v1/key/delivery-seed";

/// The key the supervisor's delivery seeds are derived from (DESIGN §7.6), dedicated to that
/// use: derived from the whole key file with its own HKDF label, so the X25519 secret is never
/// used as a seed's input itself.
#[derive(Clone)]
pub struct DeliverySeedKey([u8; 32]);

impl DeliverySeedKey {
    /// The key's bytes, for the seed derivation ([`crate::delivery::delivery_seed`]).
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for DeliverySeedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DeliverySeedKey(<redacted>)")
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct OrgKeyFile {
    identity_secret: String,
    encryption_secret: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    retired_encryption_secrets: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    next_identity_secret: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    retired_identity_secrets: Vec<String>,
}

/// Why an `org.key` text cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// Not TOML of the expected shape.
    #[error("not a custodia key file: {0}")]
    Format(String),
    /// A field is not a valid key.
    #[error("field '{0}' is not a valid 32-byte hex key")]
    BadKey(&'static str),
}

impl OrgKeys {
    /// Fresh random keys.
    pub fn generate() -> Self {
        Self {
            identity: IdentitySecret::random(rand::rng()),
            encryption: EncryptionSecret::generate(),
            retired: Vec::new(),
            next_identity: None,
            retired_identities: Vec::new(),
        }
    }

    /// The identity secret of `key`, if the keyring holds it: the current one, the next one a
    /// rotation announced, or a retired one (a node whose state is behind still votes in the
    /// epochs of its old key).
    pub fn identity_secret_for(&self, key: &IdentityKey) -> Option<&IdentitySecret> {
        std::iter::once(&self.identity)
            .chain(self.next_identity.as_ref())
            .chain(self.retired_identities.iter())
            .find(|secret| &secret.public_key() == key)
    }

    /// Makes a fresh next identity secret (`custodia keys rotate --identity`) and returns its key.
    pub fn make_next_identity(&mut self) -> IdentityKey {
        let secret = IdentitySecret::random(rand::rng());
        let key = secret.public_key();
        self.next_identity = Some(secret);
        key
    }

    /// Makes the next identity secret the current one, retiring the current one (the chain
    /// made the next key the organisation's). False if there is no next secret.
    pub fn promote_identity(&mut self) -> bool {
        let Some(next) = self.next_identity.take() else {
            return false;
        };
        let previous = std::mem::replace(&mut self.identity, next);
        self.retired_identities.push(previous);
        true
    }

    /// Retires the newest encryption secret and makes `secret` the newest (`custodia keys
    /// rotate --encryption`).
    pub fn rotate_encryption(&mut self, secret: EncryptionSecret) {
        let previous = std::mem::replace(&mut self.encryption, secret);
        self.retired.push(previous);
    }

    /// Every encryption key of the keyring, oldest first.
    pub fn encryption_keys(&self) -> Vec<EncryptionKey> {
        self.secrets().map(EncryptionSecret::public).collect()
    }

    /// The secret of `key`, if the keyring holds it.
    pub fn secret_for(&self, key: &EncryptionKey) -> Option<&EncryptionSecret> {
        self.secrets().find(|secret| &secret.public() == key)
    }

    /// The secret that opens `sealed`: the one of the key it names (`crate::seal::sealed_to`).
    pub fn opener(&self, sealed: &[u8]) -> Result<&EncryptionSecret, crate::seal::SealError> {
        let key =
            crate::seal::sealed_to(sealed).ok_or(crate::seal::SealError::TooShort(sealed.len()))?;
        self.secret_for(&key)
            .ok_or_else(|| crate::seal::SealError::UnknownKey(hex::encode(key.0)))
    }

    fn secrets(&self) -> impl Iterator<Item = &EncryptionSecret> {
        self.retired.iter().chain(std::iter::once(&self.encryption))
    }

    /// The first encryption secret the organisation had: the input of its delivery-seed key,
    /// which must not change when the encryption key rotates (DESIGN §7.6).
    fn first_encryption(&self) -> &EncryptionSecret {
        self.retired.first().unwrap_or(&self.encryption)
    }

    /// Keys derived from a seed: for tests and simulations only, never for a real organisation.
    pub fn from_seed(seed: u64) -> Self {
        let identity = IdentitySecret::from_seed(seed);
        let mut ikm = [0u8; 32];
        ikm[..8].copy_from_slice(&seed.to_be_bytes());
        ikm[8..16].copy_from_slice(b"custodia");
        let (secret, _) = X25519HkdfSha256::derive_keypair(&ikm);
        Self {
            identity,
            encryption: EncryptionSecret(secret),
            retired: Vec::new(),
            next_identity: None,
            retired_identities: Vec::new(),
        }
    }

    /// The identity public key.
    pub fn identity_key(&self) -> IdentityKey {
        self.identity.public_key()
    }

    /// The encryption public key.
    pub fn encryption_key(&self) -> EncryptionKey {
        self.encryption.public()
    }

    /// The key of this organisation's delivery seeds: `HKDF-SHA256(salt = none, ikm =
    /// first identity_secret (32) ‖ first encryption_secret (32), info =
    /// "custodia/v1/key/delivery-seed", 32 bytes)` (DESIGN §7.6). The first secrets (the
    /// oldest of the keyring), so a rotation of either key does not change the seeds.
    pub fn delivery_seed_key(&self) -> DeliverySeedKey {
        let first_identity = self.retired_identities.first().unwrap_or(&self.identity);
        let mut ikm = [0u8; 64];
        ikm[..32].copy_from_slice(&first_identity.encode());
        ikm[32..].copy_from_slice(&self.first_encryption().to_bytes());
        let mut key = [0u8; 32];
        hkdf::Hkdf::<sha2::Sha256>::new(None, &ikm)
            .expand(DELIVERY_SEED_KEY_INFO, &mut key)
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        ikm.fill(0);
        DeliverySeedKey(key)
    }

    /// The `org.key` text.
    pub fn to_toml(&self) -> String {
        let file = OrgKeyFile {
            identity_secret: hex::encode(self.identity.encode()),
            encryption_secret: hex::encode(self.encryption.to_bytes()),
            retired_encryption_secrets: self
                .retired
                .iter()
                .map(|secret| hex::encode(secret.to_bytes()))
                .collect(),
            next_identity_secret: self
                .next_identity
                .as_ref()
                .map(|secret| hex::encode(secret.encode())),
            retired_identity_secrets: self
                .retired_identities
                .iter()
                .map(|secret| hex::encode(secret.encode()))
                .collect(),
        };
        let body = toml::to_string(&file).unwrap_or_default();
        format!("# custodia organisation secrets: keep this file private (mode 0600)\n{body}")
    }

    /// Reads an `org.key` text.
    pub fn from_toml(text: &str) -> Result<Self, KeyFileError> {
        let file: OrgKeyFile =
            toml::from_str(text).map_err(|e| KeyFileError::Format(e.message().to_string()))?;
        let identity = identity_secret(&file.identity_secret, "identity_secret")?;
        let next_identity = file
            .next_identity_secret
            .as_deref()
            .map(|text| identity_secret(text, "next_identity_secret"))
            .transpose()?;
        let retired_identities = file
            .retired_identity_secrets
            .iter()
            .map(|text| identity_secret(text, "retired_identity_secrets"))
            .collect::<Result<_, _>>()?;
        let encryption = encryption_secret(&file.encryption_secret, "encryption_secret")?;
        let retired = file
            .retired_encryption_secrets
            .iter()
            .map(|text| encryption_secret(text, "retired_encryption_secrets"))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            identity,
            encryption,
            retired,
            next_identity,
            retired_identities,
        })
    }
}

fn identity_secret(text: &str, field: &'static str) -> Result<IdentitySecret, KeyFileError> {
    let bytes = hex::decode(text).map_err(|_| KeyFileError::BadKey(field))?;
    IdentitySecret::decode(bytes).map_err(|_| KeyFileError::BadKey(field))
}

fn encryption_secret(text: &str, field: &'static str) -> Result<EncryptionSecret, KeyFileError> {
    let bytes = hex::decode(text).map_err(|_| KeyFileError::BadKey(field))?;
    if bytes.len() != 32 {
        return Err(KeyFileError::BadKey(field));
    }
    EncryptionSecret::from_bytes(&bytes).ok_or(KeyFileError::BadKey(field))
}

/// Serde adapter for identity keys as hex.
pub mod identity_hex {
    use crate::IdentityKey;
    use commonware_codec::DecodeExt;
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    /// Serializes an identity key as hex.
    pub fn serialize<S: Serializer>(key: &IdentityKey, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(key.as_ref()))
    }

    /// Deserializes an identity key from hex, rejecting invalid points.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<IdentityKey, D::Error> {
        let text = String::deserialize(d)?;
        let bytes = hex::decode(&text)
            .map_err(|_| D::Error::custom("expected a 32-byte Ed25519 public key in hex"))?;
        IdentityKey::decode(bytes)
            .map_err(|_| D::Error::custom("expected a 32-byte Ed25519 public key in hex"))
    }
}

/// Parses an identity key from hex.
pub fn identity_key_from_hex(text: &str) -> Option<IdentityKey> {
    identity_key_from_bytes(&hex::decode(text).ok()?)
}

/// Reads an identity key from its 32 bytes, rejecting invalid points.
pub fn identity_key_from_bytes(bytes: &[u8]) -> Option<IdentityKey> {
    let raw: [u8; 32] = bytes.try_into().ok()?;
    identity_key_from_array(raw).ok()
}

/// Reads an identity key from a buffer, as [`IdentityKey`]'s `Read` does, but through the
/// cache of [`identity_key_from_array`].
pub fn read_identity_key(buf: &mut impl Buf) -> Result<IdentityKey, CodecError> {
    identity_key_from_array(<[u8; 32]>::read_cfg(buf, &())?)
}

/// Most distinct identity keys [`identity_key_from_array`] keeps decompressed.
const DECOMPRESSED_KEYS: usize = 1024;

/// The identity key of these 32 bytes, decompressing each distinct key once per process.
///
/// Decoding a key decompresses an Ed25519 point (a field square root), and every tx carries
/// its signer's key: the API, the gossip receiver, block decoding and the state's rules each
/// decoded it again, an eighth of a node's CPU under load (docs/BENCHMARKS.md), while a
/// consortium has a handful of organisations. A pure function's memo: at most 1,024 keys are
/// kept, and the cache starts over when full, so keys from outside cannot grow it; invalid
/// points are never kept.
pub fn identity_key_from_array(raw: [u8; 32]) -> Result<IdentityKey, CodecError> {
    static KEYS: LazyLock<RwLock<HashMap<[u8; 32], IdentityKey>>> = LazyLock::new(Default::default);
    if let Some(key) = KEYS
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&raw)
    {
        return Ok(key.clone());
    }
    let key = IdentityKey::decode(commonware_codec::Copying(&raw[..]))?;
    let mut keys = KEYS.write().unwrap_or_else(PoisonError::into_inner);
    if keys.len() >= DECOMPRESSED_KEYS {
        keys.clear();
    }
    keys.insert(raw, key.clone());
    Ok(key)
}

/// Public half of an organisation's keys plus its addresses: the `org.pub.toml` file.
pub type OrgPublic = crate::GenesisOrg;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_file_round_trips() {
        let keys = OrgKeys::generate();
        let back = OrgKeys::from_toml(&keys.to_toml()).unwrap();
        assert_eq!(back.identity_key(), keys.identity_key());
        assert_eq!(back.encryption_key(), keys.encryption_key());
        assert!(
            !keys.to_toml().contains("retired"),
            "a keyring never rotated"
        );
    }

    #[test]
    fn rotated_keyring_round_trips_opens_old_seals_and_keeps_its_seed_key() {
        use crate::seal::{RECORD_INFO, SealError, open, seal};
        let mut keys = OrgKeys::generate();
        let seed_key = *keys.delivery_seed_key().expose();
        let before = seal(&keys.encryption_key(), RECORD_INFO, b"aad", b"old").unwrap();
        let first = keys.encryption_key();
        keys.rotate_encryption(EncryptionSecret::generate());
        assert_ne!(keys.encryption_key(), first);
        let after = seal(&keys.encryption_key(), RECORD_INFO, b"aad", b"new").unwrap();
        let back = OrgKeys::from_toml(&keys.to_toml()).unwrap();
        assert_eq!(back.encryption_keys(), vec![first, keys.encryption_key()]);
        for (sealed, plain) in [(&before, &b"old"[..]), (&after, &b"new"[..])] {
            let secret = back.opener(sealed).unwrap();
            assert_eq!(open(secret, RECORD_INFO, b"aad", sealed).unwrap(), plain);
        }
        assert_eq!(*back.delivery_seed_key().expose(), seed_key);
        let stranger = seal(
            &EncryptionSecret::generate().public(),
            RECORD_INFO,
            b"",
            b"x",
        )
        .unwrap();
        assert!(matches!(
            back.opener(&stranger),
            Err(SealError::UnknownKey(_))
        ));
    }

    #[test]
    fn bad_key_file_names_the_field() {
        let err = OrgKeys::from_toml("identity_secret = \"zz\"\nencryption_secret = \"00\"\n")
            .unwrap_err();
        assert!(err.to_string().contains("identity_secret"), "{err}");
        let err = OrgKeys::from_toml("nonsense").unwrap_err();
        assert!(matches!(err, KeyFileError::Format(_)));
    }

    #[test]
    fn cached_key_decoding_agrees_with_plain_decoding_and_refuses_invalid_points() {
        // More distinct keys than the cache holds: it starts over and stays right.
        let keys: Vec<IdentityKey> = (0..DECOMPRESSED_KEYS + 10)
            .map(|_| OrgKeys::generate().identity_key())
            .collect();
        for _ in 0..2 {
            for key in &keys {
                let raw: [u8; 32] = key.as_ref().try_into().unwrap();
                assert_eq!(&identity_key_from_array(raw).unwrap(), key);
                assert_eq!(identity_key_from_bytes(key.as_ref()).as_ref(), Some(key));
                let mut buf = key.encode();
                assert_eq!(&read_identity_key(&mut buf).unwrap(), key);
            }
        }
        // Not a point on the curve (y = 2 has no x), asked twice: refused both times.
        let mut invalid = [0u8; 32];
        invalid[0] = 2;
        assert!(IdentityKey::decode(commonware_codec::Copying(&invalid[..])).is_err());
        assert!(identity_key_from_array(invalid).is_err());
        assert!(identity_key_from_array(invalid).is_err());
        assert!(identity_key_from_bytes(&[1u8; 31]).is_none());
    }
}
