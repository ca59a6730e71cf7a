//! The closed vocabularies of the desk: annotation kinds and their W3C motivations, the verdict
//! scale, correction labels and the status workflow.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::DomainError;

/// What an annotation is for. Each kind maps to one W3C motivation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    FactCheck,
    Correction,
    Contradiction,
    Comment,
    Question,
    Tag,
}

/// The 13 motivations of the W3C Web Annotation vocabulary.
pub const W3C_MOTIVATIONS: [&str; 13] = [
    "assessing",
    "bookmarking",
    "classifying",
    "commenting",
    "describing",
    "editing",
    "highlighting",
    "identifying",
    "linking",
    "moderating",
    "questioning",
    "replying",
    "tagging",
];

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::FactCheck,
        Kind::Correction,
        Kind::Contradiction,
        Kind::Comment,
        Kind::Question,
        Kind::Tag,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::FactCheck => "fact-check",
            Kind::Correction => "correction",
            Kind::Contradiction => "contradiction",
            Kind::Comment => "comment",
            Kind::Question => "question",
            Kind::Tag => "tag",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str() == raw)
            .ok_or_else(|| {
                DomainError::invalid(
                    "kind",
                    format!("unknown kind {raw:?}; expected one of fact-check, correction, contradiction, comment, question, tag"),
                )
            })
    }

    /// The W3C motivation this kind is published with.
    pub fn motivation(self) -> &'static str {
        match self {
            Kind::FactCheck => "assessing",
            Kind::Correction => "editing",
            Kind::Contradiction => "linking",
            Kind::Comment => "commenting",
            Kind::Question => "questioning",
            Kind::Tag => "tagging",
        }
    }

    /// The kind for an incoming W3C motivation. `identifying` is accepted as a tag because style
    /// notes identify a term; the other W3C motivations have no meaning on the desk.
    pub fn from_motivation(raw: &str) -> Result<Self, DomainError> {
        match raw {
            "assessing" => Ok(Kind::FactCheck),
            "editing" => Ok(Kind::Correction),
            "linking" => Ok(Kind::Contradiction),
            "commenting" => Ok(Kind::Comment),
            "questioning" => Ok(Kind::Question),
            "tagging" | "identifying" => Ok(Kind::Tag),
            other if W3C_MOTIVATIONS.contains(&other) => Err(DomainError::invalid(
                "motivation",
                format!("the W3C motivation {other:?} is not used by Glossa; use assessing (fact-check), editing (correction), linking (contradiction), commenting, questioning or tagging"),
            )),
            other => Err(DomainError::invalid(
                "motivation",
                format!("{other:?} is not a W3C motivation; use assessing (fact-check), editing (correction), linking (contradiction), commenting, questioning or tagging"),
            )),
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The verdict scale of a fact-check, from best to worst, with its ClaimReview rating.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    True,
    MostlyTrue,
    Mixed,
    MostlyFalse,
    False,
    Misleading,
    Unverifiable,
}

impl Verdict {
    pub const ALL: [Verdict; 7] = [
        Verdict::True,
        Verdict::MostlyTrue,
        Verdict::Mixed,
        Verdict::MostlyFalse,
        Verdict::False,
        Verdict::Misleading,
        Verdict::Unverifiable,
    ];

    /// Best and worst values of [`Verdict::rating`] on the ClaimReview `reviewRating` scale.
    pub const BEST_RATING: u8 = 5;
    pub const WORST_RATING: u8 = 1;

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::True => "true",
            Verdict::MostlyTrue => "mostly-true",
            Verdict::Mixed => "mixed",
            Verdict::MostlyFalse => "mostly-false",
            Verdict::False => "false",
            Verdict::Misleading => "misleading",
            Verdict::Unverifiable => "unverifiable",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        Verdict::ALL
            .into_iter()
            .find(|v| v.as_str() == raw)
            .ok_or_else(|| {
                DomainError::invalid(
                    "verdict",
                    format!("unknown verdict {raw:?}; expected one of true, mostly-true, mixed, mostly-false, false, misleading, unverifiable"),
                )
            })
    }

    /// The ClaimReview rating: 5 (true) down to 1 (false). A misleading claim rates 2, like a
    /// mostly false one, because it leaves readers with a false impression; an unverifiable one
    /// has no place on a truth scale and has no rating (`None`): ClaimReview gives it only its
    /// `alternateName`.
    pub fn rating(self) -> Option<u8> {
        match self {
            Verdict::True => Some(5),
            Verdict::MostlyTrue => Some(4),
            Verdict::Mixed => Some(3),
            Verdict::MostlyFalse | Verdict::Misleading => Some(2),
            Verdict::False => Some(1),
            Verdict::Unverifiable => None,
        }
    }
}

/// What kind of change a correction asks for, as newsroom corrections policies label them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EditLabel {
    Correction,
    Clarification,
    Update,
}

impl EditLabel {
    pub fn as_str(self) -> &'static str {
        match self {
            EditLabel::Correction => "correction",
            EditLabel::Clarification => "clarification",
            EditLabel::Update => "update",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        match raw {
            "correction" => Ok(EditLabel::Correction),
            "clarification" => Ok(EditLabel::Clarification),
            "update" => Ok(EditLabel::Update),
            other => Err(DomainError::invalid(
                "editLabel",
                format!("unknown correction label {other:?}; expected correction, clarification or update"),
            )),
        }
    }
}

/// Where an annotation stands in the desk's workflow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Open,
    InReview,
    Resolved,
    Rejected,
}

impl Status {
    pub const ALL: [Status; 4] = [
        Status::Open,
        Status::InReview,
        Status::Resolved,
        Status::Rejected,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::InReview => "in_review",
            Status::Resolved => "resolved",
            Status::Rejected => "rejected",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        Status::ALL
            .into_iter()
            .find(|s| s.as_str() == raw)
            .ok_or_else(|| {
                DomainError::invalid(
                    "status",
                    format!(
                        "unknown status {raw:?}; expected open, in_review, resolved or rejected"
                    ),
                )
            })
    }

    /// The workflow: open → in_review → resolved | rejected, and a review can be sent back, or a
    /// closed annotation reopened, to open.
    pub fn can_become(self, next: Status) -> bool {
        use Status::*;
        matches!(
            (self, next),
            (Open, InReview)
                | (InReview, Resolved)
                | (InReview, Rejected)
                | (InReview, Open)
                | (Resolved, Open)
                | (Rejected, Open)
        )
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_publishes_a_w3c_motivation_and_reads_back() {
        for kind in Kind::ALL {
            assert!(W3C_MOTIVATIONS.contains(&kind.motivation()));
            assert_eq!(Kind::from_motivation(kind.motivation()).unwrap(), kind);
            assert_eq!(Kind::parse(kind.as_str()).unwrap(), kind);
        }
    }

    #[test]
    fn workflow_allows_review_and_reopen_only() {
        assert!(Status::Open.can_become(Status::InReview));
        assert!(Status::InReview.can_become(Status::Resolved));
        assert!(Status::Resolved.can_become(Status::Open));
        assert!(!Status::Open.can_become(Status::Resolved));
        assert!(!Status::Resolved.can_become(Status::Rejected));
    }

    #[test]
    fn verdicts_rate_within_the_claimreview_scale() {
        for verdict in Verdict::ALL {
            if let Some(rating) = verdict.rating() {
                assert!((Verdict::WORST_RATING..=Verdict::BEST_RATING).contains(&rating));
            }
            assert_eq!(Verdict::parse(verdict.as_str()).unwrap(), verdict);
        }
    }
}
