//! The log's contract, checked: every event type's payload serialises to exactly the JSON
//! shipped (the samples below were written by the release that shipped them, and the fixture
//! is a real first-release log), and `docs/events.md` names every type.

use std::collections::BTreeMap;

use chrono::{Duration, TimeZone, Utc};
use serde_json::Value;

use super::*;
use crate::domain::anchoring::AnchorStatus;
use crate::domain::{EditLabel, Kind, ReplyId, Source, Target, UserName, Verdict};

/// One event of each type, with every optional field given somewhere.
fn samples() -> Vec<DomainEvent> {
    let at = Utc.with_ymd_and_hms(2025, 9, 4, 12, 30, 0).unwrap() + Duration::milliseconds(250);
    let article = ArticleId::parse("pledge").unwrap();
    let id = AnnotationId::parse("a1").unwrap();
    let claim = ClaimId::parse("troops").unwrap();
    let quote = TextQuote {
        exact: "26 nations".into(),
        prefix: "Some ".into(),
        suffix: " pledged".into(),
    };
    let position = TextPosition { start: 5, end: 15 };
    let reply = Reply {
        id: ReplyId::parse("r2").unwrap(),
        parent: Some(ReplyId::parse("r1").unwrap()),
        creator: UserName::parse("chiara").unwrap(),
        created: at,
        text: "Agreed.".into(),
    };
    let annotation = Annotation {
        id: id.clone(),
        kind: Kind::FactCheck,
        body: "Moscow denied it.".into(),
        verdict: Some(Verdict::MostlyFalse),
        suggestion: None,
        edit_label: None,
        claim: None,
        sources: vec![Source {
            url: "https://example.org/a".into(),
            title: Some("A".into()),
            archived: Some("https://archive.example.org/a".into()),
        }],
        status: Status::InReview,
        assignee: Some(UserName::parse("alice").unwrap()),
        tags: vec!["troops".into()],
        targets: vec![Target {
            article: article.clone(),
            version: 2,
            quote: quote.clone(),
            position,
        }],
        creator: UserName::parse("bruno").unwrap(),
        created: at,
        modified: at,
        replies: vec![reply.clone()],
        deleted: false,
        canonical: Some("urn:uuid:1".into()),
        via: Some("https://client.example.org/1".into()),
    };
    let correction = Annotation {
        kind: Kind::Correction,
        verdict: None,
        suggestion: Some("remarks".into()),
        edit_label: Some(EditLabel::Clarification),
        claim: None,
        sources: vec![],
        assignee: None,
        replies: vec![],
        deleted: true,
        canonical: None,
        via: None,
        ..annotation.clone()
    };
    let mut changes = BTreeMap::new();
    changes.insert(
        "assignee".to_owned(),
        FieldChange {
            before: Value::Null,
            after: Value::String("alice".into()),
        },
    );
    vec![
        DomainEvent::ArticleCreated {
            article: article.clone(),
            title: Some("Pledge".into()),
            outlet: None,
            url: Some("https://example.org/pledge".into()),
            published: Some("Sept. 4".into()),
            document_id: "2MxP9kEefSeBeBrPBkay2xPJEUG1".into(),
        },
        DomainEvent::ArticleVersionPublished {
            article: article.clone(),
            version: 2,
            sha256: "ab".repeat(32),
            text: "Some 26 nations pledged.".into(),
        },
        DomainEvent::DocumentChanged {
            article: article.clone(),
            hash: "cd".repeat(32),
            heads: vec!["cd".repeat(32)],
            actor: "6b14842243bc90d6ffe82a64386df67c".into(),
            seq: 3,
        },
        DomainEvent::AnnotationCreated {
            annotation: annotation.clone(),
        },
        DomainEvent::AnnotationCreated {
            annotation: correction,
        },
        DomainEvent::AnnotationUpdated {
            id: id.clone(),
            article: article.clone(),
            changes,
            modified: at,
        },
        DomainEvent::AnnotationStatusChanged {
            id: id.clone(),
            article: article.clone(),
            from: Status::Open,
            to: Status::InReview,
            modified: at,
        },
        DomainEvent::ReplyAdded {
            id: id.clone(),
            article: article.clone(),
            reply,
            modified: at,
        },
        DomainEvent::AnnotationDeleted {
            id: id.clone(),
            article: article.clone(),
            modified: at,
        },
        DomainEvent::ChangeRejected {
            article: article.clone(),
            key: "a1".into(),
            user: "bruno".into(),
            reason: "verdict: a fact-check needs a verdict".into(),
            changes: vec!["ef".repeat(32)],
            restored: Some(vec!["verdict".into()]),
        },
        DomainEvent::AnnotationAnchored {
            id: id.clone(),
            article: article.clone(),
            version: 3,
            anchors: vec![
                TargetAnchor {
                    target: 0,
                    anchor: Anchor {
                        status: AnchorStatus::Fuzzy,
                        position: Some(position),
                        quote: Some(quote.clone()),
                        score: Some(0.875),
                        candidates: vec![],
                    },
                },
                TargetAnchor {
                    target: 1,
                    anchor: Anchor {
                        status: AnchorStatus::Ambiguous,
                        position: None,
                        quote: None,
                        score: Some(0.5),
                        candidates: vec![position, TextPosition { start: 40, end: 50 }],
                    },
                },
            ],
        },
        DomainEvent::AnnotationReattached {
            id: id.clone(),
            article,
            version: 3,
            target: 1,
            quote,
            position,
        },
        DomainEvent::ClaimCreated {
            claim: claim.clone(),
            text: "All 26 nations will send troops.".into(),
            claimant: Some(crate::domain::Claimant {
                name: "Emmanuel Macron".into(),
                url: None,
                kind: None,
            }),
            date: None,
        },
        DomainEvent::ClaimLinked {
            claim: claim.clone(),
            annotation: id.clone(),
        },
        DomainEvent::ClaimUnlinked {
            claim,
            annotation: id,
        },
        DomainEvent::StyleRulesSet {
            rules: vec![StyleRule {
                id: "kyiv".into(),
                preferred: "Kyiv".into(),
                variants: vec!["Kiev".into()],
            }],
        },
        DomainEvent::RequestRecorded {
            method: "POST".into(),
            path: "/annotations/?x=1".into(),
            body_sha256: "01".repeat(32),
            subject: "annotation-a1".into(),
        },
    ]
}

