//! The node's keyring (DESIGN §6.6): the organisation's identity secret, the next one while a
//! rotation is under way, and every secret it has had. A rotation writes the new keyring to the
//! key file first (atomically, mode 0600) and only then uses it, so a crash never loses a secret
//! the chain may name; a new secret the chain never learns of is harmless, since a seal names its
//! key and the keyring opens it by that name, and an identity secret signs only once the chain
//! made its key the organisation's.

use crate::config::{IfExists, write_atomically};
use commonware_cryptography::Signer as _;
use custodia_protocol::{EncryptionKey, EncryptionSecret, IdentityKey, OrgKeys};
use std::{
    path::PathBuf,
    sync::{Arc, Mutex, PoisonError, RwLock},
};

/// The organisation's keys, shared by the API and the role workers.
pub struct Keyring {
    /// The key file, rewritten on rotation; `None` keeps a rotation in memory (simulations).
    path: Option<PathBuf>,
    keys: RwLock<Arc<OrgKeys>>,
    /// One rotation at a time, so two rotations never write the file from the same keyring.
    rotating: Mutex<()>,
    /// Held while a rotation's key is chosen and its `RotateKeys` admitted, so two concurrent
    /// rotations never announce the same key twice (the second would fail `key_reused`).
    announcing: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("path", &self.path)
            .field("keys", &*self.current())
            .finish()
    }
}

impl Keyring {
    /// A keyring read from the key file at `path`.
    pub fn new(keys: OrgKeys, path: PathBuf) -> Self {
        Self::with_path(keys, Some(path))
    }

    /// A keyring that keeps its rotations in memory (simulations and tests).
    pub fn in_memory(keys: OrgKeys) -> Self {
        Self::with_path(keys, None)
    }

    fn with_path(keys: OrgKeys, path: Option<PathBuf>) -> Self {
        Self {
            path,
            keys: RwLock::new(Arc::new(keys)),
            rotating: Mutex::new(()),
            announcing: tokio::sync::Mutex::new(()),
        }
    }

    /// The keys as they are now.
    pub fn current(&self) -> Arc<OrgKeys> {
        self.keys
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Makes a new encryption secret, keeps the old ones, writes the keyring to the key file
    /// and returns the new public key, which a `RotateKeys` then announces.
    pub fn rotate_encryption(&self) -> std::io::Result<EncryptionKey> {
        let _one = self.rotating.lock().unwrap_or_else(PoisonError::into_inner);
        let mut keys = (*self.current()).clone();
        keys.rotate_encryption(EncryptionSecret::generate());
        self.replace(keys).map(|keys| keys.encryption_key())
    }

    /// The next identity key: the one made by an earlier call if the chain has not made it the
    /// organisation's yet, else a new secret, written to the key file before it is returned
    /// (a `RotateIdentity` then announces it).
    pub fn next_identity(&self) -> std::io::Result<IdentityKey> {
        let _one = self.rotating.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(next) = &self.current().next_identity {
            return Ok(next.public_key());
        }
        let mut keys = (*self.current()).clone();
        let key = keys.make_next_identity();
        self.replace(keys).map(|_| key)
    }

    /// Makes the next identity secret the current one if its key is `on_chain` (the chain made
    /// it the organisation's key), writing the key file first; whether it did.
    pub fn promote_identity(&self, on_chain: &IdentityKey) -> std::io::Result<bool> {
        let _one = self.rotating.lock().unwrap_or_else(PoisonError::into_inner);
        let mut keys = (*self.current()).clone();
        if keys.next_identity.as_ref().map(|s| s.public_key()).as_ref() != Some(on_chain) {
            return Ok(false);
        }
        keys.promote_identity();
        self.replace(keys).map(|_| true)
    }

    /// Writes `keys` to the key file (if any), then makes them the keyring's.
    fn replace(&self, keys: OrgKeys) -> std::io::Result<Arc<OrgKeys>> {
        if let Some(path) = &self.path {
            write_atomically(path, keys.to_toml().as_bytes(), 0o600, IfExists::Replace)?;
        }
        let keys = Arc::new(keys);
        *self.keys.write().unwrap_or_else(PoisonError::into_inner) = keys.clone();
        Ok(keys)
    }

    /// Waits for the turn to choose and announce a rotated key (see the field's doc).
    pub async fn announcing(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.announcing.lock().await
    }

    /// The newest key of the keyring that `on_chain` (the chain's current key of the
    /// organisation) is not: a rotation made but not yet applied. `None` when the chain has
    /// the newest key.
    pub fn unannounced(&self, on_chain: &EncryptionKey) -> Option<EncryptionKey> {
        let newest = self.current().encryption_key();
        (newest != *on_chain).then_some(newest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rotation_is_on_disk_before_it_is_used_and_keeps_the_old_secret() {
        let dir = std::env::temp_dir().join(format!("custodia-keyring-{}", rand::random::<u64>()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("org.key");
        let keys = OrgKeys::generate();
        let first = keys.encryption_key();
        std::fs::write(&path, keys.to_toml()).unwrap();
        let keyring = Keyring::new(keys, path.clone());
        let second = keyring.rotate_encryption().unwrap();
        assert_ne!(first, second);
        assert_eq!(keyring.current().encryption_key(), second);
        assert_eq!(keyring.unannounced(&first), Some(second));
        assert_eq!(keyring.unannounced(&second), None);
        let on_disk = OrgKeys::from_toml(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(on_disk.encryption_keys(), vec![first, second]);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the keyring is private: {mode:o}");
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn the_next_identity_is_on_disk_made_once_and_promoted_only_for_its_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("org.key");
        let keys = OrgKeys::generate();
        let first = keys.identity_key();
        std::fs::write(&path, keys.to_toml()).unwrap();
        let keyring = Keyring::new(keys, path.clone());
        let next = keyring.next_identity().unwrap();
        assert_ne!(next, first);
        assert_eq!(keyring.next_identity().unwrap(), next, "made once");
        let on_disk = OrgKeys::from_toml(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(
            on_disk.next_identity.map(|s| s.public_key()),
            Some(next.clone())
        );
        assert!(!keyring.promote_identity(&first).unwrap());
        assert_eq!(
            keyring.current().identity_key(),
            first,
            "signs with the old key until then"
        );
        assert!(keyring.promote_identity(&next).unwrap());
        assert_eq!(keyring.current().identity_key(), next);
        let on_disk = OrgKeys::from_toml(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(on_disk.identity_key(), next);
        assert!(on_disk.next_identity.is_none());
        assert!(
            on_disk.identity_secret_for(&first).is_some(),
            "the old secret is kept"
        );
    }
}
