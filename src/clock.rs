//! The server's notion of now.

use chrono::{DateTime, DurationRound, TimeDelta, Utc};

/// The current time at the precision every output carries (milliseconds), so a value read back
/// from a document or the log equals the one written.
pub fn now() -> DateTime<Utc> {
    let now = Utc::now();
    now.duration_trunc(TimeDelta::milliseconds(1))
        .unwrap_or(now)
}
