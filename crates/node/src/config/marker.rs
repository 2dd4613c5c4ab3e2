//! The new-validator marker of a data directory (DESIGN §3.6).

use super::{IfExists, write_atomically};
use commonware_cryptography::ed25519::PublicKey;
use std::path::Path;

/// Name of the file, inside a node's data directory, that says its node has never voted with
/// the identity key it names (DESIGN §3.6). `custodia init` writes it; the node removes it once
/// it has applied a block of an epoch in which that key is a validator.
pub const NEW_VALIDATOR_FILE: &str = "new-validator";

const NEW_VALIDATOR_TEXT: &str = "\
# This data directory was made by `custodia init`, and its node has not voted with this key.
# The node removes this file once it has applied a block of an epoch in which the key is a
# validator. Never create it by hand: a node that lost its consensus journal
# (consensus/custodia-simplex-*) and finds no such file for its key waits until the chain is
# past every round it may have voted in before, and only then votes again.
";

/// Writes the [`NEW_VALIDATOR_FILE`] of a data directory that `custodia init` just made for
/// `key`.
pub fn mark_new_validator(data_dir: &Path, key: &PublicKey) -> std::io::Result<()> {
    std::fs::create_dir_all(data_dir)?;
    write_atomically(
        &data_dir.join(NEW_VALIDATOR_FILE),
        format!("{NEW_VALIDATOR_TEXT}identity_key = \"{key}\"\n").as_bytes(),
        0o644,
        IfExists::Replace,
    )
}

/// Whether the data directory's [`NEW_VALIDATOR_FILE`] says `key` never voted: the file exists
/// and names `key` (a marker naming another key, or none, says nothing of this one).
pub fn is_new_validator(data_dir: &Path, key: &PublicKey) -> bool {
    let Ok(text) = std::fs::read_to_string(data_dir.join(NEW_VALIDATOR_FILE)) else {
        return false;
    };
    let named = format!("identity_key = \"{key}\"");
    text.lines().any(|line| line.trim() == named)
}
