//! Consecutive events stored under one key of the log tree (layout 4, ADR 0021).
//!
//! sled's cost is per key, and each key it writes adds a fragment to its leaf page, which sled
//! rewrites whole every few fragments. So a batch's events are stored together, in runs
//! of consecutive events of up to [`RUN_BYTES`], each under the event key of its last sequence
//! number. A run of one is stored as the event itself, as every event was before layout 4, so
//! the events of older directories read as runs of one.
//!
//! A run's value: the byte [`RUN`], the number of events (u32), the end of each event's bytes
//! within the data that follows (u32 each), then each event's stored form, in order. An event
//! stored alone starts with its envelope's format (1), never with [`RUN`].

use super::StoreError;

/// The first byte of a run of more than one event.
const RUN: u8 = 0x02;

/// The most bytes of events in a run of more than one. sled writes a leaf page (up to 17
/// entries) as one item when it rewrites it, and an item over a quarter of a segment (about
/// 128 KiB with sled's default 512 KiB segments) goes to a blob file of its own, which the log
/// must then fsync with its directory: 17 runs this small (about 111 KiB with their tables)
/// keep a full leaf under that.
pub(super) const RUN_BYTES: usize = 6 * 1024;

/// Gathers consecutive events into runs.
#[derive(Default)]
pub(super) struct Runs {
    data: Vec<u8>,
    ends: Vec<u32>,
    /// The sequence number of the last event added.
    last: u64,
}

impl Runs {
    /// Adds the event at `seq`, stored as `bytes`; returns the run it closed, if it closed one:
    /// its last sequence number and its value. A run ends before an event that does not follow
    /// on from it or would take it over [`RUN_BYTES`], so only a run of one is ever larger.
    pub(super) fn push(&mut self, seq: u64, bytes: &[u8]) -> Option<(u64, Vec<u8>)> {
        let closed = if !self.ends.is_empty()
            && (seq != self.last + 1 || self.data.len() + bytes.len() > RUN_BYTES)
        {
            self.finish()
        } else {
            None
        };
        self.data.extend_from_slice(bytes);
        self.ends.push(self.data.len() as u32);
        self.last = seq;
        closed
    }

    /// Closes the run being gathered: its last sequence number and its value.
    pub(super) fn finish(&mut self) -> Option<(u64, Vec<u8>)> {
        let value = match self.ends.len() {
            0 => return None,
            1 => std::mem::take(&mut self.data),
            n => {
                let mut value = Vec::with_capacity(5 + 4 * n + self.data.len());
                value.push(RUN);
                value.extend_from_slice(&(n as u32).to_be_bytes());
                for end in &self.ends {
                    value.extend_from_slice(&end.to_be_bytes());
                }
                value.extend_from_slice(&self.data);
                self.data.clear();
                value
            }
        };
        self.ends.clear();
        Some((self.last, value))
    }
}

