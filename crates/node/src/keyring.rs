//! The node's keyring (DESIGN §6.6): the organisation's identity secret and every encryption
//! secret it has had. Rotating the encryption key writes the new keyring to the key file first
//! (atomically, mode 0600) and only then uses it, so a crash never loses a secret the chain may
//! name; a new secret the chain never learns of is harmless, since a seal names its key and the
//! keyring opens it by that name.

use crate::config::{IfExists, write_atomically};
use custodia_protocol::{EncryptionKey, EncryptionSecret, OrgKeys};
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
        if let Some(path) = &self.path {
            write_atomically(path, keys.to_toml().as_bytes(), 0o600, IfExists::Replace)?;
        }
        let key = keys.encryption_key();
        *self.keys.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(keys);
        Ok(key)
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
}
