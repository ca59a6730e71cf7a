//! The local copy of the log: checked against PostgreSQL at start, and brought level.
//!
//! The copy is the same sled log an embedded desk has, written without waiting for the disk:
//! PostgreSQL is the durable original. At start its last position and that event's id are
//! compared with PostgreSQL's: a copy that is merely behind (a crash lost its unsynced tail, or
//! other processes appended meanwhile) is caught up; one that differs (another desk's copy, a
//! restored database, a copy ahead of its database) is deleted with everything derived from it
//! and rebuilt. A directory that holds an embedded desk's log is never taken for a copy.

use tokio_postgres::GenericClient;

use super::{pg_error, Database};
use crate::domain::{EventId, StreamId, UserName};
use crate::store::index::Index;
use crate::store::{keys, local, EventRecord, StoreError};

/// The columns of an event row, in the order `record_of` reads them.
const COLUMNS: &str = "seq, stream, version, event_id, event_type, schema, actor, at, data, change";
/// Events copied per round trip while catching up.
const PAGE: i64 = 5000;

/// The events after `after`, up to `upto`, in order.
pub(super) async fn read_after(
    client: &impl GenericClient,
    after: u64,
    upto: u64,
) -> Result<Vec<EventRecord>, StoreError> {
    let rows = client
        .query(
            &format!(
                "SELECT {COLUMNS} FROM glossa_events WHERE seq > $1 AND seq <= $2 ORDER BY seq"
            ),
            &[&(after as i64), &(upto as i64)],
        )
        .await
        .map_err(pg_error)?;
    rows.iter().map(record_of).collect()
}

fn record_of(row: &tokio_postgres::Row) -> Result<EventRecord, StoreError> {
    let seq = row.get::<_, i64>(0) as u64;
    let field = |name: &str| format!("event {seq} in the database: {name}");
    Ok(EventRecord {
        seq,
        stream: StreamId::parse(row.get(1))
            .map_err(|e| StoreError::undecodable(field("stream"), e))?,
        version: row.get::<_, i64>(2) as u64,
        id: EventId(row.get(3)),
        event_type: row.get(4),
        schema: row.get::<_, i16>(5) as u16,
        actor: UserName::parse(row.get(6))
            .map_err(|e| StoreError::undecodable(field("actor"), e))?,
        at: row.get(7),
        data: row.get(8),
        change: row.get(9),
    })
}

/// Where the database stands: its desk id and last position.
struct Original {
    desk: String,
    head: u64,
}

/// Checks the local copy (`log` and the derived trees of `db`) against the database, rebuilds it
/// if it differs, and catches it up. Returns how many events were copied, and the copy's index.
pub(in crate::store) fn level(
    database: &Database,
    db: &sled::Db,
    meta: &sled::Tree,
) -> Result<(u64, Index), StoreError> {
    let log = db.open_tree(keys::LOG_TREE)?;
    let original = database.block({
        let database = database.clone();
        async move {
            database
                .with_client(|client| {
                    Box::pin(async move {
                        let (desk, head) = tokio::try_join!(
                            client.query_one(
                                "SELECT value FROM glossa_meta WHERE key = 'desk_id'",
                                &[]
                            ),
                            client.query_one("SELECT seq FROM glossa_head", &[]),
                        )
                        .map_err(pg_error)?;
                        Ok(Original {
                            desk: desk.get(0),
                            head: head.get::<_, i64>(0) as u64,
                        })
                    })
                })
                .await
        }
    })?;
    let local_head = local::head(&log)?;
    let local_desk = meta
        .get(keys::META_DESK)?
        .map(|v| String::from_utf8_lossy(&v).into_owned());
    if local_desk.is_none() && local_head > 0 {
        return Err(StoreError::WrongDirectory(
            "this data directory holds an embedded desk's own log, not a copy of the database's; \
             move the desk into PostgreSQL with `glossa dump` and `glossa restore \
             --database-url`, or give a new data directory"
                .into(),
        ));
    }
    let same = local_desk.as_deref() == Some(original.desk.as_str())
        && local_head <= original.head
        && agrees_at(database, &log, local_head)?;
    if !same && (local_head > 0 || local_desk.is_some()) {
        tracing::warn!(
            local_head,
            database_head = original.head,
            "the local copy of the log differs from the database; rebuilding it"
        );
        clear_copy(db)?;
    }
    meta.insert(keys::META_DESK, original.desk.as_bytes())?;
    let index = match Index::open(&log) {
        Ok(index) => index,
        // A copy whose index does not fit its events (a rebuild cut short: sled clears a tree
        // key by key) is rebuilt; the database has everything.
        Err(StoreError::Corrupt(why)) => {
            tracing::warn!(%why, "the local copy of the log is damaged; rebuilding it");
            clear_copy(db)?;
            Index::open(&log)?
        }
        Err(error) => return Err(error),
    };
    let mut copied = 0;
    let mut at = local::head(&log)?;
    while at < original.head {
        let upto = original.head.min(at + PAGE as u64);
        let records = database.block({
            let database = database.clone();
            async move {
                database
                    .with_client(|client| {
                        Box::pin(async move { read_after(client, at, upto).await })
                    })
                    .await
            }
        })?;
        if records.is_empty() || records[0].seq != at + 1 {
            return Err(StoreError::Corrupt(format!(
                "the database's log has a gap after position {at}"
            )));
        }
        local::apply(&log, &index, &records)?;
        copied += records.len() as u64;
        at = records.last().map_or(at, |r| r.seq);
    }
    crate::store::sled_lock::flush(db)?;
    Ok((copied, index))
}

/// Deletes the local copy of the log and everything derived from it, to be copied again.
fn clear_copy(db: &sled::Db) -> Result<(), StoreError> {
    for tree in [keys::LOG_TREE, keys::READ_MODEL_TREE, keys::SNAPSHOT_TREE] {
        db.open_tree(tree)?.clear()?;
    }
    Ok(())
}

/// Whether the local event at `seq` is the database's (trivially, for an empty copy).
fn agrees_at(database: &Database, log: &sled::Tree, seq: u64) -> Result<bool, StoreError> {
    if seq == 0 {
        return Ok(true);
    }
    let Some(mine) = local::get(log, seq)? else {
        return Ok(false);
    };
    let mine = mine.id.0;
    let theirs: Option<uuid::Uuid> = database.block({
        let database = database.clone();
        async move {
            database
                .with_client(|client| {
                    Box::pin(async move {
                        let row = client
                            .query_opt(
                                "SELECT event_id FROM glossa_events WHERE seq = $1",
                                &[&(seq as i64)],
                            )
                            .await
                            .map_err(pg_error)?;
                        Ok(row.map(|row| row.get(0)))
                    })
                })
                .await
        }
    })?;
    Ok(theirs == Some(mine))
}
