//! The SQLite schema of the world state. Documented for auditors in the crate README; opened
//! read-only with the `sqlite3` tool it answers who did what, when.

use rusqlite::{Connection, OptionalExtension};

/// Version of the schema below; bumped by any change to it.
pub const SCHEMA_VERSION: i64 = 5;

/// Connection settings: WAL so readers never block the executor; `synchronous = NORMAL` is
/// durable across a process crash (the WAL is in the OS cache), and on power loss the node
/// replays the lost blocks from its archive. The WAL is checkpointed every 16,384 pages (64 MiB)
/// rather than SQLite's 1,000: a busy chain rewrites the same index pages block after block, and
/// a longer WAL copies each into the database once per checkpoint instead of many times
/// (checkpoints were a sixth of a node's CPU under load; docs/BENCHMARKS.md).
pub const PRAGMAS: &str = "
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
PRAGMA foreign_keys = OFF;
PRAGMA temp_store = MEMORY;
PRAGMA cache_size = -65536;
PRAGMA wal_autocheckpoint = 16384;
";

/// The tables. Keys and digests are BLOBs, ids are the 16 raw bytes, lists are JSON arrays.
/// Every column that names an organisation holds its stable id (`orgs.position`), never a key:
/// keys rotate, the id stays (DESIGN §4.4). `receipts.signer` is the exception: it is the key
/// the tx was signed with, a fact of the tx.
/// Tables with sealed payloads are rowid tables: rows are appended in order and the random id
/// lives in its own index, rather than 1 KiB rows splitting a B-tree keyed by random ids.
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
) WITHOUT ROWID;

-- `position` is the organisation's stable id (DESIGN §4.4). `status_height` and `status_reason`
-- are those of the last suspension or reinstatement (0 and NULL before any). `membership` is
-- `member`, `admitted` or `leaving` (an enacted addition or removal, in effect from
-- `membership_height`) or `removed`.
CREATE TABLE IF NOT EXISTS orgs (
    position       INTEGER PRIMARY KEY,
    identity_key   BLOB NOT NULL UNIQUE,
    name           TEXT NOT NULL UNIQUE,
    role           TEXT NOT NULL,
    encryption_key BLOB NOT NULL,
    p2p            TEXT NOT NULL,
    api            TEXT NOT NULL,
    active         INTEGER NOT NULL,
    status_height  INTEGER NOT NULL,
    status_reason  TEXT,
    membership        TEXT NOT NULL,
    membership_height INTEGER NOT NULL
);

