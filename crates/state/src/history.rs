//! The history of DESIGN §5.7 as the state keeps it: the MMR's peaks in memory, every node in
//! `history_nodes`, one row per block (the nodes the block appended, 32 bytes each, from
//! position `first_pos`), written in the block's own SQLite transaction so the history and the
//! state never disagree after a crash.

use crate::{StateError, sql::digest_from_blob};
use custodia_protocol::{
    Digest,
    history::{self, Mmr, Proof},
};
use rusqlite::{Connection, OptionalExtension, params};

/// The history after the last applied block, as its peaks, read back from the database.
pub(crate) fn open(conn: &Connection) -> Result<Mmr, StateError> {
    let leaves = leaves_at(conn, None)?.unwrap_or(0);
    let peaks = history::peak_positions(leaves)
        .into_iter()
        .map(|pos| {
            node(conn, pos)?.ok_or_else(|| {
                StateError::Corrupt(format!(
                    "history node {pos} is missing: rebuild the state from the archive \
                     (custodia node --reindex)"
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    history::mmr_from_peaks(leaves, peaks).ok_or_else(|| {
        StateError::Corrupt(format!("the history's {leaves} leaves do not make an MMR"))
    })
}

/// Appends `leaves` to a copy of `mmr`, writes the nodes they add to `db`, and returns the new
/// history (peaks only) and its root.
pub(crate) fn append(
    db: &Connection,
    mmr: &Mmr,
    leaves: &[Vec<u8>],
) -> Result<(Mmr, Digest), StateError> {
    let hasher = history::hasher();
    let mut next = mmr.clone();
    if !leaves.is_empty() {
        let batch = leaves
            .iter()
            .fold(next.new_batch(), |batch, leaf| batch.add(&hasher, leaf))
            .merkleize(&next, &hasher);
        next.apply_batch(&batch)
            .map_err(|e| StateError::Corrupt(format!("the history refused a block: {e}")))?;
        let first = *mmr.size();
        let mut nodes = Vec::with_capacity(((*next.size() - first) * 32) as usize);
        for pos in first..*next.size() {
            let digest = next
                .get_node(commonware_storage::mmr::Position::new(pos))
                .expect("an appended node is retained until pruned");
            nodes.extend_from_slice(digest.as_ref());
        }
        db.prepare_cached("INSERT INTO history_nodes (first_pos, nodes) VALUES (?1, ?2)")?
            .execute(params![first as i64, nodes])?;
    }
    let root = next
        .root(&hasher, 0)
        .map_err(|e| StateError::Corrupt(format!("the history has no root: {e}")))?;
    next.prune_all();
    Ok((next, root))
}

/// The history's node at `pos`, if written.
pub(crate) fn node(conn: &Connection, pos: u64) -> Result<Option<Digest>, StateError> {
    let found: Option<(i64, Vec<u8>)> = conn
        .prepare_cached(
            "SELECT first_pos, substr(nodes, (?1 - first_pos) * 32 + 1, 32) FROM history_nodes
             WHERE first_pos <= ?1 ORDER BY first_pos DESC LIMIT 1",
        )?
        .query_row([pos as i64], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    match found {
        Some((_, bytes)) if bytes.len() == 32 => {
            Ok(Some(digest_from_blob(&bytes, "history_nodes.nodes")?))
        }
        _ => Ok(None),
    }
}

/// The history's leaf count after block `height` (the last applied block when `None`), or
/// `None` when no such block was applied (before the first block the history is empty).
pub(crate) fn leaves_at(conn: &Connection, height: Option<u64>) -> Result<Option<u64>, StateError> {
    let leaves: Option<i64> = match height {
        None => conn
            .prepare_cached("SELECT history_leaves FROM blocks ORDER BY height DESC LIMIT 1")?
            .query_row([], |r| r.get(0))
            .optional()?,
        Some(0) => Some(0),
        Some(h) => conn
            .prepare_cached("SELECT history_leaves FROM blocks WHERE height = ?1")?
            .query_row([h as i64], |r| r.get(0))
            .optional()?,
    };
    Ok(leaves.map(|n| n as u64))
}

/// The proof of leaf `location` among the first `leaves` leaves.
pub(crate) fn proof(conn: &Connection, leaves: u64, location: u64) -> Result<Proof, StateError> {
    let missing = || {
        StateError::Corrupt(format!(
            "the history nodes to prove leaf {location} among {leaves} are missing"
        ))
    };
    let positions = history::proof_positions(leaves, location).ok_or_else(missing)?;
    let mut nodes = std::collections::BTreeMap::new();
    for pos in positions {
        nodes.insert(pos, node(conn, pos)?.ok_or_else(missing)?);
    }
    history::build_proof(leaves, location, |pos| nodes.get(&pos).copied()).ok_or_else(missing)
}
