//! The certificates of the state commitment (DESIGN §5.9), in a database of their own,
//! `certificates.sqlite` beside the state's: a certificate is gathered from the validators'
//! signatures, not derived from the blocks, so a reindex (which drops the state) must not lose
//! it. One row per certified height; the bytes are the certificate's canonical encoding.

use crate::{StateError, sql::digest_from_blob};
use custodia_protocol::Digest;
use rusqlite::{Connection, OptionalExtension, params};
use std::{
    path::Path,
    sync::{Mutex, MutexGuard},
};

const SCHEMA: &str = "
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
CREATE TABLE IF NOT EXISTS certificates (
    height      INTEGER PRIMARY KEY,
    epoch       INTEGER NOT NULL,
    commitment  BLOB NOT NULL,
    certificate BLOB NOT NULL
);
";

/// A certified state commitment: `certificate` holds the signatures of a quorum of the
/// validators of `epoch` over `(height, commitment)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateRow {
    /// The height whose commitment is certified.
    pub height: u64,
    /// The epoch whose validator set signed it.
    pub epoch: u64,
    /// The certified commitment `C_h`.
    pub commitment: Digest,
    /// The certificate's canonical encoding.
    pub certificate: Vec<u8>,
}

/// A node's certificates.
pub struct Certificates {
    conn: Mutex<Connection>,
}

impl Certificates {
    /// Opens (or creates) the database at `path`.
    pub fn open(path: &Path) -> Result<Self, StateError> {
        Self::init(Connection::open(path)?)
    }

    /// Certificates held in memory only (tests).
    pub fn open_in_memory() -> Result<Self, StateError> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<Self, StateError> {
        conn.execute_batch(SCHEMA)?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Stores `row`; a height already certified keeps its first certificate (every
    /// certificate of a height certifies the same commitment, or the chain is broken and the
    /// node stops before it stores the second).
    pub fn insert(&self, row: &CertificateRow) -> Result<(), StateError> {
        let height = i64::try_from(row.height)
            .map_err(|_| StateError::Corrupt(format!("height {} is out of range", row.height)))?;
        let epoch = i64::try_from(row.epoch)
            .map_err(|_| StateError::Corrupt(format!("epoch {} is out of range", row.epoch)))?;
        self.conn()
            .prepare_cached(
                "INSERT OR IGNORE INTO certificates (height, epoch, commitment, certificate)
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![
                height,
                epoch,
                row.commitment.as_ref(),
                row.certificate
            ])?;
        Ok(())
    }

    /// The certificate of `height`, if this node has one.
    pub fn get(&self, height: u64) -> Result<Option<CertificateRow>, StateError> {
        let Ok(height) = i64::try_from(height) else {
            return Ok(None);
        };
        self.one("WHERE height = ?1", height)
    }

    /// The certificate of the highest certified height at most `height`.
    pub fn at_most(&self, height: u64) -> Result<Option<CertificateRow>, StateError> {
        let height = i64::try_from(height).unwrap_or(i64::MAX);
        self.one("WHERE height <= ?1 ORDER BY height DESC LIMIT 1", height)
    }

    /// The certificate of the highest certified height.
    pub fn latest(&self) -> Result<Option<CertificateRow>, StateError> {
        self.at_most(u64::MAX)
    }

    fn one(&self, condition: &str, height: i64) -> Result<Option<CertificateRow>, StateError> {
        let conn = self.conn();
        let mut statement = conn.prepare_cached(&format!(
            "SELECT height, epoch, commitment, certificate FROM certificates {condition}"
        ))?;
        let row = statement
            .query_row(params![height], |r| {
                Ok(CertificateRow {
                    height: r.get::<_, i64>(0)? as u64,
                    epoch: r.get::<_, i64>(1)? as u64,
                    commitment: digest_from_blob(
                        &r.get::<_, Vec<u8>>(2)?,
                        "certificates.commitment",
                    )?,
                    certificate: r.get(3)?,
                })
            })
            .optional()?;
        Ok(row)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use custodia_protocol::hash::sha256;

    fn row(height: u64, tag: &[u8]) -> CertificateRow {
        CertificateRow {
            height,
            epoch: height / 64,
            commitment: sha256(&[tag]),
            certificate: tag.to_vec(),
        }
    }

    #[test]
    fn a_height_keeps_its_first_certificate_and_the_latest_is_the_highest() {
        let store = Certificates::open_in_memory().expect("opens");
        assert_eq!(store.latest().expect("reads"), None);
        store.insert(&row(3, b"three")).expect("stores");
        store.insert(&row(9, b"nine")).expect("stores");
        store.insert(&row(3, b"other")).expect("ignored");
        assert_eq!(store.get(3).expect("reads"), Some(row(3, b"three")));
        assert_eq!(store.get(4).expect("reads"), None);
        assert_eq!(store.latest().expect("reads"), Some(row(9, b"nine")));
        assert_eq!(store.at_most(8).expect("reads"), Some(row(3, b"three")));
        assert_eq!(store.at_most(2).expect("reads"), None);
    }

    #[test]
    fn certificates_survive_a_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("certificates.sqlite");
        Certificates::open(&path)
            .expect("opens")
            .insert(&row(5, b"five"))
            .expect("stores");
        let store = Certificates::open(&path).expect("reopens");
        assert_eq!(store.latest().expect("reads"), Some(row(5, b"five")));
    }
}
