//! Secrets stay secret: no `Debug` of a key type prints secret bytes (DESIGN §6.6), and the
//! supervisor's delivery seeds come from a key dedicated to them, bound to the chain, the
//! request, the recipient and the validity window (DESIGN §6.2, §7.6).

mod common;

use common::Consortium;
use commonware_codec::Encode;
use commonware_cryptography::Signer as _;
use custodia_protocol::{
    EncryptionSecret, OrgKeys, RecordId, RequestId,
    commitment::FieldValue,
    delivery::{build_bundle, delivery_seed, open_delivery, seal_bundle_seeded},
    record::{RecordHeader, open_record, seal_record},
};
use serde_json::json;
use std::collections::BTreeMap;

/// Standard base64 with padding (RFC 4648), to look for secrets printed that way.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Asserts that `printed` shows none of `secret`'s forms: hex (either case), base64 (with or
/// without padding) or the list of its byte values, nor any 8-byte run of them in hex.
fn assert_hidden(printed: &str, secret: &[u8]) {
    let hex = hex::encode(secret);
    let b64 = base64(secret);
    let bytes = format!("{secret:?}");
    for form in [
        hex.clone(),
        hex.to_uppercase(),
        b64.clone(),
        b64.trim_end_matches('=').to_string(),
        bytes[1..bytes.len() - 1].to_string(),
    ] {
        assert!(!printed.contains(&form), "{printed} shows {form}");
    }
    for window in secret.windows(8) {
        assert!(
            !printed.contains(&hex::encode(window)),
            "{printed} shows part of the secret"
        );
    }
}

#[test]
fn org_keys_debug_shows_the_public_keys_and_hides_both_secrets() {
    let keys = OrgKeys::from_seed(7);
    let printed = format!("{keys:?}");
    assert_hidden(&printed, &keys.identity.encode());
    assert_hidden(&printed, &keys.encryption.to_bytes());
    let pretty = format!("{keys:#?}");
    assert_hidden(&pretty, &keys.identity.encode());
    assert_hidden(&pretty, &keys.encryption.to_bytes());
    assert!(printed.starts_with("OrgKeys {"), "{printed}");
    assert!(printed.contains("<redacted>"), "{printed}");
    assert!(
        printed.contains(&hex::encode(keys.encryption_key().0)),
        "the public encryption key helps: {printed}"
    );
}

#[test]
fn an_identity_secret_debug_hides_it() {
    let keys = OrgKeys::from_seed(8);
    assert_hidden(&format!("{:?}", keys.identity), &keys.identity.encode());
    assert_hidden(&format!("{}", keys.identity), &keys.identity.encode());
}

#[test]
fn an_encryption_secret_debug_hides_it() {
    let secret = EncryptionSecret::generate();
    let printed = format!("{secret:?}");
    assert_hidden(&printed, &secret.to_bytes());
    assert!(printed.contains("redacted"), "{printed}");
}

#[test]
fn a_delivery_seed_key_debug_hides_it() {
    let key = OrgKeys::from_seed(9).delivery_seed_key();
    let printed = format!("{key:?}");
    assert_hidden(&printed, key.expose());
    assert!(printed.contains("redacted"), "{printed}");
}

