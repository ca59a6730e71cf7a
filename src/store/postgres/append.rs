//! One group commit as one PostgreSQL transaction.
//!
//! The transaction first locks `glossa_head`'s row: commits are serialised, so the positions a
//! batch takes follow the last committed ones with no gap, and a reader that sees a position
//! sees every position below it (a transaction that rolls back gives its positions to the next).
//! Under the lock it reads what the batch's ids and streams already hold, decides each append
//! as the embedded writer does (`plan`), and writes every event of the batch with one
//! statement. The statements are prepared once per connection (`Statements`) and pipelined:
//! `BEGIN` goes with the reads, `COMMIT` with the writes, so a batch costs two round trips and
//! one WAL flush, however many appends it holds. `COMMIT` sent behind a write that failed rolls
//! back (PostgreSQL answers it with `ROLLBACK`, no error); the batch is then refused with the
//! write's error, and the writer drops the connection, as after any failure.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use tokio_postgres::{Client, Statement};
use uuid::Uuid;

use super::copy::read_after;
use super::pg_error;
use crate::domain::{EventId, StreamId};
use crate::store::log::{AppendRequest, Position};
use crate::store::plan::{Batch, Known, Plan};
use crate::store::{EventRecord, StoreError};

/// The writer's statements, prepared on its connection once.
pub(super) struct Statements {
    lock_head: Statement,
    ids: Statement,
    streams: Statement,
    insert_events: Statement,
    upsert_streams: Statement,
    set_head: Statement,
    notify: Statement,
}

impl Statements {
    /// Prepares the statements. Their plans are made for each execution (a custom plan), as an
    /// unprepared statement's would be: a generic plan chosen while a new desk's tables are
    /// nearly empty scans `glossa_events` for the batch's ids, and keeps doing so as it grows.
    pub(super) async fn prepare(client: &Client) -> Result<Self, StoreError> {
        client
            .batch_execute("SET plan_cache_mode = force_custom_plan")
            .await
            .map_err(pg_error)?;
        let (lock_head, ids, streams, insert_events, upsert_streams, set_head, notify) =
            tokio::try_join!(
                client.prepare("SELECT seq FROM glossa_head FOR UPDATE"),
                client.prepare(
                    "SELECT event_id, seq, version FROM glossa_events WHERE event_id = ANY($1)"
                ),
                client.prepare("SELECT stream, version FROM glossa_streams WHERE stream = ANY($1)"),
                client.prepare(
                    "INSERT INTO glossa_events \
                       (seq, stream, version, event_id, event_type, schema, actor, at, data, \
                        change) \
                     SELECT * FROM unnest($1::int8[], $2::text[], $3::int8[], $4::uuid[], \
                                          $5::text[], $6::int2[], $7::text[], \
                                          $8::timestamptz[], $9::json[], $10::bytea[])"
                ),
                client.prepare(
                    "INSERT INTO glossa_streams (stream, version) \
                     SELECT * FROM unnest($1::text[], $2::int8[]) \
                     ON CONFLICT (stream) DO UPDATE SET version = excluded.version"
                ),
                client.prepare("UPDATE glossa_head SET seq = $1"),
                client.prepare("SELECT pg_notify('glossa_log', $1)"),
            )
            .map_err(pg_error)?;
        Ok(Self {
            lock_head,
            ids,
            streams,
            insert_events,
            upsert_streams,
            set_head,
            notify,
        })
    }
}

