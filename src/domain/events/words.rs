//! The vocabulary words events carry (kinds, verdicts, labels, statuses, anchor statuses), as
//! they were shipped: each wire word is written out here, not derived from a domain enum's
//! variant names, and each conversion names every variant, so adding or renaming one in the
//! domain fails to compile here instead of changing what the log holds.

use serde::{Deserialize, Serialize};

use crate::domain::anchoring::AnchorStatus;
use crate::domain::{ClaimantType, EditLabel, Kind, Status, Verdict};

/// A wire enum mirroring a domain enum variant for variant, with the shipped word of each.
macro_rules! wire_words {
    ($(#[$doc:meta])* $wire:ident <-> $domain:ident { $($variant:ident = $word:literal,)* }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
        pub(super) enum $wire {
            $(#[serde(rename = $word)] $variant,)*
        }

        impl From<$domain> for $wire {
            fn from(value: $domain) -> Self {
                match value {
                    $($domain::$variant => $wire::$variant,)*
                }
            }
        }

        impl From<$wire> for $domain {
            fn from(value: $wire) -> Self {
                match value {
                    $($wire::$variant => $domain::$variant,)*
                }
            }
        }
    };
}

wire_words! {
    /// An annotation's kind.
    KindV1 <-> Kind {
        FactCheck = "fact-check",
        Correction = "correction",
        Contradiction = "contradiction",
        Comment = "comment",
        Question = "question",
        Tag = "tag",
    }
}

wire_words! {
    /// A fact-check's verdict.
    VerdictV1 <-> Verdict {
        True = "true",
        MostlyTrue = "mostly-true",
        Mixed = "mixed",
        MostlyFalse = "mostly-false",
        False = "false",
        Misleading = "misleading",
        Unverifiable = "unverifiable",
    }
}

wire_words! {
    /// A correction's label.
    EditLabelV1 <-> EditLabel {
        Correction = "correction",
        Clarification = "clarification",
        Update = "update",
    }
}

wire_words! {
    /// Whether a claimant is a person or an organisation.
    ClaimantTypeV1 <-> ClaimantType {
        Person = "Person",
        Organization = "Organization",
    }
}

wire_words! {
    /// An annotation's workflow status.
    StatusV1 <-> Status {
        Open = "open",
        InReview = "in_review",
        Resolved = "resolved",
        Rejected = "rejected",
    }
}

wire_words! {
    /// Where a passage stands in a version.
    AnchorStatusV1 <-> AnchorStatus {
        Exact = "exact",
        Moved = "moved",
        Fuzzy = "fuzzy",
        Ambiguous = "ambiguous",
        Orphaned = "orphaned",
        Resolved = "resolved",
        Reattached = "reattached",
    }
}
