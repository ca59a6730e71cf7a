//! The server's notion of now, and how every output writes a time.

use chrono::{DateTime, DurationRound, SecondsFormat, TimeDelta, Utc};

/// The current time at the precision every output carries (milliseconds), so a value read back
/// from a document or the log equals the one written.
pub fn now() -> DateTime<Utc> {
    let now = Utc::now();
    now.duration_trunc(TimeDelta::milliseconds(1))
        .unwrap_or(now)
}

/// Formats a timestamp the way every Glossa output does: RFC 3339, milliseconds, `Z`.
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}
