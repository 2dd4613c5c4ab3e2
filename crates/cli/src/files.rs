//! Reading and writing the small text files the commands exchange with the user (DESIGN §6.6,
//! §8.1): bounded reads, and atomic writes ([`custodia_node::config::write_atomically`]: a
//! temporary file in the same directory, written and fsynced, renamed or linked into place, the
//! directory fsynced), secrets with mode 0600 from their creation.

use anyhow::{Context, Result, anyhow, bail};
use custodia_node::config::{IfExists, write_atomically};
use std::fs::File;
use std::io::{ErrorKind, Read};
use std::path::Path;

/// Mode of secret files: `org.key`, `api.token`, fetched data.
pub const SECRET_MODE: u32 = 0o600;
/// Mode of the other files (less the umask): configs, public keys, genesis, manifests.
pub const PUBLIC_MODE: u32 = 0o644;

/// Reads a UTF-8 text file of at most `max_bytes`; `what` names the expected file in errors
/// (e.g. "an org.pub.toml").
pub fn read_text(path: &Path, max_bytes: u64, what: &str) -> Result<String> {
    let file = File::open(path).map_err(|err| {
        if err.kind() == ErrorKind::NotFound {
            anyhow!(
                "{}: no such file: check the path (expected {what})",
                path.display()
            )
        } else {
            anyhow!(err).context(format!("{}: cannot open {what}", path.display()))
        }
    })?;
    let mut bytes = Vec::new();
    file.take(max_bytes + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("{}: cannot read {what}", path.display()))?;
    if bytes.len() as u64 > max_bytes {
        bail!(
            "{}: larger than {max_bytes} bytes: not {what}",
            path.display()
        );
    }
    String::from_utf8(bytes).map_err(|_| anyhow!("{}: not UTF-8 text: not {what}", path.display()))
}

/// Creates the secret file `path` (mode 0600) holding `text`, atomically; fails with an
/// `AlreadyExists` error rather than replace an existing file.
pub fn create_private(path: &Path, text: &str) -> std::io::Result<()> {
    write_atomically(path, text.as_bytes(), SECRET_MODE, IfExists::Refuse)
}

/// Writes the secret file `path` (mode 0600) holding `text`, atomically replacing any file
/// there.
pub fn replace_private(path: &Path, text: &str) -> std::io::Result<()> {
    write_atomically(path, text.as_bytes(), SECRET_MODE, IfExists::Replace)
}

/// Writes the non-secret file `path` (mode 0644 less the umask) holding `text`, atomically
/// replacing any file there.
pub fn replace_public(path: &Path, text: &str) -> std::io::Result<()> {
    write_atomically(path, text.as_bytes(), PUBLIC_MODE, IfExists::Replace)
}

/// Whether an I/O error says the file already exists.
pub fn already_exists(err: &std::io::Error) -> bool {
    err.kind() == ErrorKind::AlreadyExists
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn secrets_are_created_private_once_and_replaced_private() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("org.key");
        create_private(&key, "first").unwrap();
        assert_eq!(mode(&key), 0o600);
        let err = create_private(&key, "second").unwrap_err();
        assert!(already_exists(&err), "{err}");
        assert_eq!(std::fs::read_to_string(&key).unwrap(), "first");

        let token = dir.path().join("api.token");
        std::fs::write(&token, "old").unwrap();
        std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o666)).unwrap();
        replace_private(&token, "new").unwrap();
        assert_eq!(std::fs::read_to_string(&token).unwrap(), "new");
        assert_eq!(mode(&token), 0o600);

        let config = dir.path().join("config.toml");
        replace_public(&config, "a = 1").unwrap();
        replace_public(&config, "a = 2").unwrap();
        assert_eq!(std::fs::read_to_string(&config).unwrap(), "a = 2");
        assert_eq!(mode(&config) & !PUBLIC_MODE, 0);
        let mut names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["api.token", "config.toml", "org.key"]);
    }
}