#[test]
fn the_delivery_seed_key_is_dedicated_not_the_x25519_secret() {
    let keys = OrgKeys::from_seed(10);
    let key = keys.delivery_seed_key();
    assert_ne!(key.expose(), &keys.encryption.to_bytes());
    assert_ne!(&key.expose()[..], &keys.identity.encode()[..]);
    // The same key file gives the same key; another gives another.
    assert_eq!(
        key.expose(),
        OrgKeys::from_toml(&keys.to_toml())
            .unwrap()
            .delivery_seed_key()
            .expose()
    );
    assert_ne!(
        key.expose(),
        OrgKeys::from_seed(11).delivery_seed_key().expose()
    );
    // It is derived from the whole key file: the same X25519 secret with another identity
    // gives another key.
    let other = OrgKeys {
        identity: OrgKeys::from_seed(12).identity,
        encryption: keys.encryption.clone(),
        retired: Vec::new(),
        next_identity: None,
        retired_identities: Vec::new(),
    };
    assert_ne!(key.expose(), other.delivery_seed_key().expose());
    // A rotation of the encryption key does not change it: a delivery re-sent after the
    // supervisor rotated seals the same bytes.
    let mut rotated = keys.clone();
    rotated.rotate_encryption(custodia_protocol::EncryptionSecret::generate());
    assert_eq!(key.expose(), rotated.delivery_seed_key().expose());
    // Nor does a rotation of the identity key, once promoted; and the key file keeps the next
    // and the retired identity secrets.
    rotated.next_identity = Some(OrgKeys::from_seed(13).identity);
    assert!(rotated.promote_identity());
    assert_eq!(
        rotated.identity_key(),
        OrgKeys::from_seed(13).identity_key()
    );
    assert_eq!(key.expose(), rotated.delivery_seed_key().expose());
    rotated.next_identity = Some(OrgKeys::from_seed(14).identity);
    let read = OrgKeys::from_toml(&rotated.to_toml()).unwrap();
    assert_eq!(read.identity_key(), rotated.identity_key());
    assert_eq!(
        read.next_identity.as_ref().map(|s| s.public_key()),
        Some(OrgKeys::from_seed(14).identity_key())
    );
    assert_eq!(read.retired_identities.len(), 1);
    assert_eq!(key.expose(), read.delivery_seed_key().expose());
}

#[test]
fn a_delivery_seed_binds_chain_request_recipient_and_window() {
    let c = Consortium::new();
    let key = c.supervisor.delivery_seed_key();
    let request = RequestId([4; 16]);
    let recipient = c.requester.encryption_key();
    let seed = delivery_seed(&key, &c.chain, &request, &recipient, 300);
    assert_eq!(
        seed,
        delivery_seed(&key, &c.chain, &request, &recipient, 300),
        "the same duty in the same window: the same seed"
    );
    let other_chain = Consortium::for_chain("another-chain").chain;
    let others = [
        (
            "chain",
            delivery_seed(&key, &other_chain, &request, &recipient, 300),
        ),
        (
            "request",
            delivery_seed(&key, &c.chain, &RequestId([5; 16]), &recipient, 300),
        ),
        (
            "recipient",
            delivery_seed(&key, &c.chain, &request, &c.other.encryption_key(), 300),
        ),
        (
            "window",
            delivery_seed(&key, &c.chain, &request, &recipient, 600),
        ),
        (
            "key",
            delivery_seed(
                &c.provider.delivery_seed_key(),
                &c.chain,
                &request,
                &recipient,
                300,
            ),
        ),
    ];
    for (what, other) in &others {
        assert_ne!(&seed, other, "another {what} must give another seed");
    }
    assert_ne!(seed, *key.expose());
}

#[test]
fn a_delivery_sealed_twice_in_one_window_is_the_same_bytes_and_opens() {
    let c = Consortium::new();
    let record_id = RecordId([1; 16]);
    let fields: BTreeMap<String, FieldValue> = BTreeMap::from([
        ("amount".to_string(), json!(1200)),
        ("holder".to_string(), json!("Alice Martin")),
    ]);
    let sealed = seal_record(
        &c.chain,
        &record_id,
        "claim",
        &c.provider.identity_key(),
        &c.supervisor.encryption_key(),
        fields,
    )
    .unwrap();
    let header = RecordHeader {
        record_id,
        provider: c.provider.identity_key(),
        kind: "claim".into(),
        fields: sealed.fields.clone(),
        commitment: sealed.commitment,
    };
    let opened = open_record(&c.chain, &c.supervisor.encryption, &header, &sealed.sealed).unwrap();
    let request_id = RequestId([9; 16]);
    let requested = vec!["amount".to_string()];
    let bundle = build_bundle(request_id, &requested, &[(header.clone(), opened)]).unwrap();
    let key = c.supervisor.delivery_seed_key();
    let seal = |valid_until| {
        seal_bundle_seeded(
            &c.chain,
            &c.requester.identity_key(),
            &c.requester.encryption_key(),
            &bundle,
            &key,
            valid_until,
        )
        .unwrap()
    };
    let first = seal(310);
    assert_eq!(first, seal(310), "the same window: the same bytes");
    assert_ne!(first, seal(610), "another window: another ciphertext");
    let verified = open_delivery(
        &c.chain,
        &request_id,
        &c.requester.identity_key(),
        &c.requester.encryption,
        &first,
        &requested,
        &[header],
    )
    .unwrap();
    assert_eq!(verified[0].fields["amount"], json!(1200));
}
