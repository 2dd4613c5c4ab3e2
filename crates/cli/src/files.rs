//! Reading and writing the small text files the commands exchange with the user: bounded reads,
//! secrets created with mode 0600 and never overwritten.

use anyhow::{Context, Result, anyhow, bail};
use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

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

/// Creates `path` with mode 0600 and writes `text`; fails with an `AlreadyExists` error rather
/// than replace an existing file. A file it created but could not fill is removed again.
pub fn create_private(path: &Path, text: &str) -> std::io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    let written = file
        .write_all(text.as_bytes())
        .and_then(|()| file.sync_all());
    if written.is_err() {
        let _ = std::fs::remove_file(path);
    }
    written
}

/// Whether an I/O error says the file already exists.
pub fn already_exists(err: &std::io::Error) -> bool {
    err.kind() == ErrorKind::AlreadyExists
}
