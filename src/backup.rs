//! The NDJSON dump of the whole log, and restoring a data directory from one.
//!
//! One line per event, in sequence order, with everything needed to append it again: id,
//! stream, type, schema, actor, time (microseconds), data and the raw Automerge change
//! (base64). Restoring appends the events in order into an empty data directory, so sequence
//! numbers, stream versions, documents and read models come out the same; dump → restore →
//! dump gives identical bytes. Users and tokens are events too, so they come back with the
//! rest; only `glossa dump` carries token hashes (see [`Secrets`]).

use std::io::{BufRead, Write};
use std::path::Path;

use anyhow::{bail, Context};
use base64::Engine;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::domain::{EventId, StreamId, UserName};
use crate::store::{AppendRequest, EventLog, EventRecord, Location, NewEvent, Store};

/// One line of a dump.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DumpLine {
    pub seq: u64,
    pub id: Uuid,
    pub stream: String,
    pub version: u64,
    #[serde(rename = "type")]
    pub event_type: String,
    pub schema: u16,
    pub actor: String,
    pub at: String,
    pub data: Value,
    pub change: Option<String>,
}

impl DumpLine {
    pub fn from_record(record: &EventRecord) -> Self {
        Self {
            seq: record.seq,
            id: record.id.0,
            stream: record.stream.to_string(),
            version: record.version,
            event_type: record.event_type.clone(),
            schema: record.schema,
            actor: record.actor.to_string(),
            at: record.at.to_rfc3339_opts(SecondsFormat::Micros, true),
            data: record.data.clone(),
            change: record
                .change
                .as_ref()
                .map(|c| base64::engine::general_purpose::STANDARD.encode(c)),
        }
    }

    /// A line as it may leave the server: without a token's hash or a webhook's secret.
    pub fn public(record: &EventRecord) -> Self {
        Self {
            data: crate::feed::public_data(record),
            ..Self::from_record(record)
        }
    }

    fn into_event(self) -> anyhow::Result<NewEvent> {
        Ok(NewEvent {
            id: EventId(self.id),
            stream: StreamId::parse(&self.stream)?,
            event_type: self.event_type,
            schema: self.schema,
            actor: UserName::parse(&self.actor)?,
            at: DateTime::parse_from_rfc3339(&self.at)
                .context("`at` is not an RFC 3339 time")?
                .with_timezone(&Utc),
            data: self.data,
            change: self
                .change
                .map(|c| base64::engine::general_purpose::STANDARD.decode(c))
                .transpose()
                .context("`change` is not base64")?,
        })
    }
}

/// What a dump carries of the desk's tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Secrets {
    /// Token hashes too, so tokens keep working after a restore: `glossa dump`, which reads the
    /// data directory (that holds them already).
    Keep,
    /// No token hashes: anything served over HTTP. Users survive a restore; tokens do not.
    Omit,
}

/// Writes every durable event as NDJSON; returns how many.
pub fn dump(log: &EventLog, out: &mut impl Write, secrets: Secrets) -> anyhow::Result<u64> {
    let mut cursor = 0;
    loop {
        let batch = log.read_after(cursor, 1024)?;
        if batch.is_empty() {
            return Ok(cursor);
        }
        for record in batch {
            cursor = record.seq;
            let line = match secrets {
                Secrets::Keep => DumpLine::from_record(&record),
                Secrets::Omit => DumpLine::public(&record),
            };
            serde_json::to_writer(&mut *out, &line)?;
            out.write_all(b"\n")?;
        }
    }
}

/// Rebuilds an empty data directory from a dump; returns how many events it restored.
pub async fn restore(location: &Location, input: impl BufRead) -> anyhow::Result<u64> {
    let at = location.clone();
    let store = tokio::task::spawn_blocking(move || Store::open_at(&at)).await??;
    if store.log.head() != 0 {
        match &location.database_url {
            Some(_) => bail!("the database already holds events; restore into an empty database"),
            None => bail!(
                "{} already holds events; restore into an empty data directory",
                location.data_dir.display()
            ),
        }
    }
    let mut batch = Vec::new();
    let mut expected = 1;
    for (n, line) in input.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let parsed: DumpLine = serde_json::from_str(&line)
            .with_context(|| format!("line {} is not a dump line", n + 1))?;
        if parsed.seq != expected {
            bail!(
                "line {} has event {}, expected {expected}: the dump is not contiguous",
                n + 1,
                parsed.seq
            );
        }
        expected += 1;
        batch.push(
            parsed
                .into_event()
                .with_context(|| format!("line {}", n + 1))?,
        );
        if batch.len() == 1000 {
            append(&store, std::mem::take(&mut batch)).await?;
        }
    }
    if !batch.is_empty() {
        append(&store, batch).await?;
    }
    let restored = store.log.head();
    store.read_model.wait_for(restored).await?;
    store.mark_seeded()?;
    Ok(restored)
}

/// Appends `events` durably with no expectations (a restore, a benchmark's preload).
pub(crate) async fn append(store: &Store, events: Vec<NewEvent>) -> anyhow::Result<()> {
    store
        .log
        .append(AppendRequest {
            events,
            expectations: Vec::new(),
        })
        .await?;
    Ok(())
}

/// `glossa dump`: every event of a data directory no server holds, token hashes included, to
/// `out` or standard output.
pub fn dump_data_dir(location: &Location, out: Option<&Path>) -> anyhow::Result<()> {
    let store = Store::open_at(location)?;
    let count = match out {
        Some(path) => {
            let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
            let count = dump(&store.log, &mut file, Secrets::Keep)?;
            file.flush()?;
            count
        }
        None => dump(&store.log, &mut std::io::stdout().lock(), Secrets::Keep)?,
    };
    eprintln!("Dumped {count} events.");
    Ok(())
}

/// `glossa restore`: an empty data directory rebuilt from the dump at `from`.
pub async fn restore_data_dir(location: &Location, from: &Path) -> anyhow::Result<()> {
    let input = std::io::BufReader::new(std::fs::File::open(from)?);
    let count = restore(location, input).await?;
    match &location.database_url {
        Some(_) => println!("Restored {count} events into the database."),
        None => println!(
            "Restored {count} events into {}.",
            location.data_dir.display()
        ),
    }
    Ok(())
}

/// `glossa rebuild`: drops what is derived from the log, which the next start rebuilds.
pub fn rebuild_data_dir(data_dir: &Path) -> anyhow::Result<()> {
    // The store refuses a directory a server has open, so nothing is deleted from under one.
    crate::store::drop_derived_state(data_dir)?;
    crate::search::drop_index(data_dir)?;
    println!(
        "Deleted the read models, snapshots and search index of {}; the next start rebuilds them from the event log.",
        data_dir.display()
    );
    Ok(())
}