/// Commits `requests`; returns one plan per request and the events the local copy (at
/// `local_head`) lacks: those committed elsewhere since, then this batch's. On an error the
/// transaction may still be open: the caller drops the connection, which rolls it back.
pub(super) async fn append(
    client: &Client,
    statements: &Statements,
    requests: &[&AppendRequest],
    local_head: u64,
) -> Result<(Vec<Plan>, Vec<EventRecord>), StoreError> {
    let ids: Vec<Uuid> = requests
        .iter()
        .flat_map(|r| r.events.iter().map(|e| e.id.0))
        .collect();
    let mut streams: Vec<String> = requests
        .iter()
        .flat_map(|r| {
            let events = r.events.iter().map(|e| e.stream.to_string());
            events.chain(r.expectations.iter().map(|(s, _)| s.to_string()))
        })
        .collect();
    streams.sort_unstable();
    streams.dedup();
    let (by_ids, by_streams): ([&PgParam; 1], [&PgParam; 1]) = ([&ids], [&streams]);
    let ((), head, id_rows, stream_rows) = tokio::try_join!(
        client.batch_execute("BEGIN"),
        client.query_one(&statements.lock_head, &[]),
        client.query(&statements.ids, &by_ids),
        client.query(&statements.streams, &by_streams),
    )
    .map_err(pg_error)?;
    let head = head.get::<_, i64>(0) as u64;
    if head < local_head {
        // Positions the local copy holds would be given again to other events.
        return Err(StoreError::DatabaseBehind {
            database: head,
            local: local_head,
        });
    }
    let mut known = Committed {
        positions: id_rows
            .iter()
            .map(|row| {
                let position = Position {
                    seq: row.get::<_, i64>(1) as u64,
                    version: row.get::<_, i64>(2) as u64,
                };
                (EventId(row.get(0)), position)
            })
            .collect(),
        versions: stream_rows
            .iter()
            .map(|row| (row.get(0), row.get::<_, i64>(1) as u64))
            .collect(),
    };
    let mut batch = Batch::new(head + 1);
    let plans = requests
        .iter()
        .map(|request| batch.plan(&mut known, request))
        .collect::<Result<Vec<_>, _>>()?;
    let mut missing = if local_head < head {
        read_after(client, local_head, head).await?
    } else {
        Vec::new()
    };
    if batch.records.is_empty() {
        // Nothing to write: duplicates and refusals only.
        client.batch_execute("COMMIT").await.map_err(pg_error)?;
        return Ok((plans, missing));
    }
    let rows = Rows::of(&batch.records);
    let (stream_names, stream_versions): (Vec<String>, Vec<i64>) = batch
        .heads
        .iter()
        .map(|(stream, version)| (stream.to_string(), *version as i64))
        .unzip();
    let last = batch.last_seq() as i64;
    let last_text = last.to_string();
    let events: [&PgParam; 10] = [
        &rows.seq,
        &rows.stream,
        &rows.version,
        &rows.event_id,
        &rows.event_type,
        &rows.schema,
        &rows.actor,
        &rows.at,
        &rows.data,
        &rows.change,
    ];
    let versions: [&PgParam; 2] = [&stream_names, &stream_versions];
    let (head_param, notify_param): ([&PgParam; 1], [&PgParam; 1]) = ([&last], [&last_text]);
    tokio::try_join!(
        client.execute(&statements.insert_events, &events),
        client.execute(&statements.upsert_streams, &versions),
        client.execute(&statements.set_head, &head_param),
        client.execute(&statements.notify, &notify_param),
        client.batch_execute("COMMIT"),
    )
    .map_err(pg_error)?;
    missing.extend(batch.records);
    Ok((plans, missing))
}

type PgParam = dyn tokio_postgres::types::ToSql + Sync;

/// What the database held for the batch's ids and streams when the lock was taken.
struct Committed {
    positions: HashMap<EventId, Position>,
    versions: HashMap<String, u64>,
}

impl Known for Committed {
    fn position(&mut self, id: EventId) -> Result<Option<Position>, StoreError> {
        Ok(self.positions.get(&id).copied())
    }

    fn version(&mut self, stream: &StreamId) -> Result<u64, StoreError> {
        Ok(self.versions.get(&stream.to_string()).copied().unwrap_or(0))
    }
}

/// A batch's events as one array per column, for one `unnest` insert.
struct Rows {
    seq: Vec<i64>,
    stream: Vec<String>,
    version: Vec<i64>,
    event_id: Vec<Uuid>,
    event_type: Vec<String>,
    schema: Vec<i16>,
    actor: Vec<String>,
    at: Vec<DateTime<Utc>>,
    data: Vec<serde_json::Value>,
    change: Vec<Option<Vec<u8>>>,
}

impl Rows {
    fn of(records: &[EventRecord]) -> Self {
        Self {
            seq: records.iter().map(|r| r.seq as i64).collect(),
            stream: records.iter().map(|r| r.stream.to_string()).collect(),
            version: records.iter().map(|r| r.version as i64).collect(),
            event_id: records.iter().map(|r| r.id.0).collect(),
            event_type: records.iter().map(|r| r.event_type.clone()).collect(),
            schema: records.iter().map(|r| r.schema as i16).collect(),
            actor: records.iter().map(|r| r.actor.to_string()).collect(),
            at: records.iter().map(|r| r.at).collect(),
            data: records.iter().map(|r| r.data.clone()).collect(),
            change: records.iter().map(|r| r.change.clone()).collect(),
        }
    }
}
