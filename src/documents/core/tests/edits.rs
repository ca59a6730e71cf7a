//! REST edits, re-anchoring and what waits while an append is in flight.

use super::*;
use crate::documents::edit::Reanchored;
use crate::documents::error::DocError;
use crate::domain::anchoring::AnchorStatus;
use crate::domain::Status;

#[test]
fn a_rest_edit_is_answered_and_reaches_peers_once_it_commits() {
    let (mut core, mut log) = (core(), Log::default());
    let mut alice = Peer::new(1, "alice", false);
    converge(&mut core, &mut log, &mut [&mut alice]);
    // When bruno creates an annotation over REST.
    let effects = core.handle(edit(1, "bruno", Edit::Create(create("a1", "bruno"))));
    // Then one append states both streams' versions, and nothing is said before it commits.
    let [Effect::Append {
        id: append,
        request,
        ..
    }] = effects.as_slice()
    else {
        panic!("expected one append, got {effects:?}");
    };
    assert_eq!(
        request.expectations,
        [
            (StreamId::Document(article()), Expected::Exact(1)),
            (StreamId::Annotation(id("a1")), Expected::NoStream),
        ]
    );
    let (append, committed) = (*append, log.append(request).unwrap());
    let effects = core.handle(Input::Appended {
        id: append,
        outcome: AppendOutcome::Committed(committed),
    });
    let written = written(&effects, 1).as_ref().unwrap();
    assert_eq!(
        (written.version, written.annotation.creator.as_str()),
        (1, "bruno")
    );
    assert_eq!(synced(&effects), [alice.info.conn]);
    alice.hear(&effects);
    converge(&mut core, &mut log, &mut [&mut alice]);
    assert!(alice.annotation("a1").is_some());
}

#[test]
fn inputs_wait_while_an_append_is_in_flight() {
    let mut core = core();
    let effects = core.handle(edit(1, "bruno", Edit::Create(create("a1", "bruno"))));
    let Some(Effect::Append { id: append, .. }) = effects.first() else {
        panic!("expected an append, got {effects:?}");
    };
    let append = *append;
    // When an inspection arrives before the append's outcome.
    assert!(core.handle(Input::Inspect { ticket: 2 }).is_empty());
    assert!(core.is_busy());
    // Then it is answered after the edit, and sees it.
    let committed = Log::default().append(&first_append(effects)).unwrap();
    let effects = core.handle(Input::Appended {
        id: append,
        outcome: AppendOutcome::Committed(committed),
    });
    let tickets: Vec<u64> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Reply { ticket, .. } => Some(*ticket),
            _ => None,
        })
        .collect();
    assert_eq!(tickets, [1, 2]);
    assert!(matches!(
        effects.last(),
        Some(Effect::Reply { answer: Answer::Inspected(state), .. }) if state.annotations.len() == 1
    ));
}

fn first_append(effects: Vec<Effect>) -> AppendRequest {
    effects
        .into_iter()
        .find_map(|e| match e {
            Effect::Append { request, .. } => Some(request),
            _ => None,
        })
        .unwrap()
}

#[test]
fn a_failed_append_leaves_no_trace() {
    let (mut core, mut log) = (core(), Log::default());
    feed(
        &mut core,
        &mut log,
        edit(1, "bruno", Edit::Create(create("a1", "bruno"))),
    );
    let heads = inspect(&mut core, &mut log).heads;
    // When a reply is refused by the log.
    let effects = core.handle(edit(2, "alice", set_status("a1", None, Status::InReview)));
    let Some(Effect::Append { id: append, .. }) = effects.first() else {
        panic!("expected an append, got {effects:?}");
    };
    let effects = core.handle(Input::Appended {
        id: *append,
        outcome: AppendOutcome::Failed(StoreError::Unavailable),
    });
    // Then the caller is told, with the cause kept, and the document is as it was.
    match written(&effects, 2) {
        Err(DocError::Store(StoreError::Unavailable)) => {}
        other => panic!("expected the log's refusal, got {other:?}"),
    }
    let state = inspect(&mut core, &mut log);
    assert_eq!(state.heads, heads);
    assert_eq!(state.annotations[0].status, Status::Open);
    // And the next edit goes through with the right versions.
    let effects = feed(
        &mut core,
        &mut log,
        edit(3, "alice", set_status("a1", Some(1), Status::InReview)),
    );
    assert_eq!(written(&effects, 3).as_ref().unwrap().version, 2);
}

#[test]
fn an_edit_with_a_stale_version_is_refused_before_anything_is_written() {
    let (mut core, mut log) = (core(), Log::default());
    feed(
        &mut core,
        &mut log,
        edit(1, "bruno", Edit::Create(create("a1", "bruno"))),
    );
    let records = log.records.len();
    let effects = feed(&mut core, &mut log, edit(2, "bruno", delete("a1", Some(7))));
    assert!(matches!(
        written(&effects, 2),
        Err(DocError::VersionMismatch {
            expected: 7,
            actual: 1
        })
    ));
    assert_eq!(log.records.len(), records);
}

