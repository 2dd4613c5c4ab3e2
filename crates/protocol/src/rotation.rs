//! An identity key's proof of possession (DESIGN §3.8, §4.10): `RotateIdentity` is signed by the
//! organisation's current key, and carries the new key's signature, under [`POP_NAMESPACE`], of
//! the chain, the current key and the new one. Nobody can seat a key whose secret they lack
//! (another organisation's, or a made-up point), and the proof cannot be replayed on another
//! chain or for another organisation's key.

use crate::{Digest, IdentityKey, IdentitySecret, POP_NAMESPACE, Signature};
use commonware_codec::Write as _;
use commonware_cryptography::{Signer as _, Verifier as _};

/// What the new key signs: `"custodia/pop/v1" ‖ chain (32) ‖ current key (32) ‖ new key (32)`.
pub fn possession_message(chain: &Digest, current: &IdentityKey, new: &IdentityKey) -> Vec<u8> {
    const LABEL: &[u8] = b"custodia/pop/v1";
    let mut message = Vec::with_capacity(LABEL.len() + 3 * 32);
    message.extend_from_slice(LABEL);
    chain.write(&mut message);
    current.write(&mut message);
    new.write(&mut message);
    message
}

/// The proof that the holder of `new` (its secret) takes over from `current` on `chain`.
pub fn prove_possession(new: &IdentitySecret, chain: &Digest, current: &IdentityKey) -> Signature {
    new.sign(
        POP_NAMESPACE,
        &possession_message(chain, current, &new.public_key()),
    )
}

/// Whether `proof` is `new`'s proof of possession for taking over from `current` on `chain`.
pub fn verify_possession(
    chain: &Digest,
    current: &IdentityKey,
    new: &IdentityKey,
    proof: &Signature,
) -> bool {
    new.verify(
        POP_NAMESPACE,
        &possession_message(chain, current, new),
        proof,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::sha256;

    fn secret(seed: u64) -> IdentitySecret {
        IdentitySecret::from_seed(seed)
    }

    #[test]
    fn a_proof_verifies_only_for_its_chain_current_key_and_new_key() {
        let chain = sha256(&[b"chain"]);
        let (current, new, other) = (secret(1), secret(2), secret(3));
        let proof = prove_possession(&new, &chain, &current.public_key());
        assert!(verify_possession(
            &chain,
            &current.public_key(),
            &new.public_key(),
            &proof
        ));
        // Another chain, another organisation's current key, another claimed new key.
        assert!(!verify_possession(
            &sha256(&[b"other chain"]),
            &current.public_key(),
            &new.public_key(),
            &proof
        ));
        assert!(!verify_possession(
            &chain,
            &other.public_key(),
            &new.public_key(),
            &proof
        ));
        assert!(!verify_possession(
            &chain,
            &current.public_key(),
            &other.public_key(),
            &proof
        ));
        // Signed by the current key instead of the new one.
        let by_current = current.sign(
            POP_NAMESPACE,
            &possession_message(&chain, &current.public_key(), &new.public_key()),
        );
        assert!(!verify_possession(
            &chain,
            &current.public_key(),
            &new.public_key(),
            &by_current
        ));
        // The same bytes under the tx namespace prove nothing.
        let as_tx = new.sign(
            crate::TX_NAMESPACE,
            &possession_message(&chain, &current.public_key(), &new.public_key()),
        );
        assert!(!verify_possession(
            &chain,
            &current.public_key(),
            &new.public_key(),
            &as_tx
        ));
    }
}
