//! Who made the claim a fact-check reviews, when, and the claim in a line: what ClaimReview's
//! `itemReviewed` (a `Claim` with an `author` and a `datePublished`) and `claimReviewed` need.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::DomainError;

/// Longest claimant name accepted.
pub const MAX_CLAIMANT_CHARS: usize = 200;
/// Longest claim summary accepted. Google recommends under 75 characters for
/// `claimReviewed`; longer summaries are kept (up to this bound) but a client should warn.
pub const MAX_SUMMARY_CHARS: usize = 200;
/// The claim summary length search engines recommend.
pub const RECOMMENDED_SUMMARY_CHARS: usize = 75;

/// Whether the claimant is a person or an organisation (schema.org `Person`, `Organization`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClaimantType {
    Person,
    Organization,
}

impl ClaimantType {
    pub fn as_str(self) -> &'static str {
        match self {
            ClaimantType::Person => "Person",
            ClaimantType::Organization => "Organization",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        match raw {
            "Person" => Ok(ClaimantType::Person),
            "Organization" => Ok(ClaimantType::Organization),
            other => Err(DomainError::invalid(
                "claimant.type",
                format!("{other:?} is not a claimant type: use Person or Organization"),
            )),
        }
    }
}

/// The person or organisation who made a claim.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claimant {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<ClaimantType>,
}

/// What a fact-check says about the claim it reviews, beyond the quoted passage. Every part is
/// optional; an origin with none is no origin (`Annotation::claim` is `None`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimOrigin {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimant: Option<Claimant>,
    /// When the claim was made: `YYYY-MM-DD` or an RFC 3339 date-time, as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// The claim in a line, for ClaimReview's `claimReviewed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
}

impl ClaimOrigin {
    /// `None` when nothing is said.
    pub fn or_none(self) -> Option<Self> {
        (self != Self::default()).then_some(self)
    }

    /// The claim date as an instant (a date is its first moment, UTC), if it parses.
    pub fn date_start(&self) -> Option<Result<DateTime<Utc>, DomainError>> {
        self.date.as_deref().map(parse_claim_date)
    }

    /// A claimant with a name of 1 to 200 characters and an http(s) URL, a parseable date, a
    /// summary of 1 to 200 characters. Whether the date is in the future is the caller's to
    /// check (the domain reads no clock): see [`ClaimOrigin::check_not_after`].
    pub fn check(&self) -> Result<(), DomainError> {
        if let Some(claimant) = &self.claimant {
            let name = claimant.name.trim();
            if name.is_empty() {
                return Err(DomainError::invalid(
                    "claimant.name",
                    "the claimant needs a name: the person or organisation who made the claim",
                ));
            }
            if claimant.name.chars().count() > MAX_CLAIMANT_CHARS {
                return Err(DomainError::invalid(
                    "claimant.name",
                    format!("the claimant's name is limited to {MAX_CLAIMANT_CHARS} characters"),
                ));
            }
            if let Some(url) = &claimant.url {
                let ok = (url.starts_with("https://") || url.starts_with("http://"))
                    && url.len() > "https://".len()
                    && url.len() <= 2048
                    && !url.chars().any(char::is_whitespace);
                if !ok {
                    return Err(DomainError::invalid(
                        "claimant.url",
                        format!("{url:?} is not a link: use an absolute http(s) URL"),
                    ));
                }
            }
        }
        if let Some(date) = self.date_start() {
            date?;
        }
        if let Some(summary) = &self.summary {
            if summary.trim().is_empty() {
                return Err(DomainError::invalid(
                    "claimSummary",
                    "the claim summary is empty: leave it out, or say the claim in a line",
                ));
            }
            if summary.chars().count() > MAX_SUMMARY_CHARS {
                return Err(DomainError::invalid(
                    "claimSummary",
                    format!(
                        "the claim summary is limited to {MAX_SUMMARY_CHARS} characters (under {RECOMMENDED_SUMMARY_CHARS} is recommended for search engines); the note holds the rest"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Refuses a claim date later than `now`.
    pub fn check_not_after(&self, now: DateTime<Utc>) -> Result<(), DomainError> {
        if let Some(date) = self.date_start() {
            if date? > now {
                return Err(DomainError::invalid(
                    "claimDate",
                    format!(
                        "the claim date {:?} is in the future: give the date the claim was made",
                        self.date.as_deref().unwrap_or_default()
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// `YYYY-MM-DD` or an RFC 3339 date-time.
fn parse_claim_date(raw: &str) -> Result<DateTime<Utc>, DomainError> {
    if let Ok(date) = NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        if raw.len() == 10 {
            if let Some(start) = date.and_hms_opt(0, 0, 0) {
                return Ok(start.and_utc());
            }
        }
    }
    DateTime::parse_from_rfc3339(raw)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|_| {
            DomainError::invalid(
                "claimDate",
                format!(
                    "{raw:?} is not a date: use YYYY-MM-DD (2025-02-24) or an RFC 3339 date-time (2025-02-24T15:30:00Z)"
                ),
            )
        })
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn origin(name: &str, url: Option<&str>, date: Option<&str>) -> ClaimOrigin {
        ClaimOrigin {
            claimant: Some(Claimant {
                name: name.into(),
                url: url.map(Into::into),
                kind: Some(ClaimantType::Person),
            }),
            date: date.map(Into::into),
            summary: None,
        }
    }

    #[test]
    fn claimants_dates_and_summaries_are_checked() {
        assert!(origin(
            "Donald Trump",
            Some("https://www.whitehouse.gov/"),
            Some("2025-02-24")
        )
        .check()
        .is_ok());
        assert!(origin("Donald Trump", None, Some("2025-02-24T15:30:00Z"))
            .check()
            .is_ok());
        // Each refusal names the term a person must fix.
        let refused_on = |origin: ClaimOrigin| match origin.check() {
            Err(DomainError::Invalid { field, .. }) => field,
            other => panic!("{origin:?} was not refused as invalid: {other:?}"),
        };
        assert_eq!(refused_on(origin("  ", None, None)), "claimant.name");
        assert_eq!(
            refused_on(origin(&"x".repeat(201), None, None)),
            "claimant.name"
        );
        assert_eq!(
            refused_on(origin("A", Some("ftp://x.org/"), None)),
            "claimant.url"
        );
        assert_eq!(
            refused_on(origin("A", Some("javascript:alert(1)"), None)),
            "claimant.url"
        );
        for bad in ["24/02/2025", "2025-02-30", "2025-2-4", "yesterday"] {
            assert_eq!(
                refused_on(origin("A", None, Some(bad))),
                "claimDate",
                "{bad}"
            );
        }
        let long = ClaimOrigin {
            summary: Some("y".repeat(201)),
            ..ClaimOrigin::default()
        };
        assert_eq!(refused_on(long), "claimSummary");
        assert_eq!(ClaimOrigin::default().or_none(), None);
    }

    #[test]
    fn a_claim_date_after_now_is_refused() {
        let now = Utc.with_ymd_and_hms(2025, 3, 1, 12, 0, 0).unwrap();
        assert!(origin("A", None, Some("2025-03-01"))
            .check_not_after(now)
            .is_ok());
        assert!(origin("A", None, Some("2025-03-02"))
            .check_not_after(now)
            .is_err());
        assert!(origin("A", None, Some("2025-03-01T12:00:01Z"))
            .check_not_after(now)
            .is_err());
    }
}