#[test]
fn a_new_version_anchors_each_annotation_with_its_streams_version() {
    let (mut core, mut log) = (core(), Log::default());
    feed(
        &mut core,
        &mut log,
        edit(1, "bruno", Edit::Create(create("a1", "bruno"))),
    );
    // When version 2 of the article is published.
    let effects = core.handle(Input::Reanchor {
        ticket: 2,
        article: article(),
        version: 2,
        at: at(5),
    });
    // Then one `annotation.anchored`, expecting the annotation's stream where it is.
    let Some(Effect::Append {
        id: append,
        request,
        ..
    }) = effects.first()
    else {
        panic!("expected an append, got {effects:?}");
    };
    assert_eq!(request.events[0].event_type, "annotation.anchored");
    assert_eq!(
        request.expectations,
        [(StreamId::Annotation(id("a1")), Expected::Exact(1))]
    );
    let moved = &request.events[0].data["anchors"][0];
    assert_eq!(moved["status"], "moved", "{}", request.events[0].data);
    let (append, committed) = (*append, log.append(request).unwrap());
    let effects = core.handle(Input::Appended {
        id: append,
        outcome: AppendOutcome::Committed(committed),
    });
    assert!(
        matches!(
            effects.as_slice(),
            [Effect::Reply { ticket: 2, answer: Answer::Reanchored(Ok(Reanchored { annotations: 1, by_status })) }]
                if by_status == &[(AnchorStatus::Moved, 1)]
        ),
        "{effects:?}"
    );
}

/// An imported passage with no place (ADR 0016): its selectors as written, not checked.
fn unplaced(name: &str) -> Create {
    let mut create = create(name, "h.jane");
    create.content.targets[0].quote.exact = "a sentence the article never had".into();
    create
}

fn orphaned() -> crate::domain::anchoring::Anchor {
    crate::domain::anchoring::Anchor {
        status: AnchorStatus::Orphaned,
        position: None,
        quote: None,
        score: None,
        candidates: Vec::new(),
    }
}

#[test]
fn an_annotation_created_without_a_place_has_its_anchor_in_the_same_append() {
    let (mut core, mut log) = (core(), Log::default());
    // When an import creates an annotation whose passage has no place in version 1.
    let create = unplaced("imported");
    let effects = core.handle(edit(
        1,
        "chiara",
        Edit::CreateUnplaced {
            create,
            anchor: orphaned(),
        },
    ));
    // Then one append holds the annotation and the server's anchor on that same version.
    let [Effect::Append {
        id: append,
        request,
        ..
    }] = effects.as_slice()
    else {
        panic!("expected one append, got {effects:?}");
    };
    let committed = log.append(request).unwrap();
    assert_eq!(
        log.types()[2..],
        ["annotation.created", "annotation.anchored"]
    );
    let anchored = log.records.last().unwrap();
    assert_eq!(anchored.stream, StreamId::Annotation(id("imported")));
    assert_eq!(anchored.actor, UserName::system());
    assert_eq!(anchored.data["version"], 1);
    assert_eq!(anchored.data["anchors"][0]["status"], "orphaned");
    let effects = core.handle(Input::Appended {
        id: *append,
        outcome: AppendOutcome::Committed(committed),
    });
    let written = written(&effects, 1).as_ref().unwrap();
    assert_eq!(written.version, 2);
    assert_eq!(
        written.annotation.targets[0].quote.exact,
        "a sentence the article never had"
    );
}

#[test]
fn an_annotation_created_without_a_place_is_refused_with_a_place_or_two_targets() {
    let (mut core, mut log) = (core(), Log::default());
    let mut placed = orphaned();
    placed.status = AnchorStatus::Exact;
    let mut two = unplaced("two");
    two.content.targets.push(two.content.targets[0].clone());
    for (name, create, anchor) in [
        ("placed", unplaced("placed"), placed),
        ("two", two, orphaned()),
    ] {
        let effects = feed(
            &mut core,
            &mut log,
            edit(1, "chiara", Edit::CreateUnplaced { create, anchor }),
        );
        assert!(
            matches!(written(&effects, 1), Err(DocError::Domain(_))),
            "{name}: {effects:?}"
        );
    }
    assert!(log.records.is_empty(), "{:?}", log.types());
    assert!(inspect(&mut core, &mut log).annotations.is_empty());
}

/// Given a copy of the document taken for a snapshot, when more changes are logged while it is
/// being saved and it is then marked saved, then only the changes it holds stop counting
/// towards the next snapshot, and it covers the last change logged before it was taken.
#[test]
fn a_snapshot_saved_while_edits_go_on_leaves_the_later_changes_unsaved() {
    let (mut core, mut log) = (core(), Log::default());
    feed(
        &mut core,
        &mut log,
        edit(1, "bruno", Edit::Create(create("a1", "bruno"))),
    );
    feed(
        &mut core,
        &mut log,
        edit(2, "bruno", Edit::Create(create("a2", "bruno"))),
    );
    let copy = core.snapshot_copy().expect("no append is in flight");
    feed(
        &mut core,
        &mut log,
        edit(3, "chiara", Edit::Create(create("a3", "chiara"))),
    );
    // The copy is the document as of its sequence number, not as it goes on.
    assert!(copy.seq < core.stream_state().last_change_seq);
    assert_ne!(copy.doc.get_heads(), core.doc.get_heads());
    assert_eq!(schema::read_all(&copy.doc).unwrap().len(), 2);
    core.mark_saved(copy.changes);
    assert_eq!(core.stream_state().unsaved, 1);
}

/// Given an append in flight, then no copy is taken for a snapshot: the document holds a change
/// that may still fail.
#[test]
fn no_snapshot_copy_is_taken_while_an_append_is_in_flight() {
    let mut core = core();
    let effects = core.handle(edit(1, "bruno", Edit::Create(create("a1", "bruno"))));
    assert!(matches!(effects.as_slice(), [Effect::Append { .. }]));
    assert!(core.snapshot_copy().is_none());
}
