//! Given/when/then tests of the domain rules and of the event fold.

use chrono::{DateTime, TimeZone, Utc};

use super::commands::{self, Create, Replace};
use super::*;

fn at(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 9, 4, 12, minute, 0).unwrap()
}

fn user(name: &str) -> UserName {
    UserName::parse(name).unwrap()
}

fn target(article: &str) -> Target {
    Target {
        article: ArticleId::parse(article).unwrap(),
        version: 1,
        quote: TextQuote {
            exact: "26 nations".into(),
            prefix: String::new(),
            suffix: String::new(),
        },
        position: TextPosition { start: 0, end: 10 },
    }
}

fn fact_check(verdict: Option<Verdict>) -> Content {
    Content {
        kind: Kind::FactCheck,
        body: "Moscow denied it.".into(),
        verdict,
        suggestion: None,
        edit_label: None,
        claim: None,
        sources: vec![],
        tags: vec![],
        targets: vec![target("pledge")],
    }
}

fn given_a_fact_check() -> Annotation {
    commands::create(
        Create {
            id: AnnotationId::parse("a1").unwrap(),
            creator: user("bruno"),
            now: at(0),
            content: fact_check(Some(Verdict::False)),
            assignee: None,
            canonical: None,
            via: None,
        },
        &ContentLimits::default(),
    )
    .unwrap()
}

/// Replaying the derived events over the old state gives the new state: the fold and the
/// derivation agree, which is what lets read models be rebuilt from the log.
fn assert_events_replay(before: &Annotation, after: &Annotation) -> Vec<DomainEvent> {
    let events = derive_events(Some(before), after);
    let mut state = Some(before.clone());
    for event in &events {
        let (kind, data) = event.clone().into_parts();
        let stored = DomainEvent::from_parts(&kind, &data).unwrap();
        state = apply(state, &stored).unwrap();
    }
    assert_eq!(state.as_ref(), Some(after));
    events
}

#[test]
fn a_fact_check_without_a_verdict_is_refused() {
    let result = commands::create(
        Create {
            id: AnnotationId::parse("a1").unwrap(),
            creator: user("bruno"),
            now: at(0),
            content: fact_check(None),
            assignee: None,
            canonical: None,
            via: None,
        },
        &ContentLimits::default(),
    );
    assert!(matches!(
        result,
        Err(DomainError::Invalid {
            field: "verdict",
            ..
        })
    ));
}

#[test]
fn a_comment_cannot_carry_a_verdict() {
    let mut content = fact_check(Some(Verdict::True));
    content.kind = Kind::Comment;
    assert_invalid(
        content.check(&ContentLimits::default()),
        "verdict",
        "only fact-checks carry a verdict",
    );
}

#[test]
fn a_contradiction_needs_two_articles() {
    let mut content = fact_check(None);
    content.kind = Kind::Contradiction;
    assert_invalid(
        content.check(&ContentLimits::default()),
        "target",
        "two or more articles",
    );
    content.targets.push(target("other"));
    assert!(content.check(&ContentLimits::default()).is_ok());
}

#[test]
fn creation_is_one_created_event() {
    let annotation = given_a_fact_check();
    let events = derive_events(None, &annotation);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].type_name(), "annotation.created");
    assert_eq!(apply(None, &events[0]).unwrap(), Some(annotation));
}

#[test]
fn editing_the_verdict_records_the_changed_field_only() {
    let before = given_a_fact_check();
    let mut content = before.content();
    content.verdict = Some(Verdict::Misleading);
    let after = commands::replace(
        &before,
        Replace {
            content,
            status: None,
            assignee: None,
            canonical: None,
            via: None,
            now: at(5),
        },
        &ContentLimits::default(),
    )
    .unwrap();
    let events = assert_events_replay(&before, &after);
    let [DomainEvent::AnnotationUpdated { changes, .. }] = events.as_slice() else {
        panic!("expected one update, got {events:?}");
    };
    assert_eq!(changes.keys().collect::<Vec<_>>(), vec!["verdict"]);
    assert_eq!(changes["verdict"].after, "misleading");
}

#[test]
fn status_follows_the_workflow() {
    let open = given_a_fact_check();
    assert_invalid(
        commands::change_status(&open, Status::Resolved, at(1)),
        "status",
        "cannot become resolved",
    );
    let in_review = commands::change_status(&open, Status::InReview, at(1)).unwrap();
    let resolved = commands::change_status(&in_review, Status::Resolved, at(2)).unwrap();
    let reopened = commands::change_status(&resolved, Status::Open, at(3)).unwrap();
    let events = assert_events_replay(&resolved, &reopened);
    assert_eq!(events[0].type_name(), "annotation.status_changed");
}