/// The events stored under the event key of `last`, in order: each one's sequence number and
/// stored form.
pub(super) fn events(last: u64, value: &[u8]) -> Result<Vec<(u64, &[u8])>, StoreError> {
    if value.first() != Some(&RUN) {
        return Ok(vec![(last, value)]);
    }
    let corrupt = |what: &str| StoreError::Corrupt(format!("the events up to {last}: {what}"));
    let count = value
        .get(1..5)
        .map(|n| u32::from_be_bytes(n.try_into().unwrap_or_default()) as usize)
        .filter(|&n| n >= 2 && n as u64 <= last)
        .ok_or_else(|| corrupt("no event count"))?;
    let start = count
        .checked_mul(4)
        .and_then(|table| table.checked_add(5))
        .ok_or_else(|| corrupt("no event count"))?;
    let data = value
        .get(start..)
        .ok_or_else(|| corrupt("the run is shorter than its table"))?;
    let first = last + 1 - count as u64;
    let mut events = Vec::with_capacity(count);
    let mut from = 0;
    for (i, end) in value[5..start].chunks_exact(4).enumerate() {
        let end = u32::from_be_bytes(end.try_into().unwrap_or_default()) as usize;
        let bytes = data
            .get(from..end)
            .filter(|bytes| !bytes.is_empty())
            .ok_or_else(|| corrupt("an event's bytes are out of place"))?;
        events.push((first + i as u64, bytes));
        from = end;
    }
    if from != data.len() {
        return Err(corrupt("bytes after the last event"));
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gathered(events: &[(u64, Vec<u8>)]) -> Vec<(u64, Vec<u8>)> {
        let mut runs = Runs::default();
        let mut closed: Vec<_> = events
            .iter()
            .filter_map(|(seq, bytes)| runs.push(*seq, bytes))
            .collect();
        closed.extend(runs.finish());
        closed
    }

    fn read(closed: &[(u64, Vec<u8>)]) -> Vec<(u64, Vec<u8>)> {
        closed
            .iter()
            .flat_map(|(last, value)| events(*last, value).unwrap())
            .map(|(seq, bytes)| (seq, bytes.to_vec()))
            .collect()
    }

    /// Given events of many sizes, some consecutive and some not, when they are gathered into
    /// runs, then every event reads back at its own sequence number, each run is keyed by its
    /// last, runs hold consecutive events only, and a run ends before an event that would take
    /// it past its size.
    #[test]
    fn events_gathered_into_runs_read_back_in_place() {
        let sizes = [1, 300, 5000, 1, 7000, 20, 20, 20, 6200, 3, 1000, 1000];
        let mut events: Vec<(u64, Vec<u8>)> = sizes
            .iter()
            .enumerate()
            .map(|(i, &n)| (10 + i as u64, vec![1 + i as u8; n]))
            .collect();
        // A gap: the events after it make a run of their own.
        events.extend((0..3).map(|i| (100 + i, vec![0x41; 10])));
        let closed = gathered(&events);
        assert_eq!(read(&closed), events);
        let lasts: Vec<u64> = closed.iter().map(|(last, _)| *last).collect();
        // 10 to 13 (5,302 bytes) end before 14 (7,000), which is alone; 15 to 17 end before 18
        // (6,200), alone too; 19 to 21 end at the gap, 100 to 102 at the end.
        assert_eq!(lasts, vec![13, 14, 17, 18, 21, 102]);
        for (last, value) in &closed {
            let run = super::events(*last, value).unwrap();
            let bytes: usize = run.iter().map(|(_, bytes)| bytes.len()).sum();
            assert!(bytes <= RUN_BYTES || run.len() == 1, "the run up to {last}");
        }
    }

    /// Given a run of one, when it is stored, then it is the event's own bytes (as before
    /// layout 4).
    #[test]
    fn a_run_of_one_is_the_event_itself() {
        let envelope = vec![1, 9, 9, 9];
        assert_eq!(gathered(&[(7, envelope.clone())]), vec![(7, envelope)]);
    }

    /// Given damaged run values, when they are read, then they are refused as corrupt, never
    /// read past their end.
    #[test]
    fn damaged_runs_are_refused() {
        let closed = gathered(&[(1, vec![1; 10]), (2, vec![1; 20]), (3, vec![1; 5])]);
        let (last, value) = &closed[0];
        assert_eq!(*last, 3);
        let mut damaged: Vec<Vec<u8>> = (1..value.len()).map(|n| value[..n].to_vec()).collect();
        let mut longer = value.clone();
        longer.push(0);
        damaged.push(longer);
        let mut count_too_high = value.clone();
        count_too_high[4] = 9;
        damaged.push(count_too_high);
        let mut ends_backwards = value.clone();
        ends_backwards[8] = 30;
        damaged.push(ends_backwards);
        for value in &damaged {
            assert!(
                matches!(events(3, value), Err(StoreError::Corrupt(_))),
                "{value:?}"
            );
        }
        // A run cannot hold more events than come before its last.
        assert!(matches!(events(2, value), Err(StoreError::Corrupt(_))));
    }
}
