//! What the disk allows, measured in the same sitting and the same directory as the log: serial
//! appends of one record with an `fdatasync` each, and a bare group-commit writer (one thread
//! appending to a plain file whatever its clients sent meanwhile, with one `fdatasync` per
//! batch). The log's append rate over each is a ratio that holds from one day's disk to the
//! next, where the absolute rate does not.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::Row;

/// The size of one record: about what an event of the appends suite takes.
pub const RECORD: usize = 256;

fn file(dir: &Path, name: &str) -> std::io::Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(name))
}

/// One writer appending `RECORD` bytes and `fdatasync`ing, again and again, for `duration`.
pub fn serial_fdatasync(dir: &Path, duration: Duration) -> std::io::Result<Row> {
    let mut out = file(dir, "serial")?;
    let record = [b'x'; RECORD];
    let mut latencies = Vec::new();
    let started = Instant::now();
    while started.elapsed() < duration {
        let t = Instant::now();
        out.write_all(&record)?;
        out.sync_data()?;
        latencies.push(t.elapsed());
    }
    let elapsed = started.elapsed();
    Ok(super::row(
        "disk",
        format!("serial {RECORD}-byte append + fdatasync"),
        latencies,
        elapsed,
    ))
}

type Pending = (Vec<u8>, oneshot::Sender<std::io::Result<()>>);

/// `clients` tasks each sending a `RECORD`-byte record and waiting for it to be durable, to a
/// writer thread that appends everything waiting and `fdatasync`s once per batch.
pub async fn group_commit(dir: &Path, clients: usize, duration: Duration) -> std::io::Result<Row> {
    let mut out = file(dir, "group")?;
    let (tx, rx) = mpsc::channel::<Pending>();
    let writer = std::thread::spawn(move || {
        let mut buffer = Vec::new();
        while let Ok(first) = rx.recv() {
            let mut batch = vec![first];
            batch.extend(rx.try_iter());
            buffer.clear();
            for (record, _) in &batch {
                buffer.extend_from_slice(record);
            }
            let done = out.write_all(&buffer).and_then(|()| out.sync_data());
            for (_, ack) in batch {
                let _ = ack.send(match &done {
                    Ok(()) => Ok(()),
                    Err(e) => Err(std::io::Error::new(e.kind(), e.to_string())),
                });
            }
        }
    });
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (tx, latencies) = (tx.clone(), latencies.clone());
        tasks.push(tokio::spawn(async move {
            while started.elapsed() < duration {
                let (ack, acked) = oneshot::channel();
                let t = Instant::now();
                if tx.send((vec![b'x'; RECORD], ack)).is_err() {
                    return;
                }
                if !matches!(acked.await, Ok(Ok(()))) {
                    return;
                }
                latencies.lock().unwrap().push(t.elapsed());
            }
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
    let elapsed = started.elapsed();
    drop(tx);
    let _ = tokio::task::spawn_blocking(move || writer.join()).await;
    let latencies = Arc::try_unwrap(latencies)
        .map(|m| m.into_inner().unwrap())
        .unwrap_or_default();
    Ok(super::row(
        "disk",
        format!("bare group commit, {clients} clients, {RECORD}-byte records"),
        latencies,
        elapsed,
    ))
}

/// The log's rate over the disk's: `appends` (the log at 128 clients) over each baseline.
pub fn ratios(appends: &Row, serial: &Row, group: &Row) -> String {
    format!(
        "durable appends at 128 clients: {:.1}× the serial fdatasync rate (goal ≥ 10×), \
         {:.2}× a bare group-commit writer (goal ≥ 0.7×)",
        appends.per_second / serial.per_second,
        appends.per_second / group.per_second
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn both_baselines_write_durably_and_count_what_they_wrote() {
        let dir = tempfile::tempdir().unwrap();
        let serial = serial_fdatasync(dir.path(), Duration::from_millis(100)).unwrap();
        let group = group_commit(dir.path(), 8, Duration::from_millis(100))
            .await
            .unwrap();
        for (row, name) in [(&serial, "serial"), (&group, "group")] {
            assert!(row.ops > 0, "{name} wrote nothing");
            let len = std::fs::metadata(dir.path().join(name)).unwrap().len();
            assert_eq!(
                len,
                row.ops * RECORD as u64,
                "{name}: every acknowledged record is in the file"
            );
        }
        let line = ratios(&group, &serial, &group);
        assert!(line.contains("1.00× a bare group-commit writer"), "{line}");
    }
}
