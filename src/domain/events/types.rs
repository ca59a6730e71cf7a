//! The one list of event types this version writes and reads, with their shipped names.
//!
//! Everything that names an event type (the payload codec, the projections' "do I know this
//! type?", the reference in `docs/events.md`) goes through [`EventType`], so a type cannot be
//! known to one of them and not to another. A name, once shipped, never changes.

use std::fmt;

/// Declares the enum, its list and its names in one table, so the three cannot disagree.
macro_rules! event_types {
    ($($(#[$doc:meta])* $variant:ident = $name:literal,)*) => {
        /// A type of domain event, named as it is in the log (`annotation.created`, say).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum EventType {
            $($(#[$doc])* $variant,)*
        }

        impl EventType {
            /// Every domain event type this version understands, in the order of the reference.
            pub const ALL: &'static [EventType] = &[$(EventType::$variant,)*];

            /// The name the log, the feed and the dump carry.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(EventType::$variant => $name,)*
                }
            }

            /// The type of that name; `None` for a type this version does not know (one written
            /// by a later version, or an access-control event), which projections skip.
            pub fn parse(name: &str) -> Option<Self> {
                match name {
                    $($name => Some(EventType::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

event_types! {
    ArticleCreated = "article.created",
    ArticleVersionPublished = "article.version_published",
    DocumentChanged = "document.changed",
    AnnotationCreated = "annotation.created",
    AnnotationUpdated = "annotation.updated",
    AnnotationStatusChanged = "annotation.status_changed",
    ReplyAdded = "reply.added",
    AnnotationDeleted = "annotation.deleted",
    ChangeRejected = "change.rejected",
    AnnotationAnchored = "annotation.anchored",
    AnnotationReattached = "annotation.reattached",
    ClaimCreated = "claim.created",
    ClaimLinked = "claim.linked",
    ClaimUnlinked = "claim.unlinked",
    StyleRulesSet = "style.rules_set",
    RequestRecorded = "request.recorded",
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
