//! When a document's snapshot is saved again.
//!
//! Saving writes the whole document, so its cost grows with the document's history. Saving
//! every fixed number of changes would make each edit pay, on average, a share of the whole
//! history. Instead a snapshot is due once the changes since the last one reach a fixed
//! fraction of all the document's changes (and at least a minimum): the saving cost per change
//! stays constant however long the history, and loading replays at most that fraction of the
//! history after the snapshot.

/// Changes after which a small document's snapshot is saved again.
pub const MIN_CHANGES: u64 = 64;

/// The share of a document's changes that may come after its snapshot: 1/`FRACTION`.
pub const FRACTION: u64 = 4;

/// Whether a document with `total` changes, `since` of them after its snapshot, should save one.
pub fn snapshot_due(since: u64, total: u64) -> bool {
    since >= MIN_CHANGES.max(total / FRACTION)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_document_saves_every_minimum_number_of_changes() {
        assert!(!snapshot_due(MIN_CHANGES - 1, 100));
        assert!(snapshot_due(MIN_CHANGES, 100));
    }

    #[test]
    fn a_long_history_saves_after_a_fraction_of_it() {
        assert!(!snapshot_due(10_000, 100_000));
        assert!(snapshot_due(25_000, 100_000));
    }

    #[test]
    fn saving_costs_each_change_the_same_however_long_the_history() {
        // Every save writes the whole document: count the changes written per change made.
        let cost_per_change = |changes: u64| {
            let (mut total, mut since, mut written) = (0u64, 0u64, 0u64);
            for _ in 0..changes {
                total += 1;
                since += 1;
                if snapshot_due(since, total) {
                    written += total;
                    since = 0;
                }
            }
            written as f64 / changes as f64
        };
        let short = cost_per_change(10_000);
        let long = cost_per_change(1_000_000);
        assert!(
            long < short * 1.5,
            "{short} vs {long} changes written per change"
        );
    }
}