/// The JSON each sample was shipped as, in the order of [`samples`].
const SHIPPED: &[(&str, &str)] = &[
    (
        "article.created",
        r#"{"article":"pledge","document_id":"2MxP9kEefSeBeBrPBkay2xPJEUG1","outlet":null,"published":"Sept. 4","title":"Pledge","url":"https://example.org/pledge"}"#,
    ),
    (
        "article.version_published",
        r#"{"article":"pledge","sha256":"abababababababababababababababababababababababababababababababab","text":"Some 26 nations pledged.","version":2}"#,
    ),
    (
        "document.changed",
        r#"{"actor":"6b14842243bc90d6ffe82a64386df67c","article":"pledge","hash":"cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd","heads":["cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"],"seq":3}"#,
    ),
    (
        "annotation.created",
        r#"{"annotation":{"assignee":"alice","body":"Moscow denied it.","canonical":"urn:uuid:1","created":"2025-09-04T12:30:00.250Z","creator":"bruno","deleted":false,"id":"a1","kind":"fact-check","modified":"2025-09-04T12:30:00.250Z","replies":[{"created":"2025-09-04T12:30:00.250Z","creator":"chiara","id":"r2","parent":"r1","text":"Agreed."}],"sources":[{"archived":"https://archive.example.org/a","title":"A","url":"https://example.org/a"}],"status":"in_review","tags":["troops"],"targets":[{"article":"pledge","position":{"end":15,"start":5},"quote":{"exact":"26 nations","prefix":"Some ","suffix":" pledged"},"version":2}],"verdict":"mostly-false","via":"https://client.example.org/1"}}"#,
    ),
    (
        "annotation.created",
        r#"{"annotation":{"body":"Moscow denied it.","created":"2025-09-04T12:30:00.250Z","creator":"bruno","deleted":true,"edit_label":"clarification","id":"a1","kind":"correction","modified":"2025-09-04T12:30:00.250Z","replies":[],"sources":[],"status":"in_review","suggestion":"remarks","tags":["troops"],"targets":[{"article":"pledge","position":{"end":15,"start":5},"quote":{"exact":"26 nations","prefix":"Some ","suffix":" pledged"},"version":2}]}}"#,
    ),
    (
        "annotation.updated",
        r#"{"article":"pledge","changes":{"assignee":{"after":"alice","before":null}},"id":"a1","modified":"2025-09-04T12:30:00.250Z"}"#,
    ),
    (
        "annotation.status_changed",
        r#"{"article":"pledge","from":"open","id":"a1","modified":"2025-09-04T12:30:00.250Z","to":"in_review"}"#,
    ),
    (
        "reply.added",
        r#"{"article":"pledge","id":"a1","modified":"2025-09-04T12:30:00.250Z","reply":{"created":"2025-09-04T12:30:00.250Z","creator":"chiara","id":"r2","parent":"r1","text":"Agreed."}}"#,
    ),
    (
        "annotation.deleted",
        r#"{"article":"pledge","id":"a1","modified":"2025-09-04T12:30:00.250Z"}"#,
    ),
    (
        "change.rejected",
        r#"{"article":"pledge","changes":["efefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefef"],"key":"a1","reason":"verdict: a fact-check needs a verdict","restored":["verdict"],"user":"bruno"}"#,
    ),
    (
        "annotation.anchored",
        r#"{"anchors":[{"position":{"end":15,"start":5},"quote":{"exact":"26 nations","prefix":"Some ","suffix":" pledged"},"score":0.875,"status":"fuzzy","target":0},{"candidates":[{"end":15,"start":5},{"end":50,"start":40}],"score":0.5,"status":"ambiguous","target":1}],"article":"pledge","id":"a1","version":3}"#,
    ),
    (
        "annotation.reattached",
        r#"{"article":"pledge","id":"a1","position":{"end":15,"start":5},"quote":{"exact":"26 nations","prefix":"Some ","suffix":" pledged"},"target":1,"version":3}"#,
    ),
    (
        "claim.created",
        r#"{"claim":"troops","claimant":"Emmanuel Macron","text":"All 26 nations will send troops."}"#,
    ),
    ("claim.linked", r#"{"annotation":"a1","claim":"troops"}"#),
    ("claim.unlinked", r#"{"annotation":"a1","claim":"troops"}"#),
    (
        "style.rules_set",
        r#"{"rules":[{"id":"kyiv","preferred":"Kyiv","variants":["Kiev"]}]}"#,
    ),
    (
        "request.recorded",
        r#"{"body_sha256":"0101010101010101010101010101010101010101010101010101010101010101","method":"POST","path":"/annotations/?x=1","subject":"annotation-a1"}"#,
    ),
];

#[test]
fn each_event_type_serialises_to_the_json_it_was_shipped_as() {
    let samples = samples();
    assert_eq!(samples.len(), SHIPPED.len());
    for (event, (event_type, shipped)) in samples.into_iter().zip(SHIPPED) {
        let (name, data) = event.clone().into_parts();
        assert_eq!(name, *event_type);
        assert_eq!(serde_json::to_string(&data).unwrap(), *shipped, "{name}");
        let stored: Value = serde_json::from_str(shipped).unwrap();
        assert_eq!(
            DomainEvent::from_parts(&name, &stored).unwrap(),
            event,
            "{name}"
        );
    }
    let covered: std::collections::BTreeSet<&str> = SHIPPED.iter().map(|(t, _)| *t).collect();
    let all: std::collections::BTreeSet<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
    assert_eq!(covered, all, "every event type needs a shipped sample");
}

/// The first release's log: each event of it decodes and encodes back to the same data.
#[test]
fn every_event_of_the_first_release_log_reads_back_to_the_same_data() {
    let fixture = include_str!("../../../tests/fixtures/log-v1.ndjson");
    let mut seen = BTreeMap::<String, usize>::new();
    for line in fixture.lines() {
        let envelope: Value = serde_json::from_str(line).unwrap();
        let name = envelope["type"].as_str().unwrap();
        let data = &envelope["data"];
        let event = DomainEvent::from_parts(name, data)
            .unwrap_or_else(|e| panic!("event {}: {e}", envelope["seq"]));
        let (again, encoded) = event.into_parts();
        assert_eq!(again, name);
        assert_eq!(
            serde_json::to_string(&encoded).unwrap(),
            serde_json::to_string(data).unwrap(),
            "event {}",
            envelope["seq"]
        );
        *seen.entry(name.to_owned()).or_default() += 1;
    }
    assert_eq!(seen.values().sum::<usize>(), 130, "{seen:?}");
    assert_eq!(seen.len(), 7, "{seen:?}");
}

#[test]
fn an_unknown_type_and_a_malformed_payload_are_told_apart() {
    let data = serde_json::json!({ "id": "a1" });
    assert!(matches!(
        DomainEvent::from_parts("annotation.exploded", &data),
        Err(EventError::UnknownType(name)) if name == "annotation.exploded"
    ));
    assert!(matches!(
        DomainEvent::from_parts("annotation.deleted", &data),
        Err(EventError::Malformed {
            event_type: EventType::AnnotationDeleted,
            ..
        })
    ));
}

#[test]
fn type_names_parse_back_to_their_type() {
    for event_type in EventType::ALL {
        assert_eq!(EventType::parse(event_type.as_str()), Some(*event_type));
    }
    assert_eq!(EventType::parse("user.created"), None);
}

/// The event types in the reference's table, first column.
fn documented_types() -> Vec<String> {
    let reference = include_str!("../../../docs/events.md");
    let table = reference
        .split("## Types")
        .nth(1)
        .and_then(|rest| rest.trim_start().split("\n\n").next())
        .expect("docs/events.md has a Types table");
    table
        .lines()
        .filter_map(|row| row.strip_prefix("| `"))
        .flat_map(|row| {
            let first = row.split(" |").next().unwrap_or_default();
            first
                .split(", ")
                .map(|name| name.trim_matches('`').to_owned())
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn the_event_reference_documents_every_type_and_no_other() {
    let documented = documented_types();
    for event_type in EventType::ALL {
        assert!(
            documented.iter().any(|name| name == event_type.as_str()),
            "docs/events.md does not document {event_type}"
        );
    }
    let access = crate::identity::AccessEvent::TYPES;
    let webhooks = crate::webhooks::WebhookEvent::TYPES;
    for name in access.iter().chain(&webhooks) {
        assert!(
            documented.iter().any(|d| d == name),
            "docs/events.md does not document {name}"
        );
    }
    for name in &documented {
        assert!(
            EventType::parse(name).is_some()
                || access.contains(&name.as_str())
                || webhooks.contains(&name.as_str()),
            "docs/events.md documents {name}, which no code writes"
        );
    }
    assert_eq!(
        documented.len(),
        EventType::ALL.len() + access.len() + webhooks.len()
    );
}

/// A fact-check's claim, added after release 1, is an optional `claim` in the annotation's
/// payload: absent when unset (earlier events are unchanged, as the samples above show), given
/// with its own names when set, and an update of it folds back.
#[test]
fn a_fact_checks_claim_is_an_optional_field_of_the_annotation_payload() {
    use crate::domain::{ClaimOrigin, Claimant, ClaimantType};
    let DomainEvent::AnnotationCreated { annotation } = samples().swap_remove(3) else {
        panic!("the fourth sample is an annotation.created");
    };
    let mut claimed = annotation.clone();
    claimed.claim = Some(Box::new(ClaimOrigin {
        claimant: Some(Claimant {
            name: "Donald Trump".into(),
            url: Some("https://www.wikidata.org/wiki/Q22686".into()),
            kind: Some(ClaimantType::Person),
        }),
        date: Some("2025-02-24".into()),
        summary: Some("Putin has no problem with European troops".into()),
    }));
    let created = DomainEvent::AnnotationCreated {
        annotation: claimed.clone(),
    };
    let (name, data) = created.clone().into_parts();
    assert_eq!(
        data["annotation"]["claim"],
        serde_json::json!({
            "claimant": { "name": "Donald Trump", "url": "https://www.wikidata.org/wiki/Q22686", "type": "Person" },
            "date": "2025-02-24",
            "summary": "Putin has no problem with European troops"
        })
    );
    assert_eq!(DomainEvent::from_parts(&name, &data).unwrap(), created);

    let events = derive_events(Some(&annotation), &claimed);
    let [DomainEvent::AnnotationUpdated { changes, .. }] = events.as_slice() else {
        panic!("one update: {events:?}");
    };
    assert_eq!(changes.keys().collect::<Vec<_>>(), ["claim"]);
    let folded = events
        .iter()
        .try_fold(Some(annotation.clone()), apply)
        .unwrap();
    assert_eq!(folded, Some(claimed));
}