-- Governance proposals (DESIGN §4.10). `change` is the Change's codec bytes, `target` the
-- organisation a removal names or an enacted addition created.
CREATE TABLE IF NOT EXISTS proposals (
    proposal_id      BLOB PRIMARY KEY,
    proposer         INTEGER NOT NULL,
    kind             TEXT NOT NULL,
    change           BLOB NOT NULL,
    description      TEXT NOT NULL,
    target           INTEGER,
    ttl              INTEGER NOT NULL,
    created_height   INTEGER NOT NULL,
    expires_height   INTEGER NOT NULL,
    status           TEXT NOT NULL,
    status_height    INTEGER NOT NULL,
    effective_height INTEGER,
    create_tx        BLOB NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS proposals_by_status ON proposals (status, created_height);
CREATE INDEX IF NOT EXISTS proposals_open_expiry ON proposals (expires_height) WHERE status = 'open';

CREATE TABLE IF NOT EXISTS proposal_votes (
    proposal_id BLOB NOT NULL,
    org         INTEGER NOT NULL,
    approve     INTEGER NOT NULL,
    reason      TEXT NOT NULL,
    height      INTEGER NOT NULL,
    tx_id       BLOB NOT NULL,
    PRIMARY KEY (proposal_id, org)
) WITHOUT ROWID;

-- Every key an organisation has had, from the height it took effect (0: the genesis) until the
-- next of its kind: a signature or a seal of height h is checked against the key valid at h.
-- `seq` numbers an organisation's keys of one kind from 0: two rotations in one block share a
-- height, and the later one (higher `seq`) is the key from then on.
CREATE TABLE IF NOT EXISTS org_keys (
    org         INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    key         BLOB NOT NULL,
    from_height INTEGER NOT NULL,
    tx_id       BLOB,
    PRIMARY KEY (org, kind, seq)
) WITHOUT ROWID;

-- The validator set from epoch `from_epoch` on, until the next `from_epoch` (DESIGN §3.2): one row
-- per seat, `seat` the position of the key in the set sorted by key bytes (the order of
-- consensus's `Set`). Written at genesis (from epoch 0) and by the block `height` that enacted a
-- membership change; never updated or deleted.
CREATE TABLE IF NOT EXISTS validator_sets (
    from_epoch   INTEGER NOT NULL,
    seat         INTEGER NOT NULL,
    org          INTEGER NOT NULL,
    identity_key BLOB NOT NULL,
    height       INTEGER NOT NULL,
    PRIMARY KEY (from_epoch, seat)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS blocks (
    height           INTEGER PRIMARY KEY,
    digest           BLOB NOT NULL,
    parent           BLOB NOT NULL,
    timestamp_ms     INTEGER NOT NULL,
    tx_count         INTEGER NOT NULL,
    state_commitment BLOB NOT NULL,
    history_leaves   INTEGER NOT NULL,
    history_root     BLOB NOT NULL
);

CREATE TABLE IF NOT EXISTS history_nodes (
    first_pos INTEGER PRIMARY KEY,
    nodes     BLOB NOT NULL
);

CREATE TABLE IF NOT EXISTS records (
    record_id        BLOB PRIMARY KEY,
    provider         INTEGER NOT NULL,
    kind             TEXT NOT NULL,
    tags             TEXT NOT NULL,
    fields           TEXT NOT NULL,
    commitment       BLOB NOT NULL,
    sealed           BLOB NOT NULL,
    sealed_bytes     INTEGER NOT NULL,
    status           TEXT NOT NULL,
    reason           TEXT,
    submitted_height INTEGER NOT NULL,
    submit_tx        BLOB NOT NULL,
    attested_height  INTEGER
);
-- Each filter's index ends with the listing order (submitted_height, record_id), so a page is
-- read in order from the index instead of sorting every matching record (a supervisor with
-- 100,000 records awaiting its verdict sorted them all for every page).
DROP INDEX IF EXISTS records_by_provider;
DROP INDEX IF EXISTS records_by_kind;
DROP INDEX IF EXISTS records_by_status;
CREATE INDEX IF NOT EXISTS records_by_provider_height ON records (provider, submitted_height, record_id);
CREATE INDEX IF NOT EXISTS records_by_kind_height ON records (kind, submitted_height, record_id);
CREATE INDEX IF NOT EXISTS records_by_status_height ON records (status, submitted_height, record_id);

CREATE TABLE IF NOT EXISTS requests (
    request_id     BLOB PRIMARY KEY,
    requester      INTEGER NOT NULL,
    fields         TEXT NOT NULL,
    purpose        TEXT NOT NULL,
    ttl            INTEGER NOT NULL,
    created_height INTEGER NOT NULL,
    expires_height INTEGER NOT NULL,
    status         TEXT NOT NULL,
    status_height  INTEGER NOT NULL,
    reason         TEXT,
    create_tx      BLOB NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS requests_by_requester ON requests (requester, created_height);
CREATE INDEX IF NOT EXISTS requests_by_status ON requests (status, created_height);
CREATE INDEX IF NOT EXISTS requests_pending_expiry ON requests (expires_height) WHERE status = 'pending';

CREATE TABLE IF NOT EXISTS request_records (
    request_id BLOB NOT NULL,
    position   INTEGER NOT NULL,
    record_id  BLOB NOT NULL,
    PRIMARY KEY (request_id, position)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS request_records_by_record ON request_records (record_id);

CREATE TABLE IF NOT EXISTS approvals (
    request_id BLOB NOT NULL,
    org        INTEGER NOT NULL,
    decision   TEXT,
    reason     TEXT,
    height     INTEGER,
    tx_id      BLOB,
    PRIMARY KEY (request_id, org)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS approvals_by_org ON approvals (org, decision);

CREATE TABLE IF NOT EXISTS deliveries (
    request_id BLOB PRIMARY KEY,
    sealed     BLOB NOT NULL,
    height     INTEGER NOT NULL,
    tx_id      BLOB NOT NULL
);

-- Replay protection: every applied tx id until its window closes, keyed by the window's end
-- first. Ids arrive in about that order, so inserts land on the last pages instead of random
-- ones, a duplicate is found by (valid_until, tx_id) since both are fixed by the tx's bytes, and
-- the sweep of closed windows is a range at the front.
CREATE TABLE IF NOT EXISTS applied_txs (
    valid_until INTEGER NOT NULL,
    tx_id       BLOB NOT NULL,
    PRIMARY KEY (valid_until, tx_id)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS receipts (
    height   INTEGER NOT NULL,
    tx_index INTEGER NOT NULL,
    tx_id    BLOB NOT NULL,
    signer   BLOB NOT NULL,
    body     TEXT NOT NULL,
    code     TEXT NOT NULL,
    message  TEXT NOT NULL,
    PRIMARY KEY (height, tx_index)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS receipts_by_tx ON receipts (tx_id);

CREATE TABLE IF NOT EXISTS events (
    seq        INTEGER PRIMARY KEY,
    height     INTEGER NOT NULL,
    tx_index   INTEGER,
    tx_id      BLOB,
    kind       TEXT NOT NULL,
    actor      INTEGER,
    subject    INTEGER,
    record_id  BLOB,
    request_id BLOB,
    detail     TEXT NOT NULL,
    proposal_id BLOB,
    leaf       INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_proposal ON events (proposal_id) WHERE proposal_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS events_by_record ON events (record_id) WHERE record_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS events_by_request ON events (request_id) WHERE request_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS events_by_actor ON events (actor) WHERE actor IS NOT NULL;
CREATE INDEX IF NOT EXISTS events_by_subject ON events (subject) WHERE subject IS NOT NULL;
";

/// Applies the pragmas, moves tables of an earlier layout to the current one and creates any
/// missing table.
pub fn prepare(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(PRAGMAS)?;
    migrate_applied_txs(conn)?;
    conn.execute_batch(SCHEMA)
}

/// `applied_txs` was keyed by `tx_id` alone (a random key: each insert dirtied a page of its
/// own) with an index on `valid_until`. Moves its rows to the current layout, in one
/// transaction. Neither layout is part of the state commitment.
fn migrate_applied_txs(conn: &Connection) -> rusqlite::Result<()> {
    let first_column: Option<String> = conn
        .query_row(
            "SELECT name FROM pragma_table_info('applied_txs') WHERE cid = 0",
            [],
            |r| r.get(0),
        )
        .optional()?;
    if first_column.as_deref() != Some("tx_id") {
        return Ok(());
    }
    conn.execute_batch(
        "BEGIN IMMEDIATE;
         ALTER TABLE applied_txs RENAME TO applied_txs_by_id;
         DROP INDEX IF EXISTS applied_txs_by_expiry;
         CREATE TABLE applied_txs (
             valid_until INTEGER NOT NULL,
             tx_id       BLOB NOT NULL,
             PRIMARY KEY (valid_until, tx_id)
         ) WITHOUT ROWID;
         INSERT INTO applied_txs (valid_until, tx_id) SELECT valid_until, tx_id FROM applied_txs_by_id;
         DROP TABLE applied_txs_by_id;
         COMMIT;",
    )
}
