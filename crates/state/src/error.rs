//! Errors of the state machine itself (not of txs: those are failed receipts).

/// Why the state could not be opened or a block could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// SQLite failed.
    #[error("state database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The database belongs to another chain.
    #[error(
        "the state database belongs to chain {found}, but the genesis is chain {expected}: \
         point the node at the right data directory or remove the old state"
    )]
    WrongChain {
        /// The genesis digest (hex).
        expected: String,
        /// The digest stored in the database (hex).
        found: String,
    },
    /// The block does not follow the last applied one.
    #[error("block {found} does not follow the last applied height {last}")]
    HeightGap {
        /// Last applied height.
        last: u64,
        /// The block's height.
        found: u64,
    },
    /// The block's parent is not the last applied block.
    #[error("block {height} has parent {found}, but the last applied block is {expected}")]
    WrongParent {
        /// The block's height.
        height: u64,
        /// The last applied block's digest (hex).
        expected: String,
        /// The block's parent (hex).
        found: String,
    },
    /// The database's content is not what this version wrote.
    #[error("the state database is corrupt or from another version: {0}")]
    Corrupt(String),
}