#[test]
fn replies_thread_and_record_reply_added() {
    let before = given_a_fact_check();
    let first = Reply {
        id: ReplyId::parse("r1").unwrap(),
        parent: None,
        creator: user("chiara"),
        created: at(2),
        text: "Source?".into(),
    };
    let limits = ContentLimits::default();
    let with_first = commands::add_reply(&before, first, &limits).unwrap();
    let answer = Reply {
        id: ReplyId::parse("r2").unwrap(),
        parent: Some(ReplyId::parse("r1").unwrap()),
        creator: user("bruno"),
        created: at(3),
        text: "The Kremlin's statement.".into(),
    };
    let with_answer = commands::add_reply(&with_first, answer, &limits).unwrap();
    let events = assert_events_replay(&with_first, &with_answer);
    assert_eq!(events[0].type_name(), "reply.added");

    let orphan = Reply {
        id: ReplyId::parse("r3").unwrap(),
        parent: Some(ReplyId::parse("nope").unwrap()),
        creator: user("bruno"),
        created: at(4),
        text: "?".into(),
    };
    assert_invalid(
        commands::add_reply(&with_answer, orphan, &limits),
        "reply",
        "answers nope, which is not in this thread",
    );

    // A reply under an id the thread has already is refused (an import sent twice at once).
    let again = Reply {
        text: "Again.".into(),
        ..with_answer.replies[1].clone()
    };
    assert_invalid(
        commands::add_reply(&with_answer, again, &limits),
        "reply",
        "r2 is in this thread already",
    );
}

#[test]
fn a_deleted_annotation_is_a_tombstone_that_refuses_changes() {
    let before = given_a_fact_check();
    let deleted = commands::delete(&before, at(9)).unwrap();
    let events = assert_events_replay(&before, &deleted);
    assert_eq!(events[0].type_name(), "annotation.deleted");
    assert!(matches!(
        commands::change_status(&deleted, Status::InReview, at(10)),
        Err(DomainError::Deleted(_))
    ));
}

#[test]
fn canonical_never_changes() {
    let mut before = given_a_fact_check();
    before.canonical = Some("urn:uuid:1".into());
    let result = commands::replace(
        &before,
        Replace {
            content: before.content(),
            status: None,
            assignee: None,
            canonical: Some("urn:uuid:2".into()),
            via: None,
            now: at(1),
        },
        &ContentLimits::default(),
    );
    assert!(matches!(result, Err(DomainError::Immutable(_))));
}

/// Then: the rule on `field` refused it, with a message that says `says`.
#[track_caller]
fn assert_invalid<T: std::fmt::Debug>(result: Result<T, DomainError>, field: &str, says: &str) {
    match result {
        Err(DomainError::Invalid {
            field: refused,
            message,
        }) => {
            assert_eq!(refused, field, "refused for the wrong field: {message}");
            assert!(
                message.contains(says),
                "the message {message:?} does not say {says:?}"
            );
        }
        other => panic!("expected {field} to be refused, got {other:?}"),
    }
}

#[test]
fn an_update_that_makes_no_annotation_is_an_error_not_the_old_state() {
    let before = given_a_fact_check();
    let mut changes = std::collections::BTreeMap::new();
    changes.insert(
        "kind".to_owned(),
        FieldChange {
            before: "fact-check".into(),
            after: "banana".into(),
        },
    );
    let update = DomainEvent::AnnotationUpdated {
        id: before.id.clone(),
        article: before.home_article().clone(),
        changes,
        modified: at(5),
    };
    let refused = apply(Some(before.clone()), &update);
    assert!(
        matches!(&refused, Err(EventError::UpdateDoesNotFit { id, .. }) if *id == before.id),
        "{refused:?}"
    );
}

#[test]
fn an_event_about_an_annotation_never_created_is_an_error() {
    let annotation = given_a_fact_check();
    let deleted = DomainEvent::AnnotationDeleted {
        id: annotation.id.clone(),
        article: annotation.home_article().clone(),
        modified: at(5),
    };
    assert!(matches!(
        apply(None, &deleted),
        Err(EventError::NoSuchAnnotation {
            event_type: EventType::AnnotationDeleted,
            ..
        })
    ));
    // Events about no annotation's fields leave the state alone.
    let anchored = DomainEvent::AnnotationAnchored {
        id: annotation.id.clone(),
        article: annotation.home_article().clone(),
        version: 2,
        anchors: vec![],
    };
    assert_eq!(apply(None, &anchored).unwrap(), None);
}
