//! The validator sets (DESIGN §3.2, §5.6): which organisations, under which identity keys,
//! validate each epoch. A set is stored once, from the epoch it starts (`validator_sets`); the
//! set of epoch e is the one with the greatest `from_epoch` ≤ e. Seats are the keys' positions
//! sorted by key bytes, the order consensus's `Set` gives them.

use crate::{
    queries::Queries,
    sql::{key_from_blob, org_from_sql, org_to_sql},
};
use commonware_utils::{Faults as _, N3f1};
use custodia_protocol::{Genesis, IdentityKey, OrgId};
use rusqlite::{Connection, params};
use std::collections::{BTreeMap, BTreeSet};

/// One seat of a validator set: the organisation and the identity key it votes with.
pub(crate) type Seat = (OrgId, IdentityKey);

/// The smallest number of a set's `n` validators that finalizes a block: commonware's `N3f1`
/// quorum, `n − ⌊(n − 1)/3⌋`, that simplex uses (0 for an empty set, which never exists).
pub(crate) fn quorum(n: usize) -> usize {
    if n == 0 {
        return 0;
    }
    u32::try_from(n).map_or(n, |n| N3f1::quorum(n) as usize)
}

/// `seats` in seat order: sorted by key bytes, a key at most once.
pub(crate) fn seated(mut seats: Vec<Seat>) -> Vec<Seat> {
    seats.sort_by(|a, b| a.1.cmp(&b.1));
    seats.dedup_by(|a, b| a.1 == b.1);
    seats
}

/// Writes the genesis set, every organisation of the genesis, from epoch 0.
pub(crate) fn init(conn: &Connection, genesis: &Genesis) -> rusqlite::Result<()> {
    let seats = genesis
        .orgs
        .iter()
        .enumerate()
        .map(|(position, org)| (OrgId(position as u32), org.identity_key.clone()))
        .collect();
    write(conn, 0, 0, &seated(seats))
}

/// Writes `seats` (in seat order) as the set from `from_epoch`, scheduled by block `height`.
pub(crate) fn write(
    conn: &Connection,
    from_epoch: u64,
    height: u64,
    seats: &[Seat],
) -> rusqlite::Result<()> {
    let mut insert = conn.prepare_cached(
        "INSERT INTO validator_sets (from_epoch, seat, org, identity_key, height)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for (seat, (org, key)) in seats.iter().enumerate() {
        insert.execute(params![
            sql_int(from_epoch),
            seat as i64,
            org_to_sql(*org),
            key.as_ref(),
            sql_int(height),
        ])?;
    }
    Ok(())
}

/// The set that validates `epoch`, in seat order.
pub(crate) fn set_of(conn: &Connection, epoch: u64) -> rusqlite::Result<Vec<Seat>> {
    seats(
        conn,
        "SELECT org, identity_key FROM validator_sets
         WHERE from_epoch = (SELECT MAX(from_epoch) FROM validator_sets WHERE from_epoch <= ?1)
         ORDER BY seat",
        epoch,
    )
}

/// The set that starts at `epoch` exactly, if one does (empty otherwise).
pub(crate) fn starting_at(conn: &Connection, epoch: u64) -> rusqlite::Result<Vec<Seat>> {
    seats(
        conn,
        "SELECT org, identity_key FROM validator_sets WHERE from_epoch = ?1 ORDER BY seat",
        epoch,
    )
}

/// The epoch the latest set starts (`None` only for a database without the genesis set).
pub(crate) fn latest_start(conn: &Connection) -> rusqlite::Result<Option<u64>> {
    let latest: Option<i64> = conn
        .prepare_cached("SELECT MAX(from_epoch) FROM validator_sets")?
        .query_row([], |r| r.get(0))?;
    latest
        .map(|e| u64::try_from(e).map_err(|_| crate::orgs::corrupt("validator_sets.from_epoch")))
        .transpose()
}

fn seats(conn: &Connection, sql: &str, epoch: u64) -> rusqlite::Result<Vec<Seat>> {
    conn.prepare_cached(sql)?
        .query_map([sql_int(epoch)], |r| {
            Ok((
                org_from_sql(r.get(0)?, "validator_sets.org")?,
                key_from_blob(&r.get::<_, Vec<u8>>(1)?, "validator_sets.identity_key")?,
            ))
        })?
        .collect()
}

