//! HPKE sealing (RFC 9180, base mode, DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 /
//! ChaCha20-Poly1305). Sealed bytes are `recipient key ‖ enc ‖ ciphertext ‖ tag`: the payload
//! names the encryption key it was sealed to, so a recipient that rotated its key knows which
//! secret of its keyring opens it. `info` names the purpose and `aad` binds the chain, the object
//! id and the other party, so a ciphertext cannot be moved to another record, request or chain.

use crate::{
    Digest, EncryptionKey, EncryptionSecret, IdentityKey, RecordId, RequestId,
    params::SEAL_OVERHEAD_BYTES,
};
use hpke::{
    Deserializable, OpModeR, OpModeS, Serializable,
    aead::{AeadTag, ChaCha20Poly1305},
    inout::InOutBuf,
    kdf::HkdfSha256,
    kem::X25519HkdfSha256,
};

/// `info` of records sealed by a provider to the supervisor.
pub const RECORD_INFO: &[u8] = b"custodia/v1/record";
/// `info` of deliveries sealed by the supervisor to a requester.
pub const DELIVERY_INFO: &[u8] = b"custodia/v1/delivery";

const KEY_BYTES: usize = 32;
const ENC_BYTES: usize = 32;
const TAG_BYTES: usize = 16;
const _: () = assert!(SEAL_OVERHEAD_BYTES == KEY_BYTES + ENC_BYTES + TAG_BYTES);

/// Why sealing or opening failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// The recipient's encryption key is not a valid X25519 key.
    #[error("the recipient's encryption key is not a valid X25519 public key")]
    BadRecipientKey,
    /// The sealed bytes are shorter than the HPKE overhead.
    #[error("sealed payload of {0} bytes is too short to be an HPKE ciphertext")]
    TooShort(usize),
    /// The payload was sealed to another key than the secret given.
    #[error("the sealed payload was sealed to encryption key {0}, which this secret does not open")]
    OtherKey(String),
    /// The payload was sealed to a key the keyring holds no secret of.
    #[error(
        "the sealed payload was sealed to encryption key {0}, and the key file holds no secret \
         for it: restore the key file that held it (DESIGN §6.6)"
    )]
    UnknownKey(String),
    /// Decryption failed: wrong key, or the payload was sealed for another purpose, chain,
    /// object or party, or it was altered.
    #[error(
        "cannot open the sealed payload: it was sealed to another key or for another chain, \
         object or party, or it was altered"
    )]
    Open,
    /// The HPKE library refused to seal.
    #[error("sealing failed: {0}")]
    Seal(String),
}

/// `aad` of a record: chain, record id and the provider's identity.
pub fn record_aad(chain: &Digest, record_id: &RecordId, provider: &IdentityKey) -> Vec<u8> {
    [chain.as_ref(), record_id.as_bytes(), provider.as_ref()].concat()
}

/// `aad` of a delivery: chain, request id and the requester's identity.
pub fn delivery_aad(chain: &Digest, request_id: &RequestId, requester: &IdentityKey) -> Vec<u8> {
    [chain.as_ref(), request_id.as_bytes(), requester.as_ref()].concat()
}

/// The encryption key a sealed payload names as its recipient, if it is long enough to name one.
pub fn sealed_to(sealed: &[u8]) -> Option<EncryptionKey> {
    sealed
        .get(..KEY_BYTES)
        .and_then(|key| key.try_into().ok())
        .map(EncryptionKey)
}

