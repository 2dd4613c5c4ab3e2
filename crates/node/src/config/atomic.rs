//! Atomic file writes (DESIGN §6.6), for the keyring, `custodia init` and the marker.

use std::path::{Path, PathBuf};

/// What [`write_atomically`] does when the path names a file already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfExists {
    /// Replace it (atomically: a reader sees the old file or the new one, never a mix).
    Replace,
    /// Leave it alone and fail with an [`std::io::ErrorKind::AlreadyExists`] error.
    Refuse,
}

/// Writes a file atomically (DESIGN §6.6): a temporary file in the same directory, created
/// with `mode` (less the umask) so that it is never more open than that, is written and
/// fsynced, then renamed over `path` ([`IfExists::Replace`]) or hard-linked to it, which fails
/// if `path` exists ([`IfExists::Refuse`]); then the directory is fsynced. On any failure the
/// temporary file is removed and `path` is as it was. A symbolic link at `path` is replaced,
/// not followed.
pub fn write_atomically(
    path: &Path,
    contents: &[u8],
    mode: u32,
    if_exists: IfExists,
) -> std::io::Result<()> {
    use std::io::{Error, ErrorKind};
    let name = path.file_name().ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidInput,
            format!("{} does not name a file", path.display()),
        )
    })?;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let (temp, file) = create_temporary(dir, name, mode)?;
    let written = fill_and_place(file, contents, &temp, path, dir, if_exists);
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written
}

/// Writes and fsyncs the temporary file, puts it at `path` and fsyncs the directory.
fn fill_and_place(
    mut file: std::fs::File,
    contents: &[u8],
    temp: &Path,
    path: &Path,
    dir: &Path,
    if_exists: IfExists,
) -> std::io::Result<()> {
    use std::io::{Error, ErrorKind, Write as _};
    file.write_all(contents)?;
    file.sync_all()?;
    drop(file);
    match if_exists {
        IfExists::Replace => std::fs::rename(temp, path)?,
        IfExists::Refuse => match std::fs::hard_link(temp, path) {
            Ok(()) => std::fs::remove_file(temp)?,
            Err(err) if err.kind() == ErrorKind::AlreadyExists => return Err(err),
            // A file system without hard links: check, then rename (not atomic, but the only
            // way left).
            Err(_) if std::fs::symlink_metadata(path).is_err() => std::fs::rename(temp, path)?,
            Err(_) => {
                return Err(Error::new(
                    ErrorKind::AlreadyExists,
                    format!("{} exists", path.display()),
                ));
            }
        },
    }
    std::fs::File::open(dir)?.sync_all()
}

/// A new file `DIR/.NAME.RANDOM.tmp` created with `mode` (and never an existing one).
fn create_temporary(
    dir: &Path,
    name: &std::ffi::OsStr,
    mode: u32,
) -> std::io::Result<(PathBuf, std::fs::File)> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut attempt = 0;
    loop {
        let mut temp_name = std::ffi::OsString::from(".");
        temp_name.push(name);
        temp_name.push(format!(".{:016x}.tmp", rand::random::<u64>()));
        let temp = dir.join(temp_name);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&temp)
        {
            Ok(file) => return Ok((temp, file)),
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists && attempt < 8 => {
                attempt += 1;
            }
            Err(err) => return Err(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The names in `dir`, sorted.
    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn an_atomic_write_creates_the_file_with_its_mode_and_leaves_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("api.token");
        write_atomically(&secret, b"s3cret\n", 0o600, IfExists::Refuse).unwrap();
        assert_eq!(std::fs::read(&secret).unwrap(), b"s3cret\n");
        assert_eq!(mode(&secret), 0o600);
        let public = dir.path().join("config.toml");
        write_atomically(&public, b"a = 1\n", 0o644, IfExists::Replace).unwrap();
        assert_eq!(mode(&public) & !0o644, 0, "mode {:o}", mode(&public));
        assert_eq!(names(dir.path()), ["api.token", "config.toml"]);
    }

    #[test]
    fn an_atomic_write_that_must_not_replace_leaves_the_existing_file_alone() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("org.key");
        std::fs::write(&key, "old").unwrap();
        let err = write_atomically(&key, b"new", 0o600, IfExists::Refuse).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read_to_string(&key).unwrap(), "old");
        // A dangling symbolic link is a file too.
        let link = dir.path().join("link.key");
        std::os::unix::fs::symlink(dir.path().join("nowhere"), &link).unwrap();
        let err = write_atomically(&link, b"new", 0o600, IfExists::Refuse).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists);
        assert!(!dir.path().join("nowhere").exists());
        assert_eq!(
            names(dir.path()),
            ["link.key", "org.key"],
            "no temporary file is left"
        );
    }

    #[test]
    fn an_atomic_replace_swaps_the_file_and_does_not_write_through_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = dir.path().join("elsewhere.toml");
        std::fs::write(&elsewhere, "theirs").unwrap();
        let genesis = dir.path().join("genesis.toml");
        std::os::unix::fs::symlink(&elsewhere, &genesis).unwrap();
        write_atomically(&genesis, b"ours", 0o644, IfExists::Replace).unwrap();
        assert_eq!(std::fs::read_to_string(&genesis).unwrap(), "ours");
        assert_eq!(std::fs::read_to_string(&elsewhere).unwrap(), "theirs");
        assert!(!std::fs::symlink_metadata(&genesis).unwrap().is_symlink());
        // Replacing a secret that was too open gives the new mode.
        let token = dir.path().join("api.token");
        std::fs::write(&token, "old").unwrap();
        std::fs::set_permissions(&token, std::os::unix::fs::PermissionsExt::from_mode(0o644))
            .unwrap();
        write_atomically(&token, b"new", 0o600, IfExists::Replace).unwrap();
        assert_eq!(std::fs::read_to_string(&token).unwrap(), "new");
        assert_eq!(mode(&token), 0o600);
        assert_eq!(
            names(dir.path()),
            ["api.token", "elsewhere.toml", "genesis.toml"]
        );
    }

    #[test]
    fn a_failed_atomic_write_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        // The target is a directory: the rename fails after the temporary file was written.
        let target = dir.path().join("taken");
        std::fs::create_dir(&target).unwrap();
        std::fs::write(target.join("inside"), "x").unwrap();
        assert!(write_atomically(&target, b"new", 0o644, IfExists::Replace).is_err());
        assert_eq!(names(dir.path()), ["taken"]);
        // No directory to write in.
        let missing = dir.path().join("missing/config.toml");
        assert!(write_atomically(&missing, b"new", 0o644, IfExists::Replace).is_err());
    }
}