/// An epoch or height as SQLite's integer (they never reach 2^63).
fn sql_int(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

impl Queries<'_> {
    /// The validators of `epoch` (DESIGN §3.2): each organisation and the identity key it votes
    /// with, in seat order (sorted by key bytes, as consensus orders its participants).
    pub fn validators(&self, epoch: u64) -> rusqlite::Result<Vec<(OrgId, IdentityKey)>> {
        set_of(self.conn, epoch)
    }

    /// Every validator set the chain has had or scheduled, from genesis: the epoch it starts
    /// and its keys in seat order. The first starts at epoch 0; each holds until the next.
    pub fn validator_changes(&self) -> rusqlite::Result<Vec<(u64, Vec<IdentityKey>)>> {
        let mut changes: Vec<(u64, Vec<IdentityKey>)> = Vec::new();
        let mut stmt = self.conn.prepare_cached(
            "SELECT from_epoch, identity_key FROM validator_sets ORDER BY from_epoch, seat",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let from = u64::try_from(row.get::<_, i64>(0)?)
                .map_err(|_| crate::orgs::corrupt("validator_sets.from_epoch"))?;
            let key = key_from_blob(&row.get::<_, Vec<u8>>(1)?, "validator_sets.identity_key")?;
            match changes.last_mut() {
                Some((epoch, keys)) if *epoch == from => keys.push(key),
                _ => changes.push((from, vec![key])),
            }
        }
        Ok(changes)
    }

    /// The epochs each organisation validates, from the sets the chain has had or scheduled:
    /// its first epoch and, once a later set leaves it out, its last. An organisation removed
    /// is never seated again (DESIGN §4.10), so one range is all there is; one never seated
    /// has no entry.
    pub fn validator_epochs(&self) -> rusqlite::Result<BTreeMap<OrgId, ValidatorEpochs>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT from_epoch, org FROM validator_sets ORDER BY from_epoch")?;
        let mut sets: BTreeMap<u64, BTreeSet<OrgId>> = BTreeMap::new();
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let from = u64::try_from(row.get::<_, i64>(0)?)
                .map_err(|_| crate::orgs::corrupt("validator_sets.from_epoch"))?;
            let org = org_from_sql(row.get(1)?, "validator_sets.org")?;
            sets.entry(from).or_default().insert(org);
        }
        let mut epochs: BTreeMap<OrgId, ValidatorEpochs> = BTreeMap::new();
        for (from, orgs) in &sets {
            for org in orgs {
                epochs.entry(*org).or_insert(ValidatorEpochs {
                    from: *from,
                    until: None,
                });
            }
            for (org, range) in epochs.iter_mut() {
                if range.until.is_none() && !orgs.contains(org) {
                    range.until = Some(from.saturating_sub(1));
                }
            }
        }
        Ok(epochs)
    }
}

/// The epochs one organisation validates ([`Queries::validator_epochs`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValidatorEpochs {
    /// Its first epoch.
    pub from: u64,
    /// Its last epoch, once a set without it is scheduled.
    pub until: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use commonware_utils::ordered::Set;
    use custodia_protocol::OrgKeys;

    #[test]
    fn quorum_is_simplex_n3f1_quorum() {
        for n in 1..=100u32 {
            assert_eq!(quorum(n as usize), N3f1::quorum(n) as usize, "n = {n}");
        }
        assert_eq!(quorum(0), 0);
        assert_eq!([1, 2, 3, 4, 5, 7].map(quorum), [1, 2, 3, 3, 4, 5]);
    }

    #[test]
    fn seats_are_in_the_order_of_consensus_set_which_is_key_bytes() {
        let keys: Vec<IdentityKey> = (1..=12)
            .map(|seed| OrgKeys::from_seed(seed).identity_key())
            .collect();
        let seats = seated(
            keys.iter()
                .enumerate()
                .map(|(i, k)| (OrgId(i as u32), k.clone()))
                .collect(),
        );
        let set = Set::from_iter_dedup(keys.iter().cloned());
        let ours: Vec<&IdentityKey> = seats.iter().map(|(_, k)| k).collect();
        let theirs: Vec<&IdentityKey> = set.iter().collect();
        assert_eq!(ours, theirs);
        let mut by_bytes = keys.clone();
        by_bytes.sort_by(|a, b| a.as_ref().cmp(b.as_ref()));
        assert_eq!(ours, by_bytes.iter().collect::<Vec<_>>());
        assert!(
            by_bytes != keys,
            "the seeds' keys must come unsorted for this test to be able to fail"
        );
    }
}