/// Seals `plaintext` to `recipient` with a fresh random ephemeral key.
pub fn seal(
    recipient: &EncryptionKey,
    info: &[u8],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, SealError> {
    seal_with_rng(recipient, info, aad, plaintext, &mut rand::rng())
}

/// Seals `plaintext` to `recipient` with the ephemeral key drawn from `seed`, so the same inputs
/// give the same bytes: a sender that must not publish two different ciphertexts of one object
/// (the supervisor re-sending a delivery after a restart) seals the same bytes again. The seed
/// must stay secret to the sender and be unique per object and recipient: derive it with HKDF
/// from a key dedicated to it, never use a secret key itself (deliveries:
/// [`crate::delivery::delivery_seed`]).
pub fn seal_seeded(
    recipient: &EncryptionKey,
    info: &[u8],
    aad: &[u8],
    plaintext: &[u8],
    seed: [u8; 32],
) -> Result<Vec<u8>, SealError> {
    use rand::SeedableRng as _;
    seal_with_rng(
        recipient,
        info,
        aad,
        plaintext,
        &mut rand::rngs::StdRng::from_seed(seed),
    )
}

fn seal_with_rng(
    recipient: &EncryptionKey,
    info: &[u8],
    aad: &[u8],
    plaintext: &[u8],
    rng: &mut impl rand::CryptoRng,
) -> Result<Vec<u8>, SealError> {
    let public = recipient
        .to_hpke()
        .map_err(|_| SealError::BadRecipientKey)?;
    let mut out = vec![0u8; SEAL_OVERHEAD_BYTES + plaintext.len()];
    out[..KEY_BYTES].copy_from_slice(&recipient.0);
    let start = KEY_BYTES + ENC_BYTES;
    let body = &mut out[start..start + plaintext.len()];
    body.copy_from_slice(plaintext);
    let (enc, tag) = hpke::single_shot_seal_inout_detached_with_rng::<
        ChaCha20Poly1305,
        HkdfSha256,
        X25519HkdfSha256,
    >(
        &OpModeS::Base,
        &public,
        info,
        InOutBuf::from(body),
        aad,
        rng,
    )
    .map_err(|e| SealError::Seal(e.to_string()))?;
    out[KEY_BYTES..start].copy_from_slice(&enc.to_bytes());
    out[start + plaintext.len()..].copy_from_slice(&tag.to_bytes());
    Ok(out)
}

/// Opens what [`seal`] produced with the matching secret, `info` and `aad`.
pub fn open(
    secret: &EncryptionSecret,
    info: &[u8],
    aad: &[u8],
    sealed: &[u8],
) -> Result<Vec<u8>, SealError> {
    if sealed.len() < SEAL_OVERHEAD_BYTES {
        return Err(SealError::TooShort(sealed.len()));
    }
    let named = sealed_to(sealed).ok_or(SealError::TooShort(sealed.len()))?;
    if named != secret.public() {
        return Err(SealError::OtherKey(hex::encode(named.0)));
    }
    let start = KEY_BYTES + ENC_BYTES;
    let body_len = sealed.len() - SEAL_OVERHEAD_BYTES;
    let enc = <X25519HkdfSha256 as hpke::Kem>::EncappedKey::from_bytes(&sealed[KEY_BYTES..start])
        .map_err(|_| SealError::Open)?;
    let tag = AeadTag::<ChaCha20Poly1305>::from_bytes(&sealed[start + body_len..])
        .map_err(|_| SealError::Open)?;
    let mut body = sealed[start..start + body_len].to_vec();
    hpke::single_shot_open_inout_detached::<ChaCha20Poly1305, HkdfSha256, X25519HkdfSha256>(
        &OpModeR::Base,
        &secret.0,
        &enc,
        info,
        InOutBuf::from(body.as_mut_slice()),
        aad,
        &tag,
    )
    .map_err(|_| SealError::Open)?;
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_binding() {
        let secret = EncryptionSecret::generate();
        let sealed = seal(&secret.public(), RECORD_INFO, b"aad", b"hello").unwrap();
        assert_eq!(sealed.len(), 5 + SEAL_OVERHEAD_BYTES);
        assert_eq!(sealed_to(&sealed), Some(secret.public()));
        assert_eq!(
            open(&secret, RECORD_INFO, b"aad", &sealed).unwrap(),
            b"hello"
        );
        assert_eq!(
            open(&secret, DELIVERY_INFO, b"aad", &sealed),
            Err(SealError::Open)
        );
        assert_eq!(
            open(&secret, RECORD_INFO, b"other", &sealed),
            Err(SealError::Open)
        );
        let other = EncryptionSecret::generate();
        assert_eq!(
            open(&other, RECORD_INFO, b"aad", &sealed),
            Err(SealError::OtherKey(hex::encode(secret.public().0)))
        );
        let mut renamed = sealed.clone();
        renamed[..32].copy_from_slice(&other.public().0);
        assert_eq!(
            open(&other, RECORD_INFO, b"aad", &renamed),
            Err(SealError::Open)
        );
        let mut altered = sealed.clone();
        altered[72] ^= 1;
        assert_eq!(
            open(&secret, RECORD_INFO, b"aad", &altered),
            Err(SealError::Open)
        );
        assert_eq!(
            open(&secret, RECORD_INFO, b"aad", &sealed[..10]),
            Err(SealError::TooShort(10))
        );
    }

    #[test]
    fn seeded_sealing_repeats_exactly_and_opens() {
        let secret = EncryptionSecret::generate();
        let seal_with = |seed| seal_seeded(&secret.public(), RECORD_INFO, b"aad", b"hi", seed);
        let first = seal_with([7; 32]).unwrap();
        assert_eq!(first, seal_with([7; 32]).unwrap());
        assert_ne!(first, seal_with([8; 32]).unwrap());
        assert_eq!(open(&secret, RECORD_INFO, b"aad", &first).unwrap(), b"hi");
    }
}
