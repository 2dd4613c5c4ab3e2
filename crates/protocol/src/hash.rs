//! SHA-256 digests and domain-separated hashing.

use commonware_cryptography::{Hasher, Sha256};

/// A SHA-256 digest (the chain id, block digests, tx ids, commitments).
pub type Digest = commonware_cryptography::sha256::Digest;

/// Hashes `parts` in order, with no separators: callers pass a domain tag first and
/// length-prefix any variable-length part that could otherwise be confused with its neighbour.
pub fn sha256(parts: &[&[u8]]) -> Digest {
    let mut hasher = Sha256::default();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().1
}

/// Lowercase hex of a digest (the form the API and CLI show).
pub fn to_hex(digest: &Digest) -> String {
    hex::encode(digest.as_ref())
}

/// Parses a 64-character lowercase or uppercase hex digest.
pub fn from_hex(text: &str) -> Option<Digest> {
    let bytes: [u8; 32] = hex::decode(text).ok()?.try_into().ok()?;
    Some(commonware_cryptography::sha256::Digest(bytes))
}
